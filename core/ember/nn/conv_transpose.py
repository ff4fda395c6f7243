"""Transposed convolution: ``conv_transpose1d``/``conv_transpose2d`` and the
``ConvTranspose1d``/``ConvTranspose2d`` layers.

A transposed convolution *is* the gradient of a convolution with respect to its input,
so it runs as ember's ``_conv2d_backward_input`` op (col2im on the CPU, the conv's own
decomposition elsewhere): no dense scatter matrix, memory linear in input and output,
and its derivatives (a conv2d for the input, the conv's weight gradient for the weight)
are already declared.  The 1-D forms are the 2-D ones over a height of 1.
"""

from __future__ import annotations

from .. import ops as _ops
from ..errors import OpError
from ..ops.nn import _conv2d_backward_input, pad as _pad
from ..tensor import Tensor
from . import init
from .conv import check_groups, conv_repr
from ._errors import layer_error
from .module import Module

__all__ = ["conv_transpose1d", "conv_transpose2d", "ConvTranspose1d", "ConvTranspose2d"]


def _tuple(v, n: int, fn: str, name: str) -> tuple:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) == 1:
        return v * n
    if len(v) != n or not all(isinstance(i, int) for i in v):
        raise ValueError(f"{fn}(): {name} must be an int or a tuple of {n} ints, got {v}")
    return v


def _conv_transpose(fn: str, nd: int, input: Tensor, weight: Tensor, bias, stride, padding,
                    output_padding, groups: int, dilation) -> Tensor:
    """The shared body of the 1-D and 2-D forms (``nd`` spatial dims)."""
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
