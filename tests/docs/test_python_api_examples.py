"""Every ```python block of docs/python_api.md runs, as a reader would run it.

Conventions of that page, relied on here:

* each ``python`` block is a complete program; it runs in its own ``python`` process with
  the working directory a fresh temporary directory (no ``.env`` to pick up);
* a ``text`` block that follows a ``python`` block (only prose between them) is exactly
  what that program prints on stdout;
* ``community:config:local`` is a real worker without tables, named by the configuration
  file ``DH_MCP_CONFIG_FILE`` points at; the demo worker is launched by the block itself;
* the documentation assistant's block has no shown output (a real model's answer varies):
  it runs against the local OpenAI-compatible fake standing in for Inkeep, and must print
  the fake's answer to the question it asked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._workers import RunningWorker, start_worker
from tests.mcp_docs_server.fake_openai import FakeChatServer
from tests.mcp_systems_server._helpers import session_config, write_config

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "python_api.md"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.S | re.M)
HEADING = re.compile(r"^#+ (?P<title>.+)$", re.M)
RUN_TIMEOUT = 300.0


@dataclass(frozen=True)
class Example:
    """One python block, where it is, and the output the page shows for it (if any)."""

    title: str
    line: int
    code: str
    expected: str | None

    @property
    def id(self) -> str:
        return f"line{self.line}-" + re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


def examples(text: str) -> list[Example]:
    """The page's python blocks in order, each paired with the text block after it."""
    found: list[Example] = []
    previous_lang = None
    for fence in FENCE.finditer(text):
        lang, body = fence["lang"], fence["body"]
        if lang == "python":
            headings = list(HEADING.finditer(text, 0, fence.start()))
            title = headings[-1]["title"] if headings else "top"
            line = text.count("\n", 0, fence.start()) + 1
            found.append(Example(title, line, body, None))
        elif lang == "text" and previous_lang == "python":
            last = found[-1]
            found[-1] = Example(last.title, last.line, last.code, body)
        previous_lang = lang
    return found


EXAMPLES = examples(DOCS.read_text(encoding="utf-8"))


def test_every_python_block_is_collected() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert len(EXAMPLES) == text.count("```python\n") >= 4
    without_output = [example.id for example in EXAMPLES if example.expected is None]
    # Only the assistant's answer cannot be shown; it is checked against the fake instead.
    assert [e.id for e in EXAMPLES if "docs_chat(" in e.code] == without_output


@pytest.fixture(scope="module")
def empty_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    """A worker without tables: the page's ``local`` session, left as the examples found it."""
    worker = start_worker(tmp_path_factory.mktemp("docs-worker"), table_group=None)
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def fake_inkeep() -> Iterator[FakeChatServer]:
    """Stands in for Inkeep, so the documentation assistant's example needs no key."""
    fake = FakeChatServer(name="inkeep").start()
    yield fake
    fake.stop()


@pytest.fixture
def reader_env(
    empty_worker: RunningWorker,
    fake_inkeep: FakeChatServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The environment a reader following the page would have."""
    config = write_config(
        tmp_path / "deephaven_mcp.json",
        {"community": {"sessions": {"local": session_config(empty_worker)}}},
    )
    monkeypatch.setenv("DH_MCP_CONFIG_FILE", config)
    monkeypatch.setenv("INKEEP_API_KEY", "ik-docs-example-3c9e1f")
    monkeypatch.setenv("INKEEP_BASE_URL", fake_inkeep.base_url)
    monkeypatch.setenv("DOCS_MAX_RETRIES", "0")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return dict(os.environ)


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_example_runs_and_prints_what_the_page_shows(
    example: Example, reader_env: dict[str, str], fake_inkeep: FakeChatServer, tmp_path: Path
) -> None:
    program = tmp_path / "example.py"
    program.write_text(example.code, encoding="utf-8")
    asked = len(fake_inkeep.requests)
    finished = subprocess.run(
        [sys.executable, str(program)],
        cwd=tmp_path,
        env=reader_env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    if example.expected is not None:
        assert finished.stdout == example.expected
    else:
        assert len(fake_inkeep.requests) == asked + 1, "the example did not ask the assistant"
        question = fake_inkeep.last.messages[-1]["content"]
        assert finished.stdout == f"[inkeep] {question}\n"
