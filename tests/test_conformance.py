"""ember-conformance itself: the op database covers the registry, comparisons fail with
clear messages, the harness catches a wrong result, reports and the CLI behave."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.schema import registry

pytest.importorskip("ember_conformance")
from ember_conformance import opdb
from ember_conformance.harness import compare, forward
from ember_conformance.report import coverage_table, summary_line
from ember_conformance.samples import Sample, T
from ember_conformance.tolerances import TOLERANCES, tolerance


def test_every_registry_op_has_an_entry():
    missing = opdb.missing()
    assert not missing, f"ops without an entry in ember_conformance.opdb: {missing}"
    assert {e.name for e in opdb.entries()} == set(registry)


def test_generated_entries_follow_tags():
    add = opdb.entry("add")
    assert add.ref is opdb.POINTWISE_REFS["add"]
    samples = add.samples("float32", np.random.default_rng(0))
    notes = {s.note for s in samples}
    assert {"broadcast", "0-d with 1-d", "empty", "Python number"} <= notes
    assert any(t.layout == "transposed" for s in samples for t in s.tensors())
    assert any(np.isnan(t.array).any() for s in samples for t in s.tensors())
    inplace = opdb.entry("add_")
    for s in inplace.samples("float32", np.random.default_rng(0)):
        assert isinstance(s.args[0], T)  # the target is a tensor of the result's shape
        shapes = [t.array.shape for t in s.tensors()]
        assert np.broadcast_shapes(*shapes) == s.args[0].array.shape


def test_tolerances_are_per_dtype():
    assert tolerance(ember.float32) == TOLERANCES["float32"]
    assert tolerance(ember.int64) == (0.0, 0.0) and tolerance(ember.bool) == (0.0, 0.0)
    r16, a16 = tolerance(ember.float16, 4.0)
    assert (r16, a16) == (TOLERANCES["float16"][0] * 4, TOLERANCES["float16"][1] * 4)
    assert tolerance(ember.bfloat16)[0] > tolerance(ember.float16)[0] > tolerance(
        ember.float32)[0] > tolerance(ember.float64)[0]


def test_compare_explains_mismatches():
    exp = np.array([[1.0, 2.0], [np.nan, np.inf]], np.float32)
    assert compare(exp.copy(), exp, ember.float32) is None  # NaN matches NaN
    bad = exp.copy()
    bad[0, 1] = 2.5
    msg = compare(bad, exp, ember.float32)
    assert "1 of 4 elements differ" in msg and "[0, 1]" in msg and "2.5" in msg
    flipped = exp.copy()
    flipped[1, 1] = -np.inf
    assert "worst at index [1, 1]" in compare(flipped, exp, ember.float32)
    assert "shape [2]" in compare(np.zeros(2), np.zeros(3), ember.float64)
    assert "(exact)" in compare(np.array([1, 2]), np.array([1, 3]), ember.int64)
    close = exp + np.float32(1e-7)
    assert compare(close, exp, ember.float32) is None


def test_sample_builds_non_contiguous_tensors():
    host = np.arange(12, dtype=np.float32).reshape(3, 4)
    s = Sample(T(host, "transposed"), 2)
    (t, two), _ = s.on("cpu")
    assert two == 2
    np.testing.assert_array_equal(t.numpy(), host)
    assert not t.numpy().flags.c_contiguous
    assert "float32[3, 4] transposed" in s.describe()


def test_forward_catches_a_wrong_result():
    good = opdb.entry("add")
    ran, failures, _ = forward(good, "cpu", "float64")
    assert ran >= 5 and not failures, failures
    wrong = opdb.OpEntry("add", good.samples, lambda a, b, alpha=1: a - b)
    ran, failures, _ = forward(wrong, "cpu", "float64")
    assert failures and all(f.startswith("add() on cpu, dtype float64, input (") for f in failures)
    assert any("elements differ" in f for f in failures)


def test_forward_checks_the_schemas_dtype():
    # A reference is cast to the schema's dtype (sum of int32 is int64, as PyTorch's) ...
    entry = opdb.entry("sum")
    ran, failures, _ = forward(entry, "cpu", "int32")
    assert ran and not failures, failures
    # ... and a result in another dtype fails, whatever its values.
    wrong = opdb.OpEntry("sum", entry.samples, entry.ref,
                         fn=lambda *a, **k: ember.sum(*a, **k).to(ember.int32))
    ran, failures, _ = forward(wrong, "cpu", "int32")
    assert ran and len(failures) == ran, failures
    assert all("dtype int32, the schema promises int64" in f for f in failures)


def test_only_the_schema_refusing_a_sample_makes_it_not_applicable():
    from ember_conformance.harness import refusal
    # refused by the shape rule on the meta device (no backend kernel runs there)
    assert "OpError" in refusal(lambda dev: ember.ones(2, 3, device=dev) + ember.ones(
        4, device=dev))
    assert refusal(lambda dev: ember.ones(2, 3, device=dev) + 1) is None
    # a shape that depends on values the meta device lacks is not a refusal
    assert refusal(lambda dev: ember.nonzero(ember.ones(3, device=dev))) is None
    # an error raised by the op on the device after the schema accepted it fails
    entry = opdb.entry("exp")

    def kernel_bug(x):  # what a backend kernel raising would look like on the device
        if x.device.type == "meta":
            return ember.exp(x)
        raise ValueError("kernel bug")
    crashing = opdb.OpEntry("exp", entry.samples, entry.ref, fn=kernel_bug)
    ran, failures, refused = forward(crashing, "cpu", "float32")
    assert ran == 0 and refused == 0 and failures
    assert all("raised ValueError: kernel bug" in f for f in failures)
    # exp() of an integer tensor computes in float (it is applicable); the int → float
    # samples all run
    assert forward(entry, "cpu", "int64")[0] > 0


def _fake_request():
    class Node:
        user_properties: list = []

    class Request:
        node = Node()
    return Request()


def test_strict_fails_a_check_where_no_sample_ran():
    from ember_conformance._context import run_checks
    from ember_conformance.harness import Outcome
    for strict in (False, True):
        with pytest.raises(pytest.skip.Exception):  # every sample refused: n/a
            run_checks(_fake_request(), "cpu", "add", "float32", "forward", strict,
                       lambda e, d, t: Outcome(0, [], 3), "n/a: refused")
    with pytest.raises(pytest.skip.Exception):
        run_checks(_fake_request(), "cpu", "add", "float32", "forward", False,
                   lambda e, d, t: Outcome(0, [], 0), "n/a: nothing ran")
    with pytest.raises(pytest.fail.Exception, match="no sample ran"):
        run_checks(_fake_request(), "cpu", "add", "float32", "forward", True,
                   lambda e, d, t: Outcome(0, [], 0), "n/a: nothing ran")
    # a checker returning the older (ran, failures) pair still works
    run_checks(_fake_request(), "cpu", "add", "float32", "forward", True,
               lambda e, d, t: (2, []), "n/a")


def test_report_table_and_summary():
    data = {"ops": {"add": {"float32": {"status": "native", "checks": {}},
                            "float16": {"status": "unsupported", "checks": {}}},
                    "mean": {"float32": {"status": "decomposition", "checks": {}},
                             "int64": {"status": "n/a", "checks": {}}},
                    "exp": {"float32": {"status": "failing", "checks": {}}}},
            "contracts": [{"check": "synchronize", "status": "passed", "message": ""}],
            "summary": {"ops": 3, "native": 1, "decomposition": 1, "unsupported": 1,
                        "failing": 1, "n/a": 1}}
    table = coverage_table("xdev", data)
    lines = table.splitlines()
    head = lines[1].split()
    assert head == ["op", "f32", "f16", "i64"]
    # cells by column (a blank cell is a column of spaces, so split() cannot be used)
    starts = [lines[1].index(h) for h in head[1:]]
    rows = {line.split()[0]: [line[i:i + 4].strip() for i in starts]
            for line in lines[3:] if line and not line.startswith("contract")}
    assert rows == {"add": ["N", "-", ""], "mean": ["D", "", "."], "exp": ["X", "", ""]}
    data["cost"] = {"add": {"us_per_call": 12.34, "cpu_us_per_call": 2.5,
                            "memory": [{"peak_bytes": 300, "io_bytes": 100}]}}
    with_cost = coverage_table("xdev", data, cost=True).splitlines()
    assert with_cost[1].split()[-4:] == ["us/call", "cpu", "us", "mem/io"]
    assert with_cost[3].split() == ["add", "N", "-", "12.3", "2.5", "3.0"]
    assert with_cost[4].split()[-3:] == ["-", "-", "-"]  # mean: no cost measured
    line = summary_line("xdev", data)
    assert line.startswith("ember-conformance xdev: 3 ops") and line.endswith("FAIL")
    assert "contracts 1/1 passed" in line
    data["summary"]["failing"] = 0
    assert summary_line("xdev", data).endswith("PASS")


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ember", "conformance", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_cli_runs_and_reports(tmp_path):
    proc = _cli("--device", "cpu", "--report", str(tmp_path / "r"), "-k",
                "every_op or synchronize or (test_forward and neg and float32)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "ember-conformance cpu:" in proc.stdout and "PASS" in proc.stdout
    for name in ("junit.xml", "report.json", "coverage.txt"):
        assert (tmp_path / "r" / name).exists()
    data = json.loads((tmp_path / "r" / "report.json").read_text())["cpu"]
    assert data["ops"]["neg"]["float32"]["status"] == "native"
    assert "ember_op" in (tmp_path / "r" / "junit.xml").read_text()


def test_cli_fails_on_an_unknown_device(tmp_path):
    proc = _cli("--device", "nosuchdevice", "-k", "synchronize", cwd=tmp_path)
    assert proc.returncode != 0
    assert "nosuchdevice" in proc.stdout


def test_unsupported_dtypes_are_reported_not_failed():
    # (the reference backend stores float16 now; a kit backend over array-api-strict
    # without ember.kit.half_storage still lacks it)
    array_api_strict = pytest.importorskip("array_api_strict")
    from ember.kit import ArrayAPIBackend
    from ember_conformance.harness import unsupported_reason

    class Plugin:
        EMBER_PLUGIN_API = "1.0"

        @ember.hookimpl
        def ember_backend_create(self):
            return ArrayAPIBackend(array_api_strict, device_type="halfless")
    ember.plugins.register(Plugin(), name="halfless")
    try:
        why = unsupported_reason("halfless", "add", "float16")
        assert why == "the backend does not support dtype float16"
        assert unsupported_reason("halfless", "add", "float32") is None
    finally:
        ember.plugins.unregister("halfless")


def test_pytest_plugin_is_registered():
    import importlib.metadata
    eps = importlib.metadata.entry_points(group="pytest11")
    assert any(ep.value == "ember_conformance.plugin" for ep in eps)
    assert os.path.exists(os.path.join(os.path.dirname(opdb.__file__), "test_ops.py"))


def test_promotion_rules_match_pytorch():
    torch = pytest.importorskip("torch")
    from ember_conformance.promotion import DTYPES, result_type

    def make(kind, name):
        d = getattr(torch, name)
        return torch.ones(2, dtype=d) if kind == "tensor" else torch.tensor(1, dtype=d)

    for a in DTYPES:
        for b in DTYPES:
            for ka in ("tensor", "0d"):
                for kb in ("tensor", "0d"):
                    want = str(torch.result_type(make(ka, a), make(kb, b)))
                    assert want == f"torch.{result_type([(ka, a), (kb, b)])}", (ka, a, kb, b)
        for number in (True, 2, 1.5):
            want = str(torch.result_type(make("tensor", a), number))
            assert want == f"torch.{result_type([('tensor', a), number])}", (a, number)


# --- mutation tests: backends broken on purpose fail exactly the cells they should ------------
#
# Each mutant is the CPU backend (real numpy kernels) under another device type with one
# kernel replaced.  A spy — the same backend with that kernel only recording who calls
# it — says which cells reach the kernel; the mutant must fail exactly those (the ones
# its defect shows in) and pass every other.

from contextlib import contextmanager  # noqa: E402

from ember.memory import Allocator  # noqa: E402

ember_cpu = pytest.importorskip("ember_cpu")
from ember_cpu.backend import CPUBackend  # noqa: E402
from ember_conformance.harness import differentiable, gradients  # noqa: E402


class _Mutant(CPUBackend):
    device_type = "mutant"
    name = "numpy with one kernel changed on purpose"

    def __init__(self, changes: dict) -> None:
        super().__init__()
        self.kernels.update(changes)

    def create_allocator(self, index):
        return Allocator("mutant", None)


class _MutantPlugin:
    EMBER_PLUGIN_API = "1.0"

    def __init__(self, changes: dict) -> None:
        self.changes = changes

    @ember.hookimpl
    def ember_backend_create(self):
        return _Mutant(self.changes)


@contextmanager
def _mutant(**changes):
    ember.plugins.register(_MutantPlugin(changes), name="mutant")
    try:
        yield "mutant"
    finally:
        ember.plugins.unregister("mutant")


class _Spy:
    """A kernel that records which cell of a sweep called it."""

    def __init__(self, kernel) -> None:
        self.kernel, self.cells, self.current = kernel, set(), None

    def __call__(self, *args, **kwargs):
        self.cells.add(self.current)
        return self.kernel(*args, **kwargs)


def _cpu_kernel(name):
    return CPUBackend().kernels[name]


def _sweep(device, check, dtypes, ops=None, spy=None) -> dict:
    """``{(op, dtype): failures}`` of one check over the database (or ``ops``)."""
    failing = {}
    for entry in opdb.entries():
        if ops is not None and entry.name not in ops:
            continue
        if check == "grad" and not differentiable(entry):
            continue
        for dtype in dtypes:
            if dtype not in entry.dtypes:
                continue
            if spy is not None:
                spy.current = (entry.name, dtype)
            if check == "forward":
                failures = forward(entry, device, dtype)[1]
            elif check == "grad":
                failures = gradients(entry, device, dtype)[1]
            else:
                from ember_conformance.cost import memory_contract
                result = memory_contract(entry, device, dtype)
                failures = result[1] if result else []
            if failures:
                failing[(entry.name, dtype)] = failures
    return failing


def _reached(kernel_name, check, dtypes, ops=None) -> set:
    spy = _Spy(_cpu_kernel(kernel_name))
    with _mutant(**{kernel_name: spy}) as dev:
        assert not _sweep(dev, check, dtypes, ops, spy), "the spy changed a result"
    return spy.cells


def test_mutant_with_a_wrong_dtype_fails_exactly_its_cells():
    atan2 = _cpu_kernel("atan2")
    dtypes = ("float32", "float64", "float16")
    reached = _reached("atan2", "forward", dtypes)
    with _mutant(atan2=lambda a, b: atan2(a, b).astype(np.float64)) as dev:
        failing = _sweep(dev, "forward", dtypes)
    # float64 results are right by accident; every other cell reaching the kernel fails
    assert set(failing) == {c for c in reached if c[1] != "float64"}
    assert ("atan2", "float32") in failing
    assert any("dtype float64, the schema promises float32" in f
               for f in failing[("atan2", "float32")])


def test_mutant_with_a_wrong_shape_fails_exactly_its_cells():
    fmod = _cpu_kernel("fmod")
    dtypes = ("float32", "int64")
    reached = _reached("fmod", "forward", dtypes)
    with _mutant(fmod=lambda a, b: fmod(a, b)[None]) as dev:
        failing = _sweep(dev, "forward", dtypes)
    assert set(failing) == reached and ("fmod", "int64") in failing
    assert any("the schema promises" in f and "shape" in f for f in failing[("fmod", "int64")])


def test_mutant_with_a_crashing_backward_fails_exactly_its_cells():
    def crashing(*args):  # what dpnp says of a non-contiguous operand: a ValueError
        raise ValueError("The first input array is not c-contiguous nor f-contiguous")
    reached = _reached("_max_pool2d_with_indices_backward", "grad", ("float32",))
    assert reached
    with _mutant(_max_pool2d_with_indices_backward=crashing) as dev:
        failing = _sweep(dev, "grad", ("float32",))
    assert set(failing) == reached
    message = failing[("max_pool2d", "float32")][0]
    assert "raised ValueError: The first input array is not c-contiguous" in message


_CONTROLS = ("add", "sum", "matmul", "softmax", "index_select", "conv2d", "max_pool2d",
             "embedding", "scatter_add", "gather", "sort", "cat", "layer_norm", "relu")


def _memory_failing(kernel_name, replacement) -> tuple[set, dict]:
    """The cells reaching a kernel (forward and gradients, float32) and the memory
    contract's failures on the mutant, over those ops and some controls."""
    reached = _reached(kernel_name, "forward", ("float32",)) | \
        _reached(kernel_name, "grad", ("float32",))
    ops = {op for op, _ in reached} | set(_CONTROLS)
    with _mutant(**{kernel_name: replacement}) as dev:
        failing = _sweep(dev, "cost", ("float32",), ops)
    return reached, failing


def test_mutant_with_a_quadratic_memory_kernel_fails_exactly_its_cells():
    cumsum = _cpu_kernel("cumsum")

    def quadratic_cumsum(a, dim, dtype):  # right values, through an n x n matrix
        if a.ndim == 0:
            return cumsum(a, dim, dtype)
        x = np.moveaxis(a, dim, -1).astype(np.float64)
        n = x.shape[-1]
        out = np.moveaxis(x @ np.triu(np.ones((n, n))), -1, dim)
        return np.ascontiguousarray(out).astype(cumsum(a.reshape(-1)[:1], 0, dtype).dtype)

    reached, failing = _memory_failing("cumsum", quadratic_cumsum)
    assert ("cumsum", "float32") in failing, failing
    assert set(failing) <= reached, set(failing) - reached  # no control op fails
    assert "over the linear bound" in failing[("cumsum", "float32")][0]


def test_mutant_with_a_leaking_kernel_fails_exactly_its_cells():
    exp, kept = _cpu_kernel("exp"), []

    def leaking_exp(a):  # right values; keeps every result alive (a cache without a bound)
        out = exp(a)
        kept.append(out)
        return out

    reached, failing = _memory_failing("exp", leaking_exp)
    assert set(failing) == reached, (set(failing) ^ reached)
    assert "still allocated after every result of one call was freed" in \
        failing[("exp", "float32")][0]


def test_a_kernel_that_keeps_only_its_last_result_is_not_a_leak():
    exp, last = _cpu_kernel("exp"), []

    def exp_keeping_the_last(a):  # a cache of one: memory does not grow with the calls
        out = exp(a)
        last[:] = [out]
        return out

    reached, failing = _memory_failing("exp", exp_keeping_the_last)
    assert ("exp", "float32") in reached
    assert not failing, failing


# --- vendor CI: baselines, a device that cannot be created, the cost columns ------------------

BROKEN_PLUGIN = '''
import numpy as np

import ember
from ember.memory import Allocator
from ember_cpu.backend import CPUBackend

EMBER_PLUGIN_API = "1.0"


class Backend(CPUBackend):
    device_type = "brokendev"
    name = "numpy, with atan2 returning float64 on purpose"

    def __init__(self):
        super().__init__()
        good = self.kernels["atan2"]
        self.kernels["atan2"] = lambda a, b: good(a, b).astype(np.float64)

    def create_allocator(self, index):
        return Allocator("brokendev", None)


@ember.hookimpl
def ember_backend_create():
    return Backend()
'''

UNLOADABLE_PLUGIN = 'raise ImportError("libvendor.so.3: cannot open shared object file")\n'


def _install(tmp_path, name, source) -> str:
    """What `pip install` would write for a plugin module ``ember_<name>``: the module and
    distribution metadata with its entry point.  Returns the PYTHONPATH to use."""
    site = tmp_path / "site"
    (site / f"ember_{name}").mkdir(parents=True)
    (site / f"ember_{name}" / "__init__.py").write_text(source)
    info = site / f"ember_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: ember-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ember]\n{name} = ember_{name}\n")
    return os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])


def _cli_env(*args, cwd, pythonpath):
    env = dict(os.environ, PYTHONPATH=pythonpath)
    return subprocess.run([sys.executable, "-m", "ember", "conformance", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def test_baseline_turns_known_failures_into_known_cells_and_reports_fixed_ones(tmp_path):
    path = _install(tmp_path, "brokendev", BROKEN_PLUGIN)
    select = ["-k", "test_forward and (atan2- or neg-) and float32"]
    proc = _cli_env("--device", "brokendev", *select, cwd=tmp_path, pythonpath=path)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "FAILING brokendev atan2 float32 [forward]" in proc.stdout
    baseline = tmp_path / "known.txt"
    baseline.write_text("# device op dtype check reason\n"
                        "brokendev atan2 float32 forward  atan2 returns float64 (vendor bug 17)\n"
                        "brokendev neg   *       forward  fixed in driver 2.1\n")
    report = tmp_path / "r"
    proc = _cli_env("--device", "brokendev", *select, "--baseline", str(baseline),
                    "--report", str(report), "--table", cwd=tmp_path, pythonpath=path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    data = json.loads((report / "report.json").read_text())["brokendev"]
    cell = data["ops"]["atan2"]["float32"]
    assert cell["status"] == "known"
    assert "vendor bug 17" in cell["checks"]["forward"]["message"]
    assert "the schema promises float32" in cell["checks"]["forward"]["message"]
    assert data["baseline_now_passing"] == [
        {"op": "neg", "dtype": "float32", "check": "forward",
         "reason": f"{baseline}:3: fixed in driver 2.1"}]
    assert "NOW PASSING brokendev neg float32 [forward]" in proc.stdout
    assert "1 known failing (baseline), 1 baseline entries now passing" in proc.stdout
    assert "xfail" in (report / "junit.xml").read_text() or \
        "skipped" in (report / "junit.xml").read_text()
    bad = tmp_path / "bad.txt"
    bad.write_text("brokendev atan2 float32 forward\n")  # no reason
    proc = _cli_env("--device", "brokendev", *select, "--baseline", str(bad), cwd=tmp_path,
                    pythonpath=path)
    assert proc.returncode != 0 and "a reason is required" in proc.stdout + proc.stderr


def test_a_device_that_cannot_be_created_stops_the_run_with_its_plugins_error(tmp_path):
    path = _install(tmp_path, "vendordev", UNLOADABLE_PLUGIN)
    proc = _cli_env("--device", "vendordev", cwd=tmp_path, pythonpath=path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "cannot create the device(s) to check" in out
    assert "libvendor.so.3: cannot open shared object file" in out
    assert not re.search(r"\d+ (passed|failed|skipped)", out), out  # before any check


def test_cost_columns_in_the_report_and_the_table(tmp_path):
    report = tmp_path / "r"
    proc = _cli("--device", "cpu", "-k", "test_cost and (add or index_select)", "--table",
                "--cost", "--report", str(report), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    cost = json.loads((report / "report.json").read_text())["cpu"]["cost"]
    for op in ("add", "index_select"):
        c = cost[op]
        assert c["dtype"] == "float32" and 0 < c["us_per_call"] == c["cpu_us_per_call"]
        sizes = [m["input_elements"] for m in c["memory"]]
        assert sizes[1] >= 3 * sizes[0] and sizes[0] >= 256
        assert all(0 < m["peak_bytes"] <= m["bound_bytes"] for m in c["memory"])
    row = next(line for line in proc.stdout.splitlines() if line.startswith("index_select "))
    assert len(row.split()) == 1 + 1 + 3  # op, the float32 cell, us, cpu us, mem/io
    assert "us/call" in (report / "coverage.txt").read_text()


# --- differential fuzzing -------------------------------------------------------------------

@pytest.mark.skipif(not ember.is_available("reference"), reason="ember-reference is not installed")
def test_fuzzing_finds_a_minimal_example_reproducibly():
    pytest.importorskip("hypothesis")
    from ember_conformance.fuzz import FuzzFailure, fuzz_op
    entry = opdb.entry("abs")
    assert fuzz_op(entry, "reference", 30, seed=1) > 0  # the reference agrees with cpu

    def wrong_on_reference(x):  # NaN -> 0 on the device under test only
        y = ember.abs(x)
        if x.device.type == "reference" and x.dtype.is_floating_point:
            y = ember.where(ember.isnan(y), ember.zeros_like(y), y)
        return y
    broken = opdb.OpEntry("abs", entry.samples, entry.ref, dtypes=("float32", "float64"),
                          fn=wrong_on_reference)
    messages = []
    for _ in range(2):
        with pytest.raises(FuzzFailure) as info:
            fuzz_op(broken, "reference", 30, seed=1)
        messages.append(str(info.value))
    assert messages[0] == messages[1]  # the same seed finds the same example
    # hypothesis's minimal example: one NaN
    assert "got 0.0, expected nan" in messages[0], messages[0]
    assert messages[0].startswith("abs() on reference, dtype float")


def _benchmark(name: str):
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.torch
def test_pytorchs_kernels_meet_the_memory_contracts_bound():
    """cost.py claims PyTorch's kernels meet its linear bound: measured with PyTorch's
    allocator events (benchmarks/torch_cost_bound.py) on the ops whose kit versions
    once did not (scatters, max-pool and embedding backward) and on im2col's conv."""
    names = {"scatter_add", "index_add", "embedding", "max_pool2d", "conv2d 3x3"}
    rows = _benchmark("torch_cost_bound").measure((1024, 4096), names)
    assert {r["op"] for r in rows} == names
    for small, large in zip(rows[::2], rows[1::2], strict=True):
        assert small["peak"] > 0, f"the profiler saw no allocation for {small['op']}"
        assert small["ok"] and large["ok"], (small, large)
        # linear: 4x the input, about 4x the peak (the measurement sees growth)
        assert 3 * small["peak"] <= large["peak"] <= 5 * small["peak"], (small, large)
