"""The sessions_list filters (type, system, source): pure checks, no Java."""

from __future__ import annotations

from typing import Any

import pytest

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.systems._session_filter import SessionFilter, source_of

CONFIGURED = {"session_id": "community:config:a", "type": "community", "source": "config"}
LAUNCHED = {"session_id": "community:dynamic:b", "type": "community", "source": "dynamic"}
WORKER = {
    "session_id": "enterprise:prod:w",
    "type": "enterprise",
    "source": "prod",
    "kind": "worker",
}
QUERY = {
    "session_id": "enterprise:prod:q",
    "type": "enterprise",
    "source": "prod",
    "kind": "persistent_query",
}
ELSEWHERE = {**QUERY, "session_id": "enterprise:test:q", "source": "test"}
ALL = [CONFIGURED, LAUNCHED, WORKER, QUERY, ELSEWHERE]


def _names(wanted: SessionFilter) -> list[str]:
    return [str(s["session_id"]) for s in ALL if wanted.matches(s)]


def test_sources() -> None:
    assert [source_of(s) for s in ALL] == ["config", "dynamic", "dynamic", "pq", "pq"]


@pytest.mark.parametrize(
    ("filters", "expected", "community", "enterprise"),
    [
        ({}, [s["session_id"] for s in ALL], True, True),
        ({"type": "community"}, ["community:config:a", "community:dynamic:b"], True, False),
        (
            {"type": "enterprise"},
            ["enterprise:prod:w", "enterprise:prod:q", "enterprise:test:q"],
            False,
            True,
        ),
        ({"system": "prod"}, ["enterprise:prod:w", "enterprise:prod:q"], False, True),
        ({"source": "config"}, ["community:config:a"], True, False),
        ({"source": "dynamic"}, ["community:dynamic:b", "enterprise:prod:w"], True, True),
        ({"source": "pq"}, ["enterprise:prod:q", "enterprise:test:q"], False, True),
        ({"type": "community", "source": "dynamic"}, ["community:dynamic:b"], True, False),
        ({"system": "prod", "source": "pq"}, ["enterprise:prod:q"], False, True),
        (
            {"type": "enterprise", "system": "test", "source": "pq"},
            ["enterprise:test:q"],
            False,
            True,
        ),
    ],
)
def test_filters_combine(
    filters: dict[str, str], expected: list[str], community: bool, enterprise: bool
) -> None:
    wanted = SessionFilter.of(**filters)
    assert _names(wanted) == expected
    assert (wanted.community, wanted.enterprise) == (community, enterprise)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"type": "cloud"}, "type must be one of 'community', 'enterprise' (got 'cloud')"),
        ({"source": "static"}, "source must be one of 'config', 'dynamic', 'pq' (got 'static')"),
        ({"type": 1}, "type must be one of"),
        ({"system": ""}, "system must be the name of an enterprise system"),
        ({"system": 3}, "system must be the name of an enterprise system"),
        (
            {"type": "community", "system": "prod"},
            "type 'community' lists only community sessions and system 'prod' only "
            "enterprise ones: together they match nothing",
        ),
        ({"type": "community", "source": "pq"}, "type 'community' lists only community"),
        ({"type": "enterprise", "source": "config"}, "source 'config' only community"),
        ({"system": "prod", "source": "config"}, "system 'prod' lists only enterprise"),
    ],
)
def test_bad_filters_are_refused(filters: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        SessionFilter.of(**filters)
    assert message in str(error.value)
