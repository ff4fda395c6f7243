"""Elementwise ops: broadcasting, PyTorch's type promotion, Python-number operands."""

from __future__ import annotations

from ..schema import defop

__all__ = ["add", "sub", "mul", "div", "neg", "exp", "log", "eq", "lt", "gt", "where",
           "add_", "sub_", "mul_", "div_"]


def _binary(name, promotion="default", alpha=False, doc=""):
    extra = ", *, Scalar alpha=1" if alpha else ""
    return defop(f"{name}(Tensor self, Tensor other{extra}) -> Tensor",
                 tags=("primitive", "pointwise"), promotion=promotion, doc=doc)


def _inplace(name, alpha=False):
    extra = ", *, Scalar alpha=1" if alpha else ""
    return defop(f"{name}_(Tensor(a!) self, Tensor other{extra}) -> Tensor(a!)",
                 tags=("inplace", "pointwise"), promotion="default", inplace_of=name,
                 doc=f"In-place ``{name}``: writes the result into ``self``.")


def _unary(name, promotion="default", doc=""):
    return defop(f"{name}(Tensor self) -> Tensor", tags=("primitive", "pointwise"),
                 promotion=promotion, doc=doc)


add = _binary("add", alpha=True, doc="``self + alpha * other``.")
sub = _binary("sub", alpha=True, doc="``self - alpha * other``.")
mul = _binary("mul", doc="``self * other``.")
div = _binary("div", promotion="int_to_float", doc="True division ``self / other``.")
eq = _binary("eq", promotion="always_bool", doc="``self == other`` elementwise.")
lt = _binary("lt", promotion="always_bool", doc="``self < other`` elementwise.")
gt = _binary("gt", promotion="always_bool", doc="``self > other`` elementwise.")

add_ = _inplace("add", alpha=True)
sub_ = _inplace("sub", alpha=True)
mul_ = _inplace("mul")
div_ = _inplace("div")

neg = _unary("neg", doc="``-self``.")
exp = _unary("exp", promotion="int_to_float", doc="``e ** self``.")
log = _unary("log", promotion="int_to_float", doc="Natural logarithm.")

where = defop("where(Tensor condition, Tensor self, Tensor other) -> Tensor",
              tags=("primitive", "pointwise"), promotion="default", method=False,
              doc="``self`` where ``condition`` else ``other`` (broadcasting).")
