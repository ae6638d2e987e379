"""The template catalogue: ``templates/<id>/`` holds ``template.yaml`` (id, category, name) and
the Jinja2 bodies ``subject.txt.j2``, ``body.txt.j2``, ``body.html.j2`` and, optionally,
``sms.txt.j2`` (SMS and push) and ``line.txt.j2`` (LINE; without it LINE sends the SMS body).

Jinja2 runs with StrictUndefined (a misspelt variable is an error, not an empty string) and
autoescapes the HTML body. Every template is rendered against a sample at load, so a broken one
is refused, naming the file and line, before anything is sent.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2 import (
    TemplateError as JinjaError,
)

from cartnudge.errors import TemplateError

CATEGORIES = ("cart_abandonment", "remarketing")
PARTS = {"subject": "subject.txt.j2", "text": "body.txt.j2", "html": "body.html.j2"}
SMS_PART = "sms.txt.j2"
LINE_PART = "line.txt.j2"
# The parts each channel's message is made of: a sweep renders only these (an e-mail never
# renders the SMS body, an SMS never the HTML). LINE falls back to the SMS body when the
# template has no line.txt.j2 (see Catalogue.render).
CHANNEL_PARTS: dict[str, frozenset[str]] = {
    "email": frozenset({"subject", "text", "html"}),
    "sms": frozenset({"sms"}),
    "line": frozenset({"subject", "line"}),
    "push": frozenset({"subject", "sms"}),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def yen(value: Any) -> str:
    """1234 -> '1,234円' (amounts are whole yen)."""
    return f"{int(value):,}円"


@dataclass(frozen=True)
class TemplateInfo:
    id: int
    category: str
    name: str
    directory: Path
    has_sms: bool
    has_line: bool = False


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str | None
    line: str | None = None


def sample_context() -> dict[str, Any]:
    """What a template can use; also the sample every template is rendered against at load."""
    return {
        "customer_name": "山田 太郎",
        "order_id": "1001",
        "storefront": "shop",
        # image_url and product_url: an http(s) address, or None when order_items.sql does
        # not return one (the sample has one item with both, one without).
        "items": [
            {
                "name": "国産有機抹茶 100g",
                "quantity": 2,
                "unit_price": 1980,
                "subtotal": 3960,
                "image_url": "https://shop.example.jp/images/products/1.jpg",
                "product_url": "https://shop.example.jp/products/1",
            },
            {
                "name": "今治タオル フェイスタオル 2枚組",
                "quantity": 1,
                "unit_price": 2200,
                "subtotal": 2200,
                "image_url": None,
                "product_url": None,
            },
        ],
        "total_amount": 6160,
        "abandoned_at": datetime(2026, 11, 22, 9, 30),
        "recovery_url": "https://shop.example.jp/cart/restore?token=SAMPLE",
        "unsubscribe_url": "https://shop.example.jp/unsubscribe?token=SAMPLE",
        # The step's coupon (None when it carries none): templates test {% if coupon %}.
        "coupon": {
            "code": "SAMPLE-0001",
            "discount": "500円",
            "expires_at": datetime(2026, 11, 29, 23, 59),
        },
        # A trigger step's reason (None for any other step): {% if trigger %}.
        "trigger": {
            "kind": "price_drop",  # or low_stock
            "item": {"product_id": "1", "name": "国産有機抹茶 100g"},
            "old_price": 1980,
            "new_price": 1580,
            "drop_percent": 20,
            "stock": 3,
        },
        "sender": {
            "name": "サンプル商店",
            "email": "info@shop.example.jp",
            "postal_address": "東京都千代田区丸の内1-1-1",
            "contact": "03-0000-0000",
            "logo_url": "https://shop.example.jp/images/logo.png",  # None when not configured
        },
    }


def _without_pictures(context: dict[str, Any]) -> dict[str, Any]:
    """``context`` as a shop without the optional image and page columns and without a logo
    renders it."""
    items = [dict(i, image_url=None, product_url=None) for i in context["items"]]
    return dict(context, items=items, sender=dict(context["sender"], logo_url=None))


def _where(exc: BaseException, template_dir: Path) -> str:
    """'path:line' of the template frame an exception came from, when Jinja kept it."""
    if isinstance(exc, TemplateSyntaxError):
        return f"{exc.filename or template_dir}:{exc.lineno}"
    tb = exc.__traceback__
    where = str(template_dir)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            where = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


class _BytecodeCache(FileSystemBytecodeCache):
    """Jinja2's compiled templates kept between runs (every sweep checks every template at
    start, and compiling them was most of that check). Keyed by the template's name and path
    and checked against a hash of its source by Jinja2, so an edited template is compiled
    again. A cache that cannot be written (a full or read-only disk) only costs the compile."""

    def dump_bytecode(self, bucket: Any) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """The per-user cache directory Jinja2 makes safe (mode 0700, owned by this user, under the
    system's temporary directory); None when there is none to be had."""
    try:
        return _BytecodeCache(pattern="cartnudge_%s.cache")
    except (OSError, RuntimeError):  # RuntimeError: an unsafe directory (another owner)
        return None


class Catalogue:
    """All templates under one directory, compiled and checked."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            keep_trailing_newline=True,
            bytecode_cache=_bytecode_cache(),
        )
        self.env.filters["yen"] = yen
        self.templates: dict[int, TemplateInfo] = {}
        if not directory.is_dir():
            raise TemplateError(f"{directory}: template directory not found")
        for meta_path in sorted(directory.glob("*/template.yaml")):
            info = self._read_meta(meta_path)
            if info.id in self.templates:
                raise TemplateError(f"{meta_path}: template id {info.id} is defined twice")
            self.templates[info.id] = info
        self._compiled: dict[tuple[int, str], Any] = {}

    def _read_meta(self, path: Path) -> TemplateInfo:
        try:
            meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError:
            raise TemplateError(f"{path}: not UTF-8; save it as UTF-8") from None
        except (OSError, yaml.YAMLError) as exc:
            raise TemplateError(f"{path}: cannot read ({' '.join(str(exc).split())})") from None
        if not isinstance(meta, dict):
            raise TemplateError(f"{path}: must be a mapping with id, category, name")
        try:
            template_id = int(meta["id"])
            category = str(meta["category"])
            name = str(meta["name"])
        except (KeyError, TypeError, ValueError):
            raise TemplateError(f"{path}: needs id (a number), category and name") from None
        if category not in CATEGORIES:
            raise TemplateError(
                f"{path}: category {category!r} is not one of {', '.join(CATEGORIES)}"
            )
        for part in PARTS.values():
            if not (path.parent / part).is_file():
                raise TemplateError(f"{path.parent / part}: missing (template {template_id})")
        return TemplateInfo(
            template_id,
            category,
            name,
            path.parent,
            (path.parent / SMS_PART).is_file(),
            (path.parent / LINE_PART).is_file(),
        )

    def get(self, template_id: int) -> TemplateInfo:
        try:
            return self.templates[template_id]
        except KeyError:
            raise TemplateError(f"template {template_id} not found in {self.directory}") from None

    def _template(self, info: TemplateInfo, part: str) -> Any:
        key = (info.id, part)
        if key not in self._compiled:
            rel = f"{info.directory.name}/{part}"
            try:
                self._compiled[key] = self.env.get_template(rel)
            except JinjaError as exc:
                raise TemplateError(
                    f"template {info.id}: {_where(exc, info.directory / part)}: {exc}"
                ) from None
            except UnicodeDecodeError:
                raise TemplateError(
                    f"template {info.id}: {info.directory / part}: not UTF-8; save it as UTF-8"
                ) from None
            except (OSError, RecursionError) as exc:
                raise TemplateError(
                    f"template {info.id}: {info.directory / part}: cannot load ({exc})"
                ) from None
        return self._compiled[key]

    def render(
        self, template_id: int, context: Mapping[str, Any], channel: str | None = None
    ) -> Rendered:
        """Render a template's parts with ``context``. With ``channel`` (a key of
        :data:`CHANNEL_PARTS`) only the parts that channel's message uses; the others come back
        empty ("" or None). A LINE message without ``line.txt.j2`` gets the SMS body."""
        info = self.get(template_id)
        out: dict[str, str | None] = {}
        parts = dict(PARTS, **({"sms": SMS_PART} if info.has_sms else {}))
        if info.has_line:
            parts["line"] = LINE_PART
        if channel is not None:
            wanted = set(CHANNEL_PARTS[channel])
            if channel == "line" and not info.has_line:
                wanted.add("sms")
            parts = {key: part for key, part in parts.items() if key in wanted}
        for key, part in parts.items():
            try:
                out[key] = self._template(info, part).render(context)
            except TemplateError:
                raise
            except RecursionError:
                raise TemplateError(
                    f"template {info.id}: {info.directory / part}: recursion too deep"
                ) from None
            except Exception as exc:  # noqa: BLE001 - a template is code: {{ 1/0 }}, bad filters
                # Not only Jinja's own errors: arithmetic, a filter given the wrong type, a
                # missing attribute. Each is the template's fault: one line, exit 6.
                kind = "" if isinstance(exc, JinjaError) else f"{type(exc).__name__}: "
                raise TemplateError(
                    f"template {info.id}: {_where(exc, info.directory / part)}: {kind}{exc}"
                ) from None
        subject = _CONTROL.sub(" ", out.get("subject") or "").strip()
        return Rendered(
            subject=subject,
            text=out.get("text") or "",
            html=out.get("html") or "",
            sms=out.get("sms"),
            line=out.get("line"),
        )

    def check_all(self) -> None:
        """Render every template against the sample; raise on the first broken one."""
        for template_id in self.templates:
            self.render(template_id, sample_context())
            # and without a coupon or a trigger, as a step without them renders it, without
            # pictures, links or a logo, as a shop whose order_items.sql has no such columns,
            # and with a low-stock trigger
            self.render(template_id, dict(sample_context(), coupon=None, trigger=None))
            self.render(template_id, _without_pictures(sample_context()))
            low_stock = dict(sample_context()["trigger"], kind="low_stock", new_price=1980)
            self.render(template_id, dict(sample_context(), trigger=low_stock))

    def require(self, template_id: int, category: str, key: str, source: str) -> TemplateInfo:
        """The template a flow names, refused (as configuration) when missing or of another
        category."""
        from cartnudge.errors import ConfigError

        info = self.templates.get(template_id)
        if info is None:
            raise ConfigError(
                f"{source}: {key}: template {template_id} not found in {self.directory}"
            )
        if info.category != category:
            raise ConfigError(
                f"{source}: {key}: template {template_id} is of category "
                f"{info.category!r}, this flow needs {category!r}"
            )
        return info
