"""ember.kit (the Array API backend builder), the reference backend built with it, and
the conformance suite's verdicts on backends built with it: a kernel broken on purpose
fails exactly its op, and a new backend written in a temporary folder installs through
its entry point and passes the suite with no change to the core or the suite."""

from __future__ import annotations

import gc
import importlib.metadata
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

import ember
from ember.device import get_backend
from _memory import peak_bytes
from ember.kit import AccountingAllocator, ArrayAPIBackend, KitArray, missing_primitives

array_api_strict = pytest.importorskip("array_api_strict")
HAVE_REFERENCE = any(ep.name == "reference" for ep in
                     importlib.metadata.entry_points(group="ember"))
needs_reference = pytest.mark.skipif(not HAVE_REFERENCE,
                                     reason="ember-reference is not installed")


# --- the reference backend ----------------------------------------------------------------

@needs_reference
def test_reference_backend_comes_from_its_entry_point():
    ep = next(ep for ep in importlib.metadata.entry_points(group="ember")
              if ep.name == "reference")
    assert ep.value == "ember_reference"
    b = get_backend("reference")
    assert isinstance(b, ArrayAPIBackend) and b.wraps
    assert ember.device_count("reference") == 2
    # (float16/bfloat16: uint16 storage computed in float32, ember.kit.half_storage)
    assert {ember.float16, ember.bfloat16, ember.float64} <= b.supported_dtypes
    assert ember.float16 not in b.ns.dtypes  # the standard has no 16-bit floats


@needs_reference
def test_reference_matches_numpy_and_keeps_views():
    host = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = ember.tensor(host, device="reference")
    assert isinstance(t._data, KitArray)
    assert type(t._data.x).__module__.startswith("array_api_strict")
    out = (t.permute(1, 0) * 2 + 1).sum(0)
    np.testing.assert_array_equal(out.cpu().numpy(), (host.T * 2 + 1).sum(0))
    view = t.permute(1, 0)
    view.mul_(3)  # writes through the view into the base
    np.testing.assert_array_equal(t.cpu().numpy(), host * 3)
    assert t._version == view._version == 1


@needs_reference
def test_reference_stores_float16_the_standard_lacks_as_uint16():
    host = np.array([1.5, -0.0, np.inf, np.nan, 6e-8], np.float16)
    t = ember.tensor(host, device="reference")
    assert t.dtype is ember.float16 and t._data.dtype == np.float16
    assert t._data.x.dtype == array_api_strict.uint16  # the bits, in the library
    np.testing.assert_array_equal(t.cpu().numpy().view(np.uint16), host.view(np.uint16))


def test_plain_kit_backend_refuses_dtypes_the_library_lacks(kitstrict):
    kitstrict()  # (no HostHalfStorage: the library alone)
    with pytest.raises(TypeError, match="does not support dtype float16"):
        ember.tensor(np.zeros(2, np.float16), device="kitstrict")


@needs_reference
def test_reference_devices_do_not_mix():
    a = ember.ones(2, device="reference:0")
    b = ember.ones(2, device="reference:1")
    with pytest.raises(ember.DeviceError, match="same device"):
        a + b
    np.testing.assert_array_equal((b + 1).cpu().numpy(), [2.0, 2.0])
    assert (b + 1).device == ember.device("reference", 1)


@needs_reference
def test_accounting_allocator_statistics_and_out_of_memory():
    dev = ember.device("reference", 0)
    alloc = get_backend("reference").allocator(0)
    assert isinstance(alloc, AccountingAllocator)
    gc.collect()
    before = ember.memory.memory_allocated(dev)
    t = ember.zeros(1 << 17, device=dev)  # 512 KiB of float32 (a multiple of 512 B)
    assert ember.memory.memory_allocated(dev) == before + (1 << 19)
    del t
    gc.collect()
    assert ember.memory.memory_allocated(dev) == before
    # the library owns the storage: nothing is cached, reserved is what is allocated
    assert ember.memory.memory_reserved(dev) == ember.memory.memory_allocated(dev)
    ember.memory.empty_cache(dev)
    assert ember.memory.memory_reserved(dev) == ember.memory.memory_allocated(dev)
    alloc.limit = ember.memory.memory_reserved(dev) + (1 << 20)
    try:
        with pytest.raises(ember.OutOfMemoryError, match="reference:0 out of memory"):
            ember.zeros(1 << 22, device=dev)
    finally:
        alloc.limit = None
    assert ember.ones(3, device=dev).sum().item() == 3.0


@needs_reference
def test_missing_primitives_are_listed():
    missing = missing_primitives(get_backend("reference"))
    assert "add" not in missing and "matmul" not in missing
    from ember.schema import registry
    for name in missing:
        assert registry[name].is_primitive and registry[name].decomposition is None


# --- scatters: linear memory, PyTorch's results ------------------------------------------------

def _scatter_case(name, n):
    dev = "reference"
    rng = np.random.default_rng(0)
    idx = ember.tensor(rng.integers(0, n, n), device=dev)
    if name == "scatter_add":
        x, src = ember.zeros(n, device=dev), ember.ones(n, device=dev)
        return lambda: ember.scatter_add(x, 0, idx, src)
    if name == "index_add":
        x, src = ember.zeros(n, 4, device=dev), ember.ones(n, 4, device=dev)
        return lambda: ember.index_add(x, 0, idx, src)
    if name == "index_put_":
        x, src = ember.zeros(n, device=dev), ember.ones(n, device=dev)
        return lambda: x.index_put_((idx,), src, accumulate=True)
    if name == "embedding backward":
        w = ember.randn(n, 8, device=dev, requires_grad=True)

        def run():
            ember.nn.functional.embedding(idx, w).sum().backward()
            w.grad = None
        return run
    side = int(n ** 0.5)  # max_pool2d backward: 4 maps of side x side
    x = ember.randn(1, 4, side, side, device=dev, requires_grad=True)

    def run():
        ember.nn.functional.max_pool2d(x, 2).sum().backward()
        x.grad = None
    return run


@needs_reference
@pytest.mark.parametrize("name", ["scatter_add", "index_add", "index_put_",
                                  "embedding backward", "max_pool2d backward"])
def test_kit_scatter_memory_grows_linearly(name):
    # 4x the input must cost about 4x the memory (the sort, the scan's log2(n) steps
    # and searchsorted add time, not memory); 6 leaves room for fixed costs and the
    # allocator's rounding.  The old one-hot masks grew ~16x (O(k * n)).
    small = peak_bytes(_scatter_case(name, 1024))
    large = peak_bytes(_scatter_case(name, 4096))
    assert large <= 6 * small, f"{name}: {small} B at n=1024, {large} B at n=4096"


@needs_reference
def test_kit_max_pool2d_backward_of_a_mnist_batch_stays_small():
    # 16x16x28x28 used to ask numpy for a (50176, 200704) float32 mask (37.5 GiB).
    x0 = np.random.default_rng(0).standard_normal((16, 16, 28, 28)).astype(np.float32)
    x = ember.tensor(x0, device="reference", requires_grad=True)

    def run():
        ember.nn.functional.max_pool2d(x, 2).sum().backward()
    assert peak_bytes(run) < 64 * x0.nbytes
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x0, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2).sum().backward()
    x.grad = None
    run()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), tx.grad.numpy())


@needs_reference
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "bool"])
def test_kit_index_put_matches_pytorch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((5, 6)) * 3).astype(dtype)
    i, j = rng.integers(0, 5, 12), rng.integers(0, 6, 12)   # with repeats
    v = (rng.standard_normal(12) * 3).astype(dtype)
    for accumulate in (False, True):
        t = ember.tensor(a, device="reference")
        t.index_put_((ember.tensor(i, device="reference"), ember.tensor(j, device="reference")),
                     ember.tensor(v, device="reference"), accumulate=accumulate)
        if accumulate:
            want = torch.tensor(a).index_put_((torch.tensor(i), torch.tensor(j)),
                                              torch.tensor(v), accumulate=True).numpy()
        else:  # repeated positions: the last write wins, as sequential writes
            want = a.copy()
            want[i, j] = v
        np.testing.assert_allclose(t.cpu().numpy().astype(float), want.astype(float),
                                   rtol=1e-6)


@needs_reference
@pytest.mark.parametrize("dim", [0, 1])
def test_kit_scatters_of_nothing(dim):
    # index_select's backward with an empty index used to raise "cannot reshape array
    # of size 0 into shape (0,newaxis)" on every kit backend.
    dev = "reference"
    x = ember.randn(3, 4, device=dev, requires_grad=True)
    empty = ember.tensor(np.zeros(0, np.int64), device=dev)
    ember.index_select(x, dim, empty).sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.zeros((3, 4), np.float32))
    z = ember.ones(3, 4, device=dev)
    z.index_put_((empty,), ember.ones(0, 4, device=dev), accumulate=True)
    np.testing.assert_array_equal(z.cpu().numpy(), np.ones((3, 4), np.float32))


@needs_reference
def test_kit_scatter_sums_keep_inf_and_nan_to_their_own_positions():
    dev = "reference"
    t = ember.zeros(5, device=dev)
    idx = ember.tensor([0, 0, 1, 2, 2, 3, 4], device=dev)
    v = ember.tensor([np.inf, 1.0, 2.0, np.nan, 1.0, -0.0, 3.0], device=dev)
    t.index_put_((idx,), v, accumulate=True)
    np.testing.assert_array_equal(t.cpu().numpy(), [np.inf, 2.0, np.nan, 0.0, 3.0])
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    i2 = rng.integers(0, 3, (2, 4))
    s2 = rng.standard_normal((2, 5)).astype(np.float32)
    got = ember.scatter_add(ember.tensor(x, device=dev), 0, ember.tensor(i2, device=dev),
                            ember.tensor(s2, device=dev))
    want = torch.scatter_add(torch.tensor(x), 0, torch.tensor(i2), torch.tensor(s2))
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-6)
    i1 = rng.integers(0, 5, 7)
    s1 = rng.standard_normal((3, 7)).astype(np.float32)
    got = ember.index_add(ember.tensor(x, device=dev), 1, ember.tensor(i1, device=dev),
                          ember.tensor(s1, device=dev), alpha=2)
    want = torch.index_add(torch.tensor(x), 1, torch.tensor(i1), torch.tensor(s1), alpha=2)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-6)


# --- the kit over a namespace whose arrays are numpy's (no wrapping) ------------------------

class _NumpyKitPlugin:
    EMBER_PLUGIN_API = "1.0"

    @ember.hookimpl
    def ember_backend_create(self):
        return ArrayAPIBackend(np, device_type="kitnumpy", name="numpy via ember.kit")


@pytest.fixture
def kitnumpy():
    ember.plugins.register(_NumpyKitPlugin(), name="kitnumpy")
    yield get_backend("kitnumpy")
    ember.plugins.unregister("kitnumpy")


def test_kit_over_numpy_uses_arrays_directly(kitnumpy):
    assert not kitnumpy.wraps
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4,)).astype(np.float32)
    ta, tb = ember.tensor(a, device="kitnumpy"), ember.tensor(b, device="kitnumpy")
    assert type(ta._data) is np.ndarray
    np.testing.assert_allclose((ta * tb - 2).cpu().numpy(), a * b - 2, rtol=1e-6)
    np.testing.assert_allclose(ember.matmul(ta, tb).cpu().numpy(), a @ b, rtol=1e-5)
    np.testing.assert_allclose(ta.sum(1, keepdim=True).cpu().numpy(),
                               a.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal((ta > 0).cpu().numpy(), a > 0)
    # ints combine with Python floats by PyTorch's rules, not numpy's
    ti = ember.tensor(np.array([1, 2, 3]), device="kitnumpy")
    r = ti * 1.5
    assert r.dtype is ember.float32
    np.testing.assert_array_equal(r.cpu().numpy(), np.array([1.5, 3.0, 4.5], np.float32))


def test_kit_implementations_hook_replaces_a_kernel():
    calls = []

    def my_neg(ns, a):
        calls.append(a.shape)
        return ns.xp.negative(a)

    b = ArrayAPIBackend(np, device_type="hooked", implementations={"neg": my_neg},
                        exclude=("exp",))
    out = b.kernels["neg"](np.ones(3))
    np.testing.assert_array_equal(out, -np.ones(3))
    assert calls == [(3,)]
    assert "exp" not in b.kernels and "exp" in missing_primitives(b)


# --- the kit as a vendor sees it ---------------------------------------------------------------

def test_kit_refuses_names_that_are_not_ops():
    with pytest.raises(ValueError, match=r"'scatter_ad' is not an ember op; did you mean "
                                         r"'scatter_add'"):
        ArrayAPIBackend(np, device_type="typo", implementations={"scatter_ad": print})
    with pytest.raises(ValueError, match="exclude=: 'matmull' is not an ember op"):
        ArrayAPIBackend(np, device_type="typo", exclude=("matmull",))
    b = ArrayAPIBackend(array_api_strict, device_type="typo")
    with pytest.raises(ValueError, match=r"backend.kernels\['sofmax'\]: 'sofmax' is not"):
        b.kernels["sofmax"] = print


class _StrictKitPlugin:
    """array-api-strict through the kit under another device type (arrays wrapped)."""
    EMBER_PLUGIN_API = "1.0"

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs

    @ember.hookimpl
    def ember_backend_create(self):
        return ArrayAPIBackend(array_api_strict, device_type="kitstrict", **self.kwargs)


@pytest.fixture
def kitstrict():
    def make(**kwargs):
        ember.plugins.register(_StrictKitPlugin(**kwargs), name="kitstrict")
        return get_backend("kitstrict")
    yield make
    ember.plugins.unregister("kitstrict")


def test_kit_implementations_of_composites_are_used(kitstrict):
    calls = []

    def scatter_add(ns, a, dim, index, src):  # a vendor's own scatter (here: numpy's)
        calls.append((type(a), type(index)))
        host = np.asarray(a).copy()
        idx = np.asarray(index)
        pos = [np.arange(s).reshape([-1 if j == k else 1 for j in range(idx.ndim)])
               for k, s in enumerate(idx.shape)]
        pos[dim] = idx
        np.add.at(host, tuple(pos), np.asarray(src)[tuple(slice(0, s) for s in idx.shape)])
        return ns.xp.asarray(host)

    b = kitstrict(implementations={"scatter_add": scatter_add})
    assert "scatter_add" in b.kernels
    x = ember.zeros(3, 4, device="kitstrict")
    idx = ember.tensor([[0, 1, 2, 0], [0, 0, 0, 0]], device="kitstrict")
    src = ember.ones(2, 4, device="kitstrict")
    out = ember.scatter_add(x, 0, idx, src)
    want = np.zeros((3, 4), np.float32)
    np.add.at(want, (idx.cpu().numpy(), np.arange(4)[None, :]), 1.0)
    np.testing.assert_array_equal(out.cpu().numpy(), want)
    assert calls and calls[0][0] is type(array_api_strict.asarray(0)), calls


def test_kit_index_add_through_numpys_add_at_as_the_guide_shows():
    def index_add(ns, a, dim, index, source, alpha=1):  # docs/writing-a-backend.md
        out = ns.xp.asarray(a, copy=True)
        moved = ns.xp.moveaxis(out, dim, 0)            # a view: adds land in out
        ns.xp.add.at(moved, index, ns.xp.moveaxis(source, dim, 0) * alpha)
        return out

    class Plugin(_NumpyKitPlugin):
        @ember.hookimpl
        def ember_backend_create(self):
            return ArrayAPIBackend(np, device_type="kitaddat",
                                   implementations={"index_add": index_add})

    ember.plugins.register(Plugin(), name="kitaddat")
    try:
        assert "index_add" in get_backend("kitaddat").kernels
        x = np.arange(12, dtype=np.float32).reshape(3, 4)
        idx = np.array([0, 3, 3, 1])
        src = np.ones((3, 4), np.float32)
        got = ember.index_add(ember.tensor(x, device="kitaddat"), 1,
                              ember.tensor(idx, device="kitaddat"),
                              ember.tensor(src, device="kitaddat"), alpha=2)
        want = x.copy()
        np.add.at(want, (slice(None), idx), 2 * src)
        np.testing.assert_array_equal(got.cpu().numpy(), want)
    finally:
        ember.plugins.unregister("kitaddat")


def test_kit_kernels_set_by_a_vendor_see_the_librarys_arrays(kitstrict):
    from ember.dispatch import clear_cache
    b = kitstrict()
    seen = []

    def neg(a):
        seen.append(type(a))
        return array_api_strict.negative(a)

    b.kernels["neg"] = neg
    good = b.kernels["atan2"]
    b.kernels["atan2"] = lambda y, x: good(x, y)  # wrapping a kernel read back works
    clear_cache()
    t = ember.tensor(np.array([1.0, -2.0], np.float32), device="kitstrict")
    r = ember.neg(t)
    assert seen == [type(array_api_strict.asarray(0.0))]
    assert isinstance(r._data, KitArray)
    np.testing.assert_array_equal(r.cpu().numpy(), [-1.0, 2.0])
    np.testing.assert_allclose(ember.atan2(t, t * 0 + 1).cpu().numpy(),
                               np.arctan2(1.0, [1.0, -2.0]), rtol=1e-6)
    lib = b.library_kernel("neg")(array_api_strict.asarray([3.0]))
    assert type(lib) is type(array_api_strict.asarray(0.0))
    # results are accounted like the kit's own (once the memory is counted)
    ember.memory.memory_allocated("kitstrict")
    r = ember.neg(t)
    assert r._data._acct is not None and r._data._nbytes == 8


class _NumpyRefusingBool(types.ModuleType):
    """numpy, except that ``floor`` refuses bool the way torch does."""

    def __init__(self, error: type) -> None:
        super().__init__("numpy_refusing_bool")
        self.error = error

    def __getattr__(self, name):
        return getattr(np, name)

    def floor(self, a):
        if a.dtype == np.bool_:
            raise self.error('"floor_cpu" not implemented for \'Bool\'')
        return np.floor(a)


@pytest.mark.parametrize("error", [NotImplementedError, RuntimeError, TypeError])
def test_kit_bool_retry_recognises_any_exception_type(error):
    b = ArrayAPIBackend(_NumpyRefusingBool(error), device_type="boolretry")
    out = b.kernels["floor"](np.array([True, False]))
    assert out.dtype == np.bool_ and out.tolist() == [True, False]
    narrow = ArrayAPIBackend(_NumpyRefusingBool(error), device_type="boolretry",
                             dtype_errors=(ValueError,))
    with pytest.raises(error, match="not implemented for 'Bool'"):
        narrow.kernels["floor"](np.array([True]))


def test_kit_takes_only_the_standards_names_from_a_library():
    lib = types.ModuleType("numpy_with_extras")
    lib.__dict__.update({k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    lib.square_ = lib.exp_ = lib.abs_ = lambda a: a  # what torch exports, wrongly typed
    b = ArrayAPIBackend(lib, device_type="extras")
    assert {"square_", "exp_", "abs_"}.isdisjoint(b.kernels)
    assert "exp" in b.kernels and "floor" in b.kernels


def test_kit_describes_the_wrapped_librarys_version():
    assert ArrayAPIBackend(np, device_type="v").describe()[0].startswith(
        f"numpy {np.__version__} (Array API")
    compat = pytest.importorskip("array_api_compat.torch")
    import torch
    line = ArrayAPIBackend(compat, device_type="v").describe()[0]
    assert line.startswith(f"torch {torch.__version__} (through array_api_compat "), line
    assert "?" not in line


def test_kit_host_copies_hook_and_its_hint():
    compat = pytest.importorskip("array_api_compat.torch")
    import ml_dtypes
    import torch
    bits = np.array([0x7FC1, 0xFFC0, 0x7F80, 0x8000, 0x0001, 0x3F80], np.uint16)
    host = bits.view(ml_dtypes.bfloat16)
    plain = ArrayAPIBackend(compat, device_type="t")
    with pytest.raises(TypeError, match=r"cannot copy bfloat16 from numpy.*host_copies="):
        plain.from_host(host)

    def to_library(a, device):
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16).to(device)

    def to_numpy(x):
        return x.cpu().view(torch.int16).numpy().view(ml_dtypes.bfloat16)

    b = ArrayAPIBackend(compat, device_type="t",
                        host_copies={ember.bfloat16: (to_library, to_numpy)})
    native = b.from_host(host)
    assert native.x.dtype == torch.bfloat16
    assert b.to_host(native).view(np.uint16).tolist() == bits.tolist()  # NaN payloads too


# --- the suite's verdicts -------------------------------------------------------------------

def _installed_plugin(tmp_path, name: str, source: str):
    """A folder holding plugin package ``ember_<name>`` and what `pip install` would write
    beside it: distribution metadata with the entry point ``<name>`` in group ``ember``."""
    site = tmp_path / "site"
    pkg = site / f"ember_{name}"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(source)
    info = site / f"ember_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: ember-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ember]\n{name} = ember_{name}\n")
    return site


def _pythonpath(extra) -> str:
    """``extra`` in front of the caller's PYTHONPATH (which may hold the ember under test)."""
    return os.pathsep.join([str(extra), *filter(None, [os.environ.get("PYTHONPATH")])])


def _run_suite(args, env_extra=None, cwd=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ember", "conformance", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=1200)


def _failing(report_dir, device):
    with open(os.path.join(report_dir, "report.json")) as f:
        data = json.load(f)[device]
    cells = {(op, dt): cell for op, row in data["ops"].items() for dt, cell in row.items()}
    return data, {k: c for k, c in cells.items() if c["status"] == "failing"}


BREAK_ATAN2 = '''
"""Breaks one kernel of the reference backend on purpose: atan2 with swapped operands."""
from ember.device import get_backend
from ember.dispatch import clear_cache


def pytest_configure(config):
    backend = get_backend("reference")
    good = backend.kernels["atan2"]
    backend.kernels["atan2"] = lambda a, b: good(b, a)
    clear_cache()
'''


def _forward_run(tmp_path, name, plugins=()):
    """Forward checks of every op in float32 on the reference backend (one dtype keeps
    the run to seconds)."""
    report = tmp_path / name
    args = [sys.executable, "-m", "pytest", "--pyargs", "ember_conformance",
            "-p", "no:cacheprovider", "-q", "--ember-device", "reference",
            "--ember-report", str(report), "-k", "test_forward and float32"]
    for p in plugins:
        args += ["-p", p]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=_pythonpath(tmp_path)))
    return proc, *_failing(report, "reference")


@pytest.mark.slow
@needs_reference
def test_broken_reference_kernel_fails_exactly_that_op(tmp_path):
    (tmp_path / "break_atan2.py").write_text(BREAK_ATAN2)
    _, base_data, base_failing = _forward_run(tmp_path, "baseline")
    proc, data, failing = _forward_run(tmp_path, "broken", ["break_atan2"])
    assert proc.returncode != 0, proc.stdout[-2000:]
    # Whatever else fails today fails without the break too; the break adds atan2 and
    # the composites built on it (asin, acos and atan decompose through atan2) only.
    broken = {"atan2", "asin", "acos", "atan"}
    new = set(failing) - set(base_failing)
    assert {op for op, _ in new} == broken, sorted(new)
    assert {op for op, _ in base_failing} == {op for op, _ in failing} - broken
    assert all(c["status"] != "failing" for c in base_data["ops"]["atan2"].values())
    passed = [op for op, row in data["ops"].items()
              if any(c["status"] in ("native", "decomposition") for c in row.values())]
    assert len(passed) > 50
    message = failing[("atan2", "float32")]["checks"]["forward"]["message"]
    assert "atan2() on reference" in message and "dtype float32" in message
    assert "input (float32[3, 4]" in message and "elements differ" in message
    assert "got" in message and "expected" in message
    assert "ember-conformance reference:" in proc.stdout and "FAIL" in proc.stdout


NEW_BACKEND = '''
"""A third-party backend written by following docs/writing-a-backend.md."""
import array_api_strict

import ember
from ember.kit import ArrayAPIBackend

EMBER_PLUGIN_API = "1.0"


@ember.hookimpl
def ember_backend_create():
    return ArrayAPIBackend(array_api_strict, device_type="tmpdev",
                           name="array-api-strict in a temporary folder")
'''


@pytest.mark.slow
@needs_reference
def test_new_backend_from_a_temporary_folder_passes_the_suite(tmp_path):
    site = _installed_plugin(tmp_path, "tmpdev", NEW_BACKEND)
    report = tmp_path / "report"
    # Every op in float32 plus every contract (device, memory, RNG, nn, coverage); the
    # full suite runs the same way, only longer.
    # (the site goes before this checkout's path, so the suite runs this ember)
    proc = _run_suite(["--device", "tmpdev", "--report", str(report), "-k",
                       "float32 or int64 or memory or random or device or nn or every_op"],
                      env_extra={"PYTHONPATH": _pythonpath(site)}, cwd=tmp_path)
    assert "ember-conformance tmpdev:" in proc.stdout, proc.stdout[-3000:]
    data, failing = _failing(report, "tmpdev")
    assert data["summary"]["native"] > 80
    assert all(c["status"] != "failing" for c in data["contracts"]), data["contracts"]
    # No failing cell: a decomposition's failure on this backend is a failure too.
    assert not failing, {k: c["checks"] for k, c in failing.items()}
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (report / "junit.xml").exists() and (report / "coverage.txt").exists()


TORCH_BACKEND = '''
"""PyTorch tensors as a vendor's array library, written from docs/writing-a-backend.md
with the kit's documented API only."""
import array_api_compat.torch as xp
import ml_dtypes
import numpy as np
import torch

import ember
from ember.kit import ArrayAPIBackend

EMBER_PLUGIN_API = "1.0"


def bfloat16_to_torch(a, device):  # numpy cannot hand torch ml_dtypes' bfloat16
    return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16).to(device)


def bfloat16_to_numpy(x):
    return x.cpu().view(torch.int16).numpy().view(ml_dtypes.bfloat16)


@ember.hookimpl
def ember_backend_create():
    return ArrayAPIBackend(xp, device_type="torchdev", name="PyTorch tensors via ember.kit",
                           host_copies={ember.bfloat16: (bfloat16_to_torch,
                                                         bfloat16_to_numpy)})
'''


@pytest.mark.slow
def test_pytorch_tensor_backend_from_a_temporary_folder_passes_the_whole_suite(tmp_path):
    pytest.importorskip("array_api_compat.torch")
    site = _installed_plugin(tmp_path, "torchdev", TORCH_BACKEND)
    report = tmp_path / "report"
    # The whole suite, every dtype (150-310 s here, with the complex and low-precision
    # columns and the amp contracts; _run_suite allows 1200 s): torch raises NotImplementedError
    # for bool, has bfloat16, and exports in-place functions under ops' names.
    proc = _run_suite(["--device", "torchdev", "--report", str(report)],
                      env_extra={"PYTHONPATH": _pythonpath(site)}, cwd=tmp_path)
    assert "ember-conformance torchdev:" in proc.stdout, proc.stdout[-3000:]
    data, failing = _failing(report, "torchdev")
    assert not failing, sorted(failing)
    assert all(c["status"] == "passed" for c in data["contracts"]), data["contracts"]
    assert data["summary"]["native"] > 500
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.torch
def test_kit_integer_pow_with_negative_exponents_as_torch():
    # Array API libraries refuse integers to negative integer powers; PyTorch answers 0
    # (and 1, -1 for bases 1, -1). Found by `ember conformance --device reference --fuzz`.
    torch = pytest.importorskip("torch")
    base, exp = [2, 1, -1, -1, 0, 3, -7], [-1, -5, -3, -2, 2, 2, -2]
    for dt in ("int32", "int64", "int8"):
        got = ember.pow(ember.tensor(base, dtype=getattr(ember, dt), device="reference"),
                        ember.tensor(exp, dtype=getattr(ember, dt), device="reference"))
        want = torch.pow(torch.tensor(base, dtype=getattr(torch, dt)),
                         torch.tensor(exp, dtype=getattr(torch, dt)))
        assert got.cpu().tolist() == want.tolist()
    got = ember.pow(2, ember.tensor([-2147483648], dtype=ember.int32, device="reference"))
    assert got.cpu().tolist() == [0]


# --- the per-call path: lazy memory counting, fast kernels -----------------------------------

def test_kit_counts_memory_from_the_first_query_on(kitstrict):
    """Arrays are counted once someone asks (PyTorch keeps no CPU statistics unless
    asked): the tensors alive at the first query are counted then, exactly, and every
    array made afterwards until it dies."""
    b = kitstrict()
    dev = ember.device("kitstrict", 0)
    before = ember.ones(1 << 16, device=dev)  # 256 KiB, made before any query
    assert before._data._acct is None  # nothing counted, no finalizer paid per array
    gc.collect()
    start = ember.memory.memory_allocated(dev)
    assert start >= 1 << 18  # the live tensor is counted at the first query
    after = before * 2.0
    assert ember.memory.memory_allocated(dev) == start + (1 << 18)
    del before
    gc.collect()
    assert ember.memory.memory_allocated(dev) == start
    assert ember.memory.max_memory_allocated(dev) >= start + (1 << 18)
    del after
    gc.collect()
    assert ember.memory.memory_allocated(dev) == start - (1 << 18)
    assert b._counting is not None


@pytest.mark.parametrize("kit", ["kitnumpy", "kitstrict"])
def test_kit_fast_kernels_agree_with_the_full_ones(kit, request):
    """The pointwise kernels' common path (arrays of one non-bool dtype, a number
    operand as a cached constant) gives what the full implementation gives, and the
    other cases (bool operands, alpha, -0.0 and NaN constants) still take it."""
    b = request.getfixturevalue(kit)
    b = b() if callable(b) and not isinstance(b, ArrayAPIBackend) else b
    to_np = b.to_host

    def nat(x):
        return b.from_host(np.asarray(x))

    x = nat(np.array([1.5, -2.0, 0.0], np.float32))
    y = nat(np.array([0.5, 4.0, -1.0], np.float32))
    t = nat(np.array([True, False, True]))
    f = nat(np.array([False, False, True]))
    k = b.kernels
    np.testing.assert_array_equal(to_np(k["add"](x, y)), [2.0, 2.0, -1.0])
    np.testing.assert_array_equal(to_np(k["add"](x, y, 2)), [2.5, 6.0, -2.0])
    np.testing.assert_array_equal(to_np(k["sub"](2.0, x)), [0.5, 4.0, 2.0])
    np.testing.assert_array_equal(to_np(k["mul"](x, 2.0)), [3.0, -4.0, 0.0])
    assert to_np(k["mul"](x, 2.0)).dtype == np.float32
    # 0.0 and -0.0 are equal but different constants; NaN is not equal to itself
    assert np.signbit(to_np(k["mul"](x, -0.0))).tolist() == [True, False, True]
    assert np.signbit(to_np(k["mul"](x, 0.0))).tolist() == [False, True, False]
    assert np.isnan(to_np(k["add"](x, float("nan")))).all()
    # bool operands: PyTorch's bool results (numbers only in the standard)
    assert to_np(k["add"](t, f)).tolist() == [True, False, True]
    assert to_np(k["mul"](t, f)).tolist() == [False, False, True]
    assert to_np(k["where"](t, x, y)).tolist() == [1.5, 4.0, 0.0]
    assert to_np(k["lt"](x, y)).tolist() == [False, True, False]
    assert to_np(k["neg"](x)).tolist() == [-1.5, 2.0, -0.0]


@pytest.mark.parametrize("kit", ["kitnumpy", "kitstrict", "kittorch"])
def test_kit_fast_reductions_and_matmul_agree_with_the_full_ones(kit, request):
    """sum/prod's common path (one dim as the core passes it, (1,), or all dims; no
    dtype or the array's own) and matmul's (one non-bool dtype) give what the full
    implementation gives; bool, other dtypes, several dims, keepdim of all, 0-d arrays
    and mixed dtypes still take it."""
    if kit == "kittorch":
        xt = pytest.importorskip("array_api_compat.torch")
        b = ArrayAPIBackend(xt, device_type="kittorch")
    else:
        b = request.getfixturevalue(kit)
        b = b() if callable(b) and not isinstance(b, ArrayAPIBackend) else b
    to_np, k = b.to_host, b.kernels

    def nat(x):
        return b.from_host(np.asarray(x))

    f = np.array([[1.5, -2.0, np.nan], [0.0, 4.0, -0.0]], np.float32)
    i = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    t = np.array([[True, False, True], [True, True, False]])
    x, xi, xt_ = nat(f), nat(i), nat(t)
    f32, i64 = ember.float32, ember.int64

    def same(got, want):
        got = to_np(got)
        assert got.dtype == np.asarray(want).dtype and got.shape == np.shape(want)
        np.testing.assert_array_equal(got, want)
    same(k["sum"](x, (1,), False, f32), np.sum(f, 1))
    same(k["sum"](x, -1, True, None), np.sum(f, -1, keepdims=True))
    same(k["sum"](x, None, False, f32), np.sum(f))
    same(k["sum"](x, None, True, f32), np.sum(f, keepdims=True))
    same(k["sum"](x, (0, 1), False, f32), np.sum(f))
    same(k["sum"](x, (0,), False, ember.float64), np.sum(f, 0, dtype=np.float64))
    same(k["sum"](xi, (0,), False, i64), np.sum(i, 0, dtype=np.int64))
    same(k["sum"](xi, (1,), False, None), np.sum(i, 1, dtype=np.int64))
    # (dtype= an integer array's own: not the standard's default, which widens it)
    same(k["sum"](xi, (1,), False, ember.int32), np.sum(i, 1, dtype=np.int32))
    same(k["prod"](xi, (0,), False, ember.int32), np.prod(i, 0, dtype=np.int32))
    u = np.array([[7, 200], [5, 100]], np.uint8)
    same(k["sum"](nat(u), (0,), False, ember.uint8), np.sum(u, 0, dtype=np.uint8))
    same(k["sum"](xt_, (0,), False, i64), np.sum(t, 0, dtype=np.int64))
    same(k["prod"](x, (1,), False, f32), np.prod(f, 1))
    same(k["prod"](nat(np.zeros((2, 0), np.float32)), (1,), False, f32),
         np.ones(2, np.float32))
    same(k["sum"](nat(np.float32(2.5)), (0,), False, f32), np.float32(2.5))
    g = np.array([[0.5, 1.0], [2.0, -1.0], [3.0, 0.25]], np.float32)
    same(k["matmul"](x, nat(g)), f @ g)
    same(k["matmul"](xt_, nat(np.array([[True], [False], [True]]))),
         np.array([[True], [True]]))
    same(k["matmul"](xi, nat(np.ones((3, 1), np.int32))), i @ np.ones((3, 1), np.int32))


def test_kit_result_of_a_dtype_ember_lacks_leaves_no_half_made_array(kitstrict, monkeypatch):
    """A kernel whose result has a dtype ember lacks (uint64) raises, and leaves no
    half-made KitArray whose finalizer fails once memory is counted (seen on
    einsum of uint8 while the kit's sum widened it)."""
    from ember.kit import fast
    xs = array_api_strict

    @fast(lambda a: xs.astype(a, xs.uint64), 1)
    def widen(ns, a):
        return xs.astype(a, xs.uint64)
    b = kitstrict(implementations={"neg": widen})
    b.allocator(0)  # counting on: every KitArray's death is reported
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    x = b.from_host(np.array([1, 2], np.uint8))
    with pytest.raises(KeyError):
        b.kernels["neg"](x)
    gc.collect()
    assert unraisable == []


@pytest.mark.torch
def test_kit_over_array_api_compat_torch_calls_torchs_own_functions(monkeypatch):
    """On arrays of one dtype, what the kit's fast paths meet, array_api_compat.torch's
    wrappers only fix promotion (1.6x torch's add, 3.5x its matmul on small arrays):
    the kernels call torch's own functions, by default, with the same results; mixed
    dtypes (the core never sends them, a vendor's code may) keep the standard's
    promotion through the wrapper."""
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as xt
    from array_api_compat.torch import _aliases
    calls = []
    fix = _aliases._fix_promotion

    def counted_fix(*args, **kwargs):
        calls.append("promotion")
        return fix(*args, **kwargs)
    monkeypatch.setattr(_aliases, "_fix_promotion", counted_fix)
    for name in ("sum", "prod"):
        def counted(*args, _f=getattr(xt, name), **kwargs):
            calls.append(_f.__name__)
            return _f(*args, **kwargs)
        counted.__module__ = getattr(xt, name).__module__
        monkeypatch.setattr(xt, name, counted)
    b = ArrayAPIBackend(xt, device_type="kitcompat")
    k, to_np = b.kernels, b.to_host
    f = np.array([[1.5, -2.0], [0.0, np.nan]], np.float32)
    g = np.array([[0.5, 4.0], [-0.0, 1.0]], np.float32)
    x, y = b.from_host(f), b.from_host(g)
    assert k["add"](x, y, 1).x.__class__ is torch.Tensor
    np.testing.assert_array_equal(to_np(k["add"](x, y, 1)), f + g)
    np.testing.assert_array_equal(to_np(k["sub"](x, 2.0, 1)), f - 2.0)
    assert np.signbit(to_np(k["mul"](x, -0.0))).tolist() == [[True, False], [True, False]]
    np.testing.assert_array_equal(to_np(k["lt"](x, y)), f < g)
    np.testing.assert_array_equal(to_np(k["matmul"](x, y)), f @ g)
    c = b.from_host(np.array([[True, False], [False, True]]))
    np.testing.assert_array_equal(to_np(k["where"](c, x, y)), np.where([[1, 0], [0, 1]], f, g))
    np.testing.assert_array_equal(to_np(k["sum"](x, (1,), False, None)), np.sum(f, 1))
    np.testing.assert_array_equal(to_np(k["prod"](x, (0,), True, None)),
                                  np.prod(f, 0, keepdims=True))
    assert calls == []
    # a 0-d float64 beside float32: the standard promotes to float64, torch.add would not
    z = b.from_host(np.array(2.0, np.float64))
    r = k["add"](x, z, 1)
    assert r.dtype == np.float64 and to_np(r).dtype == np.float64
    np.testing.assert_array_equal(to_np(r), f.astype(np.float64) + 2.0)
    assert calls == ["promotion"]


def _kit_with_add_at(add_at, name="kitaddat2"):
    from ember.kit import accumulating_index_put

    class Plugin(_NumpyKitPlugin):
        @ember.hookimpl
        def ember_backend_create(self):
            return ArrayAPIBackend(np, device_type=name, implementations={
                "index_put_": accumulating_index_put(add_at)})
    ember.plugins.register(Plugin(), name=name)
    return get_backend(name)


def test_kit_accumulating_writes_go_through_the_librarys_scatter():
    """One implementations= entry, accumulating_index_put(np.add.at) — the same code
    path the cuda backend takes with cupyx.scatter_add — serves scatter_add,
    index_add, index_put(accumulate=True) and the backward of max-pool and embedding,
    with the cpu backend's results and linear memory."""
    calls = []

    def add_at(a, key, v):
        calls.append(a.dtype)
        np.add.at(a, key, v)

    dev = "kitaddat2"
    _kit_with_add_at(add_at, dev)
    try:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((4, 6)).astype(np.float32)
        idx = np.array([[0, 5, 5, -1, 0, 2]] * 4)
        src = rng.standard_normal((4, 6)).astype(np.float32)

        def both(f):
            outs = [f(lambda a, d=d: ember.tensor(a, device=d)) for d in ("cpu", dev)]
            np.testing.assert_allclose(outs[1].cpu().numpy(), outs[0].cpu().numpy(),
                                       rtol=1e-6, atol=1e-6)
        both(lambda t: ember.scatter_add(t(x), 1, t(idx % 6), t(src)))
        both(lambda t: ember.index_add(t(x), 1, t(idx[0] % 6), t(src), alpha=2))
        both(lambda t: ember.index_put(t(x), (t(np.array([0, 0, 3])),), t(src[:3]),
                                       accumulate=True))
        n_calls = len(calls)
        assert n_calls >= 3 and set(calls) == {np.dtype(np.float32)}

        def pool_grad(t):
            a = t(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
            a.requires_grad_(True)
            (ember.nn.functional.max_pool2d(a, 2) * 1.0).sum().backward()
            return a.grad
        grad = pool_grad(lambda a: ember.tensor(a, device=dev))
        assert float(grad.sum().item()) == 2 * 3 * 4 * 4 and len(calls) > n_calls
        # linear memory: 4x the input, about 4x the peak (one-hot masks grow 16x)
        small, large = (peak_bytes(lambda n=n: pool_grad(lambda a: ember.tensor(
            np.tile(a, (1, 1, n, n)), device=dev))) for n in (4, 8))
        assert large < 6 * small, (small, large)
        # writes without accumulate, and bools, take the kit's own path
        before = len(calls)
        both(lambda t: ember.index_put(t(x), (t(np.array([1, 1])),), t(src[:2])))
        mask = np.zeros((4, 6), bool)
        both(lambda t: ember.index_put(t(mask), (t(np.array([1, 1])),),
                                       t(np.ones((2, 6), bool)), accumulate=True))
        assert len(calls) == before + 1  # the bool write is offered to add_at once
    finally:
        ember.plugins.unregister(dev)


def test_kit_library_scatter_refusing_a_dtype_falls_back():
    def add_at(a, key, v):
        raise TypeError(f"scatter_add does not support {a.dtype}")

    dev = "kitaddat3"
    _kit_with_add_at(add_at, dev)
    try:
        got = ember.index_add(ember.zeros(3, dtype=ember.int8, device=dev), 0,
                              ember.tensor(np.array([0, 2, 2]), device=dev),
                              ember.ones(3, dtype=ember.int8, device=dev))
        assert got.cpu().numpy().tolist() == [1, 0, 2]
    finally:
        ember.plugins.unregister(dev)


@pytest.mark.torch
def test_kit_fast_form_of_a_vendors_implementation_calls_the_librarys_function():
    """fast(torch.lt, 2) on an implementations= entry: the kernel calls torch's own
    function on the common path (not array_api_compat's wrapper), the entry for the
    rest (a number operand, bool), with the same results."""
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as xt

    from ember.kit import fast
    seen = []

    def lt_lib(a, b):
        seen.append("lib")
        return torch.lt(a, b)

    @fast(lt_lib, 2)
    def lt(ns, a, b):
        seen.append("entry")
        return ns.xp.less(*ns.operands(a, b))

    b = ArrayAPIBackend(xt, device_type="kitfastlt", implementations={"lt": lt})
    seen.clear()  # (the kit asked torch.lt once what it does with bool: it keeps it)
    x = b.from_host(np.array([1.0, 2.0, 3.0], np.float32))
    y = b.from_host(np.array([2.0, 2.0, 2.0], np.float32))
    assert b.to_host(b.kernels["lt"](x, y)).tolist() == [True, False, False]
    assert seen == ["lib"]
    assert b.to_host(b.kernels["lt"](x, 2.0)).tolist() == [True, False, False]
    t = b.from_host(np.array([True, False]))
    assert b.to_host(b.kernels["lt"](t, t)).tolist() == [False, False]
    assert seen == ["lib"] * 3  # a number operand and bools too: torch.lt keeps bool
    assert b.to_host(b.kernels["lt"](2.0, x)).tolist() == [False, False, True]
    assert b.kernels["lt"].library(x.x, y.x).tolist() == [True, False, False]
    assert seen[-1] == "entry"  # the entry itself stays reachable as the library kernel
