"""`kco-probe` (also `python -m kco.probe`): run every probe against the playground the shop's KCO_* variables
name, and write the report as JSON and markdown.

    kco-probe --public-url https://your-tunnel.example --port 8765

KCO must reach the probe's callbacks over https: start a tunnel to --port first (docs/real-playground.md). It
refuses production credentials, since it creates, updates and aborts orders and completes one purchase.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from kco.client import KUSTOM_HOSTS, ClientConfig, host_of
from kco.errors import KCOConfigError
from kco.probe.runner import DEFAULT_STEP_TIMEOUT, PARTS, run_probe

PRODUCTION_REFUSED = ("kco-probe: refusing production credentials ({why}): the probe creates and aborts test "
                      "orders and completes a purchase; use playground credentials (kco_test_...) with "
                      "KCO_ENVIRONMENT=playground")


def production_problem(environ: Mapping[str, str], config: ClientConfig | None) -> str | None:
    """Why these credentials are production ones, or None: a kco_live_ key, or a host that is neither the
    playground nor this machine (kco-rules: api-hosts, basic-auth)."""
    for name in ("KCO_API_KEY", "KCO_PASSWORD"):
        if environ.get(name, "").startswith("kco_live_"):
            return f"{name} is a kco_live_ key"
    if environ.get("KCO_ENVIRONMENT", "").strip().lower() == "live":
        return "KCO_ENVIRONMENT=live"
    if config is None or config.is_local:
        return None
    host = host_of(config.base_url)
    if host != host_of(KUSTOM_HOSTS["playground"]):
        return f"{host} is not the playground"
    return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kco-probe", description=__doc__.splitlines()[0])
    parser.add_argument("--public-url", help="the https address where KCO reaches --port (a tunnel)")
    parser.add_argument("--port", type=int, default=8765, help="the probe's local port (default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="the address it listens on (default 127.0.0.1)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"a comma-separated choice of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--report", type=Path, default=Path("kco-probe-report.json"),
                        help="where the JSON report goes; the markdown one goes beside it (.md)")
    parser.add_argument("--step-timeout", type=float, default=DEFAULT_STEP_TIMEOUT,
                        help="seconds to wait for each guided step (default 900)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    environ = os.environ if environ is None else environ
    try:
        config = ClientConfig.from_env(environ)
    except KCOConfigError as error:
        refused = production_problem(environ, None)
        print(PRODUCTION_REFUSED.format(why=refused) if refused else f"kco-probe: {error}", file=sys.stderr)
        return 2
    if refused := production_problem(environ, config):
        print(PRODUCTION_REFUSED.format(why=refused), file=sys.stderr)
        return 2
    if problem := public_url_problem(args.public_url, config):
        print(f"kco-probe: {problem}", file=sys.stderr)
        return 2
    parts = [part for part in args.parts.split(",") if part]
    if unknown := sorted(set(parts) - set(PARTS)):
        print(f"kco-probe: unknown parts {', '.join(unknown)}; the parts are {', '.join(PARTS)}",
              file=sys.stderr)
        return 2
    print("kco-probe: the API probes take a few seconds; the guided steps a few minutes; then it waits up to "
          "12 minutes for KCO's pushes. Ctrl-C stops it without a report.", flush=True)
    try:
        report = run_probe(config, args.public_url, parts=parts, host=args.host, port=args.port,
                           step_timeout=args.step_timeout)
    except KeyboardInterrupt:
        print("kco-probe: interrupted, no report written", file=sys.stderr)
        return 130
    args.report.write_text(report.as_json() + "\n", encoding="utf-8")
    args.report.with_suffix(".md").write_text(report.as_markdown(), encoding="utf-8")
    print(report.as_markdown())
    print(f"kco-probe: wrote {args.report} and {args.report.with_suffix('.md')}", flush=True)
    return 0


def public_url_problem(public_url: str | None, config: ClientConfig) -> str | None:
    """KCO calls the probe back over https (kco-rules: https-callbacks); only a KCO on this machine (the
    emulator) may call it over http, at its own address."""
    local = config.is_local
    if public_url is None:
        return None if local else "--public-url is needed: the https address of a tunnel to --port"
    parts = urlsplit(public_url)
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        return f"--public-url must be an https URL, got {public_url!r}"
    return None


if __name__ == "__main__":
    sys.exit(main())
