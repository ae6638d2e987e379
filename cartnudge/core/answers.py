"""What a server's answer means: one pure policy per channel, from the answer to an :class:`Answer`.

A channel asks its server to take one message and gets an answer back: an SMTP reply (code and
text) or an HTTP response (status, body, headers). Each policy here maps that answer to one
:class:`AnswerKind`:

- ``SENT``: the server took the message.
- ``TEMPORARY``: this message, not now; try it again later.
- ``CHANNEL_THROTTLED``: not the message's fault but ours, and the same for every message: a
  quota or rate limit, credentials refused, the account suspended, our IP or domain on a
  blocklist or refused for its reputation, our sender address or domain refused, the endpoint
  wrong. Stop handing this channel messages for this run and leave them for the next sweep;
  nothing is marked failed. ``retry_after`` says how long when the answer says so.
- ``PERMANENT``: this message will never be taken (content refused, too big, a policy of the
  recipient's side); the address itself is not in question.
- ``RECIPIENT_GONE``: permanent, and the recipient does not exist (any more): suppress it.

Suppressing is the costly mistake (a customer who never hears from the shop again), so
``RECIPIENT_GONE`` needs clear evidence about the recipient and is vetoed by any sign that the
refusal is about us, a policy or a quota. Marking a whole run's messages failed is the other
costly mistake, so refusals of our account, sender or IP are ``CHANNEL_THROTTLED``, never
``PERMANENT``, even when the server says 5xx.

Answers only. An HTTP request whose response was lost after the whole request was written, or an
SMTP message whose end-of-data marker left but whose reply did not come, is *in doubt*: the
server may have taken it. That is the caller's to decide (it knows what left the socket), and so
is whether a 500/502/504 from a gateway may come after the message was queued. These policies
see only answers, never a clock (``now`` is an argument), never the network.

SMTP (:func:`classify_smtp`), in this order; "by class" means a 4xx answer is ``TEMPORARY`` and
a 5xx one ``PERMANENT``:

1. 2xx/3xx: ``SENT``. Anything that is not a 2xx-5xx reply: ``TEMPORARY``.
2. The recipient's side is busy (Gmail's "receiving mail too quickly", Outlook's 5.2.122, iCloud's
   "messages to ... deferred"): by class, never suppressed.
3. Ours, for every message: ``CHANNEL_THROTTLED``. Authentication (530/534/535/538, 5.7.8,
   "credentials", "unauthenticated", DMARC/SPF/DKIM of our domain), sending quotas and rate
   limits ("daily user sending quota", SubmissionQuotaExceeded, "Throttling failure", "too many
   messages/recipients/connections"), our IP or domain blocked or listed ("client host ... blocked
   using zen.spamhaus.org", "reputation", "Messages from x.x.x.x temporarily deferred"), our
   sender refused ("Sender address rejected", "Sender verify failed", "relay access denied",
   "not verified"). Also everything refused during connect/EHLO/AUTH, and every 5xx to MAIL FROM
   but a size refusal: no message can go without a session and a sender.
4. Greylisting: ``TEMPORARY``.
5. The recipient's mailbox is full (X.2.2, "mailbox full", "over quota", "exceeded storage
   allocation"): by class, never suppressed. We follow the server: Gmail's 452 4.2.2 says
   "OverQuotaTemp" and its 552 5.2.2 "OverQuotaPerm". A full mailbox may be emptied, so the
   address stays; a reminder that waited days for it is worth little, so a 5xx is not retried.
   A sender's quota (step 3) is told apart by its own words: "sending", "submission", "daily",
   "message quota", "outgoing"; Gmail's sender quota even says 5.4.5, not 5.2.2.
6. Too big (X.3.4, X.2.3, "message size exceeds"): by class.
7. ``RECIPIENT_GONE`` for a 5xx to RCPT, DATA or the message, when nothing vetoes it (below), on
   X.1.1, X.1.10, X.1.6 or X.2.1; or on words that clearly say so. Strong words ("does not
   exist", "doesn't have a ... account", "no longer valid", "mailbox is disabled") count at any
   of those stages; weak ones ("user unknown", "unknown user", "no such user", "invalid
   recipient", "mailbox unavailable", "unrouteable address") only in reply to RCPT: docomo and au
   answered "550 Unknown user" / "550 : User unknown" *after the message* when the recipient's
   own filter refused our domain (the recipient exists and may change the filter).
   The veto: any X.7.x status (security or policy), and words about policy, blocking, spam,
   listing, reputation, quota, authentication, rate, relaying, the sender, limits, filters.
   So ``550 5.7.1 No such user!`` is ``PERMANENT``: the evidence is mixed, the address stays.
8. A bare quota ("452 Quota exceeded") after RCPT: taken as the recipient's mailbox (at MAIL
   FROM there is no recipient yet: a quota there is ours, rule 3). Then content refused (spam,
   virus, links, attachments): by class.
9. A temporary X.7.x refusal that closes the connection (421) or says "try again later"
   (Gmail's ``421 4.7.0 Try again later, closing connection``): ``CHANNEL_THROTTLED``.
10. Everything else by class; a bare 550 is ``PERMANENT`` (it may be our IP on a list, so never
    a suppression). A 421 without more is ``TEMPORARY``: the caller reconnects.

HTTP (:func:`classify_http` or one function per provider): 2xx is ``SENT``; the provider's own
error code decides first (Twilio's ``code``, FCM's ``errorCode``/``reason``, LINE's
``message``), the status after it: 401/403/407 and 404/405 and 3xx (credentials or URL wrong)
and 429 are ``CHANNEL_THROTTLED``, 408/425 and 5xx ``TEMPORARY``, 410 ``RECIPIENT_GONE`` (generic
webhook only), other 4xx ``PERMANENT``. ``Retry-After`` is read in both forms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class AnswerKind(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"  # this message, later
    CHANNEL_THROTTLED = "channel_throttled"  # every message, later: stop the channel for the run
    PERMANENT = "permanent"  # this message, never
    RECIPIENT_GONE = "recipient_gone"  # this recipient, never: suppress


@dataclass(frozen=True)
class Answer:
    """What one answer means.

    ``code`` is the answer's own code when it has one: the RFC 3463 enhanced status for SMTP
    (``"5.1.1"``), the provider's error code for HTTP (Twilio's ``"21610"``, FCM's
    ``"UNREGISTERED"``). ``retry_after`` is in seconds, only when the answer gave it.
    """

    kind: AnswerKind
    reason: str
    retry_after: float | None = None
    code: str | None = None


SENT, TEMPORARY, THROTTLED = (
    AnswerKind.SENT,
    AnswerKind.TEMPORARY,
    AnswerKind.CHANNEL_THROTTLED,
)
PERMANENT, GONE = AnswerKind.PERMANENT, AnswerKind.RECIPIENT_GONE

# -- SMTP ---------------------------------------------------------------------------------------

# Stages of an SMTP session, as :func:`classify_smtp` takes them.
CONNECT, EHLO, AUTH = "connect", "ehlo", "auth"
MAIL, RCPT, DATA, END_OF_DATA = "mail", "rcpt", "data", "end-of-data"

_STAGE_NAMES = {
    "connect": CONNECT,
    "connection": CONNECT,
    "greeting": CONNECT,
    "banner": CONNECT,
    "ehlo": EHLO,
    "helo": EHLO,
    "starttls": EHLO,
    "tls": EHLO,
    "auth": AUTH,
    "login": AUTH,
    "mail": MAIL,
    "mail-from": MAIL,
    "rcpt": RCPT,
    "rcpt-to": RCPT,
    "data": DATA,
    "end-of-data": END_OF_DATA,
    "eod": END_OF_DATA,
    "message": END_OF_DATA,
    "bdat": END_OF_DATA,
}
_SESSION_STAGES = frozenset({CONNECT, EHLO, AUTH})

# "5.1.1" at the start of a reply's text (RFC 3463 class.subject.detail); a leading copy of the
# basic code ("550-5.1.1 ...", as logs and bounce reports quote it) is allowed.
_ENHANCED = re.compile(r"\s*(?:[245]\d\d[ -])?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")

# Enhanced statuses that say the recipient's address is gone: bad destination mailbox (X.1.1),
# Microsoft's "recipient not found" (X.1.10), moved without a forwarding address (X.1.6),
# mailbox disabled (X.2.1).
_GONE_STATUSES = frozenset({(1, 1), (1, 10), (1, 6), (2, 1)})
_AUTH_CODES = frozenset({530, 534, 535, 538})  # RFC 4954: authentication required/failed


def _words(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts))


# The recipient's side is busy: about that mailbox, not about us.
_RECIPIENT_BUSY = _words(
    r"receiving mail (?:too quickly|at a rate)",  # Gmail 450 4.2.1 / 550 5.2.1
    r"can receive",  # Outlook 554 5.2.122 "... messages they can receive per hour"
    r"receiving rate",
    r"messages to \S+ (?:temporarily )?deferred",  # iCloud 421 4.7.1
)
_AUTH_WORDS = _words(
    r"authenticat",  # "authentication", "unauthenticated senders not allowed"
    r"credential",
    r"\bauth\b",
    r"password",
    r"\bdmarc\b",  # our From domain's DMARC/SPF/DKIM: every message to such receivers
    r"\bspf\b",
    r"\bdkim\b",
)
_SENDER_LIMIT_WORDS = _words(
    r"sending quota",  # Gmail 550 5.4.5 "Daily user sending quota exceeded"
    r"submission ?quota",  # Exchange Online 554 5.2.0 SubmissionQuotaExceededException
    r"message quota",  # Amazon SES 454 "Throttling failure: Daily message quota exceeded"
    r"relay quota",
    r"daily (?:user |sending |message )*(?:quota|limit)",  # Outlook 550 5.1.90 "daily limit"
    r"send(?:ing)? limit",
    r"sending rate",  # Amazon SES 454 "Maximum sending rate exceeded"
    r"rate.?limit",  # Gmail 421 4.7.28 "temporarily rate limited"
    r"throttl",
    r"too many (?:messages|mails?|recipients|connections|errors|sessions)",
    r"concurrent connections",
    r"messages? per (?:day|hour|minute)",  # "Data command rejected: only 10 messages per day"
    r"allowed outgoing messages",  # "The limit on the number of allowed outgoing messages"
    r"outgoing (?:message|mail) limit",
    r"unexpected volume",  # Yahoo 421 4.7.0 [TSS04]
    r"complaints",
)
_SENDER_BLOCKED_WORDS = _words(
    r"spamhaus",
    r"spamcop",
    r"\bsorbs\b",
    r"blocked using",  # Postfix reject_rbl_client
    r"\brbl\b",
    r"dnsbl",
    r"block ?list",
    r"black ?list",
    r"reputation",
    r"client host",  # Postfix "Client host [x] blocked", "Client host rejected"
    r"your ip",
    r"ip address",
    r"sending ip",
    r"adresse ip",  # Orange "Adresse IP source bloquee"
    r"messages from \[?\d",  # Yahoo "Messages from 1.2.3.4 temporarily deferred"
    r"sender address rejected",
    r"sender rejected",
    r"sender verify",  # Exim "550-Verification failed for <us> ... 550 Sender verify failed"
    r"sender identity",  # SendGrid "does not match a verified Sender Identity"
    r"mailfrom domain",
    r"sending domain",
    r"reverse dns",
    r"\bptr\b",
    r"relay(?:ing)? (?:access )?(?:denied|not permitted)",
    r"relay access",
    r"unable to relay",
    r"not verified",  # Amazon SES "Email address is not verified" (sandbox or sender)
    r"sending paused",
    r"your account",
    r"account (?:is |has been )?suspended",
)
_GREYLIST_WORDS = _words(r"gr[ae]y-?list")
_MAILBOX_FULL_WORDS = _words(
    r"mailbox (?:is )?full",
    r"mailbox for user is full",  # Dovecot / Free "Quota exceeded (mailbox for user is full)"
    r"inbox is full",
    r"full mailbox",
    r"mailbox size limit",  # Yandex 552 5.2.2
    r"over ?quota",  # Gmail 552 5.2.2 "... is over quota", iCloud "user is overquota"
    r"exceeded storage",  # GMX 552 "exceeded storage allocation"
    r"storage allocation",
    r"\buser quota",  # Free 552 5.2.2 "user quota exceeded" (not "user sending quota")
    r"mailbox quota",
    r"disk quota",
    r"destinataire pleine",  # Orange "Boite du destinataire pleine"
)
_SIZE_WORDS = _words(
    r"too (?:big|large|long)",
    r"message size",
    r"size (?:limit|exceed)",
    r"exceeds? (?:the )?(?:fixed )?(?:maximum )?(?:message )?size",
    r"maximum (?:message )?size",
    r"message length",
)
_CONTENT_WORDS = _words(
    r"content",
    r"\burls?\b",
    r"\blinks?\b",
    r"attachment",
    r"virus",
    r"malware",
    r"phish",
    r"spam",
    r"unsolicited",
    r"suspicious",
    r"banned",
)
_POLICY_WORDS = _words(r"polic", r"block", r"prohibit", r"denied", r"not accepted", r"reject")
_LATER_WORDS = _words(r"try (?:again )?later", r"deferred", r"temporarily (?:rejected|blocked)")
_QUOTA = _words(r"quota")

# Clear words that the recipient is gone, trusted in reply to RCPT, DATA and the message.
_GONE_STRONG = _words(
    r"does not exist",  # Gmail 550 5.1.1, iCloud "user does not exist"
    r"doesn'?t have an? .{0,40}account",  # Yahoo "This user doesn't have a yahoo.co.jp account"
    r"does not have an? .{0,40}account",
    r"no longer (?:valid|in use|active|available)",  # Yahoo "... is no longer valid"
    r"(?:mailbox|account) (?:is |has been )?(?:disabled|deactivated|closed|terminated)",
    r"(?:mailbox|account) disabled",
)
# Words that say so in reply to RCPT only (docomo and au used them for filter refusals of the
# whole message; see sisimai's rhost/for-nttdocomo.go and for-kddi.go).
_GONE_WEAK = _words(
    r"user unknown",
    r"unknown user",
    r"unknown recipient",
    r"recipient unknown",
    r"addressee unknown",
    r"no such (?:user|mailbox|recipient|address)",
    r"user not found",
    r"recipient not found",
    r"recipientnotfound",
    r"mailbox not found",
    r"mailbox unavailable",
    r"mailbox unallocated",
    r"no mailbox",
    r"invalid (?:recipient|mailbox|user)",
    r"not our customer",
    r"unroute?able address",
    r"not a valid (?:e-?mail )?address",
)
# Any of these in the text and the answer is never taken as "the recipient is gone".
_GONE_VETO = _words(
    r"polic",
    r"block",
    r"spam",
    r"listed",
    r"listing",
    r"reputation",
    r"\brbl\b",
    r"dnsbl",
    r"quota",
    r"authenticat",
    r"\bauth\b",
    r"credential",
    r"\brate\b",
    r"rate.?limit",
    r"throttl",
    r"relay(?:ing)? (?:access )?(?:denied|not permitted)",
    r"relay access",
    r"unable to relay",
    r"denied",
    r"dmarc",
    r"\bspf\b",
    r"dkim",
    r"complain",
    r"virus",
    r"content",
    r"sender",
    r"too many",
    r"limit",
    r"suspend",
    r"not verified",
    r"prohibit",
    r"filter",
    r"\bfull\b",
    r"gr[ae]y-?list",
    r"try again",
    r"temporar",
    r"ip address",
    r"client host",
    r"security",
)


def _flat(text: str) -> str:
    """The reply's text on one line, lower case (multi-line replies are joined)."""
    return " ".join(text.split()).lower()


def _stage(stage: object) -> str:
    if not isinstance(stage, str):
        return ""
    key = re.sub(r"[\s_]+", "-", stage.strip().lower())
    return _STAGE_NAMES.get(key, "")


def _by_class(temporary: bool, reason: str, status: str | None) -> Answer:
    return Answer(TEMPORARY if temporary else PERMANENT, reason, None, status)


def classify_smtp(code: int, text: str, stage: str) -> Answer:
    """What an SMTP reply means for the message and the channel (rules in the module docstring).

    ``code`` is the basic reply code (550), ``text`` the reply's text as smtplib gives it (the
    enhanced status, if any, at its start: ``"5.1.1 <x@example.jp>: User unknown"``), ``stage``
    what it answered: ``connect``, ``ehlo``, ``auth``, ``mail``, ``rcpt``, ``data`` or
    ``end-of-data`` (``"MAIL"``, ``"end of data"`` are fine too; an unknown stage counts as one
    of the message's, where rule 7 trusts the enhanced status only, never words).
    """
    if not isinstance(text, str):
        text = ""
    if isinstance(code, bool) or not isinstance(code, int):
        return Answer(TEMPORARY, "not an SMTP reply code")
    words = _flat(text)
    match = _ENHANCED.match(text)
    status = ".".join(match.groups()) if match else None
    subject = (int(match.group(2)), int(match.group(3))) if match else None
    if 200 <= code < 400:
        return Answer(SENT, "accepted", None, status)
    if not 400 <= code < 600:
        return Answer(TEMPORARY, f"not an SMTP reply ({code})", None, status)
    temporary = code < 500
    where = _stage(stage)
    message_stage = where not in _SESSION_STAGES and where != MAIL

    # 2. The recipient's side is busy: its state, not ours, and not a reason to suppress.
    if message_stage and _RECIPIENT_BUSY.search(words):
        return _by_class(temporary, "the recipient's server is receiving too much", status)

    # 3. Ours, for every message.
    if code in _AUTH_CODES or subject == (7, 8) or _AUTH_WORDS.search(words):
        return Answer(THROTTLED, "authentication refused (ours)", None, status)
    if _SENDER_LIMIT_WORDS.search(words):
        return Answer(THROTTLED, "sending quota or rate limit reached", None, status)
    if _SENDER_BLOCKED_WORDS.search(words):
        return Answer(THROTTLED, "our IP, domain or sender refused or listed", None, status)
    if where in _SESSION_STAGES:
        return Answer(THROTTLED, f"the server refused the session ({where})", None, status)

    if _GREYLIST_WORDS.search(words):
        return Answer(TEMPORARY, "greylisted", None, status)

    # 9 (used at MAIL FROM too): a temporary security/policy refusal that sends us away.
    policy_status = subject is not None and subject[0] == 7
    sent_away = temporary and policy_status and (code == 421 or bool(_LATER_WORDS.search(words)))

    if where == MAIL:  # no recipient yet: a refusal here is about our sender, or the message size
        if subject == (3, 4) or _SIZE_WORDS.search(words):
            return _by_class(temporary, "message too big", status)
        if sent_away:
            return Answer(THROTTLED, "deferred by the server's policy (ours)", None, status)
        if _QUOTA.search(words):
            return Answer(THROTTLED, "quota at MAIL FROM (ours)", None, status)
        if temporary:
            return Answer(TEMPORARY, "sender refused for now", None, status)
        return Answer(THROTTLED, "the server refuses our sender", None, status)

    # 5. The recipient's mailbox is full: by class, never suppressed.
    if subject == (2, 2) or _MAILBOX_FULL_WORDS.search(words):
        return _by_class(temporary, "the recipient's mailbox is full", status)

    # 6. Too big.
    if subject in ((3, 4), (2, 3)) or _SIZE_WORDS.search(words):
        return _by_class(temporary, "message too big", status)

    # 7. The recipient is gone: clear evidence only, and nothing that vetoes it.
    if not temporary and _recipient_gone(words, subject, where):
        return Answer(GONE, "the recipient does not exist", None, status)

    # 8. A quota nobody named: at a message stage, the recipient's mailbox.
    if _QUOTA.search(words):
        return _by_class(temporary, "quota exceeded (taken as the recipient's mailbox)", status)

    if _CONTENT_WORDS.search(words):
        return _by_class(temporary, "message refused for its content", status)

    # 9. A temporary security/policy refusal that sends us away: about us.
    if sent_away:
        return Answer(THROTTLED, "deferred by the server's policy (ours)", None, status)

    # 10. The rest by class.
    if code == 421:
        return Answer(TEMPORARY, "the server closed the connection", None, status)
    if temporary:
        return Answer(TEMPORARY, "refused for now", None, status)
    if where in (DATA, END_OF_DATA) and _GONE_WEAK.search(words):
        # docomo's and au's filters said "Unknown user" here for a recipient who exists.
        reason = "refused after the message ('unknown user' here is no proof)"
        return Answer(PERMANENT, reason, None, status)
    if policy_status or _POLICY_WORDS.search(words):
        return Answer(PERMANENT, "refused by policy (address not suppressed)", None, status)
    return Answer(PERMANENT, "refused", None, status)


def _recipient_gone(words: str, subject: tuple[int, int] | None, where: str) -> bool:
    if where not in (RCPT, DATA, END_OF_DATA, ""):
        return False
    if subject is not None and subject[0] == 7:
        return False
    if _GONE_VETO.search(words):
        return False
    if where == "":  # a stage we do not know: only the enhanced status is trusted
        return subject in _GONE_STATUSES
    if subject in _GONE_STATUSES or _GONE_STRONG.search(words):
        return True
    return where == RCPT and bool(_GONE_WEAK.search(words))


# -- HTTP ---------------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# RFC 9110 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must take.
_IMF_FIXDATE = re.compile(
    r"[a-z]{3}, (\d{1,2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt", re.IGNORECASE
)
_RFC850_DATE = re.compile(
    r"[a-z]+, (\d{1,2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt", re.IGNORECASE
)
_ASCTIME_DATE = re.compile(
    r"[a-z]{3} ([a-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})", re.IGNORECASE
)


def _http_date(value: str) -> datetime | None:
    """An HTTP-date as an aware UTC datetime, without the locale-dependent ``strptime``."""
    value = " ".join(value.split())
    if m := _IMF_FIXDATE.fullmatch(value):
        day, month, year, hh, mm, ss = m.groups()
    elif m := _RFC850_DATE.fullmatch(value):
        day, month, yy, hh, mm, ss = m.groups()
        year = str(1900 + int(yy) if int(yy) >= 70 else 2000 + int(yy))
    elif m := _ASCTIME_DATE.fullmatch(value):
        month, day, hh, mm, ss, year = m.groups()
    else:
        return None
    number = _MONTHS.get(month.lower())
    if number is None:
        return None
    try:
        return datetime(int(year), number, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:
        return None


def retry_after_seconds(value: object, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` value as seconds to wait, or ``None`` when absent or unreadable.

    Both forms of RFC 9110 10.2.3: delay-seconds (``"120"``) and an HTTP-date, which needs
    ``now`` (aware, or naive UTC) to become seconds; without ``now`` a date gives ``None``. Never
    negative (a date in the past is 0); not capped here.
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    when = _http_date(value)
    if when is None or now is None:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _header(headers: object, name: str) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    try:
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == name and isinstance(value, str):
                return value
    except Exception:  # a strange mapping is no answer, and no reason to crash
        return None
    return None


def _retry_after(headers: object, now: datetime | None) -> float | None:
    return retry_after_seconds(_header(headers, "retry-after"), now)


def _document(body: object) -> tuple[dict[Any, Any], str]:
    """The body as a JSON object (or ``{}``) and as text (or ``""``).

    JSON arrives parsed (a mapping): the core parses nothing itself (tests/test_layout.py keeps
    it to pure modules), and every channel has ``response.json()`` at hand. A body given as text
    is only text: for Twilio and FCM that leaves the status to decide, which never suppresses.
    """
    if isinstance(body, bytes | bytearray):
        return {}, bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        return {}, body
    if isinstance(body, Mapping):
        try:
            return dict(body), ""
        except Exception:  # a strange mapping: no document
            return {}, ""
    return {}, ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dicts(value: object) -> list[dict[Any, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _by_status(status: int, retry_after: float | None, code: str | None = None) -> Answer:
    """The status alone, for an answer its provider's own words did not decide."""
    if 200 <= status < 300:
        return Answer(SENT, "accepted", None, code)
    if 300 <= status < 400:
        return Answer(THROTTLED, f"redirected ({status}): the URL is wrong", None, code)
    if status in (401, 403, 407):
        return Answer(THROTTLED, f"credentials or account refused ({status})", retry_after, code)
    if status in (404, 405):
        return Answer(THROTTLED, f"endpoint not found ({status}): the URL is wrong", None, code)
    if status in (408, 425):
        return Answer(TEMPORARY, f"timed out or too early ({status})", retry_after, code)
    if status == 413:
        return Answer(PERMANENT, "message too big (413)", None, code)
    if status == 429:
        return Answer(THROTTLED, "rate limit or quota (429)", retry_after, code)
    if 400 <= status < 500:
        return Answer(PERMANENT, f"message refused ({status})", None, code)
    if 500 <= status < 600:
        return Answer(TEMPORARY, f"server error ({status})", retry_after, code)
    return Answer(TEMPORARY, f"not an HTTP status ({status})", None, code)


def _status(status: object) -> int:
    return status if isinstance(status, int) and not isinstance(status, bool) else -1


def classify_webhook(
    status: int,
    body: Mapping[str, Any] | str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Answer:
    """A generic JSON webhook (SMS or push) by its status alone: a webhook has no error vocabulary
    we could trust. 410 Gone is the only status that says the recipient is gone; a 404 is taken
    as a wrong URL (suppressing every recipient for a typo would be the worst outcome)."""
    status = _status(status)
    if status == 410:
        return Answer(GONE, "the recipient is gone (410)")
    return _by_status(status, _retry_after(headers, now))


# Twilio error codes (https://www.twilio.com/docs/api/errors). The Messages API answers 21xxx and
# 20xxx; 30xxx come in delivery reports (status callbacks): pass them as the body's ``code`` with
# ``status=0`` (no HTTP status of their own).
_TWILIO_CODES: dict[int, tuple[AnswerKind, str]] = {
    21211: (GONE, "invalid 'To' number"),
    21614: (GONE, "'To' number is not a mobile number"),
    21610: (GONE, "the recipient replied STOP (unsubscribed)"),
    30005: (GONE, "unknown destination handset"),
    20003: (THROTTLED, "authentication refused"),
    20005: (THROTTLED, "account not active"),
    20404: (THROTTLED, "resource not found: account SID or URL wrong"),
    20429: (THROTTLED, "too many requests"),
    14107: (THROTTLED, "SMS send rate limit exceeded"),
    21606: (THROTTLED, "the 'From' number cannot send SMS"),
    21611: (THROTTLED, "the 'From' number's queue is full"),
    21659: (THROTTLED, "the 'From' number is not ours"),
    30001: (THROTTLED, "queue overflow"),
    30002: (THROTTLED, "account suspended"),
    30034: (THROTTLED, "message from an unregistered number (A2P 10DLC)"),
    # Permission for a country is per destination, not for every message: marking these failed
    # keeps one foreign number from stopping the channel run after run.
    21408: (PERMANENT, "SMS to this region not permitted for the account"),
    21612: (PERMANENT, "the 'To' number is not reachable by SMS"),
    21617: (PERMANENT, "message body too long"),
    21602: (PERMANENT, "message body missing"),
    30004: (PERMANENT, "message blocked for this recipient"),
    30006: (PERMANENT, "landline or unreachable carrier"),
    30007: (PERMANENT, "carrier filtered the message"),
    30003: (TEMPORARY, "destination handset unreachable"),
    30008: (TEMPORARY, "unknown delivery error"),
    20500: (TEMPORARY, "Twilio internal error"),
    20503: (TEMPORARY, "Twilio service unavailable"),
}


def classify_twilio(
    status: int,
    body: Mapping[str, Any] | str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Answer:
    """Twilio's Messages API: its error ``code`` first, the HTTP status after it."""
    status = _status(status)
    if 200 <= status < 300:
        return Answer(SENT, "accepted")
    doc, _ = _document(body)
    retry_after = _retry_after(headers, now)
    code = doc.get("code")
    if isinstance(code, str) and code.isascii() and code.isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        known = _TWILIO_CODES.get(code)
        if known is not None:
            kind, reason = known
            wait = retry_after if kind in (THROTTLED, TEMPORARY) else None
            return Answer(kind, reason, wait, str(code))
        return _by_status(status, retry_after, str(code))
    return _by_status(status, retry_after)


def classify_fcm(
    status: int,
    body: Mapping[str, Any] | str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Answer:
    """Firebase Cloud Messaging HTTP v1: the error's codes (``FcmError.errorCode``,
    ``ErrorInfo.reason``, ``error.status``) first, the HTTP status after them.

    - ``UNREGISTERED``: gone. ``INVALID_ARGUMENT`` about the token (a field violation on
      ``message.token``, or "registration token" in the message): gone, as Firebase advises;
      about anything else (data, TTL, size): permanent for the message.
    - ``QUOTA_EXCEEDED`` / 429: the project's quota, ``CHANNEL_THROTTLED`` with Retry-After; but
      a device's own message rate ("... for device") is that device's: ``TEMPORARY``.
    - ``SENDER_ID_MISMATCH``: the token belongs to another Firebase project; every later send to
      it fails the same way, but it is not proof the app was removed: ``PERMANENT``. Throttling
      the channel instead would stop every other token, run after run, for one stale token.
    - ``THIRD_PARTY_AUTH_ERROR`` (APNs or web push credentials), 401, 403: ``CHANNEL_THROTTLED``.
    - ``UNAVAILABLE``/503, ``INTERNAL``/500: ``TEMPORARY`` (Retry-After kept).
    - A 404 without ``UNREGISTERED``: a Google error body, ``PERMANENT`` (not suppressed);
      anything else (an HTML page), the URL is wrong: ``CHANNEL_THROTTLED``.
    """
    status = _status(status)
    if 200 <= status < 300:
        return Answer(SENT, "accepted")
    doc, _ = _document(body)
    retry_after = _retry_after(headers, now)
    error = doc.get("error")
    codes: list[str] = []
    fields: list[str] = []
    quota_notes: list[str] = []
    message = ""
    if isinstance(error, dict):
        message = _text(error.get("message"))
        for detail in _dicts(error.get("details")):
            for key in ("errorCode", "reason"):
                if _text(detail.get(key)):
                    codes.append(_text(detail.get(key)).upper())
            fields += [_text(v.get("field")) for v in _dicts(detail.get("fieldViolations"))]
            for violation in _dicts(detail.get("violations")):
                quota_notes += [
                    _text(violation.get("subject")),
                    _text(violation.get("description")),
                ]
        if _text(error.get("status")):
            codes.append(_text(error.get("status")).upper())
    code = codes[0] if codes else None
    lowered = message.lower()

    if "UNREGISTERED" in codes:
        return Answer(GONE, "the app was removed from the device (UNREGISTERED)", None, code)
    if "SENDER_ID_MISMATCH" in codes:
        return Answer(PERMANENT, "the token belongs to another Firebase project", None, code)
    if "THIRD_PARTY_AUTH_ERROR" in codes:
        return Answer(THROTTLED, "APNs or web push credentials refused", retry_after, code)
    if "QUOTA_EXCEEDED" in codes or "RESOURCE_EXHAUSTED" in codes or status == 429:
        notes = " ".join([lowered, *quota_notes]).lower()
        if "device" in notes:
            return Answer(TEMPORARY, "this device's message rate exceeded", retry_after, code)
        return Answer(THROTTLED, "FCM sending quota exceeded", retry_after, code)
    if "UNAVAILABLE" in codes or status == 503:
        return Answer(TEMPORARY, "FCM unavailable", retry_after, code)
    if "INTERNAL" in codes or status == 500:
        return Answer(TEMPORARY, "FCM internal error", retry_after, code)
    if "INVALID_ARGUMENT" in codes or status == 400:
        if "message.token" in fields or "registration token" in lowered:
            return Answer(GONE, "the registration token is not valid", None, code)
        if "too big" in lowered or "too large" in lowered:
            return Answer(PERMANENT, "message too big", None, code)
        return Answer(PERMANENT, "the message was refused as invalid", None, code)
    if status in (401, 403) or {"UNAUTHENTICATED", "PERMISSION_DENIED"} & set(codes):
        return Answer(THROTTLED, f"credentials or project refused ({status})", retry_after, code)
    if status == 404:
        if isinstance(error, dict):
            return Answer(PERMANENT, "not found, without UNREGISTERED (not suppressed)", None, code)
        return Answer(THROTTLED, "endpoint not found (404): the URL is wrong", None, code)
    return _by_status(status, retry_after, code)


def classify_line(
    status: int,
    body: Mapping[str, Any] | str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Answer:
    """LINE Messaging API (push message).

    - 429 "You have reached your monthly limit." (or the additional-message limit): the month's
      messages are used up (or reserved by a delivery in progress, per LINE's FAQ):
      ``CHANNEL_THROTTLED`` until the next sweep finds room; any other 429 is the API rate limit
      or concurrency limit: ``CHANNEL_THROTTLED`` with Retry-After when given.
    - 400 "The property, 'to', in the request body is invalid": the user id can never receive
      from this channel: ``RECIPIENT_GONE``. 400 "Failed to send messages" is also what a user id
      that does not exist gets, but LINE gives it for other failures too: ``PERMANENT``.
    - A user who blocked the account, or deleted theirs, is answered 200 (LINE's FAQ): ``SENT``.
      That suppression can only come from the ``unfollow`` webhook event, not from this answer.
    - 409 "The retry key is already accepted": the earlier request with this ``X-Line-Retry-Key``
      was taken: ``SENT``.
    - 401/403: the channel access token or the plan: ``CHANNEL_THROTTLED``. 5xx: ``TEMPORARY``.
    """
    status = _status(status)
    if 200 <= status < 300:
        return Answer(SENT, "accepted")
    doc, text = _document(body)
    retry_after = _retry_after(headers, now)
    message = _text(doc.get("message")) or text  # LINE's words are plain enough to find in text
    lowered = message.lower()
    properties = [_text(d.get("property")) for d in _dicts(doc.get("details"))]
    if status == 409 and "retry key" in lowered:
        return Answer(SENT, "already accepted under this retry key")
    if status == 429:
        if "monthly limit" in lowered or "additional messages" in lowered:
            return Answer(THROTTLED, "monthly message limit reached", retry_after)
        return Answer(THROTTLED, "API rate or concurrency limit", retry_after)
    if status == 400:
        if re.search(r"property, '?to'?,", lowered) or "to" in properties:
            return Answer(GONE, "the user id is not valid for this channel")
        return Answer(PERMANENT, "the message was refused")
    return _by_status(status, retry_after)


_PROVIDERS = {
    "twilio": classify_twilio,
    "fcm": classify_fcm,
    "line": classify_line,
    "webhook": classify_webhook,
}


def classify_http(
    provider: str,
    status: int,
    body: Mapping[str, Any] | str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Answer:
    """An HTTP answer of ``provider`` (``twilio``, ``fcm``, ``line`` or ``webhook``, the generic
    JSON webhook of SMS and push). ``body`` is the parsed JSON (a mapping) when the answer was
    JSON, else its text or ``None``; ``now`` turns an HTTP-date ``Retry-After`` into seconds.
    :class:`ValueError` for an unknown provider (a programming error); never an exception for
    anything the server sent."""
    try:
        policy = _PROVIDERS[provider]
    except (KeyError, TypeError):
        raise ValueError(f"no answer policy for provider {provider!r}") from None
    return policy(status, body, headers, now)
