"""The peer for side-by-side benchmarks: deephaven-mcp from PyPI in a throwaway venv."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

PEER_VERSION: Final = "1.1.4"


def peer_venv(version: str, root: Path) -> Path:
    """A venv under ``root`` with deephaven-mcp==``version`` from PyPI (uv); its bin directory."""
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed to install the peer (pip install uv)")
    venv = root / f"deephaven-mcp-{version}"
    subprocess.run(
        [uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=600
    )
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            f"deephaven-mcp=={version}",
        ],
        check=True,
        timeout=1200,
    )
    return venv / "bin"


def installed_version(bin_dir: Path, package: str) -> str:
    """The version of ``package`` in the venv whose bin directory is ``bin_dir``."""
    probe = f"import importlib.metadata as m; print(m.version({package!r}))"
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()
