"""The answer policies as tables: one row per real answer, the provider named in the test id.

Every row is an answer someone actually got (addresses and IPs masked as their reporters masked
them); where it came from is noted beside it. The big sources:

- ActiveCampaign/smtp-field-manual, ``data/codes/*.json``: responses collected per provider.
- GitHub issues of mailers and of the apps that hit them (PHPMailer, gen_smtp, Django apps,
  Postal, mailcow, docker-mailserver, sisimai), cited row by row as ``owner/repo#number``.
- Japanese carriers: the sendmagic notes on docomo/au/SoftBank answers, and sisimai's
  ``rhost/for-nttdocomo.go`` and ``for-kddi.go`` (what "Unknown user" means after DATA).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartnudge.core.answers import (
    DATA,
    END_OF_DATA,
    MAIL,
    RCPT,
    Answer,
    AnswerKind,
    classify_fcm,
    classify_http,
    classify_line,
    classify_smtp,
    classify_twilio,
    classify_webhook,
    retry_after_seconds,
)

SENT = AnswerKind.SENT
TEMPORARY = AnswerKind.TEMPORARY
THROTTLED = AnswerKind.CHANNEL_THROTTLED
PERMANENT = AnswerKind.PERMANENT
GONE = AnswerKind.RECIPIENT_GONE
EOD = END_OF_DATA
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def row(provider: str, code: int, text: str, stage: str, kind: AnswerKind):
    return pytest.param(
        code, text, stage, kind, id=f"{provider}: {code} {' '.join(text.split())[:60]}"
    )


# -- SMTP -----------------------------------------------------------------------------------------

SMTP_TABLE = [
    # ---- Gmail / Google Workspace (smtp-field-manual 421/550/552.json unless noted)
    row("Gmail", 250, "2.0.0 OK  1700000000 a1-20020a170902 - gsmtp", EOD, SENT),
    row(
        "Gmail",
        550,
        "5.1.1 The email account that you tried to reach does not exist. Please try "
        "double-checking the recipient's email address for typos or unnecessary spaces. "
        "Learn more at https://support.google.com/mail/?p=NoSuchUser - gsmtp",
        RCPT,
        GONE,
    ),
    row(
        "Gmail",
        550,
        "5.2.1 The email account that you tried to reach is disabled. Learn more at "
        "https://support.google.com/mail/?p=DisabledUser - gsmtp",
        RCPT,
        GONE,
    ),
    # 5.2.1 is also Gmail's "receiving too fast": the mailbox exists; never suppress.
    row(
        "Gmail",
        550,
        "5.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
        "additional messages from being delivered. For more information, please visit "
        "https://support.google.com/mail/?p=ReceivingRatePerm - gsmtp",
        RCPT,
        PERMANENT,
    ),
    row(
        "Gmail",
        450,
        "4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend "
        "your message at a later time. - gsmtp",
        RCPT,
        TEMPORARY,
    ),
    # Recipient mailbox quota (552/452 5.2.2) versus the sender's quota (550 5.4.5): the tricky
    # pair. gen-smtp/gen_smtp#140, iiuni/projektzapisy#960, PHPMailer/PHPMailer#2113.
    row(
        "Gmail",
        552,
        "5.2.2 The email account that you tried to reach is over quota. Please direct the "
        "recipient to https://support.google.com/mail/?p=OverQuotaPerm - gsmtp",
        EOD,
        PERMANENT,
    ),
    row(
        "Gmail",
        452,
        "4.2.2 The email account that you tried to reach is over quota. Please direct the "
        "recipient to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp",
        RCPT,
        TEMPORARY,
    ),
    row(
        "Gmail",
        550,
        "5.4.5 Daily user sending quota exceeded. s124sm6149838wme.29 - gsmtp",
        EOD,
        THROTTLED,
    ),
    row("Gmail", 421, "4.7.0 Try again later, closing connection. (EHLO) - gsmtp", EOD, THROTTLED),
    row(
        "Gmail",
        421,
        "4.7.28 [x.xx.xx.xx] Our system has detected an unusual rate of unsolicited mail "
        "originating from your IP address. To protect our users from spam, mail sent from your "
        "IP address has been temporarily rate limited. - gsmtp",
        EOD,
        THROTTLED,
    ),
    row(
        "Gmail",
        550,
        "5.7.1 [x.xx.xx.xx] Our system has detected that this message is likely suspicious due "
        "to the very low reputation of the sending domain. To best protect our users from spam, "
        "the message has been blocked. - gsmtp",
        EOD,
        THROTTLED,
    ),
    row(
        "Gmail",
        421,
        "4.7.0 [x.xx.xx.xx] Our system has detected that this message is suspicious due to the "
        "nature of the content and/or the links within. To best protect our users from spam, "
        "the message has been blocked. - gsmtp",
        EOD,
        TEMPORARY,
    ),
    row(
        "Gmail",
        550,
        "5.7.1 [x.xx.xx.xx] Our system has detected that this message is likely unsolicited "
        "mail. To reduce the amount of spam sent to Gmail, this message has been blocked. - gsmtp",
        EOD,
        PERMANENT,
    ),
    row(
        "Gmail",
        550,
        "5.7.1 Unauthenticated email from example.com is not accepted due to domain's DMARC "
        "policy. Please contact the administrator of example.com domain. - gsmtp",
        EOD,
        THROTTLED,
    ),
    row(  # hmailserver/hmailserver#491
        "Gmail",
        550,
        "5.7.26 Your email has been blocked because the sender is unauthenticated.",
        EOD,
        THROTTLED,
    ),
    row(
        "Gmail",
        552,
        "5.2.3 Your message exceeded Google's message size limits. - gsmtp",
        EOD,
        PERMANENT,
    ),
    row(
        "Gmail",
        552,
        "5.7.0 Our system detected an illegal attachment on your message. - gsmtp",
        EOD,
        PERMANENT,
    ),
    row(
        "Gmail",
        535,
        "5.7.8 Username and Password not accepted. Learn more at "
        "https://support.google.com/mail/?p=BadCredentials - gsmtp",
        "auth",
        THROTTLED,
    ),
    row("Gmail", 530, "5.7.0 Authentication Required. - gsmtp", MAIL, THROTTLED),
    # ---- Outlook.com / Exchange Online
    # MicrosoftDocs/OfficeDocs-Support#1150: the daily recipient limit of SMTP AUTH submission.
    row(
        "Exchange Online",
        554,
        "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process "
        "message due to a permanent exception with message [BeginDiagnosticData]",
        EOD,
        THROTTLED,
    ),
    # pankleks/pm2-health#52: same 5.2.0 family, but the message's size: not our account.
    row(
        "Exchange Online",
        554,
        "5.2.0 STOREDRV.Submission.Exception:MessageSubmissionExceededException."
        "MapiExceptionMaxSubmissionExceeded; Message size exceeds maximum size limit.",
        EOD,
        PERMANENT,
    ),
    row(  # MicrosoftDocs/OfficeDocs-Exchange#2729
        "Exchange Online",
        550,
        "5.1.90 Your message can't be sent because you've reached your daily limit for message "
        "recipients",
        RCPT,
        THROTTLED,
    ),
    row(  # sisimai/p5-sisimai#409
        "Exchange Online",
        550,
        "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        RCPT,
        GONE,
    ),
    row(
        "Outlook",
        550,
        "5.5.0 Requested action not taken: mailbox unavailable. "
        "[BN1NAM02FT043.eop-nam02.prod.protection.outlook.com]",
        RCPT,
        GONE,
    ),
    row(
        "Outlook",
        550,
        "5.7.1 Service unavailable, MailFrom domain is listed in Spamhaus. To request removal "
        "from this list see https://www.spamhaus.org/query/lookup/ (S8002)",
        RCPT,
        THROTTLED,
    ),
    row(
        "Outlook",
        554,
        "5.2.122 The recipient has exceeded their limit for the number of messages they can "
        "receive per hour. For more information go to http://go.microsoft.com/fwlink/?LinkId="
        "526653. [outlook.com]",
        RCPT,
        PERMANENT,
    ),
    row(
        "Exchange Online",
        421,
        "4.3.2 The maximum number of concurrent connections per resource forest has exceeded a "
        "limit, closing transmission channel.",
        MAIL,
        THROTTLED,
    ),
    row("Outlook", 421, "4.3.2 Service not available [outlook.com]", RCPT, TEMPORARY),
    row("Gmail", 421, "4.7.0 Try again later, closing connection. (MAIL) - gsmtp", MAIL, THROTTLED),
    row(  # sisimai/p5-sisimai#312: a recipient domain's policy, not the address.
        "Office 365",
        550,
        "5.4.1 [email@example.com]: Recipient address rejected: Access denied",
        RCPT,
        PERMANENT,
    ),
    # ---- Yahoo / AOL (Verizon Media)
    # tutao/tutanota#7113, KumoCorp/kumomta#376, ActiveCampaign/smtp-field-manual#88
    row(
        "Yahoo",
        421,
        "4.7.0 [TSS04] Messages from 185.205.69.214 temporarily deferred due to unexpected volume "
        "or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        MAIL,
        THROTTLED,
    ),
    row(
        "Yahoo",
        421,
        "[IPTS04] Messages from a.b.c.d temporarily deferred due to unexpected volume or user "
        "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        RCPT,
        THROTTLED,
    ),
    row(
        "Yahoo",
        554,
        "delivery error: dd This user doesn't have a yahoo.com account (example@yahoo.com) "
        "[-5] - mta1234.mail.gq1.yahoo.com",
        EOD,
        GONE,
    ),
    row(
        "Yahoo",
        554,
        "delivery error: dd Sorry, your message to example@yahoo.com cannot be delivered. This "
        "mailbox is disabled (554.30). - mta4490.mail.gq1.yahoo.com",
        EOD,
        GONE,
    ),
    row(
        "Yahoo",
        554,
        "delivery error: dd example@example.com is no longer valid. [-20] - example.yahoo.com",
        EOD,
        GONE,
    ),
    row(
        "Yahoo",
        554,
        "5.7.9 Message not accepted for policy reasons. See "
        "https://help.yahoo.com/kb/postmaster/SLN7253.html",
        EOD,
        PERMANENT,
    ),
    row(
        "Yahoo Japan",
        554,
        "delivery error: dd This user doesn't have a yahoo.co.jp account (xxxxx@yahoo.co.jp) "
        "[-5] - mta7149.mail.djm.ynwp.yahoo.co.jp",
        EOD,
        GONE,
    ),
    # ---- Japanese mobile carriers (sendmagic notes; sisimai rhost/for-nttdocomo.go, for-kddi.go)
    row("docomo", 550, "Unknown user xxxxx@docomo.ne.jp", RCPT, GONE),
    # After the message, docomo's "Unknown user" was the recipient's own domain filter.
    row("docomo", 550, "Unknown user xxxxx@docomo.ne.jp", EOD, PERMANENT),
    row("docomo", 550, "5.1.1 <xxxxx@docomo.ne.jp>... User unknown", RCPT, GONE),
    row("docomo", 552, "too many recipients", RCPT, THROTTLED),
    row("au (KDDI)", 550, "<xxx@ezweb.ne.jp>: User unknown", RCPT, GONE),
    row("au (KDDI)", 550, ": User unknown", EOD, PERMANENT),
    row("SoftBank", 550, "Invalid recipient: <xxx@i.softbank.jp>", RCPT, GONE),
    # Our envelope-from domain has no DNS record: every message fails the same way.
    row("SoftBank", 553, "xxx.xx.xx does not exist", MAIL, THROTTLED),
    # ---- Postfix
    row(
        "Postfix",
        550,
        "5.1.1 <x@example.jp>: Recipient address rejected: User unknown in virtual mailbox table",
        RCPT,
        GONE,
    ),
    row(  # docker-mailserver/docker-mailserver#1927, simple-login/app#2675
        "Postfix",
        554,
        "5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org; "
        "https://www.spamhaus.org/query/ip/203.0.113.7",
        RCPT,
        THROTTLED,
    ),
    row(  # LukeSmithxyz/emailwiz#138
        "Postfix",
        554,
        "5.7.1 <test@example.com>: Relay access denied",
        RCPT,
        THROTTLED,
    ),
    # Postfix delays MAIL FROM restrictions to RCPT (smtpd_delay_reject): about our sender.
    row(
        "Postfix",
        450,
        "4.1.8 <bounce@shop.example>: Sender address rejected: Domain not found",
        RCPT,
        THROTTLED,
    ),
    row(
        "Postfix (postgrey)",
        450,
        "4.2.0 <x@example.jp>: Recipient address rejected: Greylisted, see "
        "http://postgrey.schweikert.ch/help/example.jp.html",
        RCPT,
        TEMPORARY,
    ),
    row("Postfix", 552, "5.3.4 Message size exceeds fixed limit", EOD, PERMANENT),
    row("Postfix", 452, "4.3.1 Insufficient system storage", MAIL, TEMPORARY),
    row(  # chatmail/relay#21 (Dovecot LMTP behind Postfix)
        "Dovecot",
        552,
        "5.2.2 <user1@c3.testrun.org> Quota exceeded (mailbox for user is full)",
        EOD,
        PERMANENT,
    ),
    row(  # sisimai/p5-sisimai#395: Spectrum refusing the SES bounce address.
        "Spectrum",
        550,
        "5.1.0 <0100017258@amazonses.com> sender rejected. Please see "
        "https://www.spectrum.net/support/internet/understanding-email-error-codes AUP#In-1310",
        RCPT,
        THROTTLED,
    ),
    # ---- Exim
    row("Exim", 550, "Unrouteable address", RCPT, GONE),
    row(  # PHPMailer/PHPMailer#1187, postalserver/postal#342: *our* sender failed verification.
        "Exim",
        550,
        "Verification failed for <backoffice@shop.example>\nUnrouteable address\n"
        "Sender verify failed",
        RCPT,
        THROTTLED,
    ),
    row(  # mailcow/mailcow-dockerized#2544: "No Such User" here is about OUR address.
        "Exim",
        550,
        "Verification failed for <minesh@sender.example>\nNo Such User Here\nSender verify failed",
        RCPT,
        THROTTLED,
    ),
    row("Exim", 550, "Administrative prohibition", RCPT, PERMANENT),
    row(  # forwardemail/forwardemail.net#553
        "Exim",
        451,
        "Temporary local problem - please try later",
        RCPT,
        TEMPORARY,
    ),
    # ---- Amazon SES (EFForg/action-center-platform#874, 2amigos/yii2-usuario#527,
    # GoogleCloudPlatform/cloud-build-notifiers#87)
    row("Amazon SES", 454, "Throttling failure: Daily message quota exceeded.", EOD, THROTTLED),
    row("Amazon SES", 454, "Throttling failure: Maximum sending rate exceeded.", EOD, THROTTLED),
    row(
        "Amazon SES",
        554,
        "Message rejected: Email address is not verified. The following identities failed the "
        "check in region US-EAST-1: shop@example.com",
        EOD,
        THROTTLED,
    ),
    row("Amazon SES", 535, "Authentication Credentials Invalid", "auth", THROTTLED),
    # ---- SendGrid (Billionmail/BillionMail#171, EBWiki/EBWiki#3861)
    row("SendGrid", 550, "Unauthenticated senders not allowed", MAIL, THROTTLED),
    row(
        "SendGrid",
        550,
        "The from address does not match a verified Sender Identity. Mail cannot be sent until "
        "this error is resolved.",
        MAIL,
        THROTTLED,
    ),
    # ---- other relays and receivers
    row(  # zotonic/zotonic#3508 (a Plex relay's outgoing limit, answered 5xx)
        "Plex relay",
        554,
        "5.7.0 Your message could not be sent. The limit on the number of allowed outgoing "
        "messages was exceeded. Try again later.",
        EOD,
        THROTTLED,
    ),
    row(  # root-io/vmail#67
        "vmail",
        554,
        "5.7.1 <DATA>: Data command rejected: only 10 messages per day",
        DATA,
        THROTTLED,
    ),
    row(
        "Orange",
        550,
        "mwinf5c14 ME Adresse IP source bloquee pour incident de spam. Client host blocked for "
        "spamming issues. OFR006_102 Ref http://csi.cloudmark.com/reset-request/?ip=x [102]",
        "connect",
        THROTTLED,
    ),
    row(
        "Orange",
        552,
        "5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]",
        RCPT,
        PERMANENT,
    ),
    row(
        "Comcast",
        552,
        "5.1.1 <example@comcast.net> recipient rejected - extended quota violation",
        RCPT,
        PERMANENT,
    ),
    row("Comcast", 550, "5.1.1 <example@comcast.net> recipient mailbox unallocated", RCPT, GONE),
    row(
        "Zoho",
        552,
        "5.1.1 <example@zoho.com> Mailbox delivery failure policy error",
        RCPT,
        PERMANENT,
    ),
    row("iCloud", 550, "5.1.1 <example@icloud.com>: user does not exist", RCPT, GONE),
    row("iCloud", 552, "5.2.2 <example@icloud.com>: user is overquota", RCPT, PERMANENT),
    row(
        "iCloud",
        421,
        "4.7.1 Messages to example@icloud.com deferred due to excessive volume. Try again later "
        "- https://support.apple.com/en-us/HT204137",
        RCPT,
        TEMPORARY,
    ),
    row("iCloud", 421, "4.7.0 me.com Error: too many errors", RCPT, THROTTLED),
    row(
        "iCloud",
        550,
        "5.7.1 [CS01] Message rejected due to local policy. Please visit "
        "https://support.apple.com/en-us/HT204137",
        EOD,
        PERMANENT,
    ),
    row("Yandex", 552, "5.2.2 Mailbox size limit exceeded", RCPT, PERMANENT),
    row("Yandex", 550, "5.7.1 No such user!", RCPT, PERMANENT),  # mixed evidence: kept
    row(
        "Mail.ru",
        550,
        "Message was not accepted -- invalid mailbox. Local mailbox example@mail.ru is "
        "unavailable: account is disabled",
        RCPT,
        GONE,
    ),
    row(
        "GMX",
        552,
        "Requested mail action aborted: exceeded storage allocation Quota exceeded.",
        EOD,
        PERMANENT,
    ),
    row(
        "Free",
        554,
        "5.2.2 <example@free.fr>: Recipient address rejected: Quota exceeded (mailbox for user "
        "is full)",
        RCPT,
        PERMANENT,
    ),
    row(
        "AT&T",
        550,
        "5.2.1 <EXAMPLE@PRODIGY.NET>... Addressee unknown, relay=[x.xx.xx.xx]",
        RCPT,
        GONE,
    ),
    row(
        "Proofpoint",
        550,
        "5.7.1 <email@example.com>: Recipient address rejected: User email address is marked as "
        "invalid.",
        RCPT,
        PERMANENT,
    ),
    row("Barracuda", 550, "No such user (email@example.com)", RCPT, GONE),
    row("Barracuda", 550, "Blocked", RCPT, PERMANENT),  # a bare block: never a suppression
    row("Barracuda", 554, "rejected due to spam URL in content", EOD, PERMANENT),
    row(  # getconversio/email-deep-validator#20
        "Barracuda",
        554,
        "Service unavailable; Client host [bl11-253-215.dsl.telepac.pt] blocked using Barracuda "
        "Reputation; http://www.barracudanetworks.com/reputation/?r=1&ip=85.244.xxx.yyy",
        "connect",
        THROTTLED,
    ),
    row(
        "Mimecast",
        550,
        "Administrative prohibition - envelope blocked - "
        "https://community.mimecast.com/docs/DOC-1369#550 [#]",
        RCPT,
        PERMANENT,
    ),
    # A bare 550 without recipient evidence can be our IP on a list: never a suppression.
    row("bare", 550, "Requested action not taken", RCPT, PERMANENT),
    row("bare", 452, "4.5.3 Too many recipients", RCPT, THROTTLED),
    row("bare", 451, "4.7.1 Service unavailable - rate limited, try again later", RCPT, THROTTLED),
]


@pytest.mark.parametrize(("code", "text", "stage", "kind"), SMTP_TABLE)
def test_an_smtp_answer_is_classified_as_the_table_says(code, text, stage, kind):
    assert classify_smtp(code, text, stage).kind is kind


def test_the_smtp_answer_keeps_its_enhanced_status_and_gives_a_reason():
    answer = classify_smtp(550, "5.1.1 <x@example.jp>... User unknown", RCPT)
    assert answer == Answer(GONE, answer.reason, None, "5.1.1")
    assert answer.reason
    assert classify_smtp(550, "Unrouteable address", RCPT).code is None


def test_an_enhanced_status_quoted_after_the_basic_code_is_still_read():
    # Logs and bounce reports quote the whole line: "550-5.1.1 ...".
    assert classify_smtp(550, "550-5.1.1 The email account does not exist", RCPT).code == "5.1.1"


def test_a_recipients_full_mailbox_and_our_sending_quota_are_told_apart():
    recipient = [
        (552, "5.2.2 The email account that you tried to reach is over quota."),
        (452, "4.2.2 The email account that you tried to reach is over quota."),
        (552, "Requested mail action aborted: exceeded storage allocation Quota exceeded."),
        (552, "5.2.2 <x@example.jp> Quota exceeded (mailbox for user is full)"),
        (452, "Quota exceeded"),  # nobody named: after RCPT, the recipient's mailbox
    ]
    ours = [
        (550, "5.4.5 Daily user sending quota exceeded."),
        (554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"),
        (454, "Throttling failure: Daily message quota exceeded."),
    ]
    for code, text in recipient:
        answer = classify_smtp(code, text, RCPT)
        assert answer.kind is (TEMPORARY if code < 500 else PERMANENT), text
    for code, text in ours:
        assert classify_smtp(code, text, EOD).kind is THROTTLED, text
    # At MAIL FROM there is no recipient yet: any quota there is ours.
    assert classify_smtp(452, "Quota exceeded", MAIL).kind is THROTTLED


@pytest.mark.parametrize(
    "stage", ["MAIL", "mail", "end of data", "END_OF_DATA", "rcpt", "RCPT TO", "anything"]
)
def test_stage_names_are_read_loosely(stage):
    assert classify_smtp(250, "2.0.0 Ok", stage).kind is SENT


def test_recipient_evidence_counts_only_after_rcpt_for_weak_words_and_never_for_mail():
    text = "5.1.1 <x@example.jp>: Recipient address rejected: User unknown"
    assert classify_smtp(550, "User unknown", RCPT).kind is GONE
    assert classify_smtp(550, "User unknown", DATA).kind is PERMANENT
    assert classify_smtp(550, text, EOD).kind is GONE  # the enhanced status is trusted
    assert classify_smtp(550, text, "somewhere").kind is GONE
    assert classify_smtp(550, "User unknown", "somewhere").kind is PERMANENT
    assert classify_smtp(550, text, MAIL).kind is THROTTLED  # MAIL FROM is about our sender


def test_a_temporary_answer_is_never_a_suppression():
    assert (
        classify_smtp(
            450, "4.1.1 <x@example.jp>: Recipient address rejected: User unknown", RCPT
        ).kind
        is TEMPORARY
    )


@pytest.mark.parametrize("code", [-1, 0, 100, 199, 600, 999])
def test_a_garbled_smtp_reply_is_temporary(code):
    assert classify_smtp(code, "???", EOD).kind is TEMPORARY


# -- properties ---------------------------------------------------------------------------------

# Wording that says the refusal is about policy, us, a blocklist, a quota or authentication
# (the brief's list, written here independently of the module's own).
VETO_WORDING = [
    "blocked",
    "Blocked",
    "spamhaus",
    "listed",
    "reputation",
    "poor reputation",
    "RBL",
    "policy",
    "Policy",
    "quota",
    "Quota exceeded",
    "over quota",
    "authentication",
    "Authentication required",
    "daily sending quota",
    "rate limit",
    "too many messages",
    "relay access denied",
    "DMARC",
]
GONE_WORDING = [
    "User unknown",
    "user unknown in virtual mailbox table",
    "No such user",
    "Unknown user",
    "mailbox unavailable",
    "does not exist",
    "account disabled",
    "account is disabled",
    "Invalid recipient",
    "Recipient not found",
    "Unrouteable address",
]
STAGES = ["connect", "ehlo", "auth", "mail", "rcpt", "data", "end-of-data", "", "other"]
ENHANCED = st.one_of(
    st.just(""),
    st.sampled_from(["5.1.1 ", "5.1.10 ", "5.2.1 ", "5.1.6 ", "5.7.1 ", "5.0.0 ", "4.2.2 "]),
    st.builds(
        "{}.{}.{} ".format,
        st.sampled_from([4, 5]),
        st.integers(0, 9),
        st.integers(0, 20),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    code=st.integers(400, 599),
    enhanced=ENHANCED,
    gone=st.sampled_from(GONE_WORDING),
    veto=st.sampled_from(VETO_WORDING),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
    veto_first=st.booleans(),
    stage=st.sampled_from(STAGES),
)
def test_no_answer_with_policy_blocklist_quota_or_auth_wording_is_a_suppression(
    code, enhanced, gone, veto, before, after, veto_first, stage
):
    parts = [veto, gone] if veto_first else [gone, veto]
    text = f"{enhanced}{before} {parts[0]} {after} {parts[1]}"
    assert classify_smtp(code, text, stage).kind is not GONE


@settings(max_examples=200, deadline=None)
@given(code=st.integers(400, 599), status_detail=st.integers(0, 30), text=st.text(max_size=60))
def test_no_x7_status_is_ever_a_suppression(code, status_detail, text):
    for stage in (RCPT, EOD):
        answer = classify_smtp(code, f"5.7.{status_detail} {text} user unknown", stage)
        assert answer.kind is not GONE


@settings(max_examples=200, deadline=None)
@given(code=st.integers(200, 299), text=st.text(max_size=80), stage=st.sampled_from(STAGES))
def test_any_smtp_2xx_is_sent(code, text, stage):
    assert classify_smtp(code, text, stage).kind is SENT


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)
# Bodies shaped like the providers' error bodies, with arbitrary values inside.
SHAPED = st.one_of(
    st.fixed_dictionaries({"code": JSON_VALUES, "message": JSON_VALUES}),
    st.fixed_dictionaries(
        {
            "error": st.one_of(
                JSON_VALUES,
                st.fixed_dictionaries(
                    {
                        "status": JSON_VALUES,
                        "message": JSON_VALUES,
                        "details": st.lists(
                            st.fixed_dictionaries(
                                {
                                    "errorCode": JSON_VALUES,
                                    "reason": JSON_VALUES,
                                    "fieldViolations": JSON_VALUES,
                                    "violations": JSON_VALUES,
                                }
                            ),
                            max_size=3,
                        ),
                    }
                ),
            )
        }
    ),
    st.fixed_dictionaries({"message": JSON_VALUES, "details": JSON_VALUES}),
)
BODIES = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.binary(max_size=80),
    JSON_VALUES.map(json.dumps),
    SHAPED,
    SHAPED.map(json.dumps),
)
HEADERS = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after", "Content-Type", "X"]),
        st.one_of(
            st.text(max_size=40),
            st.integers(0, 10**400).map(str),
            st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "Sun Nov  6 08:49:37 1994"]),
        ),
        max_size=3,
    ),
)
PROVIDERS = ["twilio", "fcm", "line", "webhook"]


@settings(max_examples=100, deadline=None)
@given(
    provider=st.sampled_from(PROVIDERS),
    status=st.integers(200, 299),
    body=BODIES,
    headers=HEADERS,
)
def test_any_http_2xx_is_sent(provider, status, body, headers):
    assert classify_http(provider, status, body, headers, NOW).kind is SENT


@settings(max_examples=100, deadline=None)
@given(
    provider=st.sampled_from(PROVIDERS),
    status=st.one_of(st.integers(), st.integers(100, 599), st.none(), st.text(max_size=3)),
    body=BODIES,
    headers=HEADERS,
    now=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
)
def test_no_http_answer_makes_a_policy_raise(provider, status, body, headers, now):
    answer = classify_http(provider, status, body, headers, now)
    assert isinstance(answer.kind, AnswerKind) and answer.reason
    assert answer.retry_after is None or answer.retry_after >= 0


@settings(max_examples=200, deadline=None)
@given(
    code=st.one_of(st.integers(), st.integers(200, 599)),
    text=st.one_of(st.text(max_size=200), st.text(alphabet="54321. abcdeflnoqrstuxy", max_size=80)),
    stage=st.one_of(st.sampled_from(STAGES), st.text(max_size=12)),
)
def test_no_smtp_answer_makes_the_policy_raise(code, text, stage):
    answer = classify_smtp(code, text, stage)
    assert isinstance(answer.kind, AnswerKind) and answer.reason


def test_a_veto_word_list_that_the_module_does_not_cover_would_be_caught():
    # The property above is only as good as its words: each must veto on its own.
    for veto in VETO_WORDING:
        assert classify_smtp(550, f"User unknown {veto}", RCPT).kind is not GONE, veto


# -- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "now", "expected"),
    [
        pytest.param("120", None, 120.0, id="delay-seconds"),
        pytest.param(" 0 ", None, 0.0, id="zero, spaces"),
        pytest.param(
            "Sun, 22 Nov 2026 03:01:30 GMT", NOW, 90.0, id="IMF-fixdate: 03:01:30 - 03:00"
        ),
        pytest.param("Sunday, 22-Nov-26 03:10:00 GMT", NOW, 600.0, id="RFC 850 date"),
        pytest.param("Sun Nov 22 04:00:00 2026", NOW, 3600.0, id="asctime date"),
        pytest.param("Sun, 22 Nov 2026 02:00:00 GMT", NOW, 0.0, id="a date in the past: 0"),
        pytest.param("Sun, 22 Nov 2026 03:01:30 GMT", None, None, id="a date without now"),
        pytest.param(
            "Sun, 22 Nov 2026 03:01:30 GMT",
            datetime(2026, 11, 22, 3, 0),
            90.0,
            id="naive now is UTC",
        ),
        pytest.param("-5", None, None, id="negative"),
        pytest.param("1.5", None, None, id="not an integer"),
        pytest.param("9" * 400, None, None, id="too big to be a number"),
        pytest.param("soon", NOW, None, id="garbage"),
        pytest.param("Sun, 31 Feb 2026 03:00:00 GMT", NOW, None, id="no such day"),
        pytest.param(None, NOW, None, id="absent"),
        pytest.param("\u0661\u0662", None, None, id="non-ASCII digits"),
    ],
)
def test_retry_after_is_read_in_both_forms(value, now, expected):
    assert retry_after_seconds(value, now) == expected


# -- Twilio (SMS) -------------------------------------------------------------------------------


def twilio(code: int, message: str, status: int) -> dict:
    """Twilio's error body: {"code", "message", "more_info", "status"}."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


TWILIO_TABLE = [
    pytest.param(
        201,
        {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"},
        None,
        SENT,
        id="Twilio: 201 queued",
    ),
    pytest.param(  # caronc/apprise#448
        400,
        twilio(21211, "The 'To' number +15005550001 is not a valid phone number.", 400),
        None,
        GONE,
        id="Twilio: 21211 invalid 'To' number",
    ),
    pytest.param(  # GaloyMoney/blink#1129, episphere/connect#1545
        400,
        twilio(21610, "Attempt to send to unsubscribed recipient", 400),
        None,
        GONE,
        id="Twilio: 21610 unsubscribed recipient (STOP)",
    ),
    pytest.param(  # the older wording of 21610 says "blacklist": still the recipient's STOP
        400,
        twilio(21610, "The message From/To pair violates a blacklist rule.", 400),
        None,
        GONE,
        id="Twilio: 21610 From/To pair violates a blacklist rule",
    ),
    pytest.param(
        400,
        twilio(21614, "'To' number is not a valid mobile number", 400),
        None,
        GONE,
        id="Twilio: 21614 not a mobile number",
    ),
    pytest.param(
        400,
        twilio(
            21408,
            "Permission to send an SMS has not been enabled for the region indicated by the "
            "'To' number: +8190xxxxxxxx",
            400,
        ),
        None,
        PERMANENT,
        id="Twilio: 21408 region not permitted",
    ),
    pytest.param(  # twilio/twilio-video-app-react#841
        401,
        twilio(20003, "Authenticate", 401),
        None,
        THROTTLED,
        id="Twilio: 20003 authenticate",
    ),
    pytest.param(
        404,
        twilio(
            20404,
            "The requested resource /2010-04-01/Accounts/ACxxxx/Messages.json was not found",
            404,
        ),
        None,
        THROTTLED,
        id="Twilio: 20404 resource not found (account SID)",
    ),
    pytest.param(  # twilio-labs/serverless-api#37
        429,
        {
            "status": 429,
            "message": "Too many requests",
            "detail": "Too many requests for the associated account being sent.",
            "code": 20429,
            "moreInfo": "https://www.twilio.com/docs/errors/20429",
        },
        {"Retry-After": "3"},
        THROTTLED,
        id="Twilio: 20429 too many requests",
    ),
    pytest.param(
        400,
        twilio(21617, "The concatenated message body exceeds the 1600 character limit.", 400),
        None,
        PERMANENT,
        id="Twilio: 21617 body too long",
    ),
    pytest.param(
        400,
        twilio(
            21606,
            "The From phone number +1555xxxxxxx is not a valid, SMS-capable inbound phone "
            "number or short code for your account.",
            400,
        ),
        None,
        THROTTLED,
        id="Twilio: 21606 our From number cannot send",
    ),
    pytest.param(
        500,
        twilio(20500, "An internal server error has occurred", 500),
        None,
        TEMPORARY,
        id="Twilio: 20500 internal error",
    ),
    pytest.param(
        503,
        "<html>Service Unavailable</html>",
        {"Retry-After": "30"},
        TEMPORARY,
        id="Twilio: 503 not JSON",
    ),
    pytest.param(
        400,
        twilio(21999, "Some error Twilio adds later", 400),
        None,
        PERMANENT,
        id="Twilio: an unknown code falls back to the status",
    ),
    # Delivery reports (status callbacks): ErrorCode with no HTTP status of its own.
    # department-of-veterans-affairs/notification-api#1376 shows 30034 in a callback.
    pytest.param(
        0, {"code": 30003}, None, TEMPORARY, id="Twilio report: 30003 unreachable handset"
    ),
    pytest.param(0, {"code": 30005}, None, GONE, id="Twilio report: 30005 unknown handset"),
    pytest.param(0, {"code": "30006"}, None, PERMANENT, id="Twilio report: 30006 landline"),
    pytest.param(0, {"code": 30007}, None, PERMANENT, id="Twilio report: 30007 carrier filtered"),
    pytest.param(0, {"code": 30034}, None, THROTTLED, id="Twilio report: 30034 unregistered 10DLC"),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind"), TWILIO_TABLE)
def test_a_twilio_answer_is_classified_as_the_table_says(status, body, headers, kind):
    assert classify_twilio(status, body, headers, NOW).kind is kind
    assert classify_http("twilio", status, body, headers, NOW).kind is kind


def test_twilio_answers_keep_the_error_code_and_the_wait():
    answer = classify_twilio(429, twilio(20429, "Too Many Requests", 429), {"retry-after": "3"})
    assert answer == Answer(THROTTLED, answer.reason, 3.0, "20429")
    assert classify_twilio(400, twilio(21610, "unsubscribed", 400)).code == "21610"


# -- the generic webhook (SMS and push) -------------------------------------------------------

WEBHOOK_TABLE = [
    pytest.param(200, None, SENT, id="webhook: 200"),
    pytest.param(202, None, SENT, id="webhook: 202"),
    pytest.param(204, None, SENT, id="webhook: 204"),
    pytest.param(301, None, THROTTLED, id="webhook: 301 redirect, the URL is wrong"),
    pytest.param(302, None, THROTTLED, id="webhook: 302 redirect, the URL is wrong"),
    pytest.param(400, None, PERMANENT, id="webhook: 400"),
    pytest.param(401, None, THROTTLED, id="webhook: 401"),
    pytest.param(403, None, THROTTLED, id="webhook: 403"),
    pytest.param(404, None, THROTTLED, id="webhook: 404 is a wrong URL, never a suppression"),
    pytest.param(408, None, TEMPORARY, id="webhook: 408"),
    pytest.param(410, None, GONE, id="webhook: 410 gone"),
    pytest.param(413, None, PERMANENT, id="webhook: 413"),
    pytest.param(422, None, PERMANENT, id="webhook: 422"),
    pytest.param(429, {"Retry-After": "60"}, THROTTLED, id="webhook: 429 + Retry-After"),
    pytest.param(500, None, TEMPORARY, id="webhook: 500"),
    pytest.param(502, None, TEMPORARY, id="webhook: 502"),
    pytest.param(
        503, {"Retry-After": "Sun, 22 Nov 2026 03:02:00 GMT"}, TEMPORARY, id="webhook: 503"
    ),
    pytest.param(504, None, TEMPORARY, id="webhook: 504"),
]


@pytest.mark.parametrize(("status", "headers", "kind"), WEBHOOK_TABLE)
def test_a_webhook_answer_is_classified_by_its_status(status, headers, kind):
    assert classify_webhook(status, '{"error": "whatever"}', headers, NOW).kind is kind


def test_a_webhook_429_and_503_carry_their_retry_after_in_both_forms():
    assert classify_webhook(429, None, {"Retry-After": "60"}).retry_after == 60.0
    date = {"retry-after": "Sun, 22 Nov 2026 03:02:00 GMT"}
    assert classify_webhook(503, None, date, NOW).retry_after == 120.0  # 03:02:00 - 03:00:00
    assert classify_webhook(503, None, date).retry_after is None  # a date needs now


# -- FCM HTTP v1 (push) ---------------------------------------------------------------------------


def fcm(code: int, status: str, message: str, *details: dict) -> dict:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


def fcm_error(error_code: str) -> dict:
    return {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}


FCM_TABLE = [
    pytest.param(
        200,
        {"name": "projects/shop/messages/0:1700000000000000%31bd1c9631bd1c96"},
        None,
        SENT,
        id="FCM: 200 message name",
    ),
    pytest.param(
        404,
        fcm(404, "NOT_FOUND", "Requested entity was not found.", fcm_error("UNREGISTERED")),
        None,
        GONE,
        id="FCM: 404 UNREGISTERED",
    ),
    pytest.param(  # firebase/firebase-admin-java#1064
        400,
        fcm(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            fcm_error("INVALID_ARGUMENT"),
        ),
        None,
        GONE,
        id="FCM: 400 INVALID_ARGUMENT, registration token not valid",
    ),
    pytest.param(
        400,
        fcm(
            400,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
            fcm_error("INVALID_ARGUMENT"),
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {"field": "message.token", "description": "Invalid registration token"}
                ],
            },
        ),
        None,
        GONE,
        id="FCM: 400 INVALID_ARGUMENT, field violation on message.token",
    ),
    pytest.param(
        400,
        fcm(
            400,
            "INVALID_ARGUMENT",
            "Invalid value at 'message.data[0].value' (TYPE_STRING), 1",
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {
                        "field": "message.data[0].value",
                        "description": "Invalid value at 'message.data[0].value' (TYPE_STRING), 1",
                    }
                ],
            },
        ),
        None,
        PERMANENT,
        id="FCM: 400 INVALID_ARGUMENT, payload (data value) invalid",
    ),
    pytest.param(  # firebase/firebase-admin-python#187: no detail says which argument
        400,
        fcm(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
        None,
        PERMANENT,
        id="FCM: 400 INVALID_ARGUMENT, which argument unknown: not suppressed",
    ),
    pytest.param(  # rails/action_push_native (its FCM error handling)
        400,
        {"error": {"message": "Android message is too big", "status": "INVALID_ARGUMENT"}},
        None,
        PERMANENT,
        id="FCM: 400 message is too big",
    ),
    pytest.param(  # firebase/firebase-admin-go#719
        429,
        fcm(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per "
            "minute' of service 'fcm.googleapis.com' for consumer 'project_number:xxx'.",
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
            },
        ),
        None,
        THROTTLED,
        id="FCM: 429 RESOURCE_EXHAUSTED, project send requests per minute",
    ),
    pytest.param(
        429,
        fcm(429, "RESOURCE_EXHAUSTED", "Sending limit exceeded", fcm_error("QUOTA_EXCEEDED")),
        {"Retry-After": "42"},
        THROTTLED,
        id="FCM: 429 QUOTA_EXCEEDED + Retry-After",
    ),
    pytest.param(  # rails/action_push_native#129: QuotaFailure says which limit
        429,
        fcm(
            429,
            "RESOURCE_EXHAUSTED",
            "Sending limit exceeded",
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXCEEDED"},
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "subject": "project:123456",
                        "description": "Message rate limit exceeded for device",
                    }
                ],
            },
        ),
        {"Retry-After": "42"},
        TEMPORARY,
        id="FCM: 429 QUOTA_EXCEEDED for one device",
    ),
    pytest.param(
        503,
        {
            "error": {
                "code": 503,
                "message": "The service is currently unavailable.",
                "status": "UNAVAILABLE",
            }
        },
        {"Retry-After": "15"},
        TEMPORARY,
        id="FCM: 503 UNAVAILABLE + Retry-After",
    ),
    pytest.param(
        500,
        fcm(500, "INTERNAL", "Internal error encountered.", fcm_error("INTERNAL")),
        None,
        TEMPORARY,
        id="FCM: 500 INTERNAL",
    ),
    pytest.param(
        401,
        fcm(
            401,
            "UNAUTHENTICATED",
            "Auth error from APNS or Web Push Service",
            fcm_error("THIRD_PARTY_AUTH_ERROR"),
        ),
        None,
        THROTTLED,
        id="FCM: 401 THIRD_PARTY_AUTH_ERROR",
    ),
    pytest.param(
        401,
        fcm(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
        ),
        None,
        THROTTLED,
        id="FCM: 401 UNAUTHENTICATED access token",
    ),
    pytest.param(
        403,
        fcm(
            403,
            "PERMISSION_DENIED",
            "SenderId mismatch",
            fcm_error("SENDER_ID_MISMATCH"),
        ),
        None,
        PERMANENT,
        id="FCM: 403 SENDER_ID_MISMATCH, a token of another project",
    ),
    pytest.param(
        403,
        fcm(
            403,
            "PERMISSION_DENIED",
            "Permission 'cloudmessaging.messages.create' denied on resource "
            "'//cloudresourcemanager.googleapis.com/projects/shop' (or it may not exist).",
        ),
        None,
        THROTTLED,
        id="FCM: 403 PERMISSION_DENIED, the service account",
    ),
    pytest.param(
        404,
        "<!DOCTYPE html><title>Error 404 (Not Found)!!1</title>",
        None,
        THROTTLED,
        id="FCM: 404 HTML, the URL is wrong",
    ),
    pytest.param(
        404,
        {
            "error": {
                "code": 404,
                "message": "Requested entity was not found.",
                "status": "NOT_FOUND",
            }
        },
        None,
        PERMANENT,
        id="FCM: 404 NOT_FOUND without UNREGISTERED: not suppressed",
    ),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind"), FCM_TABLE)
def test_an_fcm_answer_is_classified_as_the_table_says(status, body, headers, kind):
    assert classify_fcm(status, body, headers, NOW).kind is kind
    assert classify_http("fcm", status, body, headers, NOW).kind is kind


def test_fcm_answers_keep_the_error_code_and_retry_after():
    body = fcm(429, "RESOURCE_EXHAUSTED", "Sending limit exceeded", fcm_error("QUOTA_EXCEEDED"))
    assert classify_fcm(429, body, {"Retry-After": "42"}) == Answer(
        THROTTLED, "FCM sending quota exceeded", 42.0, "QUOTA_EXCEEDED"
    )
    gone = classify_fcm(404, fcm(404, "NOT_FOUND", "x", fcm_error("UNREGISTERED")))
    assert gone.code == "UNREGISTERED"


# -- LINE Messaging API (push) --------------------------------------------------------------------

LINE_TABLE = [
    pytest.param(
        200,
        {"sentMessages": [{"id": "461230966842064897", "quoteToken": "IStG5h1Tz7"}]},
        None,
        SENT,
        id="LINE: 200 sentMessages",
    ),
    pytest.param(  # LINE FAQ: a user who blocked the account is answered 200 all the same
        200,
        {},
        None,
        SENT,
        id="LINE: 200 for a user who blocked the account",
    ),
    pytest.param(  # LINE FAQ (a reservation by a delivery in progress can cause it too)
        429,
        {"message": "You have reached your monthly limit."},
        None,
        THROTTLED,
        id="LINE: 429 monthly limit",
    ),
    pytest.param(
        429,
        {"message": "The API rate limit has been exceeded. Try again later."},
        {"Retry-After": "5"},
        THROTTLED,
        id="LINE: 429 API rate limit",
    ),
    pytest.param(
        400,
        {"message": "The property, 'to', in the request body is invalid (line: -, column: -)"},
        None,
        GONE,
        id="LINE: 400 property 'to' invalid",
    ),
    pytest.param(
        400,
        {
            "message": "The request body has 1 error(s)",
            "details": [{"message": "must be specified", "property": "to"}],
        },
        None,
        GONE,
        id="LINE: 400 request body error on property to",
    ),
    pytest.param(  # LINE FAQ: also a user id that does not exist, but not only that
        400,
        {"message": "Failed to send messages"},
        None,
        PERMANENT,
        id="LINE: 400 failed to send messages",
    ),
    pytest.param(
        400,
        {
            "message": "The request body has 1 error(s)",
            "details": [
                {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
            ],
        },
        None,
        PERMANENT,
        id="LINE: 400 text too long",
    ),
    pytest.param(
        401,
        {
            "message": "Authentication failed due to the following reason: invalid token. Confirm "
            "that the access token in the authorization header is valid."
        },
        None,
        THROTTLED,
        id="LINE: 401 invalid channel access token",
    ),
    pytest.param(
        403,
        {"message": "Access to this API is not available for your account"},
        None,
        THROTTLED,
        id="LINE: 403 API not available for the account",
    ),
    pytest.param(
        409,
        {"message": "The retry key is already accepted", "sentMessages": [{"id": "4612309668"}]},
        None,
        SENT,
        id="LINE: 409 retry key already accepted",
    ),
    pytest.param(413, {"message": "Request Entity Too Large"}, None, PERMANENT, id="LINE: 413"),
    pytest.param(500, None, None, TEMPORARY, id="LINE: 500"),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind"), LINE_TABLE)
def test_a_line_answer_is_classified_as_the_table_says(status, body, headers, kind):
    assert classify_line(status, body, headers, NOW).kind is kind
    assert classify_http("line", status, body, headers, NOW).kind is kind


def test_a_line_rate_limit_carries_retry_after():
    answer = classify_line(
        429, {"message": "The API rate limit has been exceeded."}, {"Retry-After": "5"}
    )
    assert answer.retry_after == 5.0


# -- dispatch -----------------------------------------------------------------------------------


def test_an_unknown_provider_is_a_programming_error():
    with pytest.raises(ValueError, match="smoke-signals"):
        classify_http("smoke-signals", 200, None, None)


def test_a_json_body_given_as_text_is_classified_by_its_status_and_never_suppressed():
    # The core parses no JSON (it imports pure modules only): the channel passes response.json().
    stop = twilio(21610, "Attempt to send to unsubscribed recipient", 400)
    assert classify_twilio(400, json.dumps(stop)).kind is PERMANENT
    unregistered = fcm(
        404, "NOT_FOUND", "Requested entity was not found.", fcm_error("UNREGISTERED")
    )
    assert classify_fcm(404, json.dumps(unregistered)).kind is THROTTLED  # as a wrong URL
    # LINE's words are plain enough to be read in the text.
    assert (
        classify_line(429, '{"message":"You have reached your monthly limit."}').kind is THROTTLED
    )
