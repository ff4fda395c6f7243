"""``ember.fft``: discrete Fourier transforms with PyTorch's names (``torch.fft``).

Every transform is written in three primitives (``ember.ops.fft``: complex-to-complex,
real-to-complex, complex-to-real), so each runs on every backend that implements them
(cpu through ``numpy.fft``, the kit's backends through their library's ``fft``
extension) and is differentiable.  ``norm`` is ``"backward"`` (the default:
forward transforms unscaled, inverse ones scaled by ``1/n``), ``"forward"`` (the
reverse) or ``"ortho"`` (both by ``1/sqrt(n)``).

Inputs that are not floating or complex (bool, integers) are transformed as the
default dtype; float16 and bfloat16 as float32 (PyTorch's CPU refuses half precision).
The Hermitian transforms are the real ones conjugated under the swapped scaling:
``hfftn(x) = irfftn(conj(x))`` and ``ihfftn(x) = conj(rfftn(x))``, each with ``norm``'s
opposite, so they share the real transforms' primitives and derivatives.
"""

from __future__ import annotations

from . import dtypes as _dt
from .errors import OpError
from .ops.fft import fft_c2c as _c2c
from .ops.fft import fft_c2r as _c2r
from .ops.fft import fft_r2c as _r2c
from .ops.fft import resize as _resize
from .tensor import Tensor

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
           "irfft2", "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _fail(op: str, message: str):
    raise OpError(f"fft.{op}(): {message}")


def _norm(op: str, norm) -> str:
    if norm is None:
        return "backward"
    if norm not in _SWAP:
        _fail(op, f"argument 'norm' must be None, 'backward', 'forward' or 'ortho', "
                  f"got {norm!r}")
    return norm


def _input(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"fft.{op}(): argument 'input' must be Tensor, not "
                        f"{type(x).__name__}")
    d = x.dtype
    if d._kind in "bi":
        return x.astype(_dt.get_default_dtype())
    if d is _dt.float16 or d is _dt.bfloat16:
        return x.astype(_dt.float32)
    return x


def _wrap(op: str, d: int, ndim: int) -> int:
    if not isinstance(d, int) or isinstance(d, bool):
        _fail(op, f"argument 'dim' must hold ints, got {d!r}")
    if not -ndim <= d < ndim:
        _fail(op, f"dimension {d} is out of range for a {ndim}-D input (expected to be in "
                  f"range of [{-ndim}, {ndim - 1}])")
    return d % ndim


def _plan(op: str, x: Tensor, s, dim, default_dim=None):
    """The (dims, sizes) an n-dimensional transform works on (torch.fft's rules: ``dim``
    defaults to the last ``len(s)`` dims, or all; ``s`` to the input's sizes; ``-1``
    in ``s`` keeps that size)."""
    if x.ndim == 0:
        _fail(op, "expected a tensor with at least one dimension")
    if isinstance(dim, int):
        dim = (dim,)
    if s is not None and isinstance(s, int):
        s = (s,)
    if dim is None:
        dim = default_dim
    if dim is None:
        dim = tuple(range(x.ndim - len(s), x.ndim)) if s is not None else tuple(range(x.ndim))
    dims = tuple(_wrap(op, d, x.ndim) for d in dim)
    if len(set(dims)) != len(dims):
        _fail(op, f"argument 'dim' must not repeat a dimension, got {list(dim)}")
    if not dims:
        _fail(op, "expected at least one dimension to transform")
    if s is None:
        sizes = tuple(x.shape[d] for d in dims)
    else:
        s = tuple(s)
        if len(s) != len(dims):
            _fail(op, f"arguments 's' and 'dim' must have the same length, got {len(s)} "
                      f"and {len(dims)}")
        sizes = tuple(x.shape[d] if n == -1 else n for d, n in zip(dims, s, strict=True))
    for n in sizes:
        if not isinstance(n, int) or n < 1:
            _fail(op, f"invalid number of data points ({n}) specified")
    return dims, sizes


def _c2c_nd(op, x, s, dim, norm, forward, default_dim=None):
    x = _input(op, x)
    norm = _norm(op, norm)
    dims, sizes = _plan(op, x, s, dim, default_dim)
    x = _resize(x, dims, sizes)
    if x.dtype._kind == "c":
        return _c2c(x, dims, norm, forward)
    if forward:  # a real input: its full (two-sided) spectrum
        return _r2c(x, dims, norm, False)
    # The inverse DFT of a real signal is the conjugate of its forward DFT under the
    # swapped scaling (ifft(x) = conj(fft(x)) / n for real x).
    from .ops.complex_numbers import conj_physical
    return conj_physical(_r2c(x, dims, _SWAP[norm], False))


def _one(n, dim):
    return None if n is None else (n,), (dim,)


def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The 1-D discrete Fourier transform over ``dim`` (``n``: cut or zero-pad first)."""
    s, d = _one(n, dim)
    return _c2c_nd("fft", input, s, d, norm, True)


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The 1-D inverse discrete Fourier transform over ``dim``."""
    s, d = _one(n, dim)
    return _c2c_nd("ifft", input, s, d, norm, False)


def fft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """The 2-D discrete Fourier transform over ``dim`` (the last two by default)."""
    return _c2c_nd("fft2", input, s, dim, norm, True)


def ifft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """The 2-D inverse discrete Fourier transform."""
    return _c2c_nd("ifft2", input, s, dim, norm, False)


def fftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """The N-D discrete Fourier transform over ``dim`` (all dims by default)."""
    return _c2c_nd("fftn", input, s, dim, norm, True)


def ifftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """The N-D inverse discrete Fourier transform."""
    return _c2c_nd("ifftn", input, s, dim, norm, False)


def _real_input(op, x):
    x = _input(op, x)
    if x.dtype._kind == "c":
        _fail(op, f"expects a real input tensor, but got {x.dtype}")
    return x


def _rfft_nd(op, x, s, dim, norm, default_dim=None):
    x = _real_input(op, x)
    norm = _norm(op, norm)
    dims, sizes = _plan(op, x, s, dim, default_dim)
    return _r2c(_resize(x, dims, sizes), dims, norm, True)


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The 1-D DFT of a real signal: the ``n // 2 + 1`` non-negative frequencies."""
    s, d = _one(n, dim)
    return _rfft_nd("rfft", input, s, d, norm)


def rfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """The 2-D DFT of a real signal (one-sided in the last dim)."""
    return _rfft_nd("rfft2", input, s, dim, norm)


def rfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """The N-D DFT of a real signal (one-sided in the last transformed dim)."""
    return _rfft_nd("rfftn", input, s, dim, norm)


def _irfft_nd(op, x, s, dim, norm, default_dim=None):
    x = _input(op, x)
    norm = _norm(op, norm)
    if x.dtype._kind != "c":
        x = x.astype(_dt.to_complex(x.dtype))
    dims, sizes = _plan(op, x, s, dim, default_dim)
    if s is None or s[-1] == -1:  # the last signal size: 2 * (m - 1) by default
        sizes = sizes[:-1] + (2 * (x.shape[dims[-1]] - 1),)
        if sizes[-1] < 1:
            _fail(op, f"invalid number of data points ({sizes[-1]}) specified")
    x = _resize(x, dims, sizes[:-1] + (sizes[-1] // 2 + 1,))
    return _c2r(x, dims, norm, sizes[-1])


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of ``rfft``: a real signal of length ``n`` (``2 * (m - 1)`` by
    default) from its one-sided spectrum."""
    s, d = _one(n, dim)
    return _irfft_nd("irfft", input, s, d, norm)


def irfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """The inverse of ``rfft2``."""
    return _irfft_nd("irfft2", input, s, dim, norm)


def irfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """The inverse of ``rfftn``."""
    return _irfft_nd("irfftn", input, s, dim, norm)


def _hfft_nd(op, x, s, dim, norm, default_dim=None):
    from .ops.complex_numbers import conj
    norm = _norm(op, norm)
    return _irfft_nd(op, conj(_input(op, x)), s, dim, _SWAP[norm], default_dim)


def _ihfft_nd(op, x, s, dim, norm, default_dim=None):
    from .ops.complex_numbers import conj_physical
    norm = _norm(op, norm)
    return conj_physical(_rfft_nd(op, x, s, dim, _SWAP[norm], default_dim))


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The DFT of a Hermitian-symmetric signal given by its first half: a real
    spectrum of length ``n`` (``2 * (m - 1)`` by default)."""
    s, d = _one(n, dim)
    return _hfft_nd("hfft", input, s, d, norm)


def ihfft(input: Tensor, n: int | None = None, dim: int = -1,
          norm: str | None = None) -> Tensor:
    """The inverse of ``hfft``: the first half of the Hermitian spectrum of a real
    signal."""
    s, d = _one(n, dim)
    return _ihfft_nd("ihfft", input, s, d, norm)


def hfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """The 2-D DFT of a Hermitian-symmetric signal given by its half in the last
    ``dim``: a real spectrum (last size ``2 * (m - 1)`` by default)."""
    return _hfft_nd("hfft2", input, s, dim, norm)


def ihfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """The inverse of ``hfft2``: the 2-D inverse DFT of a real signal, one-sided in the
    last ``dim``."""
    return _ihfft_nd("ihfft2", input, s, dim, norm)


def hfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """The N-D DFT of a Hermitian-symmetric signal given by its half in the last
    transformed dim (all dims by default)."""
    return _hfft_nd("hfftn", input, s, dim, norm)


def ihfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """The inverse of ``hfftn``: the N-D inverse DFT of a real signal, one-sided in the
    last transformed dim."""
    return _ihfft_nd("ihfftn", input, s, dim, norm)


def _freq_args(op, n, d):
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        _fail(op, f"argument 'n' must be a positive int, got {n!r}")
    if not isinstance(d, (int, float)) or isinstance(d, bool) or d == 0:
        _fail(op, f"argument 'd' must be a nonzero number, got {d!r}")


def fftfreq(n: int, d: float = 1.0, *, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point DFT with sample spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d * n)``."""
    from .ops.creation import arange
    from .ops.view import cat
    _freq_args("fftfreq", n, d)
    dtype = _dt.as_dtype(dtype, op="fft.fftfreq") if dtype is not None else \
        _dt.get_default_dtype()
    k = cat([arange(0, (n - 1) // 2 + 1, dtype=dtype, device=device),
             arange(-(n // 2), 0, dtype=dtype, device=device)])
    out = k * (1.0 / (d * n))
    return out.requires_grad_(True) if requires_grad else out


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The non-negative sample frequencies of ``rfft``: ``[0, ..., n // 2] / (d * n)``."""
    from .ops.creation import arange
    _freq_args("rfftfreq", n, d)
    dtype = _dt.as_dtype(dtype, op="fft.rfftfreq") if dtype is not None else \
        _dt.get_default_dtype()
    out = arange(0, n // 2 + 1, dtype=dtype, device=device) * (1.0 / (d * n))
    return out.requires_grad_(True) if requires_grad else out


def _shift(op, x, dim, sign):
    if not isinstance(x, Tensor):
        raise TypeError(f"fft.{op}(): argument 'input' must be Tensor, not "
                        f"{type(x).__name__}")
    if x.ndim == 0:
        return x.clone()
    if dim is None:
        dim = tuple(range(x.ndim))
    elif isinstance(dim, int):
        dim = (dim,)
    dims = tuple(_wrap(op, d, x.ndim) for d in dim)
    shifts = tuple(sign * (x.shape[d] // 2) for d in dims)
    from .ops.view import roll
    return roll(x, shifts, dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Move the zero frequency to the middle of ``dim`` (all dims by default)."""
    return _shift("fftshift", input, dim, 1)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """The inverse of ``fftshift``."""
    return _shift("ifftshift", input, dim, -1)

