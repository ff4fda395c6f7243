"""Convolution layers: ``Conv1d`` and ``Conv2d`` (stride, padding, dilation, groups,
``padding_mode``)."""

from __future__ import annotations


from ..errors import OpError
from ..tensor import Tensor
from . import functional as F
from . import init
from ._errors import layer_error
from .module import Module

__all__ = ["Conv1d", "Conv2d"]

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
