"""Deephaven failures become one short line; tracebacks and Java frames stay out."""

from __future__ import annotations

from deephaven_mcp.clients.errors import summarize_script_error

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
