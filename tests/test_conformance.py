"""ember-conformance itself: the op database covers the registry, comparisons fail with
clear messages, the harness catches a wrong result, reports and the CLI behave."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
    ran, failures = forward(good, "cpu", "float64")
    assert ran >= 5 and not failures, failures
    wrong = opdb.OpEntry("add", good.samples, lambda a, b, alpha=1: a - b)
    ran, failures = forward(wrong, "cpu", "float64")
    assert failures and all(f.startswith("add() on cpu, dtype float64, input (") for f in failures)
    assert any("elements differ" in f for f in failures)


def test_forward_checks_the_schemas_dtype():
    # A reference is cast to the schema's dtype; a kernel returning another dtype fails.
    entry = opdb.entry("sum")
    ran, failures = forward(entry, "cpu", "int32")
    assert ran and not failures, failures


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
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[3:]
            if line and not line.startswith("contract")}
    assert rows["add"][:3] == ["N", "-"] or rows["add"][0] == "N"
    assert "X" in rows["exp"] and "D" in rows["mean"] and "." in rows["mean"]
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


@pytest.mark.skipif(not ember.is_available("reference"), reason="ember-reference is not installed")
def test_unsupported_dtypes_are_reported_not_failed(tmp_path):
    proc = _cli("--device", "reference", "--report", str(tmp_path), "-k",
                "test_forward and (add- or exp-) and (float16 or float32)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    data = json.loads((tmp_path / "report.json").read_text())["reference"]
    assert data["ops"]["add"]["float16"]["status"] == "unsupported"
    assert data["ops"]["add"]["float32"]["status"] == "native"
    assert "unsupported" in data["ops"]["add"]["float16"]["checks"]["forward"]["message"]


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
