"""Blocking operations on a pydeephaven ``Session``.

Every function here blocks and must be run through
:func:`deephaven_mcp.runtime.blocking.call_blocking`. Failures are raised as
:mod:`deephaven_mcp.errors` exceptions with short messages.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Final

import pyarrow as pa
from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp.clients.errors import describe_error, grpc_status, summarize_script_error
from deephaven_mcp.clients.finalizers import defer_pydeephaven_finalizers
from deephaven_mcp.clients.leases import leased
from deephaven_mcp.config.models import CommunityEndpoint, TlsFiles
from deephaven_mcp.errors import InvalidArgumentError, NotFoundError, SessionUnavailableError
from deephaven_mcp.runtime.blocking import run_in_background

_log = logging.getLogger(__name__)

# pydeephaven enters through this module (every client module imports it), so its
# finalizers are made safe before any of our sessions or tables exists.
defer_pydeephaven_finalizers()

MAX_NAMES_IN_MESSAGE: Final = 20
#: Prefixes of the temporary variables this package puts in a worker's globals (a script
#: run's answer, the pip listing); no listing ever shows them (:func:`is_internal_name`).
INTERNAL_NAME_PREFIXES: Final = ("__dh_mcp_script_result_", "_dh_mcp_pip_")
_TABLE_NAME: Final = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def open_session(endpoint: CommunityEndpoint, tls_files: TlsFiles | None = None) -> Session:
    """Connect to a worker; raise SessionUnavailableError with a short reason.

    The one place a Community session is opened (managed sessions and the launch readiness
    probe alike), so every session comes after the finalizers were made safe.
    """
    kwargs = endpoint.session_kwargs(tls_files)  # an unset token variable is not a connect error
    try:
        return Session(**kwargs)
    except Exception as exc:
        raise SessionUnavailableError(
            f"cannot connect to {endpoint.host}:{endpoint.port}: {describe_error(exc)}"
        ) from exc


def close_session(session: Session) -> None:
    """Close quietly: the worker may already be gone."""
    try:
        session.close()
    except Exception as exc:
        _log.debug("ignoring error while closing a session: %s", describe_error(exc))
        _abandon(session)


def _abandon(session: Session) -> None:
    """Finish what ``Session.close`` skips when its first step fails (the worker is gone).

    pydeephaven's close tells the worker first and only then closes the channel and clears
    ``is_connected``; when the worker is dead that first step raises, the session stays
    "connected", and its keep-alive timer later raises in its own thread once the token
    refreshes have failed. Clearing the flag stops the timer at its next tick (it checks the
    flag first); the channels are closed here. Uses pydeephaven's attributes as of 42.x: if
    they move, this degrades to the old behaviour (a log line), never to an error, and
    ``tests/test_dependency_contracts.py`` fails.
    """
    session.is_connected = False
    timer = getattr(session, "_keep_alive_timer", None)
    if timer is not None:
        timer.cancel()
    for channel in (
        getattr(session, "grpc_channel", None),
        getattr(session, "_flight_client", None),
    ):
        if channel is not None:
            try:
                channel.close()
            except Exception as exc:  # already broken: nothing more to release
                _log.debug("ignoring error while closing a channel: %s", describe_error(exc))


def probe(session: Session) -> bool:
    """A cheap round trip that fails when the worker restarted or went away."""
    try:
        session.config_service.get_configuration_constants()
    except Exception:
        return False
    return True


def server_constants(session: Session) -> dict[str, str]:
    """The worker's configuration constants (versions and the like)."""
    try:
        constants = session.config_service.get_configuration_constants()
    except Exception as exc:
        raise SessionUnavailableError(describe_error(exc)) from exc
    return {key: str(value.string_value) for key, value in constants.items()}


def is_internal_name(name: str) -> bool:
    """True for a temporary variable of this package, which no listing may show."""
    return name.startswith(INTERNAL_NAME_PREFIXES)


def list_tables(session: Session) -> list[str]:
    """Names of the tables in the session's global scope, without our temporary variables.

    Every listing (the tools, the resources, completions, a Groovy script's change report)
    goes through here.
    """
    try:
        names = list(session.tables)
    except Exception as exc:
        raise SessionUnavailableError(f"cannot list tables: {describe_error(exc)}") from exc
    return sorted(name for name in names if not is_internal_name(name))


def check_table_name(name: str) -> None:
    """Reject names no Deephaven variable can have, before any round trip."""
    if not name or not name.strip():
        raise InvalidArgumentError("table_name must not be empty")
    if not name.isascii():
        raise InvalidArgumentError(
            f"table name {name!r} contains non-ASCII characters; Deephaven clients can only "
            "address tables whose names are ASCII identifiers"
        )
    if not _TABLE_NAME.match(name):
        raise InvalidArgumentError(
            f"table name {name!r} is not a valid identifier (letters, digits, '_' and '$')"
        )


def _names_hint(names: list[str]) -> str:
    if not names:
        return "the session has no tables"
    shown = ", ".join(names[:MAX_NAMES_IN_MESSAGE])
    more = (
        f" and {len(names) - MAX_NAMES_IN_MESSAGE} more"
        if len(names) > MAX_NAMES_IN_MESSAGE
        else ""
    )
    return f"available: {shown}{more}"


def open_table(session: Session, name: str) -> Table:
    """Open a global table by name, with a helpful error when it does not exist."""
    check_table_name(name)
    try:
        return session.open_table(name)
    except Exception as exc:
        if grpc_status(exc) is not None and "not found" in describe_error(exc).lower():
            raise NotFoundError(
                f"table '{name}' not found; {_names_hint(list_tables(session))}"
            ) from exc
        raise SessionUnavailableError(f"cannot open table '{name}': {describe_error(exc)}") from exc


def release(*tables: Table | None) -> None:
    """Release server-side exports we created; never fail the caller over cleanup."""
    for table in tables:
        if table is not None:
            try:
                table.close()
            except Exception as exc:
                _log.debug("ignoring error releasing a table: %s", describe_error(exc))


def release_later(session: Session, *tables: Table | None) -> None:
    """Release exports in the background: the answer does not wait for those round trips.

    The job holds a lease on the session, so the session is not closed under it.
    """

    def job() -> None:
        with leased(session):
            release(*tables)

    run_in_background(job, "Releasing table exports")


def table_meta(session: Session, name: str) -> pa.Table:
    """Deephaven's full column metadata table (Name, DataType, IsPartitioning, ...)."""
    table = open_table(session, name)
    meta: Table | None = None
    try:
        meta = table.meta_table
        return meta.to_arrow()
    except Exception as exc:
        raise SessionUnavailableError(
            f"cannot read the schema of '{name}': {describe_error(exc)}"
        ) from exc
    finally:
        release(meta, table)


def run_script(session: Session, script: str) -> None:
    """Run a script; a script error becomes a one-line InvalidArgumentError."""
    try:
        session.run_script(script)
    except Exception as exc:
        status = grpc_status(exc)
        if status is None and "Error in" in str(exc):
            _log.debug("script failed", exc_info=exc)
            raise InvalidArgumentError(
                f"script failed: {summarize_script_error(str(exc))}"
            ) from exc
        raise SessionUnavailableError(f"cannot run the script: {describe_error(exc)}") from exc


_PIP_LIST_SCRIPT: Final = """
def _dh_mcp_pip_list():
    import importlib.metadata as _md
    from deephaven import new_table
    from deephaven.column import string_col
    pairs = {{((d.metadata["Name"] or "").strip(), d.version or "") for d in _md.distributions()}}
    pairs = sorted(p for p in pairs if p[0])
    return new_table([
        string_col("Package", [p[0] for p in pairs]),
        string_col("Version", [p[1] for p in pairs]),
    ])
{var} = _dh_mcp_pip_list()
del _dh_mcp_pip_list
"""


def pip_list(session: Session) -> list[dict[str, Any]]:
    """Installed Python packages of a Python worker, via a temporary variable we delete."""
    var = f"_dh_mcp_pip_{uuid.uuid4().hex}"
    run_script(session, _PIP_LIST_SCRIPT.format(var=var))
    table: Table | None = None
    try:
        table = open_table(session, var)
        rows = table.to_arrow().to_pylist()
    finally:
        release(table)
        try:
            session.run_script(f"del {var}")
        except Exception as exc:
            _log.warning("could not remove helper variable %s: %s", var, describe_error(exc))
    return [{"package": row["Package"], "version": row["Version"]} for row in rows]
