"""The push channel: Firebase Cloud Messaging (HTTP v1) or a generic webhook, one client per sweep.

A push message is addressed to a device token (``Envelope.recipient``) and carries the UTF-8
JSON that :func:`push_payload` builds (``title``, ``body``, ``link``, ``data``). ``open()`` checks
the configuration, starts one :class:`httpx.Client` for the sweep (connections are kept alive
and reused) and, for FCM, gets an OAuth2 access token from the service account: a JWT signed
with its RSA key (RS256) exchanged at the token endpoint. The token is cached and refreshed a
few minutes before it expires (the clock is injectable). ``open()`` fails loudly with
:class:`ChannelError` for an unusable configuration or refused credentials; ``send(batch)``
never raises for one message.

Answers:

* 2xx: ``sent`` (FCM: the message name it returned).
* The token is gone (FCM ``UNREGISTERED``, or ``INVALID_ARGUMENT`` about ``message.token``;
  webhook 404/410): ``permanent`` with ``hard_bounce`` so that the sweep stops pushing to it.
* FCM 401: the access token is refreshed once and the request repeated.
* 429 and 5xx: retried with exponential backoff (tenacity, at most ``max_tries``), waiting at
  least what ``Retry-After`` asks; then ``temporary``. A ``Retry-After`` longer than
  :data:`MAX_RETRY_AFTER` is not waited for: the message is left for a later sweep at once.
* Other 4xx: ``permanent``.
* Failing to connect or to write the request is retried (nothing reached the server). Losing
  the connection or timing out *after* the whole request was written is ``in_doubt`` and never
  retried: the service may have accepted it, and cartnudge is at-most-once.

Several requests at once: with ``push.concurrency: N`` a batch is sent by N threads on the one
client (:class:`cartnudge.channels.base.Workers`), in HTTP/2 when the https server offers it
and ``push.http2`` is on (FCM does: N streams on one connection), else on up to N keep-alive
HTTP/1.1 connections. Results come back in envelope order, and every rule above holds per
request (a dropped connection leaves in doubt only the requests that had wholly left, the
webhook's ``Idempotency-Key`` is the delivery's own on every try). ``push.rate_limit`` is shared
by them all; a 429 pauses every request of the channel for its ``Retry-After``. The access
token is fetched and refreshed by one thread at a time.

Secrets (the service-account JSON and its key, the access token, the signed assertion, the
webhook secret) never appear in an exception, a delivery detail or a log line.

Why not google-auth: the service-account flow is a dozen lines here (:func:`service_account_jwt`,
:func:`parse_token_response`), and google-auth (2.63, checked when this was written) does not
serve it. Its assertion takes ``iat``/``exp`` from the real clock, so the channel's injectable
clock, which the token cache and its refresh before expiry run on, cannot drive it; it pins the
assertion's audience to https://oauth2.googleapis.com/token whatever the service account's
``token_uri`` (or ``push.token_uri``) says, so it cannot be pointed at another token endpoint;
its token request retries 5xx/408/429 on its own with real sleeps and no ``Retry-After``, under
this channel's retries (``max_tries``, backoff, ``Retry-After``); it has no httpx transport (it
wants requests or urllib3, neither a dependency, or an adapter); and importing it would add
some 40-100 ms to the push channel's start (``python -X importtime``, this project's machine).
So the flow stays here, and tests/test_push_google_auth.py holds it to google-auth's own
logic: google-auth verifies our assertion (``google.auth.jwt.decode`` with the service account's
public key) and finds the claims its own service-account credentials write; its token exchange
(``google.oauth2._client``), run against the same token endpoint, gets the same token and
lifetime from the same answers, and refuses or retries where this channel does (that comparison
is why a 408 and the OAuth errors ``server_error``/``temporarily_unavailable`` are retried).
google-auth is a test dependency only (``.[dev]``).
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from tenacity import RetryCallState

from cartnudge.channels import base
from cartnudge.channels.base import Channel, Envelope, Result, SendResult
from cartnudge.channels.ratelimit import Limiter
from cartnudge.channels.settings import PushSettings, push_payload  # noqa: F401 - defined there
from cartnudge.core.answers import Answer, AnswerKind, classify_fcm, classify_webhook
from cartnudge.errors import ChannelError

log = logging.getLogger(__name__)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = 3600  # seconds; the longest Google accepts
REFRESH_MARGIN = 300.0  # refresh the access token this long before it expires
DEFAULT_EXPIRES_IN = 3600.0  # when the token endpoint does not say
MAX_BACKOFF = 60.0  # seconds; a cap on the exponential wait between two tries
MAX_RETRY_AFTER = 60.0  # a longer Retry-After leaves the message for a later sweep
MAX_DETAIL = 500  # characters of an answer kept for the delivery row
SECRET_PLACEHOLDER = "{secret}"
USER_AGENT = "cartnudge-push"

# Nothing reached the server: another try cannot make a duplicate.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.ProxyError,
)
_GONE_CODES = frozenset({"UNREGISTERED"})
_THIRD_PARTY_AUTH = "THIRD_PARTY_AUTH_ERROR"  # APNs / web push credentials at Firebase
# OAuth error codes that say "the server's trouble, try again" (RFC 6749 4.1.2.1; google-auth's
# token client retries them whatever the status)
_OAUTH_RETRYABLE = ("internal_failure", "server_error", "temporarily_unavailable")


# -- payload ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    link: str
    data: dict[str, Any]


def parse_payload(raw: bytes) -> PushMessage:
    """Read :func:`push_payload` bytes back; :class:`ValueError` with a short reason."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("not UTF-8 JSON") from None
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    title, body = doc.get("title"), doc.get("body")
    link, data = doc.get("link") or "", doc.get("data") or {}
    if not isinstance(title, str) or not title.strip():
        raise ValueError("no title")
    if not isinstance(body, str):
        raise ValueError("no body")
    if not isinstance(link, str):
        raise ValueError("link is not a string")
    if not isinstance(data, dict):
        raise ValueError("data is not an object")
    return PushMessage(title, body, link, data)


def _as_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def fcm_message(token: str, message: PushMessage, click_action: str | None = None) -> dict:
    """The FCM HTTP v1 request body for one device (``data`` values must be strings)."""
    data = {str(k): _as_string(v) for k, v in message.data.items()}
    if message.link:
        data["link"] = message.link
    body: dict[str, Any] = {
        "token": token,
        "notification": {"title": message.title, "body": message.body},
    }
    if data:
        body["data"] = data
    if message.link.startswith("https://"):  # FCM refuses a webpush link that is not HTTPS
        body["webpush"] = {"fcm_options": {"link": message.link}}
    if click_action:
        body["android"] = {"notification": {"click_action": click_action}}
    return {"message": body}


def webhook_body(token: str, message: PushMessage) -> dict:
    """The generic webhook's request body: the payload plus the device token."""
    return {
        "title": message.title,
        "body": message.body,
        "link": message.link,
        "data": message.data,
        "token": token,
    }


# -- service account and JWT -------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _ServiceAccount:
    client_email: str
    key: rsa.RSAPrivateKey
    key_id: str
    token_uri: str

    def __repr__(self) -> str:  # never the key
        return f"_ServiceAccount({self.client_email!r})"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def service_account_jwt(
    key: rsa.RSAPrivateKey, client_email: str, token_uri: str, now: float, key_id: str = ""
) -> str:
    """The signed assertion (RS256) exchanged for an FCM access token."""
    header: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
    if key_id:
        header["kid"] = key_id
    iat = int(now)
    claims = {
        "iss": client_email,
        "scope": FCM_SCOPE,
        "aud": token_uri,
        "iat": iat,
        "exp": iat + JWT_LIFETIME,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def parse_token_response(doc: Any) -> tuple[str, float]:
    """The access token and its lifetime in seconds from a token endpoint's 200 answer (parsed
    JSON): ``expires_in`` may be a number or a numeric string (RFC 6749 5.1 says a number; some
    servers send a string); missing or unusable, :data:`DEFAULT_EXPIRES_IN` (the lifetime Google
    issues). :class:`ValueError` when there is no access token."""
    token = doc.get("access_token") if isinstance(doc, dict) else None
    if not isinstance(token, str) or not token:
        raise ValueError("the token endpoint answered 200 without an access_token")
    expires_in = doc.get("expires_in", DEFAULT_EXPIRES_IN)
    if isinstance(expires_in, str):
        try:
            expires_in = float(expires_in)
        except ValueError:
            expires_in = DEFAULT_EXPIRES_IN
    if not isinstance(expires_in, int | float) or not math.isfinite(expires_in):
        expires_in = DEFAULT_EXPIRES_IN
    return token, max(0.0, float(expires_in))


# -- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ApiError:
    """A Google API error body (``{"error": {...}}``), or an answer's text for anything else."""

    status: str = ""
    codes: tuple[str, ...] = ()
    message: str = ""
    fields: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        return " ".join(p for p in (self.status, *self.codes, self.message) if p)

    def has(self, code: str) -> bool:
        return self.status == code or code in self.codes

    @property
    def about_token(self) -> bool:
        return "message.token" in self.fields or "registration token" in self.message.lower()


def _api_error(response: httpx.Response) -> _ApiError:
    try:
        doc = response.json()
    except ValueError:
        doc = None
    err = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(err, dict):
        codes: list[str] = []
        fields: list[str] = []
        for detail in err.get("details") or ():
            if not isinstance(detail, dict):
                continue
            if detail.get("errorCode"):
                codes.append(str(detail["errorCode"]))
            for violation in detail.get("fieldViolations") or ():
                if isinstance(violation, dict) and violation.get("field"):
                    fields.append(str(violation["field"]))
        return _ApiError(
            str(err.get("status") or ""), tuple(codes), str(err.get("message") or ""), tuple(fields)
        )
    if isinstance(err, str):  # OAuth: {"error": "invalid_grant", "error_description": "..."}
        description = doc.get("error_description") if isinstance(doc, dict) else None
        return _ApiError(err, (), str(description or ""))
    return _ApiError(message=_snippet(response))


def _snippet(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return ""
    return " ".join(text.split())[:200]


def _describe(exc: BaseException) -> str:
    """A transport error in a few words: 'ReadTimeout (timed out)'."""
    words = " ".join(str(exc).split())
    return f"{type(exc).__name__} ({words})" if words else type(exc).__name__


def _retryable(status: int) -> bool:
    """408, 429 and 5xx: worth another try (google-auth's token client retries the same)."""
    return status in (408, 429) or 500 <= status < 600


class _Retry(base.Failure):
    """Worth another try now: 429, 5xx, the request did not leave."""

    def __init__(
        self, detail: str, retry_after: float | None = None, *, throttled: bool = False
    ) -> None:
        super().__init__(detail, retry_after)
        self.throttled = throttled  # the project's quota: after the last try, THROTTLED


class _Unusable(base.Failure):
    """Nothing more can be sent in this batch (credentials refused); not the message's fault."""


# -- the channel --------------------------------------------------------------------------------


class PushChannel(Channel):
    """Push notifications through FCM HTTP v1 or a generic webhook."""

    name = "push"

    def __init__(
        self,
        settings: PushSettings,
        secret: str | None,
        *,
        retries: base.Retries | None = None,
        clock: Callable[[], float] = time.time,
        limiter: Limiter | None = None,
    ) -> None:
        self.settings = settings
        self._secret = secret
        self.retries = retries or base.Retries()
        # push.rate_limit: every request waits for its slot, over all concurrent requests.
        self.limiter = limiter or Limiter(settings.rate_limit.limit(), sleep=self.retries.sleep)
        self._workers = base.Workers(settings.concurrency, "push")
        self._clock = clock
        self._client: httpx.Client | None = None
        self._account: _ServiceAccount | None = None
        self._headers: dict[str, str] = {}
        self._token: str | None = None
        self._refresh_at = 0.0
        self._token_lock = threading.Lock()  # one token request at a time, for every thread
        self._redact: set[str] = set()
        self._exponential = self.retries.exponential(MAX_BACKOFF)
        self._retrying = self.retries.retrying(
            _Retry,
            log=log,
            where=f"push {self.where}",
            clean=self._clean,
            wait=self._wait,
            stop=self._stop,
        )
        self._forget(secret)

    @property
    def where(self) -> str:
        s = self.settings
        if s.provider == "fcm":
            return f"fcm {s.project_id or '(no project)'}"
        try:
            parts = urlsplit(s.url)
            host, port = parts.hostname or "(no url)", parts.port
        except ValueError:
            return "webhook (bad url)"
        return f"webhook {host}:{port}" if port else f"webhook {host}"

    def __repr__(self) -> str:
        return f"PushChannel({self.where})"

    # -- connection ---------------------------------------------------------------------------

    def open(self) -> None:
        """Check the configuration, start the sweep's client and (FCM) get an access token."""
        if self._client is not None:
            return
        if self.settings.provider == "fcm":
            self._account = self._load_account()
        else:
            self._headers = self._webhook_headers()
        self._client = base.http_client(
            timeout=self.settings.timeout,
            headers={"User-Agent": USER_AGENT},
            concurrency=self.settings.concurrency,
            http2=self.settings.http2,
        )
        if self.settings.provider == "fcm":
            try:
                self._retrying(self._fetch_token)
            except _Retry as exc:
                self.close()
                raise self._error(f"cannot get an access token: {self._gave_up(exc)}") from None
            except _Unusable as exc:
                self.close()
                raise self._error(exc.detail) from None

    def close(self) -> None:
        self._workers.shutdown()
        client, self._client = self._client, None
        self._token = None
        if client is not None:
            client.close()

    def _error(self, what: str) -> ChannelError:
        return ChannelError(self._clean(f"push {self.where}: {what}"))

    def _forget(self, secret: str | None) -> None:
        """Never show ``secret`` (nor, for a multi-line one such as a PEM key, any long line of
        it) in a message."""
        if not secret:
            return
        self._redact.add(secret)
        if secret.strip():
            self._redact.add(secret.strip())
        for line in secret.splitlines():
            if len(line.strip()) >= 16:
                self._redact.add(line.strip())

    def _clean(self, text: str) -> str:
        """One line, bounded, and no secret (should a server ever echo one)."""
        for secret in sorted(self._redact, key=len, reverse=True):
            text = text.replace(secret, "***")
        return " ".join(text.split())[:MAX_DETAIL]

    def _load_account(self) -> _ServiceAccount:
        s = self.settings
        if not s.project_id.strip():
            raise self._error("push.project_id is missing (the Firebase project's id)")
        var = s.service_account_env or "push.service_account_env"
        if not self._secret:
            raise self._error(
                f"no service-account JSON (set {var} to the JSON of a service account "
                "with the Firebase Messaging role)"
            )
        try:
            doc = json.loads(self._secret)
        except ValueError:
            raise self._error(f"the service-account JSON in {var} is not valid JSON") from None
        if not isinstance(doc, dict):
            raise self._error(f"the service-account JSON in {var} is not a JSON object")
        email_ = doc.get("client_email")
        pem = doc.get("private_key")
        if not isinstance(email_, str) or not email_.strip():
            raise self._error(f"the service-account JSON in {var} has no client_email")
        if not isinstance(pem, str) or not pem.strip():
            raise self._error(f"the service-account JSON in {var} has no private_key")
        self._forget(pem)
        try:
            key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise self._error(
                f"the private_key in {var} is not a PEM private key without a password"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise self._error(f"the private_key in {var} is not an RSA key")
        token_uri = s.token_uri or doc.get("token_uri")
        if not isinstance(token_uri, str) or not token_uri.strip():
            raise self._error(f"the service-account JSON in {var} has no token_uri")
        self._check_url(token_uri, "token_uri")
        self._check_url(s.endpoint, "push.endpoint")
        key_id = doc.get("private_key_id")
        return _ServiceAccount(
            email_, key, key_id if isinstance(key_id, str) else "", token_uri.strip()
        )

    def _check_url(self, url: str, key: str) -> None:
        try:
            parts = urlsplit(url.strip())
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
            httpx.URL(url.strip())
        except (ValueError, httpx.InvalidURL):
            usable = False
        if not usable:
            raise self._error(f"{key} must be an http(s) URL (got {url!r})")

    def _webhook_headers(self) -> dict[str, str]:
        s = self.settings
        if not s.url.strip():
            raise self._error("push.url is missing (the webhook's URL)")
        self._check_url(s.url, "push.url")
        secret = (self._secret or "").strip()
        headers: dict[str, str] = {}
        for name, value in s.headers.items():
            if SECRET_PLACEHOLDER in value:
                if not secret:
                    raise self._error(
                        f"push.headers.{name} uses {SECRET_PLACEHOLDER} but there is no secret "
                        "(name its environment variable in push.secret_env)"
                    )
                value = value.replace(SECRET_PLACEHOLDER, secret)
                self._forget(value)
            if any(c in value for c in "\r\n\0") or any(c in name for c in "\r\n\0: "):
                raise self._error(
                    f"push.headers.{name}: a header cannot contain line breaks "
                    "(nor, in its name, spaces or colons)"
                )
            headers[name] = value
        try:
            httpx.Headers(headers)
        except (UnicodeEncodeError, ValueError, TypeError):
            raise self._error("push.headers: names and values must be ASCII") from None
        return headers

    # -- access token ---------------------------------------------------------------------------

    def _access_token(self, stale: str | None = None) -> str:
        """The cached access token, fetched first when there is none, it is due for refresh or
        it is ``stale`` (refused with 401): by one thread, the others wait for it."""
        with self._token_lock:
            if self._token is None or self._token == stale or self._clock() >= self._refresh_at:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _fetch_token(self) -> None:
        """Exchange a fresh signed assertion for an access token; :class:`_Retry` when that may
        pass, :class:`_Unusable` when the credentials are refused."""
        account, client = self._account, self._client
        assert account is not None and client is not None
        now = self._clock()
        assertion = service_account_jwt(
            account.key, account.client_email, account.token_uri, now, account.key_id
        )
        self._forget(assertion)
        try:
            response = client.post(
                account.token_uri,
                data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion},
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:  # asking for a token twice is harmless
            raise _Retry(self._clean(f"token request failed: {_describe(exc)}")) from None
        status = response.status_code
        if status != 200:
            error = _api_error(response)
            detail = self._clean(f"token request answered {status} {error.summary}")
            oauth_retry = error.status in _OAUTH_RETRYABLE or error.message in _OAUTH_RETRYABLE
            if _retryable(status) or oauth_retry:
                raise _Retry(detail, self._retry_after(response))
            raise _Unusable(f"{detail} (are the service account and its key valid?)")
        try:
            token, expires_in = parse_token_response(response.json())
        except ValueError:
            raise _Unusable("the token endpoint answered 200 without an access_token") from None
        self._forget(token)
        self._token = token
        self._refresh_at = now + expires_in - min(REFRESH_MARGIN, expires_in / 2)
        log.debug("push %s: new access token, valid %.0f s", self.where, expires_in)

    # -- sending --------------------------------------------------------------------------------

    def send(self, batch: Sequence[Envelope]) -> list[SendResult]:
        """One result per envelope, in order, on the sweep's one client.

        When the credentials are refused mid-batch, that message and the rest of the batch are
        answered ``temporary`` (the rest without trying).
        """
        if not batch:
            return []
        refused = base.open_or_refuse(self, batch) if self._client is None else []
        if refused:
            return refused
        results, _ = self._workers.run(batch, self._send_or_stop)
        return results

    def _send_or_stop(self, worker: int, envelope: Envelope) -> tuple[SendResult, str | None]:
        try:
            return self._send_one(envelope), None
        except _Unusable as exc:
            # Credentials refused: the account's problem, not the message's.
            detail = self._clean(exc.detail)
            return SendResult(envelope.delivery_id, Result.THROTTLED, detail), None

    def _send_one(self, envelope: Envelope) -> SendResult:
        try:
            message = parse_payload(envelope.data)
        except ValueError as exc:
            return SendResult(
                envelope.delivery_id, Result.PERMANENT, f"malformed push payload: {exc}"
            )
        token = envelope.recipient.strip()
        if not token:
            return SendResult(envelope.delivery_id, Result.PERMANENT, "no device token")
        try:
            if self.settings.provider == "fcm":
                body = fcm_message(token, message, self.settings.android_click_action)
                return self._retrying(self._attempt_fcm, envelope, _json_bytes(body))
            body = webhook_body(token, message)
            return self._retrying(self._attempt_webhook, envelope, _json_bytes(body))
        except _Retry as exc:
            kind = Result.THROTTLED if exc.throttled else Result.TEMPORARY
            return SendResult(
                envelope.delivery_id, kind, self._gave_up(exc), retry_after=exc.retry_after
            )

    def _post(
        self, envelope: Envelope, url: str, content: bytes, headers: Mapping[str, str]
    ) -> httpx.Response | SendResult:
        """POST once: the answer, :class:`_Retry` if the request did not leave, or an
        ``in_doubt`` result if it left and no answer came back."""
        assert self._client is not None
        self.limiter.wait()
        try:
            return self._client.post(
                url,
                content=content,
                headers={"Content-Type": "application/json; charset=utf-8", **headers},
            )
        except _NOT_SENT as exc:
            raise _Retry(self._clean(f"request not sent: {_describe(exc)}")) from None
        except (httpx.TransportError, KeyError) as exc:
            # A read timeout or a connection lost before the answer; KeyError: httpcore's
            # synchronous HTTP/2 client's own stream bookkeeping when the server closes the
            # connection with streams in flight (seen in CI) — the request may have left.
            return SendResult(
                envelope.delivery_id,
                Result.IN_DOUBT,
                self._clean(
                    f"in doubt: no answer after the whole request was sent ({_describe(exc)}); "
                    "not retried so that it is never sent twice"
                ),
            )

    def _send_url(self) -> str:
        s = self.settings
        project = quote(s.project_id.strip(), safe="")
        return f"{s.endpoint.strip().rstrip('/')}/v1/projects/{project}/messages:send"

    def _attempt_fcm(self, envelope: Envelope, content: bytes) -> SendResult:
        """One try; a 401 refreshes the access token and repeats the request once."""
        refreshed = False
        stale: str | None = None
        while True:
            token = self._access_token(stale)
            answer = self._post(
                envelope, self._send_url(), content, {"Authorization": f"Bearer {token}"}
            )
            if isinstance(answer, SendResult):
                return answer
            if answer.status_code == 401 and not refreshed:
                if _api_error(answer).has(_THIRD_PARTY_AUTH):
                    break
                log.info("push %s: 401, refreshing the access token", self.where)
                stale = token  # refreshed unless another thread already did
                refreshed = True
                continue
            break
        return self._fcm_answer(envelope, answer)

    def _fcm_answer(self, envelope: Envelope, response: httpx.Response) -> SendResult:
        status = response.status_code
        if 200 <= status < 300:
            try:
                doc = response.json()
            except ValueError:
                doc = None
            name = doc.get("name") if isinstance(doc, dict) else None
            detail = str(name) if name else f"{status} {response.reason_phrase}"
            return SendResult(envelope.delivery_id, Result.SENT, self._clean(detail))
        error = _api_error(response)
        detail = self._clean(f"{status} {error.summary or response.reason_phrase}")
        if status == 401 and not error.has(_THIRD_PARTY_AUTH):
            raise _Unusable(f"{detail} (refused even with a fresh access token)")
        try:
            doc = response.json()
        except ValueError:
            doc = response.text
        return self._classified(envelope, detail, response, classify_fcm(status, doc))

    def _classified(
        self, envelope: Envelope, detail: str, response: httpx.Response, answer: Answer
    ) -> SendResult:
        """A refusal by what :mod:`cartnudge.core.answers` says it is about: the project's
        quota or rate limit is waited for (Retry-After) and then throttles the channel; bad
        credentials or URL throttle it at once; temporary answers are retried; only clear
        evidence that the token is gone (UNREGISTERED, 410) suppresses it."""
        kind = answer.kind
        retry_after = self._retry_after(response)
        if kind is AnswerKind.CHANNEL_THROTTLED:
            if response.status_code == 429:
                # Slow down rather than drop: the retry waits as asked; one request at a time,
                # every later message waits too; with several in flight, the whole channel
                # pauses as long (each request waits for its slot of the limiter).
                if self._workers.count > 1 and (retry_after or 0) <= MAX_RETRY_AFTER:
                    self.limiter.pause(self.retries.backoff if retry_after is None else retry_after)
                raise _Retry(detail, retry_after, throttled=True)
            return SendResult(
                envelope.delivery_id,
                Result.THROTTLED,
                self._clean(f"{detail} ({answer.reason})"),
                retry_after=retry_after,
            )
        if kind in (AnswerKind.TEMPORARY, AnswerKind.SENT):
            raise _Retry(detail, retry_after)
        return SendResult(
            envelope.delivery_id,
            Result.PERMANENT,
            detail,
            hard_bounce=kind is AnswerKind.RECIPIENT_GONE,
        )

    def _attempt_webhook(self, envelope: Envelope, content: bytes) -> SendResult:
        headers = dict(self._headers)
        if envelope.message_id and not any(k.lower() == "idempotency-key" for k in headers):
            headers["Idempotency-Key"] = envelope.message_id
        answer = self._post(envelope, self.settings.url.strip(), content, headers)
        if isinstance(answer, SendResult):
            return answer
        status = answer.status_code
        text = _snippet(answer) or answer.reason_phrase
        detail = self._clean(f"{status} {text}")
        if 200 <= status < 300:
            return SendResult(envelope.delivery_id, Result.SENT, detail)
        # A webhook has no error vocabulary: 410 is gone, a 404 is a wrong URL (never a reason
        # to suppress every token), 429 and 401/403 throttle the channel.
        return self._classified(envelope, detail, answer, classify_webhook(status))

    # -- retries ----------------------------------------------------------------------------------

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds the server asks us to wait (delta-seconds or an HTTP date), if any."""
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:  # "-0000": UTC
                when = when.replace(tzinfo=UTC)
            seconds = when.timestamp() - self._clock()
        return max(0.0, seconds) if math.isfinite(seconds) else None

    def _stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.retries.max_tries:
            return True
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return retry_after is not None and retry_after > MAX_RETRY_AFTER

    def _wait(self, state: RetryCallState) -> float:
        wait = self._exponential(state)
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return max(wait, retry_after) if retry_after is not None else wait

    def _gave_up(self, exc: _Retry) -> str:
        if exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER:
            why = f"asked to retry after {exc.retry_after:.0f} s; left for a later sweep"
        else:
            why = f"gave up after {self.retries.max_tries} tries"
        return self._clean(f"{exc.detail} ({why})")


def _json_bytes(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
