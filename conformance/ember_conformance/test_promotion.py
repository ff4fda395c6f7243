"""Result dtypes of binary pointwise ops against an independent statement of PyTorch's
promotion rules (``promotion.py``): tensor with tensor, with a 0-d tensor and with
Python numbers, for every pair of dtypes the backend supports."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.device import get_backend
from ember.errors import NotImplementedForDevice
from ember.schema import registry

from ._context import begin, unsupported_at_runtime
from .harness import refusal
from .promotion import DTYPES, expected_dtype

OPS = [od.name for od in registry.values()
       if "pointwise" in od.tags and not od.is_inplace and od.promotion
       and [a.is_tensor for a in od.args if not (a.kwarg_only or a.has_default)] == [True, True]
       and [a.name for a in od.args[:2]] == ["self", "other"]]
CASES = [(op, d) for op in OPS for d in DTYPES]
#: ops whose declared promotion depends on another argument, as called here
#: (``div`` without ``rounding_mode`` is true division)
CALLED_AS = {"div": "int_to_float"}


def _make(kind, name, device):
    shape = (2,) if kind == "tensor" else ()
    return ember.tensor(np.ones(shape, dtype=getattr(ember, name).np), device=device)


@pytest.mark.parametrize("op,dtype", CASES, ids=[f"{o}-{d}" for o, d in CASES])
def test_promotion(ember_device, op, dtype, request, ember_strict):
    begin(request, ember_device, op, dtype, "promotion", ember_strict)
    supported = get_backend(ember.device(ember_device).type).supported_dtypes
    od = registry[op]
    a = _make("tensor", dtype, ember_device)
    default = ember.get_default_dtype().name
    checked, wrong = 0, []
    others = [("tensor", d) for d in DTYPES] + [("0d", d) for d in DTYPES] + [True, 2, 1.5]
    for other in others:
        if isinstance(other, tuple):
            if supported is not None and getattr(ember, other[1]) not in supported:
                continue
            b = _make(*other, ember_device)
        else:
            b = other
        want = expected_dtype(CALLED_AS.get(op, od.promotion), [("tensor", dtype), other],
                              default)
        if supported is not None and getattr(ember, want) not in supported:
            continue
        if refusal(lambda dev, other=other: od.fn(
                _make("tensor", dtype, dev),
                _make(*other, dev) if isinstance(other, tuple) else other)) is not None:
            continue  # the op refuses these dtypes (bitwise ops on floats, ...)
        try:
            out = od.fn(a, b)
        except NotImplementedForDevice as e:
            unsupported_at_runtime(op, ember_device, e, ember_strict)
        except Exception as e:  # the schema accepts these dtypes: a failure
            wrong.append(f"{op}(tensor {dtype}, {other!r}) raised {type(e).__name__}: {e}")
            continue
        checked += 1
        if out.dtype.name != want:
            wrong.append(f"{op}(tensor {dtype}, {other!r}) -> {out.dtype.name}, PyTorch "
                         f"gives {want}")
    if wrong:
        pytest.fail(f"{op}() on {ember_device}: wrong result dtypes:\n" + "\n".join(wrong),
                    pytrace=False)
    if not checked:
        pytest.skip(f"n/a: {op}() accepts no operand pair with dtype {dtype}")
