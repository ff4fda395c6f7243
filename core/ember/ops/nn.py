"""Neural-network ops: activations, softmax, losses, linear, convolution, pooling,
normalisation, dropout, embedding and attention.

Every op here is *composite*: its decomposition is written in ember's primitive ops,
so it runs (and differentiates) on any backend that implements the primitives.  A
backend may register a fused kernel under the same name (the CPU plugin does for the
hot ones, see ``ember_cpu.nn_kernels``); the dispatcher prefers it.  Shape rules run
before any backend, so a bad shape raises the same clear error everywhere.

Ops taking ``Tensor self`` become Tensor methods (``x.relu()``, ``x.softmax(1)``).
"""

from __future__ import annotations

import math

import ember as _E

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import broadcast_shapes, fail, wrap_dim

# Exported at the top level as in PyTorch (``ember.relu``); the losses and the rest are
# reached through ``ember.nn.functional`` (and ``ember.ops.nn``).
__all__ = ["relu", "softmax", "log_softmax", "dropout", "conv1d", "conv2d", "batch_norm",
           "layer_norm", "group_norm", "embedding", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d"]

_REDUCTIONS = ("mean", "sum", "none")


def _shape(t) -> list:
    return list(t.shape)


def _need_float(op: str, arg: str, t) -> None:
    if not t.dtype.is_floating_point:
        fail(op, f"argument '{arg}' must be a floating point tensor, got {t.dtype}")


def _reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        fail(op, f"argument 'reduction' must be one of 'mean', 'sum' or 'none', "
                 f"got {reduction!r}")


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(v, n: int, op: str, arg: str) -> tuple:
    """An ``int[]`` argument given as one int or ``n`` ints, as ``n`` ints."""
    v = tuple(v)
    if len(v) == 1:
        v = v * n
    if len(v) != n:
        fail(op, f"argument '{arg}' must be an int or a list of {n} ints, got {list(v)}")
    return v


# --- activations ----------------------------------------------------------------------

def _activation(sig: str, decomposition, doc: str):
    return defop(sig, tags=("composite", "pointwise"), promotion="int_to_float",
                 decomposition=decomposition, doc=doc)


relu = defop("relu(Tensor self) -> Tensor", tags=("composite", "pointwise"),
             promotion="default",
             decomposition=lambda self: _E.where(self < 0, 0, self),
             doc="``max(self, 0)`` elementwise (NaN stays NaN).")
leaky_relu = _activation(
    "leaky_relu(Tensor input, Scalar negative_slope=0.01) -> Tensor",
    lambda input, negative_slope=0.01: _E.where(input < 0, input * negative_slope, input),
    "``input`` where positive, else ``negative_slope * input``.")


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
threshold_backward = defop(
    "threshold_backward(Tensor grad_output, Tensor self, Scalar threshold) -> Tensor",
    tags=("composite",), method=False,
    meta=lambda grad_output, self, threshold: Spec(tuple(grad_output.shape),
                                                   grad_output.dtype),
    decomposition=lambda grad_output, self, threshold: _E.where(self > threshold,
                                                                grad_output, 0),
    doc="``grad_output`` where ``self > threshold``, else 0 (the backward of ``relu``).")


# --- padding, convolution, pooling -------------------------------------------------------

def _pad_meta(input, pad, mode="constant", value=0.0):
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        fail("pad", f"argument 'pad' must have an even length of at most 2 * input.ndim "
                    f"({2 * input.ndim}), got {list(pad)}")
    if mode != "constant":
        fail("pad", f"only mode='constant' is supported, got {mode!r}")
    shape = list(input.shape)
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        shape[d] += pad[2 * i] + pad[2 * i + 1]
        if shape[d] < 0:
            fail("pad", f"padding {list(pad)} gives a negative size for dimension {d} of "
                        f"input shape {_shape(input)}")
    return Spec(tuple(shape), input.dtype)


def _pad_decomp(input, pad, mode="constant", value=0.0):
    out = input
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if lo < 0:
            out = out.narrow(d, -lo, out.shape[d] + lo)
        if hi < 0:
            out = out.narrow(d, 0, out.shape[d] + hi)
        parts = []
        for n in (max(lo, 0), max(hi, 0)):
            shape = list(out.shape)
            shape[d] = n
            parts.append(_E.full(shape, value, dtype=out.dtype, device=out.device))
        if lo > 0 or hi > 0:
            out = _E.cat([parts[0], out, parts[1]], d)
    return out


pad = defop("pad(Tensor input, int[] pad, str mode='constant', float value=0.0) -> Tensor",
            tags=("composite",), meta=_pad_meta, decomposition=_pad_decomp,
            doc="Pad the last ``len(pad) // 2`` dimensions: ``pad`` lists (left, right) "
                "amounts starting from the last dimension; negative amounts crop.")


def _conv_out(size, k, s, p, d, op, what):
    n = (size + 2 * p - d * (k - 1) - 1) // s + 1
    if n <= 0:
        fail(op, f"the {what} of the input after padding ({size + 2 * p}) is smaller than "
                 f"the dilated kernel ({d * (k - 1) + 1})")
    return n


def _conv2d_meta(input, weight, bias=None, stride=(1,), padding=(0,), dilation=(1,),
                 groups=1, op="conv2d"):
    if input.ndim not in (3, 4):
        fail(op, f"expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                 f"{_shape(input)}")
    if weight.ndim != 4:
        fail(op, f"expected a 4-D weight (out_channels, in_channels/groups, kH, kW), got "
                 f"shape {_shape(weight)}")
    s = _pair(stride, 2, op, "stride")
    p = _pair(padding, 2, op, "padding")
    d = _pair(dilation, 2, op, "dilation")
    if min(s) <= 0 or min(d) <= 0 or min(p) < 0:
        fail(op, f"stride and dilation must be positive and padding non-negative, got "
                 f"stride={list(s)}, padding={list(p)}, dilation={list(d)}")
    if groups <= 0 or weight.shape[0] % groups:
        fail(op, f"out_channels ({weight.shape[0]}) must be divisible by groups ({groups})")
    c = input.shape[-3]
    if c != weight.shape[1] * groups:
        fail(op, f"expected input of shape {_shape(input)} to have "
                 f"{weight.shape[1] * groups} channels (weight of shape {_shape(weight)} "
                 f"with groups={groups}), but got {c} channels instead")
    if input.dtype is not weight.dtype:
        fail(op, f"expected input and weight to have the same dtype, got {input.dtype} and "
                 f"{weight.dtype}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        fail(op, f"expected bias of shape [{weight.shape[0]}], got {_shape(bias)}")
    oh = _conv_out(input.shape[-2], weight.shape[2], s[0], p[0], d[0], op, "height")
    ow = _conv_out(input.shape[-1], weight.shape[3], s[1], p[1], d[1], op, "width")
    return Spec(tuple(input.shape[:-3]) + (weight.shape[0], oh, ow), input.dtype)


def _windows(x, kh, kw, s, d):
    """(N, C, H, W) -> (N, C, OH, OW, kh, kw) windows (views where the backend can)."""
    x = x.unfold(2, d[0] * (kh - 1) + 1, s[0]).unfold(3, d[1] * (kw - 1) + 1, s[1])
    if d != (1, 1):
        x = x[..., ::d[0], ::d[1]]
    return x


def _conv2d_decomp(input, weight, bias=None, stride=(1,), padding=(0,), dilation=(1,),
                   groups=1):
    s, p, d = _pair(stride, 2, "", ""), _pair(padding, 2, "", ""), _pair(dilation, 2, "", "")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    if p != (0, 0):
        x = pad(x, (p[1], p[1], p[0], p[0]))
    o, cg, kh, kw = weight.shape
    n = x.shape[0]
    win = _windows(x, kh, kw, s, d)  # (N, C, OH, OW, kh, kw)
    oh, ow = win.shape[2], win.shape[3]
    # im2col: one matrix product per group over (C/groups * kh * kw) features.
    cols = win.reshape(n, groups, cg, oh, ow, kh, kw).permute(1, 0, 3, 4, 2, 5, 6)
    cols = cols.reshape(groups, n * oh * ow, cg * kh * kw)
    w = weight.reshape(groups, o // groups, cg * kh * kw).transpose(1, 2)
    out = _E.matmul(cols, w)  # (groups, N*OH*OW, O/groups)
    out = out.reshape(groups, n, oh, ow, o // groups).permute(1, 0, 4, 2, 3)
    out = out.reshape(n, o, oh, ow)
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1)
    return out.squeeze(0) if unbatched else out


_CONV_ARGS = ("Tensor input, Tensor weight, Tensor? bias=None, int[] stride=1, "
              "int[] padding=0, int[] dilation=1, int groups=1")
conv2d = defop(f"conv2d({_CONV_ARGS}) -> Tensor", tags=("composite",), meta=_conv2d_meta,
               decomposition=_conv2d_decomp,
               doc="2-D convolution (cross-correlation) over (N, C, H, W) or (C, H, W) "
                   "input, with stride, padding, dilation and groups (im2col + matmul).")


def _conv1d_args(stride, padding, dilation):
    return ((1,) + tuple(_pair(stride, 1, "conv1d", "stride")),
            (0,) + tuple(_pair(padding, 1, "conv1d", "padding")),
            (1,) + tuple(_pair(dilation, 1, "conv1d", "dilation")))


def _conv1d_meta(input, weight, bias=None, stride=(1,), padding=(0,), dilation=(1,),
                 groups=1):
    if input.ndim not in (2, 3) or weight.ndim != 3:
        fail("conv1d", f"expected a 2-D (C, L) or 3-D (N, C, L) input and a 3-D weight, got "
                       f"input of shape {_shape(input)} and weight of shape "
                       f"{_shape(weight)}")
    s, p, d = _conv1d_args(stride, padding, dilation)

    class _S:  # shapes only: conv1d is conv2d over (…, 1, L)
        def __init__(self, t, shape):
            self.shape, self.dtype, self.ndim = shape, t.dtype, len(shape)
    spec = _conv2d_meta(_S(input, tuple(input.shape[:-1]) + (1, input.shape[-1])),
                        _S(weight, tuple(weight.shape[:-1]) + (1, weight.shape[-1])),
                        bias, s, p, d, groups, op="conv1d")
    return Spec(spec.shape[:-2] + spec.shape[-1:], spec.dtype)


def _conv1d_decomp(input, weight, bias=None, stride=(1,), padding=(0,), dilation=(1,),
                   groups=1):
    s, p, d = _conv1d_args(stride, padding, dilation)
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, s, p, d, groups)
    return out.squeeze(-2)


conv1d = defop(f"conv1d({_CONV_ARGS}) -> Tensor", tags=("composite",), meta=_conv1d_meta,
               decomposition=_conv1d_decomp,
               doc="1-D convolution over (N, C, L) or (C, L) input.")


def _pool_geometry(op, input, kernel_size, stride, padding, dilation, ceil_mode):
    if input.ndim not in (3, 4):
        fail(op, f"expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                 f"{_shape(input)}")
    k = _pair(kernel_size, 2, op, "kernel_size")
    s = _pair(stride, 2, op, "stride") if len(stride) else k
    p = _pair(padding, 2, op, "padding")
    d = _pair(dilation, 2, op, "dilation")
    if min(k) <= 0 or min(s) <= 0 or min(d) <= 0:
        fail(op, f"kernel_size, stride and dilation must be positive, got kernel_size="
                 f"{list(k)}, stride={list(s)}, dilation={list(d)}")
    for i in range(2):
        if p[i] < 0 or p[i] > k[i] // 2:
            fail(op, f"padding should be at most half of the effective kernel size, but got "
                     f"padding={list(p)} and kernel_size={list(k)}")
    out = []
    for i, size in enumerate(input.shape[-2:]):
        span = size + 2 * p[i] - d[i] * (k[i] - 1) - 1
        if span < 0:
            fail(op, f"output size is too small: input of shape {_shape(input)} with "
                     f"kernel_size={list(k)}, padding={list(p)}, dilation={list(d)}")
        n = (-(-span // s[i]) if ceil_mode else span // s[i]) + 1
        if ceil_mode and (n - 1) * s[i] >= size + p[i]:
            n -= 1  # the last window must start inside the input or its left padding
        out.append(n)
    return k, s, p, d, tuple(out)


def _pool_meta(op):
    def meta(input, kernel_size, stride=(), padding=(0,), dilation=(1,), ceil_mode=False,
             *rest):
        *_, out = _pool_geometry(op, input, kernel_size, stride, padding, dilation,
                                 ceil_mode)
        return Spec(tuple(input.shape[:-2]) + out, input.dtype)
    return meta


def _pool_windows(x, k, s, p, d, out, value):
    """Pad ``x`` (also on the right for ceil mode) and cut its pooling windows."""
    extra = [max(0, (out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - (x.shape[2 + i] + 2 * p[i]))
             for i in range(2)]
    if any(p) or any(extra):
        x = pad(x, (p[1], p[1] + extra[1], p[0], p[0] + extra[0]), value=value)
    return _windows(x, k[0], k[1], s, d)


def _max_pool2d_decomp(input, kernel_size, stride=(), padding=(0,), dilation=(1,),
                       ceil_mode=False):
    k, s, p, d, out = _pool_geometry("max_pool2d", input, kernel_size, stride, padding,
                                     dilation, ceil_mode)
    x = input.unsqueeze(0) if input.ndim == 3 else input
    win = _pool_windows(x, k, s, p, d, out, -math.inf)
    flat = win.reshape(tuple(win.shape[:4]) + (k[0] * k[1],))
    # gather at the first maximum (not amax, which splits the gradient among ties):
    # PyTorch sends a window's gradient to its first maximum in scan order.
    first = flat.detach().argmax(-1, keepdim=True)
    r = flat.gather(-1, first).squeeze(-1)
    return r.squeeze(0) if input.ndim == 3 else r


max_pool2d = defop("max_pool2d(Tensor input, int[] kernel_size, int[] stride=[], "
                   "int[] padding=0, int[] dilation=1, bool ceil_mode=False) -> Tensor",
                   tags=("composite",), meta=_pool_meta("max_pool2d"),
                   decomposition=_max_pool2d_decomp,
                   doc="2-D max pooling (stride defaults to kernel_size).")


def _vjp_of(fn, grad, tensors: tuple, wrt: int, *rest):
    """Gradient w.r.t. ``tensors[wrt]`` of ``fn(*tensors, *rest)`` by differentiating its
    decomposition: the portable form of a fused kernel's backward op."""
    from ..autograd import enable_grad, grad as _grad
    with enable_grad():
        leaves = [t.detach().requires_grad_(i == wrt) for i, t in enumerate(tensors)]
        out = fn(*leaves, *rest)
        (g,) = _grad([out], [leaves[wrt]], [grad])
    return g.detach()


def _conv_backward_meta(which):
    def meta(grad, input, weight, stride=(1,), padding=(0,), dilation=(1,), groups=1):
        t = input if which == 0 else weight
        return Spec(tuple(t.shape), t.dtype)
    return meta


_CONV_BW_ARGS = ("Tensor grad, Tensor input, Tensor weight, int[] stride, int[] padding, "
                 "int[] dilation, int groups")
_conv2d_backward_input = defop(
    f"_conv2d_backward_input({_CONV_BW_ARGS}) -> Tensor", tags=("composite",),
    meta=_conv_backward_meta(0), method=False,
    decomposition=lambda grad, input, weight, *rest: _vjp_of(
        _conv2d_decomp, grad, (input, weight), 0, None, *rest),
    doc="Gradient of ``conv2d`` w.r.t. its input.")
_conv2d_backward_weight = defop(
    f"_conv2d_backward_weight({_CONV_BW_ARGS}) -> Tensor", tags=("composite",),
    meta=_conv_backward_meta(1), method=False,
    decomposition=lambda grad, input, weight, *rest: _vjp_of(
        _conv2d_decomp, grad, (input, weight), 1, None, *rest),
    doc="Gradient of ``conv2d`` w.r.t. its weight.")
_max_pool2d_backward = defop(
    "_max_pool2d_backward(Tensor grad, Tensor input, int[] kernel_size, int[] stride, "
    "int[] padding, int[] dilation, bool ceil_mode) -> Tensor", tags=("composite",),
    meta=lambda grad, input, *rest: Spec(tuple(input.shape), input.dtype), method=False,
    decomposition=lambda grad, input, *rest: _vjp_of(_max_pool2d_decomp, grad, (input,), 0,
                                                     *rest),
    doc="Gradient of ``max_pool2d`` w.r.t. its input (to the first maximum of a window).")


def _avg_pool2d_decomp(input, kernel_size, stride=(), padding=(0,), ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    k, s, p, d, out = _pool_geometry("avg_pool2d", input, kernel_size, stride, padding,
                                     (1,), ceil_mode)
    x = input.unsqueeze(0) if input.ndim == 3 else input
    total = _pool_windows(x, k, s, p, d, out, 0.0).sum((-2, -1))
    if divisor_override:
        r = total / divisor_override
    elif not (ceil_mode or (any(p) and not count_include_pad)):
        r = total / (k[0] * k[1])
    else:
        # Count, per window, the cells that belong to the input (and to the explicit
        # padding when count_include_pad): pool a mask the same way.
        h, w = x.shape[-2:]
        mask = _E.ones((1, 1, h, w), dtype=x.dtype, device=x.device)
        if count_include_pad:
            mask = pad(mask, (p[1], p[1], p[0], p[0]), value=1.0)
            cnt = _pool_windows(mask, k, s, (0, 0), d, out, 0.0).sum((-2, -1))
        else:
            cnt = _pool_windows(mask, k, s, p, d, out, 0.0).sum((-2, -1))
        r = total / cnt
    return r.squeeze(0) if input.ndim == 3 else r


def _avg_pool_meta(input, kernel_size, stride=(), padding=(0,), ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
    if divisor_override is not None and divisor_override == 0:
        fail("avg_pool2d", "argument 'divisor_override' must not be zero")
    return _pool_meta("avg_pool2d")(input, kernel_size, stride, padding, (1,), ceil_mode)


avg_pool2d = defop("avg_pool2d(Tensor input, int[] kernel_size, int[] stride=[], "
                   "int[] padding=0, bool ceil_mode=False, bool count_include_pad=True, "
                   "int? divisor_override=None) -> Tensor",
                   tags=("composite",), meta=_avg_pool_meta, decomposition=_avg_pool2d_decomp,
                   doc="2-D average pooling (stride defaults to kernel_size).")


def _adaptive_meta(input, output_size):
    if input.ndim not in (3, 4):
        fail("adaptive_avg_pool2d", f"expected a 3-D or 4-D input, got shape {_shape(input)}")
    o = _pair(output_size, 2, "adaptive_avg_pool2d", "output_size")
    if min(o) <= 0 and input.numel():
        fail("adaptive_avg_pool2d", f"output_size must be positive, got {list(o)}")
    return Spec(tuple(input.shape[:-2]) + o, input.dtype)


def _averaging_matrix(n_in: int, n_out: int):
    """(n_out, n_in) matrix whose row i averages PyTorch's adaptive window i."""
    import numpy as np
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _adaptive_decomp(input, output_size):
    o = _pair(output_size, 2, "", "")
    h, w = input.shape[-2:]
    if h % o[0] == 0 and w % o[1] == 0:
        shape = tuple(input.shape[:-2]) + (o[0], h // o[0], o[1], w // o[1])
        return input.reshape(shape).mean((-3, -1))
    # Uneven windows: two small averaging matrices, ``P_h @ x @ P_w.T``.
    ph = _E.tensor(_averaging_matrix(h, o[0]), dtype=input.dtype, device=input.device)
    pw = _E.tensor(_averaging_matrix(w, o[1]).T, dtype=input.dtype, device=input.device)
    return _E.matmul(_E.matmul(ph, input), pw)


adaptive_avg_pool2d = defop(
    "adaptive_avg_pool2d(Tensor input, int[] output_size) -> Tensor", tags=("composite",),
    meta=_adaptive_meta, decomposition=_adaptive_decomp,
    doc="Average pooling to a fixed output size (PyTorch's window boundaries).")


# --- normalisation -----------------------------------------------------------------------

def _moments(x, dims):
    mean = x.mean(dims, keepdim=True)
    c = x - mean
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
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


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
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


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
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


group_norm = defop(
    "group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, "
    "float eps=1e-05) -> Tensor",
    tags=("composite",), meta=_group_norm_meta, decomposition=_group_norm_decomp,
    doc="Normalise over groups of channels (and all spatial positions).")


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
        attn_mask = _E.tensor(np.tril(np.ones((lq, s), dtype=bool)), device=query.device)
    if attn_mask is not None:
        if attn_mask.dtype is _dt.bool:
            scores = _E.where(attn_mask, scores, -math.inf)
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True, generator)
    return _E.matmul(weights, value)


scaled_dot_product_attention = defop(
    "scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, "
    "Tensor? attn_mask=None, float dropout_p=0.0, bool is_causal=False, float? scale=None, "
    "Generator? generator=None) -> Tensor",
    tags=("composite",), meta=_sdpa_meta, decomposition=_sdpa_decomp,
    doc="``softmax(q @ k.T * scale + mask) @ v``; a boolean mask keeps True positions.")


# --- losses -------------------------------------------------------------------------------

def _pair_loss_meta(op):
    def meta(input, target, reduction="mean"):
        _reduction(op, reduction)
        _need_float(op, "input", input)
        if tuple(input.shape) != tuple(target.shape):
            fail(op, f"input of shape {_shape(input)} and target of shape {_shape(target)} "
                     f"must have the same shape")
        return Spec(() if reduction != "none" else tuple(input.shape),
                    _dt.promote_types(input.dtype, target.dtype))
    return meta


def _mse_decomp(input, target, reduction="mean"):
    d = input - target
    return _reduce(d * d, reduction)


def _l1_decomp(input, target, reduction="mean"):
    return _reduce((input - target).abs(), reduction)


mse_loss = defop("mse_loss(Tensor input, Tensor target, str reduction='mean') -> Tensor",
                 tags=("composite",), meta=_pair_loss_meta("mse_loss"),
                 decomposition=_mse_decomp, doc="Mean squared error.")
l1_loss = defop("l1_loss(Tensor input, Tensor target, str reduction='mean') -> Tensor",
                tags=("composite",), meta=_pair_loss_meta("l1_loss"),
                decomposition=_l1_decomp, doc="Mean absolute error.")


def _class_target_meta(op, input, target, weight, reduction):
    _reduction(op, reduction)
    _need_float(op, "input", input)
    if input.ndim == 0:
        fail(op, "argument 'input' must have at least 1 dimension (C) or 2 (N, C, ...)")
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if weight is not None and tuple(weight.shape) != (c,):
        fail(op, f"argument 'weight' must have shape [{c}] (one per class), got "
                 f"{_shape(weight)}")
    if target.dtype.is_floating_point:
        return c, True
    if target.dtype is _dt.bool:
        fail(op, "argument 'target' must hold class indices (int64) or class "
                 "probabilities (float), got bool")
    expected = (input.shape[:1] + input.shape[2:]) if input.ndim >= 2 else ()
    if tuple(target.shape) != tuple(expected):
        fail(op, f"expected target of shape {list(expected)} for input of shape "
                 f"{_shape(input)} (N, C, ...), got target of shape {_shape(target)}")
    return c, False


def _nll_meta(input, target, weight=None, reduction="mean", ignore_index=-100):
    _, probs = _class_target_meta("nll_loss", input, target, weight, reduction)
    if probs:
        fail("nll_loss", f"argument 'target' must hold class indices (an integer tensor), "
                         f"got {target.dtype}")
    shape = () if reduction != "none" else tuple(target.shape)
    return Spec(shape, input.dtype)


def _class_mask(target, c: int, cdim: int):
    """Boolean (…, C, …) mask of each element's target class along ``cdim``."""
    shape = [1] * (target.ndim + 1)
    shape[cdim] = c
    classes = _E.arange(c, device=target.device).reshape(shape)
    return target.unsqueeze(cdim) == classes


def _picked(logp, target, weight, ignore_index):
    """(-logp[target] * w, w) per element; ignored elements weigh 0."""
    cdim = 1 if logp.ndim >= 2 else 0
    c = logp.shape[cdim]
    valid = target != ignore_index
    mask = _class_mask(_E.where(valid, target, 0), c, cdim)
    # where(), not a product with the mask: log-probabilities may be -inf.
    picked = _E.where(mask, logp, 0.0).sum(cdim)
    w = valid.astype(logp.dtype)
    if weight is not None:
        wshape = [1] * logp.ndim
        wshape[cdim] = c
        w = w * _E.where(mask, weight.reshape(wshape), 0.0).sum(cdim)
    return -picked * w, w


def _nll_decomp(input, target, weight=None, reduction="mean", ignore_index=-100):
    loss, w = _picked(input, target, weight, ignore_index)
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


nll_loss = defop("nll_loss(Tensor input, Tensor target, Tensor? weight=None, "
                 "str reduction='mean', int ignore_index=-100) -> Tensor",
                 tags=("composite",), meta=_nll_meta, decomposition=_nll_decomp,
                 doc="Negative log-likelihood of log-probabilities ``input`` (N, C, ...) "
                     "at class indices ``target``; ``mean`` divides by the total weight.")


def _ce_meta(input, target, weight=None, reduction="mean", ignore_index=-100,
             label_smoothing=0.0):
    _, probs = _class_target_meta("cross_entropy", input, target, weight, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        fail("cross_entropy", f"label_smoothing must be between 0.0 and 1.0, got "
                              f"{label_smoothing}")
    if probs:
        if tuple(target.shape) != tuple(input.shape):
            fail("cross_entropy", f"class-probability target must have the input's shape "
                                  f"{_shape(input)}, got {_shape(target)}")
        if target.dtype is not input.dtype:
            fail("cross_entropy", f"expected a probability target of dtype {input.dtype}, "
                                  f"got {target.dtype}")
    batch = (tuple(input.shape[:1]) + tuple(input.shape[2:])) if input.ndim >= 2 else ()
    return Spec(() if reduction != "none" else batch, input.dtype)


def _ce_decomp(input, target, weight=None, reduction="mean", ignore_index=-100,
               label_smoothing=0.0):
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = c
    if target.dtype.is_floating_point:
        if label_smoothing > 0:
            target = target * (1.0 - label_smoothing) + label_smoothing / c
        prod = logp * target
        if weight is not None:
            prod = prod * weight.reshape(wshape)
        loss = -prod.sum(cdim)
        if reduction == "mean":
            return loss.sum() / (input.numel() // c) if input.numel() else loss.sum() * math.nan
        return _reduce(loss, reduction)
    nll, w = _picked(logp, target, weight, ignore_index)
    if reduction == "mean":
        total = w.sum()
        out = nll.sum() / total
    else:
        out = _reduce(nll, reduction)
    if label_smoothing > 0:
        lp = logp * weight.reshape(wshape) if weight is not None else logp
        smooth = -lp.sum(cdim) * (target != ignore_index).astype(input.dtype)
        smooth = smooth.sum() / total if reduction == "mean" else _reduce(smooth, reduction)
        out = out * (1.0 - label_smoothing) + smooth * (label_smoothing / c)
    return out


cross_entropy = defop(
    "cross_entropy(Tensor input, Tensor target, Tensor? weight=None, str reduction='mean', "
    "int ignore_index=-100, float label_smoothing=0.0) -> Tensor",
    tags=("composite",), meta=_ce_meta, decomposition=_ce_decomp,
    doc="Cross-entropy of logits ``input`` (N, C, ...) against class indices or class "
        "probabilities, with class ``weight``, ``ignore_index`` and ``label_smoothing``; "
        "computed through a stable log-softmax.")


def _ce_backward_meta(grad, input, target, weight=None, reduction="mean",
                      ignore_index=-100, label_smoothing=0.0):
    return Spec(tuple(input.shape), input.dtype)


def _ce_backward_decomp(grad, input, target, weight=None, reduction="mean",
                        ignore_index=-100, label_smoothing=0.0):
    # With loss_i = -sum_j d_ij logp_ij, d loss_i / d x_ik = p_ik * sum_j d_ij - d_ik.
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    p = softmax(input, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = c
    wc = weight.reshape(wshape) if weight is not None else None
    ls = label_smoothing
    if target.dtype.is_floating_point:
        d = target * (1.0 - ls) + ls / c if ls else target
        if wc is not None:
            d = d * wc
        denom = input.numel() // c
    else:
        valid = target != ignore_index
        mask = _class_mask(_E.where(valid, target, 0), c, cdim).astype(input.dtype)
        wt = valid.astype(input.dtype)
        if wc is not None:
            wt = wt * (mask * wc).sum(cdim)
        d = mask * wt.unsqueeze(cdim) * (1.0 - ls)
        if ls:
            d = d + valid.unsqueeze(cdim).astype(input.dtype) * (
                wc if wc is not None else 1.0) * (ls / c)
        denom = wt.sum()
    g = p * d.sum(cdim, keepdim=True) - d
    if reduction == "none":
        return g * grad.unsqueeze(cdim)
    if reduction == "mean":
        g = g / denom
    return g * grad


_cross_entropy_backward = defop(
    "_cross_entropy_backward(Tensor grad, Tensor input, Tensor target, Tensor? weight=None, "
    "str reduction='mean', int ignore_index=-100, float label_smoothing=0.0) -> Tensor",
    tags=("composite",), meta=_ce_backward_meta, decomposition=_ce_backward_decomp,
    method=False, doc="Gradient of ``cross_entropy`` w.r.t. its logits ``input``.")


def _bce_meta(op):
    def meta(input, target, weight=None, *rest):
        reduction = rest[-1] if rest else "mean"
        _reduction(op, reduction)
        _need_float(op, "input", input)
        if tuple(input.shape) != tuple(target.shape):
            fail(op, f"using a target size ({_shape(target)}) that is different to the "
                     f"input size ({_shape(input)}) is not supported; please make sure "
                     f"they have the same size")
        if weight is not None:
            broadcast_shapes(tuple(weight.shape), tuple(input.shape), op=op,
                             names=("weight", "input"))
        return Spec(() if reduction != "none" else tuple(input.shape), input.dtype)
    return meta


def _bce_decomp(input, target, weight=None, reduction="mean"):
    # PyTorch clamps the logs at -100 so that 0 * log(0) stays finite.
    lx = input.log().clamp_min(-100.0)
    l1x = (1.0 - input).log().clamp_min(-100.0)
    loss = -(target * lx + (1.0 - target) * l1x)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


binary_cross_entropy = defop(
    "binary_cross_entropy(Tensor input, Tensor target, Tensor? weight=None, "
    "str reduction='mean') -> Tensor",
    tags=("composite",), meta=_bce_meta("binary_cross_entropy"), decomposition=_bce_decomp,
    doc="Binary cross-entropy of probabilities ``input`` in [0, 1].")


def _bce_logits_decomp(input, target, weight=None, pos_weight=None, reduction="mean"):
    # log(1 + exp(-|x|)) + max(-x, 0) is log(1 + exp(-x)) without overflow.
    softplus_neg = (-input.abs()).exp().log1p() + (-input).clamp_min(0.0)
    if pos_weight is not None:
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * softplus_neg
    else:
        loss = (1.0 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


binary_cross_entropy_with_logits = defop(
    "binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight=None, "
    "Tensor? pos_weight=None, str reduction='mean') -> Tensor",
    tags=("composite",), meta=_bce_meta("binary_cross_entropy_with_logits"),
    decomposition=_bce_logits_decomp,
    doc="``binary_cross_entropy(sigmoid(input), target)`` computed stably from logits.")


# --- derivatives ---
# Ops with a fused CPU kernel need a derivative (autograd would otherwise fall back to
# the decomposition); the rest are differentiated through their decompositions.
from ..autograd.rules import derivative  # noqa: E402


def _linear_grad_weight(g, input, weight, bias=None):
    if weight.ndim == 1:
        return (g.unsqueeze(-1) * input).reshape(-1, weight.shape[0]).sum(0)
    return _linear_weight_grad(g, input)


derivative(linear, save=("input", "weight"),
           uses={"input": ("weight",), "weight": ("input",)},
           input=lambda g, input, weight, bias=None: (
               _E.matmul(g, weight) if weight.ndim == 2 else g.unsqueeze(-1) * weight),
           weight=_linear_grad_weight,
           bias=lambda g, input, weight, bias=None: (
               g.sum(tuple(range(g.ndim - 1))) if g.ndim > 1 else g))
derivative(relu, save="result",
           self=lambda g, self, *, result: threshold_backward(g, result, 0))
derivative(log_softmax, save="result",
           self=lambda g, self, dim, dtype=None, *, result:
               g - result.exp() * g.sum(dim, keepdim=True))
derivative(softmax, save="result",
           self=lambda g, self, dim, dtype=None, *, result:
               result * (g - (g * result).sum(dim, keepdim=True)))


def _ce_target_grad(g, input, target, weight=None, reduction="mean", ignore_index=-100,
                    label_smoothing=0.0):
    # Only probability targets are differentiable: loss = -sum_c t'_c w_c logp_c.
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    d = log_softmax(input, cdim) * -(1.0 - label_smoothing)
    if weight is not None:
        wshape = [1] * input.ndim
        wshape[cdim] = c
        d = d * weight.reshape(wshape)
    if reduction == "none":
        return d * g.unsqueeze(cdim)
    if reduction == "mean":
        d = d / (input.numel() // c)
    return d * g


derivative(cross_entropy, save=("input", "target", "weight"),
           input=lambda g, input, target, weight=None, reduction="mean", ignore_index=-100,
           label_smoothing=0.0: _cross_entropy_backward(
               g, input, target, weight, reduction, ignore_index, label_smoothing),
           target=_ce_target_grad)


def _conv_bias_grad(g, *args):
    return g.sum((0, 2, 3)) if g.ndim == 4 else g.sum((1, 2))


derivative(conv2d, save=("input", "weight"),
           input=lambda g, input, weight, bias, *rest: _conv2d_backward_input(
               g, input, weight, *rest),
           weight=lambda g, input, weight, bias, *rest: _conv2d_backward_weight(
               g, input, weight, *rest),
           bias=_conv_bias_grad)
derivative(max_pool2d, save="input",
           input=lambda g, input, *rest: _max_pool2d_backward(g, input, *rest))
