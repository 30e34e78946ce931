"""The ``dh-mcp`` commands: each one call of the public Python API, printed for a person.

Built on cyclopts. Only cyclopts and rich load at start-up; each command imports the API
when it runs, so ``dh-mcp --help`` stays quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TextIO, TypeVar, cast

from cyclopts import App, Group, Parameter

from deephaven_mcp.cli.output import Output, RowFormat

if TYPE_CHECKING:
    from deephaven_mcp.cli.launches import LaunchRecord
    from deephaven_mcp.systems import DeephavenSystems

R = TypeVar("R")

GLOBAL: Final = Group("Global options", sort_key=100)
CONFIG_VARIABLE: Final = "DH_MCP_CONFIG_FILE"

WHERE_HELP: Final = (
    "Keep rows where COLUMN OP [VALUE]; repeat to AND more. Ops: eq ne lt le gt ge "
    "contains matches (one value), in not_in (comma-separated values, or a JSON list), "
    "is_null not_null (no value). A value that reads as a JSON number, true or false is "
    "one; quote it as JSON ('\"10\"') to compare text. Put the positional arguments first: "
    "--where takes every word up to the next option."
)
SORT_HELP: Final = "Sort by COLUMN (-COLUMN: descending); repeat or comma-separate."
COLUMNS_HELP: Final = "Only these columns; repeat or comma-separate (--columns A,B)."
AGG_HELP: Final = (
    "op[:column[:as]], repeatable. Ops: count sum avg min max first last std var median "
    "count_distinct; count alone counts rows."
)
FORMAT_HELP: Final = (
    "Print rows as csv, json (one object per row) or markdown instead of a table "
    "(piped, csv is the default)."
)

Where = Annotated[
    list[str] | None,
    Parameter(help=WHERE_HELP, consume_multiple=True, negative=""),
]
Sort = Annotated[
    list[str] | None, Parameter(help=SORT_HELP, allow_leading_hyphen=True, negative="")
]
Columns = Annotated[list[str] | None, Parameter(help=COLUMNS_HELP, negative="")]
Format = Annotated[RowFormat | None, Parameter(help=FORMAT_HELP)]
MaxRows = Annotated[
    int | None, Parameter(help="At most this many rows (default: the configured default or 1000).")
]


@Parameter(name="*", group=GLOBAL)
@dataclass(frozen=True)
class Common:
    """Options every command that reads the configuration takes."""

    config: Annotated[
        str | None,
        Parameter(help="Configuration file (default: DH_MCP_CONFIG_FILE, as the server)."),
    ] = None
    read_only: Annotated[
        bool,
        Parameter(negative="", help="Refuse anything that runs code or changes state."),
    ] = False


NO_OPTIONS: Final = Common()
# The global options given before the command (``dh-mcp --config x.json read ...``).
_LEADING: ContextVar[Common] = ContextVar("dh_mcp_leading_options", default=NO_OPTIONS)


@contextlib.asynccontextmanager
async def _systems(common: Common) -> AsyncIterator[DeephavenSystems]:
    from deephaven_mcp.systems import DeephavenSystems

    read_only = common.read_only or _LEADING.get().read_only
    async with DeephavenSystems(common.config, read_only=read_only) as systems:
        yield systems


async def call_api(
    common: Common,
    operation: Callable[[DeephavenSystems], Awaitable[R]],
    out: Output,
    message: str = "working",
) -> R:
    """One API call, with a spinner if it takes over a second."""
    async with _systems(common) as systems, out.busy(message):
        return await operation(systems)


def tool_fields(result: Any) -> dict[str, Any]:
    """The result as JSON, with the fields the MCP tool would answer (unset extras such as
    ``is_complete`` of a full list are left out, as there)."""
    answered = result.envelope_fields()
    dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True)
    return {key: value for key, value in dumped.items() if key in answered}


def show_records(out: Output, result: Any, records: list[dict[str, Any]], title: str) -> int:
    """``records`` as a table on a terminal, else the tool's answer as JSON; exit 0."""
    if out.terminal:
        out.records(records, title=title)
    else:
        out.answer(tool_fields(result))
    return 0


app = App(
    name="dh-mcp",
    help="Deephaven sessions, tables and persistent queries from the shell.\n\n"
    "Reads the same configuration as dh-mcp-systems-server (--config, else "
    "DH_MCP_CONFIG_FILE; a .env in the current directory is read first). On a terminal "
    "it prints tables; piped, rows as CSV (or --format) and other answers as one JSON "
    "line. Exit codes: 0 ok, 1 the operation failed, 2 bad usage or configuration "
    "(including arguments the API refuses), 130 interrupted.",
    version_flags=["--version"],
)


@app.meta.default
def _global_options(
    *tokens: Annotated[str, Parameter(show=False, allow_leading_hyphen=True)],
    common: Common = NO_OPTIONS,
) -> Any:
    """The global options may also come before the command; then the command runs.

    A leading ``--config`` becomes ``DH_MCP_CONFIG_FILE`` while the command runs, so the
    commands that read that variable themselves (``doctor``, ...) see it too.
    """
    leading = _LEADING.set(common)
    previous = os.environ.get(CONFIG_VARIABLE)
    if common.config is not None:
        os.environ[CONFIG_VARIABLE] = common.config
    try:
        return app(tokens)
    finally:
        _LEADING.reset(leading)
        if previous is None:
            os.environ.pop(CONFIG_VARIABLE, None)
        else:
            os.environ[CONFIG_VARIABLE] = previous


def _version() -> str:
    from deephaven_mcp._version import __version__

    return __version__


app.version = _version

# -- sessions and tables ----------------------------------------------------------------


@app.command
async def sessions(
    *,
    type: Annotated[Literal["community", "enterprise"] | None, Parameter(name="--type")] = None,
    system: Annotated[str | None, Parameter(help="An Enterprise system's name.")] = None,
    source: Literal["config", "dynamic", "pq"] | None = None,
    common: Common = NO_OPTIONS,
) -> int:
    """List every known session (nothing connects).

    Example: dh-mcp sessions --type community
    """
    out = Output()
    result = await call_api(common, lambda s: s.sessions_list(type, system, source), out)
    return show_records(out, result, result.sessions, "sessions")


@app.command
async def session(session_id: str, *, connect: bool = False, common: Common = NO_OPTIONS) -> int:
    """Show one session's details; --connect reaches the worker for its versions.

    Example: dh-mcp session community:config:local --connect
    """
    out = Output()
    result = await call_api(common, lambda s: s.session_details(session_id, connect), out)
    if out.terminal:
        out.record(result.session, title=session_id)
    else:
        out.answer(tool_fields(result))
    return 0


@app.command
async def tables(session_id: str, *, common: Common = NO_OPTIONS) -> int:
    """List the tables of a session.

    Example: dh-mcp tables community:config:local
    """
    out = Output()
    result = await call_api(common, lambda s: s.session_tables_list(session_id), out)
    return show_records(out, result, [{"table": name} for name in result.table_names], session_id)


@app.command
async def schema(session_id: str, *table: str, common: Common = NO_OPTIONS) -> int:
    """Show the columns of some tables (all when none is named).

    Example: dh-mcp schema community:config:local trades quotes
    """
    out = Output()
    names = list(table) or None
    result = await call_api(common, lambda s: s.session_tables_schema(session_id, names), out)
    failed = [entry for entry in result.schemas if not entry.get("success")]
    if out.terminal:
        for entry in result.schemas:
            if entry.get("success"):
                out.records(entry["data"], title=entry["table"])
            else:
                out.note(f"{entry['table']}: {entry.get('error')}")
    else:
        out.answer(tool_fields(result))
    return 1 if failed else 0


# -- reading ------------------------------------------------------------------------------


def _paging_caption(result: Any) -> str:
    shown = f"{result.row_count} of {result.total_rows} rows"
    if result.next_offset is not None:
        shown += f"; next page: --offset {result.next_offset}"
    return shown


@app.command
async def read(
    session_id: str,
    table: str,
    *,
    columns: Columns = None,
    where: Where = None,
    sort: Sort = None,
    offset: Annotated[int, Parameter(help="Skip this many rows (from the end with --tail).")] = 0,
    max_rows: MaxRows = None,
    tail: Annotated[bool, Parameter(negative="", help="The last rows, not the first.")] = False,
    format: Format = None,
    common: Common = NO_OPTIONS,
) -> int:
    """Read rows of a table, filtered, sorted and paged on the worker.

    Examples: dh-mcp read community:config:local trades --where Price gt 10 --where Sym in
    AAPL,MSFT --sort -Price --max-rows 20
    """
    from deephaven_mcp.cli import arguments
    from deephaven_mcp.systems.service import DEFAULT_ROWS

    out = Output()
    filters = arguments.parse_where(where)
    keys = arguments.parse_sort(sort)
    result = await call_api(
        common,
        lambda s: s.session_table_data(
            session_id,
            table,
            max_rows=DEFAULT_ROWS if max_rows is None else max_rows,
            head=not tail,
            format=out.api_format(format),
            columns=arguments.split_names(columns),
            filters=filters,
            sort=keys,
            offset=offset,
        ),
        out,
        f"reading {table}",
    )
    out.rows(result, format, caption=_paging_caption(result))
    return 0


@app.command
async def summary(
    session_id: str,
    table: str,
    *,
    columns: Columns = None,
    where: Where = None,
    top_k: Annotated[int | None, Parameter(help="Most frequent values to show.")] = None,
    skip_nan: Annotated[bool, Parameter(negative="", help="Treat NaN like null.")] = False,
    common: Common = NO_OPTIONS,
) -> int:
    """Per-column statistics, computed on the worker.

    Example: dh-mcp summary community:config:local trades --columns Price,Size
    """
    from deephaven_mcp.cli import arguments

    out = Output()
    filters = arguments.parse_where(where)
    options: dict[str, Any] = {} if top_k is None else {"top_k": top_k}
    result = await call_api(
        common,
        lambda s: s.session_table_summary(
            session_id,
            table,
            columns=arguments.split_names(columns),
            filters=filters,
            skip_nan=skip_nan,
            **options,
        ),
        out,
        f"summarizing {table}",
    )
    if out.terminal:
        dumped = tool_fields(result)
        columns_ = dumped.pop("columns")
        for column in columns_:
            if "top_values" in column:
                column["top_values"] = ", ".join(
                    f"{item['value']} ({item['count']})" for item in column["top_values"]
                )
        out.record(dumped, title=table)
        out.transposed(columns_, key="name", title="columns")
    else:
        out.answer(tool_fields(result))
    return 0


@app.command
async def aggregate(
    session_id: str,
    table: str,
    *,
    agg: Annotated[
        list[str],
        Parameter(
            negative="",
            help=AGG_HELP,
        ),
    ],
    by: Annotated[
        list[str] | None,
        Parameter(
            negative="",
            help="Group by COLUMN, or COLUMN:WIDTH for time buckets (e.g. Timestamp:1d).",
        ),
    ] = None,
    where: Where = None,
    sort: Sort = None,
    max_rows: MaxRows = None,
    offset: int = 0,
    skip_nan: Annotated[bool, Parameter(negative="", help="Treat NaN like null.")] = False,
    format: Format = None,
    common: Common = NO_OPTIONS,
) -> int:
    """Group and aggregate on the worker, then page like read.

    Example: dh-mcp aggregate community:config:local trades --by Sym --agg count
    --agg avg:Price:AvgPrice --sort -AvgPrice
    """
    from deephaven_mcp.cli import arguments
    from deephaven_mcp.systems.service import DEFAULT_ROWS

    out = Output()
    aggregations = arguments.parse_aggregations(agg)
    group_by = arguments.parse_group_by(by)
    filters = arguments.parse_where(where)
    keys = arguments.parse_sort(sort)
    result = await call_api(
        common,
        lambda s: s.session_table_aggregate(
            session_id,
            table,
            aggregations,
            group_by=group_by,
            filters=filters,
            sort=keys,
            max_rows=DEFAULT_ROWS if max_rows is None else max_rows,
            offset=offset,
            format=out.api_format(format),
            skip_nan=skip_nan,
        ),
        out,
        f"aggregating {table}",
    )
    out.rows(result, format, caption=_paging_caption(result))
    for note in result.notes:
        out.note(note)
    return 0


# -- scripts ------------------------------------------------------------------------------


@app.command
async def run(
    session_id: str,
    file: Annotated[
        str,
        Parameter(help="The script file, or - to read standard input.", allow_leading_hyphen=True),
    ],
    *,
    common: Common = NO_OPTIONS,
) -> int:
    """Run a script in a session; prints its output and the tables it changed.

    A failed script prints what it did before failing and exits 1. Piped, the answer is
    one JSON line (with "error" when the script failed).

    Example: dh-mcp run community:config:local make_tables.py
    """
    from deephaven_mcp.errors import InvalidArgumentError, ScriptFailedError

    out = Output()
    try:
        script = await asyncio.to_thread(_read_script, file)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        result = await call_api(
            common, lambda s: s.session_script_run(session_id, script=script), out, "running"
        )
    except ScriptFailedError as exc:
        _script_outcome(out, exc.details or {}, error=str(exc))
        return 1
    _script_outcome(out, tool_fields(result))
    return 0


def _read_script(file: str) -> str:
    return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")


def _script_outcome(out: Output, ran: dict[str, Any], error: str | None = None) -> None:
    if not out.terminal:
        out.answer(ran if error is None else {"error": error, **ran})
        if error is not None:
            out.note(f"dh-mcp: error: {error}")
        return
    if ran.get("stdout"):
        out.out.file.write(ran["stdout"])
        out.out.file.flush()
    if ran.get("stderr"):
        out.err.file.write(ran["stderr"])
        out.err.file.flush()
    for stream in ("stdout", "stderr"):
        if ran.get(f"{stream}_dropped_bytes"):
            out.note(f"({stream}: {ran[f'{stream}_dropped_bytes']} more bytes not shown)")
    if ran.get("tables"):
        out.records(ran["tables"], title="tables changed")
    if error is not None:
        out.note(f"dh-mcp: error: {error}")


# -- launched workers -----------------------------------------------------------------------


@app.command
async def launch(
    name: str,
    *,
    system: Annotated[
        str | None, Parameter(help="Launch on this Enterprise system instead of locally.")
    ] = None,
    heap: Annotated[float | None, Parameter(help="Java heap size in GB.")] = None,
    server: Annotated[str | None, Parameter(help="Enterprise: the server to run on.")] = None,
    language: Annotated[
        Literal["python", "groovy"] | None, Parameter(help="Enterprise: the worker's language.")
    ] = None,
    timeout: Annotated[
        float | None, Parameter(help="Enterprise: seconds to wait for the worker to start.")
    ] = None,
    show_token: Annotated[
        bool,
        Parameter(negative="", help="Community: also print the auth token and the URL holding it."),
    ] = False,
    common: Common = NO_OPTIONS,
) -> int:
    """Launch a worker and keep it running in the foreground: a local Community worker, or
    with --system one on an Enterprise system.

    The worker lives as long as this command: Ctrl-C or SIGTERM stops it (an Enterprise
    worker is deleted), and so does `dh-mcp stop NAME` from another shell (this command
    records itself, mode 0600, in the state directory, DH_MCP_STATE_DIR). Prints the session
    id (and, for Community, the browser URL) once the worker is up; the token only with
    --show-token. Other dh-mcp commands run their own API and do not see this worker.

    Examples: dh-mcp launch scratch --heap 2; dh-mcp launch probe --system prod --heap 4
    """
    from deephaven_mcp.cli import launches
    from deephaven_mcp.errors import InvalidArgumentError
    from deephaven_mcp.launchers import ensure_state_dir
    from deephaven_mcp.systems.settings import SystemsSettings

    if system is None and (server, language, timeout) != (None, None, None):
        raise InvalidArgumentError("--server, --language and --timeout need --system")
    if system is not None and show_token:
        raise InvalidArgumentError("--show-token is for Community workers, not with --system")
    out = Output()
    state_dir = await asyncio.to_thread(ensure_state_dir, SystemsSettings.from_env().state_dir)
    record = await asyncio.to_thread(launches.claim, state_dir, name, system)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopping.set)
    try:
        async with _systems(common) as systems:
            if system is None:
                return await _serve(systems, out, state_dir, record, stopping, heap, show_token)
            worker = _EnterpriseWorker(system, heap, server, language, timeout)
            return await _serve_enterprise(systems, out, state_dir, record, stopping, worker)
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
        await asyncio.to_thread(launches.release, state_dir, record)


class _NotATerminal:
    """stderr as the worker launcher sees it: not a terminal, so its access banner names the
    private file holding the token instead of printing the token (``launch`` shows the
    token only with --show-token). Everything written still reaches stderr."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


async def _unless_stopped(
    out: Output, name: str, creating: Awaitable[R], stopping: asyncio.Event
) -> R | None:
    """The created worker, or None when a stop request comes first (creation cancelled)."""
    task = asyncio.ensure_future(creating)
    waiting = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        out.note(f"launch of {name} interrupted")
        return None
    return task.result()


async def _serve(
    systems: DeephavenSystems,
    out: Output,
    state_dir: Path,
    record: LaunchRecord,
    stopping: asyncio.Event,
    heap: float | None,
    show_token: bool,
) -> int:
    """Launch, report, wait for a stop request, stop: the body of ``launch``."""
    import dataclasses

    from deephaven_mcp.cli import launches

    name = record.session_name
    withheld = contextlib.redirect_stderr(cast("TextIO", _NotATerminal(sys.stderr)))
    async with out.busy(f"launching {name}", delay=0) as status:
        with withheld:
            created = await _unless_stopped(
                out,
                name,
                systems.session_community_create(
                    name, heap_size_gb=heap, progress=out.progress(status)
                ),
                stopping,
            )
        if created is None:
            return 130
    await asyncio.to_thread(
        launches.update,
        state_dir,
        dataclasses.replace(
            record,
            session_id=created.session_id,
            connection_url=created.connection_url,
            worker_pid=created.pid,
        ),
    )
    shown = tool_fields(created)
    if not show_token:
        shown.pop("auth_token", None)
        shown.pop("connection_url_with_auth", None)
    out.answer(shown, title=name)
    out.note(f"{name} is running; Ctrl-C here or `dh-mcp stop {name}` stops it")
    await stopping.wait()
    async with out.busy(f"stopping {name}", delay=0):
        await systems.session_community_delete(name)
    out.note(f"{name} stopped")
    return 0


@dataclass(frozen=True)
class _EnterpriseWorker:
    """What ``launch --system`` asks of ``session_enterprise_create``."""

    system: str
    heap: float | None
    server: str | None
    language: str | None
    timeout: float | None


async def _serve_enterprise(
    systems: DeephavenSystems,
    out: Output,
    state_dir: Path,
    record: LaunchRecord,
    stopping: asyncio.Event,
    worker: _EnterpriseWorker,
) -> int:
    """``launch --system``: create the worker, report, wait for a stop request, delete it
    (closing the DeephavenSystems would delete it too; this says so first)."""
    import dataclasses

    from deephaven_mcp.cli import launches

    name = record.session_name
    async with out.busy(f"launching {name} on {worker.system}", delay=0):
        created = await _unless_stopped(
            out,
            name,
            systems.session_enterprise_create(
                worker.system,
                name,
                heap_size_gb=worker.heap,
                programming_language=worker.language,
                server=worker.server,
                timeout_seconds=worker.timeout,
            ),
            stopping,
        )
        if created is None:
            return 130
    await asyncio.to_thread(
        launches.update, state_dir, dataclasses.replace(record, session_id=created.session_id)
    )
    out.answer(tool_fields(created), title=name)
    out.note(
        f"{name} is running on {worker.system}; Ctrl-C here or `dh-mcp stop {name}` deletes it"
    )
    await stopping.wait()
    async with out.busy(f"deleting {name}", delay=0):
        await systems.session_enterprise_delete(worker.system, name)
    out.note(f"{name} deleted from {worker.system}")
    return 0


@app.command
def stop(
    name: str,
    *,
    timeout: Annotated[float, Parameter(help="Seconds to wait for it to stop.")] = 120.0,
) -> int:
    """Stop a worker started by `dh-mcp launch NAME` in another shell (an Enterprise one is
    deleted), and wait until it has stopped.

    Example: dh-mcp stop scratch
    """
    from deephaven_mcp.cli import launches
    from deephaven_mcp.launchers import ensure_state_dir
    from deephaven_mcp.systems.settings import SystemsSettings

    out = Output()
    state_dir = ensure_state_dir(SystemsSettings.from_env().state_dir)
    record = launches.stop(state_dir, name, timeout)
    answer: dict[str, Any] = {"session_name": name, "session_id": record.session_id}
    if record.system_name is not None:
        answer["system_name"] = record.system_name
    out.answer({**answer, "launch_pid": record.pid, "stopped": True}, title=name)
    return 0


# -- enterprise -----------------------------------------------------------------------------


@app.command
async def systems(*, connect: bool = False, common: Common = NO_OPTIONS) -> int:
    """Status of every configured Enterprise system (--connect tries to reach each).

    Example: dh-mcp systems --connect
    """
    out = Output()
    result = await call_api(common, lambda s: s.enterprise_systems_status(connect), out)
    return show_records(out, result, result.systems, "systems")


# -- shell completion and the other helpers' commands ---------------------------------------


@app.command
def completion(shell: Literal["bash", "zsh", "fish"]) -> int:
    """Print the shell completion script (or use --install-completion).

    Example: dh-mcp completion bash > ~/.local/share/bash-completion/completions/dh-mcp
    """
    Output().text(app.generate_completion(prog_name="dh-mcp", shell=shell))
    return 0


app.register_install_completion_command(
    help="Install shell completion for this shell (bash, zsh or fish) and load it at start."
)
app.command(
    "deephaven_mcp.cli.pq:pq_app",
    name="pq",
    help="Persistent queries of an Enterprise system.",
)
app.command(
    "deephaven_mcp.cli.chart:chart",
    name="chart",
    help="Draw a chart of a table as a PNG file.",
)
app.command(
    "deephaven_mcp.cli.catalog:catalog_app",
    name="catalog",
    help="Browse an Enterprise catalog: tables, namespaces, schemas, samples.",
)
app.command(
    "deephaven_mcp.cli.session_info:pip",
    name="pip",
    help="List the Python packages installed in a session's worker.",
)
app.command(
    "deephaven_mcp.cli.session_info:credentials",
    name="credentials",
    help="Show how to connect to a session's worker (when the operator allows it).",
)
app.command(
    "deephaven_mcp.cli.install:install_app",
    name="install",
    help="Add the systems server to an MCP client's configuration.",
)
app.command(
    "deephaven_mcp.cli.config_check:config_app",
    name="config",
    help="Check the Deephaven MCP configuration file.",
)
app.command(
    "deephaven_mcp.cli.doctor:doctor",
    name="doctor",
    help="Check the configuration, the sessions and the environment.",
)
