"""Neural-network ops: activations, softmax, linear, dropout, embedding and attention
here; convolution and pooling (``convolution``), normalisation (``normalization``) and
losses (``losses``) in their own modules, all re-exported here.

Every op here is *composite*: its decomposition is written in ember's primitive ops,
so it runs (and differentiates) on any backend that implements the primitives.  A
backend may register a fused kernel under the same name (the CPU plugin does for the
hot ones, see ``ember_cpu.nn_kernels``); the dispatcher prefers it.  Shape rules run
before any backend, so a bad shape raises the same clear error everywhere.

Ops taking ``Tensor self`` become Tensor methods (``x.relu()``, ``x.softmax(1)``).
"""

from __future__ import annotations

import math

from .. import ops as _E  # the ops namespace (complete when these functions run)
from ..tensor import tensor as _tensor

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import broadcast_shapes, fail, wrap_dim
from ._nn_rules import _need_float, _shape

# Exported at the top level as in PyTorch (``ember.relu``); the losses and the rest are
# reached through ``ember.nn.functional`` (and ``ember.ops.nn``).
__all__ = ["relu", "softmax", "log_softmax", "dropout", "conv1d", "conv2d", "batch_norm",
           "layer_norm", "group_norm", "embedding", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d"]


# --- activations ----------------------------------------------------------------------

def _zero(t):
    """A Python zero that keeps ``t``'s dtype under promotion (``False`` for bool)."""
    return False if t.dtype is _dt.bool else 0


def _activation(sig: str, decomposition, doc: str):
    return defop(sig, tags=("composite", "pointwise"), promotion="int_to_float",
                 decomposition=decomposition, doc=doc)


relu = defop("relu(Tensor self) -> Tensor", tags=("composite", "pointwise"),
             promotion="default",
             decomposition=lambda self: _E.where(self < 0, _zero(self), self),
             doc="``max(self, 0)`` elementwise (NaN stays NaN).")
leaky_relu = _activation(
    "leaky_relu(Tensor input, Scalar negative_slope=0.01) -> Tensor",
    lambda input, negative_slope=0.01: _E.where(input > 0, input, input * negative_slope),
    "``input`` where positive, else ``negative_slope * input`` (so the gradient at 0 is "
    "``negative_slope``, as PyTorch's).")


def stable_softplus(x):
    """``log(1 + exp(x))`` without overflow, with the right gradient everywhere: ``x +
    log1p(exp(-x))`` above 0, else ``log1p(exp(x))``.  (``max(x, 0) + log1p(exp(-|x|))``
    has the same values but the gradient 1 at 0, not 0.5: neither ``max`` nor ``|x|`` is
    differentiable there.)  The clamps keep the masked branch finite (``0 * inf`` would
    turn its gradient into NaN)."""
    pos, neg = x.clamp_min(0.0), x.clamp_max(0.0)
    return _E.where(x > 0, pos + (-pos).exp().log1p(), neg.exp().log1p())


def _gelu_decomp(input, approximate="none"):
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (_E.tanh(inner) + 1.0)
    return input * 0.5 * (_E.erf(input * (1.0 / math.sqrt(2.0))) + 1.0)


def _gelu_meta(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        fail("gelu", f"argument 'approximate' must be 'none' or 'tanh', got {approximate!r}")
    _need_float("gelu", "input", input)
    return Spec(tuple(input.shape), input.dtype)


gelu = defop("gelu(Tensor input, str approximate='none') -> Tensor", tags=("composite",),
             meta=_gelu_meta, decomposition=_gelu_decomp,
             doc="Gaussian error linear unit; ``approximate='tanh'`` uses the tanh form.")
silu = _activation("silu(Tensor input) -> Tensor",
                   lambda input: input * _E.sigmoid(input), "``input * sigmoid(input)``.")


def _softmax_meta(op):
    def meta(self, dim, dtype=None):
        wrap_dim(dim, self.ndim, op)
        out = dtype or self.dtype
        if not out.is_floating_point:
            fail(op, f"expected a floating point input or dtype, got {out} (pass dtype=)")
        return Spec(tuple(self.shape), out)
    return meta


def _log_softmax_decomp(self, dim, dtype=None):
    x = self if dtype is None or dtype is self.dtype else self.astype(dtype)
    if x.numel() == 0:
        return x.clone()
    # Shifting by the (constant) maximum keeps exp() from overflowing; the shift does
    # not change the value, so it needs no gradient.
    shifted = x - x.detach().amax(dim, keepdim=True)
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


def _softmax_decomp(self, dim, dtype=None):
    x = self if dtype is None or dtype is self.dtype else self.astype(dtype)
    if x.numel() == 0:
        return x.clone()
    e = (x - x.detach().amax(dim, keepdim=True)).exp()
    return e / e.sum(dim, keepdim=True)


softmax = defop("softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor",
                tags=("composite",), meta=_softmax_meta("softmax"),
                decomposition=_softmax_decomp,
                doc="``exp(x) / exp(x).sum(dim)``, computed stably.")
log_softmax = defop("log_softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor",
                    tags=("composite",), meta=_softmax_meta("log_softmax"),
                    decomposition=_log_softmax_decomp,
                    doc="``log(softmax(x))`` computed stably (large logits stay finite).")


# --- linear ---------------------------------------------------------------------------

def _linear_meta(input, weight, bias=None):
    if weight.ndim not in (1, 2):
        fail("linear", f"argument 'weight' must be 1-D or 2-D (out_features, in_features), "
                       f"got shape {_shape(weight)}")
    if input.ndim == 0:
        fail("linear", "argument 'input' must have at least 1 dimension, got a 0-d tensor")
    if input.shape[-1] != weight.shape[-1]:
        fail("linear", f"input's last dimension is {input.shape[-1]} (input shape "
                       f"{_shape(input)}) but weight has shape {_shape(weight)}: expected "
                       f"in_features={weight.shape[-1]}")
    if input.dtype is not weight.dtype:
        fail("linear", f"expected input and weight to have the same dtype, got "
                       f"{input.dtype} and {weight.dtype}")
    out = tuple(input.shape[:-1]) + tuple(weight.shape[:-1])
    if bias is not None:
        if bias.dtype is not input.dtype:
            fail("linear", f"expected bias to have dtype {input.dtype}, got {bias.dtype}")
        if broadcast_shapes(tuple(bias.shape), out, op="linear", names=("bias", "output")) \
                != out:
            fail("linear", f"bias of shape {_shape(bias)} does not broadcast to the output "
                           f"shape {list(out)}")
    return Spec(out, input.dtype)


def _linear_decomp(input, weight, bias=None):
    out = _E.matmul(input, weight.t() if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


linear = defop("linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor",
               tags=("composite",), meta=_linear_meta, decomposition=_linear_decomp,
               doc="``input @ weight.T + bias`` (``weight`` is (out_features, in_features)).")


def _linear_weight_grad_decomp(grad, input):
    return _E.matmul(grad.reshape(-1, grad.shape[-1]).t(), input.reshape(-1, input.shape[-1]))


_linear_weight_grad = defop(
    "_linear_weight_grad(Tensor grad, Tensor input) -> Tensor", tags=("composite",),
    meta=lambda grad, input: Spec((grad.shape[-1], input.shape[-1]), input.dtype),
    decomposition=_linear_weight_grad_decomp, method=False,
    doc="``grad.T @ input`` over all leading dims: the weight gradient of ``linear``.")
def _linear_backward_meta(grad, input, weight, need_input, need_weight, need_bias):
    # ``weight`` is needed (and given) for the input's gradient, ``input`` for the
    # weight's; the others may be None.
    if need_input and weight is None or need_weight and input is None:
        fail("_linear_backward", "argument 'weight' is needed for the input's gradient and "
                                 "'input' for the weight's")
    gi = tuple(grad.shape[:-1]) + (weight.shape[1],) if need_input else (0,)
    gw = (grad.shape[-1], input.shape[-1]) if need_weight else (0,)
    gb = (grad.shape[-1],) if need_bias else (0,)
    return Spec(gi, grad.dtype), Spec(gw, grad.dtype), Spec(gb, grad.dtype)


def _linear_backward_decomp(grad, input, weight, need_input, need_weight, need_bias):
    from .creation import empty
    none = empty(0, dtype=grad.dtype, device=grad.device)
    gi = _E.matmul(grad, weight) if need_input else none
    gw = _linear_weight_grad(grad, input) if need_weight else none
    gb = grad.sum(tuple(range(grad.ndim - 1))) if need_bias else none
    return gi, gw, gb


_linear_backward = defop(
    "_linear_backward(Tensor grad, Tensor? input, Tensor? weight, bool need_input, "
    "bool need_weight, bool need_bias) -> (Tensor, Tensor, Tensor)", tags=("composite",),
    meta=_linear_backward_meta, decomposition=_linear_backward_decomp, method=False,
    doc="The gradients of ``linear`` (2-D weight) for input, weight and bias in one call; "
        "an output that is not needed is an empty tensor.")
threshold_backward = defop(
    "threshold_backward(Tensor grad_output, Tensor self, Scalar threshold) -> Tensor",
    tags=("composite",), method=False,
    meta=lambda grad_output, self, threshold: Spec(tuple(grad_output.shape),
                                                   grad_output.dtype),
    decomposition=lambda grad_output, self, threshold: _E.where(
        self <= threshold, _zero(grad_output), grad_output),
    doc="0 where ``self <= threshold``, else ``grad_output`` (the backward of ``relu``; "
        "as in PyTorch a NaN in ``self`` passes its gradient through).")


# --- dropout, embedding, attention ---------------------------------------------------------

def _dropout_meta(input, p=0.5, train=True, generator=None):
    if not 0.0 <= p <= 1.0:
        fail("dropout", f"dropout probability has to be between 0 and 1, but got {p}")
    return Spec(tuple(input.shape), input.dtype)


def _dropout_decomp(input, p=0.5, train=True, generator=None):
    if not train or p == 0.0:
        return input.clone() if input.numel() == 0 else input * 1.0
    if p == 1.0:
        return input * 0.0
    keep = _E.rand(tuple(input.shape), generator=generator, device=input.device) >= p
    return input * keep.astype(input.dtype) * (1.0 / (1.0 - p))


dropout = defop("dropout(Tensor input, float p=0.5, bool train=True, "
                "Generator? generator=None) -> Tensor",
                tags=("composite", "random"), meta=_dropout_meta, decomposition=_dropout_decomp,
                doc="Zero each element with probability ``p`` and scale the rest by "
                    "``1/(1-p)`` (identity when not training).")


def _embedding_meta(input, weight, padding_idx=None):
    if input.dtype.is_floating_point or input.dtype is _dt.bool:
        fail("embedding", f"expected argument 'input' (the indices) to have an integer "
                          f"dtype (int64 or int32), got {input.dtype}")
    if weight.ndim != 2:
        fail("embedding", f"argument 'weight' must be 2-D (num_embeddings, embedding_dim), "
                          f"got shape {_shape(weight)}")
    if padding_idx is not None and not -weight.shape[0] <= padding_idx < weight.shape[0]:
        fail("embedding", f"padding_idx {padding_idx} must be within num_embeddings "
                          f"({weight.shape[0]})")
    return Spec(tuple(input.shape) + (weight.shape[1],), weight.dtype)


def _embedding_decomp(input, weight, padding_idx=None):
    if padding_idx is not None:
        # The padding row gets no gradient: read it from a detached copy.
        rows = _E.arange(weight.shape[0], device=weight.device).reshape(-1, 1)
        weight = _E.where(rows == padding_idx % weight.shape[0], weight.detach(), weight)
    flat = _E.index_select(weight, 0, input.reshape(-1))
    return flat.reshape(tuple(input.shape) + (weight.shape[1],))


embedding = defop("embedding(Tensor input, Tensor weight, int? padding_idx=None) -> Tensor",
                  tags=("composite",), meta=_embedding_meta, decomposition=_embedding_decomp,
                  doc="Rows of ``weight`` picked by the integer ``input`` indices.")


def _sdpa_meta(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
               scale=None, generator=None):
    op = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        fail(op, "query, key and value must have at least 2 dimensions (..., L, E)")
    if query.shape[-1] != key.shape[-1]:
        fail(op, f"query's last dimension ({query.shape[-1]}) must match key's "
                 f"({key.shape[-1]}); got query {_shape(query)} and key {_shape(key)}")
    if key.shape[-2] != value.shape[-2]:
        fail(op, f"key and value must have the same sequence length; got key "
                 f"{_shape(key)} and value {_shape(value)}")
    batch = broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]),
                             tuple(value.shape[:-2]), op=op, names=("query", "key", "value"))
    lq, s = query.shape[-2], key.shape[-2]
    if attn_mask is not None:
        if is_causal:
            fail(op, "pass either attn_mask or is_causal=True, not both")
        broadcast_shapes(tuple(attn_mask.shape), batch + (lq, s), op=op,
                         names=("attn_mask", "attention weights"))
    if not 0.0 <= dropout_p <= 1.0:
        fail(op, f"dropout_p must be between 0 and 1, got {dropout_p}")
    return Spec(batch + (lq, value.shape[-1]), query.dtype)


def _sdpa_decomp(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                 scale=None, generator=None):
    import numpy as np
    sc = scale if scale is not None else 1.0 / math.sqrt(query.shape[-1])
    scores = _E.matmul(query, key.transpose(-2, -1)) * sc
    lq, s = query.shape[-2], key.shape[-2]
    if is_causal:
        attn_mask = _tensor(np.tril(np.ones((lq, s), dtype=bool)), device=query.device)
    if attn_mask is not None:
        if attn_mask.dtype is _dt.bool:
            scores = _E.where(attn_mask, scores, -math.inf)
        else:
            scores = scores + attn_mask
    if attn_mask is not None:
        # A query whose every key is masked attends to nothing: PyTorch's (>= 2.5) "safe
        # softmax" gives it zero weights, so zero output and gradient, where a plain
        # softmax gives NaN (that poisoned a batch holding one empty sequence).  The
        # scores are cleared first: softmax's backward of NaN would be NaN, masked or not.
        empty = (scores == -math.inf).all(-1, keepdim=True)
        weights = _E.where(empty, 0.0, softmax(_E.where(empty, 0.0, scores), -1))
    else:
        weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True, generator)
    return _E.matmul(weights, value)


scaled_dot_product_attention = defop(
    "scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, "
    "Tensor? attn_mask=None, float dropout_p=0.0, bool is_causal=False, float? scale=None, "
    "Generator? generator=None) -> Tensor",
    tags=("composite",), meta=_sdpa_meta, decomposition=_sdpa_decomp,
    doc="``softmax(q @ k.T * scale + mask) @ v``; a boolean mask keeps True positions; a "
        "query whose every key is masked gets zero output (PyTorch's safe softmax).")


# The other nn ops live in modules named after their concept; ``ember.ops.nn`` is the
# one place that has them all.
from .convolution import (  # noqa: E402, F401
    _conv2d_backward, _conv2d_backward_input, _conv2d_backward_weight,
    _max_pool2d_with_indices_backward,
    adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, max_pool2d, max_pool2d_with_indices, pad)
from .losses import (  # noqa: E402, F401
    _cross_entropy_backward, binary_cross_entropy, binary_cross_entropy_with_logits,
    cross_entropy, l1_loss, mse_loss, nll_loss)
from .normalization import batch_norm, group_norm, layer_norm  # noqa: E402


# --- derivatives ---
# Ops with a fused CPU kernel need a derivative (autograd would otherwise fall back to
# the decomposition); the rest are differentiated through their decompositions.
from ..autograd.rules import derivative, joint_derivative  # noqa: E402


def _linear_grad_weight(g, input, weight, bias=None):
    if weight.ndim == 1:
        return (g.unsqueeze(-1) * input).reshape(-1, weight.shape[0]).sum(0)
    return _linear_weight_grad(g, input)


derivative(linear, save=("input", "weight"),
           uses={"input": ("weight",), "weight": ("input",)},
           input=lambda g, input, weight, bias=None: (
               _E.matmul(g, weight) if weight.ndim == 2 else g.unsqueeze(-1) * weight),
           weight=_linear_grad_weight,
           # (a bias of 2+ dims: the engine sums g to its shape)
           bias=lambda g, input, weight, bias=None: (
               g.sum(tuple(range(g.ndim - 1))) if g.ndim > 1 and len(bias.shape) < 2 else g))


def _linear_joint(g, input, weight, bias=None, *, needs):
    # One fused call (one dispatch, one kernel) for the three gradients of a 2-D weight.
    nb = bias is not None and needs[2]
    if weight.ndim != 2 or g.ndim < 2 or nb and bias.ndim != 1:
        return NotImplemented  # (a 2-D bias: its formula sums g to the bias's shape)
    # only what a needed gradient reads was saved (the rest are shape records)
    gi, gw, gb = _linear_backward(g, input if needs[1] else None,
                                  weight if needs[0] else None, needs[0], needs[1], nb)
    return (gi if needs[0] else None, gw if needs[1] else None, gb if nb else None)


joint_derivative(linear, _linear_joint)
derivative(relu, save="result",
           self=lambda g, self, *, result: threshold_backward(g, result, 0))
derivative(log_softmax, save="result",
           self=lambda g, self, dim, dtype=None, *, result:
               g - result.exp() * g.sum(dim, keepdim=True))
derivative(softmax, save="result",
           self=lambda g, self, dim, dtype=None, *, result:
               result * (g - (g * result).sum(dim, keepdim=True)))
