"""Second derivatives of every differentiable op: ``ember.autograd.gradgradcheck`` (the
backward, run with ``create_graph=True``, differentiated again and compared with central
finite differences of the first backward) in float64, on each device.

An op's backward must itself be built from differentiable ops; where an op is not twice
differentiable its second backward raises a clear error, which fails this check like a
wrong value would (nothing here is "not applicable" once the forward accepted the
sample)."""

from __future__ import annotations

import pytest

from . import opdb
from ._context import run_checks
from .harness import differentiable, quiet, rng_for

try:
    import ember.autograd  # noqa: F401
    HAVE_AUTOGRAD = True
except ImportError:  # pragma: no cover - depends on the installed ember
    HAVE_AUTOGRAD = False

#: Samples per op, and the most floating-point elements one may hold: the check costs
#: about two first backwards per input and output element.
SAMPLES = 2
MAX_ELEMENTS = 200

def _second_order_cases() -> list[str]:
    """Every op whose gradients the database checks (also those whose forward is
    compared by a function: sort, topk), and the backward ops that have derivatives of
    their own (their second derivative is the forward op's third)."""
    if not HAVE_AUTOGRAD:
        return []
    from ember.autograd.rules import nondifferentiable
    out = []
    for e in opdb.entries():
        od = e.op
        if differentiable(e) or (e.grad and not od.is_inplace and not nondifferentiable(od)
                                 and callable(e.compare)):
            out.append(e.name)
        elif od.derivative is not None and "backward" in e.name:
            out.append(e.name)
    return out


CASES = _second_order_cases()


def _leaf_slots(entry, args, kwargs) -> list:
    """``(container, key)`` of every floating tensor to differentiate, in order."""
    import ember
    slots = []
    values = [(args, i) for i in range(len(args))] + [(kwargs, k) for k in kwargs]
    for pos, (box, key) in enumerate(values):
        if entry.grad_args is not None and pos not in entry.grad_args:
            continue
        v = box[key]
        if isinstance(v, list):
            slots += [(v, j) for j, t in enumerate(v)
                      if isinstance(t, ember.Tensor) and t.dtype.is_floating_point]
        elif isinstance(v, ember.Tensor) and v.dtype.is_floating_point:
            slots.append((box, key))
    return slots


def _small_samples(entry, dtype_name: str) -> list:
    """The ``SAMPLES`` smallest samples with finite, non-empty floating inputs of at
    most ``MAX_ELEMENTS`` elements in all (the op database's samples include larger
    ones: conv and pooling have no sample small enough for first-order checks)."""
    import numpy as np
    fit = []
    for k, smp in enumerate(entry.samples(dtype_name, rng_for(entry.name, dtype_name,
                                                              "gradgrad"))):
        floats = [t.array for t in smp.tensors() if t.array.dtype.kind == "f"]
        size = sum(a.size for a in floats)
        if not floats or any(a.size == 0 for a in floats) or size > MAX_ELEMENTS:
            continue
        if all(np.isfinite(a.astype(np.float64)).all() for a in floats):
            fit.append((size, k, smp))
    return [smp for _, _, smp in sorted(fit, key=lambda f: f[:2])[:SAMPLES]]


def second_order(entry, device: str, dtype_name: str) -> tuple[int, list[str]]:
    """``gradgradcheck`` on up to ``SAMPLES`` samples of ``entry``; returns ``(samples
    checked, failure messages)``."""
    import numpy as np

    import ember
    from ember.autograd import gradgradcheck
    from ember.errors import NotImplementedForDevice, OpError
    ran, failures = 0, []
    for s in _small_samples(entry, dtype_name):
        what = f"{entry.name}() on {device}, dtype {dtype_name}, input {s.describe()}"
        args, kwargs = s.on(device)
        args = list(args)
        try:
            with quiet():
                entry.call(*args, **kwargs)
        except NotImplementedForDevice:
            raise
        except (OpError, TypeError, ValueError, IndexError):
            continue  # the schema refuses this sample
        slots = _leaf_slots(entry, args, kwargs)
        if not slots:
            continue
        leaves = tuple(box[key].detach().requires_grad_(True) for box, key in slots)

        def fn(*xs, slots=slots, args=args, kwargs=kwargs):
            for (box, key), x in zip(slots, xs, strict=True):
                box[key] = x
            return entry.call(*args, **kwargs)

        with quiet():
            outs = entry.call(*args, **kwargs)
        outs = [o for o in (outs if isinstance(outs, (tuple, list)) else (outs,))
                if isinstance(o, ember.Tensor) and o.dtype.is_floating_point]
        if not all(np.isfinite(o.detach().cpu().numpy()).all() for o in outs):
            continue  # outside the op's domain (var with n <= correction): no derivative
        # A float32 (or narrower) input or output rounds at ~1e-7 relative, which swamps
        # the default eps of the finite differences.
        narrow = any(t.dtype is not ember.float64 for t in outs + list(leaves))
        tol = {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-2} if narrow else {}
        ran += 1
        try:
            with quiet():
                gradgradcheck(fn, leaves, **tol)
        except NotImplementedForDevice:
            raise
        except Exception as e:  # a wrong or failing second backward
            failures.append(f"{what}: {type(e).__name__}: {str(e)[:600]}")
    return ran, failures


@pytest.mark.skipif(not HAVE_AUTOGRAD, reason="ember.autograd is not available")
@pytest.mark.parametrize("op", CASES)
def test_gradgrad(ember_device, op, request, ember_strict):
    run_checks(request, ember_device, op, "float64", "gradgrad", ember_strict, second_order,
               f"n/a: no differentiable float64 sample of {op}()")
