"""``dh-mcp`` session and table commands in a subprocess against a real worker, piped (the
output parsed) and on a terminal (rich tables)."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests._workers import RunningWorker
from tests.cli._cli import DH_MCP, Ran, environment, run, run_here, run_in_terminal

pytestmark = pytest.mark.integration

SESSION = "community:config:local"


@pytest.fixture(scope="module")
def home(dh_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory whose config.json names the test worker ``local``."""
    path = tmp_path_factory.mktemp("cli")
    config = {
        "community": {"sessions": {"local": {"host": dh_worker.host, "port": dh_worker.port}}}
    }
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return path


def cli(home: Path, *args: str, stdin: str | None = None) -> Ran:
    """``dh-mcp`` in a subprocess, with the worker's config."""
    return run(*args, "--config", str(home / "config.json"), cwd=home, stdin=stdin)


@pytest.fixture
def here(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Ran]:
    """``dh-mcp`` in this process, with the worker's config (for variations of a command)."""

    def call(*args: str) -> Ran:
        config = ("--config", str(home / "config.json"))
        return run_here(*args, *config, cwd=home, capsys=capsys, monkeypatch=monkeypatch)

    return call


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_sessions_and_session_piped_are_json(home: Path) -> None:
    listed = cli(home, "sessions").json()
    assert listed == {
        "sessions": [
            {
                "session_id": SESSION,
                "type": "community",
                "source": "config",
                "session_name": "local",
            }
        ]
    }
    assert cli(home, "sessions", "--type", "enterprise").json() == {"sessions": []}
    details = cli(home, "session", SESSION, "--connect").json()["session"]
    assert details["session_id"] == SESSION and details["available"] is True
    assert details["programming_language"] == "python"
    assert details["deephaven_core_version"]


def test_tables_and_schema_piped(home: Path) -> None:
    names = cli(home, "tables", SESSION).json()
    assert {"trades", "quotes", "simple_numbers"} <= set(names["table_names"])
    assert names["count"] == len(names["table_names"]) and "is_complete" not in names
    schemas = cli(home, "schema", SESSION, "trades", "simple_people").json()
    assert [entry["table"] for entry in schemas["schemas"]] == ["trades", "simple_people"]
    trades = {row["Name"]: row["DataType"] for row in schemas["schemas"][0]["data"]}
    assert trades == {
        "Timestamp": "java.time.Instant",
        "Sym": "java.lang.String",
        "Price": "double",
        "Size": "int",
        "Exchange": "java.lang.String",
    }
    missing = cli(home, "schema", SESSION, "trades", "nope")
    assert missing.code == 1  # one table failed: said in the answer, and in the exit code
    assert [entry["success"] for entry in json.loads(missing.out)["schemas"]] == [True, False]


def test_read_shapes_on_the_worker_and_prints_csv(home: Path) -> None:
    ran = cli(
        home, "read", SESSION, "trades",
        "--where", "Price", "gt", "250", "--where", "Sym", "in", "NVDA,GOOG",
        "--sort", "-Size", "--sort", "Timestamp", "--columns", "Sym,Size", "--columns", "Price",
        "--max-rows", "5",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    read = rows(ran.out)
    assert len(read) == 5 and list(read[0]) == ["Sym", "Size", "Price"]
    assert all(row["Sym"] == "NVDA" and float(row["Price"]) > 250 for row in read)
    sizes = [int(row["Size"]) for row in read]
    assert sizes == sorted(sizes, reverse=True)


def test_read_null_tests_negative_values_tail_offset_and_formats(here: Callable[..., Ran]) -> None:
    everything = rows(here("read", SESSION, "simple_numbers", "--max-rows", "1000").out)
    ids = [row["Id"] for row in everything]
    tail = rows(here("read", SESSION, "simple_numbers", "--tail", "--max-rows", "2").out)
    assert [row["Id"] for row in tail] == ids[-2:]
    page = rows(here("read", SESSION, "simple_numbers", "--offset", "1", "--max-rows", "2").out)
    assert [row["Id"] for row in page] == ids[1:3]
    as_json = json.loads(
        here("read", SESSION, "simple_numbers", "--max-rows", "3", "--format", "json").out
    )
    assert [str(row["Id"]) for row in as_json] == ids[:3]
    markdown = here("read", SESSION, "simple_numbers", "--max-rows", "2", "--format", "markdown")
    assert markdown.out.startswith("|") and markdown.out.count("\n") == 4
    # is_null takes no value, so the next condition follows it directly; -1 is a value.
    nulls = here(
        "read", SESSION, "simple_people", "--where", "Age", "not_null", "Age", "gt", "-1",
        "--columns", "Age", "--format", "json", "--max-rows", "1000",
    )  # fmt: skip
    assert nulls.code == 0, nulls.err
    assert all(row["Age"] is not None for row in json.loads(nulls.out))


def test_summary_and_aggregate(home: Path, here: Callable[..., Ran]) -> None:
    summary = cli(
        home, "summary", SESSION, "trades", "--columns", "Sym,Price", "--top-k", "2"
    ).json()
    assert summary["row_count"] == 10_000 and summary["top_k"] == 2
    sym, price = summary["columns"]
    assert sym["name"] == "Sym" and sym["distinct_count"] == 5 and len(sym["top_values"]) == 2
    assert price["kind"] == "numeric" and 95 < price["min"] < price["max"] < 305
    filtered = here(
        "summary", SESSION, "trades", "--columns", "Sym", "--where", "Sym", "eq", "AAPL"
    )
    assert filtered.json()["row_count"] == 2000

    ran = cli(
        home, "aggregate", SESSION, "trades", "--by", "Sym", "--agg", "count",
        "--agg", "avg:Price:AvgPrice", "--sort", "-AvgPrice",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    groups = rows(ran.out)
    assert [row["Sym"] for row in groups] == ["NVDA", "AMZN", "GOOG", "MSFT", "AAPL"]
    assert all(row["Count"] == "2000" for row in groups)
    assert 295 < float(groups[0]["AvgPrice"]) < 305
    buckets = here(
        "aggregate", SESSION, "trades", "--by", "Timestamp:1h", "--agg", "count",
        "--format", "json",
    )  # fmt: skip
    assert sum(row["Count"] for row in json.loads(buckets.out)) == 10_000


def test_run_prints_what_the_script_did_and_fails_with_1(home: Path) -> None:
    script = home / "make.py"
    script.write_text(
        'print("made it")\nfrom deephaven import empty_table\ncli_made = empty_table(4).update(["X = i"])\n',
        encoding="utf-8",
    )
    ran = cli(home, "run", SESSION, str(script)).json()
    assert ran["stdout"] == "made it\n"
    assert [(t["name"], t["row_count"]) for t in ran["tables"]] == [("cli_made", 4)]
    assert rows(cli(home, "read", SESSION, "cli_made").out) == [{"X": str(i)} for i in range(4)]

    failed = cli(home, "run", SESSION, "-", stdin='print("first")\n1/0\n')
    assert failed.code == 1
    assert failed.err.strip().splitlines() == [
        "dh-mcp: error: script failed: ZeroDivisionError: division by zero (line 2)"
    ]
    answer = json.loads(failed.out)
    assert answer["stdout"] == "first\n" and "ZeroDivisionError" in answer["error"]


def test_terminal_output_is_rich(home: Path) -> None:
    config = ("--config", str(home / "config.json"))
    read = run_in_terminal("read", SESSION, "trades", "--max-rows", "3", *config, cwd=home)
    assert read.code == 0, read.err
    assert "┃" in read.out and "Timestamp" in read.out and "AAPL" in read.out
    assert "3 of 10000 rows; next page: --offset 3" in read.err
    details = run_in_terminal("session", SESSION, *config, cwd=home)
    assert details.code == 0 and "╭" in details.out and "local" in details.out
    ran = run_in_terminal("run", SESSION, str(home / "make.py"), *config, cwd=home)
    assert ran.code == 0 and "made it" in ran.out and "tables changed" in ran.out
    # rich's own switch works too (TTY_COMPATIBLE=1), e.g. for a pager that keeps colors
    summary = run(
        "summary", SESSION, "trades", "--columns", "Sym", *config,
        cwd=home, env=environment(TTY_COMPATIBLE="1"),
    )  # fmt: skip
    assert summary.code == 0 and "distinct_count" in summary.out and "┃" in summary.out


def test_errors_are_one_line_with_exit_codes(home: Path, here: Callable[..., Ran]) -> None:
    unknown = cli(home, "tables", "community:config:nope")
    assert unknown.code == 1 and unknown.out == ""
    assert unknown.err.splitlines() == [
        "dh-mcp: error: session 'community:config:nope' not found; known sessions: "
        "community:config:local"
    ]
    refused = here("read", SESSION, "trades", "--where", "Price", "gt", "cheap")
    assert refused.code == 2 and len(refused.err.splitlines()) == 1
    assert "does not fit column 'Price'" in refused.err
    bad_op = here("read", SESSION, "trades", "--where", "Price", "above", "1")
    assert bad_op.code == 2 and "unknown op 'above'" in bad_op.err
    usage = run("read", "--max-rows", "x", cwd=home)
    assert usage.code == 2 and usage.err.startswith("dh-mcp: error: ")
    assert len(usage.err.splitlines()) == 1
    assert here("frobnicate").code == 2
    bad_config = home / "bad.json"
    bad_config.write_text("{not json", encoding="utf-8")
    for config in (str(bad_config), str(home / "missing.json")):
        ran = run("sessions", "--config", config, cwd=home)
        assert (
            ran.code == 2 and ran.err.startswith("dh-mcp: error: ") and "Traceback" not in ran.err
        )
        assert len(ran.err.splitlines()) == 1
    read_only = here("tables", SESSION, "--read-only")
    assert read_only.code == 0  # reading is allowed
    read_only = cli(home, "run", SESSION, "-", "--read-only", stdin="print(1)")
    assert read_only.code == 1 and "read-only" in read_only.err
    # The global options may come before the command too.
    config = str(home / "config.json")
    leading = run("--read-only", "--config", config, "run", SESSION, "-", cwd=home, stdin="1")
    assert leading.code == 1 and "read-only" in leading.err
    assert run("--config", config, "tables", SESSION, cwd=home).json()["count"] >= 7


def test_help_needs_no_config_and_dotenv_is_read(home: Path, tmp_path: Path) -> None:
    helped = run("--help", cwd=tmp_path)
    assert helped.code == 0 and "aggregate" in helped.out and "pq" in helped.out
    assert run("read", "--help", cwd=tmp_path).out.count("--where") >= 1
    (tmp_path / ".env").write_text(f"DH_MCP_CONFIG_FILE={home / 'config.json'}\n", encoding="utf-8")
    assert run("sessions", cwd=tmp_path).json()["sessions"][0]["session_id"] == SESSION


def test_completion_scripts(tmp_path: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        ran = run("completion", shell, cwd=tmp_path)
        assert ran.code == 0, ran.err
        assert all(word in ran.out for word in ("dh-mcp", "aggregate", "--where", "restart"))
    assert run("completion", "tcsh", cwd=tmp_path).code == 2
    # The bash script completes commands and options when bash calls it.
    script = tmp_path / "dh-mcp.bash"
    script.write_text(run("completion", "bash", cwd=tmp_path).out, encoding="utf-8")
    completed = subprocess.run(
        [
            "bash",
            "-c",
            f'source "{script}"; COMP_WORDS=(dh-mcp pq ""); COMP_CWORD=2; _dh_mcp; '
            'echo "${COMPREPLY[@]}"; COMP_WORDS=(dh-mcp read S T --wh); COMP_CWORD=4; '
            '_dh_mcp; echo "${COMPREPLY[@]}"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    pq_words, read_words = completed.stdout.splitlines()
    assert set(pq_words.split()) == {
        *("list", "details", "create", "modify"),
        *("start", "stop", "restart", "delete"),
    }
    assert read_words == "--where"
    # --install-completion writes the script and loads it from the shell's start-up file.
    installed = run(
        "--install-completion",
        cwd=tmp_path,
        env=environment(HOME=str(tmp_path), SHELL="/bin/bash"),
    )
    assert installed.code == 0, installed.err
    target = tmp_path / ".local/share/bash-completion/completions/dh-mcp"
    assert "_dh_mcp" in target.read_text(encoding="utf-8")
    assert str(target) in (tmp_path / ".bashrc").read_text(encoding="utf-8")


def test_ctrl_c_exits_130_without_a_traceback(home: Path) -> None:
    process = subprocess.Popen(
        [DH_MCP, "run", SESSION, "-", "--config", str(home / "config.json")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=home,
        env=environment(),
    )
    assert process.stdin is not None
    process.stdin.write("import time\ntime.sleep(4)\n")
    process.stdin.close()
    process.stdin = None  # written: communicate() only reads
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and out == ""
