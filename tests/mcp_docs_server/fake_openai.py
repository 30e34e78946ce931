"""A real OpenAI-compatible chat-completions server on 127.0.0.1 for tests and stress runs.

It stands in for Inkeep and OpenAI: ``POST /v1/chat/completions`` (non-streaming) answers,
fails with an HTTP status, hangs, or returns an empty answer depending on :attr:`mode`,
and records every request so tests can inspect the system prompt and headers, and how
many were in flight at once (:attr:`max_in_flight`). It runs on
its own threads, independent of any event loop, so in-process servers and subprocesses
can both reach it.

Standalone, for manual or stress runs::

    uv run python -m tests.mcp_docs_server.fake_openai --port 9100 --delay 0.05
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["answer", "error", "hang", "empty"]


@dataclass
class RecordedRequest:
    """What the fake received: the path, lower-cased headers and the parsed JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def system_prompt(self) -> str:
        return "\n".join(
            str(m.get("content", "")) for m in self.messages if m.get("role") == "system"
        )


@dataclass
class FakeChatServer:
    """Controllable fake; change :attr:`mode` (or call the helpers) at any time."""

    name: str = "fake"
    port: int = 0
    mode: Mode = "answer"
    status: int = 500
    delay: float = 0.0
    hang_seconds: float = 30.0
    reply: str | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        self._httpd.fake = self
        self.port = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def answer(self, reply: str | None = None, delay: float = 0.0) -> None:
        self.mode, self.reply, self.delay = "answer", reply, delay

    def fail(self, status: int = 500) -> None:
        self.mode, self.status = "error", status

    def hang(self, seconds: float = 30.0) -> None:
        self.mode, self.hang_seconds = "hang", seconds

    @property
    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests]

    @property
    def last(self) -> RecordedRequest:
        with self._lock:
            return self.requests[-1]

    def start(self) -> FakeChatServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # quick shutdown between tests
            name=f"fake-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let hanging handlers finish
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- request handling (called from handler threads) -----------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        question = ""
        for message in reversed(body.get("messages", [])):
            if message.get("role") == "user":
                question = str(message.get("content", ""))
                break
        content = "" if self.mode == "empty" else self.reply or f"[{self.name}] {question}"
        return {
            "id": f"chatcmpl-{self.name}-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "unknown"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the stress test opens ~100 connections at once
    fake: FakeChatServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers offer
    server: _Server
    timeout = 30  # idle keep-alive connections release their thread eventually

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: test output stays readable."""

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake._record(RecordedRequest(self.path, headers, body))
        fake._enter()
        try:
            if fake.mode == "error":
                self._send(
                    fake.status, {"error": {"message": "fake failure", "type": "server_error"}}
                )
                return
            if fake.mode == "hang":
                fake._release.wait(fake.hang_seconds)
            elif fake.delay:
                time.sleep(fake.delay)
            self._send(200, fake._completion(body))
        finally:
            fake._leave()

    def do_GET(self) -> None:
        self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up (e.g. after its timeout)


def _main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible chat server.")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--name", default="fake")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--mode", choices=["answer", "error", "hang", "empty"], default="answer")
    args = parser.parse_args()
    fake = FakeChatServer(name=args.name, port=args.port, mode=args.mode, delay=args.delay)
    print(f"fake chat server at {fake.base_url}", flush=True)
    # Background jobs start with SIGINT ignored; make INT and TERM both stop cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        fake._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._httpd.server_close()


if __name__ == "__main__":
    _main()
