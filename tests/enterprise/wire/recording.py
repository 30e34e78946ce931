"""What the fake services received, kept so tests can assert on exact request fields."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc

M = TypeVar("M")


@dataclass(frozen=True)
class RecordedCall:
    """One RPC as the server saw it: a copy of the request and the caller's metadata."""

    method: str
    request: Any  # a protobuf message (google.protobuf has no type stubs here)
    metadata: tuple[tuple[str, str | bytes], ...]
    at: float = field(default_factory=time.monotonic)


def metadata_of(context: grpc.ServicerContext) -> tuple[tuple[str, str | bytes], ...]:
    return tuple((key, value) for key, value in context.invocation_metadata())


class CallLog:
    """Thread-safe, append-only list of :class:`RecordedCall` (servers run RPCs on a pool)."""

    def __init__(self) -> None:
        self._calls: list[RecordedCall] = []
        self._lock = threading.Lock()

    def record(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        copy = type(request)()
        copy.CopyFrom(request)
        with self._lock:
            self._calls.append(RecordedCall(method, copy, metadata_of(context)))

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self._calls if method is None or call.method == method]

    def methods(self) -> list[str]:
        return [call.method for call in self.calls()]

    def requests(self, method: str, kind: type[M]) -> list[M]:
        """The requests of ``method``, typed (fails loudly if the type is not what was sent)."""
        found: list[M] = []
        for call in self.calls(method):
            assert isinstance(call.request, kind), (method, type(call.request))
            found.append(call.request)
        return found

    def last(self, method: str, kind: type[M]) -> M:
        requests = self.requests(method, kind)
        assert requests, f"no {method} request was recorded; got {self.methods()}"
        return requests[-1]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


def count(calls: Iterable[RecordedCall], method: str) -> int:
    return sum(1 for call in calls if call.method == method)
