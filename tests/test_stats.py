"""SPEC 2.9 in numbers: what a flow's reminders add, against its holdout.

Three kinds of test:

- tables of the formulas against published values (Newcombe 1998) or arithmetic written next
  to them (z = 1.959964 is the 97.5 % normal quantile, z_0.8 = 0.841621);
- exact enumerations over the binomial distribution where they are cheap (coverage and power
  of the fixed-sample holdout comparison: no Monte-Carlo noise at all);
- seeded simulations where only simulation can tell (revenue, with skewed amounts). Each
  uses ``random.Random(seed)`` and an exact binomial sampler, so every run draws the same
  numbers; Monte-Carlo bounds are written with the standard error next to them.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartnudge.core.stats import (
    GroupCounts,
    Interval,
    LiftVerdict,
    SampleSize,
    compare_holdout,
    katz_ratio_interval,
    newcombe_interval,
    required_sample_size,
    two_proportion_p_value,
    wilson_interval,
)

PROPERTIES = settings(max_examples=200, deadline=None, database=None, derandomize=True)


# --- an exact binomial sampler and pmf for the simulations -----------------------------------
# Python 3.11 has no random.binomialvariate (3.12) and the project does not need numpy. BINV
# (inversion: walk the pmf from 0, P(x)/P(x-1) = ((n+1)/x - 1) p/q) is exact and costs O(n p)
# per draw; n is cut into chunks of n p <= 100 so that q^n cannot underflow.


def binomial(rng: random.Random, n: int, p: float) -> int:
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    if n == 0 or p == 0.0:
        return 0
    chunk = max(1, int(100 / p))
    total = 0
    while n > 0:
        m = min(n, chunk)
        n -= m
        q = 1.0 - p
        s, a = p / q, (m + 1) * p / q
        probability, u, x = q**m, rng.random(), 0
        while u > probability and x < m:
            u -= probability
            x += 1
            probability *= a / x - s
        total += x
    return total


def binomial_pmf(n: int, p: float, floor: float = 1e-13) -> list[tuple[int, float]]:
    """(x, P(X = x)) for the x whose probability is above ``floor`` (the rest sums to < 1e-9)."""
    log_p, log_q = math.log(p), math.log1p(-p)
    out = []
    for x in range(n + 1):
        log_pmf = (
            math.lgamma(n + 1) - math.lgamma(x + 1) - math.lgamma(n - x + 1)
            + x * log_p + (n - x) * log_q
        )  # fmt: skip
        if log_pmf > math.log(floor):
            out.append((x, math.exp(log_pmf)))
    return out


def test_the_sampler_draws_binomial_numbers() -> None:
    rng = random.Random(0)
    draws = [binomial(rng, 3000, 0.05) for _ in range(4000)]
    # Binomial(3000, 0.05): mean 150, variance 3000 * 0.05 * 0.95 = 142.5. Standard error of the
    # mean of 4000 draws sqrt(142.5 / 4000) = 0.19; of the variance about 142.5 sqrt(2/4000) = 4.5.
    assert statistics.fmean(draws) == pytest.approx(150, abs=4 * 0.19)
    assert statistics.variance(draws) == pytest.approx(142.5, abs=4 * 4.5)
    assert binomial(rng, 10, 1.0) == 10 and binomial(rng, 10, 0.0) == 0


# --- formulas against published values and hand arithmetic -----------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison
        # of seven methods", Stat Med 17:857-872, Table I, method 3 (Wilson score, no correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_the_wilson_interval_matches_newcombes_table(
    successes: int, n: int, low: float, high: float
) -> None:
    interval = wilson_interval(successes, n)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


@pytest.mark.parametrize(
    ("a", "n_a", "b", "n_b", "low", "high"),
    [
        # Newcombe (1998), "Interval estimation for the difference between independent
        # proportions: comparison of eleven methods", Stat Med 17:873-890, Table II, method 10.
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)
def test_the_lift_interval_matches_newcombes_method_10(
    a: int, n_a: int, b: int, n_b: int, low: float, high: float
) -> None:
    interval = newcombe_interval(a, n_a, b, n_b)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def test_the_relative_lift_interval_is_katzs_log_interval() -> None:
    # 80/1000 against 50/1000: ratio 0.08 / 0.05 = 1.6, ln 1.6 = 0.470004;
    # se = sqrt(1/80 - 1/1000 + 1/50 - 1/1000) = sqrt(0.0305) = 0.174642;
    # exp(0.470004 -+ 1.959964 * 0.174642) = exp(0.127712), exp(0.812296) = 1.136224, 2.253077.
    interval = katz_ratio_interval(80, 1000, 50, 1000)
    assert interval == Interval(pytest.approx(1.136224), pytest.approx(2.253077))
    # No recovery in a group: the ratio's log is infinite, and no interval is invented.
    assert katz_ratio_interval(3, 100, 0, 100) is None
    assert katz_ratio_interval(0, 100, 3, 100) is None


def test_the_p_value_is_the_pooled_two_sided_z_test() -> None:
    # Pooled rate (80 + 50) / 2000 = 0.065; se = sqrt(0.065 * 0.935 * (1/1000 + 1/1000))
    # = 0.011025; z = 0.03 / 0.011025 = 2.721095; p = 2 (1 - Phi(2.721095)) = 0.006507.
    assert two_proportion_p_value(80, 1000, 50, 1000) == pytest.approx(0.006507, abs=1e-6)
    assert two_proportion_p_value(50, 1000, 50, 1000) == 1.0
    assert two_proportion_p_value(0, 10, 0, 20) == 1.0  # nobody recovered: no evidence


@pytest.mark.parametrize(
    ("baseline", "effect", "ratio", "expected"),
    [
        # r = 1: pbar = 0.065; [1.959964 sqrt(2 * 0.065 * 0.935) + 0.841621 sqrt(0.05 * 0.95 +
        # 0.08 * 0.92)]^2 / 0.03^2 = (0.683325 + 0.292880)^2 / 0.0009 = 1058.9 -> 1059 each.
        (0.05, 0.03, 1.0, SampleSize(1059, 1059)),
        # A 10 % holdout, r = 0.1 / 0.9 = 1/9: pbar = (0.08 + 0.05/9) / (10/9) = 0.077;
        # [1.959964 sqrt(10/9 * 0.077 * 0.923) + 0.841621 sqrt(0.0736/9 + 0.0475)]^2 / (0.0009/9)
        # = (0.550767 + 0.198590)^2 / 0.0001 = 5615.4 -> 5616 reminded, 5616/9 = 624 held out.
        (0.05, 0.03, 1 / 9, SampleSize(5616, 624)),
        # Half the effect, about four times the persons: pbar = 0.0575;
        # [1.959964 sqrt(2 * 0.0575 * 0.9425) + 0.841621 sqrt(0.065 * 0.935 + 0.05 * 0.95)]^2
        # / 0.015^2 = (0.645264 + 0.276937)^2 / 0.000225 = 3779.8 -> 3780 each.
        (0.05, 0.015, 1.0, SampleSize(3780, 3780)),
    ],
)
def test_the_sample_size_is_fleiss_tytun_ury_without_correction(
    baseline: float, effect: float, ratio: float, expected: SampleSize
) -> None:
    assert required_sample_size(baseline, effect, control_ratio=ratio) == expected


# --- the holdout comparison ------------------------------------------------------------------


def test_a_clear_lift_at_the_planned_sample_says_lift_with_all_its_figures() -> None:
    # 5616 reminded persons with 480 recovered (8.547 %), 624 held out with 31 (4.968 %).
    reminded = GroupCounts(5616, 480, revenue=480 * 6000, revenue_squares=480 * 6000**2)
    holdout = GroupCounts(624, 31, revenue=31 * 6000, revenue_squares=31 * 6000**2)
    result = compare_holdout(reminded, holdout, min_effect=0.03, baseline=0.05, holdout_share=0.1)

    assert result.verdict is LiftVerdict.LIFT
    assert result.needed == SampleSize(5616, 624)  # the table above
    assert result.still_needed == SampleSize(0, 0)
    lift = 480 / 5616 - 31 / 624  # 0.085470 - 0.049679 = 0.035791
    assert result.lift == pytest.approx(lift)
    assert result.lift_ci == newcombe_interval(480, 5616, 31, 624)
    assert result.lift_ci is not None and result.lift_ci.low > 0
    assert result.relative_lift == pytest.approx((480 / 5616) / (31 / 624) - 1)  # +72.0 %
    ratio = katz_ratio_interval(480, 5616, 31, 624)
    assert ratio is not None
    assert result.relative_lift_ci == Interval(ratio.low - 1, ratio.high - 1)
    assert result.p_value == two_proportion_p_value(480, 5616, 31, 624)
    # Incremental orders: 0.035791 * 5616 = 201.0 persons who would not have come back.
    assert result.incremental_orders == pytest.approx(lift * 5616)
    assert result.incremental_orders_ci == result.lift_ci.times(5616)
    # Every recovered person spent 6000: revenue per person = 6000 * rate, so the revenue lift
    # is 6000 * 0.035791 = 214.75 per person and 214.75 * 5616 = 1.206e6 in all.
    assert result.revenue_per_person_lift == pytest.approx(6000 * lift)
    assert result.incremental_revenue == pytest.approx(6000 * lift * 5616)


def test_the_revenue_interval_uses_means_and_variances_from_sums() -> None:
    # Reminded: per-person revenue 0, 0, 3000, 5000 -> n 4, sum 8000, squares 3.4e7; mean 2000,
    # s^2 = (4 * 3.4e7 - 8000^2) / (4 * 3) = 6e6. Holdout: 0, 0, 3000 -> n 3, sum 3000,
    # squares 9e6; mean 1000, s^2 = (3 * 9e6 - 3000^2) / (3 * 2) = 3e6.
    # Difference 1000, se = sqrt(6e6/4 + 3e6/3) = sqrt(2.5e6) = 1581.139;
    # 1000 -+ 1.959964 * 1581.139 = -2098.98, 4098.98; times 4 reminded persons: 4000 etc.
    reminded = GroupCounts(4, 2, revenue=8000, revenue_squares=34_000_000)
    holdout = GroupCounts(3, 1, revenue=3000, revenue_squares=9_000_000)
    assert statistics.variance([0, 0, 3000, 5000]) == 6e6  # the same thing from the values
    result = compare_holdout(reminded, holdout, min_effect=0.1)
    assert result.revenue_per_person_lift == 1000
    assert result.revenue_per_person_lift_ci == Interval(
        pytest.approx(-2098.98, abs=0.01), pytest.approx(4098.98, abs=0.01)
    )
    assert result.incremental_revenue == 4000
    assert result.incremental_revenue_ci == result.revenue_per_person_lift_ci.times(4)


def test_integer_revenue_sums_do_not_cancel_however_large() -> None:
    # Three persons at 10^12 + 1, + 2, + 3 yen: variance exactly 1. In floats, n * squares and
    # sum^2 (about 9e24) agree to 16 digits and their difference, 6, would be lost.
    values = [10**12 + 1, 10**12 + 2, 10**12 + 3]
    group = GroupCounts(3, 3, revenue=sum(values), revenue_squares=sum(v * v for v in values))
    result = compare_holdout(group, group, min_effect=0.1)
    # Difference 0, se = sqrt(1/3 + 1/3) = 0.816497: the interval is 0 -+ 1.600304.
    assert result.revenue_per_person_lift_ci == Interval(
        pytest.approx(-1.600304), pytest.approx(1.600304)
    )


@pytest.mark.parametrize(
    ("reminded", "holdout", "verdict"),
    [
        # 8.5 % against 5.0 % at the planned sample: see the test above.
        ((5616, 480), (624, 31), LiftVerdict.LIFT),
        # 5.0 % against 5.0 %: the interval straddles 0.
        ((5616, 281), (624, 31), LiftVerdict.NO_CLEAR_LIFT),
        # 2.0 % against 8.0 %: the reminders lose recoveries (say, they annoy).
        ((5616, 112), (624, 50), LiftVerdict.NEGATIVE_LIFT),
        # A striking lift, but the holdout has 100 of its 624 persons: not enough data yet.
        ((900, 90), (100, 1), LiftVerdict.NOT_ENOUGH_DATA),
    ],
)
def test_the_verdict_follows_the_interval_once_the_plan_is_reached(
    reminded: tuple[int, int], holdout: tuple[int, int], verdict: LiftVerdict
) -> None:
    result = compare_holdout(
        GroupCounts(*reminded), GroupCounts(*holdout), min_effect=0.03, baseline=0.05,
        holdout_share=0.1,
    )  # fmt: skip
    assert result.verdict is verdict


def test_not_enough_data_says_how_many_persons_each_group_still_needs() -> None:
    result = compare_holdout(
        GroupCounts(900, 90), GroupCounts(100, 1), min_effect=0.03, baseline=0.05,
        holdout_share=0.1,
    )  # fmt: skip
    assert result.verdict is LiftVerdict.NOT_ENOUGH_DATA
    assert result.needed == SampleSize(5616, 624)
    assert result.still_needed == SampleSize(5616 - 900, 624 - 100)
    assert result.lift == pytest.approx(0.09)  # the figures are there all the same


def test_without_a_baseline_the_plan_uses_the_pooled_rate_and_observed_ratio() -> None:
    # Pooled rate (80 + 10) / (900 + 100) = 0.09; observed ratio 100 / 900 = 1/9.
    result = compare_holdout(GroupCounts(900, 80), GroupCounts(100, 10), min_effect=0.03)
    assert result.needed == required_sample_size(0.09, 0.03, control_ratio=100 / 900)


def test_figures_the_data_cannot_give_are_none() -> None:
    empty = compare_holdout(GroupCounts(0, 0), GroupCounts(0, 0), min_effect=0.03)
    assert empty.verdict is LiftVerdict.NOT_ENOUGH_DATA
    assert (empty.needed, empty.still_needed, empty.lift, empty.lift_ci) == (None,) * 4
    assert (empty.reminded_rate, empty.holdout_rate, empty.incremental_revenue) == (None,) * 3

    no_holdout_recovery = compare_holdout(GroupCounts(500, 40), GroupCounts(50, 0), min_effect=0.03)
    assert no_holdout_recovery.relative_lift is None
    assert no_holdout_recovery.relative_lift_ci is None
    assert no_holdout_recovery.lift == pytest.approx(0.08)  # 40/500 - 0/50


@pytest.mark.parametrize(
    "call",
    [
        lambda: wilson_interval(1, 0),
        lambda: wilson_interval(5, 4),
        lambda: wilson_interval(1, 10, confidence=1.0),
        lambda: newcombe_interval(1, 10, 0, 0),
        lambda: two_proportion_p_value(-1, 10, 0, 10),
        lambda: required_sample_size(0.05, 0.0),
        lambda: required_sample_size(0.99, 0.03),
        lambda: required_sample_size(0.05, 0.03, control_ratio=0.0),
        lambda: required_sample_size(0.05, 0.03, power=1.0),
        lambda: compare_holdout(GroupCounts(10, 1), GroupCounts(10, 1), min_effect=0.0),
        lambda: compare_holdout(GroupCounts(10, 11), GroupCounts(10, 1), min_effect=0.03),
        lambda: compare_holdout(
            GroupCounts(2, 2, revenue=100, revenue_squares=10), GroupCounts(2, 0), min_effect=0.1
        ),
    ],
)
def test_impossible_inputs_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


# --- the fixed-sample holdout comparison: exact coverage and power -----------------------------


@pytest.mark.parametrize(
    ("n_reminded", "n_holdout", "p_reminded", "p_holdout"),
    [
        (5616, 624, 0.08, 0.05),  # the planned 10 % holdout for 3 points on 5 %
        (1000, 1000, 0.08, 0.05),
        (300, 100, 0.08, 0.05),  # a small shop: the holdout expects 5 recoveries
        (900, 100, 0.05, 0.05),  # reminders that do nothing
        (200, 200, 0.30, 0.20),
    ],
)
def test_the_lift_intervals_cover_the_true_lift_95_percent_of_the_time(
    n_reminded: int, n_holdout: int, p_reminded: float, p_holdout: float
) -> None:
    # Exact: the sum over every outcome (x_r, x_h) of P(x_r) P(x_h) when the interval covers.
    # The relative-lift interval is only given with recoveries in both groups; its coverage is
    # conditional on that. Measured: 0.950 to 0.957 (lift), 0.952 to 0.968 (relative).
    covered = covered_relative = given_relative = 0.0
    true_ratio = p_reminded / p_holdout
    for x_h, w_h in binomial_pmf(n_holdout, p_holdout):
        for x_r, w_r in binomial_pmf(n_reminded, p_reminded):
            weight = w_r * w_h
            if p_reminded - p_holdout in newcombe_interval(x_r, n_reminded, x_h, n_holdout):
                covered += weight
            ratio = katz_ratio_interval(x_r, n_reminded, x_h, n_holdout)
            if ratio is not None:
                given_relative += weight
                covered_relative += weight * (true_ratio in ratio)
    assert 0.93 <= covered <= 0.97
    assert 0.93 <= covered_relative / given_relative <= 0.97


@pytest.mark.parametrize("share", [0.5, 0.1])
def test_the_needed_sample_size_gives_the_promised_power(share: float) -> None:
    # Exact power of the verdict LIFT at the sample size the report prints as needed.
    # Measured: 0.8018 (1059 + 1059) and 0.8005 (5616 + 624). Not more than 0.85 either: the
    # printed figure is not padded.
    needed = required_sample_size(0.05, 0.03, control_ratio=share / (1 - share))
    power = 0.0
    for x_h, w_h in binomial_pmf(needed.control, 0.05):
        for x_r, w_r in binomial_pmf(needed.treated, 0.08):
            if newcombe_interval(x_r, needed.treated, x_h, needed.control).low > 0:
                power += w_r * w_h
    assert 0.80 <= power <= 0.85


def test_the_holdout_intervals_cover_in_simulation_revenue_included() -> None:
    # 2000 simulated periods of the planned 10 % holdout (5616 + 624), recovery rates 8 % and
    # 5 %, each recovered person spending a log-normal amount (median 5000 yen, sigma 0.6, mean
    # 5000 e^0.18 = 5986). True revenue lift per person: 0.03 * 5986 = 179.6 yen.
    # Measured: lift 0.953, revenue 0.936 (the revenue interval is a large-sample one: with
    # ~31 recovered persons in the holdout it covers a little less than 95 %).
    # Bounds: 0.95 -+ 4 standard errors of sqrt(0.95 * 0.05 / 2000) = 0.0049.
    rng, runs = random.Random(20260707), 2000
    mu, sigma = math.log(5000), 0.6
    true_revenue_lift = 0.03 * math.exp(mu + sigma**2 / 2)
    lift_covered = revenue_covered = 0
    for _ in range(runs):
        groups = []
        for persons, rate in ((5616, 0.08), (624, 0.05)):
            amounts = [rng.lognormvariate(mu, sigma) for _ in range(binomial(rng, persons, rate))]
            groups.append(
                GroupCounts(persons, len(amounts), sum(amounts), sum(a * a for a in amounts))
            )
        result = compare_holdout(*groups, min_effect=0.03)
        assert result.lift_ci is not None and result.incremental_revenue_ci is not None
        lift_covered += 0.03 in result.lift_ci
        revenue_covered += true_revenue_lift * 5616 in result.incremental_revenue_ci
    assert 0.93 <= lift_covered / runs <= 0.97
    assert 0.93 <= revenue_covered / runs <= 0.97


# --- properties ----------------------------------------------------------------------------------

counts = st.integers(min_value=1, max_value=5000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
confidences = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@PROPERTIES
@given(counts, counts, confidences)
def test_the_lift_interval_holds_the_estimate_and_stays_within_plus_minus_one(
    a: tuple[int, int], b: tuple[int, int], confidence: float
) -> None:
    interval = newcombe_interval(a[0], a[1], b[0], b[1], confidence)
    assert -1.0 <= interval.low <= a[0] / a[1] - b[0] / b[1] <= interval.high <= 1.0
    wider = newcombe_interval(a[0], a[1], b[0], b[1], 0.999)
    assert wider.low <= interval.low and interval.high <= wider.high
