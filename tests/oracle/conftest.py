"""Fixtures and Hypothesis settings for the differential oracle.

The normal test run (CI) uses a few derandomized examples per property; more are one
environment variable away (see CONTRIBUTING.md, "Differential oracle"):

    DH_MCP_ORACLE_EXAMPLES=2000 uv run pytest --no-cov tests/oracle
    DH_MCP_ORACLE_SEED=12345 ...   # explore other examples than the fixed ones
    DH_MCP_ORACLE_SHRINK=1 ...     # shrink a failure to a minimal example (slow)
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from pydeephaven import Session

from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller, mcp_tools, session_config

SESSION_ID = "community:config:oracle"
_EXAMPLES = os.environ.get("DH_MCP_ORACLE_EXAMPLES")
_SEED = os.environ.get("DH_MCP_ORACLE_SEED")
# Shrinking a failure costs hundreds of worker round trips: off in the normal run (the
# failing example is printed whole), on in the long run or with DH_MCP_ORACLE_SHRINK=1.
_SHRINK = os.environ.get("DH_MCP_ORACLE_SHRINK", "1" if _EXAMPLES else "0") != "0"
# No "explain" phase: its line tracing makes every example several times slower.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if _SHRINK else [])

_F = TypeVar("_F", bound=Callable[..., Any])


def oracle_settings(ci_examples: int) -> Callable[[_F], _F]:
    """Hypothesis settings for one property: ``ci_examples`` tables in the normal run,
    ``DH_MCP_ORACLE_EXAMPLES`` when set; derandomized (a fixed seed per test) unless
    ``DH_MCP_ORACLE_SEED`` picks another seed."""
    chosen = settings(
        max_examples=int(_EXAMPLES) if _EXAMPLES else ci_examples,
        deadline=None,
        derandomize=_SEED is None,
        phases=_PHASES,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )

    def decorate(test: _F) -> _F:
        decorated = chosen(test)
        if _SEED is not None:
            decorated = hypothesis_seed(int(_SEED))(decorated)
        return decorated

    return decorate


@pytest.fixture(scope="package")
def pydh(dh_worker: RunningWorker) -> Iterator[Session]:
    """The session that publishes the generated tables and reads them back."""
    session = Session(host=dh_worker.host, port=dh_worker.port)
    yield session
    gc.collect()
    session.close()


@pytest.fixture(scope="package")
async def tools(
    dh_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ToolCaller]:
    config = {"community": {"sessions": {"oracle": session_config(dh_worker)}}}
    path = tmp_path_factory.mktemp("oracle") / "deephaven_mcp.json"
    async with mcp_tools(path, config, read_only=True, timeout=300) as caller:
        yield caller
