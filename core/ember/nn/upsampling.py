"""Resizing: ``interpolate`` and the ``Upsample`` layers (modes 'nearest',
'nearest-exact', 'linear' and 'bilinear').

Both modes are separable, so each spatial dimension is resized on its own by gathering
rows with ``index_select`` (and, for the linear modes, blending two gathered neighbours
by their weights): memory linear in input and output, and the backward is
``index_select``'s scatter-add.  Source positions follow PyTorch's formulas
(``area_pixel_compute_source_index``), computed in float32 as PyTorch's CPU kernels do,
so the same pixels are picked.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, tensor as _tensor
from .module import Module

__all__ = ["interpolate", "upsample", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d"]

#: the linear modes and the input rank each takes
_LINEAR = {"linear": 3, "bilinear": 4}
_NEAREST = ("nearest", "nearest-exact")


def _output_size(input: Tensor, size, scale_factor, nd: int) -> tuple[tuple, tuple]:
    """The output's spatial size and the per-dim scale (``None``: in/out) to use."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate(): exactly one of size or scale_factor must be "
                         "given")
    spatial = tuple(input.shape[2:])
    if size is not None:
        out = (size,) * nd if isinstance(size, int) else tuple(size)
        if len(out) != nd:
            raise ValueError(f"interpolate(): size has {len(out)} elements, but the input "
                             f"of shape {list(input.shape)} has {nd} spatial dimensions")
        if any(not isinstance(s, int) or s <= 0 for s in out):
            raise ValueError(f"interpolate(): size must be positive integers, got "
                             f"{list(out)}")
        return out, (None,) * nd
    sf = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) \
        else tuple(scale_factor)
    if len(sf) != nd:
        raise ValueError(f"interpolate(): scale_factor has {len(sf)} elements, but the "
                         f"input of shape {list(input.shape)} has {nd} spatial dimensions")
    if any(not s > 0 for s in sf):
        raise ValueError(f"interpolate(): scale_factor must be positive, got {list(sf)}")
    out = tuple(math.floor(float(i) * float(s)) for i, s in zip(spatial, sf, strict=True))
    if any(o <= 0 for o in out):
        raise ValueError(f"interpolate(): the output size {list(out)} (input "
                         f"{list(spatial)} times scale_factor {list(sf)}) must be positive")
    return out, tuple(float(s) for s in sf)


def _scale(n_in: int, n_out: int, scale_factor, align_corners: bool) -> np.float32:
    """PyTorch's ``area_pixel_compute_scale``: input pixels per output pixel."""
    if align_corners:
        return np.float32(n_in - 1) / np.float32(n_out - 1) if n_out > 1 \
            else np.float32(0.0)
    if scale_factor is not None:
        return np.float32(1.0 / scale_factor)
    return np.float32(n_in) / np.float32(n_out)


def _nearest_index(n_in: int, n_out: int, scale_factor, exact: bool) -> np.ndarray:
    o = np.arange(n_out, dtype=np.float32)
    scale = _scale(n_in, n_out, scale_factor, False)
    src = np.floor((o + np.float32(0.5)) * scale if exact else o * scale)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_weights(n_in: int, n_out: int, scale_factor, align_corners: bool):
    """Left neighbour, right neighbour and the right one's weight for each output."""
    o = np.arange(n_out, dtype=np.float32)
    scale = _scale(n_in, n_out, scale_factor, align_corners)
    if align_corners:
        src = o * scale
    else:
        src = np.maximum((o + np.float32(0.5)) * scale - np.float32(0.5), np.float32(0))
    left = np.minimum(src.astype(np.int64), n_in - 1)
    right = np.minimum(left + 1, n_in - 1)
    return left, right, (src - left.astype(np.float32)).astype(np.float32)


def _resize_dim(x: Tensor, dim: int, n_out: int, scale_factor, mode: str,
                align_corners: bool) -> Tensor:
    n_in = x.shape[dim]
    if n_in == n_out and mode != "nearest-exact":
        return x  # PyTorch copies an unchanged size whatever the scale given
    if mode in _NEAREST:
        if mode == "nearest" and n_out == 2 * n_in:  # (PyTorch's shortcut, same pixels)
            idx = np.arange(n_out, dtype=np.int64) >> 1
        else:
            idx = _nearest_index(n_in, n_out, scale_factor, mode == "nearest-exact")
        return x.index_select(dim, _tensor(idx, device=x.device))
    left, right, lam = _linear_weights(n_in, n_out, scale_factor, align_corners)
    shape = [1] * x.ndim
    shape[dim] = n_out
    w = _tensor(lam.reshape(shape), dtype=x.dtype, device=x.device)
    a = x.index_select(dim, _tensor(left, device=x.device))
    b = x.index_select(dim, _tensor(right, device=x.device))
    return a + (b - a) * w


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L) or (N, C, H, W) ``input`` to ``size`` or by
    ``scale_factor``, as ``torch.nn.functional.interpolate``."""
    if mode not in _NEAREST and mode not in _LINEAR:
        raise NotImplementedError(f"interpolate(): mode {mode!r} is not supported (only "
                                  f"'nearest', 'nearest-exact', 'linear', 'bilinear')")
    if mode in _NEAREST and align_corners is not None:
        raise ValueError("interpolate(): align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate(): antialias is not supported")
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"interpolate(): expected a 3-D (N, C, L) or 4-D "
                                  f"(N, C, H, W) input, got shape {list(input.shape)}")
    if mode in _LINEAR and input.ndim != _LINEAR[mode]:
        raise NotImplementedError(f"interpolate(): got {input.ndim}-D input, but {mode} "
                                  f"mode needs {_LINEAR[mode]}-D input")
    nd = input.ndim - 2
    out, scales = _output_size(input, size, scale_factor, nd)
    if recompute_scale_factor:
        scales = (None,) * nd  # the scale from the computed size, not the one given
    x = input
    for i in range(nd):
        x = _resize_dim(x, 2 + i, out[i], scales[i], mode, bool(align_corners))
    return x.clone() if x is input else x  # a new tensor, as PyTorch


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


class Upsample(Module):
    """Resizes its input with :func:`interpolate`'s arguments."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) \
            else (tuple(float(s) for s in scale_factor) if scale_factor else None)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode,
                           self.align_corners, self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None \
            else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(..., mode='nearest')`` for 4-D input."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(..., mode='bilinear', align_corners=True)`` for 4-D input."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
