"""PyTorch's type promotion, written out independently of ember's implementation, so
the suite can check result dtypes without trusting the code under test.

Operands are ranked by kind — dimensioned tensors, then 0-d tensors, then Python
numbers — and by category — bool < integer < floating.  The result's category is the
highest among all operands; its width comes from the highest-ranked kind that has an
operand of that category (a Python float stands for the default float dtype, a Python
int for int64).  Within one kind, widths combine by ``promote_types``: the smallest
dtype holding both, where uint8 with int8 gives int16 and bfloat16 with float16 gives
float32.
"""

from __future__ import annotations

__all__ = ["promote_types", "result_type", "expected_dtype", "DTYPES"]

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
          "float32", "float64")
_CATEGORY = {"bool": 0, "uint8": 1, "int8": 1, "int16": 1, "int32": 1, "int64": 1,
             "float16": 2, "bfloat16": 2, "float32": 2, "float64": 2}
_SIGNED_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_FLOAT_RANK = {"float16": 1, "bfloat16": 1, "float32": 2, "float64": 3}


def promote_types(a: str, b: str) -> str:
    """The smallest dtype both ``a`` and ``b`` convert to (dtype names)."""
    if a == b:
        return a
    ca, cb = _CATEGORY[a], _CATEGORY[b]
    if ca != cb:
        return a if ca > cb else b
    if ca == 0:
        return "bool"
    if ca == 2:
        if {a, b} == {"float16", "bfloat16"}:
            return "float32"
        return a if _FLOAT_RANK[a] >= _FLOAT_RANK[b] else b
    if "uint8" in (a, b):
        other = b if a == "uint8" else a
        return "int16" if other == "int8" else other
    return a if _SIGNED_BITS[a] >= _SIGNED_BITS[b] else b


def result_type(operands, default_float: str = "float32") -> str:
    """The result dtype of ``operands``: ``("tensor", name)``, ``("0d", name)`` or a
    Python ``bool``/``int``/``float``."""
    kinds: dict[str, str | None] = {"tensor": None, "0d": None, "number": None}
    for op in operands:
        if isinstance(op, tuple):
            kind, name = op
        else:
            kind = "number"
            name = "bool" if isinstance(op, bool) else "int64" if isinstance(op, int) \
                else default_float
        cur = kinds[kind]
        kinds[kind] = name if cur is None else promote_types(cur, name)
    top = max(_CATEGORY[n] for n in kinds.values() if n is not None)
    for kind in ("tensor", "0d", "number"):
        name = kinds[kind]
        if name is not None and _CATEGORY[name] == top:
            return name
    raise AssertionError("unreachable")


def expected_dtype(promotion: str, operands, default_float: str = "float32") -> str:
    """Result dtype of a pointwise op with ember/PyTorch promotion kind ``promotion``."""
    r = result_type(operands, default_float)
    if promotion == "always_bool":
        return "bool"
    if promotion == "int_to_float" and _CATEGORY[r] < 2:
        return default_float
    if promotion == "bool_to_long" and r == "bool":
        return "int64"
    return r
