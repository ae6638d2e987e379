"""The input flow, SMS and push contact rules, quiet hours and the frequency cap (SPEC 2.6-2.8).

Pure: every input is built here and ``now`` is an argument. Times are naive UTC; Asia/Tokyo is
UTC+9, so 09:00 JST is 00:00 UTC and 21:00 JST is 12:00 UTC.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cartnudge.core.rules import (
    AbandonedStep,
    Candidate,
    CustomerStatus,
    DeliveryStatus,
    FlowKind,
    FlowRules,
    FrequencyCap,
    Kind,
    PastDelivery,
    QuietHours,
    SkipReason,
    StepRule,
    Storefront,
    Target,
    cap_release,
    decide,
    next_allowed,
)

TOKYO = ZoneInfo("Asia/Tokyo")
DAYTIME = QuietHours(time(9), time(21), TOKYO)
T0 = datetime(2026, 11, 22, 0, 0)  # 09:00 JST


def lp_form_left(**changes) -> Candidate:
    """A visitor who typed phone and e-mail into an LP form from an enabled ad URL, and left."""
    base = Candidate(
        order_id="1", customer_id="7", customer_status=CustomerStatus.VISITOR,
        storefront=Storefront.LP, abandoned_step=AbandonedStep.INPUT,
        abandoned_at=T0, last_activity_at=T0, email="hanako@example.jp", email_consent=True,
        phone="+819012345678", phone_valid=True, sms_consent=True, logged_in=False,
        ad_input_enabled=True,
    )  # fmt: skip
    return replace(base, **changes)


def input_rules(channel: str, **changes) -> FlowRules:
    base = FlowRules(
        flow="input", enabled=True, target=Target.ALL,
        steps=(StepRule(0, timedelta(hours=1), channel),), cart_ttl=timedelta(hours=24),
        kind=FlowKind.INPUT, channel=channel,
    )  # fmt: skip
    return replace(base, **changes)


# --- the input flow's candidates (SPEC 2.6) -------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, Kind.SEND, id="typed-both-from-an-enabled-ad-url"),
        pytest.param({"logged_in": True}, SkipReason.NOT_ABANDONED, id="logged-in"),
        pytest.param({"ad_input_enabled": False}, SkipReason.NOT_ABANDONED, id="ad-url-off"),
        pytest.param({"phone": None}, SkipReason.NOT_ABANDONED, id="no-phone-typed"),
        pytest.param({"email": " "}, SkipReason.NOT_ABANDONED, id="no-email-typed"),
        pytest.param({"storefront": Storefront.SHOP}, SkipReason.NOT_ABANDONED, id="shop-form"),
        pytest.param(
            {"abandoned_step": AbandonedStep.CONFIRM},
            SkipReason.NOT_ABANDONED,
            id="confirm-step-belongs-to-the-confirm-flow",
        ),
        pytest.param({"fraud_result": "NG"}, SkipReason.FRAUD_RESULT, id="fraud-applies-too"),
        pytest.param(
            {"purchased_at": T0 + timedelta(minutes=30)},
            SkipReason.PURCHASED,
            id="purchase-applies-too",
        ),
    ],
)
def test_the_input_flow_reminds_only_lp_forms_left_with_phone_and_email(changes, expected):
    # left 09:00 JST, 1h delay: due 10:00 JST
    decision = decide(lp_form_left(**changes), [], input_rules("email"), T0 + timedelta(hours=1))
    assert (decision.kind if expected is Kind.SEND else decision.reason) == expected


def test_the_confirm_flow_does_not_take_input_flow_candidates():
    confirm = replace(input_rules("email"), flow="confirm", kind=FlowKind.CONFIRM)
    decision = decide(lp_form_left(), [], confirm, T0 + timedelta(hours=1))
    assert decision.reason is SkipReason.NOT_ABANDONED


def test_email_and_sms_tracks_of_the_input_flow_are_delivered_independently():
    sent_email = PastDelivery("input", 0, 0, "email", DeliveryStatus.SENT, T0 + timedelta(hours=1))
    now = T0 + timedelta(hours=2)
    email = decide(lp_form_left(), [sent_email], input_rules("email"), now)
    sms = decide(lp_form_left(), [sent_email], input_rules("sms"), now)
    assert (email.reason, sms.kind, sms.channel) == (SkipReason.ALREADY_DELIVERED, Kind.SEND, "sms")


# --- SMS and push contact rules (SPEC 2.7, 2.8: each channel its own opt-in) ----------------


@pytest.mark.parametrize(
    ("channel", "changes", "suppressed", "expected"),
    [
        pytest.param("sms", {}, (), Kind.SEND, id="sms-ok"),
        pytest.param("sms", {"sms_consent": False}, (), SkipReason.NO_CONSENT, id="sms-no-optin"),
        pytest.param(
            "sms",
            {"phone": "090-12", "phone_valid": False},
            (),
            SkipReason.INVALID_ADDRESS,
            id="sms-invalid-number",
        ),
        pytest.param("sms", {}, ("sms",), SkipReason.SUPPRESSED, id="sms-suppressed"),
        pytest.param("sms", {}, ("email",), Kind.SEND, id="email-suppression-does-not-stop-sms"),
        pytest.param(
            "push", {"push_token": "tok", "push_consent": True}, (), Kind.SEND, id="push-ok"
        ),
        pytest.param(
            "push",
            {"push_token": "tok", "push_consent": False},
            (),
            SkipReason.NO_CONSENT,
            id="push-no-optin",
        ),
        pytest.param(
            "push",
            {"push_token": None, "push_consent": True},
            (),
            SkipReason.NO_ADDRESS,
            id="push-no-device",
        ),
        pytest.param(
            "push",
            {"push_token": "tok", "push_consent": True},
            ("push",),
            SkipReason.SUPPRESSED,
            id="push-token-unregistered-earlier",
        ),
    ],
)
def test_each_channel_needs_its_own_consent_and_address(channel, changes, suppressed, expected):
    member_cart = lp_form_left(
        storefront=Storefront.SHOP, abandoned_step=AbandonedStep.CART,
        customer_status=CustomerStatus.MEMBER, **changes,
    )  # fmt: skip
    rules = FlowRules(
        flow="confirm", enabled=True, target=Target.ALL,
        steps=(StepRule(0, timedelta(hours=1), channel),), cart_ttl=timedelta(hours=24),
    )  # fmt: skip
    decision = decide(member_cart, [], rules, T0 + timedelta(hours=1), suppressed=suppressed)
    assert (decision.kind if expected is Kind.SEND else decision.reason) == expected


# --- quiet hours (deferred, never dropped) ----------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 10:00 JST is inside 09:00-21:00: now
        pytest.param(datetime(2026, 11, 22, 1, 0), datetime(2026, 11, 22, 1, 0), id="inside"),
        # 21:00 JST exactly is outside (until is exclusive): next 09:00 JST = 00:00 UTC next day
        pytest.param(datetime(2026, 11, 22, 12, 0), datetime(2026, 11, 23, 0, 0), id="at-close"),
        # 23:30 JST, before local midnight: next morning 09:00 JST
        pytest.param(datetime(2026, 11, 22, 14, 30), datetime(2026, 11, 23, 0, 0), id="late"),
        # 02:00 JST on the 23rd is 17:00 UTC on the 22nd: same local morning, 09:00 JST
        pytest.param(
            datetime(2026, 11, 22, 17, 0), datetime(2026, 11, 23, 0, 0), id="across-utc-date"
        ),
        # 08:59 JST: one minute later
        pytest.param(datetime(2026, 11, 22, 23, 59), datetime(2026, 11, 23, 0, 0), id="early"),
    ],
)
def test_next_allowed_moves_a_quiet_time_to_the_next_local_opening(moment, expected):
    assert next_allowed(moment, DAYTIME) == expected


def test_a_window_across_midnight_is_honoured():
    night_ok = QuietHours(time(22), time(6), TOKYO)
    # 23:00 JST = 14:00 UTC: allowed; 12:00 JST = 03:00 UTC: wait until 22:00 JST = 13:00 UTC
    assert next_allowed(datetime(2026, 11, 22, 14, 0), night_ok) == datetime(2026, 11, 22, 14, 0)
    assert next_allowed(datetime(2026, 11, 22, 3, 0), night_ok) == datetime(2026, 11, 22, 13, 0)


def test_an_sms_due_in_quiet_hours_waits_for_the_morning_across_midnight():
    # left 20:30 JST (11:30 UTC), due 21:30 JST (12:30 UTC): deferred to 09:00 JST next day
    left = datetime(2026, 11, 22, 11, 30)
    rules = input_rules("sms", quiet_hours={"sms": DAYTIME})
    c = lp_form_left(abandoned_at=left, last_activity_at=left)
    night = decide(c, [], rules, datetime(2026, 11, 22, 12, 30))
    morning = decide(c, [], rules, datetime(2026, 11, 23, 0, 0))
    assert (night.kind, night.deferred_by, night.due_at) == (
        Kind.WAIT, SkipReason.QUIET_HOURS, datetime(2026, 11, 23, 0, 0),
    )  # fmt: skip
    assert morning.kind is Kind.SEND


def test_e_mail_has_no_quiet_hours_by_default():
    left = datetime(2026, 11, 22, 11, 30)
    rules = input_rules("email", quiet_hours={"sms": DAYTIME})
    c = lp_form_left(abandoned_at=left, last_activity_at=left)
    assert decide(c, [], rules, datetime(2026, 11, 22, 12, 30)).kind is Kind.SEND


def test_a_deferral_that_would_outlive_the_cart_is_a_quiet_hours_skip():
    # cart valid 12h from 20:30 JST = until 08:30 JST, before the 09:00 opening
    left = datetime(2026, 11, 22, 11, 30)
    rules = input_rules("sms", quiet_hours={"sms": DAYTIME}, cart_ttl=timedelta(hours=12))
    c = lp_form_left(abandoned_at=left, last_activity_at=left)
    assert decide(c, [], rules, datetime(2026, 11, 22, 12, 30)).reason is SkipReason.QUIET_HOURS


def test_with_unlimited_validity_a_quiet_deferral_always_waits():
    left = datetime(2026, 11, 22, 11, 30)
    rules = input_rules("sms", quiet_hours={"sms": DAYTIME}, cart_ttl=None)
    c = lp_form_left(abandoned_at=left, last_activity_at=left)
    assert decide(c, [], rules, datetime(2026, 11, 22, 12, 30)).kind is Kind.WAIT


# --- the frequency cap --------------------------------------------------------------------------

CAP = FrequencyCap(1, timedelta(hours=16))


@pytest.mark.parametrize(
    ("recent", "now", "expected"),
    [
        pytest.param([], T0, T0, id="nothing-sent"),
        # one sent 15h59m ago: released at +16h = one minute from now
        pytest.param(
            [T0 - timedelta(hours=15, minutes=59)], T0, T0 + timedelta(minutes=1), id="inside"
        ),
        pytest.param([T0 - timedelta(hours=16)], T0, T0, id="exactly-16h-ago-is-outside"),
        pytest.param([T0 + timedelta(hours=1)], T0, T0, id="future-sends-do-not-count"),
    ],
)
def test_cap_release_is_when_the_oldest_counted_send_leaves_the_window(recent, now, expected):
    assert cap_release(recent, CAP, now) == expected


def test_a_cap_of_two_allows_a_second_reminder_and_holds_the_third():
    cap = FrequencyCap(2, timedelta(hours=16))
    one, two = T0 - timedelta(hours=10), T0 - timedelta(hours=2)
    assert cap_release([one], cap, T0) == T0
    assert cap_release([one, two], cap, T0) == one + timedelta(hours=16)


def test_the_cap_defers_a_second_reminder_while_the_cart_stays_valid():
    rules = input_rules("email", frequency_cap=CAP, cart_ttl=None)
    recent = [T0 - timedelta(hours=2)]  # another flow reminded this customer 2h ago
    d = decide(lp_form_left(), [], rules, T0 + timedelta(hours=1), recent_sends=recent)
    # released at (T0 - 2h) + 16h = T0 + 14h
    assert (d.kind, d.deferred_by, d.due_at) == (
        Kind.WAIT, SkipReason.FREQUENCY_CAP, T0 + timedelta(hours=14),
    )  # fmt: skip


def test_the_cap_skips_when_the_cart_expires_before_the_release():
    rules = input_rules("email", frequency_cap=CAP, cart_ttl=timedelta(hours=10))
    recent = [T0 - timedelta(hours=2)]  # released at T0 + 14h, cart expires at T0 + 10h
    d = decide(lp_form_left(), [], rules, T0 + timedelta(hours=1), recent_sends=recent)
    assert d.reason is SkipReason.FREQUENCY_CAP


def test_cap_then_quiet_hours_both_apply():
    # released at 22:00 JST (13:00 UTC) by the cap, then quiet until 09:00 JST (00:00 UTC)
    rules = input_rules("sms", frequency_cap=CAP, cart_ttl=None, quiet_hours={"sms": DAYTIME})
    recent = [datetime(2026, 11, 21, 21, 0)]
    d = decide(lp_form_left(), [], rules, datetime(2026, 11, 22, 2, 0), recent_sends=recent)
    assert (d.kind, d.deferred_by, d.due_at) == (
        Kind.WAIT, SkipReason.FREQUENCY_CAP, datetime(2026, 11, 23, 0, 0),
    )  # fmt: skip
