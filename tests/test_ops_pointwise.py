"""Elementwise ops against PyTorch: values, dtypes, broadcasting, Python numbers, edge
cases, in-place variants, the meta device and error messages."""

import math

import numpy as np
import pytest

import ember
from _oracle import (FLOATS, assert_meta_agrees, assert_same, assert_same_outcome, outcome,
                     pair, sample, torch)

pytestmark = pytest.mark.torch

UNARY_FLOAT = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
               "sin", "cos", "tan", "tanh", "sigmoid", "erf", "reciprocal"]
UNARY_ANY = ["neg", "abs", "floor", "ceil", "trunc", "round", "sign", "square"]


@pytest.mark.parametrize("op", UNARY_FLOAT)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "float16"])
def test_unary_float_functions(op, dtype):
    arr = sample((3, 4), dtype, low=1, high=6)  # positive: defined for log, sqrt …
    e, t = pair(arr)
    assert_same(getattr(ember, op)(e), getattr(torch, op)(t))


@pytest.mark.parametrize("op", UNARY_ANY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8"])
def test_unary_any_dtype(op, dtype):
    arr = sample((2, 5), dtype)
    arr = arr + (0.5 if dtype.startswith("float") else 0)  # halves test round-half-even
    e, t = pair(np.asarray(arr, dtype))
    assert_same(getattr(ember, op)(e), getattr(torch, op)(t))


@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "sigmoid", "tanh", "abs", "sign",
                                "floor", "isnan", "isinf", "isfinite", "reciprocal"])
def test_unary_special_values(op):
    vals = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, 88.0, -100.0],
                    np.float32)
    e, t = pair(vals)
    with np.errstate(all="ignore"):
        assert_same(getattr(ember, op)(e), getattr(torch, op)(t))


@pytest.mark.parametrize("op", ["isnan", "isinf", "isfinite", "logical_not"])
@pytest.mark.parametrize("dtype", ["int32", "bool", "float64"])
def test_predicates(op, dtype):
    e, t = pair(sample((7,), dtype))
    assert_same(getattr(ember, op)(e), getattr(torch, op)(t))


def test_sigmoid_does_not_underflow_to_zero_for_large_negative_inputs():
    e, t = pair(np.array([-20.0, -80.0, 30.0], np.float32))
    assert_same(ember.sigmoid(e), torch.sigmoid(t))
    assert ember.sigmoid(e)[1].item() > 0


BINARY = ["add", "sub", "mul", "true_divide", "floor_divide", "remainder", "fmod", "pow",
          "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge"]


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("int64", "int64"),
                                    ("int32", "float64"), ("int8", "uint8"),
                                    ("float16", "float32"), ("bool", "int16")])
def test_binary_promotion_and_broadcasting(op, dtypes):
    a = sample((3, 1, 4), dtypes[0], low=1, high=5)
    b = sample((2, 1), dtypes[1], low=1, high=4, seed=1)
    ea, ta = pair(a)
    eb, tb = pair(b)
    try:
        want = getattr(torch, op)(ta, tb)
    except (RuntimeError, NotImplementedError):
        with pytest.raises((TypeError, ValueError, RuntimeError)):
            getattr(ember, op)(ea, eb)
        return
    assert_same(getattr(ember, op)(ea, eb), want)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "true_divide", "floor_divide",
                                "remainder", "pow", "maximum", "eq", "lt"])
@pytest.mark.parametrize("dtype", ["int8", "int64", "float16", "float32", "bool"])
@pytest.mark.parametrize("scalar", [3, 2.5, True])
def test_python_number_operands(op, dtype, scalar):
    e, t = pair(sample((4,), dtype, low=1, high=4))
    for args_e, args_t in (((e, scalar), (t, scalar)), ((scalar, e), (scalar, t))):
        fn_t = getattr(torch, op)
        try:
            want = fn_t(*args_t) if isinstance(args_t[0], torch.Tensor) else \
                getattr(torch.Tensor, f"__r{_dunder(op)}__", None) and \
                _reflected(op, args_t[1], args_t[0])
        except TypeError:
            continue  # PyTorch's signature takes no number here; ember is more lenient
        except (RuntimeError, NotImplementedError):
            with pytest.raises((TypeError, ValueError, RuntimeError)):
                getattr(ember, op)(*args_e)
            continue
        if want is None or want is False:
            continue
        assert_same(getattr(ember, op)(*args_e), want)


def _dunder(op):
    return {"add": "add", "sub": "sub", "mul": "mul", "true_divide": "truediv",
            "floor_divide": "floordiv", "remainder": "mod", "pow": "pow"}.get(op, "")


def _reflected(op, tensor, number):
    """PyTorch's ``number <op> tensor`` (its functions reject a leading number)."""
    fns = {"add": lambda: number + tensor, "sub": lambda: number - tensor,
           "mul": lambda: number * tensor, "true_divide": lambda: number / tensor,
           "floor_divide": lambda: number // tensor, "remainder": lambda: number % tensor,
           "pow": lambda: number ** tensor}
    return fns[op]() if op in fns else None


def test_operators_match_torch():
    a = sample((2, 3), "float32", low=1)
    b = sample((3,), "float32", low=1, seed=2)
    ea, ta = pair(a)
    eb, tb = pair(b)
    for f in (lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y,
              lambda x, y: x / y, lambda x, y: x // y, lambda x, y: x % y,
              lambda x, y: x ** 2, lambda x, y: 2 ** x, lambda x, y: 1 - x,
              lambda x, y: 3 / x, lambda x, y: -x, lambda x, y: abs(x), lambda x, y: +x,
              lambda x, y: x == y, lambda x, y: x != y, lambda x, y: x < y,
              lambda x, y: x <= 1, lambda x, y: x > y, lambda x, y: x >= y):
        assert_same(f(ea, eb), f(ta, tb))
    i, ti = pair(sample((5,), "int32"))
    j, tj = pair(sample((5,), "int32", seed=3))
    for f in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y,
              lambda x, y: ~x, lambda x, y: x << 2, lambda x, y: x >> 1):
        assert_same(f(i, j), f(ti, tj))


def test_integer_overflow_wraps_like_torch():
    e, t = pair(np.array([1, 100, -100], np.int8))
    assert_same(e + 1000, t + 1000)
    assert_same(e * 300, t * 300)
    u, tu = pair(np.array([0, 5], np.uint8))
    assert_same(u - 1, tu - 1)
    assert_same(u + 1000, tu + 1000)


def test_integer_true_division_gives_default_float():
    e, t = pair(np.array([1, 2, 3]))
    assert_same(e / 2, t / 2)
    assert_same(ember.div(e, e), torch.div(t, t))


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
@pytest.mark.parametrize("dtype", ["int64", "float32", "int8"])
def test_div_rounding_modes(mode, dtype):
    a = np.array([7, -7, 5, -5, 0, 9], dtype)
    b = np.array([2, 2, -3, -3, 4, 9], dtype)
    (ea, ta), (eb, tb) = pair(a), pair(b)
    assert_same(ember.div(ea, eb, rounding_mode=mode), torch.div(ta, tb, rounding_mode=mode))
    assert_same(ember.div(ea, 2, rounding_mode=mode), torch.div(ta, 2, rounding_mode=mode))
    assert_same(ea.div(eb, rounding_mode=mode), ta.div(tb, rounding_mode=mode))


@pytest.mark.parametrize("divisor", ["int32", -3, 3, -1])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16"])
def test_div_trunc_computes_in_the_result_dtype(dtype, divisor):
    # |a| // |b| overflowed first (|-128| is -128 in int8: -19 instead of 18), and a
    # negative Python divisor of a uint8 tensor is 253 for PyTorch (-66 wrapped before)
    a = np.array([-128, 127, -7, 5] if dtype != "uint8" else [0, 200, 255, 7], dtype)
    ea, ta = pair(a)
    if isinstance(divisor, str):
        eb, tb = pair(np.array([-7, 7, 3, -2], divisor))
    else:
        eb = tb = divisor
    assert_same(ember.div(ea, eb, rounding_mode="trunc"),
                torch.div(ta, tb, rounding_mode="trunc"))


def test_alpha_must_be_integral_for_integer_tensors():
    # a ValueError (OpError is one) from the shape rule, or from the kernel when the
    # shape rule's outcome was cached for these dtypes
    with pytest.raises(ValueError, match=r"add\(\): for integral input tensors, argument "
                                         r"'alpha'"):
        ember.add(ember.ones(2, dtype=ember.int64), 1, alpha=0.5)
    with pytest.raises(ValueError, match=r"sub\(\): for integral input tensors"):
        ember.sub(ember.ones(2, dtype=ember.int64), 1, alpha=0.5)
    e, t = pair(np.array([1, 2]))
    assert_same(ember.add(e, e, alpha=3), torch.add(t, t, alpha=3))


def test_div_rounding_mode_is_validated():
    with pytest.raises(ember.OpError, match=r"div\(\): argument 'rounding_mode'"):
        ember.div(ember.ones(2), 2, rounding_mode="round")


def test_integer_division_by_zero_raises():
    e = ember.tensor([1, 2])
    with pytest.raises(ZeroDivisionError, match="floor_divide"):
        e // 0
    with pytest.raises(ZeroDivisionError, match="remainder"):
        e % ember.tensor([1, 0])
    # floats follow IEEE, as PyTorch
    f, tf = pair(np.array([1.0, -1.0, 0.0], np.float32))
    with np.errstate(all="ignore"):
        assert_same(f / 0, tf / 0)
        assert_same(f // 0, tf // 0)


def test_bool_arithmetic_like_torch():
    e, t = pair(np.array([True, False, True]))
    assert_same(e + e, t + t)
    assert_same(e * e, t * t)
    assert_same(e + 1, t + 1)
    assert_same(e * 2.5, t * 2.5)
    with pytest.raises(TypeError, match=r"sub\(\): subtraction.*bool"):
        e - e
    with pytest.raises(TypeError, match=r"neg\(\): negation.*bool"):
        ember.neg(e)


def test_shifts_keep_bool():
    # PyTorch's promotion says bool (its CPU kernels then refuse bools); ember computes
    e = ember.tensor([True, False])
    assert torch.result_type(torch.tensor([True]), torch.tensor([True])) == torch.bool
    assert (e << e).dtype is ember.bool and (e << e).tolist() == [True, False]
    assert (e >> True).tolist() == [False, False]


def test_shifting_a_python_bool_by_integers_gives_integers():
    # the kernel kept bool whenever the left operand was bool, even with an int8 tensor
    # on the right ([True, True, True] for True << [1, 2, 3])
    e, t = pair(np.array([1, 2, 3], "int8"))
    assert_same(True << e, True << t)
    assert_same(ember.bitwise_right_shift(True, e), torch.bitwise_right_shift(True, t))
    b, tb = pair(np.array([True, False]))
    assert_same(b << 1, tb << 1)


def test_bitwise_rejects_floats():
    with pytest.raises(ember.OpError, match=r"bitwise_and\(\): expected integer or bool"):
        ember.ones(2) & ember.ones(2)
    with pytest.raises(ember.OpError, match=r"bitwise_not\(\)"):
        ~ember.ones(2)


def test_pow_integer_to_negative_power_raises():
    with pytest.raises(ember.OpError, match=r"pow\(\): integers to negative integer powers"):
        ember.tensor([2, 3]) ** -1
    e, t = pair(np.array([2.0, 4.0], np.float32))
    assert_same(e ** -1, t ** -1)


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor"])
def test_logical_binary(op):
    a = np.array([0.0, 1.5, -2.0, np.nan], np.float32)
    b = np.array([0, 0, 3, 1], np.int64)
    (ea, ta), (eb, tb) = pair(a), pair(b)
    assert_same(getattr(ember, op)(ea, eb), getattr(torch, op)(ta, tb))
    assert_same(getattr(ember, op)(ea, True), getattr(torch, op)(ta, torch.tensor(True)))


@pytest.mark.parametrize("bounds", [(1, 3), (None, 2), (-1.5, None), (3, 1)])
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_clamp(bounds, dtype):
    e, t = pair(sample((3, 4), dtype))
    lo, hi = bounds
    assert_same(ember.clamp(e, lo, hi), torch.clamp(t, lo, hi))
    assert_same(e.clamp(min=lo, max=hi), t.clamp(min=lo, max=hi))


def test_clamp_with_tensor_bounds_and_nan():
    e, t = pair(np.array([np.nan, -5.0, 0.5, 9.0], np.float32))
    lo, tlo = pair(np.array([0.0, 0.0, 1.0, 1.0], np.float32))
    assert_same(ember.clamp(e, lo, 2.0), torch.clamp(t, tlo, torch.tensor(2.0)))
    assert_same(ember.clamp_min(e, 0.0), torch.clamp_min(t, 0.0))
    assert_same(ember.clamp_max(e, 0.0), torch.clamp_max(t, 0.0))
    with pytest.raises(ember.OpError, match=r"clamp\(\): at least one of 'min' or 'max'"):
        ember.clamp(e)


def test_where():
    c = np.array([[True, False, True]])
    a = sample((2, 3), "float32")
    (ec, tc), (ea, ta) = pair(c), pair(a)
    assert_same(ember.where(ec, ea, 0.0), torch.where(tc, ta, 0.0))
    assert_same(ember.where(ec, 1, 0), torch.where(tc, 1, 0))
    assert_same(ember.where(ec, ea, ember.tensor(2, dtype=ember.float64)),
                torch.where(tc, ta, torch.tensor(2, dtype=torch.float64)))
    with pytest.raises(ember.OpError, match=r"where\(\): expected argument 'condition' to be a "
                                            r"bool tensor"):
        ember.where(ea, ea, ea)


def test_maximum_minimum_propagate_nan():
    a, ta = pair(np.array([np.nan, 1.0, 2.0], np.float32))
    b, tb = pair(np.array([0.0, np.nan, 1.0], np.float32))
    assert_same(ember.maximum(a, b), torch.maximum(ta, tb))
    assert_same(ember.minimum(a, b), torch.minimum(ta, tb))


def test_addcmul_addcdiv_lerp():
    (a, ta), (b, tb), (c, tc) = (pair(sample((3,), "float32", low=1, seed=s))
                                 for s in range(3))
    assert_same(ember.addcmul(a, b, c, value=0.5), torch.addcmul(ta, tb, tc, value=0.5))
    assert_same(ember.addcdiv(a, b, c, value=2), torch.addcdiv(ta, tb, tc, value=2))
    assert_same(ember.lerp(a, b, c), torch.lerp(ta, tb, tc))
    with pytest.raises(ember.OpError, match=r"addcdiv\(\): integer division"):
        ember.addcdiv(ember.ones(2, dtype=ember.int64), ember.ones(2, dtype=ember.int64),
                      ember.ones(2, dtype=ember.int64))


@pytest.mark.parametrize("dtype", FLOATS)
def test_low_precision_floats(dtype):
    e, t = pair(sample((8,), dtype, low=1), dtype)
    assert_same(e * 3 + e, t * 3 + t)
    assert_same(ember.exp(e / 4), torch.exp(t / 4))
    # Python floats keep the tensor's dtype (numpy's rules do not reach bfloat16)
    assert_same(e + 1.5, t + 1.5)
    assert_same(2.5 * e - 0.5, 2.5 * t - 0.5)
    assert_same(ember.add(e, e, alpha=0.5), torch.add(t, t, alpha=0.5))
    assert_same(ember.where(e > 2, e, 0.5), torch.where(t > 2, t, 0.5))
    assert_same(e.clamp(1.5, 2.5), t.clamp(1.5, 2.5))
    assert_same(e ** 0.5, t ** 0.5)


def test_zero_dim_and_empty():
    for shape in [(), (0,), (2, 0, 3)]:
        a = sample(shape, "float32", low=1)
        e, t = pair(np.asarray(a, np.float32))
        assert_same(e + 1, t + 1)
        assert_same(ember.sqrt(e), torch.sqrt(t))
        assert_same(e * e, t * t)
    # 0-d tensors do not decide the dtype against higher-dimensional ones
    s = ember.tensor(2.0, dtype=ember.float64)
    v = ember.ones(3, dtype=ember.float32)
    assert (v * s).dtype is ember.float32
    assert (ember.ones(3, dtype=ember.int32) * s).dtype is ember.float64
    r = ember.tensor(1.5) + 1
    assert r.ndim == 0 and isinstance(r.numpy(), np.ndarray)


def test_non_contiguous_inputs():
    a = sample((4, 6), "float32")
    e, t = pair(a)
    assert_same(e.T * 2 + e.T, t.T * 2 + t.T)
    assert_same(e[:, ::2] - e[:, 1::2], t[:, ::2] - t[:, 1::2])
    x = ember.tensor(sample((3,), "float32")).expand(4, 3)
    tx = torch.tensor(x.numpy())
    assert_same(ember.exp(x), torch.exp(tx))


def test_broadcast_error_names_op_and_arguments():
    with pytest.raises(ember.OpError, match=r"add\(\): the shape \[4\] of argument 'other' "
                                            r"can't be broadcast with \[3\]"):
        ember.ones(3) + ember.ones(4)


INPLACE = [("add_", (2.0,)), ("sub_", (1,)), ("mul_", (3,)), ("div_", (2,)),
           ("pow_", (2,)), ("neg_", ()), ("abs_", ()), ("exp_", ()), ("sqrt_", ()),
           ("clamp_", (0.5, 2.0)), ("floor_", ()), ("round_", ()), ("sigmoid_", ()),
           ("tanh_", ()), ("reciprocal_", ()), ("square_", ()), ("remainder_", (2,)),
           ("floor_divide_", (2,)), ("clamp_min_", (1.0,)), ("clamp_max_", (1.0,)),
           ("lerp_", (ember.zeros(3), 0.5))]


@pytest.mark.parametrize(("op", "args"), INPLACE, ids=[o for o, _ in INPLACE])
def test_inplace_matches_out_of_place(op, args):
    a = sample((2, 3), "float32", low=1)
    e, t = pair(a)
    targs = [torch.tensor(x.numpy()) if isinstance(x, ember.Tensor) else x for x in args]
    v0 = e._version
    out = getattr(e, op)(*args)
    getattr(t, op)(*targs)
    assert out is e
    assert e._version == v0 + 1
    assert_same(e, t)


def test_inplace_on_view_writes_base_and_bumps_shared_version():
    base = ember.zeros(2, 3)
    row = base[1]
    v0 = base._version
    row.add_(5)
    assert base._version == v0 + 1 == row._version
    np.testing.assert_array_equal(base.numpy(), [[0, 0, 0], [5, 5, 5]])


@pytest.mark.parametrize(("call", "message"), [
    (lambda t: t.add_(ember.ones(2, 3)), r"add_\(\): output with shape \[3\]"),
    (lambda t: t.div_(2), r"div_\(\): result type float32 can't be cast"),
    (lambda t: t.sqrt_(), r"sqrt_\(\): result type float32 can't be cast"),
    (lambda t: t.add_(1.5), r"add_\(\): result type float32 can't be cast"),
    (lambda t: t.fill_(2 ** 40), r"fill_\(\): value 1099511627776 cannot be converted"),
])
def test_failing_inplace_leaves_target_unchanged(call, message):
    t = ember.tensor([1, 2, 3], dtype=ember.int32)
    v0 = t._version
    with pytest.raises(ember.OpError, match=message):
        call(t)
    assert t.tolist() == [1, 2, 3]
    assert t._version == v0


def test_fill_and_zero():
    e = ember.ones(2, 2, dtype=ember.int8)
    e.fill_(-3)
    assert e.tolist() == [[-3, -3], [-3, -3]]
    e.zero_()
    assert e.tolist() == [[0, 0], [0, 0]]
    f = ember.ones(3)
    f.fill_(ember.tensor(2.5))
    assert f.tolist() == [2.5, 2.5, 2.5]


def test_augmented_assignment_is_in_place():
    e = ember.ones(3)
    alias = e
    e += 1
    e *= 3
    e /= 2
    assert alias is e
    assert e.tolist() == [3.0, 3.0, 3.0]


@pytest.mark.parametrize("op", ["add", "mul", "true_divide", "eq", "maximum", "atan2",
                                "logical_and", "clamp_min"])
def test_meta_device_agrees_with_cpu_binary(op):
    a = ember.tensor(sample((2, 1, 3), "int32", low=1))
    b = ember.tensor(sample((4, 1), "float32", low=1))
    assert_meta_agrees(getattr(ember, op), a, b)


@pytest.mark.parametrize("op", UNARY_FLOAT + UNARY_ANY + ["isnan", "logical_not"])
def test_meta_device_agrees_with_cpu_unary(op):
    assert_meta_agrees(getattr(ember, op), ember.tensor(sample((2, 3), "int64", low=1)))


def test_meta_device_validates_before_anything_runs():
    with pytest.raises(ember.OpError, match=r"mul\(\)"):
        ember.ones(2, device="meta") * ember.ones(3, device="meta")


# Composite ops whose CPU kernel is native: the decomposition (what other backends
# run) must agree with it.
COMPOSITES = [
    ("rsqrt", lambda e: (e,)), ("reciprocal", lambda e: (e,)),
    ("isnan", lambda e: (e,)), ("isinf", lambda e: (e,)), ("isfinite", lambda e: (e,)),
    ("logical_not", lambda e: (e,)), ("clamp", lambda e: (e, -1.0, 1.5)),
    ("clamp", lambda e: (e, None, 0.0)),
]


@pytest.mark.parametrize(("op", "make"), COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_decompositions_agree_with_native_kernels(op, make):
    e = ember.tensor(np.array([0.5, -2.0, np.inf, np.nan, 0.0, 3.0], np.float32))
    od = ember.schema.get_op(op)
    assert "composite" in od.tags and od.decomposition is not None
    args = make(e)
    native = getattr(ember, op)(*args)
    decomposed = od.decomposition(*args)
    np.testing.assert_allclose(decomposed.numpy(), native.numpy(), rtol=1e-6, equal_nan=True)
    assert decomposed.dtype is native.dtype


def test_isfinite_decomposition_on_integers():
    e = ember.tensor([1, -2, 3])
    assert ember.schema.get_op("isfinite").decomposition(e).tolist() == [True] * 3


def test_exp_of_large_values_matches_torch_inf():
    e, t = pair(np.array([1000.0, -1000.0], np.float32))
    with np.errstate(all="ignore"):
        assert_same(ember.exp(e), torch.exp(t))
    assert math.isinf(ember.exp(e)[0].item())


def test_ieee_results_come_without_numpy_warnings_and_numpy_keeps_its_own():
    import subprocess
    import sys
    code = ("import warnings; warnings.simplefilter('error')\n"
            "import ember, numpy as np\n"
            "x = ember.tensor([1.0, 0.0, -1.0])\n"
            "r = [(x / 0).tolist(), ember.log(x).tolist(), ember.sqrt(x).tolist()]\n"
            "try:\n    np.array([1.0]) / 0\nexcept RuntimeWarning:\n    print('numpy warns')\n"
            "print(r)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "numpy warns"
    assert lines[1] == "[[inf, nan, -inf], [0.0, -inf, nan], [1.0, 0.0, nan]]"


# --- issue 21: result dtypes and edges that differed from PyTorch ---------------------------

def _where_numbers(m):
    return m.where(m.tensor([True, False]), 0.0, 1.0)


_ISSUE21 = {
    "where of floats is float32": _where_numbers,
    "where of ints": lambda m: m.where(m.tensor([True, False]), 0, 1),
    "where of bool and float": lambda m: m.where(m.tensor([True, False]), True, 2.5),
    "0 ** 1e-50 is 0": lambda m: m.tensor([0.0]) ** 1e-50,
    "0 ** -1e-50 is inf": lambda m: m.tensor([0.0, 2.0]) ** -1e-50,
    "subnormal exponent": lambda m: m.tensor([0.0, 3.0]) ** 1e-40,
    "float16 rounds the exponent": lambda m: m.tensor([0.0], dtype=m.float16) ** 1e-10,
    "square of bool is int64": lambda m: m.square(m.tensor([True, False])),
    "square of 0-d bool": lambda m: m.tensor(True).square(),
    "int ** negative int tensor": lambda m: m.tensor([0, 1, -1, 2, -2, 1, -1])
    ** m.tensor([-1, -1, -1, -2, -3, -4, -4]),
    "number ** negative int tensor": lambda m: m.pow(2, m.tensor([-1, 2])),
    "int32 ** negative int8": lambda m: m.tensor([2], dtype=m.int32)
    ** m.tensor([-1], dtype=m.int8),
    "int ** negative number raises": lambda m: m.tensor([2]) ** -1,
    "bool ** negative number raises": lambda m: m.tensor([True]) ** -1,
    # (the validation of int ** 2 was cached and reused for int ** -1)
    "int ** -1 after int ** 2 raises": lambda m: [m.tensor([3]) ** 2, m.tensor([3]) ** -1][1],
    "in-place int **= -1 after **= 2": lambda m: m.tensor([3]).pow_(2).pow_(-1),
    "uint8 < -1 compares with 255": lambda m: m.tensor([0, 255], dtype=m.uint8) < -1,
    "int8 == 1000 compares with -24": lambda m: m.tensor([-24, 1], dtype=m.int8) == 1000,
    "1000 > int8": lambda m: 1000 > m.tensor([-30, 1], dtype=m.int8),
    "tensor + list is a TypeError": lambda m: m.ones(2) + [1, 2],
    "mul with a tuple is a TypeError": lambda m: m.mul(m.ones(2), (1, 2)),
}


@pytest.mark.parametrize("call", list(_ISSUE21.values()), ids=list(_ISSUE21))
def test_issue21_pointwise_cases_match_torch(call):
    assert_same_outcome(outcome(call, ember), outcome(call, torch))


def test_square_of_bool_in_place_is_refused():
    with pytest.raises(ember.OpError, match="int64 can't be cast to .* bool"):
        ember.tensor([True]).square_()


def test_list_operand_error_names_op_and_argument():
    with pytest.raises(TypeError, match=r"add\(\): argument 'other' must be Tensor, not list"):
        ember.ones(2) + [1, 2]


def test_to_with_a_bad_dtype_keyword_is_a_dtype_error():
    with pytest.raises(TypeError, match=r"to\(\): argument 'dtype' must be an ember.dtype, "
                                        r"got 'nope'"):
        ember.ones(2).to(dtype="nope")
    assert ember.ones(2).to(dtype="float64").dtype is ember.float64
    assert ember.ones(2).to(float).dtype is ember.float64  # Python float is float64


# A Python int beyond the computation dtype: wrapped as PyTorch's C cast does, or refused
# where PyTorch refuses it; the core does it once for every backend (the reference one
# too: array-api-strict, like numpy, refuses such numbers itself).
_BEYOND = {
    "int8 + 1000 wraps": lambda m, d: m.tensor([2, 1], dtype=m.int8, **d) + 1000,
    "int8 * 300 wraps": lambda m, d: m.tensor([2, 1], dtype=m.int8, **d) * 300,
    "int8 == 258 wraps": lambda m, d: m.tensor([2, 1], dtype=m.int8, **d) == 258,
    "uint8 < -1 wraps": lambda m, d: m.tensor([0, 255], dtype=m.uint8, **d) < -1,
    "int8 // 258 wraps": lambda m, d: m.tensor([2, 1], dtype=m.int8, **d) // 258,
    "int8 ** 257 raises": lambda m, d: m.tensor([2, 1], dtype=m.int8, **d) ** 257,
    "where int8 and 300 raises": lambda m, d: m.where(
        m.tensor([True, False], **d), m.tensor([1, 2], dtype=m.int8, **d), 300),
    "where uint8 and -1 wraps": lambda m, d: m.where(
        m.tensor([True, False], **d), m.tensor([1, 2], dtype=m.uint8, **d), -1),
    "where of two floats": lambda m, d: m.where(m.tensor([True, False], **d), 0.0, 1.0),
    "int64 + 2**70 overflows": lambda m, d: m.tensor([3], **d) + 2 ** 70,
    "full -1 as uint8": lambda m, d: m.full((2,), -1, dtype=m.uint8, **d),
    "fill_ -2 into uint8": lambda m, d: m.zeros(2, dtype=m.uint8, **d).fill_(-2),
    "masked_fill -1 into uint8": lambda m, d: m.zeros(2, dtype=m.uint8, **d).masked_fill(
        m.tensor([True, False], **d), -1),
}


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("call", list(_BEYOND.values()), ids=list(_BEYOND))
def test_numbers_beyond_the_dtype_as_torch_on_every_backend(call, device):
    got = outcome(lambda: call(ember, {"device": device}).cpu())
    assert_same_outcome(got, outcome(call, torch, {}))


@pytest.mark.parametrize("op, args, kwargs", [("clamp", (), {"max": 150}),
                                              ("clamp", (), {"min": -200}),
                                              ("clamp_min", (150,), {}),
                                              ("clamp_max", (-129,), {})])
def test_clamp_refuses_an_int_bound_beyond_the_dtype(op, args, kwargs):
    # the bound wrapped (150 -> -106 in int8) and clamped every element there
    e, t = pair(np.array([1, 2, -5], "int8"))
    with pytest.raises(RuntimeError, match="overflow"):
        getattr(torch, op)(t, *args, **kwargs)
    with pytest.raises(ember.OpError, match=rf"{op}\(\): value -?\d+ cannot be converted "
                                            r"to type int8 without overflow"):
        getattr(ember, op)(e, *args, **kwargs)
    # a float bound promotes; an in-range bound clamps in int8
    assert_same(ember.clamp(e, min=-128, max=1), torch.clamp(t, min=-128, max=1))
    assert_same(ember.clamp(e, max=150.5), torch.clamp(t, max=150.5))
