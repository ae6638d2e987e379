"""The HTML report opened in a real headless browser (Chromium from Debian's packages, driven by
Selenium through /usr/bin/chromedriver, tests/browser.py): what a shop owner sees (issue 11,
point 8).

One browser for the module. Without Chromium the tests are skipped, or fail when
CARTNUDGE_REQUIRE_REAL_DBS=1 (CI: ``.ci/run`` installs it). With
CARTNUDGE_REPORT_SCREENSHOT=PATH the demo's page is also saved there (how docs/report-demo.png
was made).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cartnudge.cli import main
from cartnudge.demo.build import DEMO_KEYS, DEMO_KEYS_ENV
from tests.browser import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    directory = tmp_path_factory.mktemp("browser") / "demo"
    args = ["demo", "--dir", str(directory), "--customers", "300", "--days", "3"]
    result = CliRunner().invoke(main, args, env={DEMO_KEYS_ENV: DEMO_KEYS})
    assert result.exit_code == 0, result.output
    found = re.search(r"--from (\S+) --to (\S+) --by day", result.stdout)
    assert found
    return directory / "config.yaml", ["--from", found[1], "--to", found[2], "--by", "day"]


def _page(demo: tuple[Path, list[str]], path: Path, *extra: str) -> Path:
    config, period = demo
    args = ["report", "--config", str(config), *period, "--html", str(path), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return path


BARS = """
return Array.from(document.querySelectorAll('#flow-confirm svg.chart [data-figure]')).map(
  e => [e.dataset.bucket, e.dataset.figure, Number(e.dataset.value),
        e.getBoundingClientRect().height]);
"""
TABLE = """
const t = document.querySelector('#flow-confirm table.series');
return Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.innerText.trim()));
"""
DATE_LINES = """
return Array.from(document.querySelectorAll('table.series td:first-child')).map(c => {
  const range = document.createRange(); range.selectNodeContents(c);
  return [c.innerText, new Set(Array.from(range.getClientRects()).map(r => r.top)).size];
});
"""


def test_the_japanese_shops_page_names_the_shop_and_templates_and_its_chart_matches_the_table(
    browser: Any, demo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    page = _page(demo, tmp_path / "report.html")
    browser.get(page.as_uri())
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("CARTNUDGE_REPORT_SCREENSHOT"):
        browser.set_window_size(1200, 2300)
        browser.save_screenshot(os.environ["CARTNUDGE_REPORT_SCREENSHOT"])

    assert browser.execute_script("return document.documentElement.lang") == "ja"
    heading = browser.find_element("css selector", "h1").text
    assert heading.startswith("みどり屋") or "カゴ落ちリマインド レポート" in heading
    body = browser.find_element("css selector", "body").text
    assert "確認画面離脱" in body and "リカバリー率" in body
    assert re.search(r"140001 カゴ落ちメール（確認画面離脱）", body)  # the template by name

    table = browser.execute_script(TABLE)
    header, rows = table[0], table[1:]
    column = {name: header.index(name) for name in ("カゴ落ち", "リマインド済み", "リカバリー")}
    figures = {"abandoned": "カゴ落ち", "reminded": "リマインド済み", "recovered": "リカバリー"}
    bars = browser.execute_script(BARS)
    by_bucket = {(b, f): (v, h) for b, f, v, h in bars}
    assert len(rows) >= 3 and {b for b, _f, _v, _h in bars} == {r[0] for r in rows}
    unit = None
    for row in rows:
        for figure, name in figures.items():
            value, height = by_bucket[(row[0], figure)]
            assert value == int(row[column[name]].replace(",", "")), (row[0], figure)
            if value:  # bar heights are proportional to the figures the table shows
                unit = unit or height / value
                assert height == pytest.approx(unit * value, abs=1.0)
            else:
                assert height == 0
        revenue = by_bucket[(row[0], "revenue")][0]
        assert f"¥{revenue:,}" == row[header.index("リカバリー売上")]
    svg = browser.find_element("css selector", "#flow-confirm svg.chart")
    texts = [e.text for e in svg.find_elements("css selector", "text.axis-title")]
    assert texts == ["件", "日", "リカバリー売上 (¥)"]  # labelled axes, the revenue one right
    assert len(svg.find_elements("css selector", "line.grid")) >= 3  # gridlines
    for text, lines in browser.execute_script(DATE_LINES):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", text) and lines == 1  # a date never wraps


def test_lang_en_writes_the_page_in_english(
    browser: Any, demo: tuple[Path, list[str]], tmp_path: Path
) -> None:
    page = _page(demo, tmp_path / "en.html", "--lang", "en")
    browser.get(page.as_uri())
    assert browser.execute_script("return document.documentElement.lang") == "en"
    body = browser.find_element("css selector", "body").text
    assert "confirm flow" in body and "recovery rate (recovered ÷ reminded orders)" in body
    svg = browser.find_element("css selector", "#flow-confirm svg.chart")
    texts = [e.text for e in svg.find_elements("css selector", "text.axis-title")]
    assert texts == ["orders", "day", "revenue (¥)"]
