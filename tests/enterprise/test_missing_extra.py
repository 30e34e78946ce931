"""Without the [enterprise] extra: a clear install hint, and everything else still imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import ModuleType

import pytest

from deephaven_mcp.enterprise import (
    INSTALL_HINT,
    CoreplusBackend,
    EnterpriseSystem,
    SystemStatus,
    adapter,
    coreplus_available,
)
from deephaven_mcp.errors import DependencyMissingError
from tests.enterprise.conftest import make_config


@pytest.fixture
def no_coreplus(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> ModuleType:
        raise ModuleNotFoundError(f"No module named {name.split('.')[0]!r}")

    monkeypatch.setattr(adapter, "_import_module", missing)


@pytest.mark.usefixtures("no_coreplus")
async def test_enterprise_calls_explain_how_to_install() -> None:
    assert not coreplus_available()
    assert adapter.auth_failure_types() == ()
    with pytest.raises(DependencyMissingError, match=r"deephaven-mcp\[enterprise\]"):
        CoreplusBackend().open_manager("https://e.test/iris/connection.json", 5, 5)
    system = EnterpriseSystem("prod", make_config())  # the default, real backend
    report = await system.status()
    assert report.status is SystemStatus.MISCONFIGURED
    assert report.detail == INSTALL_HINT
    assert report.config["username"] == "alice"
    with pytest.raises(DependencyMissingError, match=r"install deephaven-mcp\[enterprise\]"):
        await system.create_session("w")
    with pytest.raises(DependencyMissingError):
        await system.pq_list()


def test_package_imports_and_reports_without_coreplus() -> None:
    """A fresh interpreter where importing deephaven_enterprise fails, as if not installed."""
    script = textwrap.dedent(
        """
        import asyncio, importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "deephaven_enterprise":
                    raise ModuleNotFoundError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, Block())
        import deephaven_mcp.enterprise as ent
        import deephaven_mcp.config.models as models
        import pydeephaven  # the community side is untouched

        assert "deephaven_enterprise" not in sys.modules
        assert not ent.coreplus_available()
        config = models.EnterpriseSystemConfig(
            connection_json_url="https://e.test/iris/connection.json",
            auth_type="password", username="u", password="p4ssw0rd",
        )
        system = ent.EnterpriseSystem("prod", config)
        report = asyncio.run(system.status(attempt_to_connect=True))
        print(report.status.value, "|", report.detail)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"MISCONFIGURED | {INSTALL_HINT}"
