"""JWT checking with the time rules fastmcp's :class:`JWTVerifier` leaves open.

fastmcp checks the signature, issuer, audience, scopes, an ``exp`` in the past and an
``nbf`` more than 30 s ahead. It accepts a token without ``exp`` (one that never
expires) and ignores ``iat``. :class:`StrictJWTVerifier` keeps all of fastmcp's checks
(it calls them first) and then also requires a numeric ``exp``, refuses an ``iat`` or
``nbf`` more than :data:`CLOCK_SKEW_SECONDS` in the future, and, when configured, a
lifetime (``exp - iat``, or ``exp - now`` without ``iat``) longer than the maximum. A
refused token is an invalid token: the caller gets 401.

A module of its own so that the JOSE stack is imported only by servers that use JWTs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Final

from fastmcp.server.auth import AccessToken
from fastmcp.server.auth.providers.jwt import JWTVerifier

_log = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS: Final = 30


def _number(value: Any) -> float | None:
    # bool is an int subclass, and true is not a time.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def time_claims_problem(
    claims: Mapping[str, Any], now: float, max_lifetime_seconds: int | None = None
) -> str | None:
    """Why the token's time claims are unacceptable at ``now``, or None if they are fine."""
    exp = _number(claims.get("exp"))
    if exp is None:
        return "no numeric exp claim"
    if exp < now:
        return "expired"
    latest = now + CLOCK_SKEW_SECONDS
    issued = None
    for name in ("iat", "nbf"):
        if name not in claims:
            continue
        moment = _number(claims[name])
        if moment is None:
            return f"{name} claim is not a number"
        if moment > latest:
            return f"{name} is in the future"
        if name == "iat":
            issued = moment
    if max_lifetime_seconds is not None:
        lifetime = exp - (issued if issued is not None else now)
        if lifetime > max_lifetime_seconds:
            return f"lifetime {lifetime:.0f}s is longer than {max_lifetime_seconds}s"
    return None


class StrictJWTVerifier(JWTVerifier):
    """fastmcp's JWT verifier plus the time rules in :func:`time_claims_problem`."""

    def __init__(self, *, max_token_lifetime_seconds: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.max_token_lifetime_seconds = max_token_lifetime_seconds

    async def load_access_token(self, token: str) -> AccessToken | None:
        """The token if fastmcp's checks and the time rules pass; else None and a log line."""
        # verify_token delegates here, so both entry points get the extra rules.
        access = await super().load_access_token(token)
        if access is None:
            return None
        problem = time_claims_problem(access.claims, time.time(), self.max_token_lifetime_seconds)
        if problem is not None:
            _log.info("bearer token rejected for client %s: %s", access.client_id, problem)
            return None
        return access
