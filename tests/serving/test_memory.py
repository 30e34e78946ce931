"""After the allocator tuning, a freed large block leaves the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import sys
    from deephaven_mcp.serving.process import return_large_blocks_to_the_system

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    if sys.argv[1] == "tuned":
        return_large_blocks_to_the_system()
    big = bytearray(20 << 20)
    del big  # glibc now raises its threshold to 20 MB, and its trim threshold to 40 MB
    before = rss_mb()
    answers = [bytearray(8 << 20) for _ in range(3)]
    for answer in answers:
        answer[::4096] = b"x" * len(answer[::4096])
    del answers, answer
    print(rss_mb() - before)
    """
)


def _left_behind_mb(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tuning")
def test_freed_answers_are_returned_to_the_system() -> None:
    untuned = _left_behind_mb("default")
    if untuned < 8:
        pytest.skip(f"this allocator returns large blocks anyway ({untuned:.1f} MB kept)")
    assert _left_behind_mb("tuned") < 4
