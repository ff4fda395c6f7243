"""Mixed-precision primitives: the gradient scaler's fused "found inf and unscale".

``_amp_foreach_non_finite_check_and_unscale_`` multiplies every gradient of a list by
``inv_scale`` in place and sets ``found_inf`` to 1.0 if any gradient held an inf or a
NaN (it is never reset to 0 here: several calls accumulate into one flag).  It is
PyTorch's op of the same name.  The decomposition runs on every backend with ember
ops and no device synchronisation (the flag stays a device tensor); a backend
registers a kernel under the same name to do it in one pass (the CPU plugin does).
"""

from __future__ import annotations

from ._rules import fail
from ..schema import defop

__all__ = ["_amp_foreach_non_finite_check_and_unscale_"]

_OP = "_amp_foreach_non_finite_check_and_unscale_"


def _meta(grads, found_inf, inv_scale):
    for name, t in (("found_inf", found_inf), ("inv_scale", inv_scale)):
        if t.ndim != 0 and tuple(t.shape) != (1,):
            fail(_OP, f"argument '{name}' must be a one-element tensor, got shape "
                      f"{list(t.shape)}")
        if t.dtype.name != "float32":
            fail(_OP, f"argument '{name}' must be float32, got {t.dtype}")
    for i, g in enumerate(grads):
        if not g.dtype.is_floating_point:
            fail(_OP, f"grads[{i}] must be a floating-point tensor, got {g.dtype}")


def _decomposition(grads, found_inf, inv_scale):
    for g in grads:
        bad = g.isfinite().logical_not().any()
        found_inf.copy_(found_inf.maximum(bad.astype(found_inf.dtype).reshape(found_inf.shape)))
        if g.dtype.itemsize < 4:  # float16/bfloat16: multiply in float32, round once
            g.copy_(g.astype(inv_scale.dtype) * inv_scale)
        else:
            g.mul_(inv_scale)
    return grads


_amp_foreach_non_finite_check_and_unscale_ = defop(
    f"{_OP}(Tensor(a!)[] grads, Tensor(a!) found_inf, Tensor inv_scale) -> Tensor(a!)[]",
    tags=("composite", "inplace"), meta=_meta, decomposition=_decomposition, method=False,
    doc="Unscale gradients in place (``grads *= inv_scale``) and set ``found_inf`` to 1.0 "
        "if any of them holds an inf or a NaN (GradScaler's fused primitive).")
