"""Isolate a python-launched worker from the server with bubblewrap (``bwrap``).

A worker runs whatever code an agent sends it. Without isolation that code runs as the
server's user, in the server's PID namespace, and can read the server's environment through
``/proc/<ppid>/environ``, its ``.env`` and config files, and the state directory with every
other worker's record. Inside the sandbox the worker has

* its own PID namespace: only its own processes are in ``/proc``;
* a mount view built from nothing: the system directories (``/usr``, ``/etc``, ``/sys``)
  and the interpreter and JDK directories read-only, a private ``/tmp``, and its own work
  directory read-write; the server's working directory, config directory, state directory
  and home are not there (masked with an empty tmpfs where they fall inside a bound
  directory);
* no capabilities (``--cap-drop ALL`` when the server runs as root, so it cannot mount or
  create device nodes to get the disk back);
* a life bound to the server's: ``--die-with-parent`` kills it when the server dies, even
  by SIGKILL.

The network is shared: the server must reach the worker on 127.0.0.1.

Why bubblewrap and not ``unshare`` (util-linux): bwrap builds the mount view from a list of
binds in one unprivileged call, drops capabilities, and has ``--die-with-parent``;
``unshare`` gives namespaces but the mount view would need a shell script of mounts run
with privileges, and it cannot tie the worker's life to the server's. bwrap is a small,
widely packaged tool (Flatpak's sandbox), installed with ``apt-get install bubblewrap``.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from deephaven_mcp.config.models import SandboxMode
from deephaven_mcp.errors import DependencyMissingError

_log = logging.getLogger(__name__)

TOOL: Final = "bwrap"
INSTALL_HINT: Final = "install bubblewrap (e.g. `apt-get install bubblewrap`)"
PROBE_TIMEOUT: Final = 15.0
# Read-only in every sandbox: programs, libraries, configuration the JVM and Python read.
SYSTEM_DIRS: Final = ("/usr", "/etc", "/sys")
# Top-level names that are links into /usr on merged-/usr systems, directories elsewhere.
SYSTEM_LINKS: Final = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SETTING: Final = "community.session_creation.defaults.sandbox"
# Where the worker's own directory appears inside the sandbox: a neutral path, so nothing
# of the state directory's location or layout shows.
WORK_DIR: Final = "/dh-mcp-worker"
HOME_DIR: Final = f"{WORK_DIR}/home"


@dataclass(frozen=True)
class SandboxSupport:
    """Whether workers can be sandboxed here: the tool's path, or why not."""

    tool: str | None
    problem: str | None = None

    @property
    def available(self) -> bool:
        """Whether workers can be sandboxed here."""
        return self.tool is not None and self.problem is None


def find_tool(path: str | None = None) -> str | None:
    """The bwrap on ``path`` (default: this process's PATH), or None."""
    return shutil.which(TOOL, path=path)


def probe(path: str | None = None) -> SandboxSupport:
    """Whether bwrap is installed and can really build a sandbox here (blocking; the result
    is cached per tool path). It can be installed yet unusable, e.g. where unprivileged
    user namespaces are switched off."""
    tool = find_tool(path)
    if tool is None:
        return SandboxSupport(None, f"{TOOL} is not on PATH; {INSTALL_HINT}")
    return _probe_tool(tool)


@functools.lru_cache(maxsize=8)
def _probe_tool(tool: str) -> SandboxSupport:
    command = [tool, *_base_flags(), *_system_binds(), "--", "/usr/bin/true"]
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxSupport(tool, f"{tool} cannot run: {exc}")
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit code {done.returncode}"
        return SandboxSupport(tool, f"{tool} cannot create a sandbox here: {reason[:200]}")
    return SandboxSupport(tool)


def choose(mode: SandboxMode, support: SandboxSupport) -> str | None:
    """The tool to wrap a worker with under ``mode``, or None to run it unsandboxed.

    Raises DependencyMissingError for ``required`` when the sandbox is unavailable.
    """
    if mode == "off":
        return None
    if support.available:
        return support.tool
    if mode == "required":
        raise DependencyMissingError(
            f"python workers must run sandboxed ({SETTING} is 'required'), but "
            f"{support.problem}; or set {SETTING} to 'auto' or 'off'"
        )
    return None


def _base_flags() -> list[str]:
    flags = [
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if os.geteuid() == 0:
        # Root keeps every capability inside the sandbox unless told otherwise, and with
        # CAP_SYS_ADMIN/CAP_MKNOD could mount the real disk again.
        flags += ["--cap-drop", "ALL"]
    return flags


def _system_binds() -> list[str]:
    args: list[str] = []
    for directory in SYSTEM_DIRS:
        if os.path.isdir(directory):
            args += ["--ro-bind", directory, directory]
    for name in SYSTEM_LINKS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def _inside(path: str, parent: str) -> bool:
    """True when ``path`` is ``parent`` or lies below it."""
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


def _real(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    real = []
    for path in paths:
        try:
            real.append(os.path.realpath(path))
        except (OSError, ValueError):
            continue
    return real


def sandboxed_command(
    tool: str,
    command: Sequence[str],
    *,
    work_dir: Path,
    read_only: Iterable[str | os.PathLike[str]],
    read_only_files: Iterable[str | os.PathLike[str]],
    private: Iterable[str | os.PathLike[str]],
) -> list[str]:
    """``command`` wrapped in bwrap.

    ``read_only`` directories (interpreter prefixes, the JDK) and ``read_only_files`` (the
    bootstrap script) are bound at their own paths, ``work_dir`` read-write at
    :data:`WORK_DIR` (``command`` must name its files there; ``$HOME`` is
    :data:`HOME_DIR`); ``private``
    paths (the server's working, config, state and home directories) are masked with an
    empty tmpfs wherever a bound directory would show them. Mounts are ordered parents
    first, so a masked directory can still hold a bound one (a venv inside the server's
    working directory).
    """
    work = os.path.realpath(work_dir)
    # (depth, order, flags): parents first; at equal depth binds, then masks, then work.
    mounts: list[tuple[int, int, list[str]]] = []
    bound = [d for d in SYSTEM_DIRS if os.path.isdir(d)]  # what could show a private path
    for directory in _real(read_only):
        if os.path.isdir(directory) and not any(_inside(directory, b) for b in SYSTEM_DIRS):
            mounts.append((_depth(directory), 0, ["--ro-bind", directory, directory]))
            bound.append(directory)
    for file in _real(read_only_files):
        mounts.append((_depth(file), 0, ["--ro-bind", file, file]))
    for hidden in sorted(set(_real(private))):
        if any(_inside(hidden, b) and hidden != b for b in bound):
            mounts.append((_depth(hidden), 1, ["--tmpfs", hidden]))
    mounts.append((_depth(WORK_DIR), 2, ["--bind", work, WORK_DIR]))
    mounts.sort(key=lambda item: (item[0], item[1]))
    args = [tool, *_base_flags(), "--tmpfs", "/tmp", *_system_binds()]  # noqa: S108
    args += ["--proc", "/proc", "--dev", "/dev"]
    for _depth_key, _order, flags in mounts:
        args += flags
    args += ["--chdir", WORK_DIR, "--setenv", "HOME", HOME_DIR, "--unsetenv", "TMPDIR"]
    return [*args, "--", *command]


def warn_if_unavailable(mode: SandboxMode, support: SandboxSupport) -> None:
    """The one start-up warning for ``auto`` when workers will run unsandboxed."""
    if mode == "auto" and not support.available:
        _log.warning(
            "SECURITY: python workers will run without a sandbox (%s); scripts an agent "
            "runs in them can read this server's environment and files. Set %s to "
            "'required' to refuse such launches instead.",
            support.problem,
            SETTING,
        )
