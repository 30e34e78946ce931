"""Run an agent's script and report what it printed, which tables it changed, and where it
failed (blocking; run through :func:`deephaven_mcp._blocking.call_blocking`).

Python sessions: the script is wrapped by :data:`RUNNER_SOURCE`, which runs inside the worker.
It executes the code with the session's globals (so semantics are unchanged), captures what
the script's own thread writes to ``sys.stdout`` / ``sys.stderr`` (bounded inside the worker),
diffs the global tables by object identity before and after, and reports an error with the
line number in the user's code. Its answer travels back as one JSON cell of a temporary table
under a random name, which is fetched and deleted at once. The engine runs one script at a
time per worker (``AbstractScriptSession.evaluateScript`` is ``synchronized``), so two runners
never overlap on one worker; the redirection is still context-local (a ``ContextVar``), so
output of other threads during the script (listeners, threads the script starts) is not
captured and nothing stays redirected afterwards.

Groovy sessions: output goes to the worker's shared log, which mixes every session's output,
so stdout/stderr are not captured (None). Table changes come from the engine's own
identity-based change set in the ExecuteCommand response, classified against a listing taken
just before the run.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp.clients.analysis import deephaven_type
from deephaven_mcp.clients.community import release
from deephaven_mcp.clients.errors import (
    MAX_LINE_LENGTH,
    clip,
    describe_error,
    grpc_status,
    summarize_script_error,
)
from deephaven_mcp.errors import InvalidArgumentError, SessionUnavailableError

_log = logging.getLogger(__name__)

#: UTF-8 bytes kept of stdout and of stderr each; the rest is counted, not returned.
CAPTURE_LIMIT_BYTES: Final = 64 * 1024
#: Table changes listed per run; further ones only set ``tables_truncated``.
MAX_TABLE_CHANGES: Final = 100
#: The file name the user's code is compiled under, so tracebacks point at its lines.
USER_FILENAME: Final = "<script>"
_RESULT_PREFIX: Final = "__dh_mcp_script_result_"
_CHANGE_ORDER: Final = {"created": 0, "replaced": 1, "removed": 2}

Change = Literal["created", "replaced", "removed"]


@dataclass(frozen=True)
class CapturedText:
    """Captured output cut to the byte limit, and how many UTF-8 bytes were cut off."""

    text: str
    dropped_bytes: int = 0

    @property
    def truncated(self) -> bool:
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
        (name, "replaced" if name in before else "created") for name in changed_set
    ]
    pairs += [(name, "removed") for name in set(removed) - changed_set]
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
#: (session globals, user code, result variable name, byte limit, table limit).
RUNNER_SOURCE: Final = r'''
import contextvars
import json
import sys
import traceback

USER_FILENAME = "<script>"


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

    return {name: value for name, value in list(scope.items()) if isinstance(value, Table)}


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


def main(scope, code, result_name, limit, max_tables):
    before = _tables(scope)
    result = capture_run(scope, code, limit)
    if result["error"] is None:
        after = _tables(scope)
        result["tables"], result["tables_truncated"] = table_changes(before, after, max_tables)
    from deephaven import new_table
    from deephaven.column import string_col

    scope[result_name] = new_table([string_col("result", [json.dumps(result)])])


main(*_dh_mcp_args)
'''


def wrap_python(code: str, result_name: str) -> str:
    """The one statement sent to the worker: it leaves only ``result_name`` in the globals."""
    args = f"(globals(), {code!r}, {result_name!r}, {CAPTURE_LIMIT_BYTES}, {MAX_TABLE_CHANGES})"
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


def _raise_engine_error(response: Any, *, wrapped: bool) -> None:
    """A failure the engine reported; in a wrapped run, its line numbers are the runner's."""
    if response.error_message:
        _log.debug("script failed: %s", response.error_message)
        message = summarize_engine_error(response.error_message)
        if wrapped:
            message = re.sub(r"^script failed: line \d+: ", "script failed: ", message)
        raise InvalidArgumentError(message)


def run_script(session: Session, code: str, language: str) -> ScriptOutcome:
    """Run ``code`` once (never retried) in a Python or Groovy session and report on it."""
    if language.lower() == "groovy":
        return _run_groovy(session, code)
    return _run_python(session, code)


def _run_python(session: Session, code: str) -> ScriptOutcome:
    result_name = f"{_RESULT_PREFIX}{uuid.uuid4().hex}"
    response = _execute(session, wrap_python(code, result_name))
    try:
        _raise_engine_error(response, wrapped=True)
        result = _fetch_result(session, result_name)
    finally:
        _forget(session, result_name)
    return outcome_from_runner(result)


def outcome_from_runner(result: Mapping[str, Any]) -> ScriptOutcome:
    """Check the runner's answer: raise its error, or bound and return what it captured."""
    error = result.get("error")
    if error:
        raise InvalidArgumentError(
            format_script_error(str(error["type"]), str(error["message"]), error.get("line"))
        )
    streams = []
    for name in ("stdout", "stderr"):
        bounded = bound_utf8(str(result[name]))
        dropped = int(result[f"{name}_dropped_bytes"]) + bounded.dropped_bytes
        streams.append(CapturedText(bounded.text, dropped))
    tables = list(result["tables"])[:MAX_TABLE_CHANGES]
    truncated = bool(result["tables_truncated"]) or len(result["tables"]) > len(tables)
    return ScriptOutcome(streams[0], streams[1], tables, truncated)


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


def _forget(session: Session, name: str) -> None:
    """Delete the runner's result variable; never fail the caller over it."""
    try:
        response = session.console_service.run_script(f"globals().pop({name!r}, None)")
        if response.error_message:
            raise RuntimeError(response.error_message)
    except Exception as exc:
        if grpc_status(exc) is None:
            _log.warning("could not remove helper variable %s: %s", name, describe_error(exc))
        else:
            _log.warning("could not remove helper variable %s (connection)", name)


def _run_groovy(session: Session, code: str) -> ScriptOutcome:
    try:
        existed = set(session.tables)
    except Exception as exc:
        raise SessionUnavailableError(f"cannot list tables: {describe_error(exc)}") from exc
    response = _execute(session, code)
    _raise_engine_error(response, wrapped=False)
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
