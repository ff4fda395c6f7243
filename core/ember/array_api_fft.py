"""The Array API standard's ``fft`` extension (``ember.array_api.fft``), over
``ember.fft``: the standard's names and keywords (``axis``/``axes``, ``norm`` defaulting
to ``"backward"``, ``d``, ``dtype``, ``device``)."""

from __future__ import annotations

from collections.abc import Sequence

from . import fft as _fft
from .tensor import Tensor

__all__ = ["fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft",
           "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def fft(x: Tensor, /, *, n: int | None = None, axis: int = -1,
        norm: str = "backward") -> Tensor:
    """The 1-D discrete Fourier transform."""
    return _fft.fft(x, n, axis, norm)


def ifft(x: Tensor, /, *, n: int | None = None, axis: int = -1,
         norm: str = "backward") -> Tensor:
    """The 1-D inverse discrete Fourier transform."""
    return _fft.ifft(x, n, axis, norm)


def fftn(x: Tensor, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str = "backward") -> Tensor:
    """The N-D discrete Fourier transform."""
    return _fft.fftn(x, s, axes, norm)


def ifftn(x: Tensor, /, *, s: Sequence[int] | None = None,
          axes: Sequence[int] | None = None, norm: str = "backward") -> Tensor:
    """The N-D inverse discrete Fourier transform."""
    return _fft.ifftn(x, s, axes, norm)


def rfft(x: Tensor, /, *, n: int | None = None, axis: int = -1,
         norm: str = "backward") -> Tensor:
    """The 1-D DFT of a real signal (non-negative frequencies)."""
    return _fft.rfft(x, n, axis, norm)


def irfft(x: Tensor, /, *, n: int | None = None, axis: int = -1,
          norm: str = "backward") -> Tensor:
    """The inverse of ``rfft``."""
    return _fft.irfft(x, n, axis, norm)


def rfftn(x: Tensor, /, *, s: Sequence[int] | None = None,
          axes: Sequence[int] | None = None, norm: str = "backward") -> Tensor:
    """The N-D DFT of a real signal."""
    return _fft.rfftn(x, s, axes, norm)


def irfftn(x: Tensor, /, *, s: Sequence[int] | None = None,
           axes: Sequence[int] | None = None, norm: str = "backward") -> Tensor:
    """The inverse of ``rfftn``."""
    return _fft.irfftn(x, s, axes, norm)


def hfft(x: Tensor, /, *, n: int | None = None, axis: int = -1,
         norm: str = "backward") -> Tensor:
    """The DFT of a Hermitian-symmetric signal (a real spectrum)."""
    return _fft.hfft(x, n, axis, norm)


def ihfft(x: Tensor, /, *, n: int | None = None, axis: int = -1,
          norm: str = "backward") -> Tensor:
    """The inverse of ``hfft``."""
    return _fft.ihfft(x, n, axis, norm)


def fftfreq(n: int, /, *, d: float = 1.0, dtype=None, device=None) -> Tensor:
    """The sample frequencies of an ``n``-point DFT."""
    return _fft.fftfreq(n, d, dtype=dtype, device=device)


def rfftfreq(n: int, /, *, d: float = 1.0, dtype=None, device=None) -> Tensor:
    """The sample frequencies of ``rfft``."""
    return _fft.rfftfreq(n, d, dtype=dtype, device=device)


def fftshift(x: Tensor, /, *, axes: int | Sequence[int] | None = None) -> Tensor:
    """Move the zero frequency to the middle."""
    return _fft.fftshift(x, axes)


def ifftshift(x: Tensor, /, *, axes: int | Sequence[int] | None = None) -> Tensor:
    """The inverse of ``fftshift``."""
    return _fft.ifftshift(x, axes)
