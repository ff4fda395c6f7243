"""In-place ops keep aliasing right: writing through a view updates its base (and the
base's other views), the shared version counter moves, the op returns its target,
and an in-place op that fails validation raises before anything runs, leaving its
target unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.errors import NotImplementedForDevice
from ember.schema import registry

from . import opdb
from ._context import begin, unsupported_at_runtime
from .harness import compare, quiet, rng_for, to_host
from .samples import T

CASES = [e.name for e in opdb.entries() if e.op.is_inplace and e.compare == "values"
         and e.op.args and e.op.args[0].is_tensor and not e.op.args[0].is_list]


def _dtype_for(entry):
    for d in ("float32", "float64", "int64", "bool"):
        if d in entry.dtypes:
            yield d


@pytest.mark.parametrize("op", CASES)
def test_inplace_aliasing(ember_device, op, request, ember_strict):
    entry = opdb.entry(op)
    checked = 0
    for dtype in _dtype_for(entry):
        begin(request, ember_device, op, dtype, "in-place aliasing", ember_strict)
        for s in entry.samples(dtype, rng_for(op, dtype, "alias")):
            target = s.args[0]
            if not isinstance(target, T) or target.array.ndim != 2 or not target.array.size:
                continue
            try:
                checked += _check_one(entry, s, ember_device, dtype)
            except NotImplementedForDevice as e:
                unsupported_at_runtime(op, ember_device, e, ember_strict)
            if checked:
                return
    pytest.skip(f"n/a: no 2-d sample of {op}() the schema accepts")


def _check_one(entry, s, device, dtype) -> int:
    host = s.args[0].array
    base = ember.tensor(np.ascontiguousarray(host.T), device=device)
    view = base.permute(1, 0)  # the target: a non-contiguous view of `base`
    other_view = base.reshape(-1)
    rest, kwargs = s.on(device)
    args = (view,) + tuple(rest[1:])
    try:
        spec = entry.op.meta(*entry.op.bind(*args, **kwargs))
    except (ember.OpError, TypeError, ValueError, IndexError):
        return 0
    hargs, hkw = s.host(to_float=registry[entry.name].promotion == "int_to_float")
    with quiet():
        expected = np.asarray(entry.ref(*hargs, **hkw)).astype(spec.dtype.np)
    v0 = base._version
    with quiet():
        out = entry.call(*args, **kwargs)
    what = f"{entry.name}() on {device}, dtype {dtype}, input {s.describe()}"
    assert out is view, f"{what}: returned a new tensor instead of its target"
    assert view._version > v0 and base._version == view._version, \
        f"{what}: the version counter shared by the view and its base did not move"
    for name, t, want in (("the target view", view, expected),
                          ("the view's base", base, np.ascontiguousarray(expected.T)),
                          ("another view of the base", other_view,
                           np.ascontiguousarray(expected.T).reshape(-1))):
        msg = compare(to_host(t), want, spec.dtype, entry.tol)
        assert msg is None, f"{what}: {name} is wrong after the in-place op: {msg}"
    # A failing in-place op (an operand broadcasting past the target) leaves it unchanged.
    tensors = [i for i, a in enumerate(args) if isinstance(a, ember.Tensor)]
    if len(tensors) >= 2 and "pointwise" in entry.op.tags:
        big = list(args)
        i = tensors[1]
        big[i] = ember.tensor(np.broadcast_to(to_host(args[i]), (2,) + tuple(view.shape))
                              .copy(), device=device)
        before = to_host(base)
        with pytest.raises((ember.OpError, RuntimeError)):
            entry.call(*big, **kwargs)
        np.testing.assert_array_equal(to_host(base), before,
                                      err_msg=f"{what}: a failing in-place op changed "
                                              f"its target")
    return 1
