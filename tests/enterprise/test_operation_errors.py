"""A refusal from the controller keeps the controller's reason (its gRPC details)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from deephaven_mcp.enterprise.errors import EnterpriseOperationError, operation_error
from deephaven_mcp.errors import SessionUnavailableError


def _refuse(request: bytes, context: grpc.ServicerContext) -> bytes:
    code, _, details = request.decode().partition(" ")
    context.abort(getattr(grpc.StatusCode, code), details)
    raise AssertionError("abort returns by raising")


@pytest.fixture(scope="module")
def refusing_server() -> Iterator[str]:
    """A real gRPC server whose one method answers with the status named in the request."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.method_handlers_generic_handler(
        "test.Refuser", {"Call": grpc.unary_unary_rpc_method_handler(_refuse)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None).wait()


def _real_error(target: str, request: str) -> grpc.RpcError:
    with grpc.insecure_channel(target) as channel:
        call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary("/test.Refuser/Call")
        try:
            call(request.encode(), timeout=10)
        except grpc.RpcError as exc:
            return exc
    raise AssertionError("the call was not refused")


@pytest.mark.parametrize(
    ("request_text", "kind", "expected"),
    [
        (
            "FAILED_PRECONDITION Query name 'q' is already in use\nat com.illumon...",
            EnterpriseOperationError,
            "Creating failed (FAILED_PRECONDITION): Query name 'q' is already in use.",
        ),
        (
            "PERMISSION_DENIED user alice may not administer query 7",
            EnterpriseOperationError,
            "Creating failed: permission denied (PERMISSION_DENIED): "
            "user alice may not administer query 7.",
        ),
        (
            "UNAVAILABLE controller is restarting",
            SessionUnavailableError,
            "Creating failed: the server is unreachable (UNAVAILABLE): controller is restarting.",
        ),
    ],
)
def test_the_servers_reason_reaches_the_message(
    refusing_server: str, request_text: str, kind: type[Exception], expected: str
) -> None:
    error = operation_error("Creating", _real_error(refusing_server, request_text))
    assert isinstance(error, kind)
    assert str(error) == expected
    assert "_InactiveRpcError" not in str(error)
