"""Forward results of every op in the database against its numpy reference, on each
device, in each dtype: values within the dtype's tolerance, and output shapes and
dtypes as the op's schema promises (PyTorch's promotion rules)."""

from __future__ import annotations

import pytest

from ember.errors import NotImplementedForDevice

from . import opdb
from ._context import begin, unsupported_at_runtime
from .harness import forward

CASES = [(e.name, d) for e in opdb.entries() for d in e.dtypes]


@pytest.mark.parametrize("op,dtype", CASES, ids=[f"{o}-{d}" for o, d in CASES])
def test_forward(ember_device, op, dtype, request, ember_strict):
    begin(request, ember_device, op, dtype, "forward", ember_strict)
    try:
        ran, failures = forward(opdb.entry(op), ember_device, dtype)
    except NotImplementedForDevice as e:
        unsupported_at_runtime(op, ember_device, e)
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    if not ran:
        pytest.skip(f"n/a: the schema of {op}() refuses dtype {dtype} for every sample")


def test_every_op_has_an_entry(ember_device, request):
    """Coverage cannot rot: an op added to the registry needs an op-database entry."""
    begin(request, ember_device, None, None, "op database covers the registry")
    missing = opdb.missing()
    assert not missing, (f"{len(missing)} op(s) of the registry have no entry in "
                         f"ember_conformance.opdb: {', '.join(missing)}")
