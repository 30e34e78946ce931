"""``dh-mcp doctor``: check, before a client starts the server, what it will need here.

The server discovers most problems only when an agent first needs the missing piece (a
JDK for the python launch method, a docker engine, a reachable worker). The doctor looks
for all of them at once and prints one line per check: ``ok``, ``warn`` (works, but
something is off or missing that this configuration does not need) or ``FAIL`` (something
this configuration needs is missing), each not-ok line with a fix. Every probe has a
timeout; nothing here changes the configuration or the state directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar

from cyclopts import Parameter
from rich.console import Console
from rich.text import Text

from deephaven_mcp.cli.config_check import server_environment, server_settings, summary
from deephaven_mcp.config import McpConfig, default_config, load_config_file
from deephaven_mcp.config.loader import deephaven_server_installed
from deephaven_mcp.config.models import CommunityEndpoint
from deephaven_mcp.errors import ConfigError, DeephavenMcpError
from deephaven_mcp.launchers import UnsafeStateDirError, default_state_dir, sandbox
from deephaven_mcp.launchers.instance_tracker import check_state_dir
from deephaven_mcp.systems import DeephavenSystems
from deephaven_mcp.systems.settings import SystemsSettings

Verdict = Literal["ok", "warn", "FAIL"]
MIN_JAVA: Final = 17
JAVA_TIMEOUT: Final = 15.0
VENV_TIMEOUT: Final = 30.0
DOCKER_TIMEOUT: Final = 10.0
CONNECT_TIMEOUT: Final = 5.0
# The JVM reports `version "17.0.2"`, `version "21"` or, before 9, `version "1.8.0_392"`.
_JAVA_VERSION: Final = re.compile(r'version "(\d+)(?:\.(\d+))?')
_STYLES: Final[dict[Verdict, str]] = {"ok": "green", "warn": "yellow", "FAIL": "bold red"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Finding:
    """One check's result: its verdict, what was found, and how to fix it when not ok."""

    verdict: Verdict
    what: str
    fix: str | None = None

    def line(self) -> Text:
        """The one line printed for this finding."""
        text = Text.assemble((f"{self.verdict:<4}", _STYLES[self.verdict]), "  ", self.what)
        if self.fix:
            text.append(f" -> fix: {self.fix}")
        return text


def _within(seconds: float, probe: Callable[[], _T]) -> _T:
    """``probe()`` on a daemon thread, abandoned after ``seconds`` (raises TimeoutError):
    for client libraries whose own timeouts do not cover every step."""
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(probe())
        except BaseException as exc:  # handed to the caller
            failure.append(exc)

    thread = threading.Thread(target=run, name="dh-mcp-doctor-probe", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:g}s")
    if failure:
        raise failure[0]
    return outcome[0]


def _need(needed: bool) -> Verdict:
    return "FAIL" if needed else "warn"


def launch_methods(config: McpConfig) -> set[str]:
    """The launch methods an agent can use under ``config`` (default method, and both
    when agents may choose)."""
    creation = config.community.session_creation
    if creation is None or creation.max_concurrent_sessions == 0:
        return set()
    if "launch_method" in creation.agent_may_set:
        return {"python", "docker"}
    return {creation.defaults.launch_method or "docker"}


def check_config(
    path: Path | None, settings: SystemsSettings | None
) -> tuple[Finding, McpConfig | None]:
    """Load the configuration the server would load; the config is None when it fails."""
    configured = path if path is not None else (settings.config_file if settings else None)
    if configured is None:
        config = default_config()
        return Finding("ok", f"configuration: built-in default ({summary(config)})"), config
    try:
        config = asyncio.run(load_config_file(str(configured)))
    except ConfigError as exc:
        head, *problems = str(exc).splitlines()
        what = f"configuration: {head.removesuffix(':')}"
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
            what += f" ({count}, first: {problems[0].strip()})"
        return Finding("FAIL", what, f"run `dh-mcp config check {configured}`"), None
    return Finding("ok", f"configuration: {configured} ({summary(config)})"), config


def java_version(java: str) -> int | None:
    """The major version ``java -version`` reports, or None when it says nothing usable."""
    done = subprocess.run(
        [java, "-version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=JAVA_TIMEOUT,
        check=False,
    )
    found = _JAVA_VERSION.search(done.stderr.decode("utf-8", "replace"))
    if found is None:
        return None
    major = int(found.group(1))
    if major == 1 and found.group(2) is not None:
        return int(found.group(2))
    return major


def check_java(needed: bool) -> Finding:
    """A JDK ``MIN_JAVA``+ for python-launched workers: JAVA_HOME's, else the one on PATH."""
    fix = f"install a JDK {MIN_JAVA} or newer and put its bin directory on PATH (or set JAVA_HOME)"
    why = "" if needed else " (needed only for the python launch method)"
    home = os.environ.get("JAVA_HOME")
    java = shutil.which("java", path=str(Path(home) / "bin")) if home else None
    java = java or shutil.which("java")
    if java is None:
        return Finding(_need(needed), f"java: not found on PATH{why}", fix)
    try:
        major = java_version(java)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding(_need(needed), f"java: {java} does not run: {exc}{why}", fix)
    if major is None:
        return Finding(_need(needed), f"java: {java} reports no version{why}", fix)
    if major < MIN_JAVA:
        return Finding(
            _need(needed), f"java: {java} is Java {major}, older than {MIN_JAVA}{why}", fix
        )
    return Finding("ok", f"java: {java} (Java {major})")


def check_deephaven_server(config: McpConfig, needed: bool) -> Finding:
    """``deephaven-server`` importable by the interpreter that runs python workers."""
    creation = config.community.session_creation
    venv = creation.defaults.python_venv_path if creation is not None else None
    why = "" if needed else " (needed only for the python launch method)"
    if venv is None:
        if deephaven_server_installed():
            return Finding("ok", f"deephaven-server: importable by {sys.executable}")
        return Finding(
            _need(needed),
            f"deephaven-server: not installed in this environment{why}",
            "pip install 'deephaven-mcp[community]'",
        )
    python = Path(venv).expanduser() / "bin" / "python"
    fix = f"create that venv and run `{python} -m pip install deephaven-server`"
    probe = (
        "import importlib.util, sys; sys.exit(importlib.util.find_spec('deephaven_server') is None)"
    )
    try:
        done = subprocess.run(
            [str(python), "-c", probe],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=VENV_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding(_need(needed), f"deephaven-server: {python} does not run: {exc}", fix)
    if done.returncode != 0:
        return Finding(_need(needed), f"deephaven-server: not importable by {python}", fix)
    return Finding("ok", f"deephaven-server: importable by {python}")


def _docker_version() -> str:
    import docker  # the docker launch method's own dependency, loaded only here

    client = docker.from_env(timeout=int(DOCKER_TIMEOUT))
    try:
        return str(client.version().get("Version", "unknown version"))
    finally:
        client.close()


def check_docker(needed: bool) -> Finding:
    """A docker engine the docker SDK reaches (``DOCKER_HOST`` or the default socket)."""
    why = "" if needed else " (needed only for the docker launch method)"
    fix = "start a docker engine or set DOCKER_HOST to one"
    try:
        version = _within(DOCKER_TIMEOUT + 2, _docker_version)
    except ImportError:
        return Finding(
            _need(needed), f"docker: the docker package is missing{why}", "pip install docker"
        )
    except Exception as exc:
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        return Finding(
            _need(needed), f"docker: no engine answers at {where} ({type(exc).__name__}){why}", fix
        )
    return Finding("ok", f"docker: engine {version} reachable")


def check_sandbox(config: McpConfig, used: bool) -> Finding:
    """Whether bwrap can build a sandbox for python workers (probed as the server does)."""
    if not used:
        return Finding("ok", "sandbox: not used (no python launch method configured)")
    creation = config.community.session_creation
    mode = (creation.defaults.sandbox if creation is not None else None) or "auto"
    if mode == "off":
        return Finding(
            "warn",
            f"sandbox: {sandbox.SETTING} is 'off': python workers run as your user, unisolated",
            f"set {sandbox.SETTING} to 'auto' and {sandbox.INSTALL_HINT}",
        )
    support = sandbox.probe()
    if support.available:
        return Finding("ok", f"sandbox: {support.tool} works")
    verdict: Verdict = "FAIL" if mode == "required" else "warn"
    consequence = (
        "python workers cannot start" if mode == "required" else "python workers run unsandboxed"
    )
    return Finding(verdict, f"sandbox: {support.problem}; {consequence}", sandbox.INSTALL_HINT)


def check_state_directory(settings: SystemsSettings | None) -> Finding:
    """The state directory is private to this user, or can be created."""
    configured = settings.state_dir if settings is not None else None
    path = Path(configured).expanduser() if configured is not None else default_state_dir()
    if not path.exists():
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if os.access(parent, os.W_OK | os.X_OK):
            return Finding("ok", f"state directory: {path} will be created (mode 700)")
        return Finding(
            "FAIL",
            f"state directory: {path} cannot be created ({parent} is not writable)",
            "set DH_MCP_STATE_DIR to a directory of your own",
        )
    try:
        check_state_dir(path)
    except UnsafeStateDirError as exc:
        message = str(exc)
        for separator in ("; run ", "; "):
            what, found, fix = message.partition(separator)
            if found:
                return Finding("FAIL", what, ("run " if separator == "; run " else "") + fix)
        return Finding("FAIL", message)
    except OSError as exc:
        return Finding("FAIL", f"state directory: {path}: {exc.strerror}", "set DH_MCP_STATE_DIR")
    return Finding("ok", f"state directory: {path} is private to you")


async def _answers(endpoint: CommunityEndpoint, timeout: float) -> str | None:
    """None when something accepts a TCP connection at the endpoint, else why not: a quick
    first look, so a stopped worker fails fast with a plain reason."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(endpoint.host, endpoint.port), timeout
        )
    except ConnectionRefusedError:
        return "connection refused"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), timeout)
    return None


def _unreachable(name: str, where: str, reason: str) -> Finding:
    return Finding(
        "FAIL",
        f"community session '{name}': no Deephaven worker at {where} ({reason})",
        f"start that worker, or correct community.sessions.{name} (host, port, auth)",
    )


async def _community(
    systems: DeephavenSystems, name: str, endpoint: CommunityEndpoint, limit: float
) -> Finding:
    """A real session_details call: connects, authenticates and reads the worker's version."""
    where = f"{endpoint.host}:{endpoint.port}"
    try:
        details = await asyncio.wait_for(
            systems.session_details(f"community:config:{name}", attempt_to_connect=True), limit
        )
    except TimeoutError:
        return _unreachable(name, where, f"no answer within {limit:g}s")
    except DeephavenMcpError as exc:
        return _unreachable(name, where, str(exc))
    info = details.session
    if not info.get("available"):
        return _unreachable(name, where, str(info.get("last_error") or "unavailable"))
    version = info.get("deephaven_core_version") or "unknown version"
    return Finding("ok", f"community session '{name}': Deephaven {version} at {where}")


def _enterprise(status: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for report in status:
        name = report["name"]
        if report["is_alive"]:
            findings.append(Finding("ok", f"enterprise system '{name}': {report['status']}"))
        else:
            detail = f": {report['detail']}" if report.get("detail") else ""
            findings.append(
                Finding(
                    "FAIL",
                    f"enterprise system '{name}': {report['status']}{detail}",
                    f"check enterprise.systems.{name} (connection_json_url, credentials)",
                )
            )
    return findings


async def check_systems(config: McpConfig, settings: SystemsSettings | None) -> list[Finding]:
    """Every configured session and system, probed at once, each within a time limit.

    Sessions that accept a TCP connection, and the enterprise systems, are then asked for
    real through a DeephavenSystems that holds only them and keeps its records in a
    throwaway directory (the real state directory is left alone)."""
    env = server_environment()
    if settings is None:
        settings = SystemsSettings.from_env({})
    quick = min(settings.connect_timeout, CONNECT_TIMEOUT)
    sessions = config.community.sessions
    reasons = await asyncio.gather(*(_answers(endpoint, quick) for endpoint in sessions.values()))
    findings: dict[str, Finding] = {}
    answering = {}
    for (name, endpoint), reason in zip(sessions.items(), reasons, strict=True):
        if reason is None:
            answering[name] = endpoint
        else:
            findings[name] = _unreachable(name, f"{endpoint.host}:{endpoint.port}", reason)
    enterprise: list[Finding] = []
    if answering or config.enterprise.systems:
        limit = settings.connect_timeout + settings.probe_timeout + 5
        if config.enterprise.systems:
            slowest = max(
                system.connection_timeout for system in config.enterprise.systems.values()
            )
            limit = max(limit, slowest + 5)
        # Only what is probed: no on-demand sessions, no sessions that did not answer.
        community = config.community.model_copy(
            update={"sessions": answering, "session_creation": None}
        )
        probed = config.model_copy(update={"community": community})
        with tempfile.TemporaryDirectory(prefix="dh-mcp-doctor-") as state:
            systems = DeephavenSystems(
                config=probed,
                settings=SystemsSettings.from_env(env, state_dir=Path(state)),
            )
            try:
                await asyncio.wait_for(systems.start(), limit)
                results = await asyncio.gather(
                    *(
                        _community(systems, name, endpoint, limit)
                        for name, endpoint in answering.items()
                    )
                )
                findings.update(zip(answering, results, strict=True))
                if config.enterprise.systems:
                    try:
                        status = await asyncio.wait_for(
                            systems.enterprise_systems_status(attempt_to_connect=True), limit
                        )
                        enterprise = _enterprise(status.systems)
                    except TimeoutError:
                        enterprise = [
                            Finding(
                                "FAIL", f"enterprise system '{name}': no answer within {limit:g}s"
                            )
                            for name in config.enterprise.systems
                        ]
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(systems.shutdown(), 30)
    return [*(findings[name] for name in sessions), *enterprise]


def diagnose(config_path: Path | None = None) -> list[Finding]:
    """Every check's finding, in the order printed."""
    findings: list[Finding] = []
    try:
        settings: SystemsSettings | None = server_settings()
    except ConfigError as exc:
        settings = None
        findings.append(Finding("FAIL", f"environment: {exc}", "correct that variable"))
    found, config = check_config(config_path, settings)
    findings.append(found)
    methods = launch_methods(config) if config is not None else {"python", "docker"}
    strict = config is not None  # unknown needs when the configuration did not load
    python = "python" in methods and strict
    findings.append(check_java(python))
    findings.append(check_deephaven_server(config or McpConfig(), python))
    findings.append(check_docker("docker" in methods and strict))
    findings.append(check_sandbox(config or McpConfig(), "python" in methods))
    findings.append(check_state_directory(settings))
    if config is not None:
        try:
            findings.extend(asyncio.run(check_systems(config, settings)))
        except Exception as exc:
            findings.append(
                Finding(
                    "FAIL",
                    f"sessions and systems: cannot check them: {type(exc).__name__}: {exc}",
                    "run `dh-mcp config check`",
                )
            )
    return findings


def doctor(
    config: Annotated[
        Path | None,
        Parameter(help="Configuration file to check against (default: DH_MCP_CONFIG_FILE)."),
    ] = None,
) -> int:
    """Check Java, deephaven-server, docker, the sandbox, the state directory and every
    configured system; one line each, with a fix when not ok.

    Exit 0 when nothing failed, 1 otherwise.
    """
    out = Console(highlight=False, soft_wrap=True)
    findings = diagnose(config)
    for finding in findings:
        out.print(finding.line())
    return 1 if any(finding.verdict == "FAIL" for finding in findings) else 0
