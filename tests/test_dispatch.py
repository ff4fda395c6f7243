"""The dispatcher: keysets, the resolution cache, functionality keys, validation before
kernels, the meta device."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import dispatch
from ember.schema import get_op


def test_resolution_is_cached_per_device_type():
    od = get_op("add")
    od.cache.clear()
    a = ember.ones(3)
    a + a
    assert "cpu" in od.cache
    kernel = od.cache["cpu"]
    a + 1
    assert od.cache["cpu"] is kernel


def test_functionality_key_runs_above_the_backend_and_redispatches():
    seen = []

    def tracer(od, dev, args):
        seen.append(od.name)
        return dispatch.redispatch(od, dev, args, below="Tracer")

    dispatch.register_fallback("Tracer", tracer)
    old = dispatch.state.keys
    dispatch.state.keys = ("Tracer",)
    try:
        out = ember.ones(2) * 3
    finally:
        dispatch.state.keys = old
        del dispatch._fallbacks["Tracer"]
        dispatch.clear_cache()
    # every op call passes through the Tracer key, the factory's decomposition included
    assert seen[0] == "ones" and seen[-1] == "mul"
    np.testing.assert_array_equal(out.numpy(), np.full(2, 3.0, np.float32))


def test_unknown_functionality_key_is_refused():
    with pytest.raises(ValueError, match="not a functionality key"):
        dispatch.register_fallback("Sparse", lambda *a: None)


def test_schema_validates_before_the_kernel_runs():
    a = ember.ones(2, 3)
    before = a.numpy().copy()
    with pytest.raises(ember.OpError, match=r"add_\(\): output with shape \[2, 3\] doesn't "
                                             r"match the broadcast shape \[4, 2, 3\]"):
        a.add_(ember.ones(4, 2, 3))
    np.testing.assert_array_equal(a.numpy(), before)  # the target is unchanged
    assert a._version == 0


@pytest.mark.parametrize("call, message", [
    (lambda: ember.add(ember.ones(2), "x"), r"add\(\): argument 'other' must be Tensor, not str"),
    (lambda: ember.ones(2).sum(dim="a"), r"sum\(\): argument 'dim' must be int, not str"),
    (lambda: ember.ones(2).sum(dim=3), r"sum\(\): argument 'dim' is out of range"),
    (lambda: ember.ones(2, 3) @ ember.ones(2, 3), r"matmul\(\): shapes \[2, 3\] and \[2, 3\] "
                                                   r"cannot be multiplied"),
    (lambda: ember.zeros(2, -1), r"zeros\(\): argument 'size' must not contain negative"),
    (lambda: ember.ones(2, 3).reshape(4), r"reshape\(\): shape '\[4\]' is invalid for input "
                                           r"of size 6"),
    (lambda: ember.add(1, 2), r"add\(\): expected at least one Tensor argument"),
])
def test_bad_input_names_op_and_argument(call, message):
    with pytest.raises((TypeError, ember.OpError), match=message):
        call()


def test_meta_device_agrees_with_cpu():
    x = ember.ones(4, 1, 3)
    y = ember.ones(5, 1)
    cpu = (x + y).sum(dim=(0, 2), keepdim=True)
    mx, my = ember.ones(4, 1, 3, device="meta"), ember.ones(5, 1, device="meta")
    meta = (mx + my).sum(dim=(0, 2), keepdim=True)
    assert meta.shape == cpu.shape and meta.dtype is cpu.dtype
    with pytest.raises(RuntimeError, match="meta tensors have shapes and dtypes but no data"):
        meta.tolist()


def test_promotion_follows_pytorch():
    i = ember.tensor([1, 2, 3])
    assert (i + 1).dtype is ember.int64
    assert (i + 1.5).dtype is ember.float32
    assert (i / 2).dtype is ember.float32
    assert (ember.ones(2, dtype=ember.float16) + ember.tensor(1.0, dtype=ember.float64)).dtype \
        is ember.float16  # a 0-d tensor does not widen a dimensioned one of its category
    assert (ember.ones(2, dtype=ember.int8) + ember.tensor(1.0)).dtype is ember.float32
    assert (i > 1).dtype is ember.bool


def test_default_dtype_change_reaches_cached_kernels():
    i = ember.tensor([1, 2])
    assert (i * 0.5).dtype is ember.float32
    ember.set_default_dtype(ember.float64)
    try:
        assert (i * 0.5).dtype is ember.float64
        assert ember.tensor([0.5]).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert (i * 0.5).dtype is ember.float32


def test_keyword_aliases_of_the_array_api():
    a = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(a.sum(axis=0, keepdims=True).numpy(),
                                  a.sum(dim=0, keepdim=True).numpy())
    with pytest.raises(TypeError, match="got both 'dim' and its Array API alias 'axis'"):
        a.sum(dim=0, axis=1)
