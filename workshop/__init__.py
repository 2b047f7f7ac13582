"""Workshop mode, for teaching the integration in a room; skip this package when you copy the shop.

`workshop.inspector` adds a panel to the checkout page that shows each KCO call and callback of the session,
and buttons that make the local emulator misbehave (docs/workshop.md). Nothing in the checkout path depends
on it: with the inspector off (KCO_INSPECTOR=0, or a real KCO host) it adds no route and no hook, and a copy
of app.py without its two `inspector` lines works the same.
"""
