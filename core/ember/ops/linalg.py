"""Matrix products, einsum and norms."""

from __future__ import annotations

from ..schema import Spec, defop
from ._rules import broadcast_shapes, fail
from .. import dtypes as _dt

__all__ = ["matmul", "mm", "bmm", "dot", "outer", "einsum", "norm"]


def _matmul_meta(self, other, op="matmul"):
    a, b = tuple(self.shape), tuple(other.shape)
    if not a or not b:
        fail(op, f"both arguments to {op} need to be at least 1D, but they are "
                 f"{len(a)}D and {len(b)}D")
    if self.dtype is not other.dtype:
        fail(op, f"expected both arguments to have the same dtype, but got "
                 f"{self.dtype} (argument 'self') and {other.dtype} (argument 'other')")
    ka = a[-1]
    kb = b[-2] if len(b) >= 2 else b[0]
    if ka != kb:
        fail(op, f"shapes {list(a)} and {list(b)} cannot be multiplied "
                 f"(argument 'self' has {ka} columns, argument 'other' has {kb} rows)")
    batch = broadcast_shapes(a[:-2], b[:-2], op=op, names=("self", "other"))
    out = batch + (a[-2:-1] if len(a) >= 2 else ()) + (b[-1:] if len(b) >= 2 else ())
    return Spec(out, self.dtype if self.dtype is not _dt.bool else _dt.bool)


matmul = defop("matmul(Tensor self, Tensor other) -> Tensor", tags=("primitive",),
               meta=_matmul_meta,
               doc="Matrix product with NumPy's rules for 1-D and batched operands.")


def _mm_meta(op, ndim):
    def meta(self, other):
        for name, t in (("self", self), ("other", other)):
            if t.ndim != ndim:
                fail(op, f"argument '{name}' must be a {ndim}-D tensor, got {t.ndim}-D "
                         f"(shape {list(t.shape)})")
        if ndim == 3 and self.shape[0] != other.shape[0]:
            fail(op, f"batch sizes must match, got {self.shape[0]} (argument 'self') and "
                     f"{other.shape[0]} (argument 'other')")
        return _matmul_meta(self, other, op)
    return meta


mm = defop("mm(Tensor self, Tensor other) -> Tensor", tags=("composite",),
           meta=_mm_meta("mm", 2), decomposition=lambda self, other: matmul(self, other),
           doc="Matrix product of two 2-D tensors.")
bmm = defop("bmm(Tensor self, Tensor other) -> Tensor", tags=("composite",),
            meta=_mm_meta("bmm", 3), decomposition=lambda self, other: matmul(self, other),
            doc="Batched matrix product of two 3-D tensors with equal batch size.")


def _dot_meta(self, other):
    if self.ndim != 1 or other.ndim != 1:
        fail("dot", f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
    if self.shape[0] != other.shape[0]:
        fail("dot", f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                    f"[{other.shape[0]}] to have the same number of elements")
    return _matmul_meta(self, other, "dot")


dot = defop("dot(Tensor self, Tensor other) -> Tensor", tags=("composite",), meta=_dot_meta,
            decomposition=lambda self, other: matmul(self, other),
            doc="Inner product of two 1-D tensors (a 0-d tensor).")


def _outer_meta(self, vec2):
    if self.ndim != 1 or vec2.ndim != 1:
        fail("outer", f"1D tensors expected, but got {self.ndim}D and {vec2.ndim}D tensors")
    return Spec((self.shape[0], vec2.shape[0]), _dt.promote_types(self.dtype, vec2.dtype))


outer = defop("outer(Tensor self, Tensor vec2) -> Tensor", tags=("composite",),
              meta=_outer_meta,
              decomposition=lambda self, vec2: self.reshape(-1, 1) * vec2,
              doc="Outer product of two vectors.")


# --- einsum -----------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation, tensors):
    """``(input subscripts, output subscripts, sizes)`` with ``...`` expanded into
    letters no operand uses; validates everything."""
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->", 1)
        if "->" in out:
            fail("einsum", f"equation {equation!r} has more than one '->'")
    else:
        lhs, out = eq, None
    ins = lhs.split(",")
    if len(ins) != len(tensors):
        fail("einsum", f"equation {equation!r} has {len(ins)} operand(s) but "
                       f"{len(tensors)} tensor(s) were given")
    if not tensors:
        fail("einsum", "argument 'tensors' must hold at least one Tensor")
    used = set(eq) - set(".,->")
    for c in used:
        if c not in _LETTERS:
            fail("einsum", f"invalid subscript {c!r} in {equation!r} (letters a-z, A-Z only)")
    spare = [c for c in _LETTERS if c not in used]
    ell_ndim = 0
    for sub, t in zip(ins, tensors, strict=True):
        n_named = len(sub.replace("...", ""))
        if "..." in sub:
            ell_ndim = max(ell_ndim, t.ndim - n_named)
    ell = "".join(spare[:ell_ndim])
    subs = []
    sizes: dict = {}
    for k, (sub, t) in enumerate(zip(ins, tensors, strict=True)):
        if sub.count("...") > 1 or "." in sub.replace("...", ""):
            fail("einsum", f"invalid ellipsis in operand {k} of {equation!r}")
        n_named = len(sub.replace("...", ""))
        if "..." in sub:
            k_ell = t.ndim - n_named
            if k_ell < 0:
                fail("einsum", f"operand {k} has {t.ndim} dims, fewer than subscripts "
                               f"{sub!r}")
            sub = sub.replace("...", ell[ell_ndim - k_ell:])
        if len(sub) != t.ndim:
            fail("einsum", f"the number of subscripts in {ins[k]!r} ({len(sub)}) doesn't "
                           f"match the number of dimensions of operand {k} ({t.ndim})")
        seen: dict = {}
        for c, s in zip(sub, t.shape, strict=True):
            if seen.setdefault(c, s) != s:  # a repeated letter takes the diagonal
                fail("einsum", f"subscript {c!r} is repeated for operand {k} but the sizes "
                               f"don't match, {seen[c]} != {s}")
            if c in sizes and sizes[c] != s and 1 not in (s, sizes[c]):
                fail("einsum", f"subscript {c!r} has size {s} for operand {k}, which does "
                               f"not match the size {sizes[c]} seen before")
            sizes[c] = s if c not in sizes or sizes[c] == 1 else sizes[c]
        subs.append(sub)
    if out is None:
        counts = {c: "".join(subs).count(c) for c in sizes}
        out = ell + "".join(sorted(c for c in sizes if counts[c] == 1 and c not in ell))
    else:
        if out.count("...") > 1:
            fail("einsum", f"invalid ellipsis in the output of {equation!r}")
        out = out.replace("...", ell)
        for c in out:
            if c not in sizes:
                fail("einsum", f"output subscript {c!r} does not appear in the inputs")
        if len(set(out)) != len(out):
            fail("einsum", f"output subscripts of {equation!r} repeat a letter")
    return subs, out, sizes


def _einsum_meta(equation, tensors):
    for t in tensors[1:]:
        if t.dtype is not tensors[0].dtype:
            fail("einsum", f"expected all operands to have the same dtype, got "
                           f"{tensors[0].dtype} and {t.dtype}")
    subs, out, sizes = _parse_einsum(equation, tensors)
    return Spec(tuple(sizes[c] for c in out), tensors[0].dtype)


def _einsum_decomp(equation, tensors):
    from .contraction import contract
    low = tensors[0].dtype if tensors and tensors[0].dtype.name in ("float16", "bfloat16") \
        else None
    if low is not None:  # products and sums in float32, rounded once (as PyTorch's bmm)
        tensors = [t.astype(_dt.float32) for t in tensors]
        return _einsum_decomp(equation, tensors).astype(low)
    subs, out, sizes = _parse_einsum(equation, tensors)
    return contract(subs, out, sizes, list(tensors))


_einsum = defop("einsum(str equation, Tensor[] tensors) -> Tensor", tags=("composite",),
                meta=_einsum_meta, decomposition=_einsum_decomp,
                doc="Einstein summation over the operands (``...`` broadcasts; a letter "
                    "repeated within an operand takes the diagonal).")


def einsum(equation, *operands):
    """``einsum("ij,jk->ik", a, b)``, ``einsum("ij,jk->ik", [a, b])`` or the sublist
    form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (integers 0-51 and ``...``)."""
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _einsum(equation, list(operands))


def _sublist_equation(args: tuple) -> tuple[str, tuple]:
    """``(equation, operands)`` of the sublist form ``op0, sub0, op1, sub1, ..., [out]``."""
    def letters(sub, what):
        if not isinstance(sub, (list, tuple)):
            fail("einsum", f"expected a list of subscripts for {what}, got {sub!r}")
        chars = []
        for x in sub:
            if x is Ellipsis:
                chars.append("...")
            elif isinstance(x, int) and not isinstance(x, bool) and 0 <= x < len(_LETTERS):
                chars.append(_LETTERS[x])
            else:
                fail("einsum", f"subscript in {what} must be an integer in [0, "
                               f"{len(_LETTERS)}) or Ellipsis, got {x!r}")
        return "".join(chars)
    pairs, out = args[:len(args) // 2 * 2], args[len(args) // 2 * 2:]
    operands = pairs[0::2]
    eq = ",".join(letters(s, f"operand {k}") for k, s in enumerate(pairs[1::2]))
    if out:
        eq += "->" + letters(out[0], "the output")
    return eq, operands


einsum.op = _einsum.op


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """``torch.norm``: the ``p``-norm over ``dim`` (all dims by default).  Numbers are
    vector norms of the elements over ``dim``; ``'fro'`` is the 2-norm, ``'nuc'`` the
    nuclear norm of the matrices in ``dim`` (default the last two)."""
    from ..array_api_linalg import matrix_norm, vector_norm
    if isinstance(dim, int):
        dim = (dim,)
    if p == "nuc":
        return matrix_norm(input, "nuc", tuple(dim) if dim is not None else (-2, -1),
                           keepdim, dtype=dtype)
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        fail("norm", f"argument 'p' must be a number, 'fro' or 'nuc', got {p!r}")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


# --- derivatives ---
# Beside the schemas above; see ember.autograd.rules for the conventions.

from ..autograd.rules import derivative  # noqa: E402


def _as_matrices(g, self, other):
    """``g``, ``self`` and ``other`` with 1-D operands promoted to matrices (as matmul
    does), so both gradients are plain batched matrix products."""
    a = self.reshape((1,) + tuple(self.shape)) if self.ndim == 1 else self
    b = other.reshape(tuple(other.shape) + (1,)) if other.ndim == 1 else other
    gs = tuple(g.shape)
    if self.ndim == 1:
        gs = gs[:len(gs) - (other.ndim > 1)] + (1,) + gs[len(gs) - (other.ndim > 1):]
    if other.ndim == 1:
        gs = gs + (1,)
    return g.reshape(gs), a, b


_SWAP_LAST = {2: (1, 0), 3: (0, 2, 1)}


def _mT(x):
    """The transpose of the last two dims; conjugated for complex (the adjoint: the
    gradient of a complex matmul is ``g @ other^H``, PyTorch's convention)."""
    # permute directly: transpose is a composite, one more dispatch on the hot path
    from .pointwise import conj_if_complex
    from .view import permute
    n = len(x._data.shape)
    return conj_if_complex(permute(x, _SWAP_LAST.get(n) or tuple(range(n - 2))
                                   + (n - 1, n - 2)))


def _matmul_self(g, self, other):
    if self.ndim > 1 and other.ndim > 1:
        return matmul(g, _mT(other))
    g2, _, b = _as_matrices(g, self, other)
    r = matmul(g2, _mT(b))
    return r.reshape(tuple(r.shape[:-2]) + (r.shape[-1],)) if self.ndim == 1 else r


def _matmul_other(g, self, other):
    if self.ndim > 1 and other.ndim > 1:
        return matmul(_mT(self), g)
    g2, a, _ = _as_matrices(g, self, other)
    r = matmul(_mT(a), g2)
    return r.reshape(tuple(r.shape[:-1])) if other.ndim == 1 else r


derivative(matmul, save=("self", "other"), uses={"self": ("other",), "other": ("self",)},
           self=_matmul_self, other=_matmul_other)
