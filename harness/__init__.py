"""Test and benchmark harness: not part of the integration; merchants skip it.

`make run`, the tests (tests/, e2e/) and the benchmarks (bench/) start the KCO emulator and the shop through
`harness.devserver`, drive them through `harness.shop_client` and `harness.emulator_control`, and serve
throwaway WSGI apps with `harness.wsgi_server`.
"""
