"""session_table_chart through a real MCP client: the answer is the envelope (checked
against the advertised output schema) plus a PNG image and its description as text; the
tool is a read, so read-only mode keeps it.

The PNGs drawn here are saved under ``$DH_MCP_TEST_ARTIFACTS/charts/`` when that variable
is set (else under the test's ``tmp_path``).
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import jsonschema
import pytest
from mcp_types import ImageContent, TextContent
from PIL import Image

from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller, mcp_tools, session_config

ANON = "community:config:anon"
TABLE = "chart_tool_rise"
SETUP_TABLES = (TABLE,)
SETUP = f"""
from deephaven import empty_table
{TABLE} = empty_table(500).update(["X = i", "Y = Math.sqrt(i)", "G = i % 2 == 0 ? `even` : `odd`"])
"""


def saved(png: bytes, name: str, tmp_path: Path) -> Image.Image:
    root = os.environ.get("DH_MCP_TEST_ARTIFACTS")
    folder = (Path(root) if root else tmp_path) / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.png").write_bytes(png)
    return Image.open(io.BytesIO(png))


async def test_the_answer_holds_an_image_a_description_and_the_fields(
    tools: ToolCaller, tmp_path: Path
) -> None:
    arguments = {
        "session_id": ANON,
        "table_name": TABLE,
        "kind": "line",
        "x": "X",
        "y": "Y",
        "by": "G",
        "width": 600,
        "height": 300,
        "title": "sqrt",
    }
    result = await tools.client.call_tool_mcp("session_table_chart", arguments)
    assert not result.is_error
    fields = result.structured_content
    assert isinstance(fields, dict)
    schema = next(
        t.output_schema for t in await tools.client.list_tools() if t.name == "session_table_chart"
    )
    assert schema is not None
    jsonschema.validate(fields, schema)
    assert fields["success"] is True and fields["series"] == ["even", "odd"]
    assert (fields["points"], fields["total_rows"], fields["sampled"]) == (500, 500, False)
    assert "png" not in fields
    json_text, image, caption = result.content
    assert isinstance(json_text, TextContent) and '"success":true' in json_text.text
    assert isinstance(image, ImageContent) and image.mime_type == "image/png"
    picture = saved(base64.b64decode(image.data), "tool-line", tmp_path)
    assert picture.format == "PNG" and picture.size == (600, 300)
    assert isinstance(caption, TextContent) and caption.text == fields["description"]
    assert "500 points drawn out of 500 rows" in caption.text


async def test_a_refusal_is_the_failure_envelope_without_an_image(tools: ToolCaller) -> None:
    message = await tools.error(
        "session_table_chart", session_id=ANON, table_name=TABLE, kind="line", x="Nope", y="Y"
    )
    assert "column 'Nope' is not in table 'chart_tool_rise'; its columns are: X, Y, G" in message
    bad_kind = await tools.error(
        "session_table_chart", session_id=ANON, table_name=TABLE, kind="pie", x="X", y="Y"
    )
    assert "kind" in bad_kind
    too_wide = await tools.error(
        "session_table_chart",
        session_id=ANON,
        table_name=TABLE,
        kind="bar",
        x="X",
        y="Y",
        width=5000,
    )
    assert "width" in too_wide


async def test_listed_as_a_read_and_kept_in_read_only_mode(
    tools: ToolCaller,
    dh_worker: RunningWorker,
    tmp_path: Path,
) -> None:
    listed = {t.name: t for t in await tools.client.list_tools()}
    annotations = listed["session_table_chart"].annotations
    assert annotations is not None
    assert annotations.read_only_hint is True and annotations.destructive_hint is False
    config = {"community": {"sessions": {"anon": session_config(dh_worker)}}}
    async with mcp_tools(tmp_path / "ro.json", config, read_only=True, timeout=120) as read_only:
        names = {t.name for t in await read_only.client.list_tools()}
        assert "session_table_chart" in names and "session_script_run" not in names
        answer = await read_only.ok(
            "session_table_chart",
            session_id=ANON,
            table_name=TABLE,
            kind="histogram",
            x="Y",
            filters=[{"column": "G", "op": "eq", "value": "odd"}],
        )
        assert answer["total_rows"] == 250 and answer["y"] == []


@pytest.mark.parametrize("kind", ["scatter", "area", "bar"])
async def test_every_kind_answers_an_image(tools: ToolCaller, kind: str, tmp_path: Path) -> None:
    result = await tools.client.call_tool_mcp(
        "session_table_chart",
        {"session_id": ANON, "table_name": TABLE, "kind": kind, "x": "X", "y": ["Y"]},
    )
    images = [c for c in result.content if isinstance(c, ImageContent)]
    assert len(images) == 1
    assert saved(base64.b64decode(images[0].data), f"tool-{kind}", tmp_path).size == (800, 500)
