"""``pixel_shuffle``/``pixel_unshuffle`` (sub-pixel convolution's rearrangement) and
their layers ``PixelShuffle``/``PixelUnshuffle``: a reshape, a permute, a reshape."""

from __future__ import annotations

from ..errors import OpError
from ..tensor import Tensor
from .module import Module

__all__ = ["pixel_shuffle", "pixel_unshuffle", "PixelShuffle", "PixelUnshuffle"]


def _check(fn: str, input: Tensor, factor: int, arg: str) -> None:
    if input.ndim < 3:
        raise OpError(f"{fn}(): expects its input to have at least 3 dimensions, but got "
                      f"input with {input.ndim} dimension(s)")
    if not isinstance(factor, int) or factor <= 0:
        raise ValueError(f"{fn}(): argument '{arg}' must be a positive int, got {factor!r}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C * r**2, H, W)`` to ``(*, C, H * r, W * r)``."""
    _check("pixel_shuffle", input, upscale_factor, "upscale_factor")
    r = upscale_factor
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise OpError(f"pixel_shuffle(): expects its input's 'channel' dimension to be "
                      f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                      f"is not divisible by {r * r}")
    nb = len(batch)
    x = input.reshape((*batch, c // (r * r), r, r, h, w))
    x = x.permute((*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2))
    return x.reshape((*batch, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``(*, C, H * r, W * r)`` to ``(*, C * r**2, H, W)``."""
    _check("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    r = downscale_factor
    *batch, c, h, w = input.shape
    if h % r or w % r:
        raise OpError(f"pixel_unshuffle(): expects height and width to be divisible by "
                      f"downscale_factor {r}, got height {h} and width {w}")
    nb = len(batch)
    x = input.reshape((*batch, c, h // r, r, w // r, r))
    x = x.permute((*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3))
    return x.reshape((*batch, c * r * r, h // r, w // r))


class PixelShuffle(Module):
    """Rearranges ``(*, C * r**2, H, W)`` into ``(*, C, H * r, W * r)``."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Rearranges ``(*, C, H * r, W * r)`` into ``(*, C * r**2, H, W)``."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
