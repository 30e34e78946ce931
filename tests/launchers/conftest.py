"""Fixtures shared by the launcher tests."""

from tests.launchers.fake_docker import engine  # noqa: F401  (the fake Docker Engine)
