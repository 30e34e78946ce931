"""A fake Deephaven authentication server (``AuthApi``) over the client's own protobufs.

It implements what the Core+ client calls: ``ping``, password and public-key login (with
``getNonce``), ``getToken`` (one-use tokens that the fake controller and the worker proxy
verify), ``refreshCookie`` and ``invalidateCookie``. Everything else answers UNIMPLEMENTED,
as the generated base class does. Every request is recorded.

Rejections follow what the client handles: bad credentials are an OK response with
``authenticated=False`` (the client raises ``AuthenticationFailedException``); an unknown
cookie is UNAUTHENTICATED with an ``AuthError`` in the trailing metadata, which the client
turns into a ``RuntimeError`` carrying the server's message.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from deephaven_enterprise.proto import auth_pb2, auth_service_pb2_grpc, common_pb2

from tests.enterprise.wire.recording import CallLog

SERVER_NAME = "fake-auth-server"
# A login that is no superuser (see FakeAuthService.add_plain_user), for permission tests.
PLAIN_USER = "carol"
PLAIN_PASSWORD = "plain-pw-5d2a"
ALL_USERS_GROUP = "allusers"  # every user is in it, as on a real install
# What the client reads auth errors from (deephaven_enterprise.client.util._auth_error_metadata_key).
AUTH_ERROR_KEY = auth_pb2.AuthError.DESCRIPTOR.full_name.lower() + "-bin"
EC_SENTINEL = b"EC:"
LOCALHOST_IP = bytes([127, 0, 0, 1])


def abort_with_auth_error(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    message: str,
    call_status: auth_pb2.CallStatus.ValueType = auth_pb2.NOT_AUTHENTICATED,
) -> None:
    """Fail the RPC the way Deephaven servers report auth problems (raises)."""
    error = auth_pb2.AuthError(callStatus=call_status, message=message)
    context.set_trailing_metadata(((AUTH_ERROR_KEY, error.SerializeToString()),))
    context.abort(code, message)


@dataclass
class Session:
    """An authenticated client: what its cookie stands for."""

    user: auth_pb2.UserContext
    deadline_millis: int


def _now_millis() -> int:
    return time.time_ns() // 1_000_000


def _verify_signature(public_key_bytes: bytes, nonce: bytes, signature: bytes) -> bool:
    """Check a nonce signature the way the real server does (ECDSA or DSA over SHA-256)."""
    der = public_key_bytes.removeprefix(EC_SENTINEL)
    key = load_der_public_key(der)
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, nonce, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(signature, nonce, hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


class FakeAuthService(auth_service_pb2_grpc.AuthApiServicer):
    """In-memory users, cookies and tokens; see the module docstring."""

    def __init__(self, users: dict[str, str] | None = None, cookie_lifetime: float = 600.0):
        self.users = dict(users or {})
        # user -> public keys (DER, with the "EC:" prefix for EC keys, as the key file holds them)
        self.public_keys: dict[str, set[bytes]] = {}
        self.cookie_lifetime = cookie_lifetime
        self.reject_with_status = False  # bad credentials as UNAUTHENTICATED instead of a reply
        self.log = CallLog()
        self._lock = threading.Lock()
        self._sessions: dict[bytes, Session] = {}
        self._nonces: dict[bytes, bytes] = {}  # client uuid -> nonce
        self._tokens: dict[int, auth_pb2.Token] = {}
        self.tokens_issued = 0
        self.tokens_verified: list[auth_pb2.Token] = []
        # Users who are no superusers, with their groups; everyone else is a superuser.
        self.plain_users: dict[str, frozenset[str]] = {}

    # -- hooks for tests ---------------------------------------------------------------------

    def add_public_key(self, public_text: str) -> None:
        """Register a public key line as written by ``AuthClient.generate_keypair``."""
        user, encoded = public_text.split()
        self.public_keys.setdefault(user, set()).add(base64.b64decode(encoded))

    # -- users and groups: superusers unless added with add_plain_user -----------------------

    def add_plain_user(
        self, user: str = PLAIN_USER, password: str = PLAIN_PASSWORD, groups: tuple[str, ...] = ()
    ) -> None:
        """A user who is no superuser: only a query's owner, adminGroups and viewerGroups
        (with its restartUsers) grant them rights to it (see the controller's ``refusal``)."""
        self.users[user] = password
        self.plain_users[user] = frozenset(groups)

    def is_superuser(self, user: str) -> bool:
        return user not in self.plain_users

    def groups_of(self, user: str) -> frozenset[str]:
        """The user's groups: their own name, allusers and any they were given."""
        return frozenset({user, ALL_USERS_GROUP, *self.plain_users.get(user, ())})

    def expire_all_cookies(self) -> None:
        """Forget every session, as an auth server restart or failover would."""
        with self._lock:
            self._sessions.clear()
            self._tokens.clear()

    @property
    def live_cookies(self) -> int:
        with self._lock:
            return len(self._sessions)

    def verify_token(self, token: auth_pb2.Token, service: str) -> auth_pb2.UserContext | None:
        """Consume a one-use token presented to ``service``; its user, or None if invalid."""
        with self._lock:
            issued = self._tokens.pop(token.token_id, None)
        if issued is None or issued.service != service or issued != token:
            return None
        self.tokens_verified.append(issued)
        return issued.user_context

    # -- helpers -----------------------------------------------------------------------------

    def _new_session(self, user: auth_pb2.UserContext) -> auth_pb2.AuthenticationResult:
        cookie = secrets.token_bytes(24)
        deadline = _now_millis() + int(self.cookie_lifetime * 1000)
        with self._lock:
            self._sessions[cookie] = Session(user=user, deadline_millis=deadline)
        return auth_pb2.AuthenticationResult(
            authenticated=True,
            cookie=cookie,
            cookie_deadline_time_millis=deadline,
            userContext=user,
        )

    def _session(self, cookie: bytes, context: grpc.ServicerContext) -> Session:
        with self._lock:
            session = self._sessions.get(cookie)
        if session is None or session.deadline_millis < _now_millis():
            abort_with_auth_error(
                context, grpc.StatusCode.UNAUTHENTICATED, "Cookie is not valid or has expired"
            )
            raise AssertionError("unreachable: abort raises")
        return session

    def _failed(self, context: grpc.ServicerContext, what: str) -> auth_pb2.AuthenticationResult:
        if self.reject_with_status:
            abort_with_auth_error(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                f"Authentication failed: {what}",
                auth_pb2.AUTH_ERROR_NON_RETRYABLE,
            )
        return auth_pb2.AuthenticationResult(authenticated=False)

    # -- AuthApi -----------------------------------------------------------------------------

    def ping(
        self, request: common_pb2.PingRequest, context: grpc.ServicerContext
    ) -> common_pb2.PingResponse:
        self.log.record("ping", request, context)
        response = common_pb2.PingResponse(receiver_receive_time_millis=_now_millis())
        setattr(response, "from", SERVER_NAME)  # "from" is a Python keyword
        return response

    def authenticateByPassword(
        self, request: auth_pb2.AuthenticateByPasswordRequest, context: grpc.ServicerContext
    ) -> auth_pb2.AuthenticateByPasswordResponse:
        self.log.record("authenticateByPassword", request, context)
        user = request.user_context
        expected = self.users.get(user.authenticatedUser)
        if expected is None or not secrets.compare_digest(expected, request.password):
            return auth_pb2.AuthenticateByPasswordResponse(result=self._failed(context, "password"))
        if user.effectiveUser not in ("", user.authenticatedUser):
            return auth_pb2.AuthenticateByPasswordResponse(
                result=self._failed(context, "may not operate as another user")
            )
        return auth_pb2.AuthenticateByPasswordResponse(result=self._new_session(user))

    def getNonce(
        self, request: auth_pb2.GetNonceRequest, context: grpc.ServicerContext
    ) -> auth_pb2.GetNonceResponse:
        self.log.record("getNonce", request, context)
        nonce = secrets.token_bytes(32)
        with self._lock:
            self._nonces[request.client_id.uuid] = nonce
        return auth_pb2.GetNonceResponse(nonce=nonce, ip_address=LOCALHOST_IP)

    def authenticateByPublicKey(
        self, request: auth_pb2.AuthenticateByPublicKeyRequest, context: grpc.ServicerContext
    ) -> auth_pb2.AuthenticateByPublicKeyResponse:
        self.log.record("authenticateByPublicKey", request, context)
        user = request.user_context
        with self._lock:
            nonce = self._nonces.pop(request.client_id.uuid, None)
        known = self.public_keys.get(user.authenticatedUser, set())
        ok = (
            nonce is not None
            and request.public_key in known
            and user.effectiveUser in ("", user.authenticatedUser)
            and _verify_signature(request.public_key, nonce, request.challenge_response)
        )
        if not ok:
            return auth_pb2.AuthenticateByPublicKeyResponse(
                result=self._failed(context, "public key")
            )
        return auth_pb2.AuthenticateByPublicKeyResponse(result=self._new_session(user))

    def getToken(
        self, request: auth_pb2.GetTokenRequest, context: grpc.ServicerContext
    ) -> auth_pb2.GetTokenResponse:
        self.log.record("getToken", request, context)
        session = self._session(request.cookie, context)
        token = auth_pb2.Token(
            token_id=secrets.randbits(62),
            service=request.service,
            user_context=session.user,
            ip_address=LOCALHOST_IP,
        )
        with self._lock:
            self._tokens[token.token_id] = token
            self.tokens_issued += 1
        return auth_pb2.GetTokenResponse(token=token)

    def refreshCookie(
        self, request: auth_pb2.RefreshCookieRequest, context: grpc.ServicerContext
    ) -> auth_pb2.RefreshCookieResponse:
        self.log.record("refreshCookie", request, context)
        session = self._session(request.cookie, context)
        session.deadline_millis = _now_millis() + int(self.cookie_lifetime * 1000)
        return auth_pb2.RefreshCookieResponse(
            cookie=request.cookie, cookie_deadline_time_millis=session.deadline_millis
        )

    def invalidateCookie(
        self, request: auth_pb2.InvalidateCookieRequest, context: grpc.ServicerContext
    ) -> auth_pb2.InvalidateCookieResponse:
        self.log.record("invalidateCookie", request, context)
        with self._lock:
            self._sessions.pop(request.cookie, None)
        return auth_pb2.InvalidateCookieResponse()
