"""The Japanese HTML report speaks Japanese beyond the flows' tables: the holdout comparison,
the A/B tests, the definitions and the skip and attribution reasons (issue 11, point 8)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cartnudge.cli import main
from cartnudge.core.attribution import RULES
from cartnudge.core.rules import SkipReason
from cartnudge.demo.build import DEMO_KEYS, DEMO_KEYS_ENV
from cartnudge.operator.experiments import ARM_HEADERS
from cartnudge.operator.report import DEFINITIONS
from cartnudge.operator.report_ja import (
    DEFINITIONS_JA,
    REASONS_JA,
    figure_label,
    figure_value,
    state_ja,
)

DECISIONS = {"send", "wait", "skip"}  # SkipReason also names the decision kinds


def test_every_definition_reason_and_header_has_its_japanese_text() -> None:
    assert set(DEFINITIONS) <= set(DEFINITIONS_JA)
    reasons = {r.value for r in SkipReason} - DECISIONS
    assert reasons | set(RULES) <= set(REASONS_JA)
    untranslated = [h for h in ARM_HEADERS if figure_label(h) == h and h != "p-value"]
    assert untranslated == []


@pytest.mark.parametrize(
    ("english", "japanese"),
    [
        ("lift (95% CI)", "リフト（95% 信頼区間）"),
        ("incremental revenue (90% CI)", "増分の売上（90% 信頼区間）"),
        ("persons needed to see +5.0 pt", "検出に必要な人数（+5.0 pt）"),
        ("verdict", "判定"),
        ("something new", "something new"),
    ],
)
def test_figure_labels(english: str, japanese: str) -> None:
    assert figure_label(english) == japanese


def test_figure_values_and_states() -> None:
    assert figure_value("1,234 reminded, 137 holdout") == (
        "リマインド 1,234 人、ホールドアウト 137 人"
    )
    assert figure_value("not enough data yet") == "データ不足（集計中）"
    assert figure_value("12.5%") == "12.5%"
    assert state_ja("winner: B") == "勝者：B"
    assert state_ja("stopped, kept A") == "終了（A を継続）"
    assert state_ja("collecting (up to 2,310 more persons per variant)") == (
        "集計中（バリアントごとに最大あと 2,310 人）"
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("ja") / "demo"
    args = ["demo", "--dir", str(directory), "--customers", "300", "--days", "2"]
    result = CliRunner().invoke(main, args, env={DEMO_KEYS_ENV: DEMO_KEYS})
    assert result.exit_code == 0, result.output
    found = re.search(r"--from (\S+) --to (\S+) --by day", result.stdout)
    assert found
    out = {}
    for lang in ("ja", "en"):
        page = directory.parent / f"{lang}.html"
        report = ["report", "--config", str(directory / "config.yaml"), "--from", found[1]]
        report += ["--to", found[2], "--by", "day", "--html", str(page), "--lang", lang]
        done = CliRunner().invoke(main, report)
        assert done.exit_code == 0, done.output
        out[lang] = page.read_text(encoding="utf-8")
    return out


def _text(html: str) -> str:
    """The page's visible words: no tags, no SVG titles' markup."""
    return re.sub(r"<[^>]+>", " ", html)


def test_the_japanese_page_has_no_english_sentences_left(pages: dict[str, str]) -> None:
    ja, en = _text(pages["ja"]), _text(pages["en"])
    # The demo runs a holdout and an A/B test: both sections are on the page.
    assert "reminded vs holdout" in en and "A/B test" in en
    assert "リマインド vs ホールドアウト" in ja and "A/B テスト" in ja
    for english in (
        "reminded vs holdout",
        "A/B test ",
        "verdict",
        "reminded persons",
        "Recovery rate by",
        "all shoppers since it started",
        "whenever they were reminded or bought",
        "messages sent (delivery rows with status sent)",
    ):
        assert english not in ja, english
    assert "判定" in ja and "各数値の意味" in ja
    assert DEFINITIONS_JA["sent"] in ja


def test_the_english_page_stays_english(pages: dict[str, str]) -> None:
    en = _text(pages["en"])
    assert "判定" not in en and "リマインド vs" not in en
    assert DEFINITIONS["sent"] in en


def test_skip_reasons_carry_their_gloss_on_the_japanese_page(pages: dict[str, str]) -> None:
    ja = _text(pages["ja"])
    glossed = re.findall(r"対象外: (\w+)（([^）]+)）", ja)
    assert glossed, "the demo skips some carts"
    assert all(REASONS_JA[code] == gloss for code, gloss in glossed)
