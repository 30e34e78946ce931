"""The stdio transport, writing each message to the pipe in pieces.

mcp's own stdio transport makes one ``str`` of every outgoing message, copies it to add the
newline, then encodes the copy: a 20 MB table answer (40 MB once its text copy is escaped)
costs three 40 MB buffers at once. Here a message is written as it is encoded: its large
strings go out a megabyte at a time, so an answer costs the server little beyond the answer
itself. The bytes on the wire are exactly what ``model_dump_json`` gives, plus a newline.

While serving, fd 0 reads ``/dev/null`` and fd 1 writes to stderr, so a stray ``print`` or a
child process cannot corrupt the protocol; the protocol uses private duplicates of both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

import anyio
import mcp_types
import pydantic_core
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage

if TYPE_CHECKING:
    from fastmcp import FastMCP

_T = TypeVar("_T")

PIECE_CHARS: Final = 1 << 20
"""Strings longer than this are encoded and written this many characters at a time."""


@contextmanager
def _claimed_std_streams() -> Iterator[tuple[int, int]]:
    """Private duplicates of fd 0 and 1 for the protocol; the fds themselves point at
    ``/dev/null`` and stderr until the transport ends (POSIX only)."""
    import fcntl

    sys.stdout.flush()
    wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    try:
        yield wire_in, wire_out
    finally:
        sys.stdout.flush()
        os.dup2(wire_in, 0)
        os.dup2(wire_out, 1)
        # The duplicates stay open: a reader thread may still be blocked on wire_in, and a
        # closed number could be reused under it.


_SKELETON_DEPTH: Final = 4
_SKELETON_LIST: Final = 64


def _skeleton(value: Any, pieces: dict[str, str], marker: str, depth: int = 0) -> Any:
    """``value`` with its long strings replaced by markers naming them in ``pieces``.

    Only the answer's frame is searched (a few levels, short lists): long strings sit there
    (the text copy, a text format's rows), and a json-row answer's many small rows are left
    alone rather than walked one by one.
    """
    if isinstance(value, str):
        if len(value) <= PIECE_CHARS:
            return value
        name = f"{marker}{len(pieces)}\x00"
        pieces[name] = value
        return name
    if depth >= _SKELETON_DEPTH:
        return value
    if isinstance(value, dict):
        return {key: _skeleton(item, pieces, marker, depth + 1) for key, item in value.items()}
    if isinstance(value, list) and len(value) <= _SKELETON_LIST:
        return [_skeleton(item, pieces, marker, depth + 1) for item in value]
    return value


def _encode(message: mcp_types.JSONRPCMessage) -> bytes:
    serializer = type(message).__pydantic_serializer__
    return serializer.to_json(message, by_alias=True, exclude_unset=True)


def encoded_pieces(message: mcp_types.JSONRPCMessage) -> Iterator[bytes]:
    """The JSON of ``message`` (as ``model_dump_json(by_alias=True, exclude_unset=True)``
    gives it), its long strings in pieces of about ``PIECE_CHARS`` characters."""
    pieces: dict[str, str] = {}
    if isinstance(message, mcp_types.JSONRPCResponse):
        marker = f"\x00dh-mcp-piece-{uuid.uuid4().hex}-"
        frame = _skeleton(message.result, pieces, marker)
        if pieces:
            message = message.model_copy(update={"result": frame})
    encoded = _encode(message)
    start = 0
    for name, text in pieces.items():
        quoted_name = pydantic_core.to_json(name)
        spot = encoded.index(quoted_name, start)
        yield encoded[start:spot]
        yield b'"'
        for offset in range(0, len(text), PIECE_CHARS):
            yield pydantic_core.to_json(text[offset : offset + PIECE_CHARS])[1:-1]
        yield b'"'
        start = spot + len(quoted_name)
    yield encoded[start:] if start else encoded


def _write_message(wire_out: int, message: mcp_types.JSONRPCMessage) -> None:
    for piece in encoded_pieces(message):
        _write_all(wire_out, piece)
    _write_all(wire_out, b"\n")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _DaemonLane:
    """Runs blocking calls one at a time on a daemon thread.

    The pipe's blocking reads and writes must not keep the process alive at exit (a worker
    thread of anyio or of an executor is joined at exit, and a read of a client's open stdin
    never returns), so they get a thread of their own that the interpreter may abandon.
    Not :mod:`deephaven_mcp.runtime.blocking`'s thread per call: a read waits for the client with
    no timeout, and one long-lived writer thread keeps large answers in one malloc arena
    (a fresh thread per message raised the peak of four 1M-row answers from ~270 to ~300 MB).
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        while True:
            self._jobs.get()()

    async def call(self, fn: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[_T] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if done.done():
                return  # the caller was cancelled meanwhile
            if error is None:
                done.set_result(result)
            else:
                done.set_exception(error)

        def job() -> None:
            try:
                outcome: tuple[Any, BaseException | None] = (fn(*args), None)
            except BaseException as exc:  # handed to the awaiting task
                outcome = (None, exc)
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(settle, *outcome)

        self._jobs.put(job)
        return await done


@asynccontextmanager
async def _streams(
    wire_in: int, wire_out: int
) -> AsyncIterator[
    tuple[
        MemoryObjectReceiveStream[SessionMessage | Exception],
        MemoryObjectSendStream[SessionMessage],
    ]
]:
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](0)
    stdin = os.fdopen(wire_in, "rb", closefd=False)
    reader, writer = _DaemonLane("mcp-stdin"), _DaemonLane("mcp-stdout")

    async def read() -> None:
        async with incoming_send:
            while line := await reader.call(stdin.readline):
                try:
                    message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                except Exception as exc:  # the server answers a malformed line itself
                    await incoming_send.send(exc)
                    continue
                await incoming_send.send(SessionMessage(message))

    async def write() -> None:
        async with outgoing_receive:
            async for session_message in outgoing_receive:
                await writer.call(_write_message, wire_out, session_message.message)
                del session_message  # a large answer must not live on until the next message

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(read)
        tasks.start_soon(write)
        yield incoming, outgoing
        tasks.cancel_scope.cancel()


async def serve_stdio(server: FastMCP[Any]) -> None:
    """Serve ``server`` over stdin/stdout until stdin closes (``server.run("stdio")``, with
    this module's writer)."""
    from fastmcp.server.context import reset_transport, set_transport

    token = set_transport("stdio")
    try:
        # fastmcp's own stdio runner (FastMCP.run_stdio_async) does the same: its lifespan,
        # then the MCP server loop. Both are fastmcp's private members, and set_transport is
        # internal too: tests/test_dependency_contracts.py fails when an upgrade moves them.
        async with server._lifespan_manager():
            with _claimed_std_streams() as (wire_in, wire_out):
                async with _streams(wire_in, wire_out) as (incoming, outgoing):
                    low_level = server._mcp_server
                    await low_level.run(
                        incoming, outgoing, low_level.create_initialization_options()
                    )
    finally:
        reset_transport(token)


def run_stdio(server: FastMCP[Any]) -> None:
    """Blocking :func:`serve_stdio`, for command-line entry points (fastmcp's own stdio
    transport on Windows, where the descriptor handling here does not apply)."""
    if sys.platform == "win32":
        server.run("stdio", show_banner=False)
        return
    anyio.run(serve_stdio, server)
