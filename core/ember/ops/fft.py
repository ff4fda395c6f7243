"""The discrete Fourier transform's three primitives (PyTorch's ``_fft_c2c``,
``_fft_r2c``, ``_fft_c2r``); ``ember.fft`` builds every public transform from them.

Each transforms the dims ``dim`` of an input already cut or zero-padded to the signal
size.  ``norm`` is numpy's name of the scaling *of the direction computed*:
``"backward"`` (forward transforms unscaled, inverse ones by ``1/n``), ``"forward"``
(the reverse) or ``"ortho"`` (both by ``1/sqrt(n)``).  The adjoint of a transform is
the transform of the other direction under the swapped name, which is how the
derivatives below are written.
"""

from __future__ import annotations

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import fail, wrap_dim

__all__: list[str] = []

_NORMS = ("backward", "forward", "ortho")
_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _dims(op, self, dim):
    dims = tuple(wrap_dim(d, self.ndim, op) for d in dim)
    if len(set(dims)) != len(dims):
        fail(op, f"argument 'dim' has repeated dims {list(dim)}")
    if self.ndim == 0 or not dims:
        fail(op, "expected at least one dimension to transform")
    return dims


def _nonempty(op, self, dims):
    # (PyTorch and numpy.fft refuse a transform over no data points)
    for d in dims:
        if self.shape[d] == 0:
            fail(op, f"invalid number of data points (0) specified (dim {d} is empty)")


def _norm(op, norm):
    if norm not in _NORMS:
        fail(op, f"argument 'norm' must be one of {list(_NORMS)}, got {norm!r}")


def _c2c_meta(self, dim, norm, forward):
    _nonempty("_fft_c2c", self, _dims("_fft_c2c", self, dim))
    _norm("_fft_c2c", norm)
    if self.dtype._kind != "c":
        fail("_fft_c2c", f"expected a complex tensor, got {self.dtype}")
    return Spec(tuple(self.shape), self.dtype)


def _r2c_meta(self, dim, norm, onesided):
    dims = _dims("_fft_r2c", self, dim)
    _nonempty("_fft_r2c", self, dims)
    _norm("_fft_r2c", norm)
    if self.dtype not in (_dt.float32, _dt.float64):
        fail("_fft_r2c", f"expected a float32 or float64 tensor, got {self.dtype}")
    shape = list(self.shape)
    if onesided:
        shape[dims[-1]] = shape[dims[-1]] // 2 + 1
    return Spec(tuple(shape), _dt.to_complex(self.dtype))


def _c2r_meta(self, dim, norm, last_dim_size):
    dims = _dims("_fft_c2r", self, dim)
    _nonempty("_fft_c2r", self, dims[:-1])  # (the last one's size is last_dim_size)
    _norm("_fft_c2r", norm)
    if self.dtype._kind != "c":
        fail("_fft_c2r", f"expected a complex tensor, got {self.dtype}")
    if last_dim_size < 1:
        fail("_fft_c2r", f"invalid number of data points ({last_dim_size}) specified")
    shape = list(self.shape)
    shape[dims[-1]] = last_dim_size
    return Spec(tuple(shape), _dt.to_real(self.dtype))


fft_c2c = defop("_fft_c2c(Tensor self, int[] dim, str norm, bool forward) -> Tensor",
                tags=("primitive",), meta=_c2c_meta, method=False,
                doc="The complex-to-complex DFT over ``dim`` (``forward`` or inverse).")
fft_r2c = defop("_fft_r2c(Tensor self, int[] dim, str norm, bool onesided) -> Tensor",
                tags=("primitive",), meta=_r2c_meta, method=False,
                doc="The forward DFT of a real tensor over ``dim``; ``onesided`` keeps the "
                    "``n // 2 + 1`` non-redundant outputs of the last dim.")
fft_c2r = defop("_fft_c2r(Tensor self, int[] dim, str norm, int last_dim_size) -> Tensor",
                tags=("primitive",), meta=_c2r_meta, method=False,
                doc="The inverse DFT of a one-sided Hermitian spectrum over ``dim`` into a "
                    "real tensor whose last transformed dim has ``last_dim_size``.")


def resize(x, dims, sizes):
    """``x`` cut or zero-padded at the end of each of ``dims`` to ``sizes`` (the signal
    size ``n``/``s`` of the public transforms)."""
    from .creation import zeros
    from .view import cat, narrow
    for d, n in zip(dims, sizes, strict=True):
        have = x.shape[d]
        if n < have:
            x = narrow(x, d, 0, n)
        elif n > have:
            shape = list(x.shape)
            shape[d] = n - have
            x = cat([x, zeros(tuple(shape), dtype=x.dtype, device=x.device)], d)
    return x


# --- derivatives ---
from ..autograd.rules import derivative  # noqa: E402


def _r2c_backward(g, self, dim, norm, onesided):
    # The one-sided output is the full transform's first half: its adjoint pads the
    # gradient with zeros back to the full size, then takes the adjoint transform.
    from .complex_numbers import real
    if onesided:
        g = resize(g, (wrap_dim(dim[-1], self.ndim, "_fft_r2c"),), (self.shape[dim[-1]],))
    return real(fft_c2c(g, dim, _SWAP[norm], False))


def _c2r_backward(g, self, dim, norm, last_dim_size):
    # Each one-sided input bin but the first (and the Nyquist bin of an even size)
    # stands for two bins of the full spectrum: the adjoint doubles them.
    gi = fft_r2c(g, dim, _SWAP[norm], True)
    last = wrap_dim(dim[-1], self.ndim, "_fft_c2r")
    double = last_dim_size - gi.shape[last]
    if double > 0:
        from .creation import ones
        scale = ones(gi.shape[last], dtype=_dt.to_real(gi.dtype), device=gi.device)
        scale[1:1 + double] = 2.0
        gi = gi * scale.reshape((-1,) + (1,) * (gi.ndim - 1 - last))
    return gi


derivative(fft_c2c, self=lambda g, self, dim, norm, forward:
           fft_c2c(g, dim, _SWAP[norm], not forward))
derivative(fft_r2c, self=_r2c_backward)
derivative(fft_c2r, self=_c2r_backward)
