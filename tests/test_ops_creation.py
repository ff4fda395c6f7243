"""Factories, *_like, ranges and random numbers against PyTorch (values where they are
deterministic, dtypes and shapes always), seeding, the meta device and errors."""

import numpy as np
import pytest

import ember
from _oracle import (DTYPES, assert_same, assert_same_outcome, edtype, outcome, pair, sample,
                     tdtype, torch)

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("dtype", [None, "int8", "bool", "float64", "bfloat16"])
def test_filled_factories(name, dtype):
    kw_e = {} if dtype is None else {"dtype": edtype(dtype)}
    kw_t = {} if dtype is None else {"dtype": tdtype(dtype)}
    got, want = getattr(ember, name)(2, 3, **kw_e), getattr(torch, name)(2, 3, **kw_t)
    if name == "empty":
        assert (got.dtype.name, tuple(got.shape)) == (str(want.dtype)[6:], (2, 3))
    else:
        assert_same(got, want)
        assert_same(getattr(ember, name)((4,), **kw_e), getattr(torch, name)((4,), **kw_t))
    assert getattr(ember, name)(0, 2).shape == (0, 2)
    assert getattr(ember, name)().shape == ()


@pytest.mark.parametrize("value", [3, 2.5, True, -1])
@pytest.mark.parametrize("dtype", [None, "int16", "float16"])
def test_full(value, dtype):
    kw_e = {} if dtype is None else {"dtype": edtype(dtype)}
    kw_t = {} if dtype is None else {"dtype": tdtype(dtype)}
    assert_same(ember.full((2, 2), value, **kw_e), torch.full((2, 2), value, **kw_t))


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like",
                                  "randn_like"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_like_factories(name, dtype):
    e, t = pair(sample((2, 3), dtype))
    if name.startswith("rand") and dtype == "int32":
        with pytest.raises(ember.OpError, match=rf"{name}\(\): expected a floating or complex"):
            getattr(ember, name)(e)
        return
    got, want = getattr(ember, name)(e), getattr(torch, name)(t)
    assert (got.dtype, got.shape, got.device) == (e.dtype, e.shape, e.device)
    if name in ("zeros_like", "ones_like"):
        assert_same(got, want)
    got = getattr(ember, name)(e, dtype=ember.float16)
    assert got.dtype is ember.float16
    assert getattr(ember, name)(e, device="meta").device.type == "meta"


def test_full_like_and_randint_like():
    e, t = pair(sample((2, 3), "int64"))
    assert_same(ember.full_like(e, 7), torch.full_like(t, 7))
    assert_same(ember.full_like(e, 7.5, dtype=ember.float32),
                torch.full_like(t, 7.5, dtype=torch.float32))
    r = ember.randint_like(e, 3, 5)
    assert r.dtype is ember.int64 and r.shape == e.shape
    assert ((r >= 3) & (r < 5)).all().item()
    assert (ember.randint_like(e, 2) < 2).all().item()


@pytest.mark.parametrize("args", [(5,), (2, 9), (1, 2.5, 0.5), (0.0, 1.0, 0.1), (10, 0, -3),
                                  (0,), (-3, 3)])
@pytest.mark.parametrize("dtype", [None, "int32", "float64", "bfloat16"])
def test_arange(args, dtype):
    kw_e = {} if dtype is None else {"dtype": edtype(dtype)}
    kw_t = {} if dtype is None else {"dtype": tdtype(dtype)}
    assert_same(ember.arange(*args, **kw_e), torch.arange(*args, **kw_t))


@pytest.mark.parametrize("args", [(0, 1, 5), (-2, 10, 7), (3, 3, 1), (0, 1, 0), (1, -1, 4)])
@pytest.mark.parametrize("dtype", [None, "float64", "int64"])
def test_linspace(args, dtype):
    kw_e = {} if dtype is None else {"dtype": edtype(dtype)}
    kw_t = {} if dtype is None else {"dtype": tdtype(dtype)}
    # One rounding step apart at most: PyTorch steps in the output dtype, ember in float64.
    assert_same(ember.linspace(*args, **kw_e), torch.linspace(*args, **kw_t), rtol=1e-6,
                atol=1e-6)


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2), (0,)])
@pytest.mark.parametrize("dtype", [None, "int32", "bool"])
def test_eye(args, dtype):
    kw_e = {} if dtype is None else {"dtype": edtype(dtype)}
    kw_t = {} if dtype is None else {"dtype": tdtype(dtype)}
    assert_same(ember.eye(*args, **kw_e), torch.eye(*args, **kw_t))
    decomposed = ember.schema.get_op("eye").decomposition(*args, **kw_e)
    assert_same(decomposed, torch.eye(*args, **kw_t))


def test_random_factories_are_seeded_and_in_range():
    ember.manual_seed(123)
    a = ember.rand(1000)
    b = ember.randn(1000, dtype=ember.float64)
    c = ember.randint(-3, 4, (1000,))
    ember.manual_seed(123)
    np.testing.assert_array_equal(a.numpy(), ember.rand(1000).numpy())
    np.testing.assert_array_equal(b.numpy(), ember.randn(1000, dtype=ember.float64).numpy())
    np.testing.assert_array_equal(c.numpy(), ember.randint(-3, 4, (1000,)).numpy())
    assert a.dtype is ember.float32 and 0 <= a.min().item() and a.max().item() < 1
    assert abs(b.mean().item()) < 0.15 and abs(b.std().item() - 1) < 0.1
    assert c.dtype is ember.int64 and set(np.unique(c.numpy())) == set(range(-3, 4))
    g = ember.Generator().manual_seed(7)
    x = ember.rand(5, generator=g)
    g.manual_seed(7)
    assert ember.rand(5, generator=g).tolist() == x.tolist()


def test_randint_overloads_and_randperm():
    assert ember.randint(5, (3,)).shape == (3,)
    assert ember.randint(2, 5, (2, 2), dtype=ember.int8).dtype is ember.int8
    assert ember.randint(high=3, size=(4,)).max().item() < 3
    p = ember.randperm(10)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype is ember.int64
    with pytest.raises(ember.OpError, match=r"randint\(\): random_ expects 'from' to be less"):
        ember.randint(5, 5, (2,))
    with pytest.raises(ember.OpError, match=r"randint\(\): range \[0, 300\) does not fit"):
        ember.randint(0, 300, (2,), dtype=ember.int8)
    with pytest.raises(ember.OpError, match=r"randperm\(\): argument 'n' must be"):
        ember.randperm(-1)


def test_inplace_random_fills():
    x = ember.empty(2000)
    v0 = x._version
    assert x.uniform_(-2, 3) is x and x._version == v0 + 1
    assert -2 <= x.min().item() and x.max().item() < 3
    x.normal_(5, 0.5)
    assert abs(x.mean().item() - 5) < 0.1 and abs(x.std().item() - 0.5) < 0.05
    x.bernoulli_(0.25)
    assert set(np.unique(x.numpy())) <= {0.0, 1.0} and 0.18 < x.mean().item() < 0.32
    p = ember.full((2000,), 0.75)
    assert 0.68 < ember.bernoulli(p).mean().item() < 0.82
    with pytest.raises(ember.OpError, match=r"uniform_\(\): expected a floating point"):
        ember.zeros(2, dtype=ember.int32).uniform_()


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: ember.zeros(2, -1), ember.OpError, r"zeros\(\): argument 'size' must not contain "
                                                r"negative sizes"),
    (lambda: ember.full((2,), 300, dtype=ember.uint8), ember.OpError,
     r"full\(\): value 300 cannot be converted to type uint8"),
    (lambda: ember.arange(0, 5, 0), ember.OpError, r"arange\(\): argument 'step' must be"),
    (lambda: ember.arange(5, 0, 1), ember.OpError, r"arange\(\): upper bound and larger bound"),
    (lambda: ember.arange(float("inf")), ember.OpError, r"arange\(\): argument 'end' must be"),
    (lambda: ember.linspace(0, 1, -1), ember.OpError, r"linspace\(\): argument 'steps'"),
    (lambda: ember.eye(-1), ember.OpError, r"eye\(\): arguments 'n' and 'm' must be"),
    (lambda: ember.rand(2, dtype=ember.int32), ember.OpError, r"rand\(\): expected a floating"),
    (lambda: ember.zeros(2, dtype="quaternion"), TypeError, r"zeros\(\): argument 'dtype' must be"),
    (lambda: ember.ones("a"), TypeError, r"ones\(\): argument 'size"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_can_be_created(dtype):
    d = edtype(dtype)
    for t in (ember.zeros(3, dtype=d), ember.ones(2, 2, dtype=d), ember.full((2,), 1, dtype=d),
              ember.tensor([0, 1], dtype=d), ember.arange(3, dtype=d)):
        assert t.dtype is d


def test_factories_on_meta():
    for t in (ember.zeros(2, 3, device="meta"), ember.arange(5, device="meta"),
              ember.linspace(0, 1, 4, device="meta"), ember.eye(3, device="meta"),
              ember.rand(2, device="meta"), ember.randint(3, (2,), device="meta"),
              ember.full((1,), 2.0, device="meta")):
        assert t.device.type == "meta"
    assert ember.linspace(0, 1, 4, device="meta").shape == (4,)
    assert ember.eye(2, 5, device="meta").shape == (2, 5)


def test_requires_grad_on_factories():
    assert ember.zeros(2, requires_grad=True).requires_grad
    assert ember.linspace(0, 1, 3, requires_grad=True).requires_grad
    assert ember.ones_like(ember.ones(2), requires_grad=True).requires_grad


def test_out_of_memory_is_ember_error():
    with pytest.raises(ember.OutOfMemoryError, match=r"cpu out of memory"):
        ember.empty(1 << 44)
    with pytest.raises(MemoryError):  # OutOfMemoryError is a MemoryError, as in PyTorch
        ember.full((1 << 22, 1 << 22), 1.0)
    assert ember.ones(3).sum().item() == 3.0


# --- tensor(): one construction path, PyTorch's inferred dtypes and range checks -----------
# (issue 21, items 7 and 8)

def _cases():
    nan, inf = float("nan"), float("inf")
    return [
        # inferred dtypes: numpy scalars keep theirs, Python numbers give the defaults
        ("np.float64 scalar", lambda m: m.tensor(np.float64(0.1))),
        ("list of np.float64", lambda m: m.tensor([np.float64(0.1)])),
        ("np.float32 and float", lambda m: m.tensor([np.float32(0.1), 1.0])),
        ("np.int32 list", lambda m: m.tensor([np.int32(1)])),
        ("np.int32 and int", lambda m: m.tensor([np.int32(1), 2])),
        ("np.uint8 and np.int8", lambda m: m.tensor([np.uint8(3), np.int8(2)])),
        ("np.float16 and float", lambda m: m.tensor([np.float16(1), 2.0])),
        ("np.float16 and np.int64", lambda m: m.tensor([np.float16(1), np.int64(2)])),
        ("np.int64 and float", lambda m: m.tensor([np.int64(1), 2.0])),
        ("int and np.float64", lambda m: m.tensor([1, np.float64(0.1)])),
        ("np.int8 and bool", lambda m: m.tensor([np.int8(1), True])),
        ("bool and int", lambda m: m.tensor([True, 2])),
        ("nested np.float32", lambda m: m.tensor([[np.float32(1)], [2.0]])),
        ("0-d int32 tensor in a list", lambda m: m.tensor([m.tensor(1, dtype=m.int32), 2])),
        ("empty", lambda m: m.tensor([[], []])),
        ("dtype=float", lambda m: m.zeros(1, dtype=float)),
        ("dtype=float on tensor()", lambda m: m.tensor([], dtype=float)),
        ("dtype=int", lambda m: m.ones(2, dtype=int)),
        # out of range: PyTorch raises
        ("2**63", lambda m: m.tensor([2 ** 63])),
        ("-2**63 - 1", lambda m: m.tensor([-2 ** 63 - 1])),
        ("2**64 0-d", lambda m: m.tensor(2 ** 64)),
        ("2**63 among ints", lambda m: m.tensor([[1, 2], [3, 2 ** 63]])),
        ("300 as uint8", lambda m: m.tensor([300], dtype=m.uint8)),
        ("300 as uint8 0-d", lambda m: m.tensor(300, dtype=m.uint8)),
        ("-256 as uint8", lambda m: m.tensor([-256], dtype=m.uint8)),
        ("-0.5 as uint8", lambda m: m.tensor([-0.5], dtype=m.uint8)),
        ("255.5 as uint8", lambda m: m.tensor([255.5], dtype=m.uint8)),
        ("-129 as int8", lambda m: m.tensor([-129], dtype=m.int8)),
        ("2**31 as int32", lambda m: m.tensor([2 ** 31], dtype=m.int32)),
        ("1e20 as int32", lambda m: m.tensor([1e20], dtype=m.int32)),
        ("nan as int64", lambda m: m.tensor(nan, dtype=m.int64)),
        ("inf as int64", lambda m: m.tensor([inf], dtype=m.int64)),
        ("np.int64(300) as uint8", lambda m: m.tensor([np.int64(300)], dtype=m.uint8)),
        ("np.int16(300) as int8", lambda m: m.tensor(np.int16(300), dtype=m.int8)),
        ("np.float64 nan as int64", lambda m: m.tensor([np.float64(nan)], dtype=m.int64)),
        ("big int as float", lambda m: m.tensor(2 ** 1100, dtype=m.float64)),
        # in range: PyTorch converts
        ("-1 as uint8 wraps", lambda m: m.tensor([-1, -255], dtype=m.uint8)),
        ("int and float as uint8", lambda m: m.tensor([-1, 2.5], dtype=m.uint8)),
        ("2**63 - 1", lambda m: m.tensor([2 ** 63 - 1, -2 ** 63])),
        ("1.5 truncates", lambda m: m.tensor([1.5, -1.5, 1e-50], dtype=m.int64)),
        ("2**70 as float32", lambda m: m.tensor([2 ** 70], dtype=m.float32)),
        ("1e300 overflows to inf", lambda m: m.tensor([1e300, -1e300])),
        ("1e10 as float16", lambda m: m.tensor([1e10], dtype=m.float16)),
        ("anything as bool", lambda m: m.tensor([300, nan, 2.5, 0], dtype=m.bool)),
        ("np.int8(-1) as uint8", lambda m: m.tensor([np.int8(-1)], dtype=m.uint8)),
        # numpy arrays convert with numpy's cast, as in PyTorch
        ("numpy array wraps", lambda m: m.tensor(np.array([300, -1]), dtype=m.uint8)),
        ("0-d float64 array", lambda m: m.tensor(np.array(1.5))),
        # full, fill_ and item assignment follow the same rule
        ("full -1 as uint8", lambda m: m.full((2,), -1, dtype=m.uint8)),
        ("full 255.5 as uint8", lambda m: m.full((2,), 255.5, dtype=m.uint8)),
        ("fill_ -256 as uint8", lambda m: m.zeros(1, dtype=m.uint8).fill_(-256)),
        ("masked_fill -1 as uint8", lambda m: m.zeros(2, dtype=m.uint8).masked_fill(
            m.tensor([True, False]), -1)),
    ]


@pytest.mark.parametrize("case", _cases(), ids=[c[0] for c in _cases()])
def test_tensor_construction_matches_torch(case):
    _, make = case
    assert_same_outcome(outcome(make, ember), outcome(make, torch))


def _assign(m, value, dtype):
    x = m.zeros(2, dtype=dtype(m))
    x[0] = value
    return x


@pytest.mark.parametrize(("value", "dtype"), [(-1, lambda m: m.uint8), (300, lambda m: m.uint8),
                                              (float("nan"), lambda m: m.int64)])
def test_item_assignment_checks_the_value_like_torch(value, dtype):
    assert_same_outcome(outcome(_assign, ember, value, dtype),
                        outcome(_assign, torch, value, dtype))


def test_out_of_range_error_names_the_op_value_and_dtype():
    with pytest.raises(ember.OpError, match=r"tensor\(\): value 300 cannot be converted to "
                                            r"type uint8 without overflow"):
        ember.tensor([[1, 2], [3, 300]], dtype=ember.uint8)
    with pytest.raises(ember.OpError, match="value 9223372036854775808 .* int64"):
        ember.tensor([-1, 2 ** 63])  # (numpy would hold these as float64)


def test_huge_random_and_range_factories_raise_ember_out_of_memory():
    # numpy raised its own MemoryError (arange) or ValueError (randn beyond the address
    # space); ember's error names the op, the shape and the bytes
    with pytest.raises(ember.OutOfMemoryError, match=r"randn\(\).*shape \[1099511627776, "
                                                     r"1073741824\]"):
        ember.randn(2 ** 40, 2 ** 30)
    with pytest.raises(ember.OutOfMemoryError, match=r"arange\(\).*4000000000000000 bytes"):
        ember.arange(1e15)
    with pytest.raises(ember.OutOfMemoryError, match=r"randint\(\)"):
        ember.randint(0, 5, (2 ** 40, 2 ** 30))
    assert ember.randn(2 ** 40, 2 ** 30, device="meta").shape == (2 ** 40, 2 ** 30)
