"""``linear`` and its backward on the matmul kernel's epilogues: one launch each for
``x @ W.T + b`` (the bias added as the product is stored) and for ``g.T @ x`` with the
bias gradient (the rows' sums of ``g.T``) beside it, instead of a product plus a
pointwise add, or a product plus a reduction.  A training step's dense layers launch
3 kernels each (forward, weight and input gradients) rather than 5.

Shapes the epilogues cannot address without a copy (a 1-D weight, a bias broadcast
over several non-mergeable leading dims, empty operands) run the op's decomposition.
"""

from __future__ import annotations

import math

from ..array import contiguous_strides
from .elementwise import broadcast_strides, collapse, new_like
from .fused import _decompose
from .matmul import gemm
from .pointwise import fill
from .reduction import reduce
from .views import reshape

__all__ = ["kernels"]


def _rows(x, k: int):
    """``x`` as a (rows, k) matrix (a view where its strides allow one)."""
    return reshape(x, (math.prod(x.shape[:-1]), k))


def _linear(od):
    def kernel(x, weight, bias=None):
        if weight.ndim != 2 or x.size == 0 or weight.size == 0:
            return _decompose(od, x, weight, bias)
        n, k = weight.shape
        lead = x.shape[:-1]
        bias_args = None
        if bias is not None and bias.ndim == 1:  # (the common case: no planning)
            bias_args = (bias, 0, 0, bias.strides[0] if bias.shape[0] == n else 0)
        elif bias is not None:
            # the bias as seen by the (rows, n) output: one stride per axis or decompose
            shape, (st,) = collapse(lead, [broadcast_strides(bias, lead + (n,))[:-1]])
            if len(shape) > 1:
                return _decompose(od, x, weight, bias)
            esn = broadcast_strides(bias, lead + (n,))[-1]
            bias_args = (bias, 0, st[0] if st else 0, esn)
        x2 = _rows(x, k)
        out = new_like(x.dev, (x2.shape[0], n), x.dtype)
        wt = weight.view((k, n), (weight.strides[1], weight.strides[0]), weight.offset)
        gemm(out, x2, 0, wt, 0, 1, bias=bias_args)
        shape = lead + (n,)
        return out.view(shape, contiguous_strides(shape))
    kernel.__name__ = "rocm_linear"
    return kernel


def _linear_backward(od):
    def kernel(grad, x, weight, need_input, need_weight, need_bias):
        if weight is not None and weight.ndim != 2:
            return _decompose(od, grad, x, weight, need_input, need_weight, need_bias)
        from .matmul import matmul
        dev, dt = grad.dev, grad.dtype
        o = grad.shape[-1]
        rows = math.prod(grad.shape[:-1])
        none = new_like(dev, (0,), dt)
        gi = matmul(grad, weight) if need_input else none
        g2 = _rows(grad, o)
        gb = none
        if need_weight:
            k = x.shape[-1]
            gw = new_like(dev, (o, k), dt)
            if gw.size and rows:
                if need_bias:
                    gb = new_like(dev, (o,), dt)
                gt = g2.view((o, rows), (g2.strides[1], g2.strides[0]), g2.offset)
                gemm(gw, gt, 0, _rows(x, k), 0, 1, rowsum=gb if need_bias else None)
            elif gw.size:
                fill(gw, 0)  # over no rows
        else:
            gw = none
        if need_bias and gb is none:
            gb = reduce("sum", g2, (0,), False, dt)
        return gi, gw, gb
    kernel.__name__ = "rocm__linear_backward"
    return kernel


def kernels(registry) -> dict:
    """``linear`` and ``_linear_backward`` where the registry has them."""
    makers = {"linear": _linear, "_linear_backward": _linear_backward}
    return {name: make(registry[name]) for name, make in makers.items() if name in registry}
