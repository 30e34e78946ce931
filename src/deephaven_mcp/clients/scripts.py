"""Run an agent's script and report what it printed, which tables it changed, and where it
failed (blocking; run through :func:`deephaven_mcp.runtime.blocking.call_blocking`).

Python sessions: the script is wrapped by :data:`RUNNER_SOURCE`, which runs inside the worker.
It executes the code with the session's globals (so semantics are unchanged), captures what
the script's own thread writes to ``sys.stdout`` / ``sys.stderr`` (bounded inside the worker),
diffs the global tables by object identity before and after, and reports an error with the
line number in the user's code; a failed script reports what it printed and changed up to the
failure too (:class:`~deephaven_mcp.errors.ScriptFailedError`). Its answer travels back as one
JSON cell of a temporary table under a random name (prefix ``__dh_mcp_script_result_``),
which is fetched at once. The engine runs one script at a time per worker
(``AbstractScriptSession.evaluateScript`` is ``synchronized``), so two runners never overlap on
one worker; the redirection is still context-local (a ``ContextVar``), so output of other
threads during the script (listeners, threads the script starts) is not captured and nothing
stays redirected afterwards.

Deleting the temporary variable takes another script, which the engine queues behind any
script other callers sent meanwhile. So the answer does not wait for it: the deletion runs in
the background (:func:`forget_later`), at most one thread per session, which removes every
name queued for that session in one script and ends when none is left. Until then the name
exists, but no listing shows it (:func:`deephaven_mcp.clients.community.is_internal_name`),
and the runner leaves such names out of its change report.

Groovy sessions: output goes to the worker's shared log, which mixes every session's output,
so stdout/stderr are not captured (None). Table changes come from the engine's own
identity-based change set in the ExecuteCommand response, classified against a listing taken
just before the run; a failed Groovy script reports the engine's error line with the changes
the engine reported for it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp.clients.analysis import deephaven_type
from deephaven_mcp.clients.community import (
    INTERNAL_NAME_PREFIXES,
    is_internal_name,
    list_tables,
    release,
)
from deephaven_mcp.clients.errors import (
    MAX_LINE_LENGTH,
    clip,
    describe_error,
    grpc_status,
    summarize_script_error,
)
from deephaven_mcp.clients.leases import leased
from deephaven_mcp.errors import InvalidArgumentError, ScriptFailedError, SessionUnavailableError
from deephaven_mcp.runtime.blocking import run_in_background

_log = logging.getLogger(__name__)

#: UTF-8 bytes kept of stdout and of stderr each; the rest is counted, not returned.
CAPTURE_LIMIT_BYTES: Final = 64 * 1024
#: Table changes listed per run; further ones only set ``tables_truncated``.
MAX_TABLE_CHANGES: Final = 100
_RESULT_PREFIX: Final = INTERNAL_NAME_PREFIXES[0]
#: Seconds a queued clean-up may wait for its thread before it is scheduled again (every
#: background thread was busy, so it never started).
CLEANUP_START_GRACE: Final = 30.0
_CHANGE_ORDER: Final = {"created": 0, "replaced": 1, "removed": 2}

Change = Literal["created", "replaced", "removed"]


@dataclass(frozen=True)
class CapturedText:
    """Captured output cut to the byte limit, and how many UTF-8 bytes were cut off."""

    text: str
    dropped_bytes: int = 0

    @property
    def truncated(self) -> bool:
        """Whether anything was cut off."""
        return self.dropped_bytes > 0


@dataclass(frozen=True)
class ScriptOutcome:
    """What a successful run reports; ``stdout``/``stderr`` are None when not capturable."""

    stdout: CapturedText | None
    stderr: CapturedText | None
    tables: list[dict[str, Any]]
    tables_truncated: bool


def bound_utf8(text: str, limit: int = CAPTURE_LIMIT_BYTES) -> CapturedText:
    """The longest prefix of ``text`` within ``limit`` UTF-8 bytes, never splitting a character."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return CapturedText(text)
    kept = data[:limit].decode("utf-8", "ignore")
    return CapturedText(kept, len(data) - len(kept.encode("utf-8")))


def classify_changes(
    existed_before: Iterable[str],
    changed: Iterable[str],
    removed: Iterable[str],
    limit: int = MAX_TABLE_CHANGES,
) -> tuple[list[tuple[str, Change]], bool]:
    """(name, change) pairs, created first, then replaced, then removed, each by name; and
    whether the list was cut at ``limit``.

    ``changed`` names tables that are new or different objects after the run; the ones that
    existed before were replaced. A name both changed and removed counts as changed.
    """
    before = set(existed_before)
    changed_set = set(changed)
    pairs: list[tuple[str, Change]] = [
        (name, "replaced" if name in before else "created")
        for name in changed_set
        if not is_internal_name(name)
    ]
    pairs += [
        (name, "removed") for name in set(removed) - changed_set if not is_internal_name(name)
    ]
    pairs.sort(key=lambda pair: (_CHANGE_ORDER[pair[1]], pair[0]))
    return pairs[:limit], len(pairs) > limit


def format_script_error(error_type: str, message: str, line: int | None) -> str:
    """'script failed: NameError: name 'x' is not defined (line 3)', without engine frames."""
    text = summarize_script_error(message) if message else ""
    if text == "the script failed":
        text = ""
    summary = f"{error_type}: {text}" if text and not text.startswith(error_type) else text
    summary = clip(summary or error_type, MAX_LINE_LENGTH)
    return f"script failed: {summary}" + (f" (line {line})" if line is not None else "")


def summarize_engine_error(text: str) -> str:
    """A script error reported by the engine itself (Groovy, or a Python SystemExit)."""
    groovy = re.search(r"Error encountered at line (\d+): [^\n]*", text)
    caused = re.findall(r"caused by ([\w.$]+(?:Exception|Error)): ([^\n]*)", text)
    if groovy and caused:
        kind, message = caused[-1]
        return format_script_error(kind.rsplit(".", 1)[-1], message, int(groovy.group(1)))
    return f"script failed: {summarize_script_error(text)}"


# -- what runs inside a Python worker -------------------------------------------------------

#: Executed in a fresh namespace (never the session's globals) with ``_dh_mcp_args`` bound to
#: (session globals, user code, result variable name, byte limit, table limit, prefixes of
#: names left out of the change report, earlier result variables to delete first).
RUNNER_SOURCE: Final = r'''
import contextvars
import json
import sys
import traceback

USER_FILENAME = "<script>"
HIDDEN = ()


class _Sink:
    """The first `limit` UTF-8 bytes written; the rest is only counted."""

    def __init__(self, limit):
        self.limit = limit
        self.kept = bytearray()
        self.total = 0

    def add(self, text):
        data = str(text).encode("utf-8", "replace")
        self.total += len(data)
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += data[:room]

    def result(self):
        text = bytes(self.kept).decode("utf-8", "ignore")
        return text, self.total - len(text.encode("utf-8"))


class _Router:
    """Stands in for a standard stream: writes from the capturing context are also kept in
    its sink; everything else passes straight through to the stream it replaced."""

    def __init__(self, target, slot):
        self._target = target
        self._slot = slot

    def write(self, text):
        written = self._target.write(text)
        sink = self._slot.get(None)
        if sink is not None:
            sink.add(text)
        return written

    def flush(self):
        return self._target.flush()

    def __getattr__(self, name):
        return getattr(self._target, name)


def _tables(scope):
    from deephaven.table import Table

    return {
        name: value
        for name, value in list(scope.items())
        if isinstance(value, Table) and not name.startswith(HIDDEN)
    }


def _same(old, new):
    if old is new:
        return True
    old_j, new_j = getattr(old, "j_table", None), getattr(new, "j_table", None)
    return old_j is not None and new_j is not None and bool(old_j.equals(new_j))


def _describe(table):
    return {
        "row_count": int(table.size),
        "columns": [{"name": c.name, "type": str(c.data_type)} for c in table.columns],
        "is_refreshing": bool(table.is_refreshing),
    }


def _error(exc):
    line = None
    if isinstance(exc, SyntaxError) and exc.filename == USER_FILENAME:
        line = exc.lineno
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == USER_FILENAME:
            line = lineno
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    lines = [part.strip() for part in str(message).splitlines() if part.strip()]
    return {"type": type(exc).__name__, "message": lines[0][:2000] if lines else "", "line": line}


def capture_run(scope, code, limit):
    """Run `code` in `scope`, capturing this context's stdout/stderr; never raises."""
    out_slot = contextvars.ContextVar("dh_mcp_stdout")
    err_slot = contextvars.ContextVar("dh_mcp_stderr")
    out, err = _Sink(limit), _Sink(limit)
    old_out, old_err = sys.stdout, sys.stderr
    out_router, err_router = _Router(old_out, out_slot), _Router(old_err, err_slot)
    error = None
    out_token, err_token = out_slot.set(out), err_slot.set(err)
    sys.stdout, sys.stderr = out_router, err_router
    try:
        exec(compile(code, USER_FILENAME, "exec", dont_inherit=True), scope)
    except (Exception, SystemExit) as exc:
        error = _error(exc)
    finally:
        # Only undo our own change: a script that replaced a stream keeps its choice.
        if sys.stdout is out_router:
            sys.stdout = old_out
        if sys.stderr is err_router:
            sys.stderr = old_err
        out_slot.reset(out_token)
        err_slot.reset(err_token)
    stdout, stdout_dropped = out.result()
    stderr, stderr_dropped = err.result()
    return {
        "stdout": stdout,
        "stdout_dropped_bytes": stdout_dropped,
        "stderr": stderr,
        "stderr_dropped_bytes": stderr_dropped,
        "error": error,
    }


def table_changes(before, after, max_tables):
    changed = sorted(n for n, t in after.items() if n not in before or not _same(before[n], t))
    created = [n for n in changed if n not in before]
    replaced = [n for n in changed if n in before]
    removed = sorted(n for n in before if n not in after)
    entries = [(n, "created") for n in created] + [(n, "replaced") for n in replaced]
    entries += [(n, "removed") for n in removed]
    listed = []
    for name, change in entries[:max_tables]:
        entry = {"name": name, "change": change}
        if change != "removed":
            entry.update(_describe(after[name]))
        listed.append(entry)
    return listed, len(entries) > max_tables


def main(scope, code, result_name, limit, max_tables, hidden, forget):
    global HIDDEN
    HIDDEN = tuple(hidden)
    for name in forget:
        scope.pop(name, None)
    before = _tables(scope)
    result = capture_run(scope, code, limit)
    # On error too: what the script changed before it failed stays changed.
    result["tables"], result["tables_truncated"] = table_changes(before, _tables(scope), max_tables)
    from deephaven import new_table
    from deephaven.column import string_col

    scope[result_name] = new_table([string_col("result", [json.dumps(result)])])


main(*_dh_mcp_args)
'''


def wrap_python(code: str, result_name: str, forget: Iterable[str] = ()) -> str:
    """The one statement sent to the worker: it deletes the ``forget`` variables (earlier
    results still waiting for their clean-up) and leaves only ``result_name`` in the globals."""
    args = (
        f"(globals(), {code!r}, {result_name!r}, {CAPTURE_LIMIT_BYTES}, {MAX_TABLE_CHANGES}, "
        f"{INTERNAL_NAME_PREFIXES!r}, {tuple(forget)!r})"
    )
    return (
        f"exec(compile({RUNNER_SOURCE!r}, '<deephaven-mcp runner>', 'exec', dont_inherit=True), "
        f"{{'__name__': '_dh_mcp_runner', '_dh_mcp_args': {args}}})\n"
    )


# -- talking to the worker ------------------------------------------------------------------


def _execute(session: Session, code: str) -> Any:
    """ExecuteCommand; the response carries the engine's error text and change set."""
    try:
        return session.console_service.run_script(code)
    except Exception as exc:
        raise SessionUnavailableError(f"cannot run the script: {describe_error(exc)}") from exc


def _engine_error(response: Any, *, wrapped: bool) -> str | None:
    """A failure the engine reported; in a wrapped run, its line numbers are the runner's."""
    if not response.error_message:
        return None
    _log.debug("script failed: %s", response.error_message)
    message = summarize_engine_error(response.error_message)
    if wrapped:
        message = re.sub(r"^script failed: line \d+: ", "script failed: ", message)
    return message


def run_script(session: Session, code: str, language: str) -> ScriptOutcome:
    """Run ``code`` once (never retried) in a Python or Groovy session and report on it."""
    if language.lower() == "groovy":
        return _run_groovy(session, code)
    return _run_python(session, code)


def _run_python(session: Session, code: str) -> ScriptOutcome:
    result_name = f"{_RESULT_PREFIX}{uuid.uuid4().hex}"
    # Earlier results of this session still waiting for their clean-up go first, so a script
    # never finds one in its globals.
    response = _execute(session, wrap_python(code, result_name, _waiting(session)))
    try:
        message = _engine_error(response, wrapped=True)
        if message is not None:
            raise InvalidArgumentError(message)
        result = _fetch_result(session, result_name)
    finally:
        # In the background: another caller's script may hold the engine for a long time.
        forget_later(session, result_name)
    return outcome_from_runner(result)


def outcome_from_runner(result: Mapping[str, Any]) -> ScriptOutcome:
    """Check the runner's answer and bound what it captured; a script error raises
    :class:`ScriptFailedError` carrying the output and table changes up to the failure."""
    streams = []
    for name in ("stdout", "stderr"):
        bounded = bound_utf8(str(result.get(name) or ""))
        dropped = int(result.get(f"{name}_dropped_bytes") or 0) + bounded.dropped_bytes
        streams.append(CapturedText(bounded.text, dropped))
    all_tables = list(result.get("tables") or [])
    tables = all_tables[:MAX_TABLE_CHANGES]
    truncated = bool(result.get("tables_truncated")) or len(all_tables) > len(tables)
    outcome = ScriptOutcome(streams[0], streams[1], tables, truncated)
    error = result.get("error")
    if error:
        message = format_script_error(str(error["type"]), str(error["message"]), error.get("line"))
        raise script_failed(message, outcome)
    return outcome


def script_failed(message: str, outcome: ScriptOutcome) -> ScriptFailedError:
    """The error for a failed run, carrying what it printed and changed."""
    stdout, stderr = outcome.stdout, outcome.stderr
    return ScriptFailedError(
        message,
        stdout=stdout.text if stdout else None,
        stdout_dropped_bytes=stdout.dropped_bytes if stdout else 0,
        stderr=stderr.text if stderr else None,
        stderr_dropped_bytes=stderr.dropped_bytes if stderr else 0,
        tables=outcome.tables,
        tables_truncated=outcome.tables_truncated,
    )


def _fetch_result(session: Session, name: str) -> dict[str, Any]:
    table: Table | None = None
    try:
        table = session.open_table(name)
        cell = table.to_arrow().column("result")[0].as_py()
    except Exception as exc:
        raise SessionUnavailableError(
            f"the script ran, but its output could not be read: {describe_error(exc)}"
        ) from exc
    finally:
        release(table)
    answer = json.loads(cell)
    if not isinstance(answer, dict):
        raise SessionUnavailableError("the script ran, but its output was unreadable")
    return answer


@dataclass
class _Cleanup:
    """Result variables of one session waiting to be deleted, and the state of its thread."""

    session: Session
    names: set[str]
    scheduled_at: float
    started: bool = False
    deleting: frozenset[str] = frozenset()  # taken by the thread, not yet confirmed gone


_cleanups_lock = threading.Lock()
_cleanups: dict[int, _Cleanup] = {}  # by id(session); an entry keeps its session alive


def forget_later(session: Session, name: str) -> None:
    """Queue ``name`` for deletion from the worker's globals without waiting for it.

    One background thread per session (under a lease, so the session is not closed under it)
    deletes everything queued, in one script per round, and ends when nothing is left.
    """
    with _cleanups_lock:
        job = _cleanups.get(id(session))
        if job is None:
            job = _cleanups[id(session)] = _Cleanup(session, {name}, time.monotonic())
        else:
            job.names.add(name)
            if job.started or time.monotonic() - job.scheduled_at < CLEANUP_START_GRACE:
                return  # its thread takes this name too
            job.scheduled_at = time.monotonic()  # that thread never started: try again
    run_in_background(lambda: _clean_up(job), "Removing script result variables")


def _waiting(session: Session) -> list[str]:
    """The session's result variables not yet known to be deleted."""
    with _cleanups_lock:
        job = _cleanups.get(id(session))
        return sorted(job.names | job.deleting) if job is not None else []


def pending_cleanups() -> int:
    """Sessions with result variables still waiting to be deleted (for tests and shutdown)."""
    with _cleanups_lock:
        return len(_cleanups)


def _clean_up(job: _Cleanup) -> None:
    with _cleanups_lock:
        if job.started:
            return
        job.started = True
    with leased(job.session):
        while True:
            with _cleanups_lock:
                job.deleting = frozenset(job.names)
                job.names.clear()
                if not job.deleting:
                    if _cleanups.get(id(job.session)) is job:
                        del _cleanups[id(job.session)]
                    return
            _forget(job.session, sorted(job.deleting))


def _forget(session: Session, names: list[str]) -> None:
    """Delete result variables; never fail over it (the listings hide them anyway)."""
    script = f"[globals().pop(_n, None) for _n in {tuple(names)!r}]"
    try:
        response = session.console_service.run_script(script)
        if response.error_message:
            raise RuntimeError(response.error_message)
    except Exception as exc:
        if grpc_status(exc) is None:
            _log.warning("could not remove helper variables %s: %s", names, describe_error(exc))
        else:
            _log.warning("could not remove helper variables %s (connection)", names)


def _run_groovy(session: Session, code: str) -> ScriptOutcome:
    existed = list_tables(session)
    response = _execute(session, code)
    message = _engine_error(response, wrapped=False)
    outcome = _engine_changes(session, existed, response)
    if message is not None:
        raise script_failed(message, outcome)
    return outcome


def _engine_changes(session: Session, existed: list[str], response: Any) -> ScriptOutcome:
    """The tables the engine says the script changed (it reports them on error too)."""
    changes = response.changes

    def tables_in(fields: Any) -> list[str]:
        return [f.field_name for f in fields if f.typed_ticket.type == "Table"]

    # The engine compares by object identity; a new console reports replacements as
    # "created", so the listing from before decides between created and replaced.
    pairs, truncated = classify_changes(
        existed, tables_in(changes.created) + tables_in(changes.updated), tables_in(changes.removed)
    )
    tables = [_groovy_entry(session, name, change) for name, change in pairs]
    return ScriptOutcome(None, None, tables, truncated)


def _groovy_entry(session: Session, name: str, change: Change) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "change": change}
    if change == "removed":
        return entry
    table: Table | None = None
    try:
        table = session.open_table(name)
        entry.update(row_count=int(table.size or 0), is_refreshing=bool(table.is_refreshing))
        fields = table.schema or []
        entry["columns"] = [{"name": field.name, "type": deephaven_type(field)} for field in fields]
    except Exception as exc:
        _log.debug("cannot describe table %s: %s", name, describe_error(exc))
    finally:
        release(table)
    return entry
