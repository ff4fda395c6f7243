"""Per-dtype tolerances, stated in one place.

A floating result passes when ``|actual - expected| <= atol + rtol * |expected|``
elementwise (NaN matches NaN, infinities must match exactly); integer and bool results
must be equal.  The reference is computed in float64 from the same (rounded) inputs
and rounded once to the result dtype, so these bounds allow the few units in the last
place a correct kernel computing in the dtype itself may lose.  Ops that accumulate
(reductions, matmul) or amplify rounding (pow, tan) scale both bounds by their entry's
``tol`` factor in the op database.
"""

from __future__ import annotations

import ember

__all__ = ["TOLERANCES", "tolerance", "GRAD_TOLERANCES", "FINITE_DIFFERENCE_EPS"]

#: dtype name -> (rtol, atol) for forward results
TOLERANCES: dict[str, tuple[float, float]] = {
    # float64: a few ulps; kernels may use different (equally valid) formulas.
    "float64": (1e-7, 1e-7),
    # float32: PyTorch's assert_close default rtol (about 10 ulps); atol for results
    # near zero from cancellation.
    "float32": (1.3e-6, 1e-5),
    # float16 has 11 significant bits (eps 9.8e-4): about one ulp.
    "float16": (1e-3, 1e-3),
    # bfloat16 has 8 significant bits (eps 7.8e-3): two ulps.
    "bfloat16": (1.6e-2, 1e-2),
}

#: dtype name -> (rtol, atol) for gradients compared with another device or with
#: finite differences (which lose about half the digits: central differences with
#: step FINITE_DIFFERENCE_EPS have error ~eps^2 and rounding ~ulp/eps).
GRAD_TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-5, 1e-6),
    "float32": (1e-2, 1e-3),
}

#: step of the central differences, per dtype
FINITE_DIFFERENCE_EPS = {"float64": 1e-6, "float32": 1e-3}


def tolerance(dtype: ember.dtype, scale: float = 1.0) -> tuple[float, float]:
    """``(rtol, atol)`` for results of ``dtype``; ``(0, 0)`` (exact) for integers and
    bool.  ``scale`` widens both for ops that accumulate rounding."""
    rtol, atol = TOLERANCES.get(dtype.name, (0.0, 0.0))
    return rtol * scale, atol * scale
