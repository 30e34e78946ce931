from __future__ import annotations

import pytest

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.resource_manager import SessionId


@pytest.mark.parametrize(
    "text",
    ["community:config:local", "community:dynamic:my-session", "enterprise:prod:My Query 1"],
)
def test_round_trip(text: str) -> None:
    assert str(SessionId.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ("local", "malformed"),
        ("community:local", "malformed"),
        ("community:elsewhere:x", "source 'config' or 'dynamic'"),
        ("cloud:a:b", "type must be"),
        ("community:config:bad name", "session names use"),
        ("community:config:zoë", "non-ASCII"),
        ("enterprise:prod:", "malformed"),
    ],
)
def test_rejects_malformed(text: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        SessionId.parse(text)
