"""``unfold`` (im2col) and ``fold`` (col2im), and the ``Unfold``/``Fold`` layers.

Extracting a channel's kh*kw patch values is a grouped convolution with one-hot
kernels (output channel ``c*kh*kw + j`` picks kernel position ``j`` of channel ``c``:
PyTorch's order), and summing patches back is the transposed convolution with the same
kernels.  So both run as ember's conv ops, with their memory (linear in the columns)
and their derivatives.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..ops.nn import conv2d as _conv2d
from ..tensor import Tensor, tensor as _tensor
from .conv_transpose import _tuple, conv_transpose2d
from .module import Module

__all__ = ["unfold", "fold", "Unfold", "Fold"]


def _one_hot_kernels(channels: int, kh: int, kw: int, like: Tensor) -> Tensor:
    """(channels*kh*kw, 1, kh, kw): kernel ``c*kh*kw + j`` is 1 at position ``j``."""
    eye = np.eye(kh * kw, dtype=np.float32).reshape(kh * kw, 1, kh, kw)
    return _tensor(np.tile(eye, (channels, 1, 1, 1)), dtype=like.dtype, device=like.device)


def _blocks(fn: str, size, k, d, p, s) -> list[int]:
    out = [(n + 2 * pi - di * (ki - 1) - 1) // si + 1
           for n, ki, di, pi, si in zip(size, k, d, p, s, strict=True)]
    if min(out) <= 0:
        padded = [n + 2 * pi for n, pi in zip(size, p, strict=True)]
        raise OpError(f"{fn}(): the padded input {padded} is smaller than the dilated "
                      f"kernel "
                      f"{[di * (ki - 1) + 1 for ki, di in zip(k, d, strict=True)]}")
    return out


def _args(fn: str, kernel_size, dilation, padding, stride):
    k, d = _tuple(kernel_size, 2, fn, "kernel_size"), _tuple(dilation, 2, fn, "dilation")
    p, s = _tuple(padding, 2, fn, "padding"), _tuple(stride, 2, fn, "stride")
    if min(k) <= 0 or min(d) <= 0 or min(s) <= 0 or min(p) < 0:
        raise OpError(f"{fn}(): kernel_size, dilation and stride must be positive and "
                      f"padding non-negative, got kernel_size={list(k)}, dilation="
                      f"{list(d)}, padding={list(p)}, stride={list(s)}")
    return k, d, p, s


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of (N, C, H, W) or (C, H, W) ``input`` as columns: (N, C*kh*kw, L)
    or (C*kh*kw, L), L the number of blocks."""
    k, d, p, s = _args("unfold", kernel_size, dilation, padding, stride)
    if input.ndim not in (3, 4):
        raise OpError(f"unfold(): expected a 3-D (unbatched) or 4-D (batched) input, got "
                      f"shape {list(input.shape)}")
    c = input.shape[-3]
    _blocks("unfold", input.shape[-2:], k, d, p, s)
    cols = _conv2d(input, _one_hot_kernels(c, *k, input), None, s, p, d, c)
    return cols.flatten(-2)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0,
         stride=1) -> Tensor:
    """Sums columns (N, C*kh*kw, L) or (C*kh*kw, L) back into (N, C, *output_size)
    (overlapping values add up): the adjoint of :func:`unfold`."""
    k, d, p, s = _args("fold", kernel_size, dilation, padding, stride)
    size = _tuple(output_size, 2, "fold", "output_size")
    if input.ndim not in (2, 3):
        raise OpError(f"fold(): expected a 2-D (unbatched) or 3-D (batched) input, got "
                      f"shape {list(input.shape)}")
    kk = k[0] * k[1]
    if input.shape[-2] % kk:
        raise OpError(f"fold(): expected size of input's dimension {input.ndim - 2} to be "
                      f"divisible by the product of kernel_size ({kk}), but got "
                      f"{input.shape[-2]}")
    blocks = _blocks("fold", size, k, d, p, s)
    if input.shape[-1] != blocks[0] * blocks[1]:
        raise OpError(f"fold(): given output_size={list(size)}, kernel_size={list(k)}, "
                      f"dilation={list(d)}, padding={list(p)}, stride={list(s)}, expected "
                      f"size of input's dimension {input.ndim - 1} to match the calculated "
                      f"number of sliding blocks {blocks[0]} * {blocks[1]} = "
                      f"{blocks[0] * blocks[1]}, but got {input.shape[-1]}")
    c = input.shape[-2] // kk
    x = input.reshape(tuple(input.shape[:-1]) + tuple(blocks))
    # The transposed conv's natural size, then output_padding (< stride) up to the size
    # asked: rows past the last block's reach get nothing, as in col2im.
    natural = [(b - 1) * si - 2 * pi + di * (ki - 1) + 1
               for b, si, pi, di, ki in zip(blocks, s, p, d, k, strict=True)]
    extra = [n - m for n, m in zip(size, natural, strict=True)]
    return conv_transpose2d(x, _one_hot_kernels(c, *k, input), None, s, p, extra, c, d)


class Unfold(Module):
    """:func:`unfold` as a layer."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """:func:`fold` as a layer."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
