"""Tensor contraction through matrix products: the decomposition of ``einsum``.

Each operand is first reduced to the letters that matter (repeated letters become a
diagonal, size-1 dimensions broadcast against a larger size elsewhere are dropped,
letters no other operand or the output names are summed), then the operands are
contracted two at a time: the letters both share and still need become the batch
dimension, the letters both share and no longer need become the inner dimension of a
batched matrix product, and the rest are its rows and columns.  So the memory is that
of the operands, the intermediate products and the result (PyTorch's ``sumproduct_pair``
through ``bmm``), never the product of every letter's size; the gradient comes from the
permutes, reshapes, sums and matmuls it is made of.
"""

from __future__ import annotations

import math

__all__ = ["contract"]


def contract(subs: list[str], out: str, sizes: dict, tensors: list):
    """``einsum`` of ``tensors`` whose subscripts are ``subs`` (``...`` already expanded
    into letters), output letters ``out`` and each letter's broadcast size ``sizes``."""
    from .reduction import sum as _sum
    ops = []
    for sub, t in zip(subs, tensors, strict=True):
        t, letters = _diagonal(t, sub)
        t, letters = _unbroadcast(t, letters, sizes)
        ops.append((t, letters))
    computed = False
    while True:
        # sum away what only one operand names and nothing else needs
        for k, (t, letters) in enumerate(ops):
            others = set(out).union(*(set(lt) for j, (_, lt) in enumerate(ops) if j != k))
            gone = [i for i, c in enumerate(letters) if c not in others]
            if gone:
                t = _sum(t, tuple(gone), dtype=t.dtype)  # einsum keeps the operands' dtype
                ops[k] = (t, [c for c in letters if c in others])
                computed = True
        if len(ops) == 1:
            break
        i, j = _cheapest_pair(ops, sizes)
        (a, la), (b, lb) = ops[i], ops[j]
        rest = set(out).union(*(set(lt) for k, (_, lt) in enumerate(ops) if k not in (i, j)))
        pair = _pair(a, la, b, lb, rest, sizes)
        ops = [o for k, o in enumerate(ops) if k not in (i, j)] + [pair]
        computed = True
    t, letters = ops[0]
    perm = tuple(letters.index(c) for c in out)
    if perm != tuple(range(len(perm))):
        return t.permute(perm).contiguous()
    return t if computed else t.clone()  # (the result never aliases an operand)


def _diagonal(t, sub: str):
    """``t`` with every repeated letter of ``sub`` reduced to its diagonal (a copy of
    ``t``'s size, no more) and the letters of the result."""
    letters = list(sub)
    for c in dict.fromkeys(sub):
        dims = [i for i, x in enumerate(letters) if x == c]
        if len(dims) < 2:
            continue
        n = t.shape[dims[0]]
        rest = [i for i in range(t.ndim) if i not in dims]
        lead = tuple(t.shape[i] for i in rest)
        # the diagonal of the trailing r dims of size n, read from their flat copy: the
        # elements (k, k, ..., k) lie 1 + n + ... + n^(r-1) apart
        flat = t.permute(tuple(rest) + tuple(dims)).contiguous().reshape(
            lead + (n ** len(dims),))
        step = sum(n ** k for k in range(len(dims)))
        t = flat[(slice(None),) * len(lead) + (slice(None, None, step),)] if n > 1 else \
            flat.reshape(lead + (n,))
        letters = [letters[i] for i in rest] + [c]
    return t, letters


def _unbroadcast(t, letters: list, sizes: dict):
    """Drop ``t``'s size-1 dims whose letter is larger elsewhere: the operand is
    constant along them, so the letter is no longer one it shares."""
    drop = [i for i, c in enumerate(letters) if t.shape[i] == 1 and sizes[c] != 1]
    if not drop:
        return t, letters
    keep = [i for i in range(len(letters)) if i not in drop]
    return t.reshape(tuple(t.shape[i] for i in keep)), [letters[i] for i in keep]


def _cheapest_pair(ops, sizes: dict) -> tuple[int, int]:
    """The two operands whose product is smallest (the first such pair): a simple greedy
    order, which keeps ``ij,kl,jk`` from forming the outer product of its first two."""
    best, pick = None, (0, 1)
    for i in range(len(ops)):
        for j in range(i + 1, len(ops)):
            letters = set(ops[i][1]) | set(ops[j][1])
            size = math.prod(sizes[c] for c in letters)  # an upper bound of the result
            if best is None or size < best:
                best, pick = size, (i, j)
    return pick


def _pair(a, la: list, b, lb: list, rest: set, sizes: dict):
    """``(a b, letters)``: one batched matrix product of ``a`` and ``b`` summing the
    letters they share that ``rest`` (the other operands and the output) lacks."""
    from .linalg import matmul
    shared = [c for c in la if c in lb]
    batch = [c for c in shared if c in rest]
    inner = [c for c in shared if c not in rest]
    rows = [c for c in la if c not in lb]
    cols = [c for c in lb if c not in la]

    def size(letters):
        return math.prod(sizes[c] for c in letters)

    a = _arrange(a, la, batch + rows + inner, (size(batch), size(rows), size(inner)))
    b = _arrange(b, lb, batch + inner + cols, (size(batch), size(inner), size(cols)))
    r = matmul(a, b).reshape(tuple(sizes[c] for c in batch + rows + cols))
    return r, batch + rows + cols


def _arrange(t, letters: list, order: list, shape: tuple):
    perm = tuple(letters.index(c) for c in order)
    if perm != tuple(range(len(perm))):
        t = t.permute(perm)
    return t.reshape(shape)
