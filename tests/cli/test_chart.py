"""``dh-mcp chart`` through the installed script: a PNG file, PNG bytes piped to stdout,
and a one-line refusal. The PNGs are also saved under ``$DH_MCP_TEST_ARTIFACTS/charts/``
when that variable is set."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests._workers import RunningWorker
from tests.cli._cli import DH_MCP, TIMEOUT, environment, run

pytestmark = pytest.mark.integration

SESSION = "community:config:local"


@pytest.fixture(scope="module")
def home(dh_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-chart")
    config = {
        "community": {"sessions": {"local": {"host": dh_worker.host, "port": dh_worker.port}}}
    }
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return path


def keep(path: Path, name: str) -> None:
    root = os.environ.get("DH_MCP_TEST_ARTIFACTS")
    if root:
        (Path(root) / "charts").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(root) / "charts" / name)


def test_chart_writes_a_png_file(home: Path) -> None:
    target = home / "out.png"
    ran = run(
        "chart",
        SESSION,
        "trades",
        "--kind",
        "scatter",
        "--x",
        "Price",
        "--y",
        "Size",
        "--where",
        "Sym",
        "eq",
        "AAPL",
        "--width",
        "500",
        "--height",
        "300",
        "-o",
        str(target),
        "--config",
        str(home / "config.json"),
        cwd=home,
    )
    assert ran.code == 0, ran.err
    assert "Scatter chart of 'Size' against 'Price' from table 'trades'" in ran.out
    with Image.open(target) as image:
        assert image.format == "PNG" and image.size == (500, 300)
    keep(target, "cli-scatter.png")


def test_chart_to_stdout_when_piped(home: Path) -> None:
    done = subprocess.run(
        [
            DH_MCP,
            "chart",
            SESSION,
            "trades",
            "--kind",
            "histogram",
            "--x",
            "Price",
            "-o",
            "-",
            "--config",
            str(home / "config.json"),
        ],
        capture_output=True,
        cwd=home,
        env=environment(),
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    image = Image.open(io.BytesIO(done.stdout))
    assert image.format == "PNG" and image.size == (800, 500)
    assert b"Histogram of 'Price'" in done.stderr
    (home / "piped.png").write_bytes(done.stdout)
    keep(home / "piped.png", "cli-histogram.png")


def test_a_bad_column_is_one_line_and_exit_2(home: Path) -> None:
    ran = run(
        "chart",
        SESSION,
        "trades",
        "--kind",
        "line",
        "--x",
        "Nope",
        "--y",
        "Size",
        "-o",
        str(home / "never.png"),
        "--config",
        str(home / "config.json"),
        cwd=home,
    )
    assert ran.code == 2 and len(ran.err.splitlines()) == 1, ran.err
    assert ran.err.startswith("dh-mcp: error: column 'Nope' is not in table 'trades'")
    assert not (home / "never.png").exists()
