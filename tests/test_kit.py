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

import numpy as np
import pytest

import ember
from ember.device import get_backend
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
    assert ember.float16 not in b.supported_dtypes and ember.float64 in b.supported_dtypes


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
def test_reference_refuses_dtypes_the_standard_lacks():
    with pytest.raises(TypeError, match="does not support dtype float16"):
        ember.tensor(np.zeros(2, np.float16), device="reference")


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
    assert ember.memory.memory_reserved(dev) >= before + (1 << 19)  # cached
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


# --- the suite's verdicts -------------------------------------------------------------------

def _run_suite(args, env_extra=None, cwd=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ember", "conformance", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


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
                          env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    return proc, *_failing(report, "reference")


@pytest.mark.slow
@needs_reference
def test_broken_reference_kernel_fails_exactly_that_op(tmp_path):
    (tmp_path / "break_atan2.py").write_text(BREAK_ATAN2)
    _, base_data, base_failing = _forward_run(tmp_path, "baseline")
    proc, data, failing = _forward_run(tmp_path, "broken", ["break_atan2"])
    assert proc.returncode != 0, proc.stdout[-2000:]
    # Whatever else fails today fails without the break too; the break adds atan2 only.
    new = set(failing) - set(base_failing)
    assert {op for op, _ in new} == {"atan2"}, sorted(new)
    assert {op for op, _ in base_failing} == {op for op, _ in failing} - {"atan2"}
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
    site = tmp_path / "site"
    pkg = site / "ember_tmpdev"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(NEW_BACKEND)
    # What `pip install` would write: distribution metadata with the entry point.
    info = site / "ember_tmpdev-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ember-tmpdev\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ember]\ntmpdev = ember_tmpdev\n")
    report = tmp_path / "report"
    # The kit's known defects (the reference backend's baseline, issue 13), each with its
    # reason; anything else failing fails this test.
    known = tmp_path / "known.txt"
    known.write_text("".join(
        f"tmpdev {op} float32 grad  kit index_add/index_put_ with an empty index raises "
        f"ValueError (reshape to (0,newaxis)), issue 13\n"
        for op in ("index_select", "embedding", "masked_select")))
    # Every op in float32 plus every contract (device, memory, RNG, nn, coverage); the
    # full suite runs the same way, only longer.
    proc = _run_suite(["--device", "tmpdev", "--report", str(report), "--baseline", str(known),
                       "-k", "float32 or int64 or memory or random or device or nn or every_op"],
                      env_extra={"PYTHONPATH": os.pathsep.join(
                          [str(site), os.environ.get("PYTHONPATH", "")])}, cwd=tmp_path)
    assert "ember-conformance tmpdev:" in proc.stdout, proc.stdout[-3000:]
    data, failing = _failing(report, "tmpdev")
    assert data["summary"]["native"] > 80
    assert all(c["status"] != "failing" for c in data["contracts"]), data["contracts"]
    # No failing cell: a decomposition's failure on this backend is a failure too.
    assert not failing, {k: c["checks"] for k, c in failing.items()}
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (report / "junit.xml").exists() and (report / "coverage.txt").exists()
