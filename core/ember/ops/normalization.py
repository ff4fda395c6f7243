"""Normalisation ops: batch, layer and group norm.  See ``ember.ops.nn``."""

from __future__ import annotations

from ..schema import Spec, defop
from ._rules import fail
from ._nn_rules import _shape
from .reduction import deviations

__all__ = ["batch_norm", "layer_norm", "group_norm"]


# --- normalisation -----------------------------------------------------------------------

def _moments(x, dims):
    """``(mean, x - mean, biased variance)`` over ``dims`` (kept), numerically stable."""
    c, mean = deviations(x, dims)
    return mean, c, (c * c).mean(dims, keepdim=True)


def _batch_norm_meta(input, running_mean=None, running_var=None, weight=None, bias=None,
                     training=False, momentum=0.1, eps=1e-5):
    if input.ndim < 2:
        fail("batch_norm", f"expected an input with at least 2 dimensions (N, C, ...), got "
                           f"shape {_shape(input)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            fail("batch_norm", f"argument '{name}' must have shape [{c}] (the number of "
                               f"channels of input {_shape(input)}), got {_shape(t)}")
    if training and input.numel() // c == 1:
        fail("batch_norm", f"expected more than 1 value per channel when training, got "
                           f"input size {_shape(input)}")
    if not training and (running_mean is None or running_var is None):
        fail("batch_norm", "running_mean and running_var are required when not training")
    return Spec(tuple(input.shape), input.dtype)


def _affine(out, weight, bias, shape=None):
    """``out * weight + bias`` for the optional per-channel (``shape``: broadcastable
    view of them) or per-element affine parameters of a normalisation."""
    if weight is not None:
        out = out * (weight if shape is None else weight.reshape(shape))
    if bias is not None:
        out = out + (bias if shape is None else bias.reshape(shape))
    return out


def _batch_norm_decomp(input, running_mean=None, running_var=None, weight=None, bias=None,
                       training=False, momentum=0.1, eps=1e-5):
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if training:
        mean, centered, var = _moments(input, dims)
        if running_mean is not None:
            n = input.numel() // input.shape[1]
            m = mean.detach().reshape(-1)
            v = var.detach().reshape(-1) * (n / (n - 1))  # running_var is unbiased
            running_mean.mul_(1 - momentum).add_(m, alpha=momentum)
            running_var.mul_(1 - momentum).add_(v, alpha=momentum)
    else:
        centered = input - running_mean.reshape(shape)
        var = running_var.reshape(shape)
    return _affine(centered * (var + eps).rsqrt(), weight, bias, shape)


batch_norm = defop(
    "batch_norm(Tensor input, Tensor? running_mean=None, Tensor? running_var=None, "
    "Tensor? weight=None, Tensor? bias=None, bool training=False, float momentum=0.1, "
    "float eps=1e-05) -> Tensor",
    tags=("composite",), meta=_batch_norm_meta, decomposition=_batch_norm_decomp,
    doc="Batch normalisation over dim 1; in training it uses the batch statistics and "
        "updates ``running_mean``/``running_var`` in place.")


def _layer_norm_meta(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    ns = tuple(normalized_shape)
    if not ns or tuple(input.shape[input.ndim - len(ns):]) != ns or len(ns) > input.ndim:
        fail("layer_norm", f"given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size "
                           f"{_shape(input)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            fail("layer_norm", f"argument '{name}' must have shape {list(ns)}, got "
                               f"{_shape(t)}")
    return Spec(tuple(input.shape), input.dtype)


def _layer_norm_decomp(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    _, centered, var = _moments(input, dims)
    return _affine(centered * (var + eps).rsqrt(), weight, bias)


layer_norm = defop(
    "layer_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, "
    "Tensor? bias=None, float eps=1e-05) -> Tensor",
    tags=("composite",), meta=_layer_norm_meta, decomposition=_layer_norm_decomp,
    doc="Normalise over the trailing ``normalized_shape`` dimensions.")


def _group_norm_meta(input, num_groups, weight=None, bias=None, eps=1e-5):
    if input.ndim < 2:
        fail("group_norm", f"expected an input with at least 2 dimensions (N, C, ...), got "
                           f"shape {_shape(input)}")
    c = input.shape[1]
    if num_groups <= 0 or c % num_groups:
        fail("group_norm", f"expected number of channels in input ({c}) to be divisible "
                           f"by num_groups ({num_groups})")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            fail("group_norm", f"argument '{name}' must have shape [{c}], got {_shape(t)}")
    return Spec(tuple(input.shape), input.dtype)


def _group_norm_decomp(input, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = input.shape[0], input.shape[1]
    x = input.reshape(n, num_groups, -1)
    _, centered, var = _moments(x, (2,))
    out = (centered * (var + eps).rsqrt()).reshape(input.shape)
    return _affine(out, weight, bias, (1, c) + (1,) * (input.ndim - 2))


group_norm = defop(
    "group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, "
    "float eps=1e-05) -> Tensor",
    tags=("composite",), meta=_group_norm_meta, decomposition=_group_norm_decomp,
    doc="Normalise over groups of channels (and all spatial positions).")
