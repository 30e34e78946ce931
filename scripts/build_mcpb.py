#!/usr/bin/env python
"""Build dist/deephaven-mcp.mcpb: the systems server as a Claude Desktop extension (MCPB).

    uv run scripts/build_mcpb.py                 # writes dist/deephaven-mcp.mcpb
    uv run scripts/build_mcpb.py --out /tmp/x    # writes /tmp/x/deephaven-mcp.mcpb

How the bundle runs the server: it uses the MCPB ``uv`` server type (manifest 0.4). The
bundle holds this repository's pyproject.toml and uv.lock unchanged, README.md and LICENSE
(the package metadata names them), the package source under src/ and a launcher,
server/main.py. Claude Desktop runs
``uv run --directory <bundle> --frozen --no-dev server/main.py``: uv installs Python, the
package and exactly the locked versions of its runtime dependencies (not the dev group,
not the extras) into <bundle>/.venv on first start, and the launcher runs the
``dh-mcp-systems-server`` console script over stdio. The alternative, the ``python`` type
with every dependency in server/lib, would carry platform wheels (pyarrow, grpcio, numpy,
pydantic-core) built for the machine that packed it, about 400 MB installed (pyarrow alone
165 MB) against about 0.6 MB for this bundle, and MCPB's own README says compiled
dependencies cannot be bundled portably that way. The pyproject and lock are
copied unchanged because uv records the dependency groups in the lock: a trimmed pyproject
would no longer match it.

The tools list is the server's own tools/list (built in process with the default
configuration), so it cannot drift from the code. The manifest is checked with the pinned
``@anthropic-ai/mcpb`` validator in ops/mcpb (``cd ops/mcpb && npm ci`` installs it) before
the zip is written; the zip is deterministic (sorted entries, fixed timestamps), so the
same tree gives the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[1]
MCPB_DIR: Final = REPO / "ops" / "mcpb"
MCPB_CLI: Final = MCPB_DIR / "node_modules" / "@anthropic-ai" / "mcpb" / "dist" / "cli" / "cli.js"
BUNDLE_NAME: Final = "deephaven-mcp.mcpb"
MANIFEST_VERSION: Final = "0.4"  # the first with the "uv" server type
ENTRY_POINT: Final = "server/main.py"
# Files of the repository the bundle carries as they are (hatchling reads README and LICENSE).
PROJECT_FILES: Final = ("pyproject.toml", "uv.lock", "README.md", "LICENSE")
PACKAGE_DIR: Final = Path("src") / "deephaven_mcp"
ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: no build time leaks in

# What the installing user is asked for. Optional values default to "" because Claude
# Desktop leaves an unset ${user_config.x} in place literally, while the server treats a
# blank variable as unset.
USER_CONFIG: Final[dict[str, dict[str, Any]]] = {
    "config_file": {
        "type": "file",
        "title": "Configuration file",
        "description": "The deephaven-mcp JSON/JSON5 configuration (sessions, Enterprise "
        "systems, security). Without one the server starts with no configured sessions.",
        "required": False,
        "default": "",
    },
    "auth_token": {
        "type": "string",
        "title": "Community auth token",
        "description": "A Deephaven Community worker's token (e.g. a PSK), passed as "
        "DH_MCP_AUTH_TOKEN: name it in the configuration with "
        '"auth_token_env_var": "DH_MCP_AUTH_TOKEN".',
        "required": False,
        "sensitive": True,
        "default": "",
    },
    "enterprise_password": {
        "type": "string",
        "title": "Enterprise password",
        "description": "A Deephaven Enterprise password, passed as "
        "DH_MCP_ENTERPRISE_PASSWORD: name it in the configuration with "
        '"password_env_var": "DH_MCP_ENTERPRISE_PASSWORD".',
        "required": False,
        "sensitive": True,
        "default": "",
    },
}
ENV: Final = {
    "DH_MCP_CONFIG_FILE": "${user_config.config_file}",
    "DH_MCP_AUTH_TOKEN": "${user_config.auth_token}",
    "DH_MCP_ENTERPRISE_PASSWORD": "${user_config.enterprise_password}",
}
LONG_DESCRIPTION: Final = (
    "Lets Claude list, read, summarise and aggregate tables of Deephaven Community workers "
    "and Deephaven Enterprise (Core+) systems, run scripts in sessions, launch workers and "
    "manage persistent queries, within the limits the configuration file sets. Claude "
    "Desktop installs Python and the locked dependencies with uv on first start."
)


def first_paragraph(text: str | None) -> str:
    """A tool description's first paragraph on one line: what the manifest lists."""
    paragraph = (text or "").strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())


async def server_tools() -> list[dict[str, str]]:
    """Name and summary of every tool the systems server offers with the default configuration."""
    from fastmcp import Client

    from deephaven_mcp.config import McpConfig
    from deephaven_mcp.mcp_systems_server import build_systems_server

    async with Client(build_systems_server(config=McpConfig(), auth=None)) as client:
        tools = await client.list_tools()
    return [{"name": tool.name, "description": first_paragraph(tool.description)} for tool in tools]


def build_manifest(project: dict[str, Any], tools: list[dict[str, str]]) -> dict[str, Any]:
    """The manifest.json for ``project`` (the [project] table of pyproject.toml)."""
    from deephaven_mcp import __version__

    if __version__ != project["version"]:
        raise SystemExit(
            f"build_mcpb: the installed deephaven-mcp is {__version__} but pyproject.toml says "
            f"{project['version']}: run `uv sync` first"
        )
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": project["name"],
        "display_name": "Deephaven",
        "version": __version__,
        "description": project["description"],
        "long_description": LONG_DESCRIPTION,
        "author": {"name": project["authors"][0]["name"]},
        "license": project["license"],
        "keywords": ["deephaven", "real-time", "tables", "data", "analytics"],
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "uv",
                "args": [
                    "run",
                    "--directory",
                    "${__dirname}",
                    "--frozen",
                    "--no-dev",
                    "--quiet",
                    ENTRY_POINT,
                ],
                "env": dict(ENV),
            },
        },
        "tools": tools,
        "user_config": USER_CONFIG,
        "compatibility": {
            # The server is POSIX-only (process groups, signals, the worker sandbox).
            "platforms": ["darwin", "linux"],
            "runtimes": {"python": project["requires-python"]},
        },
    }


def package_files() -> Iterator[Path]:
    """The package's source files, relative to the repository: in a git checkout the files
    git tracks (work in progress that is not added stays out of the bundle), elsewhere every
    file but caches."""
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--", str(PACKAGE_DIR)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if tracked.returncode == 0 and tracked.stdout:
        names = sorted(name for name in tracked.stdout.decode().split("\0") if name)
        yield from (Path(name) for name in names if (REPO / name).is_file())
        return
    for path in sorted((REPO / PACKAGE_DIR).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path.relative_to(REPO)


def stage(directory: Path, manifest: dict[str, Any]) -> None:
    """Lay the bundle's files out in ``directory``."""
    for name in (*PROJECT_FILES, *map(str, package_files())):
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, target)
    (directory / "server").mkdir()
    shutil.copyfile(MCPB_DIR / ENTRY_POINT, directory / ENTRY_POINT)
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")


def validate(directory: Path) -> str:
    """Run the pinned official validator on ``directory``'s manifest; its output, or exit."""
    node = shutil.which("node")
    if node is None or not MCPB_CLI.is_file():
        raise SystemExit(
            "build_mcpb: the mcpb validator is missing: install Node.js 20+ and run "
            "`cd ops/mcpb && npm ci` (or pass --skip-validate)"
        )
    finished = subprocess.run(
        [node, str(MCPB_CLI), "validate", str(directory / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = (finished.stdout + finished.stderr).strip()
    if finished.returncode != 0:
        raise SystemExit(f"build_mcpb: mcpb validate rejected the manifest:\n{output}")
    return output


def write_zip(directory: Path, bundle: Path) -> None:
    """Zip ``directory`` into ``bundle`` with sorted entries and fixed times and modes."""
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, so the mode above is honoured
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def build(out: Path, *, check: bool = True) -> Path:
    """Write ``out/deephaven-mcp.mcpb`` and return its path."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    manifest = build_manifest(project, asyncio.run(server_tools()))
    out.mkdir(parents=True, exist_ok=True)
    bundle = out / BUNDLE_NAME
    with tempfile.TemporaryDirectory(prefix="mcpb-") as staging:
        stage(Path(staging), manifest)
        if check:
            print(validate(Path(staging)), file=sys.stderr)
        write_zip(Path(staging), bundle)
    return bundle


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=REPO / "dist", help="output directory (default dist/)"
    )
    parser.add_argument(
        "--skip-validate",
        action="store_true",
        help="do not run the mcpb validator (for machines without Node.js)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bundle = build(args.out, check=not args.skip_validate)
    print(f"{bundle} ({bundle.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
