"""Random samples: ``normal`` (tensor or number parameters) and ``multinomial``.
"""

from __future__ import annotations

import builtins

from .. import array_api as _xp
from .. import dtypes as _dt
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _fail, _tensor
from .sorting import searchsorted

__all__ = ["normal", "multinomial"]


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Samples of normal distributions: ``mean``/``std`` tensors (broadcast) or numbers
    with ``size``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            _fail("normal", "size is only taken with number mean and std")
        if isinstance(std, Tensor) and builtins.bool(_ops.lt(std, 0).any().item()):
            _fail("normal", "expects all elements of std >= 0.0")
        ref = mean if isinstance(mean, Tensor) else std
        shape = _xp.broadcast_shapes(*(tuple(t.shape) for t in (mean, std)
                                       if isinstance(t, Tensor)))
        d = _dt.result_type(mean, std)
        if not d.is_floating_point:
            _fail("normal", f"expected floating point mean and std, got {d}")
        z = _ops.randn(tuple(shape), dtype=d, device=ref.device, generator=generator)
        return _ops.add(mean, _ops.mul(z, std))
    if size is None:
        _fail("normal", "size is required when mean and std are numbers")
    if std < 0:
        _fail("normal", f"expects std >= 0.0, but found std {std}")
    z = _ops.randn(tuple(size), dtype=dtype, device=device, generator=generator)
    out = _ops.add(_ops.mul(z, std), mean)
    return out.requires_grad_() if requires_grad else out


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Category indices drawn by the non-negative weights in the last dimension of a
    1-D or 2-D ``input`` (without replacement: Gumbel top-k, each category at most once)."""
    if _tensor("multinomial", input).ndim not in (1, 2):
        _fail("multinomial", f"prob_dist must be 1 or 2 dim, got {input.ndim}")
    if not input.dtype.is_floating_point:
        _fail("multinomial", f"only supports floating-point dtypes for input, got "
                             f"{input.dtype}")
    if num_samples <= 0:
        _fail("multinomial", f"cannot sample n_sample <= 0 samples, got {num_samples}")
    n = input.shape[-1]
    w = input.reshape(1, n) if input.ndim == 1 else input
    bad = _ops.logical_or(_ops.lt(w, 0), _ops.logical_not(_ops.isfinite(w))).any()
    if builtins.bool(bad.item()):
        _fail("multinomial", "probability tensor contains either `inf`, `nan` or element < 0")
    if builtins.bool(_ops.eq(_ops.sum(w, -1), 0).any().item()):
        _fail("multinomial", "invalid multinomial distribution (sum of probabilities <= 0)")
    rows = w.shape[0]
    if replacement:
        cdf = _ops.cumsum(w.astype(_dt.float64), -1)
        cdf = _ops.true_divide(cdf, _ops.narrow(cdf, -1, n - 1, 1))
        u = _ops.rand(rows, num_samples, dtype=_dt.float64, device=w.device,
                      generator=generator)
        out = _ops.clamp(searchsorted(cdf, u, right=True), max=n - 1)
    else:
        if num_samples > n:
            _fail("multinomial", "cannot sample n_sample > prob_dist.size(-1) samples "
                                 "without replacement")
        # (past the nonzero categories, zero-weight ones follow, as PyTorch's)
        u = _ops.rand(rows, n, dtype=_dt.float64, device=w.device, generator=generator)
        keys = _ops.sub(_ops.log(w.astype(_dt.float64)), _ops.log(_ops.neg(_ops.log(u))))
        out = _ops.topk(keys, num_samples, -1)[1]
    return out.reshape(-1) if input.ndim == 1 else out
