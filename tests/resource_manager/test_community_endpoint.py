"""CommunityEndpoint: the one model behind pydeephaven arguments, URLs and credentials."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deephaven_mcp.config.auth_type import PSK_HANDLER, AuthType
from deephaven_mcp.config.models import CommunityEndpoint, TlsFiles
from deephaven_mcp.errors import SessionUnavailableError
from deephaven_mcp.launchers import LaunchedWorker
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import CommunitySession
from deephaven_mcp.resource_manager.dynamic_session import DynamicCommunitySession
from deephaven_mcp.systems._community import credentials

AWKWARD_TOKEN = "a&b=c d"


def _psk(host: str = "localhost", **extra: object) -> CommunityEndpoint:
    return CommunityEndpoint.model_validate(
        {"host": host, "port": 10000, "auth_type": "PSK", "auth_token": AWKWARD_TOKEN, **extra}
    )


def test_browser_url_escapes_the_token() -> None:
    endpoint = _psk()
    assert endpoint.base_url == "http://localhost:10000"
    assert endpoint.browser_url == "http://localhost:10000/?psk=a%26b%3Dc%20d"


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("::1", "http://[::1]:10000"),
        ("[::1]", "http://[::1]:10000"),
        ("fe80::1", "http://[fe80::1]:10000"),
        ("127.0.0.1", "http://127.0.0.1:10000"),
    ],
)
def test_ipv6_hosts_are_bracketed(host: str, base: str) -> None:
    endpoint = _psk(host)
    assert endpoint.base_url == base
    assert endpoint.browser_url == f"{base}/?psk=a%26b%3Dc%20d"


def test_tls_is_one_decision_for_urls_and_connection() -> None:
    by_flag = _psk(use_tls=True)
    by_roots = _psk(tls_root_certs="/ca.pem")
    for endpoint in (by_flag, by_roots):
        assert endpoint.base_url == "https://localhost:10000"
        assert endpoint.session_kwargs()["use_tls"] is True
    assert _psk().session_kwargs()["use_tls"] is False


def test_anonymous_and_other_types_get_no_token_in_the_url() -> None:
    anonymous = CommunityEndpoint(host="h", port=1, auth_token=None)
    assert (anonymous.browser_url, anonymous.resolve_token()) == ("http://h:1/", "")
    basic = CommunityEndpoint.model_validate({"host": "h", "port": 1, "auth_type": "basic"})
    assert basic.browser_url == "http://h:1/"


def test_session_kwargs() -> None:
    files = TlsFiles(root_certs=b"ca", cert_chain=b"chain", private_key=b"key")
    kwargs = _psk(session_type="Groovy", never_timeout=False).session_kwargs(files)
    assert kwargs == {
        "host": "localhost",
        "port": 10000,
        "auth_type": PSK_HANDLER,
        "auth_token": AWKWARD_TOKEN,
        "never_timeout": False,
        "session_type": "groovy",
        "use_tls": False,
        "tls_root_certs": b"ca",
        "client_cert_chain": b"chain",
        "client_private_key": b"key",
    }
    custom = CommunityEndpoint.model_validate({"auth_type": "com.example.Handler"})
    assert custom.session_kwargs()["auth_type"] == "com.example.Handler"


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = CommunityEndpoint.model_validate(
        {"auth_type": "PSK", "auth_token_env_var": "DH_TEST_ENDPOINT_PSK"}
    )
    monkeypatch.delenv("DH_TEST_ENDPOINT_PSK", raising=False)
    with pytest.raises(SessionUnavailableError) as caught:
        endpoint.resolve_token()
    assert str(caught.value) == (
        "environment variable DH_TEST_ENDPOINT_PSK (auth_token_env_var) is not set"
    )
    monkeypatch.setenv("DH_TEST_ENDPOINT_PSK", "x/y")
    assert endpoint.session_kwargs()["auth_token"] == "x/y"
    assert endpoint.browser_url == "http://localhost:10000/?psk=x%2Fy"
    assert "x/y" not in repr(endpoint)


class _NoControl:
    async def stop(self, timeout: float) -> None:
        raise AssertionError("not used")

    async def is_running(self) -> bool:
        return True


def _worker(host: str, auth: AuthType, token: str | None) -> LaunchedWorker:
    return LaunchedWorker(
        session_name="w",
        launch_method="python",
        host=host,
        port=4321,
        auth_type=auth,
        auth_token=token,
        pid=None,
        container_id=None,
        started_at=datetime.now(UTC),
        _control=_NoControl(),
    )


def test_launched_worker_uses_the_same_endpoint() -> None:
    worker = _worker("::1", AuthType.PSK, AWKWARD_TOKEN)
    assert worker.base_url == "http://[::1]:4321"
    assert worker.browser_url == "http://[::1]:4321/?psk=a%26b%3Dc%20d"
    assert worker.client_auth_type == PSK_HANDLER
    endpoint = worker.endpoint("groovy")
    assert (endpoint.auth_type, endpoint.session_type) == (AuthType.PSK, "groovy")
    assert endpoint.session_kwargs()["auth_token"] == AWKWARD_TOKEN


def test_credentials_use_the_endpoint_for_static_and_dynamic_sessions() -> None:
    static = CommunitySession.from_config("s", _psk("::1"), Timeouts())
    answer = credentials(static, "all")
    assert (answer.auth_type, answer.auth_token) == ("PSK", AWKWARD_TOKEN)
    assert answer.connection_url == "http://[::1]:10000"
    assert answer.browser_url == "http://[::1]:10000/?psk=a%26b%3Dc%20d"

    worker = _worker("127.0.0.1", AuthType.ANONYMOUS, None)
    dynamic = DynamicCommunitySession(worker, "Groovy", Timeouts())
    assert dynamic.endpoint.session_type == "groovy"
    answer = credentials(dynamic, "dynamic_only")
    assert (answer.auth_type, answer.auth_token) == ("Anonymous", "")
    assert answer.browser_url == worker.browser_url == "http://127.0.0.1:4321/"

    custom = CommunityEndpoint.model_validate({"auth_type": "com.example.H", "auth_token": "t"})
    answer = credentials(CommunitySession.from_config("c", custom, Timeouts()), "all")
    assert (answer.auth_type, answer.auth_token) == ("com.example.H", "t")
    assert answer.browser_url == "http://localhost:10000/"
