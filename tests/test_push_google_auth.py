"""The push channel's own service-account flow, held to google-auth's.

cartnudge/channels/push.py signs its service-account assertion and exchanges it for an access
token itself (its docstring says why google-auth does not serve). These tests check that code
against google-auth's own logic, on the same local token endpoint as tests/test_push.py (a real
HTTP server that verifies the assertion's RS256 signature and claims):

* google-auth verifies our assertion (``google.auth.jwt.decode`` with the service account's
  public key, the token URI as audience) and finds the header and claims its own
  service-account credentials write;
* google-auth's token exchange (``google.oauth2._client.jwt_grant``, over a small httpx
  transport), sent to the same endpoint, gets the same access token and lifetime from the same
  answers, and refuses where the channel refuses and retries where it retries.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as google_exceptions
from google.auth import jwt as google_jwt
from google.auth import transport as google_transport
from google.oauth2 import _client as google_token_client
from google.oauth2 import service_account

from cartnudge.channels.base import Result
from cartnudge.channels.push import (
    DEFAULT_EXPIRES_IN,
    FCM_SCOPE,
    parse_token_response,
    service_account_jwt,
)
from cartnudge.errors import ChannelError
from tests import test_push
from tests.test_push import (
    CLIENT_EMAIL,
    FOREVER,
    GOOGLE_TOKEN_URI,
    MakeChannel,
    PushServer,
    Reply,
    envelope,
    service_account_json,
)

# tests/test_push.py's fixtures: the local token/FCM server, the service account's key, the channel
server = test_push.server
rsa_key = test_push.rsa_key
clock = test_push.clock
sleeps = test_push.sleeps
make_channel = test_push.make_channel

KEY_ID = "kid-0001"  # service_account_json's private_key_id


class _Response(google_transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._response.headers)

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxRequest(google_transport.Request):
    """google-auth's transport interface over an httpx client (google-auth ships transports for
    requests and urllib3 only)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        try:
            response = self.client.request(
                method, url, content=body, headers=headers, timeout=timeout or 5.0
            )
        except httpx.HTTPError as exc:
            raise google_transport.exceptions.TransportError(exc) from exc
        return _Response(response)


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _header(assertion: str | bytes) -> dict[str, Any]:
    head = (assertion.decode() if isinstance(assertion, bytes) else assertion).split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def _google_grant(server: PushServer, key: rsa.RSAPrivateKey) -> tuple[str, datetime | None]:
    """google-auth's token exchange of our assertion at the test server: (token, expiry)."""
    assertion = service_account_jwt(key, CLIENT_EMAIL, server.token_url, time.time(), KEY_ID)
    with httpx.Client() as client:
        token, expiry, _ = google_token_client.jwt_grant(
            HttpxRequest(client), server.token_url, assertion, can_retry=False
        )
    return token, expiry


# -- the assertion -------------------------------------------------------------------------------


def test_google_auth_verifies_our_assertion_and_writes_the_same_claims(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    token_uri = "http://127.0.0.1:9/token"
    ours = service_account_jwt(rsa_key, CLIENT_EMAIL, token_uri, time.time(), KEY_ID)
    certs = {KEY_ID: _public_pem(rsa_key)}
    claims = google_jwt.decode(ours, certs=certs, audience=token_uri)  # signature, times, aud

    info = json.loads(service_account_json(rsa_key, token_uri))
    credentials = service_account.Credentials.from_service_account_info(info, scopes=[FCM_SCOPE])
    theirs = credentials._make_authorization_grant_assertion()  # what its refresh() sends
    their_claims = google_jwt.decode(theirs, certs=certs, audience=GOOGLE_TOKEN_URI)

    assert _header(ours) == _header(theirs) == {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    assert claims.keys() == their_claims.keys() == {"iss", "scope", "aud", "iat", "exp"}
    assert claims["iss"] == their_claims["iss"] == CLIENT_EMAIL
    assert claims["scope"] == their_claims["scope"] == FCM_SCOPE
    assert claims["exp"] - claims["iat"] == their_claims["exp"] - their_claims["iat"] == 3600
    assert abs(claims["iat"] - their_claims["iat"]) <= 5
    # ours goes to the account's token_uri; google-auth pins Google's whatever token_uri says
    assert claims["aud"] == token_uri and their_claims["aud"] == GOOGLE_TOKEN_URI


def test_google_auth_refuses_our_assertion_under_another_key(rsa_key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token_uri = "http://127.0.0.1:9/token"
    ours = service_account_jwt(rsa_key, CLIENT_EMAIL, token_uri, time.time(), KEY_ID)
    with pytest.raises(ValueError, match="signature"):
        google_jwt.decode(ours, certs={KEY_ID: _public_pem(other)}, audience=token_uri)
    with pytest.raises(ValueError, match="audience"):
        google_jwt.decode(ours, certs={KEY_ID: _public_pem(rsa_key)}, audience=GOOGLE_TOKEN_URI)


# -- the token exchange --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"access_token": "ya29.number", "expires_in": 1800, "token_type": "Bearer"},
        {"access_token": "ya29.string", "expires_in": "1799", "token_type": "Bearer"},
        {"access_token": "ya29.short", "expires_in": 60},
    ],
)
def test_the_same_answer_gives_the_same_token_and_lifetime(
    make_channel: MakeChannel, server: PushServer, rsa_key: rsa.RSAPrivateKey, answer: dict
) -> None:
    server.token_replies.append(Reply(200, answer))
    before = datetime.now(UTC).replace(tzinfo=None)
    token, expiry = _google_grant(server, rsa_key)
    after = datetime.now(UTC).replace(tzinfo=None)

    server.token_replies.append(Reply(200, answer))
    server.valid_tokens.add(answer["access_token"])
    with make_channel() as channel:
        [result] = channel.send([envelope(1)])
    assert result.result is Result.SENT
    assert server.fcm_requests[0].headers["authorization"] == f"Bearer {token}"

    our_token, lifetime = parse_token_response(answer)  # what the channel cached, and for how long
    assert our_token == token
    assert expiry is not None
    assert before.timestamp() + lifetime - 1 <= expiry.timestamp() <= after.timestamp() + lifetime
    assert server.problems == []


def test_an_answer_without_a_lifetime(server: PushServer, rsa_key: rsa.RSAPrivateKey) -> None:
    """The one difference, on purpose: google-auth then holds the token as never expiring; the
    channel takes the hour Google issues and refreshes before it ends."""
    server.token_replies.append(Reply(200, {"access_token": "ya29.forever"}))
    token, expiry = _google_grant(server, rsa_key)
    assert (token, expiry) == ("ya29.forever", None)
    assert parse_token_response({"access_token": "ya29.forever"}) == (
        "ya29.forever",
        DEFAULT_EXPIRES_IN,
    )


def test_an_answer_without_a_token_is_refused_by_both(
    make_channel: MakeChannel, server: PushServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    answer = {"expires_in": 3600, "token_type": "Bearer"}
    server.token_replies.append(Reply(200, answer))
    with pytest.raises(google_exceptions.RefreshError, match="No access token"):
        _google_grant(server, rsa_key)
    server.token_replies.append(Reply(200, answer))
    with pytest.raises(ChannelError, match="without an access_token"):
        make_channel().open()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
        (401, {"error": "unauthorized_client"}),
        (403, "forbidden"),
        (400, {"error": "temporarily_unavailable"}),
        (400, {"error": "invalid_request", "error_description": "server_error"}),
        (408, "request timeout"),
        (429, {"error": "rate_limit_exceeded"}),
        (500, "internal error"),
        (503, "down for maintenance"),
        (504, "gateway timeout"),
    ],
)
def test_refused_and_retried_where_google_auth_refuses_and_retries(
    make_channel: MakeChannel,
    server: PushServer,
    rsa_key: rsa.RSAPrivateKey,
    status: int,
    body: Any,
) -> None:
    server.token_replies.append(Reply(status, body))
    with pytest.raises(google_exceptions.RefreshError) as info:
        _google_grant(server, rsa_key)
    google_retries = info.value.retryable

    server.token_replies.append(Reply(status, body, times=FOREVER))
    claims_before = len(server.claims)
    with pytest.raises(ChannelError, match=f"token request answered {status}"):
        make_channel().open()
    tries = len(server.claims) - claims_before
    assert tries == (3 if google_retries else 1), (status, body, google_retries)
