"""What shoppers read in their own language (shop/money.py, shop/shopper_language.py) and the `.env` file.

Chromium's agreement with these strings, for every market and locale: e2e/test_shopper_language.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.local_stack import ROOT
from harness.shop_client import ApiShopper
from kco_emulator.testing import ServerNotReady, ServerProcess
from shop.dev_server import load_env_file
from shop.money import format_money
from shop.shopper_language import country_name, language_name


@pytest.mark.parametrize(("locale", "currency", "written"), [
    ("da-DK", "DKK", "1.234,56\u00a0kr."),
    ("nl-NL", "EUR", "€\u00a01.234,56"),
    ("de-CH", "CHF", "CHF\u00a01'234.56"),
    ("fr-CH", "CHF", "1'234.56\u00a0CHF"),  # CLDR's currencyDecimal: 1'234,56 for a plain number
    ("fr-FR", "EUR", "1\u202f234,56\u00a0€"),  # a narrow no-break space groups the thousands
    ("sv-SE", "SEK", "1\u00a0234,56\u00a0kr"),
    ("en-DE", "EUR", "€1,234.56"),  # CLDR's en_150 euro pattern
    ("en-AT", "EUR", "€\u00a01.234,56"),  # en_AT's own
    ("en-GB", "GBP", "£1,234.56"),
])
def test_money_is_written_as_cldr_writes_it_in_the_shoppers_locale(locale, currency, written) -> None:
    assert format_money(123456, currency, locale) == written


def test_money_applies_the_cldr_rules_babel_leaves_out() -> None:
    assert format_money(-123456, "SEK", "sv-SE") == "\u22121\u00a0234,56\u00a0kr"  # the locale's minus sign
    assert format_money(123456, "EUR", "es-ES") == "1234,56\u00a0€"  # minimumGroupingDigits 2
    assert format_money(1234567, "EUR", "es-ES") == "12.345,67\u00a0€"
    assert format_money(100000000, "CHF", "de-CH") == "CHF\u00a01'000'000.00"  # two apostrophes, both kept
    assert format_money(1790, "CHF", "it-CH") == "CHF\u00a017.90"


def test_languages_are_named_in_themselves_and_countries_in_the_shoppers_language() -> None:
    assert [language_name(locale) for locale in ("sv-SE", "de-CH", "fr-CH", "nb-NO", "en-SE")] == [
        "svenska", "Deutsch", "français", "norsk bokmål", "English"]
    assert [country_name("DE", locale) for locale in ("sv-SE", "de-DE", "fr-CH", "en-GB")] == [
        "Tyskland", "Deutschland", "Allemagne", "Germany"]


def test_checkout_page_names_country_and_languages_in_the_shoppers_language(shopper: ApiShopper) -> None:
    shopper.add_to_cart("mug-001")
    page = shopper.open_checkout().text
    assert ">Sverige</option>" in page and ">Tyskland</option>" in page
    assert ">svenska</option>" in page and ">sv-SE</option>" not in page


# --- .env: read by `python app.py` and `make run` (harness/local_stack.py); the environment wins ------------

def test_env_file_fills_in_what_the_environment_lacks_and_never_overrides_it(tmp_path, monkeypatch) -> None:
    # Scratch names, not settings of the shop (so .env.example need not list them).
    both, file_only = "DOTENV_PROBE_BOTH", "DOTENV_PROBE_FILE_ONLY"
    env_file = tmp_path / ".env"
    env_file.write_text(f"{both}=from-file\n{file_only}=from-file\n")
    monkeypatch.setenv(both, "from-environment")
    monkeypatch.delenv(file_only, raising=False)
    load_env_file(env_file)
    assert os.environ.get(both) == "from-environment"
    assert os.environ.get(file_only) == "from-file"
    monkeypatch.delenv(file_only)  # load_dotenv set it outside monkeypatch's bookkeeping


def _shop_in(folder: Path, env: dict[str, str]) -> ServerProcess:
    argv = [sys.executable, str(ROOT / "app.py"), "--port", "0"]
    return ServerProcess("shop", argv, {"INSTANCE_PATH": str(folder / "instance"), **env}, cwd=folder)


def test_python_app_py_reads_dot_env_from_its_working_directory(tmp_path) -> None:
    # Only in the file: its value is used, and this one is not a number of seconds.
    (tmp_path / ".env").write_text("KCO_CONNECT_TIMEOUT=not-a-number\n")
    shop = _shop_in(tmp_path, {"KCO_API_URL": "http://127.0.0.1:9"})
    with pytest.raises(ServerNotReady, match="KCO_CONNECT_TIMEOUT"):
        shop.start()


def test_python_app_py_prefers_the_environment_over_dot_env(tmp_path) -> None:
    (tmp_path / ".env").write_text("KCO_CONNECT_TIMEOUT=not-a-number\n")
    shop = _shop_in(tmp_path, {"KCO_API_URL": "http://127.0.0.1:9", "KCO_CONNECT_TIMEOUT": "3"})
    try:
        assert shop.start().startswith("http://127.0.0.1:")
    finally:
        shop.stop()


def test_make_run_reads_dot_env_before_choosing_the_kco_host(tmp_path, monkeypatch) -> None:
    # A KCO host in .env: harness/local_stack.py starts no emulator, and the shop it starts talks to that
    # host.
    (tmp_path / ".env").write_text("KCO_API_URL=http://127.0.0.1:9\n")
    for name in ("KCO_API_URL", "KCO_ENVIRONMENT", "KCO_REGION"):  # an empty variable is set, and would win
        monkeypatch.delenv(name, raising=False)
    argv = [sys.executable, "-m", "harness.local_stack", "--shop-port", "0", "--emulator-port", "0"]
    env = {"PYTHONPATH": str(ROOT), "INSTANCE_PATH": str(tmp_path / "instance")}
    local_stack = ServerProcess("local stack", argv, env, cwd=tmp_path)
    try:
        local_stack.start()
        assert not any("[emulator]" in line for line in local_stack.output)
    finally:
        local_stack.stop()
