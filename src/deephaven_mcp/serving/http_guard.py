"""The first check on every HTTP request both servers answer: header shape, Host, Origin.

Rules, in the order they are applied:

* exactly one ``Host`` header, spelled ``host[:port]``: a DNS name, an IPv4 address or a
  bracketed IPv6 address, with an optional numeric port 1-65535. Anything else (userinfo,
  a list, spaces, a path, a non-numeric port) is ``400``. At most one ``Origin`` and one
  ``Authorization`` header, or ``400``: which copy a later layer would read is not ours
  to guess.
* the Host name must be loopback (``localhost``, 127.0.0.0/8, ``::1``), the address the
  server is bound to, or match an entry of ``allowed_hosts`` (ports ignored, ``*.x``
  patterns allowed, as in fastmcp); otherwise ``421``.
* an ``Origin``, when sent, must equal (scheme, host and port, after normalising case and
  default ports) one of ``allowed_origins`` or this server's own origin on the port it
  serves: ``http://127.0.0.1:<port>``, ``http://localhost:<port>``,
  ``http://[::1]:<port>``; otherwise ``403``, ``Origin: null`` included. A bare ``*`` in
  ``allowed_origins`` switches the Origin check off. Requests with no Origin (non-browser
  clients) pass.

fastmcp's :class:`HostOriginGuardMiddleware` cannot express these rules through its
options: its same-origin fallback accepts every loopback origin on any port whenever the
Host is loopback (so a page on ``http://localhost:1`` could drive a no-auth server), and
its host normalisation keeps whatever precedes the first colon (``localhost:1@evil``
passes as ``localhost``). Those decisions live in its ``__call__`` and module-private
helpers, so :class:`StrictHostOriginGuard` subclasses it and overrides ``__call__``,
keeping its constructor, attributes and responses (421/403) for everything the two agree on.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Final

from fastmcp.server.http import HostOriginGuardMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_log = logging.getLogger(__name__)

DEFAULT_PORTS: Final = {"http": 80, "https": 443}
WILDCARD: Final = "*"
# Only ASCII: \d and \w would also match other scripts' digits and letters.
_HOST_HEADER: Final = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(?P<port>[0-9]{1,5}))?"
)
_DNS_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_ORIGIN: Final = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#\s]+)/?")
_MAX_LOGGED: Final = 80


@dataclass(frozen=True)
class HostPort:
    """A parsed ``host[:port]``: the name lower-cased, IP addresses in canonical form."""

    name: str
    port: int | None = None

    @property
    def is_ipv6(self) -> bool:
        """Whether the name is an IPv6 address (it holds a colon; DNS names cannot)."""
        return ":" in self.name

    def netloc(self, port: int) -> str:
        """``name:port``, an IPv6 address in brackets."""
        name = f"[{self.name}]" if self.is_ipv6 else self.name
        return f"{name}:{port}"


def _canonical_name(text: str) -> str | None:
    """The host part of ``host[:port]`` in canonical form, or None if it is not one."""
    name = text.lower()
    if name.startswith("["):
        try:
            return ipaddress.IPv6Address(name[1:-1]).compressed
        except ValueError:
            return None
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        pass
    dns = name[:-1] if name.endswith(".") else name
    labels = dns.split(".")
    if len(dns) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return None
    # An all-digit last label is a mangled IPv4 address (127.1, 999.0.0.1), not a name.
    return None if labels[-1].isdigit() else name


def parse_host(value: str) -> HostPort | None:
    """``host[:port]`` as a Host header carries it; None when malformed."""
    match = _HOST_HEADER.fullmatch(value)
    if match is None:
        return None
    name = _canonical_name(match["host"])
    port = match["port"]
    if name is None or (port is not None and not 0 < int(port) < 65536):
        return None
    return HostPort(name, None if port is None else int(port))


def normalize_origin(value: str) -> str | None:
    """``scheme://host:port`` with case and default port normalised; None if not an origin.

    Only http and https origins count; a trailing ``/`` is tolerated (operators write it),
    any other path, a query, a fragment or userinfo is not an origin.
    """
    match = _ORIGIN.fullmatch(value.strip())
    if match is None:
        return None
    scheme = match["scheme"].lower()
    host = parse_host(match["authority"])
    if scheme not in DEFAULT_PORTS or host is None:
        return None
    port = host.port if host.port is not None else DEFAULT_PORTS[scheme]
    return f"{scheme}://{host.netloc(port)}"


def own_origins(scheme: str, port: int) -> frozenset[str]:
    """The origins of this server's own pages: the loopback spellings on its port."""
    return frozenset(f"{scheme}://{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]"))


def is_loopback_host(host: str) -> bool:
    """True for names that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_pattern(entry: str) -> str:
    """An ``allowed_hosts`` entry as a name pattern: lower-cased, port dropped."""
    text = entry.strip().lower()
    parsed = parse_host(text)
    if parsed is not None:
        return parsed.name
    if text.startswith("[") and "]" in text:
        return text[1 : text.index("]")]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def _is_unspecified(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_unspecified
    except ValueError:
        return False


def _for_log(value: str) -> str:
    return repr(value[:_MAX_LOGGED])


class StrictHostOriginGuard(HostOriginGuardMiddleware):
    """fastmcp's Host/Origin guard with exact origins and a strict Host grammar.

    Always strict (every request is checked, whatever the bind address). See the module
    docstring for the rules and for why ``__call__`` is overridden.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] | None = None,
        allowed_origins: Sequence[str] | None = None,
    ) -> None:
        super().__init__(app, allowed_hosts, allowed_origins, mode="strict")
        hosts = [_host_pattern(entry) for entry in self.allowed_hosts]
        self.any_host = WILDCARD in hosts
        self.host_patterns = tuple(hosts)
        origins = [entry.strip().rstrip("/") for entry in self.allowed_origins]
        self.any_origin = WILDCARD in origins
        self.listed_origins = frozenset(
            normalized for entry in origins if (normalized := normalize_origin(entry))
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a refused HTTP request here; pass the rest (and non-HTTP scopes) on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, text = refusal
        await PlainTextResponse(text, status_code=status)(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """``(status, body)`` when the request must be refused, else None."""
        values: dict[bytes, list[str]] = {b"host": [], b"origin": [], b"authorization": []}
        for raw_name, raw_value in scope["headers"]:
            found = values.get(raw_name.lower())
            if found is not None:
                found.append(raw_value.decode("latin-1"))
        hosts, origins = values[b"host"], values[b"origin"]
        if len(values[b"authorization"]) > 1:
            return self._refuse(400, "Bad Request: more than one Authorization header")
        if len(origins) > 1:
            return self._refuse(400, "Bad Request: more than one Origin header")
        host = parse_host(hosts[0]) if len(hosts) == 1 else None
        if host is None:
            shown = ", ".join(map(_for_log, hosts)) or "none"
            return self._refuse(400, "Bad Request: malformed Host header", shown)
        if not self.host_allowed(scope, host):
            return self._refuse(421, "Misdirected Request", _for_log(hosts[0]))
        if origins and not self.origin_allowed(scope, origins[0]):
            return self._refuse(403, "Forbidden Origin", _for_log(origins[0]))
        return None

    def host_allowed(self, scope: Scope, host: HostPort) -> bool:
        """Loopback, the bound address, or a match of ``allowed_hosts`` (ports ignored)."""
        if self.any_host or is_loopback_host(host.name):
            return True
        server = scope.get("server")
        if server and not _is_unspecified(server[0]):
            bound = parse_host(server[0] if ":" not in server[0] else f"[{server[0]}]")
            if bound is not None and bound.name == host.name:
                return True
        return any(fnmatchcase(host.name, pattern) for pattern in self.host_patterns)

    def origin_allowed(self, scope: Scope, origin: str) -> bool:
        """A listed origin, or this server's own loopback origin on the port it serves."""
        if self.any_origin:
            return True
        normalized = normalize_origin(origin)
        if normalized is None:  # "null", other schemes, paths: never a listed origin
            return False
        if normalized in self.listed_origins:
            return True
        server = scope.get("server")
        if not server or server[1] is None:
            return False
        return normalized in own_origins(scope.get("scheme", "http"), int(server[1]))

    @staticmethod
    def _refuse(status: int, text: str, shown: str = "") -> tuple[int, str]:
        _log.info("refused HTTP request (%d %s)%s", status, text, f": {shown}" if shown else "")
        return status, text
