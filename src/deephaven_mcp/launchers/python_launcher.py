"""The python launch method: run ``worker_bootstrap.py`` with a venv's interpreter.

The worker runs in its own session (``start_new_session=True``), so a signal meant for the
server's terminal does not reach it, but it never outlives the server: inside the sandbox
(:mod:`.sandbox`) bwrap's ``--die-with-parent`` kills it when the server dies, and without
one the bootstrap asks the kernel for the same (``PR_SET_PDEATHSIG``). Orphan cleanup at
the next start remains for what neither covers (another operating system, a stuck exit);
it recognises a worker by PID, start time and the ``--instance-id`` marker on its command
line. The pre-shared key travels only in the child's environment (``DH_MCP_WORKER_PSK``),
never on a command line. Output goes to ``worker.log`` in the worker's private state
directory, never to the MCP server's stdout.

The worker does not inherit the server's environment: it starts with a short allow-list
(:data:`INHERITED_VARIABLES`, ``LC_*``) plus the request's ``environment_vars``, because
anything in its environment is readable by every script a client runs in it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psutil

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.errors import DependencyMissingError, InvalidArgumentError
from deephaven_mcp.launchers import sandbox
from deephaven_mcp.launchers.models import PSK_ENV, LaunchRequest
from deephaven_mcp.launchers.processes import spawn_on_lasting_thread
from deephaven_mcp.launchers.readiness import WorkerExitedError
from deephaven_mcp.runtime.blocking import call_blocking
from deephaven_mcp.runtime.logging import redact

_log = logging.getLogger(__name__)

BOOTSTRAP_PATH: Final = Path(__file__).resolve().with_name("worker_bootstrap.py")
LOG_NAME: Final = "worker.log"
READY_NAME: Final = "ready.json"
INIT_NAME: Final = "init_script.py"
HOME_NAME: Final = Path(sandbox.HOME_DIR).name  # the sandbox's $HOME, inside the worker dir
VENV_CHECK_TIMEOUT: Final = 60.0
SPAWN_TIMEOUT: Final = 30.0
# Run by the worker's interpreter: exit 3 without deephaven_server, else print where the
# interpreter and the package live (the directories a sandbox must show it, read-only).
_DESCRIBE: Final = (
    "import importlib.util, json, os, sys\n"
    "spec = importlib.util.find_spec('deephaven_server')\n"
    "if spec is None or not spec.origin: sys.exit(3)\n"
    "package = os.path.dirname(os.path.dirname(spec.origin))\n"
    "print(json.dumps({'dirs': sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, "
    "sys.base_exec_prefix, package, os.path.dirname(os.path.realpath(sys.executable))})}))\n"
)

# Server variables a worker inherits (when set); nothing else of the server's environment
# reaches it. Locale and time zone keep the worker's formatting like the server's; PATH and
# the JVM locators (the variables jpy reads to find libjvm) let an operator point workers
# at a JDK that is not on the default library path; HOME and TMPDIR are where Deephaven
# and Python put caches and temporary files. A worker starts with none of them when Java
# is installed system-wide (tested), so the list only keeps the operator's choices.
JVM_LOCATOR_VARIABLES: Final = frozenset(
    {
        "JAVA_HOME",
        "JDK_HOME",
        "JRE_HOME",
        "JAVA_JRE",
        "JPY_JAVA_HOME",
        "JPY_JDK_HOME",
        "JPY_JRE_HOME",
        "JPY_JVM_DLL",
    }
)
INHERITED_VARIABLES: Final = frozenset({"PATH", "HOME", "LANG", "TZ", "TMPDIR"}).union(
    JVM_LOCATOR_VARIABLES
)
INHERITED_PREFIXES: Final = ("LC_",)

_validated: dict[str, Interpreter] = {}
_validated_lock = threading.Lock()


@dataclass(frozen=True)
class Interpreter:
    """The interpreter that runs the bootstrap and the directories it reads (prefixes,
    ``deephaven_server``'s site directory): what a sandbox shows it, read-only."""

    executable: str
    directories: tuple[str, ...]


def instance_marker(instance_id: str) -> tuple[str, ...]:
    """Command-line arguments that identify a worker launched by ``instance_id``."""
    return (str(BOOTSTRAP_PATH), f"--instance-id={instance_id}")


def resolve_interpreter(venv_path: str | None) -> Interpreter:
    """The interpreter that will run the bootstrap, after checking it can import
    ``deephaven_server`` (blocking; successful checks are cached)."""
    key = venv_path or ""
    with _validated_lock:
        if key in _validated:
            return _validated[key]
    if venv_path is None:
        interpreter = _describe(Path(sys.executable), None)
    else:
        interpreter = _check_venv(Path(venv_path).expanduser())
    with _validated_lock:
        _validated[key] = interpreter
    return interpreter


def _check_venv(venv: Path) -> Interpreter:
    if not venv.is_dir():
        raise InvalidArgumentError(f"python_venv_path {str(venv)!r} is not a directory")
    python = venv / "bin" / "python"
    if not python.exists() or not os.access(python, os.X_OK):
        raise InvalidArgumentError(
            f"python_venv_path {str(venv)!r} has no bin/python; is it a virtual environment?"
        )
    return _describe(python, venv)


def _describe(python: Path, venv: Path | None) -> Interpreter:
    """Run :data:`_DESCRIBE` with the environment the worker gets, so the check is honest."""
    try:
        result = subprocess.run(
            [str(python), "-c", _DESCRIBE],
            env=inherited_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=VENV_CHECK_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DependencyMissingError(f"cannot run {python}: {exc}") from None
    if result.returncode != 0:
        if venv is None:
            raise DependencyMissingError(
                "the python launch method needs deephaven-server in the MCP environment: "
                "install deephaven-mcp[community] (or set python_venv_path to a venv that has "
                "deephaven-server), or use launch_method 'docker'"
            )
        has_cli = (venv / "bin" / "deephaven").exists()
        hint = " (the deephaven CLI is there but the package is not importable)" if has_cli else ""
        raise DependencyMissingError(
            f"deephaven-server is not installed in {venv}{hint}; "
            f"install it with: {venv}/bin/pip install deephaven-server"
        )
    try:
        directories = json.loads(result.stdout.decode("utf-8").strip().splitlines()[-1])["dirs"]
    except (ValueError, IndexError, KeyError, TypeError):
        raise DependencyMissingError(f"{python} did not describe itself; is it Python 3?") from None
    return Interpreter(str(python), tuple(str(item) for item in directories))


def build_command(
    interpreter: str,
    request: LaunchRequest,
    worker_dir: Path,
    instance_id: str,
    *,
    parent_pid: int | None = None,
) -> list[str]:
    """The bootstrap command line (no secrets on it). With ``parent_pid`` the bootstrap
    arranges to die with that process (used when no sandbox does it)."""
    command = [
        interpreter,
        str(BOOTSTRAP_PATH),
        "--host",
        request.host,
        "--port",
        "0",
        "--ready-file",
        str(worker_dir / READY_NAME),
        f"--jvm-arg={request.heap_arg}",
    ]
    command += [f"--jvm-arg={arg}" for arg in request.extra_jvm_args]
    if request.init_script is not None:
        command += ["--init-script", str(worker_dir / INIT_NAME)]
    if parent_pid is not None:
        command += ["--parent-pid", str(parent_pid)]
    command += [f"--instance-id={instance_id}", f"--session-name={request.session_name}"]
    return command


def jdk_directories(env: Mapping[str, str]) -> list[str]:
    """Where the worker's JVM lives: the JVM locator variables' directories and the JDK of
    the ``java`` on the worker's PATH (``<jdk>/bin/java``)."""
    directories = [env[name] for name in sorted(JVM_LOCATOR_VARIABLES) if env.get(name)]
    java = shutil.which("java", path=env.get("PATH", os.defpath))
    if java is not None:
        directories.append(str(Path(os.path.realpath(java)).parent.parent))
    return [directory for directory in directories if os.path.isabs(directory)]


def sandbox_wrap(
    tool: str,
    command: Sequence[str],
    interpreter: Interpreter,
    env: Mapping[str, str],
    worker_dir: Path,
    private_paths: Sequence[str],
) -> list[str]:
    """``command`` (built for :data:`sandbox.WORK_DIR`) inside bwrap: the interpreter, the
    JDK and the bootstrap read-only, the worker directory read-write, the server's own
    directories hidden."""
    return sandbox.sandboxed_command(
        tool,
        command,
        work_dir=worker_dir,
        read_only=[*interpreter.directories, *jdk_directories(env)],
        read_only_files=[BOOTSTRAP_PATH],
        private=[*private_paths, os.getcwd(), str(Path.home())],
    )


def inherited_environment(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of the server's environment a worker gets: :data:`INHERITED_VARIABLES` and
    ``LC_*``, each only if set. Everything else (API keys, cloud credentials, tokens of the
    MCP server) stays out of the worker, where user scripts could read it."""
    source = os.environ if source is None else source
    return {
        name: value
        for name, value in source.items()
        if name in INHERITED_VARIABLES or name.startswith(INHERITED_PREFIXES)
    }


def build_environment(
    request: LaunchRequest, token: str | None, source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The worker's whole environment: the inherited minimum, the request's own variables,
    then what the launcher needs (the key, unbuffered output), which nothing overrides."""
    env = inherited_environment(source)
    env.update(request.environment_vars)
    env.pop(PSK_ENV, None)
    if request.auth_type is AuthType.PSK and token:
        env[PSK_ENV] = token
    env["PYTHONUNBUFFERED"] = "1"
    return env


class PythonWorkerProcess:
    """A started bootstrap process (a child of this MCP server; with the sandbox, the bwrap
    process that holds it)."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        create_time: float,
        worker_dir: Path,
        marker: tuple[str, ...],
        *,
        sandboxed: bool = False,
    ) -> None:
        self.process = process
        self.create_time = create_time
        self.worker_dir = worker_dir
        self.marker = marker
        self.sandboxed = sandboxed
        self.log_path = worker_dir / LOG_NAME
        self.ready_path = worker_dir / READY_NAME

    @property
    def pid(self) -> int:
        """The worker process's id (it leads its own process group)."""
        return self.process.pid

    async def check_port(self) -> int | None:
        """The port from the ready file, None until it is written.

        Raises WorkerExitedError once the process has exited.
        """
        code = self.process.poll()
        if code is not None:
            raise WorkerExitedError(f"worker process exited with code {code}")
        return await call_blocking("reading the ready file", 10.0, self._read_ready_port)

    def _read_ready_port(self) -> int | None:
        try:
            info = json.loads(self.ready_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # replaced atomically, so this is transient at worst
        port = info.get("port") if isinstance(info, dict) else None
        return port if isinstance(port, int) and port > 0 else None

    async def log_tail(self, max_bytes: int = 6000) -> str:
        """The last ``max_bytes`` of the worker's log, redacted."""
        return await call_blocking(
            "reading the worker log", 10.0, read_log_tail, self.log_path, max_bytes
        )

    async def stop(self, timeout: float) -> None:
        """SIGTERM to the process group, SIGKILL after ``timeout`` seconds (at once if 0)."""
        await call_blocking("stopping the worker", timeout + 20.0, self._terminate, timeout)

    def _terminate(self, timeout: float) -> None:
        process = self.process
        if process.poll() is not None:
            return
        if timeout > 0:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
                return
            except subprocess.TimeoutExpired:
                _log.debug("worker pid %d ignored SIGTERM for %gs; killing", process.pid, timeout)
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGKILL)
        process.wait(15)

    async def is_running(self) -> bool:
        """Whether the worker process has not exited."""
        return self.process.poll() is None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the worker's process group (it leads its own session), so helpers die too."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def read_log_tail(path: Path, max_bytes: int) -> str:
    """The last ``max_bytes`` of a log file, redacted (blocking)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(size - max_bytes, 0))
            data = handle.read()
    except OSError:
        return ""
    return redact(data.decode("utf-8", errors="replace"))


def _spawn(
    command: list[str], env: dict[str, str], worker_dir: Path, init_script: str | None
) -> tuple[subprocess.Popen[bytes], float]:
    (worker_dir / HOME_NAME).mkdir(mode=0o700, exist_ok=True)
    if init_script is not None:
        fd = os.open(worker_dir / INIT_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(init_script)
    log_fd = os.open(worker_dir / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=worker_dir,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log_fd)
    try:
        create_time = psutil.Process(process.pid).create_time()
    except psutil.Error:
        create_time = 0.0  # exited already; check_port reports it
    return process, create_time


async def start_python_worker(
    request: LaunchRequest,
    token: str | None,
    *,
    instance_id: str,
    worker_dir: Path,
    state_dir: Path | None = None,
) -> PythonWorkerProcess:
    """Spawn the bootstrap for ``request``; returns at once (readiness is checked later)."""
    interpreter = await call_blocking(
        "checking the python environment",
        VENV_CHECK_TIMEOUT + 10.0,
        resolve_interpreter,
        request.python_venv_path,
    )
    support = await call_blocking(
        "checking the sandbox", sandbox.PROBE_TIMEOUT + 5.0, sandbox.probe
    )
    tool = sandbox.choose(request.sandbox, support)
    env = build_environment(request, token)
    if tool is None:
        command = build_command(
            interpreter.executable, request, worker_dir, instance_id, parent_pid=os.getpid()
        )
    else:
        inner = Path(sandbox.WORK_DIR)  # where the sandbox shows worker_dir
        command = sandbox_wrap(
            tool,
            build_command(interpreter.executable, request, inner, instance_id),
            interpreter,
            env,
            worker_dir,
            [*request.private_paths, *([str(state_dir)] if state_dir else [])],
        )
    process, create_time = await spawn_on_lasting_thread(
        "starting the worker process",
        SPAWN_TIMEOUT,
        lambda: _spawn(command, env, worker_dir, request.init_script),
        on_abandoned=lambda started: _kill_abandoned(started[0]),
    )
    _log.info(
        "started python worker for session %r (pid %d, %s, log %s)",
        request.session_name,
        process.pid,
        "sandboxed" if tool else "not sandboxed",
        worker_dir / LOG_NAME,
    )
    return PythonWorkerProcess(
        process, create_time, worker_dir, instance_marker(instance_id), sandboxed=bool(tool)
    )


def _kill_abandoned(process: subprocess.Popen[bytes]) -> None:
    """A worker whose launch was cancelled while it was being started: nobody tracks it.
    Killed without waiting (this may run on the event loop); subprocess reaps it later."""
    _signal_group(process.pid, signal.SIGKILL)
