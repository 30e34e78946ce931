"""A small fake Docker Engine API on 127.0.0.1 for the real docker SDK to talk to.

It implements just what the launcher uses (version/ping, container create/archive/start/
inspect/logs/stop/delete/list with label filters, image pull) and records every request,
so tests can assert the exact container spec the SDK sent. A "running" container publishes
its port 10000 on ``mapped_port``, which tests point at a real Deephaven worker.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

API_VERSION = "1.44"
_VERSIONED = re.compile(r"^/v\d+\.\d+(/.*)$")


@dataclass
class Recorded:
    method: str
    path: str  # without the /vX.Y prefix
    query: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeContainer:
    id: str
    name: str
    config: dict[str, Any]
    status: str = "created"
    exit_code: int = 0
    archives: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.get("Labels") or {})


class FakeDockerEngine:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.containers: dict[str, FakeContainer] = {}
        self.images: set[str] = set()
        self.mapped_port: int | None = None
        self.exit_on_start = False
        self.logs = b"fake worker log line\n"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeDockerEngine:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_container(self, name: str, labels: dict[str, str], status: str = "running") -> str:
        container_id = uuid.uuid4().hex * 2
        self.containers[container_id] = FakeContainer(
            container_id, name, {"Image": "x", "Labels": labels}, status
        )
        return container_id

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        regex = re.compile(pattern)
        return [r for r in self.requests if r.method == method and regex.search(r.path)]

    # -- request handling -------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                match = _VERSIONED.match(parts.path)
                path = match.group(1) if match else parts.path
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(self.command, path, parse_qs(parts.query), body)
                with engine._lock:
                    engine.requests.append(recorded)
                    status, payload, ctype = engine._route(recorded)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Api-Version", API_VERSION)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        return Handler

    def _find(self, ref: str) -> FakeContainer | None:
        for container in self.containers.values():
            if ref in (container.id, container.name) or (
                len(ref) >= 12 and container.id.startswith(ref)
            ):
                return container
        return None

    def _inspect(self, c: FakeContainer) -> dict[str, Any]:
        running = c.status == "running"
        ports = (
            {"10000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(self.mapped_port)}]}
            if running and self.mapped_port
            else {}
        )
        return {
            "Id": c.id,
            "Name": "/" + c.name,
            "Image": c.config.get("Image"),
            "State": {"Status": c.status, "Running": running, "ExitCode": c.exit_code},
            "Config": {
                "Image": c.config.get("Image"),
                "Labels": c.labels,
                "Env": c.config.get("Env"),
                "Tty": False,
            },
            "HostConfig": c.config.get("HostConfig") or {},
            "NetworkSettings": {"Ports": ports},
        }

    def _route(self, r: Recorded) -> tuple[int, Any, str]:
        js = "application/json"
        if r.path == "/_ping":
            return 200, b"OK", "text/plain"
        if r.path == "/version":
            return (
                200,
                {"ApiVersion": API_VERSION, "Version": "25.0.0", "MinAPIVersion": "1.24"},
                js,
            )
        if r.method == "POST" and r.path == "/images/create":
            image = r.query["fromImage"][0] + ":" + r.query.get("tag", ["latest"])[0]
            self.images.add(image)
            return 200, {"status": f"Downloaded newer image for {image}"}, js
        if r.method == "POST" and r.path == "/containers/create":
            spec = r.json()
            image = spec["Image"] if ":" in spec["Image"] else spec["Image"] + ":latest"
            if image not in self.images:
                return 404, {"message": f"No such image: {spec['Image']}"}, js
            name = r.query.get("name", [""])[0]
            if name and self._find(name):
                return 409, {"message": f"Conflict. The container name {name} is in use"}, js
            container_id = uuid.uuid4().hex * 2
            self.containers[container_id] = FakeContainer(container_id, name, spec)
            return 201, {"Id": container_id, "Warnings": []}, js
        if r.method == "GET" and r.path == "/containers/json":
            return 200, self._list(r), js
        match = re.match(r"^/containers/([^/]+)(/.*)?$", r.path)
        if not match:
            return 404, {"message": "page not found"}, js
        container = self._find(match.group(1))
        if container is None:
            return 404, {"message": f"No such container: {match.group(1)}"}, js
        action = match.group(2) or ""
        if r.method == "GET" and action == "/json":
            return 200, self._inspect(container), js
        if r.method == "PUT" and action == "/archive":
            container.archives.append((r.query["path"][0], r.body))
            return 200, b"", "text/plain"
        if r.method == "POST" and action == "/start":
            if self.exit_on_start:
                container.status, container.exit_code = "exited", 1
            else:
                container.status = "running"
            return 204, b"", "text/plain"
        if r.method == "POST" and action == "/stop":
            container.status, container.exit_code = "exited", 143
            return 204, b"", "text/plain"
        if r.method == "DELETE" and action == "":
            del self.containers[container.id]
            return 204, b"", "text/plain"
        if r.method == "GET" and action == "/logs":
            frame = struct.pack(">BxxxL", 1, len(self.logs)) + self.logs
            return 200, frame, "application/vnd.docker.raw-stream"
        return 404, {"message": f"unsupported {r.method} {r.path}"}, js

    def _list(self, r: Recorded) -> list[dict[str, Any]]:
        filters = json.loads(r.query.get("filters", ["{}"])[0])
        wanted = [item.partition("=") for item in filters.get("label", [])]
        show_all = r.query.get("all", ["0"])[0] in ("1", "true", "True")
        result = []
        for c in self.containers.values():
            if not show_all and c.status != "running":
                continue
            labels = c.labels
            if all(k in labels and (not eq or labels[k] == v) for k, eq, v in wanted):
                result.append({"Id": c.id, "Names": ["/" + c.name], "Labels": c.labels})
        return result


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDockerEngine]:
    """A started fake that the docker SDK reaches through ``DOCKER_HOST`` (plain TCP)."""
    fake = FakeDockerEngine().start()
    monkeypatch.setenv("DOCKER_HOST", fake.url)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    yield fake
    fake.close()
