"""Gradients of every differentiable op: against the CPU device's (for other devices)
and against central finite differences in float64 (and float32 on the CPU), using
``ember.autograd.grad`` with a random upstream gradient."""

from __future__ import annotations

import pytest


from . import opdb
from ._context import run_checks
from .harness import differentiable, gradients

try:
    import ember.autograd  # noqa: F401
    HAVE_AUTOGRAD = True
except ImportError:  # pragma: no cover - depends on the installed ember
    HAVE_AUTOGRAD = False

CASES = [(e.name, d) for e in opdb.entries() if HAVE_AUTOGRAD and differentiable(e)
         for d in ("float64", "float32")]


@pytest.mark.skipif(not HAVE_AUTOGRAD, reason="ember.autograd is not available")
@pytest.mark.parametrize("op,dtype", CASES, ids=[f"{o}-{d}" for o, d in CASES])
def test_grad(ember_device, op, dtype, request, ember_strict):
    run_checks(request, ember_device, op, dtype, "grad", ember_strict, gradients,
               f"n/a: no differentiable sample of {op}() in {dtype}")
