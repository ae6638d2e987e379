"""Every table the CLI prints, drawn at 80 and 120 columns, keeps each e-mail address, date,
number and header word whole on one line, and right-aligns its numbers with thousands
separators (issue 11, point 7).

Each command runs against a small demo shop with ``COLUMNS`` set, as on a terminal of that
width. ``print_table`` is wrapped to learn what each table was given (the cells, the columns
it showed), and the printed text is then checked against that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from cartnudge.cli import main, tabular
from cartnudge.demo.build import DEMO_KEYS, DEMO_KEYS_ENV

WIDTHS = (80, 120)
LONG_ADDRESS = "someone.with.a.rather.long.name@example.co.jp"


@dataclass
class Drawn:
    """One call of print_table: its columns, cells (as shown) and the columns it showed."""

    cols: list[tabular.Col]
    cells: list[list[str]]
    shown: list[tabular.Col] = field(default_factory=list)


@dataclass
class Demo:
    config: Path
    first: str
    last: str
    outputs: dict[int, str]  # the demo's own output at each width


def _run_demo(directory: Path, width: int) -> str:
    result = CliRunner().invoke(
        main,
        ["demo", "--dir", str(directory), "--customers", "300", "--days", "2", "--force"],
        env={"COLUMNS": str(width), DEMO_KEYS_ENV: DEMO_KEYS},
    )
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    directory = tmp_path_factory.mktemp("tables") / "demo"
    outputs = {width: _run_demo(directory, width) for width in WIDTHS}
    found = re.search(r"--from (\S+) --to (\S+) --by day", outputs[80])
    assert found, outputs[80]
    config = directory / "config.yaml"
    added = CliRunner().invoke(main, ["suppressions", "add", "--config", str(config), LONG_ADDRESS])
    assert added.exit_code == 0, added.output
    return Demo(config, found[1], found[2], outputs)


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Drawn]]:
    calls: list[Drawn] = []
    real = tabular.print_table

    def spy(console, cols, rows, **kwargs):  # type: ignore[no-untyped-def]
        rows = [list(row) for row in rows]
        call = Drawn(
            list(cols),
            [[tabular.cell_text(v, c.kind) for v, c in zip(r, cols, strict=True)] for r in rows],
        )
        calls.append(call)
        call.shown = real(console, cols, rows, **kwargs)
        return call.shown

    monkeypatch.setattr(tabular, "print_table", spy)
    for module in ("report", "output", "experiments", "setup"):
        monkeypatch.setattr(f"cartnudge.cli.{module}.print_table", spy, raising=False)
    yield calls


def check_tables(output: str, calls: list[Drawn], width: int) -> None:
    """What a reader of ``output`` at ``width`` columns must see."""
    assert calls, "no table was drawn"
    lines = output.splitlines()
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, f"lines wider than {width} columns: {too_wide[:3]}"
    assert "…" not in output, "a cell was cut short"
    for call in calls:
        shown = [i for i, col in enumerate(call.cols) if col in call.shown]
        assert shown, "every column was left out"
        words = [word for i in shown for word in call.cols[i].header.split()]
        words += [word for row in call.cells for i in shown for word in row[i].split()]
        for word in words:  # whole on one line somewhere: not folded, not cut
            assert any(word in line for line in lines), f"{word!r} is not whole on any line"
        for row in call.cells:
            for i in shown:
                col, text = call.cols[i], row[i]
                if col.kind == "number" and text:
                    assert not re.search(r"(?<![.\d])\d{4,}", text), f"{text!r}: no separators"
                    _assert_right_aligned(lines, col.header, text)
                elif col.kind not in ("prose", "number", "id") and text:
                    # one line cells: the whole text on one line
                    assert any(text in line for line in lines), f"{text!r} is folded"


def _assert_right_aligned(lines: list[str], header: str, text: str) -> None:
    number = re.escape(text)
    in_table = re.compile(rf"[│┃ ]\s*{number} [│┃]")  # one space from the border
    in_block = re.compile(rf"{re.escape(header)}\s+{number}")  # vertical: at the line's end
    assert any(in_table.search(line) or in_block.fullmatch(line) for line in lines), (
        f"{text!r} ({header}) is not right-aligned"
    )


def commands(demo: Demo) -> dict[str, list[str]]:
    config = ["--config", str(demo.config)]
    period = ["--from", demo.first, "--to", demo.last]
    return {
        "report by day": ["report", *config, *period, "--by", "day", "--format", "table"],
        "report": ["report", *config, *period, "--format", "table"],
        "experiments": ["experiments", *config],
        "search": ["search", *config, "--from", demo.first, "--format", "table", "--limit", "20"],
        "search every column": [
            "search",
            *config,
            "--format",
            "table",
            "--limit",
            "5",
            "--columns",
            "customer_id,name,email,status,consent,abandoned,abandoned_date,abandoned_amount,"
            "flow,order_id,last_reminder,recovered",
        ],  # fmt: skip
        "search orders": ["search", *config, "--orders", "--format", "table", "--limit", "20"],
        "suppressions list": ["suppressions", "list", *config, "--format", "table"],
        "templates list": ["templates", "list", *config, "--format", "table"],
        "sweep summary": ["sweep", *config, "--dry-run"],
    }


NAMES = list(commands(Demo(Path("x"), "a", "b", {})))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", NAMES)
def test_each_table_fits_the_terminal_without_cutting_a_word(
    demo: Demo, drawn: list[Drawn], name: str, width: int
) -> None:
    args = commands(demo)[name]
    result = CliRunner().invoke(main, args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    check_tables(result.stdout, drawn, width)
    if name == "suppressions list":
        assert any(LONG_ADDRESS in line for line in result.stdout.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
def test_the_demo_summary_fits_the_terminal(demo: Demo, width: int) -> None:
    out = demo.outputs[width]
    lines = out.splitlines()
    table = [line for line in lines if line[:1] in "┏┃┡│├└"]
    assert table and all(cell_len(line) <= width for line in table)
    days = [line for line in lines if re.match(r"│ \d{4}-\d\d-\d\d │", line)]
    assert len(days) == 3  # two days played, three local days touched
    total = next(line for line in lines if line.startswith("│ total"))
    assert re.search(r"│ +¥[\d,]+ │$", total)  # revenue right-aligned


def test_report_by_day_shows_whole_dates_at_80_columns(demo: Demo) -> None:
    args = commands(demo)["report by day"]
    result = CliRunner().invoke(main, args, env={"COLUMNS": "80"})
    dates = re.findall(r"^│ (\d{4}-\d\d-\d\d) +│", result.stdout, re.MULTILINE)
    assert dates[0] == demo.first and demo.last in dates
    assert "not shown at 80 columns: skipped, targeted" in result.stdout


def test_a_table_too_wide_even_without_its_optional_columns_is_shown_row_by_row() -> None:
    import io

    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=50, highlight=False)
    cols = [tabular.Col("e-mail address"), tabular.Col("amount", "number"), tabular.Col("day")]
    rows = [["a.long.address@example.co.jp", 12345, "2026-11-29"], ["b@example.jp", 5, None]]
    shown = tabular.print_table(console, cols, rows)
    assert shown == cols
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    assert lines == [
        "e-mail address  a.long.address@example.co.jp",
        "amount                                12,345",
        "day             2026-11-29",
        "",
        "e-mail address  b@example.jp",
        "amount                                     5",
        "day",
    ]
