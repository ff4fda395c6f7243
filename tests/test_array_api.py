"""ember's Array API namespace checked against array-api-strict, the standard's
reference implementation: promotion table, keyword aliases, functions, inspection.

Where ember follows PyTorch instead (mixed kinds, Python scalars; 0-d tensors in
ember's own functions and the tensor's operators) the tests check PyTorch's answer and
that the standard's differs, so docs/interop.md stays true."""

import itertools
import math

import numpy as np
import pytest

import ember

xs = pytest.importorskip("array_api_strict", reason="the standard's reference namespace")
# 2024.12 has count_nonzero, diff, cumulative_prod …; its promotion table is 2023.12's
xs.set_array_api_strict_flags(api_version="2024.12")
xe = ember.array_api

# The standard's dtypes that ember has.
NAMES = ["bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64",
         "complex64", "complex128"]


def E(a, dtype=None):
    """An ember tensor from numpy data."""
    return ember.tensor(np.asarray(a, dtype=dtype))


def S(a, dtype=None):
    """An array-api-strict array from numpy data."""
    a = np.asarray(a, dtype=dtype)
    return xs.asarray(a, dtype=getattr(xs, a.dtype.name))


def same(e, s, *, rtol=1e-6, atol=0.0):
    """``e`` (ember) equals ``s`` (strict): dtype name, shape and values (NaN = NaN)."""
    if isinstance(s, tuple):
        assert isinstance(e, tuple) and len(e) == len(s)
        for a, b in zip(e, s, strict=True):
            same(a, b, rtol=rtol, atol=atol)
        return
    assert isinstance(e, ember.Tensor), type(e)
    sn = np.asarray(s)
    assert e.dtype.name == sn.dtype.name, (e.dtype, sn.dtype)
    assert tuple(e.shape) == sn.shape, (e.shape, sn.shape)
    np.testing.assert_allclose(e.numpy(), sn, rtol=rtol, atol=atol, equal_nan=True)


def _pairs():
    return list(itertools.product(NAMES, NAMES))


def _strict_result_type(a, b):
    try:
        return xs.result_type(getattr(xs, a), getattr(xs, b))
    except TypeError:
        return None


DEFINED = [p for p in _pairs() if _strict_result_type(*p) is not None]
UNDEFINED = [p for p in _pairs() if _strict_result_type(*p) is None]


# --- namespace protocol ------------------------------------------------------------------

def test_namespace_protocol():
    t = ember.ones(2)
    assert t.__array_namespace__() is xe
    assert t.__array_namespace__(api_version="2023.12") is xe
    assert t.__array_namespace__(api_version="2024.12") is xe
    assert xe.__array_api_version__ == ember.__array_api_version__ == "2024.12"
    with pytest.raises(ValueError, match="unsupported api_version"):
        t.__array_namespace__(api_version="2099.12")


def test_array_api_compat_finds_ember():
    compat = pytest.importorskip("array_api_compat")
    assert compat.array_namespace(ember.ones(2), ember.zeros(3)) is xe
    assert compat.is_array_api_obj(ember.ones(2))
    assert compat.device(ember.ones(2)) == ember.device("cpu")


def test_names_pytorch_has_are_the_same_functions():
    assert xe.sqrt is ember.sqrt and xe.prod is not ember.prod
    assert xe.bitwise_invert is ember.bitwise_not
    # functions of two arrays: ember's, with the standard's promotion of 0-d arrays
    assert xe.add.__wrapped__ is ember.add and xe.multiply.__wrapped__ is ember.mul
    assert xe.less_equal.__wrapped__ is ember.le and xe.where.__wrapped__ is ember.where
    # ember's own names for them keep PyTorch's (torch.multiply is torch.mul)
    assert ember.multiply is ember.mul and ember.less_equal is ember.le
    # names PyTorch lacks are in ember's own namespace too
    for name in ("concat", "permute_dims", "expand_dims", "matrix_transpose", "vecdot",
                 "isdtype", "asarray", "unique_values", "unique_all", "cumulative_sum",
                 "__array_namespace_info__"):
        assert getattr(ember, name) is getattr(xe, name)
    # where PyTorch's meaning differs, ember keeps PyTorch's
    assert ember.sort is not xe.sort and ember.max is not xe.max


def test_every_standard_name_that_ember_can_have_exists():
    missing_dtypes = {"uint16", "uint32", "uint64"}
    strict_only = {"ArrayAPIStrictFlags", "Device", "get_array_api_strict_flags",
                   "set_array_api_strict_flags", "reset_array_api_strict_flags",
                   "__version__"}
    # names later revisions added that ember does not have yet
    later = {"isin"}
    wanted = set(xs.__all__) - missing_dtypes - strict_only - later
    assert sorted(n for n in wanted if not hasattr(xe, n)) == []
    assert set(xe.__all__) == wanted  # and nothing that is not the standard's
    assert sorted(n for n in xs.linalg.__all__ if not hasattr(xe.linalg, n)) == []
    assert sorted(n for n in xs.fft.__all__ if not hasattr(xe.fft, n)) == []


# --- type promotion ---------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), DEFINED)
def test_promotion_table_matches_the_standard(a, b):
    """For tensors with ndim >= 1, wherever the standard defines the result."""
    want = str(_strict_result_type(a, b)).rsplit(".", 1)[-1]
    assert xe.result_type(getattr(xe, a), getattr(xe, b)).name == want
    x, y = E([1, 0, 1], a), E([[1, 1, 0]], b)
    assert xe.result_type(x, y).name == want
    if a != "bool" and b != "bool":
        assert (x + y).dtype.name == want
        assert xe.multiply(x, y).dtype.name == want
        same(xe.add(x, y), xs.add(S([1, 0, 1], a), S([[1, 1, 0]], b)))
    assert xe.where(E([True, False, True]), x, y).dtype.name == want


@pytest.mark.parametrize(("a", "b"), UNDEFINED)
def test_mixed_kinds_follow_pytorch(a, b):
    """What the standard leaves undefined, ember answers as PyTorch does."""
    torch = pytest.importorskip("torch")
    got = xe.result_type(E([1], a), E([1], b)).name
    assert got == str(torch.result_type(torch.ones(1, dtype=getattr(torch, a)),
                                        torch.ones(1, dtype=getattr(torch, b)))
                      ).rsplit(".", 1)[-1]


def test_zero_dim_tensors_differ_from_the_standard_as_documented():
    """ember's functions and the tensor's operators: PyTorch's rule; the namespace's
    functions: the standard's."""
    torch = pytest.importorskip("torch")
    x, y = E([1.0, 2.0], "float32"), E(3.0, "float64")
    assert (x + y).dtype == ember.float32  # PyTorch: 0-d does not widen dims >= 1
    assert ember.add(x, y).dtype == ember.float32 and (x // y).dtype == ember.float32
    assert ember.result_type(x, y) == ember.float32
    assert (torch.ones(2) + torch.tensor(3.0, dtype=torch.float64)).dtype == torch.float32
    assert (S([1.0, 2.0], "float32") + S(3.0, "float64")).dtype == xs.float64
    assert xe.add(x, y).dtype == xe.result_type(x, y) == ember.float64
    # between 0-d tensors alone, all agree
    assert (E(1.0, "float32") + y).dtype == ember.float64
    # torch.nextafter promotes as torch.add; ember.nextafter (the namespace's name) too
    assert ember.nextafter(x, y).dtype == ember.float32
    assert xe.nextafter(x, y).dtype == ember.float64


# The standard's elementwise functions of two arrays, by the dtypes they take.
_INTEGER_FNS = ["bitwise_and", "bitwise_or", "bitwise_xor"]
_SHIFT_FNS = ["bitwise_left_shift", "bitwise_right_shift"]
_REAL_FNS = ["atan2", "copysign", "hypot", "logaddexp", "nextafter", "divide", "pow"]
_NUMERIC_FNS = ["add", "subtract", "multiply", "equal", "not_equal", "greater",
                "greater_equal", "less", "less_equal", "maximum", "minimum", "remainder",
                "floor_divide"]
_COMPLEX_FNS = ["add", "subtract", "multiply", "divide", "pow", "equal", "not_equal"]
_LOGICAL_FNS = ["logical_and", "logical_or", "logical_xor"]
# (0-d dtype and value, dtype and values of the 1-D array): the 0-d value does not fit
# the narrower dtype, so PyTorch's rule (cast it to the array's dtype: 300 to 44, -1 to
# 255) changes values too, comparisons included
_INTS = [(("int16", 300), ("int8", [1, 44])), (("int64", -1), ("uint8", [1, 255]))]
# (a shift by a negative amount or the bit width or more is not defined)
_SHIFTS = [(("int16", 3), ("int8", [1, 2])), (("int64", 3), ("uint8", [1, 2]))]
_FLOATS = [(("float64", 1 + 2 ** -30), ("float32", [1.0, 2.0]))]  # 1.0 in float32
_COMPLEX = [(("float64", 1 + 2 ** -30), ("complex64", [1.0 + 0j, 2.0 + 1j])),
            (("complex128", 1 + 2 ** -30 + 0j), ("float32", [1.0, 2.0]))]
_BOOLS = [(("bool", True), ("bool", [True, False]))]
_ZERO_DIM_CASES = (
    [(f, c) for f in _INTEGER_FNS for c in _INTS]
    + [(f, c) for f in _SHIFT_FNS for c in _SHIFTS]
    + [(f, c) for f in _REAL_FNS for c in _FLOATS]
    + [(f, c) for f in _NUMERIC_FNS for c in _INTS + _FLOATS]
    + [(f, c) for f in _COMPLEX_FNS for c in _COMPLEX]
    + [(f, c) for f in _LOGICAL_FNS for c in _BOOLS])


def test_every_function_of_two_arrays_is_checked():
    checked = set(_INTEGER_FNS + _SHIFT_FNS + _REAL_FNS + _NUMERIC_FNS + _LOGICAL_FNS) | {"where"}
    assert checked == set(xe._BINARY)


@pytest.mark.parametrize("zero_dim_first", [True, False], ids=["0d_first", "0d_second"])
@pytest.mark.parametrize(("fn", "case"), _ZERO_DIM_CASES,
                         ids=[f"{f}-{c[0][0]}-{c[1][0]}" for f, c in _ZERO_DIM_CASES])
def test_zero_dim_arrays_promote_as_the_standard_says(fn, case, zero_dim_first):
    """A 0-d array takes part in the namespace's promotion as any array: dtype and values
    as array-api-strict's (``int16(300) + int8([1, 2])`` is ``int16([301, 302])``)."""
    (da, va), (db, vb) = case
    e_args, s_args = [E(va, da), E(vb, db)], [S(va, da), S(vb, db)]
    if not zero_dim_first:
        e_args.reverse()
        s_args.reverse()
    same(getattr(xe, fn)(*e_args), getattr(xs, fn)(*s_args), rtol=1e-12)


@pytest.mark.parametrize("case", _INTS + _FLOATS + _COMPLEX, ids=lambda c: c[0][0])
def test_where_promotes_zero_dim_arrays_as_the_standard_says(case):
    (da, va), (db, vb) = case
    cond = [True, False]
    same(xe.where(E(cond), E(va, da), E(vb, db)), xs.where(S(cond), S(va, da), S(vb, db)))
    same(xe.where(E(cond), E(vb, db), E(va, da)), xs.where(S(cond), S(vb, db), S(va, da)))
    # a 0-d condition is not an operand of the promotion
    same(xe.where(E(True), E(vb, db), E(va, da)), xs.where(S(True), S(vb, db), S(va, da)))


def test_zero_dim_promotion_keeps_gradients_and_pytorch_outside_the_namespace():
    torch = pytest.importorskip("torch")
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor(3.0, dtype=ember.float64, requires_grad=True)
    xe.multiply(x, y).sum().backward()
    assert x.grad.dtype == ember.float32 and y.grad.dtype == ember.float64
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(y.grad.numpy(), 3.0)
    # ember's functions and operators are PyTorch's (the comparison casts 300 to int8)
    a, b = E(300, "int16"), E([0, 44], "int8")
    t = torch.tensor(300, dtype=torch.int16) <= torch.tensor([0, 44], dtype=torch.int8)
    assert (a <= b).tolist() == ember.le(a, b).tolist() == t.tolist() == [False, True]
    assert xe.less_equal(a, b).tolist() == [False, False]


def test_python_scalars():
    i32, f16 = E([1, 2], "int32"), E([1, 2], "float16")
    # agreed: a scalar of the same kind takes the tensor's dtype
    assert (i32 + 2).dtype == ember.int32 and (f16 * 2.5).dtype == ember.float16
    assert (S([1, 2], "int32") + 2).dtype == xs.int32
    # the standard (2023.12) refuses a float scalar with an int array; ember promotes
    # to the default float, as PyTorch
    with pytest.raises(TypeError):
        S([1, 2], "int32") + 1.5
    assert (i32 + 1.5).dtype == ember.get_default_dtype()


def test_can_cast_is_the_standards_in_the_namespace():
    for a, b in _pairs():
        s = xs.can_cast(getattr(xs, a), getattr(xs, b))
        if _strict_result_type(a, b) is not None:
            assert xe.can_cast(getattr(xe, a), getattr(xe, b)) == s, (a, b)
    assert xe.can_cast(E([1.0], "float32"), xe.float64)
    assert not xe.can_cast(xe.float64, xe.float32)
    assert ember.can_cast(ember.float64, ember.float32)  # PyTorch's rule stays at the top


@pytest.mark.parametrize("name", NAMES)
def test_isdtype_matches_the_standard(name):
    kinds = ["bool", "signed integer", "unsigned integer", "integral", "real floating",
             "complex floating", "numeric", ("bool", "real floating")]
    for k in kinds:
        assert xe.isdtype(getattr(xe, name), k) == xs.isdtype(getattr(xs, name), k), k
    assert xe.isdtype(xe.float32, xe.float32) and not xe.isdtype(xe.float32, xe.float64)
    with pytest.raises(ValueError, match="unknown kind"):
        xe.isdtype(xe.float32, "floating")


# --- keyword aliases ------------------------------------------------------------------------

DATA = np.array([[1.5, -2.0, 3.0, 0.0], [4.0, 0.5, -6.0, 2.0], [1.0, 1.0, 1.0, 7.0]],
                np.float64)


@pytest.mark.parametrize("fn", ["sum", "prod", "mean", "std", "var", "max", "min", "all",
                                "any", "count_nonzero"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_with_axis_and_keepdims(fn, axis, keepdims):
    x, s = E(DATA), S(DATA)
    if fn in ("all", "any"):
        x, s = E(DATA > 0), S(DATA > 0)
    same(getattr(xe, fn)(x, axis=axis, keepdims=keepdims),
         getattr(xs, fn)(s, axis=axis, keepdims=keepdims), rtol=1e-12)


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_search_with_axis_and_keepdims(fn, axis, keepdims):
    same(getattr(xe, fn)(E(DATA), axis=axis, keepdims=keepdims),
         getattr(xs, fn)(S(DATA), axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("fn", ["sum", "mean", "amax", "amin", "all", "any", "argmax"])
def test_top_level_ops_take_axis_as_dim(fn):
    x = E(DATA > 0) if fn in ("all", "any") else E(DATA)
    a = getattr(ember, fn)(x, axis=1, keepdims=True)
    b = getattr(ember, fn)(x, dim=1, keepdim=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape == b.shape and a.dtype == b.dtype
    with pytest.raises(TypeError, match="got both 'dim' and its Array API alias 'axis'"):
        getattr(ember, fn)(x, dim=0, axis=1)


def test_std_and_var_corrections():
    for c in (0, 1, 2.5):
        same(xe.std(E(DATA), axis=0, correction=c), xs.std(S(DATA), axis=0, correction=c),
             rtol=1e-12)
        same(xe.var(E(DATA), correction=c), xs.var(S(DATA), correction=c), rtol=1e-12)
    # PyTorch's default (Bessel's correction) stays at the top level
    np.testing.assert_allclose(ember.var(E(DATA)).item(), DATA.var(ddof=1))


# --- functions against the reference --------------------------------------------------------

RNG = np.random.default_rng(0)
F = RNG.standard_normal((3, 4))
U = RNG.uniform(-0.99, 0.99, (3, 4))
INTS = RNG.integers(-5, 6, (3, 4))
SPECIAL = np.array([-np.inf, -2.5, -1.0, -0.0, 0.0, 0.25, 1.0, 3.0, np.inf, np.nan])

UNARY = ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh",
         "exp", "expm1", "floor", "isfinite", "isinf", "isnan", "log", "log10", "log1p",
         "log2", "negative", "positive", "round", "sign", "signbit", "sin", "sinh", "sqrt",
         "square", "tan", "tanh", "trunc"]


@pytest.mark.parametrize("fn", UNARY)
def test_unary_elementwise(fn):
    with np.errstate(all="ignore"):  # the reference computes log(-1) and friends too
        for data in (F, U, SPECIAL, U + 1.5):
            same(getattr(xe, fn)(E(data)), getattr(xs, fn)(S(data)), rtol=1e-12)
        same(getattr(xe, fn)(E(U, "float32")), getattr(xs, fn)(S(U, "float32")), rtol=2e-6)


BINARY = ["add", "atan2", "copysign", "divide", "equal", "floor_divide", "greater",
          "greater_equal", "hypot", "less", "less_equal", "logaddexp", "maximum", "minimum",
          "multiply", "not_equal", "pow", "remainder", "subtract"]


@pytest.mark.parametrize("fn", BINARY)
def test_binary_elementwise(fn):
    a, b = SPECIAL.reshape(-1, 1), SPECIAL.reshape(1, -1)  # every pair, broadcast
    with np.errstate(all="ignore"):
        want = getattr(xs, fn)(S(a), S(b))
        if fn == "floor_divide":  # numpy's (so the reference's) NaN and -1 where one
            # operand is infinite are ±inf and ±0 in the standard (tested below)
            one_inf = (np.isinf(a) != np.isinf(b)) & ~np.isnan(a) & ~np.isnan(b)
            want = S(np.where(one_inf, a / b, np.asarray(want)))
        same(getattr(xe, fn)(E(a), E(b)), want, rtol=1e-12)
        same(getattr(xe, fn)(E(F), E(U)), getattr(xs, fn)(S(F), S(U)), rtol=1e-12)
    if fn not in ("atan2", "copysign", "hypot", "logaddexp", "divide", "pow"):
        col = INTS[:, :1] + 7  # positive divisors, broadcast along rows
        same(getattr(xe, fn)(E(INTS), E(col)), getattr(xs, fn)(S(INTS), S(col)))


@pytest.mark.parametrize("fn", ["bitwise_and", "bitwise_or", "bitwise_xor",
                                "bitwise_left_shift", "bitwise_right_shift"])
def test_bitwise(fn):
    a, b = INTS.astype(np.int32), np.abs(INTS[::-1]).astype(np.int32)
    same(getattr(xe, fn)(E(a), E(b)), getattr(xs, fn)(S(a), S(b)))
    same(xe.bitwise_invert(E(a)), xs.bitwise_invert(S(a)))
    same(xe.logical_xor(E(a > 0), E(b > 1)), xs.logical_xor(S(a > 0), S(b > 1)))


def test_creation_functions():
    same(xe.arange(1, 10, 2, dtype=xe.int64), xs.arange(1, 10, 2, dtype=xs.int64))
    same(xe.arange(0.0, 1.0, 0.25, dtype=xe.float64),
         xs.arange(0.0, 1.0, 0.25, dtype=xs.float64))
    for endpoint in (True, False):
        same(xe.linspace(-1, 2, 7, dtype=xe.float64, endpoint=endpoint),
             xs.linspace(-1, 2, 7, dtype=xs.float64, endpoint=endpoint), rtol=1e-15)
    for k in (-1, 0, 2):
        same(xe.eye(3, 5, k=k, dtype=xe.float64), xs.eye(3, 5, k=k, dtype=xs.float64))
    same(xe.full((2, 3), 7, dtype=xe.int16), xs.full((2, 3), 7, dtype=xs.int16))
    x, s = E(F), S(F)
    for fn in ("zeros_like", "ones_like"):
        same(getattr(xe, fn)(x), getattr(xs, fn)(s))
    same(xe.full_like(x, 2.5), xs.full_like(s, 2.5))
    assert xe.empty_like(x).shape == x.shape
    for k in (-1, 0, 1):
        same(xe.tril(x, k=k), xs.tril(s, k=k))
        same(xe.triu(x, k=k), xs.triu(s, k=k))
    for indexing in ("xy", "ij"):
        got = xe.meshgrid(E([1, 2, 3]), E([4, 5]), indexing=indexing)
        want = xs.meshgrid(S([1, 2, 3]), S([4, 5]), indexing=indexing)
        for g, w in zip(got, want, strict=True):
            same(g, w)


def test_asarray():
    a = np.arange(4.0)
    t = xe.asarray(a)
    assert t.dtype == ember.float64 and t.numpy().ctypes.data == a.ctypes.data
    c = xe.asarray(a, copy=True)
    assert c.numpy().ctypes.data != a.ctypes.data
    assert xe.asarray(t) is t
    assert xe.asarray(t, dtype=xe.float32).dtype == ember.float32
    with pytest.raises(ValueError, match="copy=False"):
        xe.asarray(t, dtype=xe.float32, copy=False)
    with pytest.raises(ValueError, match="copy=False"):
        xe.asarray([1, 2], copy=False)
    assert xe.asarray([[1, 2], [3, 4]]).dtype == ember.int64
    assert xe.asarray(1.5).dtype == ember.get_default_dtype() and xe.asarray(1.5).ndim == 0
    assert xe.asarray(True).dtype == ember.bool
    torch = pytest.importorskip("torch")
    pt = torch.arange(3.0)
    shared = xe.asarray(pt, copy=False)
    assert shared.numpy().ctypes.data == pt.data_ptr()


def test_astype_copy_and_device():
    x = E(F)
    assert xe.astype(x, xe.float64, copy=False) is x
    y = xe.astype(x, xe.float64)
    assert y is not x and y.numpy().ctypes.data != x.numpy().ctypes.data
    same(xe.astype(x, xe.int32), xs.astype(S(F), xs.int32))
    m = xe.astype(x, xe.float32, device="meta")
    assert m.device == ember.device("meta") and m.dtype == ember.float32


def test_reshape_copy_keyword():
    x = E(np.arange(6.0).reshape(2, 3))
    view = xe.reshape(x, (3, 2), copy=False)
    view.numpy()[0, 0] = 9.0
    assert x.numpy()[0, 0] == 9.0
    copied = xe.reshape(x, (3, 2), copy=True)
    copied.numpy()[0, 1] = -1.0
    assert x.numpy()[0, 1] == 1.0
    with pytest.raises(ValueError, match="copy=False"):
        xe.reshape(xe.matrix_transpose(x), (6,), copy=False)


def test_manipulation_functions():
    x3 = np.arange(24.0).reshape(2, 3, 4)
    x, s = E(x3), S(x3)
    same(xe.concat([x, x], axis=1), xs.concat([s, s], axis=1))
    same(xe.concat([x, x], axis=None), xs.concat([s, s], axis=None))
    same(xe.stack([x, x], axis=-1), xs.stack([s, s], axis=-1))
    same(xe.unstack(x, axis=1), xs.unstack(s, axis=1))
    same(xe.expand_dims(x, axis=-1), xs.expand_dims(s, axis=-1))
    same(xe.permute_dims(x, (2, 0, 1)), xs.permute_dims(s, (2, 0, 1)))
    same(xe.matrix_transpose(x), xs.matrix_transpose(s))
    same(xe.moveaxis(x, 0, -1), xs.moveaxis(s, 0, -1))
    same(xe.moveaxis(x, (0, 1), (2, 0)), xs.moveaxis(s, (0, 1), (2, 0)))
    same(xe.reshape(x, (4, -1)), xs.reshape(s, (4, -1)))
    same(xe.squeeze(xe.expand_dims(x, axis=1), axis=1), s)
    with pytest.raises(ember.OpError, match="cannot squeeze axis 0"):
        xe.squeeze(x, axis=0)
    for axis in (None, 0, (1, 2)):
        same(xe.flip(x, axis=axis), xs.flip(s, axis=axis))
    for shift, axis in ((5, None), (-1, 2), ((1, 2), (0, 2))):
        same(xe.roll(x, shift, axis=axis), xs.roll(s, shift, axis=axis))
    same(xe.tile(x, (2, 1, 1, 2)), xs.tile(s, (2, 1, 1, 2)))
    same(xe.tile(x, (2,)), xs.tile(s, (2,)))
    same(xe.repeat(x, 2, axis=1), xs.repeat(s, 2, axis=1))
    same(xe.repeat(x, 3), xs.repeat(s, 3))
    same(xe.repeat(x, E([1, 0, 2]), axis=1), xs.repeat(s, S([1, 0, 2]), axis=1))
    a, b = xe.broadcast_arrays(E(np.ones((3, 1))), E(np.ones(4)))
    assert a.shape == b.shape == (3, 4)
    same(xe.broadcast_to(E([1, 2]), (3, 2)), xs.broadcast_to(S([1, 2]), (3, 2)))
    same(xe.take(x, E([2, 0]), axis=2), xs.take(s, S([2, 0]), axis=2))
    same(xe.take_along_axis(x, E(np.zeros((2, 3, 1), np.int64)), axis=2),
         xs.take_along_axis(s, S(np.zeros((2, 3, 1), np.int64)), axis=2))


def test_sorting_searching_sets():
    data = np.array([3.0, 1.0, np.nan, 2.0, 1.0, 3.0, -0.5])
    x, s = E(data), S(data)
    for descending in (False, True):
        same(xe.sort(x, descending=descending), xs.sort(s, descending=descending))
        same(xe.argsort(x, descending=descending), xs.argsort(s, descending=descending))
    same(xe.unique_values(x), xs.unique_values(s))
    same(tuple(xe.unique_counts(x)), tuple(xs.unique_counts(s)))
    same(tuple(xe.unique_inverse(x)), tuple(xs.unique_inverse(s)))
    same(tuple(xe.unique_all(x)), tuple(xs.unique_all(s)))
    m = np.array([[0, 2, 0], [1, 0, 3]])
    same(xe.nonzero(E(m)), xs.nonzero(S(m)))
    sorted_ = np.array([1.0, 2.0, 2.0, 3.0])
    for side in ("left", "right"):
        same(xe.searchsorted(E(sorted_), E([0.0, 2.0, 5.0]), side=side),
             xs.searchsorted(S(sorted_), S([0.0, 2.0, 5.0]), side=side))
    same(xe.where(E(m > 0), E(m), E(-m)), xs.where(S(m > 0), S(m), S(-m)))


def test_statistics_and_utilities():
    x, s = E(F), S(F)
    for axis in (0, 1):
        same(xe.cumulative_sum(x, axis=axis), xs.cumulative_sum(s, axis=axis), rtol=1e-12)
        same(xe.cumulative_sum(x, axis=axis, include_initial=True),
             xs.cumulative_sum(s, axis=axis, include_initial=True), rtol=1e-12)
        same(xe.diff(x, axis=axis), xs.diff(s, axis=axis), rtol=1e-12)
    same(xe.diff(x, n=2, prepend=E(F[:, :1])), xs.diff(s, n=2, prepend=S(F[:, :1])),
         rtol=1e-12)
    same(xe.clip(x, min=-0.5, max=0.5), xs.clip(s, min=-0.5, max=0.5))
    same(xe.clip(E(INTS), max=2), xs.clip(S(INTS), max=2))
    same(xe.count_nonzero(E(INTS), axis=1), xs.count_nonzero(S(INTS), axis=1))


def test_linear_algebra_in_the_main_namespace():
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 5))
    same(xe.matmul(E(a), E(b)), xs.matmul(S(a), S(b)), rtol=1e-12)
    same(xe.tensordot(E(a), E(b), axes=1), xs.tensordot(S(a), S(b), axes=1), rtol=1e-12)
    same(xe.tensordot(E(a), E(a), axes=([1, 2], [1, 2])),
         xs.tensordot(S(a), S(a), axes=([1, 2], [1, 2])), rtol=1e-12)
    same(xe.vecdot(E(a), E(a[0])), xs.vecdot(S(a), S(a[0])), rtol=1e-12)
    same(xe.vecdot(E(a), E(a), axis=-2), xs.vecdot(S(a), S(a), axis=-2), rtol=1e-12)


# --- linalg extension ---------------------------------------------------------------------

def _spd(n, batch=()):
    m = RNG.standard_normal(batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def test_linalg_against_the_reference():
    A = RNG.standard_normal((2, 4, 3))
    P = _spd(3, (2,))
    B = RNG.standard_normal((2, 3, 2))
    la, ls = xe.linalg, xs.linalg
    same(la.svdvals(E(A)), ls.svdvals(S(A)), rtol=1e-10)
    same(la.det(E(P)), ls.det(S(P)), rtol=1e-10)
    same(la.inv(E(P)), ls.inv(S(P)), rtol=1e-10, atol=1e-12)
    same(la.solve(E(P), E(B)), ls.solve(S(P), S(B)), rtol=1e-10, atol=1e-12)
    same(la.cholesky(E(P)), ls.cholesky(S(P)), rtol=1e-10, atol=1e-12)
    same(la.cholesky(E(P), upper=True), ls.cholesky(S(P), upper=True), rtol=1e-10,
         atol=1e-12)
    same(tuple(la.slogdet(E(P))), tuple(ls.slogdet(S(P))), rtol=1e-10)
    same(la.eigvalsh(E(P)), ls.eigvalsh(S(P)), rtol=1e-10)
    same(la.pinv(E(A)), ls.pinv(S(A)), rtol=1e-8, atol=1e-12)
    same(la.matrix_rank(E(A)), ls.matrix_rank(S(A)))
    same(la.matrix_power(E(P), 3), ls.matrix_power(S(P), 3), rtol=1e-10)
    same(la.matrix_power(E(P), -2), ls.matrix_power(S(P), -2), rtol=1e-8, atol=1e-14)
    same(la.matrix_power(E(P), 0), ls.matrix_power(S(P), 0))
    same(la.trace(E(A), offset=1), ls.trace(S(A), offset=1), rtol=1e-12)
    same(la.diagonal(E(A), offset=-1), ls.diagonal(S(A), offset=-1))
    same(la.outer(E(A[0, 0]), E(B[0, 0])), ls.outer(S(A[0, 0]), S(B[0, 0])), rtol=1e-12)
    v, w = RNG.standard_normal((4, 3)), RNG.standard_normal((3,))
    same(la.cross(E(v), E(w)), ls.cross(S(v), S(w)), rtol=1e-12)
    same(la.vecdot(E(v), E(w)), ls.vecdot(S(v), S(w)), rtol=1e-12)
    for ord in (2, 1, np.inf, -np.inf, 0, 3.5):
        same(la.vector_norm(E(v), axis=1, ord=ord, keepdims=True),
             ls.vector_norm(S(v), axis=1, ord=ord, keepdims=True), rtol=1e-12)
    same(la.vector_norm(E(v)), ls.vector_norm(S(v)), rtol=1e-12)
    for ord in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        same(la.matrix_norm(E(A), ord=ord), ls.matrix_norm(S(A), ord=ord), rtol=1e-10)
    same(la.matrix_norm(E(A), keepdims=True), ls.matrix_norm(S(A), keepdims=True),
         rtol=1e-12)


def test_linalg_factorisations_reconstruct():
    A = RNG.standard_normal((2, 5, 3))
    u, s, vh = xe.linalg.svd(E(A), full_matrices=False)
    np.testing.assert_allclose((u.numpy() * s.numpy()[..., None, :]) @ vh.numpy(), A,
                               atol=1e-12)
    u, s, vh = xe.linalg.svd(E(A))
    assert u.shape == (2, 5, 5) and vh.shape == (2, 3, 3)
    q, r = xe.linalg.qr(E(A))
    np.testing.assert_allclose(q.numpy() @ r.numpy(), A, atol=1e-12)
    assert q.shape == (2, 5, 3) and r.shape == (2, 3, 3)
    np.testing.assert_allclose(np.triu(r.numpy()), r.numpy())
    q, r = xe.linalg.qr(E(A), mode="complete")
    assert q.shape == (2, 5, 5)
    P = _spd(4)
    w, v = xe.linalg.eigh(E(P))
    np.testing.assert_allclose(v.numpy() @ np.diag(w.numpy()) @ v.numpy().T, P, atol=1e-10)
    assert (np.diff(w.numpy()) >= 0).all()


def test_linalg_errors_are_clear_and_early():
    with pytest.raises(ember.OpError, match="linalg_inv\\(\\): argument 'A' must be a batch "
                                            "of square matrices"):
        xe.linalg.inv(E(np.ones((2, 3))))
    with pytest.raises(ember.OpError, match="at least 2 dimensions"):
        xe.linalg.det(E([1.0, 2.0]))
    with pytest.raises(ember.OpError, match="floating point"):
        xe.linalg.svd(E([[1, 2], [3, 4]]))
    with pytest.raises(ember.OpError, match="low precision"):
        xe.linalg.qr(E(np.ones((2, 2)), "float16"))
    with pytest.raises(xe.linalg.LinAlgError, match="linalg_inv"):
        xe.linalg.inv(E(np.zeros((2, 2))))
    with pytest.raises(ember.OpError, match="argument 'B'"):
        xe.linalg.solve(E(np.eye(3)), E(np.ones((2, 2))))
    # the shape rule runs on the meta device with no data at all
    u, s, vh = xe.linalg.svd(ember.zeros(7, 4, 3, device="meta"), full_matrices=False)
    assert (u.shape, s.shape, vh.shape) == ((7, 4, 3), (7, 3), (7, 3, 3))


# --- inspection -----------------------------------------------------------------------------

def test_namespace_info():
    info = xe.__array_namespace_info__()
    caps = info.capabilities()
    assert caps["boolean indexing"] and caps["data-dependent shapes"]
    assert caps["max dimensions"] == 64  # (2024.12) a tensor of that many dims works
    assert xe.ones((1,) * 64).ndim == 64
    assert info.default_device() == ember.get_default_device()
    assert ember.device("cpu") in info.devices()
    d = info.default_dtypes()
    assert d["real floating"] == ember.get_default_dtype()
    assert d["integral"] == d["indexing"] == ember.int64
    assert set(info.dtypes()) == set(NAMES)
    assert set(info.dtypes(kind="integral")) == {"int8", "int16", "int32", "int64", "uint8"}
    assert set(info.dtypes(kind=("bool", "real floating"))) == {"bool", "float32",
                                                                 "float64"}
    strict_info = xs.__array_namespace_info__()
    assert set(info.dtypes(kind="numeric")) <= set(strict_info.dtypes(kind="numeric"))


def test_tensor_attributes_of_the_standard():
    x = E(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.mT.numpy(), x.numpy().T)
    assert x.to_device("cpu") is x
    assert x.to_device("meta").device == ember.device("meta")
    assert x.device == ember.device("cpu")
    with pytest.raises(ValueError, match="stream"):
        x.to_device("cpu", stream=1)


def test_constants():
    assert xe.pi == math.pi and xe.e == math.e and math.isinf(xe.inf)
    assert math.isnan(xe.nan) and xe.newaxis is None
    assert ember.pi == math.pi


# --- every device ---------------------------------------------------------------------------

def _devices():
    return [str(d) for d in xe.__array_namespace_info__().devices() if d.type != "cpu"]


@pytest.mark.parametrize("device", _devices() or [
    pytest.param("none", marks=pytest.mark.skip(reason="no device besides the CPU"))])
def test_namespace_on_every_device(device):
    """The namespace is ember ops underneath, so it runs wherever they do."""
    data = np.array([[3.0, -1.0, 2.5], [0.5, 3.0, -2.0]])
    x = xe.asarray(data, device=device)
    assert x.__array_namespace__() is xe and x.device == ember.device(device)
    cases = {
        "concat": lambda t: xe.concat([t, t], axis=None),
        "std": lambda t: xe.std(t, axis=0, correction=1),
        "flip": lambda t: xe.flip(t, axis=1),
        "unique_counts": lambda t: tuple(xe.unique_counts(t)),
        "sort": lambda t: xe.sort(t, axis=-1, descending=True),
        "asin": lambda t: xe.asin(t / 4),
        "matmul": lambda t: xe.matmul(t, xe.matrix_transpose(t)),
        "vector_norm": lambda t: xe.linalg.vector_norm(t, axis=1),
        "eye": lambda t: xe.eye(3, k=1, dtype=t.dtype, device=t.device),
    }
    for name, fn in cases.items():
        got, want = fn(x), fn(xe.asarray(data))
        for g, w in zip(*(((got,), (want,)) if not isinstance(got, tuple) else (got, want)),
                        strict=True):
            assert g.device == ember.device(device), name
            np.testing.assert_allclose(np.asarray(g.cpu()), w.numpy(), rtol=1e-6,
                                       err_msg=name)


# --- gradients ------------------------------------------------------------------------------

GRAD_CASES = {
    "std": (lambda xp, x: xp.std(x, axis=0, correction=1),
            lambda t: t.std(0)),
    "logaddexp": (lambda xp, x: xp.logaddexp(x, 2 * x), lambda t: t.logaddexp(2 * t)),
    "asinh": (lambda xp, x: xp.asinh(x), lambda t: t.asinh()),
    "hypot": (lambda xp, x: xp.hypot(x, x + 1), lambda t: t.hypot(t + 1)),
    "flip": (lambda xp, x: xp.flip(x, axis=1) * xp.arange(4.0, dtype=x.dtype),
             lambda t: t.flip(1) * t.new_tensor([0.0, 1.0, 2.0, 3.0])),
    "vector_norm": (lambda xp, x: xp.linalg.vector_norm(x, axis=1, ord=3),
                    None),
    "tensordot": (lambda xp, x: xp.tensordot(x, x, axes=([1], [1])),
                  lambda t: t @ t.T),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_namespace_functions_are_differentiable(name):
    """They are ember ops underneath, so autograd sees through them (PyTorch: oracle)."""
    torch = pytest.importorskip("torch")
    fe, ft = GRAD_CASES[name]
    data = RNG.standard_normal((3, 4))
    x = ember.tensor(data, requires_grad=True)
    fe(xe, x).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    (ft(t) if ft else torch.linalg.vector_norm(t, ord=3, dim=1)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_shift_operators_of_the_standard():
    a = INTS.astype(np.int32) + 6
    x, s = E(a), S(a)
    same(2 << E(a % 5), 2 << S(a % 5))
    same(1024 >> E(a % 5), 1024 >> S(a % 5))
    y = xe.asarray(x, copy=True)
    alias = y
    y <<= 1
    assert y is alias
    same(y, s << 1)
    y >>= 2
    same(y, (s << 1) >> 2)
    with pytest.raises(ember.OpError, match="__ilshift__"):
        z = E([1, 2])
        z <<= E([[1], [2]])


# --- bugs found by checking the namespace against the standard's text (issue 16) ----------

@pytest.mark.parametrize("name", ["sum", "prod", "mean", "var", "std", "max", "min", "any",
                                  "all"])
def test_axis_empty_tuple_reduces_over_no_axis(name):
    x = xe.asarray([[1.0, -2.0], [3.0, 0.0]])
    out = getattr(xe, name)(x, axis=())
    assert tuple(out.shape) == (2, 2)
    want = {"var": np.zeros((2, 2)), "std": np.zeros((2, 2)),
            "any": x.numpy() != 0, "all": x.numpy() != 0}.get(name, x.numpy())
    np.testing.assert_array_equal(out.numpy(), want)


def test_integer_sums_and_products_over_no_axis_widen():
    x = xe.asarray([[1, 2]], dtype=xe.int8)
    assert xe.prod(x, axis=()).dtype is xe.int64
    assert xe.sum(x, axis=()).dtype is xe.int64
    # ember's own dim=() keeps PyTorch's meaning: every dim
    assert ember.sum(ember.ones(2, 3), dim=()).shape == ()


def test_arange_with_a_step_away_from_stop_is_empty():
    assert xe.arange(1, 0, 1).shape == (0,) and xe.arange(1, 0, 1).dtype is xe.int64
    assert xe.arange(1.0, 0.0, 0.5).shape == (0,)
    assert xe.arange(-3).shape == (0,)
    # a float among the three numbers gives the default float dtype, empty or not (the
    # empty range took stop's kind alone)
    for args in [(1.0, 0, 1), (0, -1, 1.5), (1, 0.0)]:
        out = xe.arange(*args)
        assert out.shape == (0,) and out.dtype is xe.float32, args
    assert xe.arange(1, 0, 1, dtype=xe.float64).dtype is xe.float64
    assert xe.arange(5, 0, -2).tolist() == [5, 3, 1]
    with pytest.raises(ember.OpError, match="step sign"):
        ember.arange(1, 0, 1)  # PyTorch's function raises


def test_finfo_and_iinfo_take_arrays():
    assert xe.finfo(xe.ones(2, dtype=xe.float64)).eps == np.finfo(np.float64).eps
    assert xe.iinfo(xe.ones(2, dtype=xe.int8)).max == 127
    assert xe.finfo(xe.ones(1, dtype=xe.complex64)).bits == 32


def test_expand_dims_positional_axis_and_index_error():
    x = xe.ones((2, 3))
    assert xe.expand_dims(x, 0).shape == (1, 2, 3)
    assert xe.expand_dims(x, axis=-1).shape == (2, 3, 1)
    with pytest.raises(IndexError, match="expand_dims"):
        xe.expand_dims(x, 3)


def test_mean_has_a_signature():
    import inspect
    assert list(inspect.signature(xe.mean).parameters) == ["x", "axis", "keepdims"]


def test_take_counts_negative_indices_from_the_end():
    x = xe.asarray([[1, 2, 3], [4, 5, 6]])
    assert xe.take(x, xe.asarray([-1, 0]), axis=1).tolist() == [[3, 1], [6, 4]]


def test_vecdot_keeps_the_promoted_dtype_and_conjugates():
    u8 = xe.asarray([200, 100], dtype=xe.uint8)
    assert xe.vecdot(u8, u8).dtype is xe.uint8
    z = xe.asarray([1j, 2])
    assert complex(xe.vecdot(z, xe.asarray([1j, 1])).item()) == 3


def test_copysign_promotes():
    out = xe.copysign(xe.asarray([1.0], dtype=xe.float32), xe.asarray([-1.0], dtype=xe.float64))
    assert out.dtype is xe.float64 and out.tolist() == [-1.0]


def test_acosh_and_asinh_edges():
    x = xe.asarray([-9.1e153, 1e200, 1.0, 0.5], dtype=xe.float64)
    got = xe.acosh(x).numpy()
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(got, np.arccosh(x.numpy()), rtol=1e-12)
    z = xe.asinh(xe.asarray([-0.0, 0.0]))
    assert np.signbit(z.numpy()).tolist() == [True, False]


# --- what 2024.12 adds ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_nextafter_is_exact(dtype, device):
    fi = np.finfo(dtype)
    edge = np.array([0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, 7.0, 1024.0, 1e-30, fi.tiny,
                     -fi.tiny, 2 * fi.tiny, fi.smallest_subnormal,
                     3 * fi.smallest_subnormal, fi.max, -fi.max, np.inf, -np.inf, np.nan],
                    dtype=dtype)
    n = len(edge)
    rng = np.random.default_rng(2412)
    r = (rng.standard_normal(500) * 10.0 ** rng.integers(-35, 35, 500)).astype(dtype)
    x = np.concatenate([edge, edge, edge, edge, r, [-0.0, 0.0]]).astype(dtype)
    y = np.concatenate([np.full(n, np.inf), np.full(n, -np.inf), np.roll(edge, 3),
                        np.zeros(n), rng.standard_normal(500) * 1e3, [0.0, -0.0]]).astype(dtype)
    got = xe.nextafter(ember.tensor(x, device=device), ember.tensor(y, device=device))
    got = got.cpu().numpy()
    with np.errstate(over="ignore"):
        want = np.nextafter(x, y)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # -0.0 / +0.0
    # torch.nextafter's name and meaning (the namespace's promotes 0-d arrays as any)
    assert ember.nextafter is xe.nextafter.__wrapped__


def test_nextafter_scalars_and_errors():
    out = xe.nextafter(1.0, xe.asarray([2.0], dtype=xe.float64))
    assert out.dtype is xe.float64 and out.item() == np.nextafter(1.0, 2.0)
    with pytest.raises(ember.OpError, match="nextafter.*floating"):
        xe.nextafter(xe.asarray([1, 2]), 3)
    with pytest.raises(TypeError, match="nextafter.*Tensor"):
        xe.nextafter(1.0, 2.0)


_SCALAR_BINARY = ["add", "atan2", "copysign", "divide", "equal", "floor_divide", "greater",
                  "greater_equal", "hypot", "less", "less_equal", "logaddexp", "maximum",
                  "minimum", "multiply", "nextafter", "not_equal", "pow", "remainder",
                  "subtract"]


@pytest.mark.parametrize("fn", _SCALAR_BINARY)
@pytest.mark.parametrize("scalar", [2.5, -3, 0.0], ids=["float", "int", "zero"])
def test_binary_functions_take_a_python_scalar_on_either_side(fn, scalar):
    a = np.array([[1.5, -2.0, 4.0], [0.25, 3.0, -0.5]])
    for dtype in ("float32", "float64"):
        e, s = E(a, dtype), S(a, dtype)
        with np.errstate(all="ignore"):
            same(getattr(xe, fn)(e, scalar), getattr(xs, fn)(s, scalar), rtol=1e-6)
            same(getattr(xe, fn)(scalar, e), getattr(xs, fn)(scalar, s), rtol=1e-6)


@pytest.mark.parametrize("fn", ["bitwise_and", "bitwise_or", "bitwise_xor",
                                "bitwise_left_shift", "bitwise_right_shift", "add",
                                "multiply", "floor_divide", "remainder"])
def test_integer_binary_functions_take_a_python_int(fn):
    a = np.array([1, 6, 7, 12], dtype="int32")
    same(getattr(xe, fn)(E(a), 2), getattr(xs, fn)(S(a), 2))
    same(getattr(xe, fn)(E(a), 3), getattr(xs, fn)(S(a), 3))
    same(getattr(xe, fn)(3, E(a)), getattr(xs, fn)(3, S(a)))


@pytest.mark.parametrize("fn", ["logical_and", "logical_or", "logical_xor", "equal"])
def test_logical_functions_take_a_python_bool(fn):
    a = np.array([True, False, True])
    same(getattr(xe, fn)(E(a), True), getattr(xs, fn)(S(a), True))
    same(getattr(xe, fn)(False, E(a)), getattr(xs, fn)(False, S(a)))


def test_where_and_result_type_take_scalars():
    a = np.array([1.0, -2.0, 3.0], dtype="float32")
    c = a > 0
    same(xe.where(E(c), E(a), 0.0), xs.where(S(c), S(a), 0.0))
    same(xe.where(E(c), 5, E(a)), xs.where(S(c), 5, S(a)))
    assert xe.result_type(E(a), 1.0) is xe.float32
    assert xe.result_type(xe.int8, 1) is xe.int8
    # a Python complex with a real floating tensor: the complex dtype of its precision
    assert xe.add(E(a), 1j).dtype is xe.complex64
    assert xe.multiply(1j, E(a, "float64")).dtype is xe.complex128


def test_copysign_of_a_scalar():
    # it raised AttributeError ('float' object has no attribute 'dtype')
    same(xe.copysign(2.0, E([1.0, -0.0, -3.0])), xs.copysign(2.0, S([1.0, -0.0, -3.0])))
    assert np.signbit(xe.copysign(E([1.0, 2.0]), -0.0).numpy()).all()


def test_clip_with_a_nan_bound_is_nan():
    a = [1.0, -2.0, float("nan"), 5.0]
    same(xe.clip(E(a), float("nan"), 3.0), xs.clip(S(a), float("nan"), 3.0))
    same(xe.clip(E(a), -1.0, E([np.nan, 1.0, 1.0, 1.0])),
         xs.clip(S(a), -1.0, S([np.nan, 1.0, 1.0, 1.0])))
    same(xe.clip(E(a), -1.0, 3.0), xs.clip(S(a), -1.0, 3.0))


def test_integer_array_indexing():
    # the standard (2024.12) asks for integer arrays and ints naming every axis; the
    # arrays broadcast, negative entries count from the end
    a = np.arange(24).reshape(2, 3, 4)
    e, s = E(a), S(a)
    i, j, k = [1, 0, 1], [2, 2, 0], [-1, 0, 3]
    same(e[E(i), E(j), E(k)], s[S(i), S(j), S(k)])
    same(e[E(i), 1, E(k)], s[S(i), 1, S(k)])
    same(e[0, E([[0, 2], [1, 1]]), E([[3], [0]])], s[0, S([[0, 2], [1, 1]]), S([[3], [0]])])
    same(E(np.arange(5))[E([-1, 0, 4])], S(np.arange(5))[S([-1, 0, 4])])


def test_fftfreq_takes_a_dtype():
    for fn in ("fftfreq", "rfftfreq"):
        out = getattr(xe.fft, fn)(8, d=0.5, dtype=xe.float64)
        same(out, getattr(xs.fft, fn)(8, d=0.5, dtype=xs.float64))


_COMPLEX_NUMPY = {"acos": np.arccos, "asin": np.arcsin, "atan": np.arctan,
                  "acosh": np.arccosh, "asinh": np.arcsinh, "atanh": np.arctanh,
                  "sinh": np.sinh, "cosh": np.cosh, "round": np.round, "sign": np.sign}


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("fn", sorted(_COMPLEX_NUMPY))
def test_composed_elementwise_functions_of_complex_numbers(fn, dtype, device):
    # they cast complex input to float32 (dropping the imaginary part) or refused it;
    # the points on the branch cuts, with either sign of zero, pick numpy's (C99's) side
    rng = np.random.default_rng(16)
    z = (rng.standard_normal(100) + 1j * rng.standard_normal(100)) * 3
    cuts = [complex(r, i) for r in (2.0, -2.0, 0.5) for i in (0.0, -0.0)] + \
        [complex(r, i) for r in (0.0, -0.0) for i in (3.0, -3.0, 0.3)] + [0j, 1 - 0j]
    z = np.concatenate([z, cuts]).astype(dtype)
    got = getattr(xe, fn)(ember.tensor(z, device=device)).cpu().numpy()
    with np.errstate(all="ignore"):
        want = _COMPLEX_NUMPY[fn](z)
    assert got.dtype == want.dtype
    # (complex64: log1p(z) - log1p(-z) cancels near 0, ~1e-5 relative)
    tol = 1e-4 if dtype == "complex64" else 1e-9
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_pinv_and_matrix_rank_take_one_rtol_per_matrix():
    # a tensor rtol broadcasts with the batch dims (it was broadcast against the
    # singular values' axis: a shape error, or inside matmul for an empty batch)
    a = np.random.default_rng(3).standard_normal((2, 3, 3))
    r = [0.1, 0.9]
    same(xe.linalg.pinv(E(a), rtol=E(r)), xs.linalg.pinv(S(a), rtol=S(r)), rtol=1e-10,
         atol=1e-12)
    same(xe.linalg.matrix_rank(E(a), rtol=E(r)), xs.linalg.matrix_rank(S(a), rtol=S(r)))
    assert xe.linalg.pinv(xe.zeros((0, 1, 1)), rtol=xe.zeros((0,))).shape == (0, 1, 1)


def test_eye_with_a_diagonal_outside_the_matrix():
    # k beyond int64 overflowed inside the comparison
    for n, m, k in [(0, None, 2 ** 63), (3, None, 2 ** 63), (3, 4, -(2 ** 64)), (3, 4, 4),
                    (3, 4, 3), (3, 4, -2), (3, 4, -3)]:
        same(xe.eye(n, m, k=k, dtype=xe.float64), xs.eye(n, m, k=k, dtype=xs.float64))


def _exactly(got, want):
    """Equal values, NaN = NaN, and the sign of each zero (complex: part by part)."""
    got, want = np.asarray(got), np.asarray(want, dtype=got.dtype)
    parts = (lambda a: (a.real, a.imag)) if got.dtype.kind == "c" else (lambda a: (a,))
    for g, w in zip(parts(got), parts(want), strict=True):
        np.testing.assert_array_equal(g, w)  # (NaN equals NaN here)
        assert np.array_equal(np.signbit(g[g == 0]), np.signbit(w[w == 0]))


_INF, _NAN = math.inf, math.nan
# the standard's special cases of floor_divide (x1, x2, result); PyTorch, numpy and
# Python's // give NaN for the first four and -1 for the two after
_FLOOR_DIVIDE_CASES = [(_INF, 2.5, _INF), (_INF, -2.5, -_INF), (-_INF, 2.5, -_INF),
                       (-_INF, -2.5, _INF), (2.5, -_INF, -0.0), (-2.5, _INF, -0.0),
                       (2.5, _INF, 0.0), (-2.5, -_INF, 0.0), (7.0, 2.0, 3.0),
                       (-7.0, 2.0, -4.0), (_INF, _INF, _NAN), (_NAN, _INF, _NAN),
                       (_INF, 0.0, _INF)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floor_divide_at_infinities_is_the_standards(dtype):
    x1, x2, want = (np.array(c, dtype) for c in zip(*_FLOOR_DIVIDE_CASES, strict=True))
    a, b = ember.tensor(x1), ember.tensor(x2)
    _exactly(xe.floor_divide(a, b).numpy(), want)
    _exactly((a // b).numpy(), want)  # the standard's array object's operator
    c = a.clone()
    c //= b
    _exactly(c.numpy(), want)
    # a Python number on either side
    _exactly((a // 2.5).numpy(), [_INF, _INF, -_INF, -_INF, 1.0, -1.0, 1.0, -1.0, 2.0,
                                   -3.0, _INF, _NAN, _INF])
    _exactly((2.5 // b).numpy(), np.array([1.0, -1.0, 1.0, -1.0, -0.0, 0.0, 0.0, -0.0, 1.0,
                                           1.0, 0.0, 0.0, _INF]))
    # ember.floor_divide and Tensor.floor_divide keep PyTorch's answer
    torch = pytest.importorskip("torch")
    t = torch.floor_divide(torch.tensor(x1), torch.tensor(x2)).numpy()
    _exactly(ember.floor_divide(a, b).numpy(), t)
    _exactly(a.floor_divide(b).numpy(), t)
    assert np.isnan(t[:4]).all()


def test_floor_division_of_integers_is_unchanged():
    a = ember.tensor([7, -7, 0], dtype=ember.int32)
    assert (a // 2).tolist() == xe.floor_divide(a, 2).tolist() == [3, -4, 0]
    assert (a // 2).dtype == ember.int32
    a //= ember.tensor([2, 2, 5], dtype=ember.int8)
    assert a.tolist() == [3, -4, 0] and a.dtype == ember.int32
    with pytest.raises(ember.OpError, match="__ifloordiv__"):
        a //= 1.5  # a float result can't be written into an int32 tensor


# the standard's special cases of expm1 for complex numbers (z, result); PyTorch's and
# numpy's expm1 have NaN parts at the first seven but the fourth, and -0 + 0j at -0 + 0j
_EXPM1_CASES = [(complex(_INF, 0.0), complex(_INF, 0.0)), (complex(-_INF, _INF), -1 + 0j),
                (complex(-_INF, _NAN), -1 + 0j), (complex(-_INF, 1.5), -1 + 0j),
                (complex(_INF, _INF), complex(_INF, _NAN)),
                (complex(_INF, _NAN), complex(_INF, _NAN)),
                (complex(_NAN, 0.0), complex(_NAN, 0.0)),
                (complex(_NAN, -0.0), complex(_NAN, -0.0)),
                (complex(0.0, 0.0), 0j), (complex(-0.0, 0.0), 0j),
                (complex(1.5, _INF), complex(_NAN, _NAN))]


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_expm1_of_complex_special_values_is_the_standards(dtype):
    z, want = (np.array(c, dtype) for c in zip(*_EXPM1_CASES, strict=True))
    got = xe.expm1(ember.tensor(z)).numpy().copy()
    # ±inf + NaN j: the sign of the infinity is left open
    got.real = np.where(np.isinf(got.real), np.abs(got.real), got.real)
    _exactly(got, want)
    torch = pytest.importorskip("torch")
    t = torch.expm1(torch.tensor(z)).numpy()
    _exactly(ember.expm1(ember.tensor(z)).numpy(), t)  # PyTorch's, NaN included
    assert np.isnan(t[0].imag) and np.isnan(t[1].real)
    # elsewhere the namespace's expm1 is ember's
    r = np.random.default_rng(0).standard_normal(8) * (1 + 1j)
    np.testing.assert_array_equal(xe.expm1(ember.tensor(r)).numpy(),
                                  ember.expm1(ember.tensor(r)).numpy())
    assert xe.expm1(ember.tensor([0.5])).tolist() == ember.expm1(ember.tensor([0.5])).tolist()


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_tanh_at_an_infinite_real_part_is_the_standards(dtype):
    # the standard: 1 + 0j for +inf + iy, y > 0 finite; C99 (and numpy, PyTorch, ember.tanh)
    # give 1 + 0 * sin(2y) j, -0j for y = 2
    z = np.array([complex(_INF, 2.0), complex(_INF, -2.0), complex(-_INF, 2.0),
                  complex(-_INF, 1.0), complex(_INF, 1.0)], dtype)
    _exactly(xe.tanh(ember.tensor(z)).numpy(),
             [1 + 0j, complex(1, -0.0), -1 + 0j, -1 + 0j, 1 + 0j])
    torch = pytest.importorskip("torch")
    t = torch.tanh(torch.tensor(z)).numpy()
    _exactly(ember.tanh(ember.tensor(z)).numpy(), t)
    assert np.signbit(t[0].imag)


def test_floor_division_has_zero_gradients():
    # the standard's branch (x1 / x2 where one is infinite) must not leak div's
    # backward into it: 0 * (1 / 0) was NaN
    a = ember.tensor([3.0, 1.0, math.inf], requires_grad=True)
    b = ember.tensor([0.0, 2.0, 2.0], requires_grad=True)
    (a // b).sum().backward()
    assert a.grad.tolist() == [0.0, 0.0, 0.0] and b.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("key", [
    (slice(None), slice(None, None, -1)), (Ellipsis, slice(3, 0, -2)),
    (None, 0, slice(None, None, -2)), slice(5, None, -1),
    (1, slice(2, -5, -1), slice(None, None, -3)), (slice(0, 2, -1),)])
def test_setitem_through_a_negative_step_slice(key):
    # as numpy and the standard: the value lands in the order the slice picks; the rule
    # is getitem's (which takes these slices too)
    a = np.arange(24.0).reshape(2, 3, 4)
    v = np.arange(a[key].size, dtype=a.dtype).reshape(a[key].shape) * 100
    for value in (ember.tensor(v), v.tolist() if v.size else 7, 7.0):
        want = a.copy()
        want[key] = value
        x = ember.tensor(a)
        x[key] = value
        np.testing.assert_array_equal(x.numpy(), want)
        np.testing.assert_array_equal(x[key].numpy(), want[key])
    if v.ndim:  # a value that broadcasts along the last dim
        want = a.copy()
        want[key] = v[..., :1]
        x = ember.tensor(a)
        x[key] = ember.tensor(v[..., :1])
        np.testing.assert_array_equal(x.numpy(), want)


def test_take_along_axis_counts_negative_indices_from_the_end():
    a = np.arange(12.0).reshape(3, 4)
    i = np.array([[-1, 0, -4], [2, -2, -3], [0, 0, -1]])
    out = xe.take_along_axis(ember.tensor(a), ember.tensor(i), axis=1)
    np.testing.assert_array_equal(out.numpy(), np.take_along_axis(a, i % 4, axis=1))
    j = np.array([[-1], [0], [-3]])  # the other dim broadcasts (the standard's rule)
    out = xe.take_along_axis(ember.tensor(a), ember.tensor(j), axis=0)
    np.testing.assert_array_equal(out.numpy(), np.take_along_axis(a, j % 3, axis=0))
    with pytest.raises(ember.OpError, match="rank"):
        xe.take_along_axis(ember.tensor(a), ember.tensor([0]))


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_unique_of_complex_is_numpys_with_each_nan_distinct(dtype):
    # sort refuses complex (as PyTorch's); unique_* order by real part, then imaginary
    # part, NaNs last as numpy's sort, and each value holding a NaN is distinct
    nan = math.nan
    z = np.array([1 + 2j, complex(nan, 1), 1 + 1j, complex(1, nan), -3 + 0j, 1 + 2j,
                  complex(nan, nan), complex(1, nan), 0j, -0j, complex(-3, 5)], dtype)
    want = np.unique(z, return_index=True, return_inverse=True, return_counts=True,
                     equal_nan=False)
    got = xe.unique_all(ember.tensor(z))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.numpy(), w)
    assert got.values.dtype == ember.tensor(z).dtype
    v, c = xe.unique_counts(ember.tensor(z))
    np.testing.assert_array_equal(c.numpy(), want[3])
    v, inv = xe.unique_inverse(ember.tensor(z.reshape(11, 1)))
    np.testing.assert_array_equal(v.numpy()[inv.numpy()], z.reshape(11, 1))
    np.testing.assert_array_equal(xe.unique_values(ember.tensor(z)).numpy(), want[0])
    with pytest.raises(ember.OpError, match="complex"):  # ember.sort stays PyTorch's
        ember.sort(ember.tensor(z))


@pytest.mark.parametrize("shape, mask", [((0, 1), (0, 0)), ((3,), (0,)), ((2, 3), (2, 0)),
                                         ((2, 3, 4), (0, 3))])
def test_a_mask_dim_of_size_zero_fits_any_dim(shape, mask):
    # the standard: each mask dim equals the array's "or is 0" (numpy agrees; PyTorch
    # raises IndexError)
    a = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    m = np.zeros(mask, bool)
    x = ember.tensor(a)
    assert tuple(x[ember.tensor(m)].shape) == a[m].shape
    x[ember.tensor(m)] = 5.0
    np.testing.assert_array_equal(x.numpy(), a)
    with pytest.raises(IndexError, match="mask"):  # other sizes still refused
        ember.tensor(a)[ember.tensor(np.zeros((shape[0] + 1,) + mask[1:], bool))]


@pytest.mark.parametrize("axis", [None, (0, 1), (1, 0)])
def test_prod_over_several_axes_keeps_the_dtype_asked_for(axis):
    x = ember.tensor([[2, 3], [1, 4]], dtype=ember.uint8)
    out = xe.prod(x, axis=axis, dtype=ember.uint8, keepdims=True)
    assert out.dtype == ember.uint8 and out.tolist() == [[24]]
    assert xe.prod(x, axis=axis, keepdims=True).dtype == ember.int64  # the default widens
    assert xe.prod(x.float(), axis=axis, dtype=ember.float64, keepdims=True).dtype \
        == ember.float64
