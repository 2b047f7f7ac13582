"""The shop's settings fail fast, naming the variable, when KCO could not reach the shop's callbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from shop.settings import Settings, SettingsError

REAL_KCO = {"KCO_ENVIRONMENT": "playground", "KCO_API_KEY": "kco_test_api_x",
            "KCO_SNIPPET_ORIGINS": "https://js.example.com", "SECRET_KEY": "x"}


@pytest.mark.parametrize("public_base_url", [None, "", "http://shop.example.com"])
def test_a_real_kco_host_requires_an_https_public_base_url(tmp_path: Path,
                                                           public_base_url: str | None) -> None:
    environ = {**REAL_KCO, "INSTANCE_PATH": str(tmp_path)}
    if public_base_url is not None:
        environ["PUBLIC_BASE_URL"] = public_base_url
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
        Settings.from_env(environ)


def test_a_real_kco_host_accepts_an_https_public_base_url(tmp_path: Path) -> None:
    settings = Settings.from_env({**REAL_KCO, "INSTANCE_PATH": str(tmp_path),
                                  "PUBLIC_BASE_URL": "https://shop.example.com/"})
    assert settings.public_base_url == "https://shop.example.com"


def test_the_local_emulator_needs_no_public_base_url(tmp_path: Path) -> None:
    settings = Settings.from_env({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                                  "KCO_API_URL": "http://127.0.0.1:5001"})
    assert settings.public_base_url is None and settings.kco.is_local
