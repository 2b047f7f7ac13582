"""kco-probe: settle, on a merchant's own Kustom playground, each KCO behaviour this project could only infer.

    kco-probe --public-url https://your-tunnel.example     (or: python -m kco.probe ...)

It reads the shop's KCO_* variables (kco.client.ClientConfig.from_env) and refuses production credentials. The
API probes run unattended (kco.probe.api_probes); the widget probes are guided, one step at a time, on a page
the probe serves itself (kco.probe.widget_probes, kco.probe.listener). The report (kco.probe.report) says per
behaviour what was observed, which emulator setting plays it and which row of docs/kco-rules.md it settles;
`kco-emulator --settings-from report.json` plays what it observed. docs/real-playground.md tells how to run
it and where to send the report.

Read it in this order: runner (run_probe), api_probes, guided, widget_probes, listener with page.html and
page.js, report.
"""

from kco.probe.clock import Clock, WallClock
from kco.probe.listener import Step
from kco.probe.report import Finding, Report
from kco.probe.runner import PARTS, run_probe

__all__ = ["PARTS", "Clock", "Finding", "Report", "Step", "WallClock", "run_probe"]
