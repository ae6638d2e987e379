"""Reading the CSV files operators bring, whatever wrote them.

Excel in Japan saves "CSV" as Shift_JIS (Windows code page 932), "CSV UTF-8" with a byte-order
mark, and "Unicode text" as UTF-16 with a BOM; other tools write plain UTF-8. :func:`decode_csv`
tells them apart: a BOM decides; then valid UTF-8 is UTF-8; then CP932 (a superset of
Shift_JIS). Raises ValueError naming the encodings tried when none fits.
"""

from __future__ import annotations

import codecs

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "utf-16", "cp932", "shift_jis")


def decode_csv(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """The text of ``data`` and the encoding used (``utf-8-sig``, ``utf-16``, ``utf-8`` or
    ``cp932`` when detected). Raises ValueError when ``data`` is not in ``encoding`` or, for
    ``auto``, in any of them."""
    if encoding != "auto":
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise ValueError(f"not {encoding} (byte {exc.start}); try another --encoding") from None
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    if data[:200].count(b"\x00") * 4 >= min(len(data), 200) > 0:
        # UTF-16 without a BOM: every other byte of ASCII text is NUL.
        which = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return data.decode(which), which
    for name in ("utf-8", "cp932"):
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    raise ValueError("neither UTF-8, UTF-16 nor Shift_JIS/CP932; give --encoding")
