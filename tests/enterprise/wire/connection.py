"""The web server half of a fake Enterprise install: ``/iris/connection.json`` and the truststore.

``SessionManager(url=...)`` downloads connection.json with httpx, then the PEM file named by
its ``truststore_url`` (the only way to make the client trust a private CA without passing
``truststore_bytes``, which the adapter does not). Served in plain HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONNECTION_PATH = "/iris/connection.json"
TRUSTSTORE_PATH = "/iris/truststore.pem"


class ConnectionJsonServer:
    """Serves ``documents`` (path -> bytes); records every requested path."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.requests.append(self.path)
                    body = owner.documents.get(self.path)
                if body is None:
                    self.send_error(HTTPStatus.NOT_FOUND)
                    return
                self.send_response(HTTPStatus.OK)
                kind = (
                    "application/json" if self.path.endswith(".json") else "application/x-pem-file"
                )
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Requests are recorded, not printed."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False
        self._server.block_on_close = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-connection-json",
            daemon=True,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def connection_json_url(self) -> str:
        return self.url(CONNECTION_PATH)

    def set_connection_json(self, document: dict[str, Any]) -> None:
        with self._lock:
            self.documents[CONNECTION_PATH] = json.dumps(document).encode("utf-8")

    def set_truststore(self, pem: bytes) -> None:
        with self._lock:
            self.documents[TRUSTSTORE_PATH] = pem

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
