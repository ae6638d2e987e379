"""Web addresses a message may show or link to: a product's image and page (optional columns
of order_items.sql) and the shop's logo (``sender.logo_url``).

They come from the shop's database or the configuration and end up in an ``href`` or ``src``
of the HTML e-mail, so only a plain http(s) address is used: a ``javascript:`` or ``data:``
URL, a quote, an angle bracket, a space or a backslash never reaches the HTML (autoescaping
alone would keep the attribute closed, but not stop a ``javascript:`` link). Pure: no I/O.
"""

from __future__ import annotations

import re

MAX_URL = 2048  # longer is not an address a shop stores for an image or a page

# scheme :// host [:port] [path, query, fragment]. The host is a name or an IPv4 address (no
# user info: "https://shop.example.jp@evil.example" is refused). The rest holds only RFC 3986
# characters, without the quote "'" (nor '"', '<', '>', '\\', '`', '{', '}', '|', '^', spaces).
_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?"
    r"(?:[/?#][!#$%&()*+,\-./0-9:;=?@A-Z\[\]_a-z~]*)?",
    re.ASCII,
)
_REST = re.compile(r"[/?#]")


def _encode_non_ascii(text: str) -> str:
    """Non-ASCII characters as UTF-8 percent escapes (a Japanese path or query, as browsers
    send it); everything else as it is."""
    if text.isascii():
        return text
    return "".join(
        c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text
    )


def web_url(value: object, *, https_only: bool = False) -> str | None:
    """``value`` as an http(s) address safe to put in an ``href`` or ``src``, or None when it
    is not one (None, not text, empty, another scheme, user info, a character outside RFC 3986
    or a quote). Non-ASCII characters after the host are percent-encoded; surrounding spaces
    are dropped. With ``https_only`` an ``http://`` address is refused too.

    >>> web_url("https://shop.example.jp/images/抹茶.jpg")
    'https://shop.example.jp/images/%E6%8A%B9%E8%8C%B6.jpg'
    >>> web_url("javascript:alert(1)") is None
    True
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_URL:
        return None
    scheme, sep, after = text.partition("://")
    if not sep:
        return None
    cut = _REST.search(after)
    host, rest = (after[: cut.start()], after[cut.start() :]) if cut else (after, "")
    url = f"{scheme.lower()}://{host}{_encode_non_ascii(rest)}"
    found = _URL.fullmatch(url)
    if found is None or len(url) > MAX_URL:
        return None
    if https_only and found["scheme"] != "https":
        return None
    return url


def with_query(url: str, name: str, value: str) -> str:
    """``url`` with ``name=value`` added to its query (``?`` or ``&``; before a ``#fragment``),
    the value percent-encoded: the recovery link carrying a coupon code
    (``coupons.in_link``).

    >>> with_query("https://shop.example.jp/cart?token=abc#top", "coupon", "CART-7K2M")
    'https://shop.example.jp/cart?token=abc&coupon=CART-7K2M#top'
    """
    base, hash_, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    if base.endswith(("?", "&")):
        joiner = ""
    return f"{base}{joiner}{_escape(name)}={_escape(value)}{hash_}{fragment}"


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _escape(text: str) -> str:
    """RFC 3986 percent-encoding of everything but the unreserved characters (what
    ``urllib.parse.quote(text, safe='')`` gives; the core imports nothing that does I/O)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))
