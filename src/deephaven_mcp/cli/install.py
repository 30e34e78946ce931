"""``dh-mcp install <client>``: add the systems server to an MCP client's own configuration.

Each client keeps its MCP servers in a JSON file of its own (see docs/clients.md for the
locations and the entries written). The entry starts ``dh-mcp-systems-server`` over stdio
by absolute path, so the client needs no PATH or activated virtual environment; the
configuration file travels as ``DH_MCP_CONFIG_FILE``. Secrets never go into the client's
file: tokens and passwords stay in the environment or ``.env``, named by the config.

Writing is careful because the file is the user's: every other server and key is kept, an
existing file is copied to a backup first, the new text replaces the old atomically with
the old permissions (0600 for a new file), and a run that would change nothing writes
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import cyclopts
import json5
from cyclopts import Parameter
from rich.console import Console

from deephaven_mcp.config import CONFIG_ENV_VAR, load_config_file
from deephaven_mcp.errors import ConfigError

SERVER_SCRIPT: Final = "dh-mcp-systems-server"
DEFAULT_NAME: Final = "deephaven"
NEW_FILE_MODE: Final = 0o600
_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

Scope = Literal["user", "project"]

install_app = cyclopts.App(
    name="install",
    help="Add the Deephaven systems server (stdio) to an MCP client's configuration.",
)


class InstallError(Exception):
    """A problem that stops an install; ``exit_code`` 2 for a bad config, else 1."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Client:
    """Where one MCP client keeps its servers and how it spells an entry."""

    name: str
    servers_key: str
    typed: bool  # the entry carries "type": "stdio"
    user_file: Callable[[], Path]
    project_file: Callable[[], Path] | None

    def file(self, scope: Scope) -> Path:
        """The client's file for ``scope`` (``project`` is relative to the working directory)."""
        if scope == "project":
            if self.project_file is None:
                raise InstallError(f"{self.name} has no project scope; use --scope user", 2)
            return self.project_file()
        return self.user_file()


def _app_data(*parts: str) -> Path:
    """A per-user application directory: macOS Application Support, Windows %APPDATA%,
    elsewhere $XDG_CONFIG_HOME or ~/.config."""
    home = Path.home()
    if sys.platform == "darwin":
        return home.joinpath("Library", "Application Support", *parts)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming").joinpath(*parts)
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config").joinpath(*parts)


CLIENTS: Final = {
    "claude-desktop": Client(
        "Claude Desktop",
        "mcpServers",
        typed=False,
        user_file=lambda: _app_data("Claude", "claude_desktop_config.json"),
        project_file=None,
    ),
    "claude-code": Client(
        "Claude Code",
        "mcpServers",
        typed=True,
        user_file=lambda: Path.home() / ".claude.json",
        project_file=lambda: Path.cwd() / ".mcp.json",
    ),
    "cursor": Client(
        "Cursor",
        "mcpServers",
        typed=False,
        user_file=lambda: Path.home() / ".cursor" / "mcp.json",
        project_file=lambda: Path.cwd() / ".cursor" / "mcp.json",
    ),
    "vscode": Client(
        "VS Code",
        "servers",
        typed=True,
        user_file=lambda: _app_data("Code", "User", "mcp.json"),
        project_file=lambda: Path.cwd() / ".vscode" / "mcp.json",
    ),
}


def server_command() -> str:
    """Absolute path of the installed ``dh-mcp-systems-server``: the script next to this
    interpreter (a virtual environment's bin), else the one on PATH."""
    executable = Path(sys.executable).absolute()  # not resolved: a venv's python is a link
    for name in (SERVER_SCRIPT, f"{SERVER_SCRIPT}.exe"):
        candidate = executable.parent / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(SERVER_SCRIPT)
    if found is None:
        raise InstallError(
            f"{SERVER_SCRIPT} is neither next to {executable} nor on PATH; "
            "install deephaven-mcp in this environment"
        )
    return str(Path(found).absolute())


def checked_config(config: Path) -> Path:
    """The absolute path of ``config`` after loading it as the server would (exit code 2
    when it is missing or invalid: a client would start a server that stops at once)."""
    path = config.expanduser().absolute()
    try:
        asyncio.run(load_config_file(str(path)))
    except ConfigError as exc:
        raise InstallError(str(exc).replace("\n", "; "), exit_code=2) from None
    return path


def server_entry(client: Client, *, config: Path | None, read_only: bool) -> dict[str, Any]:
    """The client's entry for the systems server over stdio."""
    entry: dict[str, Any] = {"type": "stdio"} if client.typed else {}
    entry["command"] = server_command()
    entry["args"] = ["--read-only"] if read_only else []
    if config is not None:
        entry["env"] = {CONFIG_ENV_VAR: str(config)}
    return entry


def _shown(path: Path) -> str:
    """``path`` with the home directory as ``~``, as a user would type it."""
    home = Path.home()
    try:
        return str(Path("~") / path.relative_to(home))
    except ValueError:
        return str(path)


def _read(path: Path) -> tuple[dict[str, Any], bool]:
    """The file's object and whether it needed JSON5 (comments, trailing commas)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, False
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"cannot read {_shown(path)}: {exc}") from None
    if not text.strip():
        return {}, False
    relaxed = False
    try:
        data: Any = json.loads(text)
    except ValueError:
        try:
            data = json5.loads(text)
        except ValueError as exc:
            raise InstallError(f"{_shown(path)} is not valid JSON or JSON5: {exc}") from None
        relaxed = True
    if not isinstance(data, dict):
        raise InstallError(f"{_shown(path)}: the top level must be a JSON object")
    return data, relaxed


def _backup(path: Path) -> Path:
    """Copy ``path`` to ``<name>.<timestamp>.bak`` (never over an earlier backup)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.{stamp}-{counter}.bak")
        counter += 1
    shutil.copy2(path, backup)
    return backup


def _write_atomic(path: Path, text: str, mode: int) -> None:
    """Replace ``path`` with ``text`` in one step (a reader sees the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            if hasattr(os, "fchmod"):  # POSIX; Windows has no such modes
                os.fchmod(stream.fileno(), mode)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def install_entry(path: Path, servers_key: str, name: str, entry: dict[str, Any]) -> str:
    """Merge ``entry`` as ``<servers_key>.<name>`` into the JSON file at ``path``; return
    the one line that says what happened."""
    target = path.resolve() if path.is_symlink() else path
    data, relaxed = _read(target)
    servers = data.setdefault(servers_key, {})
    if not isinstance(servers, dict):
        raise InstallError(f"{_shown(path)}: '{servers_key}' must be a JSON object")
    if servers.get(name) == entry:
        return f"{_shown(path)}: '{name}' already up to date"
    replaced = name in servers
    servers[name] = entry
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        if target.exists():
            mode = stat.S_IMODE(target.stat().st_mode)
            backup = _backup(target)
            _write_atomic(target, text, mode)
            note = f"backup: {_shown(backup)}"
        else:
            _write_atomic(target, text, NEW_FILE_MODE)
            note = "new file"
    except OSError as exc:
        raise InstallError(f"cannot write {_shown(path)}: {exc}") from None
    action = "replaced" if replaced else "added"
    line = f"wrote {_shown(path)}: {action} '{name}' ({note})"
    if relaxed:
        line += "; its comments and trailing commas were not preserved"
    return line


def _install(
    client_key: str,
    *,
    config: Path | None,
    read_only: bool,
    print_only: bool,
    name: str,
    scope: Scope,
    file: Path | None,
) -> int:
    client = CLIENTS[client_key]
    out = Console(highlight=False, soft_wrap=True)
    try:
        if not _NAME_PATTERN.fullmatch(name):
            raise InstallError(
                f"--name {name!r}: use letters, digits, '_', '.' or '-' (at most 64)"
            )
        checked = checked_config(config) if config is not None else None
        entry = server_entry(client, config=checked, read_only=read_only)
        if print_only:
            snippet = {client.servers_key: {name: entry}}
            out.print(json.dumps(snippet, indent=2), markup=False)
            return 0
        path = file.expanduser().absolute() if file is not None else client.file(scope)
        out.print(install_entry(path, client.servers_key, name, entry), markup=False)
        return 0
    except InstallError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"dh-mcp install {client_key}: {exc}", markup=False
        )
        return exc.exit_code


ConfigOption = Annotated[
    Path | None,
    Parameter(help="Deephaven MCP configuration file (passed as DH_MCP_CONFIG_FILE)."),
]
ReadOnlyOption = Annotated[bool, Parameter(negative=(), help="Start the server with --read-only.")]
PrintOption = Annotated[
    bool,
    Parameter(name="--print", negative=(), help="Print the entry; write nothing."),
]
NameOption = Annotated[str, Parameter(help="The server's name in the client.")]
FileOption = Annotated[Path | None, Parameter(help="Write this file instead of the client's own.")]
ScopeOption = Annotated[
    Scope,
    Parameter(help="user: for every project; project: in the working directory."),
]


ClientName = Literal["claude-desktop", "claude-code", "cursor", "vscode"]
ClientArgument = Annotated[
    ClientName,
    Parameter(
        help="claude-desktop: claude_desktop_config.json, key mcpServers (user scope only). "
        "claude-code: ~/.claude.json (user) or ./.mcp.json (project), key mcpServers. "
        "cursor: ~/.cursor/mcp.json (user) or ./.cursor/mcp.json (project), key mcpServers. "
        "vscode: the user profile's mcp.json or ./.vscode/mcp.json (project), key servers."
    ),
]


@install_app.default
def install(
    client: ClientArgument,
    /,
    *,
    config: ConfigOption = None,
    read_only: ReadOnlyOption = False,
    print_: PrintOption = False,
    name: NameOption = DEFAULT_NAME,
    scope: ScopeOption = "user",
    file: FileOption = None,
) -> int:
    """Write the systems server's stdio entry into CLIENT's own configuration file."""
    return _install(
        client,
        config=config,
        read_only=read_only,
        print_only=print_,
        name=name,
        scope=scope,
        file=file,
    )
