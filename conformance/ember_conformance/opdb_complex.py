"""Op-database entries of the complex-number ops (parts, conjugate, polar form) and
the DFT primitives, with numpy references.

Complex results are built from their parts by viewing ``(..., 2)`` pairs as complex
(``re + 1j * im`` would turn an infinite imaginary part into NaN)."""

from __future__ import annotations

import numpy as np

from .opdb import explicit
from .samples import ALL_DTYPES, COMPLEX, FLOATS, INTS, Sample, T, specials, values

_REAL = ("float32", "float64")


def _pair(re, im):
    """The complex array with parts ``re`` and ``im`` (broadcast), exactly."""
    re, im = np.broadcast_arrays(np.asarray(re, np.float64), np.asarray(im, np.float64))
    return np.ascontiguousarray(np.stack([re, im], -1)).view(np.complex128)[..., 0]


def _unary(d, rng):
    out = [Sample(T(values((), d, rng))), Sample(T(values((3, 4), d, rng))),
           Sample(T(values((3, 4), d, rng), "transposed")), Sample(T(values((0, 3), d, rng))),
           Sample(T(np.broadcast_to(values((1, 4), d, rng), (3, 4)).copy(), "expanded"))]
    sp = specials(d)
    if sp is not None:
        out.append(Sample(T(sp), note="NaN, inf, -0.0 and large values"))
    if d in COMPLEX:
        part = specials("float32" if d == "complex64" else "float64")
        out.append(Sample(T(_pair(part, np.roll(part, 2)).astype(d)),
                          note="NaN, inf, -0.0 and large parts"))
    return out


def _conj(a):
    return np.conj(a) if np.iscomplexobj(a) else a.copy()


explicit("conj_physical", _unary, _conj, dtypes=ALL_DTYPES + COMPLEX)
explicit("conj", _unary, _conj, dtypes=ALL_DTYPES + COMPLEX)
explicit("resolve_conj", _unary, lambda a: a.copy(), dtypes=ALL_DTYPES + COMPLEX)
explicit("resolve_neg", _unary, lambda a: a.copy(), dtypes=ALL_DTYPES + COMPLEX)
explicit("real", _unary, lambda a: a.real.copy(), dtypes=ALL_DTYPES + COMPLEX)
explicit("imag", _unary, lambda a: a.imag.copy(), dtypes=COMPLEX)
explicit("view_as_real", _unary, lambda a: np.stack([a.real, a.imag], -1), dtypes=COMPLEX)


def _angle(a):
    if np.iscomplexobj(a):
        return np.angle(a)
    a = a.astype(np.float64)
    # PyTorch: pi for negative numbers, 0 otherwise (-0.0 included), NaN stays NaN
    return np.where(np.isnan(a), a, np.where(a < 0, np.pi, 0.0))


explicit("angle", _unary, _angle, dtypes=ALL_DTYPES + COMPLEX)


def _sgn(a):
    if np.iscomplexobj(a):
        m = np.abs(a)
        with np.errstate(all="ignore"):
            return np.where(m == 0, 0, a / np.where(m == 0, 1, m))
    return np.where(np.isnan(a), 0, np.sign(a))


explicit("sgn", _unary, _sgn, dtypes=ALL_DTYPES + COMPLEX)


def _pairs_samples(d, rng):
    v = values
    out = [Sample(T(v((3, 2), d, rng))), Sample(T(v((2, 3, 2), d, rng))),
           Sample(T(v((2,), d, rng)), note="0-d result"), Sample(T(v((0, 2), d, rng))),
           Sample(T(v((3, 2), d, rng), "transposed"), note="parts not adjacent")]
    sp = specials(d)
    if sp is not None:
        out.append(Sample(T(np.stack([sp, np.roll(sp, 4)], -1)), note="NaN, inf parts"))
    return out


explicit("view_as_complex", _pairs_samples, lambda a: _pair(a[..., 0], a[..., 1]),
         dtypes=FLOATS + INTS)


def _two_real(domain_a):
    def gen(d, rng):
        v = values
        out = [Sample(T(v((3, 4), d, rng, domain_a)), T(v((3, 4), d, rng))),
               Sample(T(v((3, 1), d, rng, domain_a)), T(v((4,), d, rng)), note="broadcast"),
               Sample(T(v((), d, rng, domain_a)), T(v((), d, rng))),
               Sample(T(v((0, 2), d, rng, domain_a)), T(v((0, 2), d, rng))),
               Sample(T(v((2, 3), d, rng, domain_a), "transposed"), T(v((2, 3), d, rng))),
               Sample(T(v((2, 3), d, rng, domain_a)),
                      T(v((2, 3), "float64" if d == "float32" else "float32", rng)),
                      note="mixed dtypes")]
        sp = specials(d)
        if sp is not None and domain_a == "any":
            out.append(Sample(T(sp), T(np.roll(sp, 3)), note="NaN, inf parts"))
        return out
    return gen


explicit("complex", _two_real("any"), _pair, dtypes=FLOATS + INTS)
explicit("polar", _two_real("nonneg"),
         lambda r, t: _pair(r * np.cos(t), r * np.sin(t)), dtypes=FLOATS + INTS, tol=4.0)


# --- the DFT primitives --------------------------------------------------------------------
_NORMS = ("backward", "forward", "ortho")


def _c2c_samples(d, rng):
    v = values
    out = []
    for k, norm in enumerate(_NORMS):
        out += [Sample(T(v((3, 4), d, rng)), [1], norm, k != 1),
                Sample(T(v((3, 4), d, rng), "transposed"), [0, 1], norm, k == 1),
                Sample(T(v((2, 3, 5), d, rng)), [-1, 0], norm, True)]
    out.append(Sample(T(v((0, 4), d, rng)), [1], "backward", True, note="empty batch"))
    return out


def _c2c_ref(a, dim, norm, forward):
    return (np.fft.fftn if forward else np.fft.ifftn)(a, axes=dim, norm=norm)


explicit("_fft_c2c", _c2c_samples, _c2c_ref, dtypes=COMPLEX + _REAL, tol=16.0)


def _r2c_samples(d, rng):
    v = values
    out = []
    for k, norm in enumerate(_NORMS):
        out += [Sample(T(v((3, 4), d, rng)), [1], norm, True),
                Sample(T(v((3, 5), d, rng), "transposed"), [0, 1], norm, k != 0),
                Sample(T(v((2, 3, 5), d, rng)), [0, -1], norm, k == 2)]
    out.append(Sample(T(v((0, 4), d, rng)), [1], "backward", True, note="empty batch"))
    return out


def _r2c_ref(a, dim, norm, onesided):
    return (np.fft.rfftn if onesided else np.fft.fftn)(a, axes=dim, norm=norm)


explicit("_fft_r2c", _r2c_samples, _r2c_ref, dtypes=_REAL + COMPLEX, tol=16.0)


def _c2r_samples(d, rng):
    v = values
    out = []
    for norm in _NORMS:
        out += [Sample(T(v((3, 3), d, rng)), [1], norm, 4),
                Sample(T(v((3, 3), d, rng)), [1], norm, 5),
                Sample(T(v((4, 3), d, rng), "transposed"), [0, 1], norm, 5),
                Sample(T(v((2, 3, 4), d, rng)), [0, 2], norm, 6)]
    out.append(Sample(T(v((0, 3), d, rng)), [1], "backward", 4, note="empty batch"))
    return out


def _c2r_ref(a, dim, norm, last_dim_size):
    s = [a.shape[k] for k in dim]
    s[-1] = last_dim_size
    return np.fft.irfftn(a, s=s, axes=dim, norm=norm)


explicit("_fft_c2r", _c2r_samples, _c2r_ref, dtypes=COMPLEX + _REAL, tol=16.0)
