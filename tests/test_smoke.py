"""A first end-to-end check of the core and the CPU plugin."""

import numpy as np

import ember


def test_add_matches_numpy():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = ember.tensor(a) + ember.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(out.numpy(), a + np.array([1, 2, 3], np.float32))
    assert out.dtype is ember.float32
