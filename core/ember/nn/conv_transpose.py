"""Transposed convolution: ``conv_transpose1d/2d/3d`` and the
``ConvTranspose1d/2d/3d`` layers.

A transposed convolution *is* the gradient of a convolution with respect to its input,
so it runs as ember's ``_conv2d_backward_input`` op (col2im on the CPU, the conv's own
decomposition elsewhere): no dense scatter matrix, memory linear in input and output,
and its derivatives (a conv2d for the input, the conv's weight gradient for the weight)
are already declared.  The 1-D forms are the 2-D ones over a height of 1.  The 3-D
form is one 2-D transposed convolution over every input depth plane with the kernel's
depth taps as extra output channels, each tap's planes then placed at their output
depths (``i * stride + tap * dilation``) and summed: memory linear in input and output
(``kD`` output-sized terms).
"""

from __future__ import annotations

from .. import ops as _ops
from ..errors import OpError
from ..ops.nn import _conv2d_backward_input, pad as _pad
from ..tensor import Tensor
from . import init
from .conv import check_groups, conv_repr, conv_tuple as _tuple
from ._errors import layer_error
from .module import Module

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "ConvTranspose1d",
           "ConvTranspose2d", "ConvTranspose3d"]


def _conv_transpose(fn: str, nd: int, input: Tensor, weight: Tensor, bias, stride, padding,
                    output_padding, groups: int, dilation) -> Tensor:
    """The shared body of the 1-D, 2-D and 3-D forms (``nd`` spatial dims)."""
    s, p = _tuple(stride, nd, fn, "stride"), _tuple(padding, nd, fn, "padding")
    op, d = _tuple(output_padding, nd, fn, "output_padding"), _tuple(dilation, nd, fn,
                                                                        "dilation")
    if input.ndim not in (nd + 1, nd + 2):
        raise OpError(f"{fn}(): expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) "
                      f"input, got shape {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise OpError(f"{fn}(): expected a {nd + 2}-D weight (in_channels, "
                      f"out_channels/groups, *kernel_size), got shape {list(weight.shape)}")
    if not isinstance(groups, int) or groups <= 0 or weight.shape[0] % groups:
        raise OpError(f"{fn}(): in_channels ({weight.shape[0]}) must be divisible by a "
                      f"positive groups, got groups={groups}")
    if min(s) <= 0 or min(d) <= 0 or min(p) < 0 or min(op) < 0:
        raise OpError(f"{fn}(): stride and dilation must be positive, padding and "
                      f"output_padding non-negative, got stride={list(s)}, "
                      f"padding={list(p)}, output_padding={list(op)}, dilation={list(d)}")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d, strict=True)):
        raise OpError(f"{fn}(): output_padding must be smaller than either stride or "
                      f"dilation, got output_padding={list(op)}, stride={list(s)}, "
                      f"dilation={list(d)}")
    c = input.shape[-nd - 1]
    if c != weight.shape[0]:
        raise OpError(f"{fn}(): expected input of shape {list(input.shape)} to have "
                      f"{weight.shape[0]} channels (weight of shape {list(weight.shape)}), "
                      f"but got {c} channels instead")
    out_channels = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise OpError(f"{fn}(): expected bias of shape [{out_channels}], got "
                      f"{list(bias.shape)}")
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    if nd == 3:
        y = _depth_taps(fn, x, weight, s, p, op, groups, d)
        if bias is not None:
            y = y + bias.reshape((out_channels, 1, 1, 1))
        return y.squeeze(0) if unbatched else y
    if nd == 1:  # a height of 1
        x, weight = x.unsqueeze(-2), weight.unsqueeze(-2)
        s, p, op, d = (1,) + s, (0,) + p, (0,) + op, (1,) + d
    ins, ks = x.shape[-2:], weight.shape[-2:]
    full = [(i - 1) * si + di * (k - 1) + 1 for i, si, di, k in zip(ins, s, d, ks,
                                                                     strict=True)]
    out = [f - 2 * pi + o for f, pi, o in zip(full, p, op, strict=True)]
    if min(out) <= 0:
        raise OpError(f"{fn}(): the output size {out[-nd:]} is not positive (input "
                      f"{list(input.shape)}, kernel {list(ks[-nd:])}, padding "
                      f"{list(p[-nd:])})")
    if all(o < si for o, si in zip(op, s, strict=True)):
        # The conv of an ``out``-sized input has exactly x's size: its input gradient is
        # the answer.  Only the shape of the conv's input is read, so a broadcast zero.
        y = _conv2d_backward_input(x, _zero_like(x, out_channels, out), weight, s, p, d,
                                   groups)
    else:
        # output_padding at least the stride (allowed under a larger dilation): the
        # uncropped result, then crop ``padding`` and extend by zeros to the size asked.
        y = _conv2d_backward_input(x, _zero_like(x, out_channels, full), weight, s,
                                   (0, 0), d, groups)
        y = _pad(y, [a for i in (1, 0) for a in (-p[i], out[i] - full[i] + p[i])])
    if bias is not None:
        y = y + bias.reshape((out_channels, 1, 1))
    if nd == 1:
        y = y.squeeze(-2)
    return y.squeeze(0) if unbatched else y


def _depth_taps(fn: str, x: Tensor, weight: Tensor, s, p, op, groups: int, d) -> Tensor:
    """The 3-D transposed convolution of batched ``x`` (checked), without bias."""
    n, c_in, depth = x.shape[:3]
    kd, og = weight.shape[2], weight.shape[1]
    full = (depth - 1) * s[0] + d[0] * (kd - 1) + 1
    out = full - 2 * p[0] + op[0]
    if out <= 0:
        raise OpError(f"{fn}(): the output depth {out} is not positive (input "
                      f"{list(x.shape)}, kernel depth {kd}, padding {p[0]})")
    # output channels ordered (group, tap, channel of the group): tap a's planes
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(c_in, kd * og, *weight.shape[3:])
    x2 = x.permute(0, 2, 1, 3, 4).reshape(n * depth, c_in, *x.shape[3:])
    z = _conv_transpose(fn, 2, x2, w2, None, s[1:], p[1:], op[1:], groups, d[1:])
    z = z.reshape(n, depth, groups, kd, og, *z.shape[2:])
    span = (depth - 1) * s[0] + 1  # input plane i lands at i * stride
    y = None
    for a in range(kd):
        t = z[:, :, :, a]  # (N, D, groups, og, OH, OW)
        if s[0] > 1:  # stride - 1 zero planes after each
            gap = _ops.zeros((), dtype=t.dtype, device=t.device).expand(
                (n, depth, s[0] - 1, *t.shape[2:]))
            t = _ops.cat([t.unsqueeze(2), gap], 2).reshape(n, depth * s[0], *t.shape[2:])
            t = t.narrow(1, 0, span)
        # at depth a * dilation, cropped by padding, extended by output_padding
        lo = a * d[0] - p[0]
        if lo >= out or lo + span <= 0:
            continue  # the padding crops all of this tap's planes
        t = _pad(t, [0] * 8 + [lo, out - lo - span])
        y = t if y is None else y + t
    y = y.reshape(n, out, groups * og, *y.shape[4:])
    return y.permute(0, 2, 1, 3, 4)


def _zero_like(x: Tensor, channels: int, size) -> Tensor:
    return _ops.zeros((), dtype=x.dtype, device=x.device).expand(
        (x.shape[0], channels, *size))


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of (N, C_in, L) or (C_in, L) input with a weight of
    shape (C_in, C_out/groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution") of (N, C_in, H, W) or (C_in, H, W)
    input with a weight of shape (C_in, C_out/groups, kH, kW): the gradient of
    ``conv2d`` with respect to its input."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution of (N, C_in, D, H, W) or (C_in, D, H, W) input with a
    weight of shape (C_in, C_out/groups, kD, kH, kW): the gradient of ``conv3d`` with
    respect to its input."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


class _ConvTransposeNd(Module):
    _nd = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, output_padding=0, groups: int = 1, bias: bool = True,
                 dilation=1, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        check_groups(name, in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported for "
                             f"transposed convolutions, got {padding_mode!r}")
        n = self._nd
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n, name, "kernel_size")
        self.stride = _tuple(stride, n, name, "stride")
        self.padding = _tuple(padding, n, name, "padding")
        self.output_padding = _tuple(output_padding, n, name, "output_padding")
        self.dilation = _tuple(dilation, n, name, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        self.transposed = True
        # PyTorch's layout (in, out/groups, *k); its init reads fan_in from dim 1 as for
        # any conv weight, and the bias takes that fan_in too.
        init._affine_parameters(self, (in_channels, out_channels // groups)
                                + self.kernel_size, False, device, dtype)
        if bias:
            from .parameter import Parameter
            self.bias = Parameter(_ops.empty(out_channels, device=device, dtype=dtype))
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init._reset_affine(self.weight, self.bias)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """``output_padding``, or the one that gives ``output_size`` (PyTorch's
        ``forward(input, output_size)``)."""
        if output_size is None:
            return self.output_padding
        n = self._nd
        size = list(output_size)[-n:]
        if len(size) != n:
            raise ValueError(f"{type(self).__name__}: output_size must have {n} or "
                             f"{n + 2} elements, got {list(output_size)}")
        extra = []
        for i in range(n):
            least = ((input.shape[-n + i] - 1) * self.stride[i] - 2 * self.padding[i]
                     + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not least <= size[i] < least + self.stride[i]:
                raise ValueError(f"{type(self).__name__}: requested an output size of "
                                 f"{size}, but valid sizes range from {least} to "
                                 f"{least + self.stride[i] - 1} in dimension {i}")
            extra.append(size[i] - least)
        return tuple(extra)

    def extra_repr(self) -> str:
        return conv_repr(self)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) or (C_in, L) input."""

    _nd = 1

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        try:
            return conv_transpose1d(input, self.weight, self.bias, self.stride,
                                    self.padding, self._output_padding(input, output_size),
                                    self.groups, self.dilation)
        except OpError as e:
            raise layer_error(self, e, input) from None


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W) or (C_in, H, W) input."""

    _nd = 2

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        try:
            return conv_transpose2d(input, self.weight, self.bias, self.stride,
                                    self.padding, self._output_padding(input, output_size),
                                    self.groups, self.dilation)
        except OpError as e:
            raise layer_error(self, e, input) from None


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W) or (C_in, D, H, W) input."""

    _nd = 3

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        try:
            return conv_transpose3d(input, self.weight, self.bias, self.stride,
                                    self.padding, self._output_padding(input, output_size),
                                    self.groups, self.dilation)
        except OpError as e:
            raise layer_error(self, e, input) from None
