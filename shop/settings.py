"""Every environment variable the shop reads, read in one place that fails fast with one line naming the
variable (docs/real-playground.md lists each with what a wrong value does).

`.env.example` lists the same variables with a comment each. KCO's own variables (`KCO_*`) are read by
`kco.client.ClientConfig.from_env`; with none of them set the shop talks to the local emulator.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kco.client import ClientConfig

EMULATOR_URL = "http://127.0.0.1:5001"  # the local emulator: the KCO host when none is configured
KCO_HOST_VARIABLES = ("KCO_API_URL", "KCO_ENVIRONMENT", "KCO_REGION")
# SECRET_KEY outside the local emulator: at least this long, and none of the values the docs show.
MIN_SECRET_KEY_BYTES = 32
PLACEHOLDER_SECRET_KEYS = frozenset({"replace-with-a-long-random-string", "change-me", "changeme", "secret"})
MAKE_A_SECRET_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# How long one shopper request may wait for KCO in all, whatever calls it needs (kco.client.time_budget).
DEFAULT_TIME_BUDGET_SECONDS = 15.0


class SettingsError(ValueError):
    """A missing or malformed environment variable; the message names it."""


@dataclass(frozen=True)
class Settings:
    secret_key: str
    instance_path: Path
    public_base_url: str | None  # None: http://HOST:<bound port>, filled in once the server is bound
    kco: ClientConfig
    redis_url: str | None
    database_url: str
    session_cookie_secure: bool
    snippet_origins: tuple[str, ...]  # where KCO's html_snippet loads its widget from (CSP)
    inspector: bool  # workshop mode: the KCO inspector panel (docs/workshop.md)
    checkout_creation_limit: str  # checkouts one client may start, e.g. "30 per hour" (shop/budgets.py)
    trusted_proxies: int  # reverse proxies in front of the shop, whose X-Forwarded-For/-Proto are believed
    time_budget_seconds: float  # the most one page load or change waits for KCO in all

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        instance_path = _instance_path(environ)
        public_base_url = _public_base_url(environ)
        kco_environ = dict(environ)
        if not any(environ.get(name) for name in KCO_HOST_VARIABLES):
            kco_environ["KCO_API_URL"] = EMULATOR_URL
        kco = ClientConfig.from_env(kco_environ)
        if not kco.is_local:
            # A real KCO must reach the callbacks from the internet, over https only
            # (kco-rules: merchant-urls, validation-callback): the address guessed from the socket won't do.
            if public_base_url is None or urlsplit(public_base_url).scheme != "https":
                raise SettingsError("PUBLIC_BASE_URL must be this shop's public https URL (e.g. "
                                    "https://shop.example.com) when KCO is not the local emulator")
        return cls(
            secret_key=_secret_key(environ, instance_path, kco),
            instance_path=instance_path,
            public_base_url=public_base_url,
            kco=kco,
            redis_url=environ.get("REDIS_URL") or None,
            database_url=_database_url(environ, instance_path),
            session_cookie_secure=_cookie_secure(environ, public_base_url),
            snippet_origins=_snippet_origins(environ, kco),
            inspector=inspector_enabled(environ),
            checkout_creation_limit=environ.get("CHECKOUT_CREATION_LIMIT") or "30 per hour",
            trusted_proxies=_count(environ, "TRUSTED_PROXIES", highest=5),
            time_budget_seconds=_seconds(environ, "KCO_TIME_BUDGET", DEFAULT_TIME_BUDGET_SECONDS, 1, 120),
        )


def inspector_enabled(environ: Mapping[str, str], kco: ClientConfig | None = None) -> bool:
    """Workshop mode only when asked for: KCO_INSPECTOR=1, which `make run` sets for the emulator it starts.
    Never guessed from a local KCO address (`kco` is not consulted): that may be a proxy in front of the real
    KCO, and the emulator buttons act on every shopper (docs/workshop.md)."""
    return _flag(environ, "KCO_INSPECTOR")


def _instance_path(environ: Mapping[str, str]) -> Path:
    """INSTANCE_PATH, a folder the shop can write to (the SQLite database, session files, the development
    key)."""
    path = Path(environ.get("INSTANCE_PATH") or "instance").resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(f"INSTANCE_PATH: cannot create the folder {path}: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(f"INSTANCE_PATH: the shop cannot write to {path}")
    return path


def _public_base_url(environ: Mapping[str, str]) -> str | None:
    public_base_url = environ.get("PUBLIC_BASE_URL") or None
    if public_base_url is None:
        return None
    parts = urlsplit(public_base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError("PUBLIC_BASE_URL must be an http(s) URL, e.g. https://shop.example.com")
    return public_base_url.rstrip("/")


def _secret_key(environ: Mapping[str, str], instance_path: Path, kco: ClientConfig) -> str:
    """SECRET_KEY signs the session cookie and the callback tokens: every instance of a shop needs the same,
    and nobody else may know it. Only with the local emulator may it be left out (a random key is kept in
    instance/, fine for one development machine)."""
    key = environ.get("SECRET_KEY") or ""
    if kco.is_local:
        return key or _development_secret_key(instance_path)
    if key in PLACEHOLDER_SECRET_KEYS or len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise SettingsError(f"SECRET_KEY must be a random secret of at least {MIN_SECRET_KEY_BYTES} bytes, "
                            f"the same on every instance, when KCO is not the local emulator; make one with "
                            f"{MAKE_A_SECRET_KEY}")
    return key


def _database_url(environ: Mapping[str, str], instance_path: Path) -> str:
    """DATABASE_URL, with the postgres:// and postgresql:// forms hosts hand out read as PostgreSQL through
    psycopg 3, the driver requirements.txt installs."""
    url = environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'shop.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _cookie_secure(environ: Mapping[str, str], public_base_url: str | None) -> bool:
    """SESSION_COOKIE_SECURE when set; unset, on exactly when the shop's public address is https."""
    if environ.get("SESSION_COOKIE_SECURE", "").strip() == "":
        return public_base_url is not None and urlsplit(public_base_url).scheme == "https"
    return _flag(environ, "SESSION_COOKIE_SECURE")


def _snippet_origins(environ: Mapping[str, str], kco: ClientConfig) -> tuple[str, ...]:
    """KCO_SNIPPET_ORIGINS (space-separated), else the emulator's widget origin: where it serves the widget
    (KCO_EMULATOR_PUBLIC_URL, else the address the shop calls it at). Real KCO's widget hosts are not
    documented for Kustom (inferred; kco-rules: api-hosts), so with a real KCO host the variable must be
    set."""
    listed = environ.get("KCO_SNIPPET_ORIGINS", "").split()
    if not listed:
        if not kco.is_local:
            raise SettingsError("KCO_SNIPPET_ORIGINS must list the origins KCO's html_snippet loads its "
                                "script and iframe from (see BOOTSTRAP_SRC and ORDER_URL in a snippet)")
        listed = [environ.get("KCO_EMULATOR_PUBLIC_URL") or kco.base_url]
    origins = []
    for url in listed:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(f"KCO_SNIPPET_ORIGINS must hold origins such as https://js.example.com, "
                                f"not {url!r}")
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _count(environ: Mapping[str, str], name: str, highest: int) -> int:
    text = environ.get(name, "").strip() or "0"
    if not (text.isascii() and text.isdigit()) or int(text) > highest:
        raise SettingsError(f"{name} must be a whole number from 0 to {highest}, not {text!r}")
    return int(text)


def _seconds(environ: Mapping[str, str], name: str, default: float, lowest: float, highest: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not lowest <= seconds <= highest:
        raise SettingsError(f"{name} must be a number of seconds from {lowest:g} to {highest:g}, "
                            f"not {text!r}")
    return seconds


def _development_secret_key(instance_path: Path) -> str:
    """Without SECRET_KEY (the local emulator only): a random key kept in instance/, so sessions survive
    restarts."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        try:
            with open(key_file, "x", encoding="ascii") as handle:
                os.chmod(key_file, 0o600)
                handle.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass  # another process wrote it first; use theirs
    return key_file.read_text(encoding="ascii").strip()
