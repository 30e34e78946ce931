"""Deephaven failures become one short line; tracebacks and Java frames stay out."""

from __future__ import annotations

import grpc

from deephaven_mcp.clients.errors import (
    causes,
    clip,
    exception_line,
    first_line,
    grpc_code,
    grpc_status,
    summarize_script_error,
)

JAVA_WRAPPED = (
    "could not run script: java.lang.RuntimeException: Error in Python interpreter:\n"
    "Traceback (most recent call last):\n"
    '  File "<string>", line 3, in <module>\n'
    "NameError: name 'undefined_name' is not defined\n\n"
    "\tat org.jpy.PyLib.executeCode(Native Method)\n"
    "\tat io.deephaven.engine.util.PythonEvaluatorJpy.evalScript(PythonEvaluatorJpy.java:73)\n"
)


def test_script_error_keeps_line_and_exception() -> None:
    assert summarize_script_error(JAVA_WRAPPED) == (
        "line 3: NameError: name 'undefined_name' is not defined"
    )


def test_syntax_error_drops_code_and_caret() -> None:
    text = (
        "could not run script: java.lang.RuntimeException: Error in Python interpreter:\n"
        '  File "<string>", line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax\n\n'
        "\tat org.jpy.PyLib.executeCode(Native Method)\n"
    )
    assert summarize_script_error(text) == "line 1: SyntaxError: invalid syntax"


def test_library_frames_are_dropped() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/site-packages/deephaven/table.py", line 1372, in update\n'
        "    return Table(j_table=self.j_table.update(*formulas))\n"
        "                         ^^^^^^^^^^^^^^^^^^\n"
        "RuntimeError: FormulaCompilationException: Formula compilation error for: nosuch(i)\n"
        "\tat io.deephaven.engine.table.impl.select.DhFormulaColumn.initDef(X.java:210)\n"
    )
    summary = summarize_script_error(text)
    assert (
        summary
        == "RuntimeError: FormulaCompilationException: Formula compilation error for: nosuch(i)"
    )


class Coded(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__("rpc failed")
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


def test_the_grpc_code_is_found_through_causes_and_contexts() -> None:
    rpc = Coded(grpc.StatusCode.UNAVAILABLE)
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = rpc  # raise ... from rpc
    outer = ValueError("while handling")
    outer.__context__ = wrapped  # raised while handling, without "from"
    assert causes(outer) == [outer, wrapped, rpc]
    assert grpc_status(outer) is grpc.StatusCode.UNAVAILABLE
    assert grpc_code(outer) is None and grpc_code(rpc) is grpc.StatusCode.UNAVAILABLE
    looped = RuntimeError("loop")
    looped.__cause__ = RuntimeError("back")
    looped.__cause__.__cause__ = looped
    assert grpc_status(looped) is None  # a cycle ends the walk


def test_exception_line_keeps_the_first_line_and_marks_a_cut() -> None:
    assert exception_line(RuntimeError("\n  first line\nsecond"), 50) == "first line"
    assert exception_line(KeyError(), 50) == "KeyError"
    assert exception_line(RuntimeError("x" * 30), 10) == "x" * 9 + "…"
    assert exception_line(RuntimeError("x" * 30), 10, mark="") == "x" * 10
    assert clip("short", 10) == "short" and first_line("   ") == ""
