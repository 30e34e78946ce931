"""The pure parts of script runs: bounding output, classifying table changes, error lines,
and the in-worker runner's capture logic (exec'd here, in plain Python, without a worker)."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from deephaven_mcp.clients.community import is_internal_name
from deephaven_mcp.clients.scripts import (
    RUNNER_SOURCE,
    bound_utf8,
    classify_changes,
    format_script_error,
    outcome_from_runner,
    summarize_engine_error,
    wrap_python,
)
from deephaven_mcp.errors import InvalidArgumentError, ScriptFailedError


def test_bound_utf8_keeps_short_text_whole() -> None:
    captured = bound_utf8("hello", limit=5)
    assert (captured.text, captured.dropped_bytes, captured.truncated) == ("hello", 0, False)


def test_bound_utf8_never_splits_a_character_and_counts_exact_bytes() -> None:
    text = "é" * 10  # 20 bytes
    captured = bound_utf8(text, limit=7)
    assert captured.text == "ééé"  # 6 bytes; half an 'é' is not kept
    assert captured.dropped_bytes == 14 and captured.truncated


def test_classify_changes_orders_and_bounds() -> None:
    pairs, truncated = classify_changes(
        existed_before=["old", "gone"], changed=["new", "old"], removed=["gone"]
    )
    assert pairs == [("new", "created"), ("old", "replaced"), ("gone", "removed")]
    assert truncated is False
    pairs, truncated = classify_changes([], [f"t{i}" for i in range(5)], [], limit=3)
    assert [name for name, _ in pairs] == ["t0", "t1", "t2"] and truncated


def test_classify_changes_counts_a_name_changed_and_removed_as_changed() -> None:
    pairs, _ = classify_changes(["t"], ["t"], ["t"])
    assert pairs == [("t", "replaced")]


def test_format_script_error_keeps_type_message_and_line() -> None:
    assert format_script_error("NameError", "name 'x' is not defined", 3) == (
        "script failed: NameError: name 'x' is not defined (line 3)"
    )
    assert format_script_error("ValueError", "", None) == "script failed: ValueError"


def test_groovy_engine_errors_lose_java_frames() -> None:
    text = (
        "java.lang.RuntimeException: Error encountered at line 2: x = nosuch()\n"
        "\tat io.deephaven.engine.util.GroovyDeephavenSession.evaluate(X.java:356)\n"
        "caused by groovy.lang.MissingMethodException: No signature of method: nosuch()\n"
        "\tat org.codehaus.groovy.runtime.ScriptBytecodeAdapter.unwrap(Y.java:72)\n"
    )
    message = summarize_engine_error(text)
    assert message == (
        "script failed: MissingMethodException: No signature of method: nosuch() (line 2)"
    )


def test_runner_errors_are_raised_as_one_line() -> None:
    result: dict[str, Any] = {"error": {"type": "ZeroDivisionError", "message": "x", "line": 2}}
    with pytest.raises(InvalidArgumentError, match=r"ZeroDivisionError: x \(line 2\)$"):
        outcome_from_runner(result)


def test_runner_output_is_bounded_again_on_the_client() -> None:
    result = {
        "stdout": "a" * 70_000,
        "stdout_dropped_bytes": 5,
        "stderr": "",
        "stderr_dropped_bytes": 0,
        "error": None,
        "tables": [{"name": "t", "change": "removed"}],
        "tables_truncated": False,
    }
    outcome = outcome_from_runner(result)
    assert outcome.stdout is not None and outcome.stderr is not None
    assert len(outcome.stdout.text) == 64 * 1024
    assert outcome.stdout.dropped_bytes == 70_000 - 64 * 1024 + 5
    assert outcome.stderr.truncated is False and outcome.tables_truncated is False


def _runner() -> dict[str, Any]:
    """The runner's functions, defined without running ``main`` (which needs a worker)."""
    namespace: dict[str, Any] = {}
    exec(RUNNER_SOURCE.replace("main(*_dh_mcp_args)", ""), namespace)  # noqa: S102
    return namespace


def test_runner_captures_only_while_running_and_restores_streams() -> None:
    capture_run = _runner()["capture_run"]
    scope: dict[str, Any] = {}
    before = sys.stdout, sys.stderr
    code = (
        "import sys\n"
        "def later():\n"
        "    print('later')\n"
        "print('out')\n"
        "print('err', file=sys.stderr)\n"
    )
    result = capture_run(scope, code, 1024)
    assert (sys.stdout, sys.stderr) == before
    assert (result["stdout"], result["stderr"], result["error"]) == ("out\n", "err\n", None)
    assert set(scope) == {"__builtins__", "sys", "later"}  # the script's globals only
    buffer = io.StringIO()
    sys.stdout = buffer
    try:
        scope["later"]()  # a function the script defined prints normally afterwards
    finally:
        sys.stdout = before[0]
    assert buffer.getvalue() == "later\n"


def test_runner_bounds_output_in_the_worker() -> None:
    capture_run = _runner()["capture_run"]
    result = capture_run({}, "print('é' * 10, end='')", 7)
    assert (result["stdout"], result["stdout_dropped_bytes"]) == ("ééé", 14)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("a = 1\nb = nope\n", {"type": "NameError", "line": 2}),
        ("def f():\n    return 1 / 0\n\nf()\n", {"type": "ZeroDivisionError", "line": 2}),
        ("x = 1\ndef f(:\n", {"type": "SyntaxError", "line": 2}),
        ("import sys\nsys.exit(3)\n", {"type": "SystemExit", "line": 2}),
    ],
)
def test_runner_reports_the_users_line(code: str, expected: dict[str, Any]) -> None:
    error = _runner()["capture_run"]({}, code, 1024)["error"]
    assert {"type": error["type"], "line": error["line"]} == expected


def test_wrapped_script_is_one_statement_that_binds_nothing_else() -> None:
    wrapped = wrap_python("print('hi')", "__result")
    assert wrapped.count("\n") == 1 and wrapped.startswith("exec(compile(")
    compile(wrapped, "<string>", "exec")  # valid Python


def test_internal_names_never_appear_in_a_change_report() -> None:
    hidden = "__dh_mcp_script_result_ab12"
    assert is_internal_name(hidden) and is_internal_name("_dh_mcp_pip_x")
    assert not is_internal_name("dh_mcp_table") and not is_internal_name("__dh_mcp_other")
    pairs, truncated = classify_changes(["t"], [hidden, "t", "u"], [hidden + "0"])
    assert pairs == [("u", "created"), ("t", "replaced")] and truncated is False


def test_a_failed_run_keeps_its_output_and_tables() -> None:
    result: dict[str, Any] = {
        "stdout": "partial\n",
        "stdout_dropped_bytes": 0,
        "stderr": "x" * 70_000,
        "stderr_dropped_bytes": 3,
        "error": {"type": "RuntimeError", "message": "boom", "line": 3},
        "tables": [{"name": "t", "change": "created"}],
        "tables_truncated": True,
    }
    with pytest.raises(ScriptFailedError) as caught:
        outcome_from_runner(result)
    error = caught.value
    assert str(error) == "script failed: RuntimeError: boom (line 3)"
    assert error.details == {
        "stdout": "partial\n",
        "stdout_truncated": False,
        "stdout_dropped_bytes": 0,
        "stderr": "x" * 64 * 1024,
        "stderr_truncated": True,
        "stderr_dropped_bytes": 70_000 - 64 * 1024 + 3,
        "tables": [{"name": "t", "change": "created"}],
        "tables_truncated": True,
    }
