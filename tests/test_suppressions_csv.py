"""suppressions import: the CSV files Excel writes in Japan (UTF-8 with or without BOM, UTF-16,
Shift_JIS/CP932), each channel's addresses (e-mail, phone numbers as E.164, push tokens), and
rejected rows reported masked with their line number."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cartnudge.cli import main
from cartnudge.operator.csvfiles import decode_csv
from tests.conftest import base_config, write_config
from tests.shop import ShopBuilder

ROWS = "address,reason\r\nhanako@example.jp,配信停止希望\r\ntaro@localhost,苦情\r\n"


@pytest.fixture
def config_path(sqlite_shop: ShopBuilder, tmp_path: Path) -> Path:
    return write_config(tmp_path, base_config(sqlite_shop.url, tmp_path))


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (ROWS.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + ROWS.encode("utf-8"), "utf-8-sig"),
        (ROWS.encode("utf-16"), "utf-16"),  # with its BOM, as Excel writes it
        (ROWS.encode("utf-16-le"), "utf-16-le"),
        (ROWS.encode("cp932"), "cp932"),  # Excel's "CSV (comma delimited)" in Japan
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-le-no-bom", "shift_jis-cp932"],
)
def test_each_encoding_is_detected_and_imported_with_its_japanese_reason(
    config_path: Path, tmp_path: Path, data: bytes, detected: str
) -> None:
    assert decode_csv(data) == (ROWS, detected)
    csv_path = tmp_path / "optouts.csv"
    csv_path.write_bytes(data)
    result = cli("suppressions", "import", "--config", str(config_path), str(csv_path))
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 1, already there 0, invalid 1\n"
    # The rejected row: its line number, the address masked.
    assert result.stderr == f"{csv_path}:3: not an e-mail address: 't***@localhost' (skipped)\n"
    listed = cli("suppressions", "list", "--config", str(config_path), "--format", "json")
    assert "配信停止希望" in listed.stdout


def test_excels_tab_separated_unicode_text_is_read_too(config_path: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "optouts.txt"
    csv_path.write_bytes("address\treason\r\nhanako@example.jp\t苦情\r\n".encode("utf-16"))
    result = cli("suppressions", "import", "--config", str(config_path), str(csv_path))
    assert (result.exit_code, result.stdout) == (0, "imported 1, already there 0, invalid 0\n")


def test_a_wrong_encoding_is_refused_naming_the_file(config_path: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "optouts.csv"
    csv_path.write_bytes(ROWS.encode("cp932"))
    args = ["--config", str(config_path), "--encoding", "utf-8", str(csv_path)]
    result = cli("suppressions", "import", *args)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"cartnudge: error: {csv_path}: not utf-8 (byte ")


def test_phone_numbers_are_imported_as_e164_and_an_invalid_one_is_masked(
    config_path: Path, tmp_path: Path
) -> None:
    csv_path = tmp_path / "phones.csv"
    csv_path.write_bytes(
        "address\r\n090-1234-5678\r\n０８０ １２３４ ５６７８\r\n0312\r\n".encode("cp932")
    )
    args = ["--config", str(config_path), "--channel", "sms", str(csv_path)]
    result = cli("suppressions", "import", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 2, already there 0, invalid 1\n"
    assert result.stderr == f"{csv_path}:4: not a phone number: '0312' (skipped)\n"
    listed = cli("suppressions", "list", "--config", str(config_path), "--format", "json")
    assert "+819012345678" in listed.stdout and "+818012345678" in listed.stdout
    assert "090-1234-5678" not in listed.stdout


def test_push_tokens_keep_their_case_and_an_address_is_not_a_token(
    config_path: Path, tmp_path: Path
) -> None:
    csv_path = tmp_path / "tokens.csv"
    csv_path.write_text("address\nfcmTOKEN:abc_DEF-123\nhanako@example.jp\n", encoding="utf-8")
    args = ["--config", str(config_path), "--channel", "push", str(csv_path)]
    result = cli("suppressions", "import", *args)
    assert result.stdout == "imported 1, already there 0, invalid 1\n"
    assert result.stderr == f"{csv_path}:3: not a push token: 'h***@example.jp' (skipped)\n"
    listed = cli("suppressions", "list", "--config", str(config_path), "--format", "json")
    assert "fcmTOKEN:abc_DEF-123" in listed.stdout
