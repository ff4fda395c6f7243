"""Boxed kernels (ember.kernels): one object per (op, backend) owning resolution, the
validation cache, the core's value rules and the debug check of kernel outputs; the
same semantics on every backend.

Device-parametrised tests run on every backend that is available here: cpu and
reference always, rocm with ``EMBER_ROCM_ANY_DEVICE=1`` (PoCL), xpu where a SYCL
device is found.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import ember
from ember import dispatch, kernels
from ember.backend import Backend
from ember.errors import IntegerDivisionByZero, KernelContractError
from ember.schema import get_op, registry

try:
    import torch
except ImportError:  # pragma: no cover - the oracle is optional
    torch = None

DEVICES = ("cpu", "reference", "rocm", "xpu")


@pytest.fixture(params=DEVICES)
def device(request):
    if not ember.is_available(request.param):
        pytest.skip(f"no {request.param} device here")
    return request.param


def ints(values, device, dtype=ember.int64):
    return ember.tensor(values, dtype=dtype, device=device)


# --- the alpha rule: cached or not, one error on every backend --------------------------

@pytest.mark.parametrize("op", ["add", "sub"])
def test_float_alpha_on_integer_tensors_raises_cached_or_not(device, op):
    fn = getattr(ember, op)
    a, b = ints([1, 2], device), ints([3, 4], device)
    assert fn(a, b, alpha=1).tolist() == ([4, 6] if op == "add" else [-2, -2])
    for _ in range(2):  # the second call finds the first one's key in the cache
        with pytest.raises(ember.OpError, match=rf"{op}\(\): .*'alpha' must not be a "
                                                r"floating point number"):
            fn(a, b, alpha=1.5)
    assert fn(a, b, alpha=2).tolist() == ([7, 10] if op == "add" else [-5, -6])


def test_a_rule_reading_a_number_operand_is_keyed_on_its_value(device):
    """pow's rule reads its exponent's value: a cached pow(t, 2) must not let
    pow(t, -1) through to the kernel."""
    t = ints([1, 2], device)
    assert (t ** 2).tolist() == [1, 4]
    with pytest.raises(ember.OpError, match=r"pow\(\): integers to negative integer powers"):
        t ** -1


# --- integer division by zero: PyTorch's rule, decided in the core ----------------------

ZERO_DIVISIONS = {  # (the library, an integer tensor, one holding a zero) -> call
    "t // 0": lambda m, t, z: t // 0,
    "t // False": lambda m, t, z: t // False,
    "True % t": lambda m, t, z: True % z,
    "t // zeros": lambda m, t, z: t // z,
    "t % zeros": lambda m, t, z: t % z,
    "fmod(t, 0)": lambda m, t, z: m.fmod(t, 0),
    "fmod(t, zeros)": lambda m, t, z: m.fmod(t, z),
    "div trunc": lambda m, t, z: m.div(t, z, rounding_mode="trunc"),
    "div floor": lambda m, t, z: m.div(t, 0, rounding_mode="floor"),
    "t // bool zeros": lambda m, t, z: t // (z > 1),
}


@pytest.mark.parametrize("case", list(ZERO_DIVISIONS))
@pytest.mark.parametrize("dtype", [ember.int64, ember.int32, ember.uint8])
def test_integer_division_by_zero_raises_on_every_backend(device, case, dtype):
    t = ints([5, 7], device, dtype)
    z = ints([0, 2], device, dtype)
    (t // 2).tolist()  # a successful call first: validation is cached per key
    with pytest.raises(IntegerDivisionByZero, match="integer division by zero") as info:
        ZERO_DIVISIONS[case](ember, t, z)
    # PyTorch raises RuntimeError("ZeroDivisionError"); ours is both kinds
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ZeroDivisionError)


@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
@pytest.mark.parametrize("case", list(ZERO_DIVISIONS))
def test_torch_raises_for_the_same_cases(case):
    """The oracle: each case above raises in PyTorch too (so the rule is PyTorch's)."""
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ZERO_DIVISIONS[case](torch, torch.tensor([5, 7]), torch.tensor([0, 2]))


def test_integer_division_in_place_by_zero_leaves_the_target(device):
    t = ints([5, 7], device)
    with pytest.raises(IntegerDivisionByZero):
        t //= 0
    assert t.tolist() == [5, 7]


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
@pytest.mark.parametrize("op", ["floor_divide", "remainder", "fmod"])
def test_a_number_divisor_that_wraps_to_zero_raises(device, dtype, op):
    """A Python int beyond the dtype is wrapped as C casts it before the value rule
    reads it: int8 // 256 divides by 0, as in PyTorch."""
    t = ember.tensor([5, 7], dtype=getattr(ember, dtype), device=device)
    assert getattr(ember, op)(t, 258).tolist() == getattr(np, op)(
        np.array([5, 7], dtype=dtype), np.array(2, dtype=dtype)).tolist()  # 258 is 2
    with pytest.raises(IntegerDivisionByZero):
        getattr(ember, op)(t, 256)
    if torch is not None:
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            getattr(torch, op)(torch.tensor([5, 7], dtype=getattr(torch, dtype)), 256)


def test_an_int_beyond_the_dtype_is_wrapped_after_an_in_range_call_was_cached(device):
    """``t + 1`` and ``t + 1000`` share a validation key (a number by its class): the
    cached entry must still send the out-of-range one to be wrapped (int8: -24) or,
    for pow's exponent, refused."""
    t = ember.tensor([2, 1], dtype=ember.int8, device=device)
    assert (t + 1).tolist() == [3, 2]
    assert (t + 1000).tolist() == [-22, -23]
    assert (1000 + t).tolist() == [-22, -23]
    assert (t ** 2).tolist() == [4, 1]
    with pytest.raises(ember.OpError, match=r"pow\(\): value 257 cannot be converted"):
        t ** 257


# --- value rules: run once per call, with the shape rule's spec, never on meta ----------

@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("dev", ["cpu", "reference", "meta"])
def test_a_value_rule_runs_once_with_the_spec_and_never_on_meta(monkeypatch, dev,
                                                                requires_grad):
    """binary_cross_entropy is a composite: with grad, Autograd's composite path (shape
    rule, then the decomposition) runs the rule; without, the boxed decomposition."""
    od = get_op("binary_cross_entropy")
    rule, calls = od.values, []

    def counting(spec, *args):
        calls.append(spec)
        return rule(spec, *args)
    monkeypatch.setattr(od, "values", counting)
    dispatch.clear_cache()  # boxed kernels read the rule when they are resolved
    try:
        x = ember.full((3,), 0.25, device=dev, requires_grad=requires_grad)
        ember.nn.functional.binary_cross_entropy(x, ember.full((3,), 0.5, device=dev))
    finally:
        monkeypatch.undo()
        dispatch.clear_cache()
    if dev == "meta":
        assert calls == []
    else:
        assert len(calls) == 1 and tuple(calls[0].shape) == ()


@pytest.mark.parametrize("checks", [False, True])
def test_a_kernel_that_checks_values_on_its_device_skips_the_rule(monkeypatch, checks):
    """A backend kernel declaring ``checks_values`` makes the check itself (rocm's
    cross-entropy, on the device, raising at the next sync): the boxed kernel does not
    run the value rule's reads too."""
    from ember.device import get_backend
    od = get_op("cross_entropy")
    rule, calls = od.values, []
    cpu = get_backend("cpu")
    native = cpu.kernels["cross_entropy"]

    def kernel(*args):
        return native(*args)
    kernel.checks_values = checks
    monkeypatch.setattr(od, "values", lambda spec, *a: (calls.append(spec), rule(spec, *a)))
    monkeypatch.setitem(cpu.kernels, "cross_entropy", kernel)
    dispatch.clear_cache()
    try:
        for grad in (False, True):
            x = ember.zeros(2, 3, requires_grad=grad)
            ember.nn.functional.cross_entropy(x, ember.tensor([0, 2]))
    finally:
        monkeypatch.undo()
        dispatch.clear_cache()
    assert len(calls) == (0 if checks else 2)


def test_division_that_is_not_by_zero_still_computes(device):
    t, d = ints([7, -7], device), ints([2, 2], device)
    assert (t // d).tolist() == [3, -4]
    assert (t % d).tolist() == [1, 1]
    assert ember.fmod(t, d).tolist() == [1, -1]
    assert ember.div(t, d, rounding_mode="trunc").tolist() == [3, -3]
    f = ember.tensor([1.0, -1.0], device=device)
    assert (f // 0).tolist() == [float("inf"), float("-inf")]  # floats: IEEE, no error
    assert ints([], device).__floordiv__(ints([], device)).tolist() == []


@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
def test_sign_of_nan_and_bool_pow_agree_with_pytorch_on_every_backend(device):
    x = [float("nan"), -0.0, -2.0, 3.0]
    assert ember.sign(ember.tensor(x, device=device)).tolist() == \
        torch.sign(torch.tensor(x)).tolist()
    b = ember.tensor([True, False], device=device)
    for exponent in (2, 0.5):
        e, t = b ** exponent, torch.tensor([True, False]) ** exponent
        assert e.dtype.name == str(t.dtype).removeprefix("torch.")
        assert e.tolist() == t.tolist()


def test_cpu_kernels_carry_no_division_policy():
    """The CPU plugin supplies arithmetic: its kernel divides (numpy gives 0); the
    core's rule is what raises."""
    from ember.device import get_backend
    with np.errstate(all="ignore"):
        out = get_backend("cpu").kernels["floor_divide"](np.array([5]), np.array([0]))
    assert out.tolist() == [0]


# --- one boxed kernel per (op, backend) ---------------------------------------------------

def test_one_boxed_kernel_per_op_and_backend_is_what_every_path_runs():
    od = get_op("mul")
    dispatch.clear_cache(od)
    a = ember.ones(2)
    a * a
    boxed = od.cache["cpu"]
    assert isinstance(boxed, kernels.BoxedKernel)
    assert dispatch.backend_kernel(od, "cpu") is boxed
    assert boxed.how == "native" and not boxed.reentrant
    # autograd runs the same object below the Autograd key
    x = ember.ones(2, requires_grad=True)
    (x * a).sum().backward()
    assert od.cache["cpu"] is boxed


def test_how_implemented_is_the_boxed_kernels_own_answer():
    for device in ("cpu", "meta"):
        for od in registry.values():
            how = dispatch.how_implemented(od, device)
            if how == "missing":
                with pytest.raises(ember.NotImplementedForDevice):
                    dispatch.backend_kernel(od, device)
            else:
                assert dispatch.backend_kernel(od, device).how == how, (od.name, device)
    # composites run their decomposition on meta (the old report said "native")
    assert dispatch.how_implemented(get_op("div"), "meta") == "decomposition"
    assert dispatch.backend_kernel(get_op("div"), "meta").reentrant


def test_kernels_a_backend_runs_through_the_cpu_plugin_count_as_cpu_fallback():
    class Borrowing(Backend):
        device_type = "borrowing"
        cpu_kernels = frozenset({"sort"})

    b = Borrowing()
    b.kernels.update({"sort": lambda *a: None, "add": lambda *a: None})
    assert kernels.implementation(get_op("sort"), b) == "cpu_fallback"
    assert kernels.implementation(get_op("add"), b) == "native"
    assert not kernels.resolve(get_op("sort"), b).reentrant  # it calls no ember op


def test_rocm_declares_its_host_ops(device):
    if device != "rocm":
        pytest.skip("rocm only")
    assert dispatch.how_implemented(get_op("sort"), "rocm") == "cpu_fallback"
    assert dispatch.how_implemented(get_op("add"), "rocm") == "native"


def test_no_kernel_is_recognised_by_its_function_name():
    core = pathlib.Path(ember.__file__).parent
    hits = [f"{p.relative_to(core)}:{n}" for p in core.rglob("*.py")
            for n, line in enumerate(p.read_text().splitlines(), 1) if "__name__ in" in line]
    assert hits == []


# --- host-side random generation: one default --------------------------------------------

def test_random_numbers_are_the_cpus_on_every_numpy_generator_backend(device):
    ember.manual_seed(3)
    on_cpu = [ember.randn(4).tolist(), ember.randint(0, 9, (4,)).tolist(),
              ember.randperm(5).tolist(), ember.rand(3).tolist()]
    ember.manual_seed(3)
    here = [ember.randn(4, device=device).tolist(),
            ember.randint(0, 9, (4,), device=device).tolist(),
            ember.randperm(5, device=device).tolist(), ember.rand(3, device=device).tolist()]
    assert here == on_cpu
    assert ember.randn(2, 3, device=device).shape == (2, 3)


# --- the debug check of kernel outputs -----------------------------------------------------

@pytest.fixture
def broken_neg(monkeypatch):
    """The CPU backend's neg kernel replaced by one returning a wrong dtype."""
    from ember.device import get_backend
    cpu = get_backend("cpu")
    good = cpu.kernels["neg"]
    monkeypatch.setitem(cpu.kernels, "neg", lambda a: good(a).astype(np.float64))
    dispatch.clear_cache(get_op("neg"))
    yield
    monkeypatch.setitem(cpu.kernels, "neg", good)
    dispatch.clear_cache(get_op("neg"))


def test_the_debug_check_names_the_backend_and_the_op(monkeypatch, broken_neg):
    x = ember.ones(3)
    monkeypatch.delenv(kernels.CHECK_ENV, raising=False)
    assert (-x).dtype == ember.float64  # off: nothing checks (and nothing costs)
    monkeypatch.setenv(kernels.CHECK_ENV, "1")
    dispatch.clear_cache(get_op("neg"))
    with pytest.raises(KernelContractError, match=r"neg\(\): the kernel of backend 'cpu'.*"
                                                  r"dtype float64.*promises float32"):
        ember.neg(x)


def test_the_debug_check_catches_a_wrong_shape(monkeypatch):
    from ember.device import get_backend
    cpu = get_backend("cpu")
    good = cpu.kernels["exp"]
    monkeypatch.setenv(kernels.CHECK_ENV, "1")
    monkeypatch.setitem(cpu.kernels, "exp", lambda a: good(a).reshape(-1))
    dispatch.clear_cache(get_op("exp"))
    try:
        with pytest.raises(KernelContractError, match=r"exp\(\).*shape \[4\].*\[2, 2\]"):
            ember.ones(2, 2).exp()
    finally:
        monkeypatch.setitem(cpu.kernels, "exp", good)
        dispatch.clear_cache(get_op("exp"))


def test_the_debug_check_passes_correct_kernels(monkeypatch, device):
    monkeypatch.setenv(kernels.CHECK_ENV, "1")
    dispatch.clear_cache()
    try:
        x = ember.randn(3, 4, device=device, requires_grad=True)
        w = ember.randn(4, 2, device=device)
        y = ember.nn.functional.relu(x @ w).softmax(-1)
        y[:, 0].sum().backward()
        assert x.grad.shape == (3, 4)
        assert ember.sort(ember.tensor([3, 1, 2], device=device)).values.tolist() == [1, 2, 3]
        assert ember.nonzero(ember.tensor([0, 1, 1], device=device)).shape == (2, 1)
    finally:
        monkeypatch.delenv(kernels.CHECK_ENV)
        dispatch.clear_cache()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_cpu_relu_and_its_backward_keep_numpy_maximum_and_where_numbers(dtype):
    # the bitwise-mask kernels give np.maximum's and np.where's bits: NaN (either sign)
    # passes, -0.0 and -inf go to +0.0, on strided and 0-d inputs too
    from ember_cpu import nn_kernels
    dt = np.dtype(dtype)
    bits = {2: np.int16, 4: np.int32, 8: np.int64}[dt.itemsize]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 40)).astype(dt)
    neg_nan = np.array([-np.nan], dt) if dt.itemsize > 2 else np.array([np.nan], dt)
    x[0, :7] = [np.nan, -0.0, 0.0, -np.inf, np.inf, 0.5, neg_nan[0]]
    g = rng.standard_normal(x.shape).astype(dt)
    zero = dt.type(0)
    for a, b in ((x, g), (x[:, ::3], g[::-1, ::3]), (x[0, 2], g[0, 2])):
        got = nn_kernels.relu(a)
        np.testing.assert_array_equal(np.asarray(got).view(bits),
                                      np.asarray(np.maximum(a, zero)).view(bits))
        for thr in (0.0, 0.5):
            got = nn_kernels.threshold_backward(b, a, thr)
            want = np.asarray(np.where(a <= thr, zero, b))
            assert got.shape == want.shape and got.dtype == dt
            np.testing.assert_array_equal(np.asarray(got).view(bits), want.view(bits))
