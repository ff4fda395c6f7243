"""Convolution layers: ``Conv1d``, ``Conv2d`` and ``Conv3d`` (stride, padding, dilation,
groups, ``padding_mode``), and ``conv3d``.

``conv3d`` is one ``conv2d``: the kernel's depth taps become extra input channels (each
output depth's ``kd`` input planes side by side), so it runs on the 2-D kernels (fused
im2col on the CPU) and every backend gets it, with autograd, from them.  Memory: the
stacked planes are ``kd`` times the input, as im2col is ``kh * kw`` times.
"""

from __future__ import annotations

from .. import ops as _ops
from ..errors import OpError
from ..tensor import Tensor
from . import functional as F
from . import init
from ._errors import layer_error
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "conv3d"]

#: the padding modes of a convolution layer: 'zeros' is the conv's own padding, the
#: others pad with ``F.pad`` (its rule for each mode) before an unpadded conv
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n: int, name: str) -> tuple:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {v}")
    return v


def conv_tuple(v, n: int, fn: str, name: str) -> tuple:
    """A convolution's int or 1-/n-tuple argument as an n-tuple of ints."""
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) == 1:
        return v * n
    if len(v) != n or not all(isinstance(i, int) for i in v):
        raise ValueError(f"{fn}(): {name} must be an int or a tuple of {n} ints, got {v}")
    return v


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) with a weight of shape
    (out_channels, in_channels/groups, kD, kH, kW); ``padding`` may be 'valid' or
    'same'."""
    fn = "conv3d"
    if input.ndim not in (4, 5):
        raise OpError(f"{fn}(): expected a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input, "
                      f"got shape {list(input.shape)}")
    if weight.ndim != 5:
        raise OpError(f"{fn}(): expected a 5-D weight (out_channels, in_channels/groups, "
                      f"kD, kH, kW), got shape {list(weight.shape)}")
    padding, explicit = F._conv_padding(fn, padding, weight, dilation, stride, 3)
    s, p = conv_tuple(stride, 3, fn, "stride"), conv_tuple(padding, 3, fn, "padding")
    d = conv_tuple(dilation, 3, fn, "dilation")
    if min(s) <= 0 or min(d) <= 0 or min(p) < 0:
        raise OpError(f"{fn}(): stride and dilation must be positive and padding "
                      f"non-negative, got stride={list(s)}, padding={list(p)}, "
                      f"dilation={list(d)}")
    o, cg, kd = weight.shape[:3]
    if not isinstance(groups, int) or groups <= 0 or o % groups or o < groups:
        raise OpError(f"{fn}(): out_channels ({o}) must be divisible by a positive groups "
                      f"no larger than it, got groups={groups}")
    c = input.shape[-4]
    if c != cg * groups:
        raise OpError(f"{fn}(): expected input of shape {list(input.shape)} to have "
                      f"{cg * groups} channels (weight of shape {list(weight.shape)} with "
                      f"groups={groups}), but got {c} channels instead")
    if input.dtype is not weight.dtype:
        raise OpError(f"{fn}(): expected input and weight to have the same dtype, got "
                      f"{input.dtype} and {weight.dtype}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise OpError(f"{fn}(): expected bias of shape [{o}], got {list(bias.shape)}")
    x = input.unsqueeze(0) if input.ndim == 4 else input
    if explicit:
        x = F.pad(x, explicit)
    for size, k, pi, di, what in zip(x.shape[2:], weight.shape[2:], p, d,
                                     ("depth", "height", "width"), strict=True):
        if size + 2 * pi < di * (k - 1) + 1:
            raise OpError(f"{fn}(): the {what} of the input after padding "
                          f"({size + 2 * pi}) is smaller than the dilated kernel "
                          f"({di * (k - 1) + 1})")
    if p[0]:
        x = F.pad(x, (0, 0, 0, 0, p[0], p[0]))
    n, _, depth, h, w = x.shape
    od = (depth - d[0] * (kd - 1) - 1) // s[0] + 1
    # (N, C, kd, od, H, W): tap a of output depth i is input depth i * s + a * d
    taps = _ops.stack([x[:, :, a * d[0]: a * d[0] + s[0] * (od - 1) + 1: s[0]]
                       for a in range(kd)], 2)
    # channels ordered (group, tap, channel of the group) to match the weight's
    cols = taps.reshape(n, groups, cg, kd, od, h, w).permute(0, 4, 1, 3, 2, 5, 6)
    cols = cols.reshape(n * od, groups * kd * cg, h, w)
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(o, kd * cg, *weight.shape[3:])
    y = F.conv2d(cols, w2, None, s[1:], p[1:], d[1:], groups)
    y = y.reshape(n, od, o, *y.shape[2:]).permute(0, 2, 1, 3, 4)
    if bias is not None:
        y = y + bias.reshape(o, 1, 1, 1)
    return y.squeeze(0) if input.ndim == 4 else y


def check_groups(name: str, in_channels: int, out_channels: int, groups: int) -> None:
    """PyTorch's checks of a (transposed) convolution layer's ``groups``."""
    if groups <= 0:
        raise ValueError(f"{name}: groups must be a positive integer")
    if in_channels % groups:
        raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by "
                         f"groups ({groups})")
    if out_channels % groups:
        raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by "
                         f"groups ({groups})")


def conv_repr(m: Module) -> str:
    """PyTorch's ``extra_repr`` of a convolution or transposed convolution: what differs
    from the defaults (``output_padding`` where the layer has one)."""
    s = (f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, "
         f"stride={m.stride}")
    zeros, ones = (0,) * m._nd, (1,) * m._nd
    if m.padding != zeros:
        s += f", padding={m.padding!r}" if isinstance(m.padding, str) \
            else f", padding={m.padding}"
    if getattr(m, "output_padding", zeros) != zeros:
        s += f", output_padding={m.output_padding}"
    if m.dilation != ones:
        s += f", dilation={m.dilation}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    return s


class _ConvNd(Module):
    _nd = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        check_groups(name, in_channels, out_channels, groups)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, but "
                             f"got padding_mode={padding_mode!r}")
        n = self._nd
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one "
                                 f"of 'valid' or 'same'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        init._affine_parameters(self, (out_channels, in_channels // groups)
                                + self.kernel_size, bias, device, dtype)

    def reset_parameters(self) -> None:
        init._reset_affine(self.weight, self.bias)

    def extra_repr(self) -> str:
        s = conv_repr(self)
        return s if self.padding_mode == "zeros" else \
            s + f", padding_mode={self.padding_mode}"

    def _pad(self, input: Tensor) -> tuple[Tensor, object]:
        """``input`` padded by ``padding_mode`` and the padding left for the conv."""
        if self.padding_mode == "zeros":
            return input, self.padding
        # PyTorch's _reversed_padding_repeated_twice: (left, right) from the last dim,
        # 'same' putting the odd element on the right
        amounts = []
        for i in reversed(range(self._nd)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                amounts += [total // 2, total - total // 2]
            elif self.padding == "valid":
                amounts += [0, 0]
            else:
                amounts += [self.padding[i]] * 2
        return F.pad(input, amounts, mode=self.padding_mode), 0


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) or (C_in, L) input."""

    _nd = 1

    def forward(self, input: Tensor) -> Tensor:
        try:
            x, padding = self._pad(input)
            return F.conv1d(x, self.weight, self.bias, self.stride, padding,
                            self.dilation, self.groups)
        except OpError as e:
            raise layer_error(self, e, input) from None


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) input."""

    _nd = 2

    def forward(self, input: Tensor) -> Tensor:
        try:
            x, padding = self._pad(input)
            return F.conv2d(x, self.weight, self.bias, self.stride, padding,
                            self.dilation, self.groups)
        except OpError as e:
            raise layer_error(self, e, input) from None


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) or (C_in, D, H, W) input."""

    _nd = 3

    def forward(self, input: Tensor) -> Tensor:
        try:
            x, padding = self._pad(input)
            return conv3d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                          self.groups)
        except OpError as e:
            raise layer_error(self, e, input) from None
