"""``DeephavenSystems``: every systems-server tool as a typed async method (public API).

The MCP tools are thin adapters over this class: same names, same parameters, and each
method's result serializes to the tool's success envelope. Failures are raised as
:mod:`deephaven_mcp.errors` exceptions.

    async with DeephavenSystems.from_config("deephaven_mcp.json") as systems:
        names = await systems.session_tables_list("community:config:local")
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Final,
    Literal,
    ParamSpec,
    Self,
    TypeVar,
    overload,
)

from deephaven_mcp.config import McpConfig, load_config
from deephaven_mcp.config.systems_tools import STATE_CHANGING_TOOL_NAMES
from deephaven_mcp.enterprise import (
    EnterpriseBackend,
    PqChanges,
    QueryRequest,
    Schedule,
    WorkerRequest,
    parse_environment,
    parse_python_control,
    parse_schedule,
)
from deephaven_mcp.errors import InvalidArgumentError, PermissionDeniedError
from deephaven_mcp.formatting import resolve_format
from deephaven_mcp.launchers import ProgressCallback
from deephaven_mcp.model.analysis import (
    DEFAULT_TOP_K,
    Aggregation,
    GroupByItem,
    SkipNan,
    SummaryColumns,
    TopK,
)
from deephaven_mcp.model.arguments import Offset, RowLimit, check_argument
from deephaven_mcp.model.requests import (
    CHART_KINDS,
    DEFAULT_CATALOG_ROWS,
    DEFAULT_CHART_HEIGHT,
    DEFAULT_CHART_POINTS,
    DEFAULT_CHART_WIDTH,
    DEFAULT_NAMESPACE_ROWS,
    DEFAULT_PQ_CONCURRENCY,
    DEFAULT_SAMPLE_ROWS,
    DEFAULT_SCHEMA_TABLES,
    DEFAULT_TABLE_ROWS,
    MAX_CHART_SERIES,
    AggregateRead,
    ChartPixels,
    ChartPoints,
    ChartRead,
    ChartTitle,
    SummaryRead,
    TableRead,
)
from deephaven_mcp.model.shaping import FilterItem, SortKey, parse_filters, parse_sort
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import CommunitySession, ManagedSession, SessionRegistry
from deephaven_mcp.resource_manager.session_id import SessionSource, SessionType
from deephaven_mcp.systems import (
    _analysis,
    _catalog,
    _charts,
    _pq_batch,
    _queries,
    _tables,
    results,
)
from deephaven_mcp.systems._community import (
    CommunitySessions,
    CreateArguments,
    created,
    credentials,
    private_paths,
)
from deephaven_mcp.systems._enterprise import EnterpriseSystems
from deephaven_mcp.systems._pq_batch import PqIdentifiers
from deephaven_mcp.systems._session_filter import SessionFilter
from deephaven_mcp.systems.settings import SystemsSettings

if TYPE_CHECKING:
    import pyarrow as pa

    from deephaven_mcp.enterprise.catalog import CatalogFilter

_log = logging.getLogger(__name__)


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


P = ParamSpec("P")
R = TypeVar("R")


class DefaultRows(enum.Enum):
    """``max_rows`` left out: the operator's ``limits.default_max_rows``, else the tool's."""

    DEFAULT = "default"


DEFAULT_ROWS: Final = DefaultRows.DEFAULT


def _changes_state(
    method: Callable[Concatenate[DeephavenSystems, P], Awaitable[R]],
) -> Callable[Concatenate[DeephavenSystems, P], Awaitable[R]]:
    """``method``, refused in read-only mode."""

    @functools.wraps(method)
    async def guarded(self: DeephavenSystems, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.read_only:
            raise PermissionDeniedError(
                f"{method.__name__} runs code or changes state, which read-only mode "
                "(security.read_only or --read-only) does not allow"
            )
        return await method(self, *args, **kwargs)

    return guarded


def _refuse_state_changes_in_read_only_mode(cls: type[DeephavenSystems]) -> type[DeephavenSystems]:
    """Guard every method whose tool runs code, changes state or hands out credentials, as
    :mod:`deephaven_mcp.config.systems_tools` declares them.

    The MCP server does not even register such tools in read-only mode; this keeps the
    Python API to the same rule.
    """
    for name in sorted(STATE_CHANGING_TOOL_NAMES):
        setattr(cls, name, _changes_state(getattr(cls, name)))
    return cls


@_refuse_state_changes_in_read_only_mode
class DeephavenSystems:
    """Deephaven Community sessions and Enterprise systems behind one async API.

    Use as an async context manager: entering loads the configuration (unless given) and
    registers its sessions; leaving closes every connection and stops every worker this
    object launched. Nothing connects until a method needs it.
    """

    def __init__(
        self,
        config_path: str | None = None,
        *,
        config: McpConfig | None = None,
        timeouts: Timeouts | None = None,
        demo: bool = False,
        enterprise_backend: EnterpriseBackend | None = None,
        settings: SystemsSettings | None = None,
        read_only: bool = False,
        keep_arrow: bool = True,
    ) -> None:
        """``settings`` default to the environment (``DH_MCP_*``, and a ``.env`` file in
        the working directory, as the server reads them; see
        :meth:`SystemsSettings.from_env`); ``config_path`` and ``timeouts`` override theirs.
        ``config`` skips reading a file at start (``mcp_reload`` still reads the path).
        ``demo`` launches a local worker with demo tables as ``community:dynamic:demo``.
        ``enterprise_backend`` replaces the Core+ client (tests use an in-process fake).
        ``read_only`` forces read-only mode whatever the configuration says (see
        :attr:`read_only`). ``keep_arrow`` (default True) keeps the rows of every answer
        with rows as read, for its ``to_arrow()``/``to_pandas()``; the MCP server turns it
        off, as it streams answers and must not hold them whole (those answers' ``to_arrow()``
        raises; :meth:`read_arrow` reads Arrow directly)."""
        settings = settings if settings is not None else SystemsSettings.from_env()
        self.keep_arrow = keep_arrow
        self.config_path = config_path if config_path is not None else settings.config_file
        self._initial_config = config
        self.config = config or McpConfig()
        self.timeouts = timeouts or settings.timeouts
        self.registry = SessionRegistry()
        self._reload_lock = asyncio.Lock()
        self._forced_read_only = read_only
        self._reload_listeners: list[Callable[[], Awaitable[None]]] = []
        self._demo = demo
        self.community = CommunitySessions(
            self.registry,
            self.timeouts,
            settings.state_dir,
            private_paths=private_paths(self.config_path),
        )
        self.enterprise = EnterpriseSystems(self.timeouts, enterprise_backend)
        self._started = False
        self.registry.add_resolver(self.community.resolve_demo)
        self.registry.add_resolver(self.enterprise.resolve)

    @classmethod
    def from_config(
        cls, path: str | None = None, *, config: McpConfig | None = None, **options: Any
    ) -> DeephavenSystems:
        """From a config file, a parsed config, or (neither) ``DH_MCP_CONFIG_FILE``/default."""
        return cls(path, config=config, **options)

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.shutdown()

    async def start(self) -> None:
        """Load the configuration (unless preloaded) and register its sessions."""
        if self._started:
            raise RuntimeError("DeephavenSystems is already started")
        self._started = True
        config = self._initial_config or await load_config(self.config_path)
        self._initial_config = None
        await self._apply(config)
        await self.community.start(config, demo=self._demo)

    async def shutdown(self) -> None:
        """Close every session and connection and stop every worker this object launched."""
        _log.info("shutting down: closing %d sessions", len(self.registry.sessions()))
        self.community.stop_demo()
        await self.registry.shutdown()
        await asyncio.gather(self.community.shutdown(), self.enterprise.close())
        self._started = False

    async def _apply(self, config: McpConfig) -> None:
        self.config = config
        sessions: list[ManagedSession] = [
            CommunitySession.from_config(name, session_config, self.timeouts)
            for name, session_config in config.community.sessions.items()
        ]
        await self.registry.replace_configured(sessions)
        await self.enterprise.apply(config.enterprise.systems)

    async def wait_for_demo(self) -> None:
        """Block until the demo worker (if any) is registered; surface its failure."""
        await self.community.wait_for_demo()

    # -- configuration and sessions ------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """Read-only mode: set by the constructor (``--read-only``) or ``security.read_only``.

        Methods that run code or change state are refused, and so are engine-compiled
        expressions (catalog ``filters`` given as strings; structured conditions are fine).
        """
        return self._forced_read_only or self.config.security.read_only

    @property
    def _max_bytes(self) -> int:
        return self.config.limits.max_response_bytes

    def _rows(self, max_rows: int | DefaultRows | None, builtin: int) -> int | None:
        if isinstance(max_rows, DefaultRows):
            return self.config.limits.default_max_rows or builtin
        return max_rows

    def add_reload_listener(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call ``listener`` after every successful :meth:`mcp_reload` (the server re-applies
        its tool policy this way)."""
        self._reload_listeners.append(listener)

    async def mcp_reload(self) -> results.Done:
        """Re-read the configuration file and drop every cached worker connection.

        An invalid file raises ConfigError and leaves the running configuration untouched.
        """
        async with self._reload_lock:
            config = await load_config(self.config_path)
            if config.security.http != self.config.security.http:
                _log.warning(
                    "security.http changed in the configuration file; HTTP authentication "
                    "and allowed hosts/origins change only when the server restarts"
                )
            if config.security.audit != self.config.security.audit:
                _log.warning(
                    "security.audit changed in the configuration file; the audit file "
                    "changes only when the server restarts"
                )
            await self._apply(config)
            _log.info("configuration reloaded; %d sessions", len(self.registry.sessions()))
            for listener in self._reload_listeners:
                await listener()
        return results.Done()

    async def enterprise_systems_status(
        self, attempt_to_connect: bool = False
    ) -> results.EnterpriseSystemsStatus:
        """Status of every configured Enterprise system, config redacted."""
        return results.EnterpriseSystemsStatus(
            systems=await self.enterprise.status(attempt_to_connect)
        )

    async def sessions_list(
        self,
        type: SessionType | None = None,
        system: str | None = None,
        source: SessionSource | None = None,
    ) -> results.SessionList:
        """Every known session (configured, launched, enterprise), without connecting.

        Filters, ANDed: ``type`` ('community' or 'enterprise'), ``system`` (an enterprise
        system's name) and ``source`` ('config': configured community sessions, 'dynamic':
        sessions created at run time, 'pq': running persistent queries). An unknown value,
        or a combination that can match nothing, raises
        :class:`~deephaven_mcp.errors.InvalidArgumentError` (an unknown system
        :class:`~deephaven_mcp.errors.NotFoundError`)."""
        wanted = SessionFilter.of(type, system, source)
        if wanted.system is not None:
            self.enterprise.get(wanted.system)
        summaries: list[dict[str, Any]] = []
        if wanted.community:
            await self.wait_for_demo()
            summaries += [session.summary() for session in self.registry.sessions()]
        if wanted.enterprise:
            summaries += await self.enterprise.session_summaries()
        kept = [summary for summary in summaries if wanted.matches(summary)]
        return results.SessionList(sessions=sorted(kept, key=lambda item: str(item["session_id"])))

    async def session_details(
        self, session_id: str, attempt_to_connect: bool = False
    ) -> results.SessionDetails:
        """Availability, programming language and Deephaven versions of one session."""
        session = await self.registry.get(session_id)
        return results.SessionDetails(session=await session.details(attempt_to_connect))

    # -- tables and scripts --------------------------------------------------------------

    async def session_tables_list(self, session_id: str) -> results.TableNames:
        """Names of the tables in a session."""
        session = await self.registry.get(session_id)
        return await _tables.table_names(session, session_id, self.timeouts)

    async def session_tables_schema(
        self, session_id: str, table_names: list[str] | None = None
    ) -> results.TableSchemas:
        """Column metadata of some (None: all) tables; each table succeeds or fails alone."""
        session = await self.registry.get(session_id)
        return await _tables.table_schemas(session, self.timeouts, table_names)

    async def session_table_data(
        self,
        session_id: str,
        table_name: str,
        max_rows: int | DefaultRows | None = DEFAULT_ROWS,
        head: bool = True,
        format: str = "optimize-rendering",
        columns: list[str] | None = None,
        filters: Sequence[FilterItem | dict[str, Any]] | None = None,
        sort: Sequence[SortKey | dict[str, Any]] | None = None,
        offset: int = 0,
    ) -> results.ShapedSlice:
        """A page of a table (first or last ``max_rows`` rows after ``offset``), formatted.

        ``columns``, ``filters`` and ``sort`` shape the table on the worker first (see
        :mod:`deephaven_mcp.clients.shaping`; nothing is compiled, so read-only mode allows
        them). With ``head=False``, ``offset`` counts from the end. Capped at
        ``limits.max_response_bytes``; ``max_rows`` defaults to ``limits.default_max_rows``
        (else 1000).
        """
        read = self._table_read(
            table_name, max_rows, head, format, columns, filters, sort, offset, self.keep_arrow
        )
        session = await self.registry.get(session_id)
        return await _tables.table_slice(session, self.timeouts, read)

    async def read_arrow(
        self,
        session_id: str,
        table_name: str,
        *,
        columns: list[str] | None = None,
        filters: Sequence[FilterItem | dict[str, Any]] | None = None,
        sort: Sequence[SortKey | dict[str, Any]] | None = None,
        offset: int = 0,
        max_rows: int | DefaultRows | None = DEFAULT_ROWS,
        head: bool = True,
    ) -> pa.Table:
        """The rows :meth:`session_table_data` would answer, as a ``pyarrow.Table`` with
        pydeephaven's schema, and nothing formatted: the fast way to get data into Python.

        Same arguments, checks, shaping, paging and ``max_rows`` default; the cap
        ``limits.max_response_bytes`` bounds the Arrow bytes (``nbytes``), refused with
        :class:`~deephaven_mcp.errors.LimitExceededError` like an answer over it. A read,
        so allowed in read-only mode. Python API only (no MCP tool).
        """
        # The format is a placeholder: the client reads these rows without formatting them.
        read = self._table_read(
            table_name, max_rows, head, "csv", columns, filters, sort, offset, keep_arrow=False
        )
        session = await self.registry.get(session_id)
        return await _tables.table_arrow(session, self.timeouts, read)

    def _table_read(
        self,
        table_name: str,
        max_rows: int | DefaultRows | None,
        head: bool,
        format: str,
        columns: list[str] | None,
        filters: Sequence[FilterItem | dict[str, Any]] | None,
        sort: Sequence[SortKey | dict[str, Any]] | None,
        offset: int,
        keep_arrow: bool,
    ) -> TableRead:
        """The checked request for one page of a table (:meth:`session_table_data`,
        :meth:`read_arrow`): one set of checks, in one order, for both."""
        rows = self._rows(max_rows, DEFAULT_TABLE_ROWS)
        _tables.check_max_rows("max_rows", rows)
        _tables.check_offset(offset)
        return TableRead(
            table_name,
            filters=parse_filters(filters),
            sort=parse_sort(sort),
            columns=_tables.check_columns(columns),
            fmt=resolve_format(format),
            max_rows=rows,
            head=head,
            offset=offset,
            max_bytes=self._max_bytes,
            keep_arrow=keep_arrow,
        )

    async def session_table_summary(
        self,
        session_id: str,
        table_name: str,
        columns: list[str] | None = None,
        filters: Sequence[FilterItem | dict[str, Any]] | None = None,
        top_k: int = DEFAULT_TOP_K,
        skip_nan: bool = False,
    ) -> results.TableSummary:
        """Per-column statistics (counts, nulls, min/max, mean/std, top values) computed by
        the worker; no rows are fetched. At most 200 columns. NaN is a value (min, max, mean
        and std of a column holding one are NaN) unless ``skip_nan``, which treats it like
        null; ``nan_count`` counts it either way. A mean or std the engine overflows from
        finite values is null, with a note in the column's ``notes``."""
        session = await self.registry.get(session_id)
        read = SummaryRead(
            table_name,
            columns=check_argument(
                "columns",
                SummaryColumns,
                list(columns) if isinstance(columns, tuple) else columns,
            ),
            top_k=check_argument("top_k", TopK, top_k),
            skip_nan=check_argument("skip_nan", SkipNan, skip_nan),
            filters=parse_filters(filters),
        )
        return await _analysis.table_summary(session, self.timeouts, read)

    async def session_table_aggregate(
        self,
        session_id: str,
        table_name: str,
        aggregations: Sequence[Aggregation | dict[str, Any]],
        group_by: Sequence[GroupByItem | dict[str, Any]] | None = None,
        filters: Sequence[FilterItem | dict[str, Any]] | None = None,
        sort: Sequence[SortKey | dict[str, Any]] | None = None,
        max_rows: int | DefaultRows | None = DEFAULT_ROWS,
        offset: int = 0,
        format: str = "optimize-rendering",
        skip_nan: bool = False,
    ) -> results.TableAggregate:
        """Group (by columns and/or UTC-aligned time buckets of any ``<N>s|m|h|d`` width) and
        aggregate on the worker with pydeephaven's aggregation API, then page and format like
        :meth:`session_table_data`. NaN is a value (a group holding one has NaN sum, avg,
        min, max, std, var and median) unless ``skip_nan``; a statistic the engine overflows
        is null, with a note in ``notes``.
        """
        max_rows = self._rows(max_rows, DEFAULT_TABLE_ROWS)
        fmt = resolve_format(format)
        session = await self.registry.get(session_id)
        keys, wanted = _analysis.parse_group_by_and_aggregations(group_by, aggregations)
        read = AggregateRead(
            table_name,
            group_by=keys,
            aggregations=wanted,
            filters=parse_filters(filters),
            sort=parse_sort(sort),
            max_rows=check_argument("max_rows", RowLimit, max_rows),
            offset=check_argument("offset", Offset, offset),
            skip_nan=check_argument("skip_nan", SkipNan, skip_nan),
            fmt=fmt,
            max_bytes=self._max_bytes,
            keep_arrow=self.keep_arrow,
        )
        return await _analysis.table_aggregate(session, self.timeouts, read)

    async def session_table_chart(
        self,
        session_id: str,
        table_name: str,
        kind: str,
        x: str,
        y: str | list[str] | None = None,
        by: str | None = None,
        filters: Sequence[FilterItem | dict[str, Any]] | None = None,
        sort: Sequence[SortKey | dict[str, Any]] | None = None,
        max_points: int = DEFAULT_CHART_POINTS,
        title: str | None = None,
        width: int = DEFAULT_CHART_WIDTH,
        height: int = DEFAULT_CHART_HEIGHT,
    ) -> results.TableChart:
        """A ``kind`` chart (line, bar, scatter, area, histogram) of a table, drawn by the
        server as a PNG (``result.png``) of ``width`` x ``height`` pixels.

        ``y`` is one numeric column or a list (one series each); ``by`` splits the rows into
        a series per value (at most 20 series in all). A histogram bins the numeric ``x``
        on the worker and takes no ``y``. ``filters`` and ``sort`` shape the table on the
        worker like :meth:`session_table_data` (nothing compiled, so read-only mode allows
        it); a table with more than ``max_points`` rows (1..100,000) is sampled there, every
        k-th row, before any row is fetched. Time columns on x are drawn as dates.
        """
        if kind not in CHART_KINDS:
            raise InvalidArgumentError(
                f"kind must be one of {', '.join(CHART_KINDS)}, not {kind!r}"
            )
        if not isinstance(x, str) or not x:
            raise InvalidArgumentError("x must be a column name")
        wanted = [y] if isinstance(y, str) else list(y or [])
        if kind == "histogram" and wanted:
            raise InvalidArgumentError(
                "a histogram counts the rows of x in bins and takes no y; leave y out"
            )
        if kind != "histogram" and not wanted:
            raise InvalidArgumentError(f"a {kind} chart needs y: a numeric column or a list")
        if not all(isinstance(name, str) and name for name in wanted):
            raise InvalidArgumentError("y must be a column name or a list of column names")
        if len(wanted) > MAX_CHART_SERIES:
            raise InvalidArgumentError(f"at most {MAX_CHART_SERIES} y columns, not {len(wanted)}")
        if by is not None and (not isinstance(by, str) or not by):
            raise InvalidArgumentError("by must be a column name")
        read = ChartRead(
            table_name,
            kind=kind,
            x=x,
            y=tuple(dict.fromkeys(wanted)),
            by=by,
            filters=parse_filters(filters),
            sort=parse_sort(sort),
            max_points=check_argument("max_points", ChartPoints, max_points),
            title=check_argument("title", ChartTitle, title),
            width=check_argument("width", ChartPixels, width),
            height=check_argument("height", ChartPixels, height),
        )
        session = await self.registry.get(session_id)
        return await _charts.table_chart(session, self.timeouts, read)

    async def session_script_run(
        self, session_id: str, script: str | None = None, script_path: str | None = None
    ) -> results.ScriptRun:
        """Run ``script`` (or the file at ``script_path``) in a session; never re-run after a
        lost connection. ``script_path`` must lie inside ``security.script_path_roots``.
        Reports the script's stdout/stderr and the global tables it created, replaced or
        removed; a failed script raises :class:`~deephaven_mcp.errors.ScriptFailedError`
        carrying the same up to the failure."""
        code = await _tables.script_code(
            script, script_path, roots=self.config.security.script_path_roots
        )
        session = await self.registry.get(session_id)
        return await _tables.run_script(session, self.timeouts, code)

    async def session_pip_list(self, session_id: str) -> results.PipPackages:
        """Python packages installed in a Python session's worker."""
        session = await self.registry.get(session_id)
        return await _tables.pip_packages(session, session_id, self.timeouts)

    # -- community sessions launched on demand -------------------------------------------

    async def session_community_create(
        self,
        session_name: str,
        launch_method: str | None = None,
        programming_language: str | None = None,
        auth_type: str | None = None,
        auth_token: str | None = None,
        docker_image: str | None = None,
        docker_memory_limit_gb: float | None = None,
        docker_cpu_limit: float | None = None,
        docker_volumes: list[str] | None = None,
        python_venv_path: str | None = None,
        heap_size_gb: float | None = None,
        extra_jvm_args: list[str] | None = None,
        environment_vars: dict[str, str] | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> results.CommunitySessionCreated:
        """Launch a Community worker as ``community:dynamic:<session_name>``.

        ``progress(message, fraction)`` is awaited as the worker starts.
        """
        arguments = CreateArguments(
            session_name=session_name,
            launch_method=launch_method,
            programming_language=programming_language,
            auth_type=auth_type,
            auth_token=auth_token,
            docker_image=docker_image,
            docker_memory_limit_gb=docker_memory_limit_gb,
            docker_cpu_limit=docker_cpu_limit,
            docker_volumes=docker_volumes,
            python_venv_path=python_venv_path,
            heap_size_gb=heap_size_gb,
            extra_jvm_args=extra_jvm_args,
            environment_vars=environment_vars,
        )
        session = await self.community.create(self.config, arguments, progress)
        return created(session, self.config.security.community.credential_retrieval_mode)

    async def session_community_delete(self, session_name: str) -> results.CommunitySessionDeleted:
        """Stop a worker made by ``session_community_create`` and forget its session."""
        session_id = await self.community.delete(session_name)
        return results.CommunitySessionDeleted(
            session_id=str(session_id), session_name=session_name
        )

    async def session_community_credentials(self, session_id: str) -> results.CommunityCredentials:
        """Token and URLs of a community session, if the credential retrieval mode allows."""
        session = await self.registry.get(session_id)
        return credentials(session, self.config.security.community.credential_retrieval_mode)

    # -- enterprise sessions and catalogs ------------------------------------------------

    async def session_enterprise_create(
        self,
        system_name: str,
        session_name: str | None = None,
        heap_size_gb: float | None = None,
        programming_language: str | None = None,
        auto_delete_timeout: int | None = None,
        server: str | None = None,
        engine: str | None = None,
        extra_jvm_args: list[str] | None = None,
        extra_environment_vars: dict[str, str] | list[str] | None = None,
        admin_groups: list[str] | None = None,
        viewer_groups: list[str] | None = None,
        timeout_seconds: float | None = None,
        session_arguments: dict[str, Any] | None = None,
    ) -> results.EnterpriseSessionCreated:
        """Start a worker on an Enterprise system and register it as a session.

        Only ``session_name``, ``programming_language``, ``heap_size_gb`` (within
        ``agent_limits.max_heap_size_gb``), ``server`` (within ``allowed_servers``) and
        ``timeout_seconds`` are the caller's; any other argument raises
        :class:`PermissionDeniedError` unless the system's ``agent_limits.agent_may_set``
        lists it. ``session_creation.defaults`` fill in the rest."""
        system = self.enterprise.get(system_name)
        request = WorkerRequest(
            heap_size_gb=heap_size_gb,
            programming_language=programming_language,
            auto_delete_timeout=auto_delete_timeout,
            server=server,
            engine=engine,
            extra_jvm_args=extra_jvm_args,
            extra_environment_vars=extra_environment_vars,
            admin_groups=admin_groups,
            viewer_groups=viewer_groups,
            timeout_seconds=timeout_seconds,
            session_arguments=session_arguments,
        )
        info = await system.create_session(session_name, request)
        return results.EnterpriseSessionCreated(
            session_id=info.session_id,
            system_name=system.name,
            session_name=info.session_name,
            programming_language=info.programming_language,
        )

    async def session_enterprise_delete(
        self, system_name: str, session_name: str
    ) -> results.EnterpriseSessionDeleted:
        """Terminate a worker made by ``session_enterprise_create``."""
        system = self.enterprise.get(system_name)
        await system.delete_session(session_name)
        return results.EnterpriseSessionDeleted(
            system_name=system.name,
            session_name=session_name,
            message="Session deleted successfully",
        )

    async def catalog_tables_list(
        self,
        session_id: str,
        max_rows: int | None = DEFAULT_CATALOG_ROWS,
        filters: Sequence[CatalogFilter] | None = None,
        format: str = "optimize-rendering",
    ) -> results.CatalogListing:
        """Entries of an Enterprise catalog; ``filters`` (where-clause strings or structured
        conditions, see :mod:`deephaven_mcp.clients.shaping`) are ANDed."""
        return await self._catalog_listing("the catalog", session_id, max_rows, filters, format)

    async def catalog_namespaces_list(
        self,
        session_id: str,
        max_rows: int | None = DEFAULT_NAMESPACE_ROWS,
        filters: Sequence[CatalogFilter] | None = None,
        format: str = "optimize-rendering",
    ) -> results.CatalogListing:
        """Distinct namespaces of an Enterprise catalog."""
        return await self._catalog_listing("the namespaces", session_id, max_rows, filters, format)

    async def _catalog_listing(
        self,
        what: Literal["the catalog", "the namespaces"],
        session_id: str,
        max_rows: int | None,
        filters: Sequence[CatalogFilter] | None,
        format: str,
    ) -> results.CatalogListing:
        _tables.check_max_rows("max_rows", max_rows)
        _catalog.refuse_expressions(self.read_only, filters)
        fmt = resolve_format(format)
        catalog = await _catalog.catalog_of(self.enterprise, session_id)
        if what == "the catalog":
            rows = await catalog.tables(filters, max_rows)
        else:
            rows = await catalog.namespaces(filters, max_rows)
        return await _catalog.listing(
            session_id, rows, fmt, what, self.timeouts, self._max_bytes, keep_arrow=self.keep_arrow
        )

    async def catalog_tables_schema(
        self,
        session_id: str,
        namespace: str | None = None,
        table_names: list[str] | None = None,
        filters: Sequence[CatalogFilter] | None = None,
        max_tables: int | None = DEFAULT_SCHEMA_TABLES,
    ) -> results.CatalogSchemas:
        """Column metadata of catalog tables; each table succeeds or fails alone."""
        _tables.check_max_rows("max_tables", max_tables)
        _catalog.refuse_expressions(self.read_only, filters)
        catalog = await _catalog.catalog_of(self.enterprise, session_id)
        found = await catalog.schemas(namespace, table_names, filters, max_tables)
        return await _catalog.schemas(found, self.timeouts)

    async def catalog_table_sample(
        self,
        session_id: str,
        namespace: str,
        table_name: str,
        max_rows: int | DefaultRows | None = DEFAULT_ROWS,
        head: bool = True,
        format: str = "optimize-rendering",
    ) -> results.CatalogSample:
        """Rows of a catalog table (historical first, then live); ``max_rows`` defaults to
        ``limits.default_max_rows`` (else 100)."""
        max_rows = self._rows(max_rows, DEFAULT_SAMPLE_ROWS)
        _tables.check_max_rows("max_rows", max_rows)
        fmt = resolve_format(format)
        catalog = await _catalog.catalog_of(self.enterprise, session_id)
        sample = await catalog.sample(
            namespace,
            table_name,
            max_rows,
            head,
            fmt,
            max_bytes=self._max_bytes,
            keep_arrow=self.keep_arrow,
        )
        # The slice names the table "namespace.table" in messages; answer with the name.
        return sample.slice.extended(
            results.CatalogSample, table_name=table_name, namespace=namespace, source=sample.source
        )

    # -- persistent queries --------------------------------------------------------------

    async def pq_list(self, system_name: str) -> results.PqList:
        """Persistent queries of a system; running ones carry a ``session_id``."""
        system = self.enterprise.get(system_name)
        queries = await system.pq_list()
        return results.PqList(
            system_name=system.name, pqs=[_queries.summary(system.name, q) for q in queries]
        )

    async def pq_details(self, system_name: str, pq_identifier: str | int) -> results.PqDetails:
        """Configuration, state and worker location of one persistent query."""
        system = self.enterprise.get(system_name)
        return _queries.details(system.name, await system.pq_details(pq_identifier))

    async def pq_create(
        self,
        system_name: str,
        pq_name: str,
        heap_size_gb: float,
        script_body: str | None = None,
        script_path: str | None = None,
        programming_language: str | None = None,
        configuration_type: str | None = None,
        enabled: bool | None = None,
        schedule: Schedule | dict[str, Any] | None = None,
        server: str | None = None,
        engine: str | None = None,
        jvm_profile: str | None = None,
        extra_jvm_args: list[str] | None = None,
        extra_class_path: list[str] | None = None,
        python_virtual_environment: dict[str, Any] | str | None = None,
        extra_environment_vars: dict[str, str] | list[str] | None = None,
        init_timeout_seconds: float | None = None,
        admin_groups: list[str] | None = None,
        viewer_groups: list[str] | None = None,
        restart_users: str | None = None,
        owner: str | None = None,
    ) -> results.PqCreated:
        """Create a persistent query of ``configuration_type`` (default Script) that runs
        ``script_body`` or the file ``script_path`` (within ``security.script_path_roots``),
        on ``schedule`` (default continuous).

        Held to the same ``agent_limits`` as :meth:`session_enterprise_create`: beyond the
        name, heap, language and server, every setting is the operator's unless
        ``agent_may_set`` lists it; the launch settings not given come from the system's
        ``session_creation.defaults``. The answer says whether the controller starts the
        query by itself now."""
        system = self.enterprise.get(system_name)
        request = QueryRequest(
            heap_size_gb=heap_size_gb,
            programming_language=programming_language,
            server=server,
            engine=engine,
            extra_jvm_args=extra_jvm_args,
            extra_environment_vars=extra_environment_vars,
            admin_groups=admin_groups,
            viewer_groups=viewer_groups,
            script_body=script_body,
            script_path=script_path,
            configuration_type=configuration_type,
            enabled=enabled,
            schedule=schedule,
            jvm_profile=jvm_profile,
            extra_class_path=extra_class_path,
            python_virtual_environment=python_virtual_environment,
            init_timeout_seconds=init_timeout_seconds,
            restart_users=restart_users,
            owner=owner,
        )
        created = await system.pq_create(pq_name, request, self._read_script)
        return _queries.created(created)

    async def _read_script(self, path: str) -> str:
        """A ``script_path``'s file, within ``security.script_path_roots`` (PQ tools)."""
        return await _tables.read_script_file(path, self.config.security.script_path_roots)

    @overload
    async def pq_delete(  # type: ignore[overload-overlap]  # a str is one name, not a list
        self,
        /,
        system_name: str,
        pq_identifier: str | int,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqDeleted: ...

    @overload
    async def pq_delete(
        self,
        /,
        system_name: str,
        pq_identifier: Sequence[str | int],
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqBatch: ...

    async def pq_delete(
        self,
        system_name: str,
        pq_identifier: PqIdentifiers,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqDeleted | results.PqBatch:
        """Delete a persistent query permanently (stopped first if running).

        Given a list (up to 100), deletes each, at most ``max_concurrent`` at once, and
        answers per query with :class:`PqBatch`."""
        system = self.enterprise.get(system_name)
        return await _pq_batch.act(system, results.PqDeleted, pq_identifier, max_concurrent)

    async def pq_modify(
        self,
        pq_id: str,
        restart: bool = False,
        pq_name: str | None = None,
        heap_size_gb: float | None = None,
        script_body: str | None = None,
        script_path: str | None = None,
        programming_language: str | None = None,
        configuration_type: str | None = None,
        enabled: bool | None = None,
        schedule: Schedule | dict[str, Any] | None = None,
        server: str | None = None,
        engine: str | None = None,
        jvm_profile: str | None = None,
        extra_jvm_args: list[str] | None = None,
        extra_class_path: list[str] | None = None,
        python_virtual_environment: dict[str, Any] | str | None = None,
        extra_environment_vars: dict[str, str] | list[str] | None = None,
        init_timeout_seconds: float | None = None,
        auto_delete_timeout: int | None = None,
        admin_groups: list[str] | None = None,
        viewer_groups: list[str] | None = None,
        restart_users: str | None = None,
    ) -> results.PqModified:
        """Change the given fields of ``enterprise:<system>:<serial or name>``.

        ``pq_name``, ``programming_language``, ``heap_size_gb`` and ``server`` (within
        ``agent_limits``) are the caller's, and ``restart``; any other field raises
        :class:`PermissionDeniedError` unless the system's ``agent_limits.agent_may_set``
        lists it. ``script_path`` is a file within ``security.script_path_roots``, sent as
        the query's inline script."""
        system_name, identifier = _queries.parse_pq_id(pq_id)
        changes = PqChanges(
            name=pq_name,
            heap_size_gb=heap_size_gb,
            script_body=script_body,
            script_path=script_path,
            programming_language=programming_language,
            configuration_type=configuration_type,
            enabled=enabled,
            schedule=parse_schedule(schedule),
            server=server,
            engine=engine,
            jvm_profile=jvm_profile,
            extra_jvm_args=_tuple(extra_jvm_args),
            extra_class_path=_tuple(extra_class_path),
            python_virtual_environment=parse_python_control(python_virtual_environment),
            extra_environment_vars=parse_environment(extra_environment_vars),
            init_timeout_seconds=init_timeout_seconds,
            auto_delete_timeout=auto_delete_timeout,
            admin_groups=_tuple(admin_groups),
            viewer_groups=_tuple(viewer_groups),
            restart_users=restart_users,
        )
        if changes.is_empty():
            raise InvalidArgumentError("nothing to change: give at least one field to modify")
        system = self.enterprise.get(system_name)
        query = await system.pq_modify(identifier, changes, self._read_script, restart)
        return results.PqModified(
            pq_id=pq_id,
            serial=query.serial,
            name=query.name,
            restarted=restart,
            message=f"PQ '{query.name}' modified successfully",
        )

    @overload
    async def pq_start(  # type: ignore[overload-overlap]  # a str is one name, not a list
        self,
        /,
        system_name: str,
        pq_identifier: str | int,
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqStarted: ...

    @overload
    async def pq_start(
        self,
        /,
        system_name: str,
        pq_identifier: Sequence[str | int],
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqBatch: ...

    async def pq_start(
        self,
        system_name: str,
        pq_identifier: PqIdentifiers,
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqStarted | results.PqBatch:
        """Start a persistent query; once RUNNING its ``session_id`` reads data.

        With ``wait``, until it is RUNNING (or COMPLETED); a terminal failure raises
        :class:`~deephaven_mcp.enterprise.EnterpriseOperationError` with the controller's
        exception text, and a wait that ends first raises
        :class:`~deephaven_mcp.errors.DeephavenTimeoutError` naming the state last reported.
        Given a list (up to 100), starts each, at most ``max_concurrent`` at once, and
        answers per query with :class:`PqBatch` (one query's error does not stop the rest).
        """
        system = self.enterprise.get(system_name)
        return await _pq_batch.act(
            system, results.PqStarted, pq_identifier, max_concurrent, wait, timeout_seconds
        )

    @overload
    async def pq_stop(  # type: ignore[overload-overlap]  # a str is one name, not a list
        self,
        /,
        system_name: str,
        pq_identifier: str | int,
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqStopped: ...

    @overload
    async def pq_stop(
        self,
        /,
        system_name: str,
        pq_identifier: Sequence[str | int],
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqBatch: ...

    async def pq_stop(
        self,
        system_name: str,
        pq_identifier: PqIdentifiers,
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqStopped | results.PqBatch:
        """Stop a running persistent query; its definition is kept.

        With ``wait``, until it is STOPPED (a query that is not running answers at once);
        outcomes and lists as for :meth:`pq_start`."""
        system = self.enterprise.get(system_name)
        return await _pq_batch.act(
            system, results.PqStopped, pq_identifier, max_concurrent, wait, timeout_seconds
        )

    @overload
    async def pq_restart(  # type: ignore[overload-overlap]  # a str is one name, not a list
        self,
        /,
        system_name: str,
        pq_identifier: str | int,
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqRestarted: ...

    @overload
    async def pq_restart(
        self,
        /,
        system_name: str,
        pq_identifier: Sequence[str | int],
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqBatch: ...

    async def pq_restart(
        self,
        system_name: str,
        pq_identifier: PqIdentifiers,
        wait: bool = True,
        timeout_seconds: int = 120,
        max_concurrent: int = DEFAULT_PQ_CONCURRENCY,
    ) -> results.PqRestarted | results.PqBatch:
        """Restart a persistent query with its current configuration.

        With ``wait``, until a new run is RUNNING; outcomes and lists as for
        :meth:`pq_start`."""
        system = self.enterprise.get(system_name)
        return await _pq_batch.act(
            system, results.PqRestarted, pq_identifier, max_concurrent, wait, timeout_seconds
        )
