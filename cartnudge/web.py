"""The endpoints a shop can mount (``cartnudge[web]``): one-click opt-out and click redirects.

A small Starlette (ASGI) application, served by any ASGI server (``cartnudge serve`` runs
uvicorn; gunicorn with uvicorn workers, hypercorn or daphne work the same way):

- ``POST /u/<token>``: the RFC 8058 one-click unsubscribe. A mail client POSTs
  ``List-Unsubscribe=One-Click`` to the ``List-Unsubscribe`` https URI with no further
  interaction (RFC 8058 section 3.1); the confirm button of the page below POSTs here too. The
  token's address goes on its channel's suppression list.
- ``GET /u/<token>``: the same link opened in a browser (a GET must not unsubscribe, RFC 8058
  section 3.2: link scanners fetch URLs): a page in Japanese with a confirm button.
- ``GET /r/<token>``: a click on a reminder. The click is recorded on the delivery, then the
  shopper is redirected (303) to the shop's restore page (``recovery.shop_url``) or LP form
  (``recovery.lp_url``) for that delivery, with the same token. A ``HEAD`` (link checkers,
  previews) gets the same answer without counting a click.

A bad, expired or unknown token gets a friendly page in Japanese (400), a database that cannot
be reached a "try again later" page (503); no request ever ends in a 500 page. With
``web.base_url`` set, the messages' recovery and opt-out links point here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from html import escape
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from cartnudge.app import App
from cartnudge.core.urls import with_query
from cartnudge.errors import ConfigError, DatabaseError, TokenError
from cartnudge.logs import mask_pii
from cartnudge.messages.tokens import RECOVERY, UNSUBSCRIBE
from cartnudge.recovery import resolve_optout_token, resolve_token, unsubscribe

log = logging.getLogger(__name__)

STYLE = (
    "body{font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',sans-serif;"
    "max-width:36em;margin:3em auto;padding:0 1em;line-height:1.7;color:#222}"
    "button{font-size:1.05em;padding:.6em 1.6em;border:0;border-radius:6px;"
    "background:#2a6f4e;color:#fff;cursor:pointer}.note{color:#666;font-size:.9em}"
)


def _page(title: str, body: str, shop: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)} | {escape(shop)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}"
        f'<p class="note">{escape(shop)}</p></body></html>'
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _masked(address: str | None) -> str:
    return mask_pii(address or "") or "ご登録のアドレス"


class WebEndpoints:
    """The three endpoints over one :class:`App` (its engines are pooled and thread-safe;
    Starlette runs each blocking call in its thread pool)."""

    def __init__(self, app: App, *, now: Callable[[], datetime] = _utcnow) -> None:
        self.app = app
        self.now = now
        self.shop = app.config.settings.sender.name or "ショップ"
        # Build the stores once, before requests arrive on several threads.
        _ = (app.deliveries, app.suppressions, app.reader, app.coupons)

    # -- pages -----------------------------------------------------------------------------

    def bad_link(self, reason: str) -> HTMLResponse:
        log.info("web: refused a link: %s", reason)
        body = (
            "<p>このリンクは無効か、有効期限が切れています。</p>"
            "<p>お手数ですが、ショップのトップページからお進みください。"
            "メールの配信停止をご希望の場合は、最新のメールのリンクをご利用いただくか、"
            "ショップまでお問い合わせください。</p>"
        )
        contact = self.app.config.settings.sender.contact
        if contact:
            body += f"<p>お問い合わせ先: {escape(contact)}</p>"
        return _page("リンクが無効です", body, self.shop, status=400)

    def unavailable(self) -> HTMLResponse:
        body = "<p>ただいま処理できませんでした。しばらくしてからもう一度お試しください。</p>"
        return _page("しばらくお待ちください", body, self.shop, status=503)

    async def guarded(self, fn: Callable[[], Awaitable[Response]]) -> Response:
        """Run an endpoint: a refused token is a friendly 400, anything else a 503 page."""
        try:
            return await fn()
        except TokenError as exc:
            return self.bad_link(str(exc))
        except DatabaseError as exc:
            log.error("web: %s", mask_pii(str(exc)))
            return self.unavailable()
        except Exception as exc:  # never a 500: log it and show a page
            log.exception("web: unexpected error: %s", mask_pii(repr(exc)))
            return self.unavailable()

    # -- endpoints -------------------------------------------------------------------------

    async def click(self, request: Request) -> Response:
        token = request.path_params["token"]

        async def run() -> Response:
            # A HEAD is a link checker or a preview, not a shopper: answered, not counted.
            record = request.method != "HEAD"
            info = await run_in_threadpool(
                resolve_token, self.app, token, now=self.now(), record_click=record
            )
            if info["kind"] != RECOVERY:
                raise TokenError("not a recovery token")
            url = await run_in_threadpool(self.restore_url, info, token)
            return RedirectResponse(url, status_code=303)

        return await self.guarded(run)

    def restore_url(self, info: dict[str, Any], token: str) -> str:
        """The shop's page for the delivery: the LP form for an LP order, else the cart."""
        r = self.app.config.settings.recovery
        pattern = r.lp_url if info.get("storefront") == "lp" else r.shop_url
        url = pattern.format(
            token=token, lp_id=info.get("lp_id") or "", order_id=info.get("order_id") or ""
        )
        if self.app.config.settings.coupons.in_link and info.get("delivery_id") is not None:
            # The delivery's own code, from the state (never the link's query, which anyone
            # can edit): the shop gets the code the message carried.
            held = self.app.coupons.of_deliveries([int(info["delivery_id"])])
            coupon = held.get(int(info["delivery_id"]))
            if coupon is not None:
                url = with_query(url, "coupon", coupon.code)
        return url

    async def _opt_out_target(self, token: str) -> dict[str, Any]:
        info = await run_in_threadpool(resolve_optout_token, self.app, token, now=self.now())
        if info["kind"] != UNSUBSCRIBE or not info.get("address"):
            raise TokenError("not an opt-out token")
        return info

    async def confirm_page(self, request: Request) -> Response:
        token = request.path_params["token"]

        async def run() -> Response:
            info = await self._opt_out_target(token)
            channel = {"email": "メール", "sms": "SMS", "push": "プッシュ通知"}.get(
                info["channel"], info["channel"]
            )
            body = (
                f"<p>{escape(_masked(info['address']))} への{escape(channel)}の配信を"
                "停止します。よろしければ下のボタンを押してください。</p>"
                f'<form method="post" action="{escape(request.url.path)}">'
                '<input type="hidden" name="confirm" value="yes">'
                '<button type="submit">配信を停止する</button></form>'
                '<p class="note">停止後は、かご落ちのお知らせを含め、'
                "このアドレスへのご案内をお送りしません。</p>"
            )
            return _page("配信停止の確認", body, self.shop)

        return await self.guarded(run)

    async def one_click(self, request: Request) -> Response:
        token = request.path_params["token"]

        async def run() -> Response:
            info = await self._opt_out_target(token)
            await run_in_threadpool(
                unsubscribe,
                self.app,
                info["address"],
                now=self.now(),
                channel=info["channel"],
            )
            log.info("web: unsubscribed %s (%s)", mask_pii(info["address"]), info["channel"])
            body = "<p>配信を停止しました。これまでご利用いただきありがとうございました。</p>"
            return _page("配信を停止しました", body, self.shop)

        return await self.guarded(run)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        body = "<p>お探しのページは見つかりませんでした。</p>"
        return _page("ページが見つかりません", body, self.shop, status=404)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        return self.unavailable()


def create_app(app: App, *, now: Callable[[], datetime] = _utcnow) -> Starlette:
    """The ASGI application over a built :class:`App`."""
    endpoints = WebEndpoints(app, now=now)
    routes = [
        Route("/r/{token}", endpoints.click, methods=["GET"]),
        Route("/u/{token}", endpoints.confirm_page, methods=["GET"]),
        Route("/u/{token}", endpoints.one_click, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={404: endpoints.not_found, 500: endpoints.server_error},
    )


def app_from_env() -> Starlette:
    """An ASGI factory for any server: the configuration named by ``CARTNUDGE_CONFIG``
    (``uvicorn --factory cartnudge.web:app_from_env``). Raises ConfigError."""
    path = os.environ.get("CARTNUDGE_CONFIG")
    if not path:
        raise ConfigError("set CARTNUDGE_CONFIG to the configuration file")
    from cartnudge.config import load_config

    return create_app(App(load_config(path)))
