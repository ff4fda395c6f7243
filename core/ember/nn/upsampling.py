"""Resizing: ``interpolate`` and the ``Upsample`` layers (modes 'nearest',
'nearest-exact', 'linear', 'bilinear', 'bicubic' and 'trilinear').

Every mode is separable, so each spatial dimension is resized on its own by gathering
rows with ``index_select`` and blending the gathered neighbours by their weights (two
for the linear modes, four for bicubic): memory linear in input and output, no dense
interpolation matrix, and the backward is ``index_select``'s scatter-add.  Source
positions and weights follow PyTorch's formulas (``area_pixel_compute_source_index``,
``get_cubic_upsample_coefficients``), computed in float32 for float32 input and float64
for float64 input as PyTorch's CPU kernels do (its ``opmath_t``), so the same pixels
are picked with the same weights.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import float64 as _float64
from ..errors import OpError
from ..tensor import Tensor, tensor as _tensor
from .module import Module

__all__ = ["interpolate", "upsample", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d"]

#: the interpolating modes and the input rank each takes
_LINEAR = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_NEAREST = ("nearest", "nearest-exact")
#: the modes whose PyTorch kernels copy a dimension whose size is unchanged, even under
#: a scale_factor other than 1 (as does 'nearest' on 4-D input; 'nearest' on 3-D and
#: 5-D, 'nearest-exact' and 'bicubic' resample it by the scale given)
_COPIES_SAME_SIZE = ("linear", "bilinear", "trilinear")
#: PyTorch's cubic convolution constant (Keys' a = -0.75, as OpenCV)
_CUBIC_A = -0.75


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


def _scale(n_in: int, n_out: int, scale_factor, align_corners: bool,
           ft: type = np.float32):
    """PyTorch's ``area_pixel_compute_scale``: input pixels per output pixel, in the
    float type ``ft`` of the computation."""
    if align_corners:
        return ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0.0)
    if scale_factor is not None:
        return ft(1.0 / scale_factor)
    return ft(n_in) / ft(n_out)


def _nearest_index(n_in: int, n_out: int, scale_factor, exact: bool) -> np.ndarray:
    o = np.arange(n_out, dtype=np.float32)
    scale = _scale(n_in, n_out, scale_factor, False)
    src = np.floor((o + np.float32(0.5)) * scale if exact else o * scale)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _source(n_in: int, n_out: int, scale_factor, align_corners: bool, cubic: bool,
            ft: type) -> np.ndarray:
    """PyTorch's ``area_pixel_compute_source_index``: each output's position in the
    input (the linear modes clamp it at 0; the cubic one reaches past the border)."""
    o = np.arange(n_out, dtype=ft)
    scale = _scale(n_in, n_out, scale_factor, align_corners, ft)
    if align_corners:
        return o * scale
    src = (o + ft(0.5)) * scale - ft(0.5)
    return src if cubic else np.maximum(src, ft(0))


def _linear_weights(n_in: int, n_out: int, scale_factor, align_corners: bool,
                    ft: type = np.float32):
    """Left neighbour, right neighbour and the right one's weight for each output."""
    src = _source(n_in, n_out, scale_factor, align_corners, False, ft)
    left = np.minimum(src.astype(np.int64), n_in - 1)
    right = np.minimum(left + 1, n_in - 1)
    return left, right, (src - left.astype(ft)).astype(ft)


def _cubic_weights(n_in: int, n_out: int, scale_factor, align_corners: bool,
                   ft: type) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The four neighbours (clamped to the border, as PyTorch's
    ``upsample_get_value_bounded``) and their weights for each output."""
    src = _source(n_in, n_out, scale_factor, align_corners, True, ft)
    # PyTorch's guard_index_and_lambda: floor, capped at the last pixel, t in [0, 1]
    base = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    t = np.clip(src - base.astype(ft), ft(0), ft(1)).astype(ft)
    a = ft(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + ft(2)) * x - (a + ft(3))) * x * x + ft(1)

    def far(x):  # 1 < |x| < 2
        return ((a * x - ft(5) * a) * x + ft(8) * a) * x - ft(4) * a

    weights = [far(t + ft(1)), near(t), near(ft(1) - t), far(ft(2) - t)]
    index = [np.clip(base + k - 1, 0, n_in - 1) for k in range(4)]
    return index, [w.astype(ft) for w in weights]


def _resize_dim(x: Tensor, dim: int, n_out: int, scale_factor, mode: str,
                align_corners: bool) -> Tensor:
    n_in = x.shape[dim]
    # PyTorch's 2-D 'nearest' kernel has two shortcuts its 1-D and 3-D ones lack
    nearest_2d = mode == "nearest" and x.ndim == 4
    if n_in == n_out and (mode in _COPIES_SAME_SIZE or nearest_2d):
        return x  # PyTorch copies an unchanged size whatever the scale given
    if mode in _NEAREST:
        if nearest_2d and n_out == 2 * n_in:  # twice the size: each pixel twice
            idx = np.arange(n_out, dtype=np.int64) >> 1
        else:
            idx = _nearest_index(n_in, n_out, scale_factor, mode == "nearest-exact")
        return x.index_select(dim, _tensor(idx, device=x.device))
    ft = np.float64 if x.dtype == _float64 else np.float32
    shape = [1] * x.ndim
    shape[dim] = n_out

    def weight(w: np.ndarray) -> Tensor:
        return _tensor(w.reshape(shape), dtype=x.dtype, device=x.device)

    def gather(idx: np.ndarray) -> Tensor:
        return x.index_select(dim, _tensor(idx, device=x.device))

    if mode == "bicubic":
        index, weights = _cubic_weights(n_in, n_out, scale_factor, align_corners, ft)
        out = gather(index[0]) * weight(weights[0])
        for idx, w in zip(index[1:], weights[1:], strict=True):
            out = out + gather(idx) * weight(w)
        return out
    left, right, lam = _linear_weights(n_in, n_out, scale_factor, align_corners, ft)
    a = gather(left)
    return a + (gather(right) - a) * weight(lam)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) ``input``
    to ``size`` or by ``scale_factor``, as ``torch.nn.functional.interpolate``
    ('linear' takes 3-D input, 'bilinear' and 'bicubic' 4-D, 'trilinear' 5-D)."""
    if mode not in _NEAREST and mode not in _LINEAR:
        raise NotImplementedError(f"interpolate(): mode {mode!r} is not supported (only "
                                  f"'nearest', 'nearest-exact', 'linear', 'bilinear', "
                                  f"'bicubic', 'trilinear')")
    if mode in _NEAREST and align_corners is not None:
        raise ValueError("interpolate(): align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate(): antialias is not supported")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate(): expected a 3-D (N, C, L), 4-D "
                                  f"(N, C, H, W) or 5-D (N, C, D, H, W) input, got shape "
                                  f"{list(input.shape)}")
    if mode in _LINEAR and input.ndim != _LINEAR[mode]:
        raise NotImplementedError(f"interpolate(): got {input.ndim}-D input, but {mode} "
                                  f"mode needs {_LINEAR[mode]}-D input")
    if 0 in input.shape[1:]:
        raise OpError(f"interpolate(): expected input of shape {list(input.shape)} "
                         f"to have non-zero channels and spatial sizes (only the batch "
                         f"may be empty)")
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
