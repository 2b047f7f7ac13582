"""Test and benchmark harness: not part of the integration; merchants skip it.

`make run` starts the KCO emulator and the shop with `harness.local_stack`; the tests (tests/, e2e/) and the
benchmarks (bench/) start the shop with it too, and drive it with `harness.shop_client`. Servers are started
and the emulator is driven with kco_emulator.testing, as docs/testing-your-shop.md shows a merchant.
"""
