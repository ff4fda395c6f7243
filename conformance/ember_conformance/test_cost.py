"""Cost contracts of every op (``cost.py``): forward and backward memory linear in the
input at two sizes and back to the baseline afterwards, and the host overhead of one
call on a small input (with the CPU backend's beside it) for the report."""

from __future__ import annotations

import json

import pytest

import ember
from ember.errors import NotImplementedForDevice

from . import opdb
from ._context import begin, unsupported_at_runtime
from .cost import host_overhead, memory_contract

CASES = sorted(e.name for e in opdb.entries())


def cost_dtype(entry, device: str) -> str | None:
    """The dtype an op's cost is measured in: float32 where the op takes it, else the
    first of its dtypes with a sample the device supports and the schema accepts."""
    from .harness import _backend, _dtypes_of, _sample_refusal, rng_for
    supported = _backend(device).supported_dtypes
    for d in dict.fromkeys(("float32", *entry.dtypes)):
        if d not in entry.dtypes:
            continue
        for s in entry.samples(d, rng_for(entry.name, d)):
            if (supported is None or all(x in supported for x in _dtypes_of(s))) and \
                    _sample_refusal(entry, s) is None:
                return d
    return None


@pytest.mark.parametrize("op", CASES)
def test_cost(ember_device, op, request, ember_strict):
    entry = opdb.entry(op)
    dtype = cost_dtype(entry, ember_device)
    begin(request, ember_device, op, dtype, "cost", ember_strict)
    if dtype is None:
        pytest.skip(f"unsupported: the backend supports none of {op}()'s dtypes")
    try:
        us = host_overhead(entry, ember_device, dtype)
        cpu_us = us if ember.device(ember_device).type == "cpu" else (
            host_overhead(entry, "cpu", dtype) if ember.is_available("cpu") else None)
        result = memory_contract(entry, ember_device, dtype)
    except NotImplementedForDevice as e:
        unsupported_at_runtime(op, ember_device, e, ember_strict)
    cost = {"dtype": dtype, "us_per_call": us, "cpu_us_per_call": cpu_us}
    if result is not None:
        ms, failures = result
        cost["memory"] = [{"input_elements": m.elements, "io_bytes": m.io_bytes,
                           "peak_bytes": m.peak, "retained_bytes": m.retained,
                           "bound_bytes": m.bound} for m in ms]
    request.node.user_properties.append(("ember_cost", json.dumps(cost)))
    if result is None:
        if us is None:
            pytest.skip(f"n/a: no sample of {op}() in {dtype} the schema accepts")
        return  # timed; no sample of it grows by tiling (its arguments name shapes)
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
