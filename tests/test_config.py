"""The configuration: the example file stays complete and valid, and every rule refuses with one
line naming the key path and the value. Pure: no database, no real environment."""

from __future__ import annotations

import copy
import re
import shutil
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from cartnudge.app import App
from cartnudge.config import (
    BUNDLED_TEMPLATES_DIR,
    Config,
    Settings,
    load_config,
    parse_config,
)
from cartnudge.errors import ConfigError, TemplateError
from tests.conftest import TOKEN_ENV, TOKEN_KEYS, base_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.yaml"
EXAMPLE_ENV = {"CARTNUDGE_TOKEN_KEYS": "example-signing-key-0001", "CARTNUDGE_SMTP_PASSWORD": "pw"}
SOURCE = "cartnudge.yaml"
ENV = {TOKEN_ENV: TOKEN_KEYS}
DELETE = object()  # as a change: remove the key


def config_dict(tmp_path: Path, **changes: Any) -> dict:
    """The tests' base configuration with dotted-path ``changes`` (``flows__confirm__delay``);
    a change to ``DELETE`` removes the key."""
    data = copy.deepcopy(base_config("sqlite:///shop.db", tmp_path))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return data


def parse(data: Any, tmp_path: Path, environ: dict[str, str] | None = None) -> Config:
    return parse_config(
        data, source=SOURCE, base_dir=tmp_path, environ=ENV if environ is None else environ
    )


def refusal(data: Any, tmp_path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(data, tmp_path, environ)
    return str(caught.value)


# -- the example configuration ---------------------------------------------------------------


def settings_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every key path of ``model``, nested models and lists of models included (a list's items
    are spelt without an index: ``flows.confirm.steps.delay``)."""
    paths: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.add(path)
        for sub in nested_models(info.annotation):
            paths |= settings_paths(sub, path + ".")
    return paths


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        return [m for arg in typing.get_args(annotation) for m in nested_models(arg)]
    return []


# A key line, live or commented out ("# " right after the indentation, so that deleting it
# uncomments the line): indentation, comment marker, more indentation, list dash, key.
KEY_LINE = re.compile(r"^( *)(# ?)?( *)(- )?([a-z_][a-z0-9_]*):(?: |$)")


def example_keys() -> list[tuple[int, str, bool]]:
    """(line number, key path, explained by a comment) for every key line of the example,
    commented-out alternatives included."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    stack: list[tuple[int, str]] = []
    keys = []
    for number, line in enumerate(lines, 1):
        match = KEY_LINE.match(line)
        if not match:
            continue
        indent, marker, more, dash, key = match.groups()
        column = len(indent) + len(more) + (2 if dash else 0)
        while stack and stack[-1][0] >= column:
            stack.pop()
        path = ".".join([k for _, k in stack] + [key])
        stack.append((column, key))
        above = lines[number - 2].lstrip() if number > 1 else ""
        explained = bool(marker) or " # " in line or above.startswith("#")
        keys.append((number, path, explained))
    return keys


def test_the_example_configuration_loads_with_the_variables_it_names() -> None:
    config = load_config(EXAMPLE, environ=EXAMPLE_ENV)
    assert config.settings.sender.name == "抹茶と暮らしの店 みどり屋"
    assert [s.delay.total_seconds() for s in config.confirm_steps] == [3 * 3600]
    # Relative paths are relative to the configuration file.
    assert config.shop_url == f"sqlite:///{ROOT / 'shop.db'}"
    assert config.outbox_dir == ROOT / "outbox"
    assert config.smtp_password is None  # transport is outbox: the password is not needed
    App(config).dispose()  # its flow names a template of the right category


def test_the_example_configuration_with_smtp_reads_the_password_variable(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["email"]["transport"] = "smtp"
    config = parse(data, tmp_path, EXAMPLE_ENV)
    assert config.smtp_password == "pw"
    assert config.token_keys == (b"example-signing-key-0001",)


def test_the_example_configuration_mentions_every_key_of_the_settings_model() -> None:
    documented = {path for _, path, _ in example_keys()}
    missing = sorted(settings_paths(Settings) - documented)
    assert missing == [], f"config.example.yaml does not document {missing}"


def test_every_key_in_the_example_configuration_is_a_real_key() -> None:
    known = settings_paths(Settings)
    unknown = [(n, path) for n, path, _ in example_keys() if path not in known]
    assert unknown == [], f"config.example.yaml (line, key) not in the Settings model: {unknown}"


def test_every_key_in_the_example_configuration_is_explained_by_a_comment() -> None:
    bare = [(n, path) for n, path, explained in example_keys() if not explained]
    assert bare == [], f"config.example.yaml keys without a comment: {bare}"


def test_the_walk_of_the_settings_model_reaches_nested_lists() -> None:
    paths = settings_paths(Settings)
    assert {"flows.confirm.steps.delay", "email.smtp.password_env", "shop.cart_ttl"} <= paths


# -- refusals: one line naming the key path and the value -------------------------------------

WHOLE_HOURS = (
    "must be whole hours from 1h to 24h (got {!r}); "
    "set flows.confirm.wide_delays: true for other delays"
)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"colour": "green"}, "unknown key colour", id="unknown-top-level-key"),
        pytest.param(
            {"flows__confirm__delai": "3h"},
            "unknown key flows.confirm.delai",
            id="unknown-nested-key",
        ),
        pytest.param(
            {"flows__confirm__delay": DELETE, "flows__confirm__steps": [{"delai": "3h"}]},
            "unknown key flows.confirm.steps[0].delai",
            id="unknown-key-in-a-step",
        ),
        pytest.param(
            {"flows__confirm__delay": "0h"},
            "flows.confirm.delay: must be longer than zero (got '0h')",
            id="delay-0h",
        ),
        pytest.param(
            {"flows__confirm__delay": "25h"},
            "flows.confirm.delay: " + WHOLE_HOURS.format("25h"),
            id="delay-25h",
        ),
        pytest.param(
            {"flows__confirm__delay": "90m"},
            "flows.confirm.delay: " + WHOLE_HOURS.format("90m"),
            id="delay-90m-not-whole-hours",
        ),
        pytest.param(
            {"flows__confirm__delay": "3 hours"},
            "flows.confirm.delay: not a duration: '3 hours' (write e.g. 3h, 90m, 1h30m, 3d)",
            id="delay-not-a-duration",
        ),
        pytest.param(
            {"flows__confirm__delay": "0h", "flows__confirm__wide_delays": True},
            "flows.confirm.delay: must be longer than zero (got '0h')",
            id="delay-0h-even-with-wide-delays",
        ),
        pytest.param(
            {"flows__confirm__delay": DELETE, "flows__confirm__steps": [{"delay": "3h"}] * 2},
            "flows.confirm.steps[1].delay: steps must have increasing delays (got '3h' after 3h)",
            id="steps-equal-delays",
        ),
        pytest.param(
            {
                "flows__confirm__delay": DELETE,
                "flows__confirm__steps": [{"delay": "5h"}, {"delay": "3h"}],
            },
            "flows.confirm.steps[1].delay: steps must have increasing delays (got '3h' after 5h)",
            id="steps-decreasing-delays",
        ),
        pytest.param(
            {"flows__confirm__steps": [{"delay": "5h"}]},
            "flows.confirm: give either delay or steps, not both",
            id="delay-and-steps",
        ),
        pytest.param(
            {"flows__confirm__delay": DELETE, "flows__confirm__steps": []},
            "flows.confirm.steps: give at least one step (got [])",
            id="no-steps",
        ),
        pytest.param(
            {"flows__confirm__delay": "24h"},
            "shop.cart_ttl: must be longer than every step's delay "
            "(got 1440 minutes; flows.confirm.delay is 24h, 1440 minutes)",
            id="cart-ttl-1440-minutes-vs-delay-24h",
        ),
        pytest.param(
            {
                "flows__confirm__delay": DELETE,
                "flows__confirm__steps": [{"delay": "1h"}, {"delay": "24h"}],
            },
            "shop.cart_ttl: must be longer than every step's delay "
            "(got 1440 minutes; flows.confirm.steps[1].delay is 24h, 1440 minutes)",
            id="cart-ttl-vs-a-later-step",
        ),
        pytest.param(
            {"shop__cart_ttl": 0},
            "shop.cart_ttl: must be a positive number of minutes up to 5256000 (ten years) "
            "or 'unlimited' (got 0)",
            id="cart-ttl-0",
        ),
        pytest.param(
            {"shop__cart_ttl": -30},
            "shop.cart_ttl: must be a positive number of minutes up to 5256000 (ten years) "
            "or 'unlimited' (got -30)",
            id="cart-ttl-negative",
        ),
        pytest.param(
            {"flows__confirm__target": "everyone"},
            "flows.confirm.target: Input should be 'members', 'visitors' or 'all' (got 'everyone')",
            id="target",
        ),
        pytest.param(
            {"timezone": "Asia/Tokio"},
            "timezone: unknown time zone (got 'Asia/Tokio')",
            id="timezone",
        ),
        pytest.param(
            {"shop__timestamps_timezone": "JST+9"},
            "shop.timestamps_timezone: unknown time zone (got 'JST+9')",
            id="shop-timestamps-timezone",
        ),
        pytest.param(
            {"recovery__shop_url": "https://midoriya.example.jp/cart?t={tokn}"},
            "recovery.shop_url: unknown placeholder {tokn}, use {token}, {lp_id}, {order_id} "
            "(got 'https://midoriya.example.jp/cart?t={tokn}')",
            id="recovery-url-unknown-placeholder",
        ),
        pytest.param(
            {"recovery__unsubscribe_url": "https://midoriya.example.jp/unsubscribe"},
            "recovery.unsubscribe_url: must contain {token} "
            "(got 'https://midoriya.example.jp/unsubscribe')",
            id="unsubscribe-url-without-token",
        ),
    ],
)
def test_a_rule_refuses_with_one_line_naming_the_key_and_value(
    tmp_path: Path, changes: dict, message: str
) -> None:
    assert refusal(config_dict(tmp_path, **changes), tmp_path) == f"{SOURCE}: {message}"


def test_every_error_in_the_file_is_reported_at_once_one_line_each(tmp_path: Path) -> None:
    data = config_dict(
        tmp_path,
        colour="green",
        flows__confirm__target="everyone",
        flows__confirm__delai="3h",
        shop__cart_ttl=[2],  # no branch of int | 'unlimited' takes it: named once
        email__smtp={"port": "abc", "timeout": -1},
    )
    with pytest.raises(ConfigError) as caught:
        parse(data, tmp_path)
    assert caught.value.lines == (
        f"{SOURCE}: shop.cart_ttl: Input should be a valid integer (got [2])",
        f"{SOURCE}: flows.confirm.target: Input should be 'members', 'visitors' or 'all' "
        "(got 'everyone')",
        f"{SOURCE}: unknown key flows.confirm.delai",
        f"{SOURCE}: email.smtp.port: Input should be a valid integer, unable to parse string "
        "as an integer (got 'abc')",
        f"{SOURCE}: email.smtp.timeout: Input should be greater than 0 (got -1)",
        f"{SOURCE}: unknown key colour",
    )
    assert str(caught.value) == "; ".join(caught.value.lines)  # --json's one-line "error"


def test_checks_across_keys_and_the_environment_are_all_reported_at_once(tmp_path: Path) -> None:
    # Each of these passes the file's own validation and fails a later check; before, only the
    # first stopped the run, so fixing one revealed the next, check after check.
    data = config_dict(
        tmp_path,
        timezone="Mars/Olympus",
        shop__cart_ttl=60,  # shorter than the first step's delay (3h)
        email={"transport": "smtp", "smtp": {"password_env": "CN_UNSET_PASSWORD"}},
        recovery__unsubscribe_url="https://shop.example.jp/optout?t={tokn}",
        healthcheck={"url": "ftp://hc.example.jp/ping"},
    )
    with pytest.raises(ConfigError) as caught:
        parse(data, tmp_path)
    lines = caught.value.lines
    assert len(lines) == 5, lines
    assert lines[0].startswith(f"{SOURCE}: timezone: ")
    assert lines[1].startswith(f"{SOURCE}: shop.cart_ttl: must be longer than every step")
    assert lines[2].startswith(f"{SOURCE}: recovery.unsubscribe_url: ")
    assert lines[3].startswith(f"{SOURCE}: email.smtp.password_env: ")
    assert lines[4] == f"{SOURCE}: healthcheck: the ping URL is not an http(s) URL"
    assert len(set(lines)) == len(lines)


def test_a_file_full_of_errors_is_reported_in_at_most_twenty_lines(tmp_path: Path) -> None:
    data = config_dict(tmp_path, **{f"unknown_{i:02}": i for i in range(25)})
    with pytest.raises(ConfigError) as caught:
        parse(data, tmp_path)
    assert caught.value.lines[18:] == (
        f"{SOURCE}: unknown key unknown_18",
        f"{SOURCE}: and 6 more problems",
    )
    assert len(caught.value.lines) == 20


def test_a_misspelt_key_in_a_step_is_named_without_the_missing_one(tmp_path: Path) -> None:
    data = config_dict(
        tmp_path,
        flows__confirm__delay=DELETE,
        flows__confirm__steps=[{"delai": "3h"}, {"delay": "5h", "chanel": "sms"}],
    )
    with pytest.raises(ConfigError) as caught:
        parse(data, tmp_path)
    assert caught.value.lines == (
        f"{SOURCE}: unknown key flows.confirm.steps[0].delai",
        f"{SOURCE}: unknown key flows.confirm.steps[1].chanel",
    )


@pytest.mark.parametrize("delay", ["90m", "30m", "36h"])
def test_wide_delays_accept_minutes_and_longer_delays(tmp_path: Path, delay: str) -> None:
    data = config_dict(
        tmp_path,
        flows__confirm__delay=delay,
        flows__confirm__wide_delays=True,
        shop__cart_ttl=3000,
    )
    (step,) = parse(data, tmp_path).confirm_steps
    assert step.delay.total_seconds() == {"90m": 5400, "30m": 1800, "36h": 36 * 3600}[delay]


def test_increasing_steps_are_accepted_in_order(tmp_path: Path) -> None:
    data = config_dict(
        tmp_path,
        flows__confirm__delay=DELETE,
        flows__confirm__steps=[{"delay": "1h"}, {"delay": "6h", "template": 140001}, {"delay": 23}],
    )
    steps = parse(data, tmp_path).confirm_steps
    assert [(s.index, s.delay.total_seconds() / 3600) for s in steps] == [(0, 1), (1, 6), (2, 23)]


@pytest.mark.parametrize(
    ("cart_ttl", "minutes"), [(1500, 1500), ("unlimited", None)], ids=["1500", "unlimited"]
)
def test_a_cart_ttl_longer_than_the_delay_is_accepted(
    tmp_path: Path, cart_ttl: int | str, minutes: int | None
) -> None:
    data = config_dict(tmp_path, shop__cart_ttl=cart_ttl, flows__confirm__delay="24h")
    config = parse(data, tmp_path)
    assert (config.cart_ttl.total_seconds() / 60 if config.cart_ttl else None) == minutes


@pytest.mark.parametrize("key", ["name", "email", "postal_address", "contact"])
def test_a_missing_sender_detail_is_refused_while_the_flow_is_enabled(
    tmp_path: Path, key: str
) -> None:
    data = config_dict(tmp_path, **{f"sender__{key}": "  "})
    assert refusal(data, tmp_path) == (
        f"{SOURCE}: sender.{key}: missing; the law requires the sender's name, address and "
        "contact in every reminder while a flow is enabled"
    )


@pytest.mark.parametrize("key", ["name", "email", "postal_address", "contact"])
def test_a_missing_sender_detail_is_accepted_while_the_flow_is_disabled(
    tmp_path: Path, key: str
) -> None:
    data = config_dict(tmp_path, **{f"sender__{key}": DELETE, "flows__confirm__enabled": False})
    assert parse(data, tmp_path).settings.flows.confirm.enabled is False


@pytest.mark.parametrize(
    ("changes", "variable", "key"),
    [
        ({}, TOKEN_ENV, "recovery.keys_env"),
        ({"shop__url_env": "CN_SHOP_URL"}, "CN_SHOP_URL", "shop.url_env"),
        ({"state__url_env": "CN_STATE_URL"}, "CN_STATE_URL", "state.url_env"),
        (
            {"email__transport": "smtp", "email__smtp": {"password_env": "CN_SMTP_PASSWORD"}},
            "CN_SMTP_PASSWORD",
            "email.smtp.password_env",
        ),
    ],
    ids=["recovery.keys_env", "shop.url_env", "state.url_env", "email.smtp.password_env"],
)
def test_an_unset_secret_variable_is_refused(
    tmp_path: Path, changes: dict, variable: str, key: str
) -> None:
    environ = {TOKEN_ENV: TOKEN_KEYS} if variable != TOKEN_ENV else {}
    assert refusal(config_dict(tmp_path, **changes), tmp_path, environ) == (
        f"{SOURCE}: {key}: environment variable {variable} is not set (it holds a secret)"
    )


def test_the_smtp_password_variable_is_only_needed_for_the_smtp_transport(tmp_path: Path) -> None:
    data = config_dict(tmp_path, email__smtp={"password_env": "CN_SMTP_PASSWORD"})
    assert parse(data, tmp_path).smtp_password is None


def test_shop_url_env_wins_over_url_and_is_read_from_the_environment(tmp_path: Path) -> None:
    data = config_dict(tmp_path, shop__url_env="CN_SHOP_URL")
    environ = {**ENV, "CN_SHOP_URL": "postgresql://cartnudge:secret@db/shop"}
    config = parse(data, tmp_path, environ)
    assert (config.shop_url, config.state_url) == ("postgresql://cartnudge:secret@db/shop",) * 2


def test_relative_paths_are_relative_to_the_configuration_file(tmp_path: Path) -> None:
    data = config_dict(
        tmp_path, email__outbox_dir="out", templates_dir="tpl", shop__sql_dir="queries"
    )
    config = parse(data, tmp_path)
    assert config.shop_url == f"sqlite:///{tmp_path / 'shop.db'}"
    assert (config.outbox_dir, config.templates_dir, config.sql_dir) == (
        tmp_path / "out",
        tmp_path / "tpl",
        tmp_path / "queries",
    )


@pytest.mark.parametrize(
    ("keys", "count", "shortest"),
    [("short-key", 1, 9), (f"{TOKEN_KEYS},tiny", 2, 4), (" , ", 0, 0)],
    ids=["one-short-key", "a-short-second-key", "no-key-at-all"],
)
def test_a_token_key_shorter_than_16_characters_is_refused_without_showing_it(
    tmp_path: Path, keys: str, count: int, shortest: int
) -> None:
    message = refusal(config_dict(tmp_path), tmp_path, {TOKEN_ENV: keys})
    assert message == (
        f"{SOURCE}: recovery.keys_env: every key in {TOKEN_ENV} must be at least 16 characters "
        f"(got {count} key(s), the shortest {shortest} characters)"
    )
    assert "short-key" not in message and "tiny" not in message


@pytest.mark.parametrize("data", [["timezone", "Asia/Tokyo"], "timezone: Asia/Tokyo", 42])
def test_a_top_level_that_is_not_a_mapping_is_refused(tmp_path: Path, data: Any) -> None:
    assert refusal(data, tmp_path) == f"{SOURCE}: the top level must be a mapping of keys"


def test_a_file_whose_top_level_is_a_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cartnudge.yaml"
    path.write_text("- timezone\n- shop\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENV)
    assert str(caught.value) == f"{path}: the top level must be a mapping of keys"


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cartnudge.yaml"
    path.write_text(
        "timezone: Asia/Tokyo\nshop:\n  url: sqlite:///shop.db\n  cart_ttl: [1440\n"
        "sender:\n  name: みどり屋\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENV)
    assert str(caught.value) == f"{path}: line 5 is not valid YAML"


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENV)
    assert str(caught.value) == f"{path}: cannot read the configuration (No such file or directory)"


# -- templates, checked when the App is built -------------------------------------------------


def build_app(data: dict, tmp_path: Path) -> App:
    app = App(parse(data, tmp_path))
    app.dispose()
    return app


def test_the_confirm_flow_refuses_a_remarketing_template(tmp_path: Path) -> None:
    data = config_dict(tmp_path, flows__confirm__template=140002)
    with pytest.raises(ConfigError) as caught:
        build_app(data, tmp_path)
    assert str(caught.value) == (
        f"{SOURCE}: flows.confirm.template: template 140002 is of category 'remarketing', "
        "this flow needs 'cart_abandonment'"
    )


def test_a_step_naming_a_remarketing_template_is_refused_naming_the_step(tmp_path: Path) -> None:
    data = config_dict(
        tmp_path,
        flows__confirm__delay=DELETE,
        flows__confirm__steps=[{"delay": "1h"}, {"delay": "3h", "template": 140002}],
    )
    with pytest.raises(ConfigError) as caught:
        build_app(data, tmp_path)
    assert str(caught.value).startswith(
        f"{SOURCE}: flows.confirm.steps[1].template: template 140002 is of category 'remarketing'"
    )


def test_a_missing_template_id_is_refused(tmp_path: Path) -> None:
    data = config_dict(tmp_path, flows__confirm__template=149999)
    with pytest.raises(ConfigError) as caught:
        build_app(data, tmp_path)
    assert str(caught.value) == (
        f"{SOURCE}: flows.confirm.template: template 149999 not found in {BUNDLED_TEMPLATES_DIR}"
    )


@pytest.mark.parametrize(
    ("line", "broken", "error"),
    [
        (3, "{% if %}", "Expected an expression, got 'end of statement block'"),
        (1, "{{ customer_nam }} 様", "'customer_nam' is undefined"),
    ],
    ids=["jinja-syntax-error", "undefined-variable"],
)
def test_a_broken_template_is_refused_naming_the_file_and_line(
    tmp_path: Path, line: int, broken: str, error: str
) -> None:
    shutil.copytree(BUNDLED_TEMPLATES_DIR, tmp_path / "templates")
    body = tmp_path / "templates" / "140001" / "body.txt.j2"
    lines = body.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = broken + "\n"
    body.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        build_app(config_dict(tmp_path, templates_dir="templates"), tmp_path)
    assert str(caught.value) == f"template 140001: {body}:{line}: {error}"


# -- recovery.keys_file: keys from a file (systemd credentials, container secrets) -------------


def _key_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_token_keys_come_from_the_key_file_when_the_variable_is_unset(tmp_path: Path) -> None:
    _key_file(tmp_path / "token-keys", "file-signing-key-0001\nfile-signing-key-0002\n")
    config = parse(config_dict(tmp_path, recovery__keys_file="token-keys"), tmp_path, {})
    assert config.token_keys == (b"file-signing-key-0001", b"file-signing-key-0002")


def test_the_variables_keys_come_before_the_key_files(tmp_path: Path) -> None:
    _key_file(tmp_path / "keys", "file-signing-key-0001\n")
    data = config_dict(tmp_path, recovery__keys_file="$CREDS/keys")
    config = parse(data, tmp_path, {TOKEN_ENV: TOKEN_KEYS, "CREDS": str(tmp_path)})
    assert config.token_keys == (TOKEN_KEYS.encode(), b"file-signing-key-0001")


def test_a_key_file_readable_by_everyone_is_refused(tmp_path: Path) -> None:
    path = _key_file(tmp_path / "keys", "file-signing-key-0001\n", mode=0o644)
    message = refusal(config_dict(tmp_path, recovery__keys_file="keys"), tmp_path, {})
    assert message == (
        f"{SOURCE}: recovery.keys_file: {path} is readable by every user (mode 0644); chmod 600 it"
    )


def test_a_missing_key_file_is_refused_naming_it(tmp_path: Path) -> None:
    message = refusal(config_dict(tmp_path, recovery__keys_file="nope"), tmp_path, {})
    assert message == (
        f"{SOURCE}: recovery.keys_file: cannot read {tmp_path / 'nope'} (No such file or directory)"
    )
