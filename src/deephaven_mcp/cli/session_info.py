"""``dh-mcp pip`` and ``dh-mcp credentials``: what a session's worker has, and how to reach it."""

from __future__ import annotations

import csv
import io
import json

from deephaven_mcp.cli.app import NO_OPTIONS, Common, Format, call_api, show_records, tool_fields
from deephaven_mcp.cli.output import Output, RowFormat

_PIP_COLUMNS = ("package", "version")


def _packages_text(packages: list[dict[str, str]], format: RowFormat) -> str:
    """The packages as ``--format`` names: csv, json (one object per package) or markdown."""
    if format == "json":
        return json.dumps(packages)
    if format == "markdown":
        lines = ["| package | version |", "| --- | --- |"]
        lines += [
            "| " + " | ".join(item[key].replace("|", "\\|") for key in _PIP_COLUMNS) + " |"
            for item in packages
        ]
        return "\n".join(lines)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=_PIP_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(packages)
    return text.getvalue()


async def pip(session_id: str, *, format: Format = None, common: Common = NO_OPTIONS) -> int:
    """List the Python packages installed in a session's worker.

    Piped, the answer is one JSON line unless --format asks for rows.

    Example: dh-mcp pip community:config:local --format csv
    """
    out = Output()
    result = await call_api(common, lambda s: s.session_pip_list(session_id), out)
    if format is not None:
        out.text(_packages_text(result.result, format))
        return 0
    return show_records(out, result, result.result, session_id)


async def credentials(session_id: str, *, common: Common = NO_OPTIONS) -> int:
    """Show a Community session's URL and auth token, to open it in a browser.

    Refused (exit 1) unless security.community.credential_retrieval_mode allows it for
    this kind of session. The token is printed on stdout only.

    Example: dh-mcp credentials community:config:local
    """
    out = Output()
    result = await call_api(common, lambda s: s.session_community_credentials(session_id), out)
    out.answer(tool_fields(result), title=session_id)
    return 0
