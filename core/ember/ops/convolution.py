"""Padding, convolution (im2col over ``unfold`` windows + one ``matmul`` per group) and
pooling, with the backward ops that fused kernels need.  See ``ember.ops.nn``."""

from __future__ import annotations

import math

from .. import ops as _E  # the ops namespace (complete when these functions run)
from ..dtypes import int64 as _int64
from ..tensor import tensor as _tensor

from ..schema import Spec, defop
from ._rules import fail
from ._nn_rules import _pair, _shape

__all__ = ["pad", "conv1d", "conv2d", "max_pool2d", "max_pool2d_with_indices", "avg_pool2d",
           "adaptive_avg_pool2d"]


# --- padding, convolution, pooling -------------------------------------------------------

#: the padding modes: constant fills with ``value``; the others read the input.  Each
#: maps a dimension's (left, right) amounts and size ``n`` to the input position of each
#: output position.  reflect mirrors at 0 and n - 1 (not repeating the edge) and
#: replicate repeats the edge, both over the whole input even where the other side is
#: cropped; circular wraps around what is left after cropping (PyTorch's rules).
_PAD_INDEX = {
    "reflect": lambda i, lo, hi, n: (n - 1) - ((n - 1) - i.abs()).abs(),
    "replicate": lambda i, lo, hi, n: i.clamp(0, n - 1),
    "circular": lambda i, lo, hi, n: _circular(i, lo, hi, n),
}


def _circular(i, lo: int, hi: int, n: int):
    start, kept = max(-lo, 0), n + min(lo, 0) + min(hi, 0)
    return start + (i - start) % kept


_PAD_MODES = ("constant", *_PAD_INDEX)


def _pad_meta(input, pad, mode="constant", value=0.0):
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        fail("pad", f"argument 'pad' must have an even length of at most 2 * input.ndim "
                    f"({2 * input.ndim}), got {list(pad)}")
    if mode not in _PAD_MODES:
        fail("pad", f"unrecognised padding mode {mode!r}, expected one of "
                    f"{', '.join(map(repr, _PAD_MODES))}")
    k = len(pad) // 2
    if mode != "constant":
        if value:
            fail("pad", f"padding mode {mode!r} doesn't take a value argument, got "
                        f"value={value}")
        if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
            fail("pad", f"mode {mode!r} pads the last 1, 2 or 3 dimensions of a 2-D/3-D, "
                        f"3-D/4-D or 4-D/5-D input (a pad of length 2, 4 or 6 for an "
                        f"unbatched or batched input), got a pad of length {len(pad)} for "
                        f"input shape {_shape(input)}")
    shape = list(input.shape)
    for i in range(k):
        d = input.ndim - 1 - i
        n, lo, hi = shape[d], pad[2 * i], pad[2 * i + 1]
        shape[d] += lo + hi
        if shape[d] < 0 or (mode != "constant" and shape[d] == 0 and n):
            fail("pad", f"padding {list(pad)} gives a {'negative' if shape[d] else 'zero'} "
                        f"size for dimension {d} of input shape {_shape(input)}")
        if mode == "constant" or not (lo or hi):
            continue
        if n == 0:
            fail("pad", f"mode {mode!r} cannot pad dimension {d} of input shape "
                        f"{_shape(input)}: it is empty")
        # reflect mirrors without repeating the edge, circular wraps once at most
        most = {"reflect": n - 1, "circular": n}.get(mode)
        if most is not None and max(lo, hi) > most:
            what = ("the dimension's size minus one" if mode == "reflect" else
                    "the dimension's size: it wraps around once at most")
            fail("pad", f"mode {mode!r}: padding ({lo}, {hi}) of dimension {d} of input "
                        f"shape {_shape(input)} must be at most {most} ({what})")
    return Spec(tuple(shape), input.dtype)


def _pad_decomp(input, pad, mode="constant", value=0.0):
    if mode != "constant":
        return _pad_gather(input, pad, _PAD_INDEX[mode])
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


def _pad_gather(input, pad, index):
    """Reflect/replicate/circular padding: one ``index_select`` per padded dimension
    (memory linear in the output; the backward is its scatter-add)."""
    out = input
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        n, lo, hi = input.shape[d], pad[2 * i], pad[2 * i + 1]
        if lo or hi:
            at = _E.arange(-lo, n + hi, dtype=_int64, device=out.device)
            out = out.index_select(d, index(at, lo, hi, n))
    return out


pad = defop("pad(Tensor input, int[] pad, str mode='constant', float value=0.0) -> Tensor",
            tags=("composite",), meta=_pad_meta, decomposition=_pad_decomp,
            doc="Pad the last ``len(pad) // 2`` dimensions: ``pad`` lists (left, right) "
                "amounts starting from the last dimension; negative amounts crop.  "
                "``mode`` is 'constant' (``value``), 'reflect', 'replicate' or "
                "'circular' (the last 1-3 dims of an unbatched or batched input).")


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
    if weight.shape[0] < groups:  # (0 out channels: PyTorch refuses them too)
        fail(op, f"given groups={groups}, expected weight to be at least {groups} at "
                 f"dimension 0, but got weight of shape {_shape(weight)}")
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


def _pool_offsets(k, d, width):
    """Per kernel offset (row-major, PyTorch's scan order), its flat distance from the
    window's top-left cell in an input plane ``width`` wide."""
    return [i * d[0] * width + j * d[1] for i in range(k[0]) for j in range(k[1])]


def _max_pool2d_with_indices_decomp(input, kernel_size, stride=(), padding=(0,),
                                    dilation=(1,), ceil_mode=False):
    k, s, p, d, out = _pool_geometry("max_pool2d", input, kernel_size, stride, padding,
                                     dilation, ceil_mode)
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    win = _pool_windows(x, k, s, p, d, out, -math.inf)
    kk = k[0] * k[1]
    win = win.reshape(tuple(win.shape[:4]) + (kk,))
    # PyTorch's scan: row-major over the window's cells inside the input, the first
    # maximum wins, every NaN overrides (the last NaN wins), and a window whose cells
    # are all -inf answers its first cell inside the input (never a padding cell).
    wd = win.detach()
    first = wd.argmax(-1, keepdim=True)
    nan = wd.isnan()
    last_nan = (kk - 1) - nan.flip(-1).astype(_int64).argmax(-1, keepdim=True)
    inside = _pool_windows(_E.ones((1, 1) + tuple(x.shape[2:]), dtype=input.dtype,
                                   device=input.device), k, s, p, d, out, 0.0)
    first_inside = inside.reshape(tuple(inside.shape[:4]) + (kk,)).argmax(-1, keepdim=True)
    top = wd.gather(-1, first)
    first = _E.where(nan.any(-1, keepdim=True), last_nan,
                     _E.where(top == -math.inf, first_inside, first))
    values = win.gather(-1, first).squeeze(-1)
    w, dev = input.shape[-1], input.device
    offsets = _tensor(_pool_offsets(k, d, w), dtype=_int64, device=dev)
    rows = _E.arange(out[0], dtype=_int64, device=dev) * (s[0] * w) - p[0] * w
    cols = _E.arange(out[1], dtype=_int64, device=dev) * s[1] - p[1]
    indices = offsets[first.squeeze(-1)] + (rows.reshape(out[0], 1) + cols)
    if not batched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return values, indices


def _pool_meta_with_indices(input, *args):
    spec = _pool_meta("max_pool2d")(input, *args)
    return spec, Spec(spec.shape, _int64)


max_pool2d_with_indices = defop(
    "max_pool2d_with_indices(Tensor input, int[] kernel_size, int[] stride=[], "
    "int[] padding=0, int[] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)",
    tags=("composite",), meta=_pool_meta_with_indices,
    decomposition=_max_pool2d_with_indices_decomp,
    doc="2-D max pooling and, per output, the flat index (in its input plane, "
        "``h * W + w``) of the window's first maximum, which the backward scatters to.")


def _max_pool2d_decomp(input, kernel_size, stride=(), padding=(0,), dilation=(1,),
                       ceil_mode=False):
    # Recorded through max_pool2d_with_indices (its indices make the backward a
    # scatter); without grad a backend's max_pool2d kernel skips the indices.
    return max_pool2d_with_indices(input, kernel_size, stride, padding, dilation,
                                   ceil_mode)[0]


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
def _conv_joint_meta(grad, input, weight, stride, padding, dilation, groups, need_input,
                     need_weight, need_bias):
    out = _conv2d_meta(input, weight, None, stride, padding, dilation, groups,
                       op="_conv2d_backward")
    if tuple(grad.shape) != out.shape:
        fail("_conv2d_backward", f"expected grad of shape {list(out.shape)} (the output of "
                                 f"conv2d), got {_shape(grad)}")
    return (Spec(tuple(input.shape) if need_input else (0,), grad.dtype),
            Spec(tuple(weight.shape) if need_weight else (0,), grad.dtype),
            Spec((weight.shape[0],) if need_bias else (0,), grad.dtype))


def _conv_joint_decomp(grad, input, weight, stride, padding, dilation, groups, need_input,
                       need_weight, need_bias):
    rest = (stride, padding, dilation, groups)
    none = _E.empty(0, dtype=grad.dtype, device=grad.device)
    return (_conv2d_backward_input(grad, input, weight, *rest) if need_input else none,
            _conv2d_backward_weight(grad, input, weight, *rest) if need_weight else none,
            _conv_bias_grad(grad) if need_bias else none)


_conv2d_backward = defop(
    f"_conv2d_backward({_CONV_BW_ARGS}, bool need_input, bool need_weight, bool need_bias) "
    "-> (Tensor, Tensor, Tensor)", tags=("composite",), meta=_conv_joint_meta,
    decomposition=_conv_joint_decomp, method=False,
    doc="The gradients of ``conv2d`` for input, weight and bias in one call (the output "
        "gradient rearranged once for all three); one that is not needed is an empty "
        "tensor.")


def _max_pool_backward_meta(grad, indices, input_size):
    if tuple(grad.shape) != tuple(indices.shape):
        fail("_max_pool2d_with_indices_backward", f"expected grad and indices of one shape, "
             f"got {_shape(grad)} and {_shape(indices)}")
    if len(input_size) != grad.ndim or tuple(input_size[:-2]) != tuple(grad.shape[:-2]):
        fail("_max_pool2d_with_indices_backward", f"argument 'input_size' {list(input_size)}"
             f" does not fit a gradient of shape {_shape(grad)}")
    return Spec(tuple(input_size), grad.dtype)


def _max_pool_backward_decomp(grad, indices, input_size):
    plane = input_size[-2] * input_size[-1]
    flat = (-1, grad.shape[-2] * grad.shape[-1]) if grad.numel() else (0, 1)
    out = _E.zeros((math.prod(input_size[:-2]), plane), dtype=grad.dtype, device=grad.device)
    out = out.scatter_add(1, indices.reshape(flat), grad.reshape(flat))
    return out.reshape(tuple(input_size))


_max_pool2d_with_indices_backward = defop(
    "_max_pool2d_with_indices_backward(Tensor grad, Tensor indices, int[] input_size) "
    "-> Tensor", tags=("composite",), meta=_max_pool_backward_meta, method=False,
    decomposition=_max_pool_backward_decomp,
    doc="Gradient of ``max_pool2d_with_indices`` w.r.t. its input: ``grad`` added into "
        "an ``input_size`` zero tensor at ``indices`` (flat in each plane).")


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
    ph = _tensor(_averaging_matrix(h, o[0]), dtype=input.dtype, device=input.device)
    pw = _tensor(_averaging_matrix(w, o[1]).T, dtype=input.dtype, device=input.device)
    return _E.matmul(_E.matmul(ph, input), pw)


adaptive_avg_pool2d = defop(
    "adaptive_avg_pool2d(Tensor input, int[] output_size) -> Tensor", tags=("composite",),
    meta=_adaptive_meta, decomposition=_adaptive_decomp,
    doc="Average pooling to a fixed output size (PyTorch's window boundaries).")


# --- derivatives ---
from ..autograd.rules import derivative, joint_derivative  # noqa: E402


def _conv_bias_grad(g, *args):
    return g.sum((0, 2, 3)) if g.ndim == 4 else g.sum((1, 2))


derivative(conv2d, save=("input", "weight"),
           input=lambda g, input, weight, bias, *rest: _conv2d_backward_input(
               g, input, weight, *rest),
           weight=lambda g, input, weight, bias, *rest: _conv2d_backward_weight(
               g, input, weight, *rest),
           bias=_conv_bias_grad)


def _conv_joint(g, input, weight, bias, stride, padding, dilation, groups, *, needs):
    nb = bias is not None and needs[2]
    gi, gw, gb = _conv2d_backward(g, input, weight, stride, padding, dilation, groups,
                                  needs[0], needs[1], nb)
    return (gi if needs[0] else None, gw if needs[1] else None, gb if nb else None)


joint_derivative(conv2d, _conv_joint)


def _max_pool_grad(g, input, *rest, result):
    return None if g[0] is None else _max_pool2d_with_indices_backward(
        g[0], result[1], tuple(input.shape))


derivative(max_pool2d_with_indices, save="result", input=_max_pool_grad)


def _independent(*_):
    """The gradient w.r.t. an argument the result does not depend on (only its shape,
    or piecewise constantly): none, i.e. zero."""
    return None


# The backward ops' own derivatives (double backward), in the ops above, so they are
# differentiable again.  Each is linear in its output gradient ``grad``:
#   conv's input gradient  bi(grad, W) = conv2d^T(grad; W)      (not a function of x)
#   conv's weight gradient bw(grad, x) = d<conv2d(x, W), grad>/dW (not a function of W)
# so <gg, bi(grad, W)> = <conv2d(gg, W), grad> and <gg, bw(grad, x)> = <conv2d(x, gg),
# grad>, whose gradients are conv2d and the backward ops again.  max_pool2d's backward
# scatters ``grad`` through the saved indices: its derivative gathers from them.
derivative(_conv2d_backward_input, save=("grad", "input", "weight"),
           uses={"grad": ("weight",), "weight": ("grad", "input")},
           grad=lambda gg, grad, input, weight, *rest: conv2d(gg, weight, None, *rest),
           weight=lambda gg, grad, input, weight, *rest: _conv2d_backward_weight(
               grad, gg, weight, *rest),
           input=_independent)
derivative(_conv2d_backward_weight, save=("grad", "input", "weight"),
           uses={"grad": ("input",), "input": ("grad", "input", "weight")},
           grad=lambda gg, grad, input, weight, *rest: conv2d(input, gg, None, *rest),
           input=lambda gg, grad, input, weight, *rest: _conv2d_backward_input(
               grad, input, gg, *rest),
           weight=_independent)
derivative(_max_pool2d_with_indices_backward, save="indices",
           grad=lambda gg, grad, indices, input_size: _gather_at(gg, indices))


def _gather_at(gg, indices):
    """``gg`` (input-shaped) at each output's index: the transpose of the scatter."""
    flat = indices.reshape(tuple(indices.shape[:-2]) + (-1,))
    src = gg.reshape(tuple(gg.shape[:-2]) + (-1,))
    return src.gather(-1, flat).reshape(tuple(indices.shape))
