"""SPEC section 2 as tables: who is reminded, when, and why not.

``decide`` is pure, so every case builds a candidate, its delivery history, the flow's rules and
``now`` by hand; no database, no clock. The arithmetic behind each expected time is written next
to it. Unless a case says otherwise: now is 2026-11-22 12:00, the shopper abandoned at 09:00
(3 hours ago), the flow has one e-mail step after 1 hour and carts are valid for 24 hours.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartnudge.core.rules import (
    AbandonedStep,
    Candidate,
    CustomerStatus,
    Decision,
    DeliveryStatus,
    FlowRules,
    Kind,
    PastDelivery,
    SkipReason,
    StepRule,
    Storefront,
    Target,
    decide,
    valid_email,
)

H = timedelta(hours=1)
D = timedelta(days=1)
NOW = datetime(2026, 11, 22, 12, 0)
ABANDONED = NOW - 3 * H  # 12:00 - 3h = 09:00

MEMBER, VISITOR = CustomerStatus.MEMBER, CustomerStatus.VISITOR
LP, SHOP = Storefront.LP, Storefront.SHOP
CART, CONFIRM = AbandonedStep.CART, AbandonedStep.CONFIRM
PAYMENT_FAILED, INPUT = AbandonedStep.PAYMENT_FAILED, AbandonedStep.INPUT
TWO_STEPS = (StepRule(0, 1 * H), StepRule(1, 24 * H))


def candidate(**changes: object) -> Candidate:
    """A member who left the SHOP cart at 09:00, with consent and a valid address."""
    abandoned_at = changes.pop("abandoned_at", ABANDONED)
    base = Candidate(
        order_id="o-1",
        customer_id="c-1",
        customer_status=MEMBER,
        storefront=SHOP,
        abandoned_step=CART,
        abandoned_at=abandoned_at,
        last_activity_at=abandoned_at,
        email="hanako.sato@example.co.jp",
        email_consent=True,
    )
    return replace(base, **changes)


def flow(**changes: object) -> FlowRules:
    """The confirm flow, on for everyone: one step after 1h, carts valid for 24h."""
    base = FlowRules(
        flow="confirm",
        enabled=True,
        target=Target.ALL,
        steps=(StepRule(0, 1 * H),),
        cart_ttl=24 * H,
    )
    return replace(base, **changes)


def delivery(
    step: int = 0,
    status: DeliveryStatus = DeliveryStatus.SENT,
    at: datetime = ABANDONED + H,
    episode: int = 0,
    episode_started_at: datetime | None = None,
    flow: str = "confirm",
) -> PastDelivery:
    return PastDelivery(flow, step, episode, "email", status, at, episode_started_at)


def send(
    due_at: datetime,
    started_at: datetime = ABANDONED,
    step: int = 0,
    episode: int = 0,
    superseded: tuple[int, ...] = (),
) -> Decision:
    return Decision(
        Kind.SEND,
        step=step,
        episode=episode,
        channel="email",
        due_at=due_at,
        episode_started_at=started_at,
        superseded=superseded,
    )


def wait(
    due_at: datetime, started_at: datetime = ABANDONED, step: int = 0, episode: int = 0
) -> Decision:
    return Decision(
        Kind.WAIT,
        step=step,
        episode=episode,
        channel="email",
        due_at=due_at,
        episode_started_at=started_at,
    )


def skip(reason: SkipReason, episode: int = 0) -> Decision:
    return Decision(Kind.SKIP, reason=reason, episode=episode)


SENDS = send(due_at=ABANDONED + H)  # 09:00 + 1h = 10:00, due two hours ago


# --- 2.1: which orders count as abandoned ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "storefront", "step", "expected"),
    [
        pytest.param(MEMBER, LP, CONFIRM, SENDS, id="member-lp-confirm-sends"),
        pytest.param(MEMBER, SHOP, CART, SENDS, id="member-shop-cart-sends"),
        pytest.param(VISITOR, LP, CONFIRM, SENDS, id="visitor-lp-confirm-sends"),
        pytest.param(
            VISITOR, SHOP, CART, skip(SkipReason.NOT_ABANDONED), id="visitor-shop-cart-never"
        ),
        pytest.param(
            VISITOR, SHOP, CONFIRM, skip(SkipReason.NOT_ABANDONED), id="visitor-shop-confirm-never"
        ),
        pytest.param(
            VISITOR,
            SHOP,
            PAYMENT_FAILED,
            skip(SkipReason.NOT_ABANDONED),
            id="visitor-shop-payment-failed-never",
        ),
        pytest.param(
            MEMBER, LP, CART, skip(SkipReason.NOT_ABANDONED), id="member-lp-cart-is-not-confirm"
        ),
        pytest.param(
            VISITOR, LP, CART, skip(SkipReason.NOT_ABANDONED), id="visitor-lp-cart-is-not-confirm"
        ),
        pytest.param(
            MEMBER, LP, INPUT, skip(SkipReason.NOT_ABANDONED), id="member-lp-input-is-not-confirm"
        ),
        pytest.param(
            VISITOR, LP, INPUT, skip(SkipReason.NOT_ABANDONED), id="visitor-lp-input-is-not-confirm"
        ),
    ],
)
def test_an_order_is_reminded_only_in_the_cells_of_the_abandonment_table(
    status: CustomerStatus, storefront: Storefront, step: AbandonedStep, expected: Decision
) -> None:
    c = candidate(customer_status=status, storefront=storefront, abandoned_step=step)
    assert decide(c, [], flow(), NOW) == expected


@pytest.mark.parametrize(
    ("status", "storefront"),
    [
        pytest.param(MEMBER, LP, id="member-lp"),
        pytest.param(VISITOR, LP, id="visitor-lp"),
        pytest.param(MEMBER, SHOP, id="member-shop"),
    ],
)
def test_a_failed_payment_authorisation_counts_as_an_abandoned_order(
    status: CustomerStatus, storefront: Storefront
) -> None:
    c = candidate(customer_status=status, storefront=storefront, abandoned_step=PAYMENT_FAILED)
    assert decide(c, [], flow(), NOW) == SENDS


# --- 2.5: fraud suppression -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "action", "rules", "expected"),
    [
        pytest.param("HOLD", None, flow(), skip(SkipReason.FRAUD_RESULT), id="hold"),
        pytest.param("REVIEW", None, flow(), skip(SkipReason.FRAUD_RESULT), id="review"),
        pytest.param("NG", None, flow(), skip(SkipReason.FRAUD_RESULT), id="ng"),
        pytest.param("hold", None, flow(), skip(SkipReason.FRAUD_RESULT), id="hold-lower-case"),
        pytest.param("OK", None, flow(), SENDS, id="ok-is-not-suppressed"),
        pytest.param(None, None, flow(), SENDS, id="not-screened-is-not-suppressed"),
        pytest.param("OK", "redirect", flow(), skip(SkipReason.FRAUD_ACTION), id="redirect"),
        pytest.param(
            "PENDING",
            None,
            flow(suppressed_fraud_results=frozenset({"PENDING"})),
            skip(SkipReason.FRAUD_RESULT),
            id="custom-result-list-suppresses-its-result",
        ),
        pytest.param(
            "HOLD",
            None,
            flow(suppressed_fraud_results=frozenset({"PENDING"})),
            SENDS,
            id="custom-result-list-replaces-the-default",
        ),
        pytest.param(
            None,
            "block",
            flow(suppressed_fraud_actions=frozenset({"block"})),
            skip(SkipReason.FRAUD_ACTION),
            id="custom-action-list-suppresses-its-action",
        ),
        pytest.param(
            None,
            "redirect",
            flow(suppressed_fraud_actions=frozenset({"block"})),
            SENDS,
            id="custom-action-list-replaces-the-default",
        ),
    ],
)
def test_fraud_screening_results_and_actions_suppress_the_reminder(
    result: str | None, action: str | None, rules: FlowRules, expected: Decision
) -> None:
    c = candidate(fraud_result=result, fraud_action=action)
    assert decide(c, [], rules, NOW) == expected


# --- 2.2: target ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "status", "expected"),
    [
        pytest.param(Target.MEMBERS, MEMBER, SENDS, id="members-reminds-a-member"),
        pytest.param(
            Target.MEMBERS, VISITOR, skip(SkipReason.NOT_TARGET), id="members-skips-a-visitor"
        ),
        pytest.param(
            Target.VISITORS, MEMBER, skip(SkipReason.NOT_TARGET), id="visitors-skips-a-member"
        ),
        pytest.param(Target.VISITORS, VISITOR, SENDS, id="visitors-reminds-a-visitor"),
        pytest.param(Target.ALL, MEMBER, SENDS, id="all-reminds-a-member"),
        pytest.param(Target.ALL, VISITOR, SENDS, id="all-reminds-a-visitor"),
    ],
)
def test_the_flow_target_chooses_members_visitors_or_both(
    target: Target, status: CustomerStatus, expected: Decision
) -> None:
    # On the LP both members and visitors abandon at the confirmation screen.
    c = candidate(customer_status=status, storefront=LP, abandoned_step=CONFIRM)
    assert decide(c, [], flow(target=target), NOW) == expected


# --- 2.2 / 2.3: cart validity ---------------------------------------------------------------

EPISODE_1_START = NOW - 3 * H  # 12:00 - 3h = 09:00, when validity was still unlimited


@pytest.mark.parametrize(
    ("abandoned_at", "history", "rules", "expected"),
    [
        pytest.param(
            NOW - 24 * H,  # yesterday 12:00 + 24h = 12:00 <= now: expired exactly now
            [],
            flow(),
            skip(SkipReason.CART_EXPIRED),
            id="expired-exactly-at-abandoned-at-plus-cart-ttl",
        ),
        pytest.param(
            NOW - timedelta(hours=23, minutes=59, seconds=59),  # expires at 12:00:01
            [],
            flow(),
            send(  # 12:00:01 yesterday + 1h = 13:00:01 yesterday
                due_at=NOW - timedelta(hours=22, minutes=59, seconds=59),
                started_at=NOW - timedelta(hours=23, minutes=59, seconds=59),
            ),
            id="one-second-before-expiry-still-sends",
        ),
        pytest.param(
            # The delay was just cut to 1h: due since 2d ago + 1h, but 2d ago + 24h = yesterday
            # 12:00, so the cart expired long before the new delay reached it.
            NOW - 2 * D,
            [],
            flow(steps=(StepRule(0, 1 * H),)),
            skip(SkipReason.CART_EXPIRED),
            id="a-shortened-delay-never-sends-an-expired-cart",
        ),
        pytest.param(
            NOW - 90 * D,  # nobody reminded it for 90 days: still due, no window to fall out of
            [],
            flow(cart_ttl=None),
            send(due_at=NOW - 90 * D + H, started_at=NOW - 90 * D),
            id="unlimited-validity-never-expires",
        ),
        pytest.param(
            NOW - 5 * D,  # abandoned 5 days ago: 5d > 24h, expired whatever the episode
            [
                delivery(0, at=NOW - 5 * D + H),
                # Episode 1 began at 09:00 while validity was unlimited; step 0 went at 10:00
                # and step 1 (09:00 + 2h = 11:00) is due now, but the cart itself has expired.
                delivery(0, at=NOW - 2 * H, episode=1, episode_started_at=EPISODE_1_START),
            ],
            flow(steps=(StepRule(0, 1 * H), StepRule(1, 2 * H))),
            skip(SkipReason.CART_EXPIRED, episode=1),
            id="validity-counts-from-abandoned-at-even-in-a-later-episode",
        ),
    ],
)
def test_an_expired_cart_is_never_reminded(
    abandoned_at: datetime, history: list[PastDelivery], rules: FlowRules, expected: Decision
) -> None:
    c = candidate(abandoned_at=abandoned_at, last_activity_at=NOW - 3 * H)
    assert decide(c, history, rules, NOW) == expected


# --- 2.4: resend episodes -------------------------------------------------------------------

T = datetime(2026, 11, 10, 10, 0)  # the first reminder went out at T
FIRST = T - H  # abandoned at 09:00, reminded at 09:00 + 1h = 10:00 = T
REMINDED = [delivery(0, at=T)]
UNLIMITED = flow(cart_ttl=None, resend_after=3 * D)


@pytest.mark.parametrize(
    ("last_activity_at", "history", "rules", "now", "expected"),
    [
        pytest.param(
            T + 3 * D,  # came back at T + 3d = 11-13 10:00 and left again
            REMINDED,
            UNLIMITED,
            T + 3 * D + timedelta(minutes=59),
            wait(due_at=T + 3 * D + H, started_at=T + 3 * D, episode=1),  # 10:00 + 1h = 11:00
            id="a-new-episode-waits-for-the-delay-from-the-return",
        ),
        pytest.param(
            T + 3 * D,
            REMINDED,
            UNLIMITED,
            T + 3 * D + H,  # 11-13 10:00 + 1h = 11:00
            send(due_at=T + 3 * D + H, started_at=T + 3 * D, episode=1),
            id="a-new-episode-sends-once-its-delay-has-passed",
        ),
        pytest.param(
            T + 2 * D + 23 * H,  # T + 2d23h: one hour short of the 3-day cool-down
            REMINDED,
            UNLIMITED,
            T + 4 * D,
            skip(SkipReason.ALREADY_DELIVERED),
            id="a-return-within-the-cool-down-starts-no-episode",
        ),
        pytest.param(
            T + 3 * D,
            REMINDED,
            flow(cart_ttl=30 * D, resend_after=3 * D),  # FIRST + 30d is long after now
            T + 3 * D + H,
            skip(SkipReason.ALREADY_DELIVERED),
            id="limited-validity-never-resends",
        ),
        pytest.param(
            T + 4 * D - 2 * H,  # 11-14 08:00: back again after episode 1's first reminder
            [
                *REMINDED,
                # Episode 1 began at T + 3d = 11-13 10:00; its step 0 went at 11:00.
                delivery(0, at=T + 3 * D + H, episode=1, episode_started_at=T + 3 * D),
            ],
            replace(UNLIMITED, steps=TWO_STEPS),
            T + 4 * D,  # 11-13 10:00 + 24h = 11-14 10:00: step 1 is due from the stored start
            send(due_at=T + 4 * D, started_at=T + 3 * D, step=1, episode=1),
            id="an-episode-keeps-its-stored-start-when-activity-moves-later",
        ),
    ],
)
def test_with_unlimited_validity_a_return_after_the_cool_down_starts_a_new_episode(
    last_activity_at: datetime,
    history: list[PastDelivery],
    rules: FlowRules,
    now: datetime,
    expected: Decision,
) -> None:
    c = candidate(abandoned_at=FIRST, last_activity_at=last_activity_at)
    assert decide(c, history, rules, now) == expected


# --- 2.7: consent, address, suppression -----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "rules", "suppressed", "expected"),
    [
        pytest.param(
            {"email_consent": False},
            flow(),
            False,
            skip(SkipReason.NO_CONSENT),
            id="no-consent-when-consent-is-required",
        ),
        pytest.param(
            {"email_consent": False},
            flow(consent_required=False),
            False,
            SENDS,
            id="no-consent-sends-when-consent-is-not-required",
        ),
        pytest.param({}, flow(), True, skip(SkipReason.SUPPRESSED), id="suppressed-address"),
    ],
)
def test_consent_and_the_suppression_list_are_honoured(
    changes: dict, rules: FlowRules, suppressed: bool, expected: Decision
) -> None:
    assert decide(candidate(**changes), [], rules, NOW, suppressed=suppressed) == expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        pytest.param("hanako.example.co.jp", SkipReason.INVALID_ADDRESS, id="no-at-sign"),
        pytest.param("hanako@@example.co.jp", SkipReason.INVALID_ADDRESS, id="two-at-signs"),
        pytest.param("hanako sato@example.co.jp", SkipReason.INVALID_ADDRESS, id="space-inside"),
        pytest.param(
            "hanako@example.co.jp\r\nBcc: all@example.com",
            SkipReason.INVALID_ADDRESS,
            id="crlf-header-injection",
        ),
        pytest.param("hanako@exam\rple.co.jp", SkipReason.INVALID_ADDRESS, id="cr-inside"),
        pytest.param("hanako@exam\nple.co.jp", SkipReason.INVALID_ADDRESS, id="lf-inside"),
        pytest.param("a@b", SkipReason.INVALID_ADDRESS, id="domain-without-a-dot"),
        pytest.param("hanako@example.co.jp.", SkipReason.INVALID_ADDRESS, id="trailing-dot"),
        pytest.param(None, SkipReason.NO_ADDRESS, id="none"),
        pytest.param("", SkipReason.NO_ADDRESS, id="empty"),
        pytest.param("  \t ", SkipReason.NO_ADDRESS, id="blank"),
    ],
)
def test_a_missing_or_invalid_address_is_skipped(email: str | None, expected: SkipReason) -> None:
    assert decide(candidate(email=email), [], flow(), NOW) == skip(expected)


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("hanako.sato+cart@example.co.jp", id="plus-tag"),
        pytest.param("TARO_YAMADA@EXAMPLE.COM", id="upper-case"),
        pytest.param("o'brien@mail.example-shop.jp", id="apostrophe-and-hyphen"),
        pytest.param(" hanako@example.co.jp\n", id="surrounding-whitespace-is-trimmed"),
    ],
)
def test_a_valid_address_is_reminded(email: str) -> None:
    assert decide(candidate(email=email), [], flow(), NOW) == SENDS


def test_an_address_check_does_not_accept_a_trailing_newline() -> None:
    # re.match with "$" would accept "...jp\n"; decide trims first, other callers may not.
    assert not valid_email("hanako@example.co.jp\n")


# --- 2.3: timing without losses -------------------------------------------------------------

P2 = ABANDONED - 22 * H  # 09:00 - 22h = yesterday 11:00: step 1 due at 11:00 today, 1h ago


@pytest.mark.parametrize(
    ("abandoned_at", "history", "rules", "expected"),
    [
        pytest.param(
            NOW - timedelta(minutes=30),  # 11:30 + 1h = 12:30
            [],
            flow(),
            wait(due_at=NOW + timedelta(minutes=30), started_at=NOW - timedelta(minutes=30)),
            id="not-yet-due-waits-until-abandoned-at-plus-delay",
        ),
        pytest.param(
            NOW - timedelta(minutes=59, seconds=59),  # 11:00:01 + 1h = 12:00:01
            [],
            flow(),
            wait(due_at=NOW + timedelta(seconds=1), started_at=NOW - H + timedelta(seconds=1)),
            id="one-second-early-waits",
        ),
        pytest.param(
            NOW - H,  # 11:00 + 1h = 12:00 = now
            [],
            flow(),
            send(due_at=NOW, started_at=NOW - H),
            id="exactly-due-sends",
        ),
        pytest.param(
            NOW - 23 * H,  # a missed or late cron run: due since 11:00 + 1h yesterday
            [],
            flow(),
            send(due_at=NOW - 22 * H, started_at=NOW - 23 * H),
            id="long-overdue-still-sends",
        ),
        pytest.param(
            NOW - 30 * H,
            [],
            flow(steps=TWO_STEPS, cart_ttl=None),
            send(
                due_at=NOW - 6 * H,  # 06:00 yesterday + 24h = 06:00 today
                started_at=NOW - 30 * H,
                step=1,
                superseded=(0,),
            ),
            id="both-steps-due-sends-only-the-latest",
        ),
        pytest.param(
            P2,
            [],
            flow(steps=TWO_STEPS, cart_ttl=7 * D),
            send(due_at=P2 + 24 * H, started_at=P2, step=1, superseded=(0,)),
            id="both-steps-due-with-a-long-validity-sends-only-the-latest",
        ),
        pytest.param(
            ABANDONED,
            [],
            flow(steps=TWO_STEPS, cart_ttl=None),
            SENDS,
            id="only-the-first-step-due-sends-it",
        ),
        pytest.param(
            ABANDONED,
            [delivery(0)],
            flow(steps=TWO_STEPS, cart_ttl=None),
            wait(due_at=ABANDONED + 24 * H, step=1),  # 09:00 + 24h = 09:00 tomorrow
            id="after-step-0-the-flow-waits-for-step-1",
        ),
        pytest.param(
            P2,
            [delivery(0, at=P2 + H)],
            flow(steps=TWO_STEPS, cart_ttl=None),
            send(due_at=P2 + 24 * H, started_at=P2, step=1),
            id="after-step-0-step-1-sends-when-due",
        ),
        pytest.param(
            P2,
            [delivery(1, at=P2 + 24 * H)],
            flow(steps=TWO_STEPS, cart_ttl=None),
            skip(SkipReason.ALREADY_DELIVERED),
            id="after-step-1-step-0-is-never-sent",
        ),
        pytest.param(
            P2,
            [delivery(0, at=P2 + H), delivery(1, at=P2 + 24 * H)],
            flow(steps=TWO_STEPS, cart_ttl=None),
            skip(SkipReason.ALREADY_DELIVERED),
            id="after-every-step-nothing-more-is-sent",
        ),
        pytest.param(
            ABANDONED,
            [delivery(0, flow="input")],
            flow(),
            SENDS,
            id="a-delivery-of-another-flow-does-not-count",
        ),
    ],
)
def test_a_step_is_due_from_abandoned_at_plus_its_delay_and_sent_once(
    abandoned_at: datetime, history: list[PastDelivery], rules: FlowRules, expected: Decision
) -> None:
    assert decide(candidate(abandoned_at=abandoned_at), history, rules, NOW) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(DeliveryStatus.SENDING, skip(SkipReason.ALREADY_DELIVERED), id="sending"),
        pytest.param(DeliveryStatus.SENT, skip(SkipReason.ALREADY_DELIVERED), id="sent"),
        pytest.param(DeliveryStatus.FAILED, skip(SkipReason.ALREADY_DELIVERED), id="failed"),
        pytest.param(DeliveryStatus.IN_DOUBT, skip(SkipReason.ALREADY_DELIVERED), id="in-doubt"),
        pytest.param(DeliveryStatus.RETRY, SENDS, id="retry-is-sent-again"),
        pytest.param(DeliveryStatus.CLAIMED, SENDS, id="claimed-is-still-sent"),
    ],
)
def test_which_delivery_statuses_count_as_delivered(
    status: DeliveryStatus, expected: Decision
) -> None:
    assert decide(candidate(), [delivery(0, status)], flow(), NOW) == expected


# --- flow switch and purchases --------------------------------------------------------------


def test_a_disabled_flow_reminds_nobody() -> None:
    assert decide(candidate(), [], flow(enabled=False), NOW) == skip(SkipReason.FLOW_DISABLED)


@pytest.mark.parametrize(
    ("purchased_at", "expected"),
    [
        pytest.param(ABANDONED, skip(SkipReason.PURCHASED), id="at-the-abandonment"),
        pytest.param(NOW - H, skip(SkipReason.PURCHASED), id="after-the-abandonment"),
        pytest.param(ABANDONED - timedelta(seconds=1), SENDS, id="before-the-abandonment-sends"),
        pytest.param(None, SENDS, id="never-purchased-sends"),
    ],
)
def test_a_purchase_since_the_abandonment_ends_the_reminders(
    purchased_at: datetime | None, expected: Decision
) -> None:
    assert decide(candidate(purchased_at=purchased_at), [], flow(), NOW) == expected


# --- properties -----------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, database=None)
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31))
minutes = st.integers(min_value=1, max_value=60 * 24 * 60).map(lambda m: timedelta(minutes=m))
maybe_minutes = st.none() | minutes
# Offsets on the scale of cart validity and resend cool-downs, so that histories, validity and
# now overlap often: 0 to 10 days, in minutes.
offsets = st.integers(min_value=0, max_value=60 * 24 * 10).map(lambda m: timedelta(minutes=m))
# Each strategy leans towards the values that let a reminder through, so the properties reach
# the send path often, not only the early skips.
fraud_results = st.none() | st.sampled_from(["", "OK", "HOLD", "REVIEW", "NG", "hold", "ng", "?"])
fraud_actions = st.none() | st.sampled_from(["", "none", "redirect", "REDIRECT"])
valid_emails = st.sampled_from(
    ["hanako@example.co.jp", "hanako.sato+cart@example.co.jp", "TARO_YAMADA@EXAMPLE.COM"]
)
emails = valid_emails | st.sampled_from(
    [None, "", " ", "a@b", "x y@example.com", "hanako@example.co.jp.", "a@example.com\r\nBcc:"]
)


@st.composite
def step_lists(draw: st.DrawFn) -> tuple[StepRule, ...]:
    """1 to 3 e-mail steps with increasing delays, as configuration allows."""
    delays = draw(st.lists(minutes, min_size=1, max_size=3, unique=True))
    return tuple(StepRule(i, delay) for i, delay in enumerate(sorted(delays)))


ABANDONING_CELLS = [
    (MEMBER, LP, CONFIRM),
    (MEMBER, LP, PAYMENT_FAILED),
    (VISITOR, LP, CONFIRM),
    (VISITOR, LP, PAYMENT_FAILED),
    (MEMBER, SHOP, CART),
    (MEMBER, SHOP, CONFIRM),
    (MEMBER, SHOP, PAYMENT_FAILED),
]


@st.composite
def candidates(draw: st.DrawFn) -> Candidate:
    """Any candidate: every enum combination, odd addresses, fraud flags, purchases."""
    abandoned_at = draw(moments)
    return Candidate(
        order_id="o-1",
        customer_id=draw(st.sampled_from([None, "c-1"])),
        customer_status=draw(st.sampled_from(CustomerStatus)),
        storefront=draw(st.sampled_from(Storefront)),
        abandoned_step=draw(st.sampled_from(AbandonedStep)),
        abandoned_at=abandoned_at,
        last_activity_at=abandoned_at + draw(offsets),
        email=draw(emails),
        email_consent=draw(st.just(True) | st.booleans()),
        fraud_result=draw(fraud_results),
        fraud_action=draw(fraud_actions),
        purchased_at=draw(st.none() | moments),
    )


@st.composite
def remindable_candidates(draw: st.DrawFn) -> Candidate:
    """A candidate that passes every check but timing and history, so those get exercised."""
    status, storefront, step = draw(st.sampled_from(ABANDONING_CELLS))
    abandoned_at = draw(moments)
    return Candidate(
        order_id="o-1",
        customer_id="c-1",
        customer_status=status,
        storefront=storefront,
        abandoned_step=step,
        abandoned_at=abandoned_at,
        last_activity_at=abandoned_at + draw(offsets),
        email=draw(valid_emails),
        email_consent=True,
    )


@st.composite
def histories(draw: st.DrawFn, since: datetime) -> list[PastDelivery]:
    """Up to 5 deliveries of any flow, step, episode and status, at or after ``since``."""
    return draw(
        st.lists(
            st.builds(
                PastDelivery,
                flow=st.sampled_from(["confirm", "input"]),
                step=st.integers(min_value=0, max_value=3),
                episode=st.integers(min_value=0, max_value=2),
                channel=st.just("email"),
                status=st.sampled_from(DeliveryStatus),
                at=offsets.map(lambda d: since + d),
                episode_started_at=st.none() | offsets.map(lambda d: since + d),
            ),
            max_size=5,
        )
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Candidate, list[PastDelivery]]:
    c = draw(candidates() | remindable_candidates())
    return c, draw(histories(since=c.abandoned_at))


@st.composite
def flow_rules(draw: st.DrawFn, cart_ttl: st.SearchStrategy = maybe_minutes) -> FlowRules:
    return FlowRules(
        flow="confirm",
        enabled=draw(st.just(True) | st.booleans()),
        target=draw(st.sampled_from(Target)),
        steps=draw(step_lists()),
        cart_ttl=draw(cart_ttl),
        resend_after=draw(minutes),
        consent_required=draw(st.booleans()),
    )


@st.composite
def limited_flow_rules(draw: st.DrawFn) -> FlowRules:
    """Rules with a cart validity longer than every step's delay, as configuration demands."""
    ttl_minutes = draw(st.integers(min_value=2, max_value=60 * 24 * 10))
    delays = draw(
        st.lists(st.integers(min_value=1, max_value=ttl_minutes - 1), min_size=1, max_size=3)
    )
    steps = tuple(StepRule(i, timedelta(minutes=m)) for i, m in enumerate(sorted(set(delays))))
    rules = draw(flow_rules(cart_ttl=st.just(timedelta(minutes=ttl_minutes))))
    return replace(rules, steps=steps)


@st.composite
def eligible_sends(draw: st.DrawFn) -> tuple[Candidate, FlowRules, datetime]:
    """A member's SHOP cart, consent, a valid address, no fraud flag, no history; a delay of
    1 to 24 hours, a validity longer than it, and now in [abandoned_at + delay, expiry)."""
    delay = timedelta(hours=draw(st.integers(min_value=1, max_value=24)))
    cart_ttl = delay + draw(minutes)
    abandoned_at = draw(moments)
    # The open window [abandoned_at + delay, abandoned_at + cart_ttl), to the microsecond.
    window = (cart_ttl - delay) // timedelta(microseconds=1)
    now = abandoned_at + delay + timedelta(microseconds=draw(st.integers(0, window - 1)))
    c = candidate(abandoned_at=abandoned_at, email=draw(valid_emails))
    return c, flow(steps=(StepRule(0, delay),), cart_ttl=cart_ttl), now


@PROPERTY_SETTINGS
@given(eligible_sends())
def test_an_eligible_cart_between_its_delay_and_its_expiry_is_always_sent(
    case: tuple[Candidate, FlowRules, datetime],
) -> None:
    c, rules, now = case
    decision = decide(c, [], rules, now)
    assert decision == send(due_at=c.abandoned_at + rules.steps[0].delay, started_at=c.abandoned_at)


@PROPERTY_SETTINGS
@given(cases(), limited_flow_rules(), offsets)
def test_an_expired_cart_is_never_sent_whatever_its_history(
    case: tuple[Candidate, list[PastDelivery]], rules: FlowRules, past_expiry: timedelta
) -> None:
    c, history = case
    assert rules.cart_ttl is not None
    now = c.abandoned_at + rules.cart_ttl + past_expiry  # at or after expiry
    assert decide(c, history, rules, now).kind is not Kind.SEND


@PROPERTY_SETTINGS
@given(cases(), flow_rules(), moments, st.booleans())
def test_decide_is_deterministic_never_raises_and_returns_a_consistent_decision(
    case: tuple[Candidate, list[PastDelivery]], rules: FlowRules, now: datetime, suppressed: bool
) -> None:
    c, history = case
    first = decide(c, history, rules, now, suppressed=suppressed)
    assert decide(c, list(history), rules, now, suppressed=suppressed) == first
    if first.kind is Kind.SKIP:
        assert first.reason is not None
        return
    assert first.reason is None
    assert first.step in {s.index for s in rules.steps}
    assert first.due_at is not None
    if first.kind is Kind.SEND:
        assert first.due_at <= now  # SPEC 2.3: due when abandoned_at + delay <= now
        assert first.step not in first.superseded
    else:
        assert first.due_at > now
