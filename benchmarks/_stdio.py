"""Raw JSON-RPC over stdio to an MCP server, for benchmarks (no client library's cost counted).

One :class:`StdioServer` per server process: requests carry ids, a reader task matches the
answers, so many calls can be in flight on one connection. Every wait is time-bounded, and
:meth:`StdioServer.close` always ends the process (EOF, then SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

PROTOCOL: Final = "2025-06-18"
#: One line is one whole answer: a 1,000,000-row response is tens of MB.
READ_LIMIT: Final = 1 << 30
FLOOR: Final = [sys.executable, "-c", "from fastmcp import FastMCP; FastMCP('x')"]


class CallFailed(RuntimeError):
    """A request that got an error, a failure envelope, no answer in time, or no answer."""


@dataclass(frozen=True)
class Reply:
    """One JSON-RPC answer, its size on the wire and when it was parsed."""

    message: dict[str, Any]
    size: int
    at: float


def server_env(config: Path, home: Path | None = None) -> dict[str, str]:
    """The environment for a server reading ``config``.

    ``home`` is for the peer: it isolates ~ (the peer keeps instance files there and cleans
    up after "dead" ones at start), and PYTHONPATH is dropped so that nothing of this
    project can shadow the peer's own package.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["DH_MCP_CONFIG_FILE"] = str(config)
    env["PYTHONLOGLEVEL"] = "WARNING"
    if home is not None:
        env["HOME"] = str(home)
        env.pop("PYTHONPATH", None)
    return env


def this_server() -> list[str]:
    """The command of this project's server, from the running interpreter's environment."""
    beside = Path(sys.executable).parent / "dh-mcp-systems-server"
    found = str(beside) if beside.exists() else shutil.which("dh-mcp-systems-server")
    if found is None:
        raise SystemExit("run with this project's venv (or `uv run`): no dh-mcp-systems-server")
    return [found, "--transport", "stdio"]


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found")


def tool_payload(result: dict[str, Any]) -> dict[str, Any]:
    """The success envelope of a ``tools/call`` result, or :class:`CallFailed` with its error.

    This server answers with ``structuredContent`` and the same JSON as text; the peer only
    with text. Either way the text must parse and say ``success: true``.
    """
    texts = [c.get("text", "") for c in result.get("content", []) if c.get("type") == "text"]
    try:
        payload = json.loads(texts[0]) if texts else None
    except json.JSONDecodeError as exc:
        raise CallFailed(f"content text is not JSON: {exc}") from None
    structured = result.get("structuredContent")
    envelope = structured if isinstance(structured, dict) else payload
    if not isinstance(envelope, dict) or not isinstance(payload, dict):
        raise CallFailed(f"no JSON envelope in the answer: {str(result)[:200]}")
    if result.get("isError") or envelope.get("success") is not True:
        raise CallFailed(str(envelope.get("error") or envelope)[:500])
    return envelope


class StdioServer:
    """A server process spoken to with newline-delimited JSON-RPC on its stdin/stdout."""

    def __init__(
        self, command: list[str], env: dict[str, str], cwd: Path, log: Path | None = None
    ) -> None:
        self.command, self.env, self.cwd, self.log = command, env, cwd, log
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        self._ids = itertools.count(1)
        self._closed_reason = ""

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def start(self) -> None:
        """Spawn the process (returns at once; nothing is awaited from the server)."""
        stderr = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=self.env,
                cwd=self.cwd,
                limit=READ_LIMIT,
            )
        finally:
            if not isinstance(stderr, int):
                stderr.close()
        self._reader = asyncio.create_task(self._read())

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        stdout = self._process.stdout
        try:
            while line := await stdout.readline():
                at = time.perf_counter()
                message = json.loads(line)
                waiter = self._pending.pop(message.get("id", -1), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(Reply(message, len(line), at))
            self._closed_reason = "the server closed stdout"
        except (ValueError, OSError) as exc:  # a line over READ_LIMIT, or bad JSON
            self._closed_reason = f"reading the server's answer failed: {exc}"
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(CallFailed(self._closed_reason + self._stderr_tail()))
        self._pending.clear()

    def _stderr_tail(self) -> str:
        if self.log is None or not self.log.exists():
            return ""
        tail = self.log.read_bytes()[-400:].decode(errors="replace").strip()
        return f"; stderr: {tail}" if tail else ""

    async def _write(self, message: dict[str, Any]) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\n")
        await self._process.stdin.drain()

    async def notify(self, method: str) -> None:
        await self._write({"jsonrpc": "2.0", "method": method})

    async def request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 60.0
    ) -> Reply:
        """Send one request; its answer, or :class:`CallFailed` (error, timeout, exit)."""
        if self._closed_reason:
            raise CallFailed(self._closed_reason + self._stderr_tail())
        request_id = next(self._ids)
        waiter: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = waiter
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            await self._write(message)
            reply = await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise CallFailed(f"{method}: no answer within {timeout:.0f} s") from None
        except (ConnectionError, BrokenPipeError) as exc:
            raise CallFailed(f"{method}: {exc}{self._stderr_tail()}") from None
        finally:
            self._pending.pop(request_id, None)
        if "error" in reply.message:
            raise CallFailed(f"{method}: {reply.message['error']}")
        return reply

    async def initialize(self, timeout: float = 120.0) -> None:
        """The MCP handshake: ``initialize`` then ``notifications/initialized``."""
        await self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
            timeout,
        )
        await self.notify("notifications/initialized")

    async def call_tool(self, name: str, arguments: dict[str, Any], timeout: float) -> Reply:
        """``tools/call``; the reply (its ``result`` not yet checked: see :func:`tool_payload`)."""
        return await self.request("tools/call", {"name": name, "arguments": arguments}, timeout)

    async def close(self) -> None:
        """End the process: close stdin (a clean exit), then SIGTERM, then SIGKILL."""
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        for stop in (None, process.terminate, process.kill):
            if process.returncode is not None:
                break
            if stop is not None:
                with contextlib.suppress(ProcessLookupError):
                    stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 10)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def time_to_tools_list(
    command: list[str], env: dict[str, str], cwd: Path, log: Path | None = None
) -> tuple[float, int]:
    """Seconds from spawn to the ``tools/list`` answer, and how many tools it listed.

    ``log`` collects the server's stderr (quoted in the error if it fails)."""
    started = time.perf_counter()
    async with StdioServer(command, env, cwd, log) as server:
        await server.initialize()
        reply = await server.request("tools/list", timeout=120)
        elapsed = reply.at - started
    return elapsed, len(reply.message["result"]["tools"])


def time_command(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds for ``command`` to run to completion (at most 120)."""
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - started
