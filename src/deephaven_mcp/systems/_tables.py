"""Reading tables and running code in one session: the bodies of the session data tools.

The clients (pydeephaven, pyarrow) are imported in the functions that call them, so a
server that has not touched a session yet has not loaded them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from deephaven_mcp.errors import (
    DeephavenMcpError,
    DeephavenTimeoutError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from deephaven_mcp.model.arguments import Offset, RowLimit, check_argument
from deephaven_mcp.model.requests import AggregateRead, SummaryRead, TableRead
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import ManagedSession
from deephaven_mcp.runtime.blocking import call_blocking
from deephaven_mcp.systems.results import (
    PipPackages,
    ScriptRun,
    ShapedSlice,
    TableNames,
    TableSchemas,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pydeephaven import Session

    from deephaven_mcp.clients.scripts import ScriptOutcome

MAX_SCRIPT_BYTES: Final = 1_000_000
MAX_SCHEMA_TABLES: Final = 200
MAX_TABLE_NAMES: Final = 10_000
SCHEMA_CONCURRENCY: Final = 4
SCRIPT_FILE_TIMEOUT: Final = 10.0
SCRIPT_PATH_REFUSED: Final = (
    "script_path is not allowed: it must be an absolute path, without '..' or symbolic "
    f"links below the root, to a readable UTF-8 file of at most {MAX_SCRIPT_BYTES} bytes "
    "inside a directory listed in the server's security.script_path_roots (script_path is "
    "off while that list is empty). "
    "Pass the code as 'script' instead, or ask the operator to set security.script_path_roots"
)
_NO_FOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_NON_BLOCKING: Final = getattr(os, "O_NONBLOCK", 0)  # a FIFO must not hang the open
_CLOSE_ON_EXEC: Final = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)

_Read = TypeVar("_Read", TableRead, SummaryRead, AggregateRead)
_Answer = TypeVar("_Answer")

_log = logging.getLogger(__name__)


def check_max_rows(name: str, value: int | None) -> None:
    """Row limits are positive whole numbers, or None for "all" (bounded by the response
    size cap); worded like the MCP tools' own check of the same parameter."""
    check_argument(name, RowLimit, value)


def _schema_entry(session: Session, name: str) -> dict[str, Any]:
    from deephaven_mcp.clients import community
    from deephaven_mcp.formatting import describe_schema, format_table

    meta = community.table_meta(session, name)
    return {
        "success": True,
        "table": name,
        "format": "json-row",
        "data": format_table(meta, "json-row"),
        "meta_columns": describe_schema(meta.schema),
        "row_count": meta.num_rows,
    }


async def table_names(session: ManagedSession, session_id: str, timeouts: Timeouts) -> TableNames:
    from deephaven_mcp.clients import community

    names = await session.run(
        "Listing tables", community.list_tables, timeouts.metadata, retry=True
    )
    shown = names[:MAX_TABLE_NAMES]
    extra = {"is_complete": False} if len(names) > len(shown) else {}
    return TableNames(session_id=session_id, table_names=shown, count=len(names), **extra)


async def table_schemas(
    session: ManagedSession, timeouts: Timeouts, table_names: list[str] | None
) -> TableSchemas:
    """Schemas of up to MAX_SCHEMA_TABLES tables; one table failing does not fail the rest."""
    from deephaven_mcp.clients import community

    names = table_names
    if names is None:
        names = await session.run(
            "Listing tables", community.list_tables, timeouts.metadata, retry=True
        )
    names = list(dict.fromkeys(names))
    selected = names[:MAX_SCHEMA_TABLES]
    # Never more at once than the session allows, or the tool would make itself busy.
    gate = asyncio.Semaphore(min(SCHEMA_CONCURRENCY, timeouts.max_calls_per_session))

    async def one(name: str) -> dict[str, Any]:
        async with gate:
            try:
                return await session.run(
                    f"Reading the schema of {name}",
                    lambda client: _schema_entry(client, name),
                    timeouts.metadata,
                    retry=True,
                )
            except DeephavenMcpError as exc:
                return {"success": False, "table": name, "error": str(exc), "isError": True}

    if selected:
        # Connect once up front so a dead session fails the call as a whole.
        await session.client()
    schemas = list(await asyncio.gather(*(one(name) for name in selected)))
    return TableSchemas(
        count=len(schemas), schemas=schemas, is_complete=len(selected) == len(names)
    )


def check_offset(offset: int) -> None:
    """Paging starts at a row position: a whole number >= 0."""
    check_argument("offset", Offset, offset)


def check_columns(columns: list[str] | None) -> list[str] | None:
    """``columns`` as given, if it is None or a non-empty list of names."""
    if columns is not None and (isinstance(columns, str) or not columns):
        raise InvalidArgumentError("columns must be a non-empty list of column names")
    return columns


async def run_read(
    session: ManagedSession,
    timeouts: Timeouts,
    doing: str,
    work: Callable[[Session, _Read], _Answer],
    read: _Read,
) -> _Answer:
    """``work(client, read)`` as one call on the data timeout, retried once if the
    connection was lost (a read has no effect to repeat); ``doing`` names it in messages."""
    return await session.run(
        f"{doing} table {read.table_name}",
        lambda client: work(client, read),
        timeouts.data,
        retry=True,
    )


async def table_slice(session: ManagedSession, timeouts: Timeouts, read: TableRead) -> ShapedSlice:
    """The page ``read`` asks for."""
    from deephaven_mcp.clients.table_data import read_shaped_slice

    return await run_read(session, timeouts, "Reading", read_shaped_slice, read)


async def table_arrow(session: ManagedSession, timeouts: Timeouts, read: TableRead) -> pa.Table:
    """The page ``read`` asks for, as Arrow only (``read.fmt`` unused)."""
    from deephaven_mcp.clients.table_data import read_arrow

    return await run_read(session, timeouts, "Reading", read_arrow, read)


async def script_code(script: str | None, script_path: str | None, *, roots: Sequence[str]) -> str:
    """The code to run: ``script`` itself, or the contents of ``script_path`` if ``roots``
    allow it (see :func:`read_script_file`)."""
    if (script is None) == (script_path is None):
        raise InvalidArgumentError("provide exactly one of 'script' or 'script_path'")
    if script is None:
        return await read_script_file(str(script_path), roots)
    if len(script.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise InvalidArgumentError(f"script is larger than {MAX_SCRIPT_BYTES} bytes")
    return script


class _Refused(Exception):
    """Why a script_path was refused: for the operator's log only, never for the caller."""


async def read_script_file(path: str, roots: Sequence[str]) -> str:
    """The file at ``path`` if it lies inside one of ``roots``; else SCRIPT_PATH_REFUSED.

    script_path is off while ``roots`` (``security.script_path_roots``) is empty. Every
    refusal raises the same PermissionDeniedError, whatever the reason, so a caller cannot
    learn which files exist on the server's machine; the reason is logged for the operator.
    """
    try:
        return await call_blocking(
            "Reading script_path", SCRIPT_FILE_TIMEOUT, _read_allowed_file, path, tuple(roots)
        )
    except _Refused as exc:
        _log.info("script_path %r refused: %s", path, exc)
    except DeephavenTimeoutError:
        _log.warning("script_path %r refused: reading it took over %g s", path, SCRIPT_FILE_TIMEOUT)
    raise PermissionDeniedError(SCRIPT_PATH_REFUSED)


def _read_allowed_file(path: str, roots: tuple[str, ...]) -> str:
    """Blocking: check ``path`` against ``roots`` and read it, or raise _Refused.

    The check and the read are one walk: the root is opened (the operator's roots may be
    symlinks), then every component below it with ``O_NOFOLLOW`` relative to its parent's
    descriptor. A symlink anywhere below the root is refused, and a directory swapped for a
    link while the walk runs cannot lead outside, because no name is ever looked up again
    from the top.
    """
    if not roots:
        raise _Refused("security.script_path_roots is empty")
    if "\0" in path or not os.path.isabs(path):
        raise _Refused("not an absolute path")
    parts = [part for part in _components(path) if part not in ("", ".")]
    if ".." in parts:
        raise _Refused("contains a '..' component")
    for root in _root_spellings(roots):
        below = _below(parts, root)
        if below:
            return _decode(_read_beneath(root, below))
    raise _Refused("outside every script_path root")


def _root_spellings(roots: Sequence[str]) -> list[str]:
    """Each existing root as configured and as its real path: a path may be written with
    either (a root such as /tmp may itself be a link)."""
    spellings: list[str] = []
    for real, configured in _resolved_roots(roots):
        for spelling in (os.path.normpath(configured), real):
            if spelling not in spellings:
                spellings.append(spelling)
    return spellings


def _below(parts: list[str], root: str) -> list[str]:
    """The components of ``parts`` below ``root`` (empty when it is not strictly below)."""
    root_parts = [part for part in _components(root) if part]
    if len(parts) <= len(root_parts) or parts[: len(root_parts)] != root_parts:
        return []
    return parts[len(root_parts) :]


def _read_beneath(root: str, below: list[str]) -> bytes:
    """Open ``root``, walk ``below`` without following any link, read the file at the end."""
    flags = os.O_RDONLY | _CLOSE_ON_EXEC
    try:
        fd = os.open(root, flags | _DIRECTORY)
    except OSError as exc:
        raise _Refused(f"root cannot be opened ({exc.strerror})") from None
    try:
        for name in below[:-1]:
            try:
                child = os.open(name, flags | _DIRECTORY | _NO_FOLLOW, dir_fd=fd)
            except OSError as exc:
                raise _Refused(f"{name!r} is not a plain directory ({exc.strerror})") from None
            os.close(fd)
            fd = child
        try:
            file_fd = os.open(below[-1], flags | _NO_FOLLOW | _NON_BLOCKING, dir_fd=fd)
        except OSError as exc:
            raise _Refused(f"cannot be opened without following links ({exc.strerror})") from None
    finally:
        os.close(fd)
    try:
        if not stat.S_ISREG(os.fstat(file_fd).st_mode):
            raise _Refused("not a regular file")
        data = _read_up_to(file_fd, MAX_SCRIPT_BYTES + 1)
    except OSError as exc:
        raise _Refused(f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(file_fd)
    if len(data) > MAX_SCRIPT_BYTES:
        raise _Refused(f"larger than {MAX_SCRIPT_BYTES} bytes")
    return data


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused("not UTF-8 text") from None


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _components(path: str) -> list[str]:
    separators = os.sep + (os.altsep or "")
    return re.split(f"[{re.escape(separators)}]", path)


def _resolved_roots(roots: Sequence[str]) -> list[tuple[str, str]]:
    """(real path, configured path) of the roots that exist; relative roots are ignored
    (they would depend on the server's working directory)."""
    resolved = []
    for root in roots:
        if not os.path.isabs(root):
            _log.warning("security.script_path_roots: ignoring relative path %r", root)
            continue
        try:
            resolved.append((os.path.realpath(root, strict=True), root))
        except (OSError, ValueError):
            _log.warning("security.script_path_roots: %r does not exist", root)
    return resolved


async def run_script(session: ManagedSession, timeouts: Timeouts, code: str) -> ScriptRun:
    """Run ``code`` once and report its output and table changes (see clients.scripts)."""
    from deephaven_mcp.clients import scripts

    outcome = await session.run(
        "Running the script",
        lambda client: scripts.run_script(client, code, session.programming_language),
        timeouts.script,
        retry=False,  # it may have run before the connection broke
    )
    return script_run_result(outcome)


def script_run_result(outcome: ScriptOutcome) -> ScriptRun:
    """The tool answer: every field is always present (output is null where not captured)."""
    return ScriptRun(
        stdout=outcome.stdout.text if outcome.stdout else None,
        stdout_truncated=bool(outcome.stdout and outcome.stdout.truncated),
        stdout_dropped_bytes=outcome.stdout.dropped_bytes if outcome.stdout else 0,
        stderr=outcome.stderr.text if outcome.stderr else None,
        stderr_truncated=bool(outcome.stderr and outcome.stderr.truncated),
        stderr_dropped_bytes=outcome.stderr.dropped_bytes if outcome.stderr else 0,
        tables=outcome.tables,
        tables_truncated=outcome.tables_truncated,
    )


async def pip_packages(session: ManagedSession, session_id: str, timeouts: Timeouts) -> PipPackages:
    from deephaven_mcp.clients import community

    if session.programming_language.lower() != "python":
        raise InvalidArgumentError(
            f"session '{session_id}' runs {session.programming_language}; "
            "pip packages exist only in Python sessions"
        )
    # pip_list runs a script on the worker (and deletes its variable afterwards).
    packages = await session.run(
        "Listing pip packages", community.pip_list, timeouts.script, retry=False
    )
    return PipPackages(result=packages)
