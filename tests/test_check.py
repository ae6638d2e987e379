"""``cartnudge check``: every configuration error at once, and each enabled channel opened
against a real server on this machine (aiosmtpd with STARTTLS and AUTH, HTTP servers for SMS,
push and LINE), nothing sent, one ok/FAIL line each; ``--offline`` opens nothing."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cartnudge.cli import main
from tests.conftest import base_config, write_config
from tests.http_server import HttpServer, Reply, Request, free_port
from tests.shop import ShopBuilder
from tests.smtp_server import Certificate, make_certificate, running_server

SMTP_PASSWORD = "s3cret-smtp-pw"
SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token-0001"
LINE_TOKEN = "line-channel-access-token-0001"


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner(env=env).invoke(main, list(args))


def fails(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("FAIL")]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    cert = make_certificate(tmp_path_factory.mktemp("tls"))
    if cert is None:
        pytest.skip("TLS tests need the openssl command to make a test certificate")
    return cert


@pytest.fixture
def trusted(certificate: Certificate, monkeypatch: pytest.MonkeyPatch) -> Certificate:
    """Make ssl.create_default_context() trust the test certificate (and nothing else)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return certificate


@pytest.fixture
def data(sqlite_shop: ShopBuilder, tmp_path: Path) -> dict:
    return base_config(sqlite_shop.url, tmp_path)


# -- the configuration ----------------------------------------------------------------------


def test_check_lists_every_configuration_error_one_line_each_and_exits_3(
    data: dict, tmp_path: Path
) -> None:
    data["colour"] = "green"
    data["flows"]["confirm"]["target"] = "everyone"
    data["email"] = {"transport": "smtp", "smtp": {"host": "127.0.0.1", "port": "abc"}}
    path = write_config(tmp_path, data)
    result = invoke({}, "check", "--config", str(path))
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr.splitlines() == [
        f"cartnudge: error: {path}: flows.confirm.target: Input should be 'members', "
        "'visitors' or 'all' (got 'everyone')",
        f"cartnudge: error: {path}: email.smtp.port: Input should be a valid integer, unable "
        "to parse string as an integer (got 'abc')",
        f"cartnudge: error: {path}: unknown key colour",
    ]


# -- SMTP -------------------------------------------------------------------------------------


def smtp_config(data: dict, port: int, **smtp: object) -> dict:
    data["email"] = {"transport": "smtp", "smtp": {"host": "127.0.0.1", "port": port, **smtp}}
    return data


def test_check_starts_tls_logs_in_and_quits_without_sending(
    data: dict, tmp_path: Path, trusted: Certificate
) -> None:
    with running_server(
        credentials=("cartnudge", SMTP_PASSWORD), starttls=trusted.server_context()
    ) as smtp:
        smtp_config(data, smtp.port, security="starttls", username="cartnudge",
                    password_env="CN_SMTP_PW")  # fmt: skip
        path = write_config(tmp_path, data)
        result = invoke({"CN_SMTP_PW": SMTP_PASSWORD}, "check", "--config", str(path))
        port, handler = smtp.port, smtp.handler
    assert result.exit_code == 0, result.output
    assert f"ok   email SMTP 127.0.0.1:{port} (starttls, logged in)\n" in result.stdout
    assert (handler.logins, handler.quits, handler.rcpt_calls, handler.arrived) == (
        ["cartnudge"], 1, 0, [],
    )  # fmt: skip


def test_wrong_smtp_credentials_fail_check_with_exit_5_and_no_password_shown(
    data: dict, tmp_path: Path, trusted: Certificate
) -> None:
    with running_server(
        credentials=("cartnudge", SMTP_PASSWORD), starttls=trusted.server_context()
    ) as smtp:
        smtp_config(data, smtp.port, security="starttls", username="cartnudge",
                    password_env="CN_SMTP_PW")  # fmt: skip
        path = write_config(tmp_path, data)
        result = invoke({"CN_SMTP_PW": "wrong-password-1"}, "check", "--config", str(path))
        port, arrived = smtp.port, smtp.handler.arrived
    assert result.exit_code == 5
    assert fails(result) == [
        f"FAIL email channel: smtp 127.0.0.1:{port}: login as 'cartnudge' refused: "
        "535 5.7.8 Authentication credentials invalid"
    ]
    assert result.stderr == (
        f"cartnudge: error: email channel: smtp 127.0.0.1:{port}: login as 'cartnudge' "
        "refused: 535 5.7.8 Authentication credentials invalid\n"
    )
    assert "wrong-password-1" not in result.output and "Traceback" not in result.output
    assert arrived == []


def test_an_smtp_server_that_never_answers_fails_within_the_probes_short_timeout(
    data: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cartnudge.operator.probe.PROBE_TIMEOUT", 0.5)
    with socket.socket() as silent:  # accepts the connection (backlog), never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        smtp_config(data, port, timeout=30)  # a sweep would wait 30 s; check does not
        path = write_config(tmp_path, data)
        started = time.monotonic()
        result = invoke({}, "check", "--config", str(path))
        took = time.monotonic() - started
    assert result.exit_code == 5
    assert fails(result) == [
        f"FAIL email channel: smtp 127.0.0.1:{port}: cannot connect "
        "(Connection unexpectedly closed: timed out)"
    ]
    assert took < 15  # the probe's 0.5 s, plus check's other work on a loaded machine; not 30


def test_a_closed_smtp_port_fails_check(data: dict, tmp_path: Path) -> None:
    port = free_port()
    path = write_config(tmp_path, smtp_config(data, port))
    result = invoke({}, "check", "--config", str(path))
    assert result.exit_code == 5
    [line] = fails(result)
    assert line.startswith(f"FAIL email channel: smtp 127.0.0.1:{port}: cannot connect (")
    assert "Connection refused" in line


# -- SMS --------------------------------------------------------------------------------------


def twilio_account(request: Request) -> Reply:
    """Twilio's account resource: 200 for the right SID and auth token, else 401."""
    good = "Basic " + base64.b64encode(f"{SID}:{TWILIO_TOKEN}".encode()).decode()
    if request.method != "GET" or request.path != f"/2010-04-01/Accounts/{SID}.json":
        return Reply.json(404, {"message": "not found"})
    if request.header("Authorization") != good:
        return Reply.json(401, {"code": 20003, "message": "Authenticate"})
    return Reply.json(200, {"sid": SID, "status": "active"})


@pytest.mark.parametrize(("token", "expected"), [
    (TWILIO_TOKEN, "ok   sms twilio {url} (reachable, credentials accepted)"),
    ("wrong-token-0001", "FAIL sms channel: sms {url}: credentials refused (401)"),
], ids=["right-token", "wrong-token"])  # fmt: skip
def test_check_reads_the_twilio_account_with_its_credentials_and_sends_nothing(
    data: dict, tmp_path: Path, token: str, expected: str
) -> None:
    with HttpServer(default=twilio_account) as twilio:
        data["sms"] = {"enabled": True, "provider": "twilio", "url": twilio.url,
                       "account_sid": SID, "sender": "+815012345678",
                       "secret_env": "CN_TWILIO"}  # fmt: skip
        path = write_config(tmp_path, data)
        result = invoke({"CN_TWILIO": token}, "check", "--config", str(path))
        url, methods = twilio.url, [r.method for r in twilio.requests]
    assert expected.format(url=url) in result.stdout.splitlines()
    assert result.exit_code == (0 if token == TWILIO_TOKEN else 5)
    assert methods == ["GET"]  # read the account; no message
    assert token not in result.output


def test_an_sms_webhook_gets_one_head_of_its_origin_with_its_secret_header(
    data: dict, tmp_path: Path
) -> None:
    with HttpServer() as gateway:
        data["sms"] = {"enabled": True, "provider": "webhook", "sender": "MIDORIYA",
                       "url": f"{gateway.url}/v1/messages",
                       "headers": {"Authorization": "Bearer {secret}"},
                       "secret_env": "CN_SMS_SECRET"}  # fmt: skip
        path = write_config(tmp_path, data)
        result = invoke({"CN_SMS_SECRET": "tok-1"}, "check", "--config", str(path))
        requests = [(r.method, r.path, r.header("Authorization")) for r in gateway.requests]
    assert result.exit_code == 0, result.output
    assert requests == [("HEAD", "/", "Bearer tok-1")]


# -- push -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service_account() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps({
        "type": "service_account", "project_id": "midoriya-app", "private_key_id": "kid-1",
        "private_key": pem, "client_email": "cartnudge@midoriya-app.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    })  # fmt: skip


def fcm_config(data: dict, url: str) -> dict:
    data["push"] = {"enabled": True, "provider": "fcm", "project_id": "midoriya-app",
                    "service_account_env": "CN_FCM", "token_uri": f"{url}/token",
                    "endpoint": url}  # fmt: skip
    return data


def test_check_exchanges_the_service_account_for_a_token_and_reaches_fcm(
    data: dict, tmp_path: Path, service_account: str
) -> None:
    token = Reply.json(200, {"access_token": "ya29.t", "expires_in": 3600, "token_type": "Bearer"})
    with HttpServer(default=Reply(200)) as google:
        google.script(token)
        path = write_config(tmp_path, fcm_config(data, google.url))
        result = invoke({"CN_FCM": service_account}, "check", "--config", str(path))
        requests = [(r.method, r.path) for r in google.requests]
        form = google.requests[0].form()
    assert result.exit_code == 0, result.output
    assert "ok   push fcm midoriya-app (reachable, access token obtained)" in result.stdout
    assert requests == [("POST", "/token"), ("HEAD", "/")]  # no message sent
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]


def test_a_refused_service_account_fails_check_without_showing_the_key(
    data: dict, tmp_path: Path, service_account: str
) -> None:
    refused = Reply.json(400, {"error": "invalid_grant", "error_description": "Invalid JWT"})
    with HttpServer(default=refused) as google:
        path = write_config(tmp_path, fcm_config(data, google.url))
        result = invoke({"CN_FCM": service_account}, "check", "--config", str(path))
        requests = [(r.method, r.path) for r in google.requests]
    assert result.exit_code == 5
    [line] = fails(result)
    assert line.startswith("FAIL push channel: push fcm midoriya-app: token request answered 400")
    assert "PRIVATE KEY" not in result.output and "Traceback" not in result.output
    assert requests == [("POST", "/token")]


def test_a_push_webhook_that_is_down_fails_check(data: dict, tmp_path: Path) -> None:
    port = free_port()
    data["push"] = {"enabled": True, "provider": "webhook", "url": f"http://127.0.0.1:{port}/p"}
    result = invoke({}, "check", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 5
    [line] = fails(result)
    assert line.startswith(f"FAIL push channel: http://127.0.0.1:{port} is not reachable (Connect")


# -- LINE -------------------------------------------------------------------------------------


def line_bot_info(request: Request) -> Reply:
    if (request.method, request.path) != ("GET", "/v2/bot/info"):
        return Reply.json(404, {"message": "Not found"})
    if request.header("Authorization") != f"Bearer {LINE_TOKEN}":
        return Reply.json(401, {"message": "Authentication failed. Confirm that the access token"
                                           " in the authorization header is valid."})  # fmt: skip
    return Reply.json(200, {"userId": "U" + "0" * 32, "basicId": "@midoriya"})


@pytest.mark.parametrize(("token", "expected"), [
    (LINE_TOKEN, "ok   line 127.0.0.1 (reachable, channel access token accepted)"),
    ("revoked-token-0001", "FAIL line channel: line 127.0.0.1: the channel access token was "
                           "refused (401)"),
], ids=["right-token", "revoked-token"])  # fmt: skip
def test_check_reads_the_line_bots_info_with_the_token_and_sends_nothing(
    data: dict, tmp_path: Path, token: str, expected: str
) -> None:
    with HttpServer(default=line_bot_info) as line:
        data["line"] = {"enabled": True, "base_url": line.url, "token_env": "CN_LINE"}
        path = write_config(tmp_path, data)
        result = invoke({"CN_LINE": token}, "check", "--config", str(path))
        requests = [(r.method, r.path) for r in line.requests]
    assert expected in result.stdout.splitlines()
    assert result.exit_code == (0 if token == LINE_TOKEN else 5)
    assert requests == [("GET", "/v2/bot/info")]
    assert token not in result.output


# -- all of them, and --offline ---------------------------------------------------------------


@pytest.fixture
def everything_down(data: dict, tmp_path: Path) -> Iterator[Path]:
    smtp_config(data, free_port())
    data["sms"] = {"enabled": True, "provider": "webhook", "sender": "MIDORIYA",
                   "url": f"http://127.0.0.1:{free_port()}/sms"}  # fmt: skip
    data["push"] = {
        "enabled": True,
        "provider": "webhook",
        "url": f"http://127.0.0.1:{free_port()}",
    }
    data["line"] = {"enabled": True, "base_url": f"http://127.0.0.1:{free_port()}",
                    "token_env": "CN_LINE"}  # fmt: skip
    yield write_config(tmp_path, data)


def test_check_reports_each_channel_that_fails_on_its_own_line_and_exits_5(
    everything_down: Path,
) -> None:
    result = invoke({"CN_LINE": LINE_TOKEN}, "check", "--config", str(everything_down))
    assert result.exit_code == 5
    assert [line.split()[1] for line in fails(result)] == ["email", "sms", "push", "line"]
    errors = result.stderr.splitlines()
    assert [e.split(":")[2].strip() for e in errors] == [
        "email channel", "sms channel", "push channel", "line channel",
    ]  # fmt: skip


def test_check_offline_opens_no_channel(everything_down: Path) -> None:
    result = invoke({"CN_LINE": LINE_TOKEN}, "check", "--offline", "--config", str(everything_down))
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[-1] == "--   channels not opened (--offline)"
    assert not [line for line in lines if line.startswith(("ok   email", "ok   sms", "ok   push",
                                                            "ok   line", "FAIL"))]  # fmt: skip
