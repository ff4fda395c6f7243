"""Complex numbers: their parts, conjugate and polar form (PyTorch's names).

Two primitives reach the backends: ``view_as_real`` (a complex tensor seen as its
``[..., 2]`` real and imaginary parts) and ``view_as_complex`` (the reverse); a third,
``conj_physical``, is pointwise and decomposes into them for backends that lack it.
``real``, ``imag``, ``angle``, ``polar``, ``complex`` and ``sgn`` are written in them.

Differences from PyTorch: ``conj`` of a complex tensor is a new tensor (PyTorch returns
a lazily conjugated view with a conjugate bit; ember has no such bit, so ``is_conj`` is
always ``False`` and ``resolve_conj`` returns its input).  ember has no ``complex32``.
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import fail

__all__ = ["view_as_real", "view_as_complex", "conj_physical", "conj", "resolve_conj",
           "resolve_neg", "is_conj", "real", "imag", "angle", "polar", "complex", "sgn",
           "is_complex"]


def _view_as_real_meta(self):
    if self.dtype._kind != "c":
        fail("view_as_real", f"argument 'self' must be a complex tensor, got {self.dtype} "
                             f"(view_as_real is only supported for complex tensors)")
    return Spec(tuple(self.shape) + (2,), _dt.to_real(self.dtype))


view_as_real = defop("view_as_real(Tensor(a) self) -> Tensor(a)",
                     tags=("primitive", "view"), meta=_view_as_real_meta,
                     doc="A complex tensor as a real one of shape ``(*self.shape, 2)``: the "
                         "real and imaginary parts along the last dim (a view where the "
                         "backend's arrays allow one).")


def _view_as_complex_meta(self):
    if self.dtype not in (_dt.float32, _dt.float64):
        fail("view_as_complex", f"argument 'self' must be a float32 or float64 tensor, "
                                f"got {self.dtype}")
    shape = tuple(self.shape)
    if not shape or shape[-1] != 2:
        fail("view_as_complex", f"argument 'self' must have a last dimension of size 2, "
                                f"got shape {list(shape)}")
    return Spec(shape[:-1], _dt.to_complex(self.dtype))


view_as_complex = defop("view_as_complex(Tensor(a) self) -> Tensor(a)",
                        tags=("primitive", "view"), meta=_view_as_complex_meta,
                        doc="A real tensor of shape ``(..., 2)`` as a complex tensor of "
                            "shape ``(...)`` (the reverse of ``view_as_real``).")


def _conj_physical_decomp(self):
    from .pointwise import neg
    from .view import select, stack
    if self.dtype._kind != "c":
        return self.clone()
    parts = view_as_real(self)
    return view_as_complex(stack([select(parts, -1, 0), neg(select(parts, -1, 1))], -1))


conj_physical = defop("conj_physical(Tensor self) -> Tensor",
                      tags=("primitive", "pointwise"), promotion="default",
                      decomposition=_conj_physical_decomp,
                      doc="The complex conjugate as a new tensor (a copy for real dtypes).")


def _same(self):
    return Spec(tuple(self.shape), self.dtype)


def _conj_decomp(self):
    return conj_physical(self) if self.dtype._kind == "c" else self


conj = defop("conj(Tensor self) -> Tensor", tags=("composite",), meta=_same,
             decomposition=_conj_decomp,
             doc="The complex conjugate (``self`` itself for real dtypes; for complex a "
                 "new tensor, where PyTorch returns a lazily conjugated view).")
resolve_conj = defop("resolve_conj(Tensor self) -> Tensor", tags=("composite",), meta=_same,
                     decomposition=lambda self: self,
                     doc="``self``: ember never defers a conjugation.")
resolve_neg = defop("resolve_neg(Tensor self) -> Tensor", tags=("composite",), meta=_same,
                    decomposition=lambda self: self,
                    doc="``self``: ember never defers a negation.")


def is_conj(input) -> bool:
    """``False``: ember's ``conj`` conjugates at once (no conjugate bit)."""
    return False


def is_complex(input) -> bool:
    """Whether ``input`` has a complex dtype."""
    return input.dtype._kind == "c"


def _real_meta(self):
    return Spec(tuple(self.shape), _dt.to_real(self.dtype))


def _part(index):
    def decomposition(self):
        from .view import select
        return select(view_as_real(self), -1, index)
    return decomposition


def _real_decomp(self):
    return _part(0)(self) if self.dtype._kind == "c" else self


real = defop("real(Tensor(a) self) -> Tensor(a)", tags=("composite", "view"),
             meta=_real_meta, decomposition=_real_decomp, method=False,
             doc="The real part of a complex tensor as a view (``self`` for real dtypes).")


def _imag_meta(self):
    if self.dtype._kind != "c":
        fail("imag", f"imag is not implemented for tensors with non-complex dtypes "
                     f"(got {self.dtype})")
    return _real_meta(self)


imag = defop("imag(Tensor(a) self) -> Tensor(a)", tags=("composite", "view"),
             meta=_imag_meta, decomposition=_part(1), method=False,
             doc="The imaginary part of a complex tensor as a view.")


def _angle_meta(self):
    d = self.dtype
    if d._kind == "c":
        d = _dt.to_real(d)
    elif d._kind != "f":
        d = _dt.get_default_dtype()
    return Spec(tuple(self.shape), d)


def _angle_decomp(self):
    from .pointwise import atan2, isnan, lt, where
    if self.dtype._kind == "c":
        return atan2(imag(self), real(self))
    if self.dtype._kind != "f":
        self = self.astype(_dt.get_default_dtype())
    # PyTorch: pi for negative numbers, 0 otherwise, NaN stays NaN
    return where(isnan(self), self, where(lt(self, 0), math.pi, 0.0).astype(self.dtype))


angle = defop("angle(Tensor self) -> Tensor", tags=("composite",), meta=_angle_meta,
              decomposition=_angle_decomp,
              doc="The argument (phase) of each element in radians; for real tensors "
                  "``pi`` where negative, else 0.")


def _parts_meta(op, first, second):
    def meta(a, b):
        for name, x in ((first, a), (second, b)):
            if x.dtype not in (_dt.float32, _dt.float64):
                fail(op, f"expected argument '{name}' to be a float32 or float64 tensor, "
                         f"got {x.dtype}")
        if a.dtype is not b.dtype:
            fail(op, f"expected argument '{first}' and '{second}' to have the same dtype, "
                     f"but got {a.dtype} and {b.dtype}")
        from ._rules import broadcast_shapes
        shape = broadcast_shapes(tuple(a.shape), tuple(b.shape), op=op, names=(first, second))
        return Spec(shape, _dt.to_complex(a.dtype))
    return meta


def _from_parts(re, im):
    from ._rules import broadcast_shapes
    from .view import stack
    shape = broadcast_shapes(tuple(re.shape), tuple(im.shape))
    re, im = re.expand(shape), im.expand(shape)
    return view_as_complex(stack([re, im], -1))


complex = defop("complex(Tensor real, Tensor imag) -> Tensor", tags=("composite",),
                meta=_parts_meta("complex", "real", "imag"), decomposition=_from_parts,
                method=False, doc="The complex tensor ``real + 1j * imag`` (broadcasting).")


def _polar_decomp(abs, angle):
    from .pointwise import cos, mul, sin
    return _from_parts(mul(abs, cos(angle)), mul(abs, sin(angle)))


polar = defop("polar(Tensor abs, Tensor angle) -> Tensor", tags=("composite",),
              meta=_parts_meta("polar", "abs", "angle"), decomposition=_polar_decomp,
              method=False, doc="The complex tensor ``abs * exp(1j * angle)``.")


def _sgn_decomp(self):
    from .pointwise import abs as _abs, eq, sign, true_divide, where
    if self.dtype._kind != "c":
        return sign(self)
    m = _abs(self)
    return where(eq(m, 0), 0.0, true_divide(self, where(eq(m, 0), 1.0, m)))


sgn = defop("sgn(Tensor self) -> Tensor", tags=("composite", "pointwise"),
            promotion="default", decomposition=_sgn_decomp,
            doc="``self / abs(self)`` for complex tensors (0 at 0); ``sign`` for real ones.")


# --- derivatives ---
# PyTorch's convention for complex inputs: the gradient is the conjugate Wirtinger
# derivative dL/dz* (for a holomorphic f, grad_in = grad_out * conj(f'(z))).

from ..autograd.rules import derivative  # noqa: E402

derivative(view_as_real, self=lambda g, self: view_as_complex(g.contiguous()))
derivative(view_as_complex, self=lambda g, self: view_as_real(g))
derivative(conj_physical, self=lambda g, self: conj_physical(g))
