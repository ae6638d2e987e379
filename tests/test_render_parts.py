"""A sweep renders only the template parts the delivery's channel sends (issue 14, point 3):
an e-mail never pays for the SMS or LINE body, an SMS never for the HTML. Counted by a spy on
the compiled templates, so a regression that renders everything again fails here."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cartnudge.config import Config, parse_config
from cartnudge.core.rules import AbandonedStep, Candidate, CustomerStatus, Storefront
from cartnudge.messages.compose import render_within_limits
from cartnudge.messages.templates import Catalogue, sample_context
from cartnudge.shop.reader import AbandonedOrder, Item
from tests.conftest import TOKEN_ENV, TOKEN_KEYS, base_config

NOW = datetime(2026, 11, 22, 12, 0)
ITEMS = [Item(1, "国産有機抹茶 100g", 2, 1980), Item(2, "今治タオル フェイスタオル 2枚組", 1, 2200)]


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return parse_config(
        base_config(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path),
        source="t",
        base_dir=tmp_path,
        environ={TOKEN_ENV: TOKEN_KEYS},
    )


class Spy:
    """Records which template files were rendered."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.rendered: list[str] = []
        real = catalogue._template

        def template(info: Any, part: str) -> Any:
            compiled = real(info, part)
            spy = self

            class Counted:
                def render(self, context: Any) -> str:
                    spy.rendered.append(part)
                    return compiled.render(context)

            return Counted()

        catalogue._template = template  # type: ignore[method-assign]


def order() -> AbandonedOrder:
    candidate = Candidate(
        order_id="1001",
        customer_id="7",
        customer_status=CustomerStatus.MEMBER,
        storefront=Storefront.SHOP,
        abandoned_step=AbandonedStep.CART,
        abandoned_at=NOW - timedelta(hours=4),
        last_activity_at=NOW - timedelta(hours=4),
        email="taro@example.jp",
        email_consent=True,
    )
    return AbandonedOrder(candidate, 1001, "山田 太郎", None, 6160)


@pytest.mark.parametrize(
    ("channel", "files"),
    [
        ("email", ["subject.txt.j2", "body.txt.j2", "body.html.j2"]),
        ("sms", ["sms.txt.j2"]),
        ("line", ["subject.txt.j2", "line.txt.j2"]),
        ("push", ["subject.txt.j2", "sms.txt.j2"]),
    ],
)
def test_a_delivery_renders_only_the_parts_its_channel_sends(
    config: Config, channel: str, files: list[str]
) -> None:
    catalogue = Catalogue(config.templates_dir)
    spy = Spy(catalogue)
    rendered, _links = render_within_limits(
        config, catalogue, 140001, order(), ITEMS, delivery_id=1, now=NOW, channel=channel
    )
    assert sorted(spy.rendered) == sorted(files)
    if channel == "email":
        assert rendered.subject and rendered.text and rendered.html
        assert rendered.sms is None and rendered.line is None
    if channel == "sms":
        assert rendered.sms and rendered.html == "" and rendered.line is None


def test_a_preview_still_renders_every_part(config: Config) -> None:
    catalogue = Catalogue(config.templates_dir)
    spy = Spy(catalogue)
    rendered, _links = render_within_limits(
        config,
        catalogue,
        140001,
        order(),
        ITEMS,
        delivery_id=1,
        now=NOW,
        channel="email",
        all_parts=True,
    )
    assert len(spy.rendered) == 5
    assert rendered.sms and rendered.line and rendered.html


def test_line_without_its_own_body_renders_the_sms_body(tmp_path: Path) -> None:
    src = Path(__file__).parents[1] / "templates" / "140001"
    dst = tmp_path / "templates" / "140001"
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.name != "line.txt.j2":
            (dst / f.name).write_bytes(f.read_bytes())
    catalogue = Catalogue(tmp_path / "templates")
    rendered = catalogue.render(140001, sample_context(), "line")
    assert rendered.line is None and rendered.sms and rendered.subject
    assert rendered.html == ""


def test_compiled_templates_are_kept_between_runs_and_an_edited_one_is_compiled_again(
    tmp_path: Path,
) -> None:
    import shutil

    from cartnudge.config import BUNDLED_TEMPLATES_DIR

    directory = tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES_DIR, directory)
    first = Catalogue(directory)
    first.check_all()
    cache = first.env.bytecode_cache
    assert cache is not None
    kept = {p.name for p in Path(cache.directory).glob("cartnudge_*.cache")}
    assert kept  # written by the first run's compile
    again = Catalogue(directory)
    loaded: list[str] = []
    real = type(cache).load_bytecode

    def load(self, bucket):  # noqa: ANN001 - Jinja2's hook
        real(self, bucket)
        loaded.append(bucket.key if bucket.code is not None else "")

    type(cache).load_bytecode = load
    try:
        info = next(iter(again.templates.values()))
        subject = info.directory / "subject.txt.j2"
        again._template(info, "body.txt.j2")
        assert loaded[-1]  # came from the cache, not compiled
        subject.write_text("{{ order_id }} edited\n", encoding="utf-8")
        edited = again._template(info, "subject.txt.j2")
        assert edited.render(order_id="A1") == "A1 edited\n"
    finally:
        type(cache).load_bytecode = real
