"""``dh-mcp pq``: the persistent queries of an Enterprise system, one API call a command."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from cyclopts import App, Group, Parameter

from deephaven_mcp.cli.app import NO_OPTIONS, Common, call_api, show_records, tool_fields
from deephaven_mcp.cli.output import Output

pq_app = App(name="pq", help="Persistent queries of an Enterprise system.")

PqIds = Annotated[tuple[str, ...], Parameter(help="Query names or serials (one or more).")]
NoWait = Annotated[
    bool, Parameter(negative="", help="Return once asked, without waiting for the new state.")
]
Timeout = Annotated[int, Parameter(help="Seconds to wait for the new state.")]

SETTINGS: Final = Group("Query settings", sort_key=10)
SCHEDULE: Final = Group("Schedule", sort_key=20)


@Parameter(name="*", group=SETTINGS)
@dataclass(frozen=True)
class QuerySettings:
    """The settings ``pq create`` and ``pq modify`` share, one flag each."""

    script: Annotated[
        str | None,
        Parameter(
            help="A local script file to send as the query's script, or - for stdin.",
            allow_leading_hyphen=True,
        ),
    ] = None
    script_path: Annotated[
        str | None,
        Parameter(
            help="A script file within security.script_path_roots, read by the API and sent "
            "as the query's script."
        ),
    ] = None
    language: Annotated[
        Literal["python", "groovy"] | None, Parameter(help="The script's language.")
    ] = None
    type: Annotated[
        str | None,
        Parameter(
            name="--type",
            help="Configuration type: Script (the default), RunAndDone, ...",
        ),
    ] = None
    server: Annotated[str | None, Parameter(help="The server to run on.")] = None
    engine: Annotated[str | None, Parameter(help="The worker kind (engine).")] = None
    jvm_profile: Annotated[str | None, Parameter(help="A JVM profile of the install.")] = None
    jvm_arg: Annotated[
        list[str] | None,
        Parameter(negative="", allow_leading_hyphen=True, help="An extra JVM argument; repeat."),
    ] = None
    class_path: Annotated[
        list[str] | None, Parameter(negative="", help="An extra class path entry; repeat.")
    ] = None
    env: Annotated[
        list[str] | None, Parameter(negative="", help="An environment variable NAME=VALUE; repeat.")
    ] = None
    python_venv: Annotated[
        str | None,
        Parameter(
            help="The query's Python environment: the controller's JSON object (pythonControl) "
            "as the API takes it, with keys such as ephemeral_venv and "
            "ephemeral_requirements; not a path."
        ),
    ] = None
    init_timeout: Annotated[
        float | None, Parameter(help="Seconds the query may take to initialize.")
    ] = None
    admin_group: Annotated[
        list[str] | None, Parameter(negative="", help="A group that administers it; repeat.")
    ] = None
    viewer_group: Annotated[
        list[str] | None, Parameter(negative="", help="A group that may view it; repeat.")
    ] = None
    restart_users: Annotated[
        str | None,
        Parameter(help="Who may restart it: RU_ADMIN, RU_ADMIN_AND_VIEWERS, RU_VIEWERS_WHEN_DOWN."),
    ] = None
    enabled: Annotated[
        bool | None,
        Parameter(
            name="--enabled",
            negative="--disabled",
            help="Whether its schedule runs it (--disabled: only a start runs it).",
        ),
    ] = None

    def arguments(self, script_body: str | None) -> dict[str, Any]:
        """These settings as the keyword arguments of ``pq_create``/``pq_modify``; None
        where not given, so the API leaves them to the operator or the query."""
        return {
            "script_body": script_body,
            "script_path": self.script_path,
            "programming_language": self.language,
            "configuration_type": self.type,
            "enabled": self.enabled,
            "server": self.server,
            "engine": self.engine,
            "jvm_profile": self.jvm_profile,
            "extra_jvm_args": self.jvm_arg,
            "extra_class_path": self.class_path,
            "python_virtual_environment": self.python_venv,
            "extra_environment_vars": self.env,
            "init_timeout_seconds": self.init_timeout,
            "admin_groups": self.admin_group,
            "viewer_groups": self.viewer_group,
            "restart_users": self.restart_users,
        }


@Parameter(name="*", group=SCHEDULE)
@dataclass(frozen=True)
class ScheduleFlags:
    """A schedule as flags, so nobody writes its JSON."""

    schedule: Annotated[
        Literal["continuous", "daily", "temporary", "manual"] | None,
        Parameter(
            help="When it runs: continuous (kept running), daily (between --start-time and "
            "--stop-time), temporary (only when started; deleted later) or manual (only when "
            "started). The flags below set its fields."
        ),
    ] = None
    start_time: Annotated[
        str | None,
        Parameter(help="HH:MM:SS. daily: when it starts; continuous: its daily restart."),
    ] = None
    stop_time: Annotated[str | None, Parameter(help="HH:MM:SS; daily only.")] = None
    time_zone: Annotated[
        str | None, Parameter(help="IANA zone of the times (default America/New_York).")
    ] = None
    days: Annotated[
        list[str] | None,
        Parameter(negative="", help="daily: the days it runs, e.g. MON,TUE (default every day)."),
    ] = None
    business_days: Annotated[
        bool, Parameter(negative="", help="daily: only on business days (USNYSE calendar).")
    ] = False
    restart_daily: Annotated[
        bool, Parameter(negative="", help="continuous: restart every day at --start-time.")
    ] = False
    auto_delete_timeout: Annotated[
        int | None,
        Parameter(help="temporary: seconds after its last client leaves before it is deleted."),
    ] = None
    expiration_minutes: Annotated[
        int | None, Parameter(help="temporary: deleted this long after it is made.")
    ] = None

    def fields(self) -> dict[str, Any]:
        """The schedule fields given, by their API names."""
        from deephaven_mcp.cli import arguments

        days = arguments.split_names(self.days)
        given: dict[str, Any] = {
            "start_time": self.start_time,
            "stop_time": self.stop_time,
            "time_zone": self.time_zone,
            "days": None if days is None else [day.lower() for day in days],
            "business_days": True if self.business_days else None,
            "restart_daily": True if self.restart_daily else None,
            "auto_delete_timeout": self.auto_delete_timeout,
            "expiration_minutes": self.expiration_minutes,
        }
        return {name: value for name, value in given.items() if value is not None}

    def build(self, *, alone: frozenset[str] = frozenset()) -> dict[str, Any] | None:
        """The schedule the API takes, or None when --schedule is not given (the API
        checks that the fields fit the kind); only the fields in ``alone`` may be given
        without it."""
        fields = self.fields()
        if self.schedule is None:
            fields = {name: value for name, value in fields.items() if name not in alone}
            if fields:
                from deephaven_mcp.errors import InvalidArgumentError

                flags = ", ".join("--" + name.replace("_", "-") for name in fields)
                raise InvalidArgumentError(f"{flags}: give --schedule KIND with them")
            return None
        return {"type": self.schedule, **fields}


NO_SETTINGS: Final = QuerySettings()
NO_SCHEDULE: Final = ScheduleFlags()


async def _script_body(script: str | None) -> str | None:
    """--script's text: the local file, or standard input for ``-``."""
    if script is None:
        return None
    from deephaven_mcp.errors import InvalidArgumentError

    def read() -> str:
        return sys.stdin.read() if script == "-" else Path(script).read_text(encoding="utf-8")

    try:
        return await asyncio.to_thread(read)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {script}: {exc.strerror or exc}") from None


@pq_app.command(name="list")
async def pq_list(system: str, *, common: Common = NO_OPTIONS) -> int:
    """List the persistent queries of a system.

    Example: dh-mcp pq list prod
    """
    out = Output()
    result = await call_api(common, lambda s: s.pq_list(system), out)
    return show_records(out, result, result.pqs, system)


@pq_app.command(name="details")
async def pq_details(system: str, query: str, *, common: Common = NO_OPTIONS) -> int:
    """Show one persistent query's configuration, state and worker.

    Example: dh-mcp pq details prod my_query
    """
    out = Output()
    result = await call_api(common, lambda s: s.pq_details(system, query), out)
    out.answer(tool_fields(result), title=f"{system}:{query}")
    return 0


def _pq_outcome(out: Output, result: Any) -> int:
    """A single answer, or a batch's; exit 1 if any query failed."""
    dumped = tool_fields(result)
    if out.terminal and "results" in dumped:
        out.records(
            dumped["results"], title=f"{dumped['succeeded']} succeeded, {dumped['failed']} failed"
        )
    else:
        out.answer(dumped)
    return 1 if dumped.get("failed") else 0


def _one_or_many(queries: tuple[str, ...]) -> str | list[str]:
    if not queries:
        from deephaven_mcp.errors import InvalidArgumentError

        raise InvalidArgumentError("name at least one persistent query")
    return queries[0] if len(queries) == 1 else list(queries)


Queries = Annotated[str, Parameter(help="Query names or serials (one or more).")]


def _state_change(verb: Literal["start", "stop", "restart"], doing: str, doc: str) -> Any:
    """``pq start|stop|restart``: one command each, the same but for the API method."""

    async def command(
        system: str,
        *query: Queries,
        no_wait: NoWait = False,
        timeout: Timeout = 120,
        common: Common = NO_OPTIONS,
    ) -> int:
        out = Output()
        ids = _one_or_many(query)
        method = f"pq_{verb}"  # DeephavenSystems.pq_start / pq_stop / pq_restart
        result = await call_api(
            common, lambda s: getattr(s, method)(system, ids, not no_wait, timeout), out, doing
        )
        return _pq_outcome(out, result)

    command.__name__ = command.__qualname__ = f"pq_{verb}"
    command.__doc__ = f"{doc}\n\nExample: dh-mcp pq {verb} prod my_query\n"
    return pq_app.command(command, name=verb)


pq_start = _state_change(
    "start", "starting", "Start persistent queries (waits until RUNNING unless --no-wait)."
)
pq_stop = _state_change("stop", "stopping", "Stop persistent queries; their definitions stay.")
pq_restart = _state_change(
    "restart", "restarting", "Restart persistent queries (waits until RUNNING unless --no-wait)."
)


@pq_app.command(name="delete")
async def pq_delete(
    system: str,
    *query: Queries,
    common: Common = NO_OPTIONS,
) -> int:
    """Delete persistent queries permanently (stopped first if running).

    Example: dh-mcp pq delete prod old_query
    """
    out = Output()
    ids = _one_or_many(query)
    result = await call_api(common, lambda s: s.pq_delete(system, ids), out, "deleting")
    return _pq_outcome(out, result)


@pq_app.command(name="create")
async def pq_create(
    system: str,
    name: str,
    *,
    heap: Annotated[float, Parameter(help="Java heap size in GB (required).")],
    owner: Annotated[str | None, Parameter(help="The query's owner.", group=SETTINGS)] = None,
    settings: QuerySettings = NO_SETTINGS,
    schedule: ScheduleFlags = NO_SCHEDULE,
    common: Common = NO_OPTIONS,
) -> int:
    """Create a persistent query that runs a script (--script or --script-path) on a
    schedule (continuous unless --schedule says otherwise).

    Settings not given come from the system's session_creation.defaults. Beyond the name,
    heap, language and server, the operator's agent_limits.agent_may_set must list a setting
    for it to be given here; otherwise the call is refused (exit 1).

    Example: dh-mcp pq create prod nightly_load --heap 4 --script load.py --schedule daily
    --start-time 08:00:00 --stop-time 18:00:00 --time-zone Europe/London --days MON,TUE
    """
    out = Output()
    plan = schedule.build()
    given = settings.arguments(await _script_body(settings.script))
    result = await call_api(
        common,
        lambda s: s.pq_create(system, name, heap, schedule=plan, owner=owner, **given),
        out,
        "creating",
    )
    out.answer(tool_fields(result), title=f"{system}:{name}")
    return 0


@pq_app.command(name="modify")
async def pq_modify(
    system: str,
    query: Annotated[str, Parameter(help="The query's name or serial.")],
    *,
    name: Annotated[str | None, Parameter(help="A new name.", group=SETTINGS)] = None,
    heap: Annotated[float | None, Parameter(help="Java heap size in GB.", group=SETTINGS)] = None,
    restart: Annotated[
        bool, Parameter(negative="", help="Restart it so the changes take effect now.")
    ] = False,
    settings: QuerySettings = NO_SETTINGS,
    schedule: ScheduleFlags = NO_SCHEDULE,
    common: Common = NO_OPTIONS,
) -> int:
    """Change the given settings of a persistent query (the rest stay as they are).

    --schedule replaces the schedule; --auto-delete-timeout alone changes a temporary
    query's. Beyond the name, heap, language and server, the operator's
    agent_limits.agent_may_set must list a setting for it to be changed here; otherwise the
    call is refused (exit 1).

    Example: dh-mcp pq modify prod nightly_load --heap 8 --script load.py --restart
    """
    out = Output()
    plan = schedule.build(alone=frozenset({"auto_delete_timeout"}))
    alone = schedule.auto_delete_timeout if plan is None else None
    given = settings.arguments(await _script_body(settings.script))
    result = await call_api(
        common,
        lambda s: s.pq_modify(
            f"enterprise:{system}:{query}",
            restart,
            pq_name=name,
            heap_size_gb=heap,
            schedule=plan,
            auto_delete_timeout=alone,
            **given,
        ),
        out,
        "modifying",
    )
    out.answer(tool_fields(result), title=f"{system}:{query}")
    return 0
