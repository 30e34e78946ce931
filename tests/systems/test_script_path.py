"""script_path: off unless configured, confined to its roots, and one answer for every refusal.

A caller must not learn which files exist on the server's machine, so every refusal (off,
relative, '..', outside, symlink escape, missing, directory, FIFO, unreadable, too big, not
UTF-8) is the same PermissionDeniedError text.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deephaven_mcp.errors import InvalidArgumentError, PermissionDeniedError
from deephaven_mcp.systems._tables import (
    MAX_SCRIPT_BYTES,
    SCRIPT_PATH_REFUSED,
    read_script_file,
    script_code,
)

CODE = "answer = 42\n"


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """``root`` (allowed, holding ok.py) and ``outside`` (not allowed, holding secret.py)."""
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "ok.py").write_text(CODE)
    (root / "sub" / "deep.py").write_text(CODE)
    (outside / "secret.py").write_text("password = 'x'\n")
    return root, outside


async def _refused(path: str, roots: list[str]) -> str:
    with pytest.raises(PermissionDeniedError) as caught:
        await read_script_file(path, roots)
    return str(caught.value)


async def test_files_inside_a_root_are_read(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    assert await read_script_file(str(root / "ok.py"), [str(root)]) == CODE
    assert await read_script_file(str(root / "sub" / "deep.py"), [str(root)]) == CODE
    assert await read_script_file(str(root / "." / "ok.py"), [str(root) + "/"]) == CODE
    assert await script_code(None, str(root / "ok.py"), roots=[str(root)]) == CODE


async def test_script_path_is_off_without_roots(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    assert await _refused(str(root / "ok.py"), []) == SCRIPT_PATH_REFUSED
    with pytest.raises(PermissionDeniedError):
        await script_code(None, str(root / "ok.py"), roots=[])


async def test_missing_and_existing_outside_files_get_the_same_answer(
    layout: tuple[Path, Path],
) -> None:
    root, outside = layout
    roots = [str(root)]
    existing = await _refused(str(outside / "secret.py"), roots)
    missing = await _refused(str(outside / "nothing.py"), roots)
    missing_inside = await _refused(str(root / "nothing.py"), roots)
    assert existing == missing == missing_inside == SCRIPT_PATH_REFUSED
    assert "secret" not in existing and str(outside) not in existing


async def test_dot_dot_is_refused_even_when_it_stays_inside(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    roots = [str(root)]
    assert await _refused(f"{root}/sub/../ok.py", roots) == SCRIPT_PATH_REFUSED
    assert await _refused(f"{root}/../outside/secret.py", roots) == SCRIPT_PATH_REFUSED
    assert await _refused(f"{root}/..", roots) == SCRIPT_PATH_REFUSED


async def test_relative_paths_are_refused(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = layout
    monkeypatch.chdir(root)  # even when the working directory would make it resolve inside
    assert await _refused("ok.py", [str(root)]) == SCRIPT_PATH_REFUSED
    assert await _refused("./ok.py", [str(root)]) == SCRIPT_PATH_REFUSED
    # A relative root does not count either: it would depend on the server's directory.
    assert await _refused(str(root / "ok.py"), ["."]) == SCRIPT_PATH_REFUSED


async def test_symlinks_are_resolved_before_the_check(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    roots = [str(root)]
    (root / "escape.py").symlink_to(outside / "secret.py")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    (root / "alias.py").symlink_to(root / "ok.py")
    (root / "dangling.py").symlink_to(root / "gone.py")
    (root / "loop.py").symlink_to(root / "loop.py")
    assert await _refused(str(root / "escape.py"), roots) == SCRIPT_PATH_REFUSED
    assert await _refused(str(root / "linked_dir" / "secret.py"), roots) == SCRIPT_PATH_REFUSED
    assert await _refused(str(root / "dangling.py"), roots) == SCRIPT_PATH_REFUSED
    assert await _refused(str(root / "loop.py"), roots) == SCRIPT_PATH_REFUSED
    # A link that stays inside is fine.
    assert await read_script_file(str(root / "alias.py"), roots) == CODE


async def test_roots_are_resolved_too(layout: tuple[Path, Path], tmp_path: Path) -> None:
    root, outside = layout
    link_to_root = tmp_path / "root_link"
    link_to_root.symlink_to(root, target_is_directory=True)
    assert await read_script_file(str(root / "ok.py"), [str(link_to_root)]) == CODE
    assert await read_script_file(str(link_to_root / "ok.py"), [str(root)]) == CODE
    # A sibling whose name merely starts with the root's is not inside it.
    sibling = tmp_path / "root-evil"
    sibling.mkdir()
    (sibling / "x.py").write_text(CODE)
    assert await _refused(str(sibling / "x.py"), [str(root)]) == SCRIPT_PATH_REFUSED
    # A root that does not exist allows nothing; other roots still work.
    assert await _refused(str(outside / "secret.py"), [str(tmp_path / "nope")]) == (
        SCRIPT_PATH_REFUSED
    )
    assert await read_script_file(str(root / "ok.py"), [str(tmp_path / "nope"), str(root)]) == CODE


async def test_things_that_are_not_small_readable_text_files_are_refused(
    layout: tuple[Path, Path],
) -> None:
    root, _ = layout
    roots = [str(root)]
    os.mkfifo(root / "pipe.py")
    (root / "big.py").write_bytes(b"#" * (MAX_SCRIPT_BYTES + 1))
    (root / "latin1.py").write_bytes(b"name = '\xe9'\n")
    (root / "exact.py").write_bytes(b"#" * MAX_SCRIPT_BYTES)
    for name in ("sub", "pipe.py", "big.py", "latin1.py"):
        assert await _refused(str(root / name), roots) == SCRIPT_PATH_REFUSED, name
    assert await _refused(str(root) + "/ok.py\0", roots) == SCRIPT_PATH_REFUSED
    assert len(await read_script_file(str(root / "exact.py"), roots)) == MAX_SCRIPT_BYTES


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
async def test_unreadable_files_are_refused(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    locked = root / "locked.py"
    locked.write_text(CODE)
    locked.chmod(0)
    try:
        assert await _refused(str(locked), [str(root)]) == SCRIPT_PATH_REFUSED
    finally:
        locked.chmod(0o600)


def test_the_message_names_the_fix_and_nothing_about_the_file() -> None:
    assert "security.script_path_roots" in SCRIPT_PATH_REFUSED
    assert "'script'" in SCRIPT_PATH_REFUSED
    assert "/" not in SCRIPT_PATH_REFUSED


async def test_inline_scripts_keep_their_rules(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    assert await script_code("x = 1", None, roots=[]) == "x = 1"
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        await script_code(None, None, roots=[str(root)])
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        await script_code("x = 1", str(root / "ok.py"), roots=[str(root)])
    with pytest.raises(InvalidArgumentError, match="larger than"):
        await script_code("#" * (MAX_SCRIPT_BYTES + 1), None, roots=[])
