"""Forward results of every op in the database against its numpy reference, on each
device, in each dtype: values within the dtype's tolerance, and output shapes and
dtypes as the op's schema promises (PyTorch's promotion rules)."""

from __future__ import annotations

import pytest


from . import opdb
from ._context import begin, run_checks
from .harness import forward, rng_for

# A dtype the database offers no sample in is left out (a blank cell in the table, not
# "n/a": nothing shows the schema refuses it).
CASES = [(e.name, d) for e in opdb.entries() for d in e.dtypes
         if e.samples(d, rng_for(e.name, d))]


@pytest.mark.parametrize("op,dtype", CASES, ids=[f"{o}-{d}" for o, d in CASES])
def test_forward(ember_device, op, dtype, request, ember_strict):
    run_checks(request, ember_device, op, dtype, "forward", ember_strict, forward,
               f"n/a: the schema of {op}() refuses dtype {dtype} for every sample")


def test_every_op_has_an_entry(ember_device, request):
    """Coverage cannot rot: an op added to the registry needs an op-database entry."""
    begin(request, ember_device, None, None, "op database covers the registry")
    missing = opdb.missing()
    assert not missing, (f"{len(missing)} op(s) of the registry have no entry in "
                         f"ember_conformance.opdb: {', '.join(missing)}")
