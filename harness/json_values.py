"""Hypothesis strategies for JSON of any shape, for the tests that send a shop bodies it cannot use
(tests/test_bad_input.py for the demo shop, e2e/test_copy_works_on_its_own.py for the guide's example)."""

from hypothesis import strategies as st

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=16))
json_values = st.recursive(
    json_scalars,
    lambda children: (st.lists(children, max_size=3)
                      | st.dictionaries(st.text(max_size=8), children, max_size=3)),
    max_leaves=4,
)
