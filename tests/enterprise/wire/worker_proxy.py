"""A TLS-terminating gRPC proxy that makes a local Community worker look like a Core+ worker.

The Core+ client connects to a persistent query's worker with ``use_tls=True`` and the
authorization ``io.deephaven.proto.auth.Token <base64 token>`` (a one-use token from the auth
server, service ``RemoteQueryProcessor``). A plain local worker accepts neither, so this proxy
terminates TLS with the harness certificate, verifies and consumes the token with the fake
auth server (as a real worker does), and forwards the call in the clear to the worker with
the worker's PSK authorization instead. ``Bearer`` tokens the worker hands out afterwards,
and every other header and trailer, pass through unchanged in both directions.

Forwarding is generic: every method (unary or streaming, including Arrow Flight) is relayed
as a bidirectional stream of raw bytes, which is what all gRPC calls are on the wire.

The one exception is ``FetchTable`` of a database ticket (``d/catalog``, ``d/hist/...``,
``d/live/...``), which a Core+ worker resolves against its database: the proxy swaps in the
shared ticket ``database`` maps it to (see :mod:`tests.enterprise.catalog_data`), answers
INVALID_ARGUMENT for a table it does not know (what the client reads as "no table by the
name"), and PERMISSION_DENIED for a namespace listed in ``forbidden_namespaces``.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
from deephaven_core.proto import table_pb2
from deephaven_enterprise.proto import auth_pb2

from tests.enterprise.wire.auth_service import FakeAuthService
from tests.enterprise.wire.tls import TlsMaterial

TOKEN_AUTH = "io.deephaven.proto.auth.Token"
PSK_AUTH = "io.deephaven.authentication.psk.PskAuthenticationHandler"
FETCH_TABLE = "/io.deephaven.proto.backplane.grpc.TableService/FetchTable"
WORKER_SERVICE = "RemoteQueryProcessor"
UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
# Headers the gRPC runtime owns; forwarding them would be rejected or duplicated.
_RESERVED = ("user-agent", "te", "content-type", "grpc-")

Metadata = tuple[tuple[str, str | bytes], ...]


@dataclass(frozen=True)
class ProxiedCall:
    """One call through the proxy and how it authenticated (``token``, ``bearer`` or ``none``)."""

    method: str
    auth: str
    user: str | None
    headers: tuple[str, ...]


def _passable(metadata: Metadata | None) -> Metadata:
    return tuple(
        (key, value)
        for key, value in metadata or ()
        if not key.startswith(":") and not key.startswith(_RESERVED)
    )


class _Forwarder(grpc.GenericRpcHandler):
    def __init__(self, proxy: WorkerProxy) -> None:
        self._proxy = proxy

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any]:
        method = handler_call_details.method

        def behavior(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
            return self._proxy.forward(method, requests, context)

        return grpc.stream_stream_rpc_method_handler(behavior)


class WorkerProxy:
    """See the module docstring. Test hooks: ``delays`` (seconds per method-name suffix),
    ``refuse`` (a status every call fails with, as if the worker were gone), ``database``,
    ``forbidden_namespaces``, and :meth:`die` / :meth:`revive` (the worker process crashes,
    then a new one serves on the same port)."""

    def __init__(
        self,
        tls: TlsMaterial,
        auth: FakeAuthService,
        upstream_host: str,
        upstream_port: int,
        psk: str,
    ) -> None:
        self.auth = auth
        self.psk = psk
        self.delays: dict[str, float] = {}
        self.refuse: grpc.StatusCode | None = None
        self.database: dict[bytes, bytes] = {}  # database ticket -> shared ticket on the worker
        self.forbidden_namespaces: dict[str, str] = {}  # namespace -> the refusal's reason
        self.database_fetches: list[bytes] = []  # the database tickets clients asked for
        self.upstream = (upstream_host, upstream_port)
        self.alive = True  # False between die() and revive()
        self._calls: list[ProxiedCall] = []
        self._bearers: set[str] = set()  # session tokens this worker process handed out
        self._revoked: set[str] = set()  # ... and those of processes that died
        self._lock = threading.Lock()
        self._tls = tls
        self._channel = grpc.insecure_channel(f"{upstream_host}:{upstream_port}", options=UNLIMITED)
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="fake-worker-proxy")
        self.host = "127.0.0.1"
        self._server, self.port = self._listen(0)

    def _listen(self, port: int) -> tuple[grpc.Server, int]:
        server = grpc.server(self._pool, handlers=[_Forwarder(self)], options=UNLIMITED)
        credentials = grpc.ssl_server_credentials([(self._tls.key_pem, self._tls.chain_pem)])
        bound = server.add_secure_port(f"{self.host}:{port}", credentials)
        assert bound, f"port {port} could not be bound again"
        return server, bound

    def start(self) -> None:
        self._server.start()

    def die(self) -> None:
        """The worker process crashes: calls in flight are cut, connections are refused, and
        the sessions it knew are gone (a new process refuses their ``Bearer`` tokens)."""
        with self._lock:
            self._revoked |= self._bearers
            self._bearers.clear()
            self.alive = False
        self._server.stop(grace=None).wait(10)

    def revive(self) -> None:
        """A new worker process serves on the same port (sessions must connect anew)."""
        self._server, _ = self._listen(self.port)
        self._server.start()
        with self._lock:
            self.alive = True

    def close(self) -> None:
        self._server.stop(grace=None).wait(10)
        self._pool.shutdown(wait=True)
        self._channel.close()

    @property
    def calls(self) -> list[ProxiedCall]:
        with self._lock:
            return list(self._calls)

    # -- forwarding --------------------------------------------------------------------------

    def _authorize(self, method: str, context: grpc.ServicerContext) -> Metadata:
        """The metadata to send upstream: a verified token becomes the worker's PSK."""
        incoming = _passable(context.invocation_metadata())
        outgoing: list[tuple[str, str | bytes]] = []
        kind, user = "none", None
        for key, value in incoming:
            if key != "authorization":
                outgoing.append((key, value))
                continue
            text = value.decode("ascii") if isinstance(value, bytes) else value
            scheme, _, credential = text.partition(" ")
            if scheme == "Bearer":
                kind = "bearer"
                with self._lock:
                    revoked = text in self._revoked
                    if not revoked:
                        self._bearers.add(text)
                if revoked:
                    context.abort(
                        grpc.StatusCode.UNAUTHENTICATED, "Session not found: the worker restarted"
                    )
                outgoing.append((key, text))
            elif scheme == TOKEN_AUTH:
                kind = "token"
                user = self._verify(credential, context)
                outgoing.append((key, f"{PSK_AUTH} {self.psk}"))
            else:
                context.abort(
                    grpc.StatusCode.UNAUTHENTICATED, f"Unsupported authorization type {scheme}"
                )
        with self._lock:
            self._calls.append(ProxiedCall(method, kind, user, tuple(key for key, _ in incoming)))
        return tuple(outgoing)

    def _verify(self, credential: str, context: grpc.ServicerContext) -> str:
        try:
            token = auth_pb2.Token.FromString(base64.b64decode(credential, validate=True))
        except (binascii.Error, ValueError):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Malformed authentication token")
        user = self.auth.verify_token(token, WORKER_SERVICE)
        if user is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Authentication token is not valid")
        return user.effectiveUser

    def _resolve_database_ticket(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        request = table_pb2.FetchTableRequest.FromString(raw)
        ticket = request.source_id.ticket.ticket
        if not ticket.startswith(b"d/"):
            return raw
        with self._lock:
            self.database_fetches.append(ticket)
        parts = ticket.split(b"/")
        namespace = parts[2].decode() if len(parts) == 4 else ""
        if namespace in self.forbidden_namespaces:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, self.forbidden_namespaces[namespace])
        shared = self.database.get(ticket)
        if shared is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Could not resolve {ticket!r}")
        request.source_id.ticket.ticket = shared
        rewritten: bytes = request.SerializeToString()
        return rewritten

    def forward(
        self, method: str, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        if self.refuse is not None:
            context.abort(self.refuse, "worker is not reachable")
        metadata = self._authorize(method, context)
        for suffix, seconds in self.delays.items():
            if method.endswith(suffix):
                time.sleep(seconds)
        if method == FETCH_TABLE:
            requests = iter([self._resolve_database_ticket(next(requests), context)])
        relay: grpc.StreamStreamMultiCallable[bytes, bytes] = self._channel.stream_stream(method)
        call: Any = relay(requests, metadata=metadata)  # a grpc.Call that is also an iterator
        context.add_callback(call.cancel)
        try:
            context.send_initial_metadata(_passable(call.initial_metadata()))
            yield from call
        except grpc.RpcError:
            pass  # the status and trailers are read below
        trailing = _passable(call.trailing_metadata())
        if trailing:
            context.set_trailing_metadata(trailing)
        code = call.code()
        if code is not None and code != grpc.StatusCode.OK:
            context.abort(code, call.details() or "")
