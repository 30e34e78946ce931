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


async def test_no_symlink_below_a_root_is_followed(layout: tuple[Path, Path]) -> None:
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
    # Even a link that stays inside: the walk never follows a link, so none can be swapped.
    assert await _refused(str(root / "alias.py"), roots) == SCRIPT_PATH_REFUSED
    (root / "linked_sub").symlink_to(root / "sub", target_is_directory=True)
    assert await _refused(str(root / "linked_sub" / "deep.py"), roots) == SCRIPT_PATH_REFUSED


async def test_a_root_may_be_a_link(layout: tuple[Path, Path], tmp_path: Path) -> None:
    root, outside = layout
    link_to_root = tmp_path / "root_link"
    link_to_root.symlink_to(root, target_is_directory=True)
    # The operator's root is followed: paths may be written through it or its real path.
    assert await read_script_file(str(root / "ok.py"), [str(link_to_root)]) == CODE
    assert await read_script_file(str(link_to_root / "ok.py"), [str(link_to_root)]) == CODE
    # A caller's path through some other link to the root is a link below '/': refused.
    assert await _refused(str(link_to_root / "ok.py"), [str(root)]) == SCRIPT_PATH_REFUSED
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


def test_swapping_a_directory_for_a_link_while_reading_never_reads_outside(
    tmp_path: Path,
) -> None:
    """The race of resolving first and opening later: ``root/d`` flips between a real
    directory and a link to a directory outside, as fast as it can, while the reader keeps
    asking for ``root/d/f.py``. Every read is the inside file or a refusal."""
    import threading
    import time

    from deephaven_mcp.systems._tables import _read_allowed_file, _Refused

    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "real").mkdir(parents=True)
    outside.mkdir()
    (root / "real" / "f.py").write_text("inside = 1\n")
    (outside / "f.py").write_text("outside = 1\n")
    link, real, spare = root / "d", root / "real", root / "spare"
    spare.symlink_to(outside, target_is_directory=True)
    real.rename(link)
    stop = threading.Event()

    def flip() -> None:
        as_dir = True
        while not stop.is_set():
            if as_dir:  # d is the real directory: park it, put the link in its place
                os.rename(link, real)
                os.rename(spare, link)
            else:
                os.rename(link, spare)
                os.rename(real, link)
            as_dir = not as_dir

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    reads = {"inside": 0, "refused": 0}
    deadline = time.monotonic() + 3.0
    try:
        while time.monotonic() < deadline:
            try:
                text = _read_allowed_file(str(link / "f.py"), (str(root),))
            except _Refused:
                reads["refused"] += 1
                continue
            assert text == "inside = 1\n", "read a file outside the root"
            reads["inside"] += 1
    finally:
        stop.set()
        flipper.join()
    assert reads["inside"] > 0 and reads["refused"] > 0, reads
