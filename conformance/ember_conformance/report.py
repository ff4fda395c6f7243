"""Collecting outcomes and writing the reports: JSON, the op x dtype coverage table and
the one-line summary.  (JUnit XML comes from pytest's ``--junitxml``.)

Each op-level test records ``ember_device``, ``ember_op``, ``ember_dtype``,
``ember_check`` and, when it ran, ``ember_impl`` (``native``, ``decomposition`` or
``cpu_fallback``, from ``ember.dispatch.how_implemented``) as user properties.  A cell
of the table is ``failing`` if any check of that op and dtype failed, else how the op
is implemented if any check ran, else ``unsupported`` or ``n/a`` (the op's schema
refuses the dtype).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

__all__ = ["Recorder", "CELL_SYMBOLS", "coverage_table", "summary_line"]

#: cell status -> symbol in the text table
CELL_SYMBOLS = {"native": "N", "decomposition": "D", "cpu_fallback": "F",
                "unsupported": "-", "failing": "X", "n/a": "."}
_ORDER = ("failing", "native", "decomposition", "cpu_fallback", "unsupported", "n/a")
_DTYPE_ORDER = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16",
                "int8", "uint8", "bool")
_SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16",
          "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
          "bool": "bool"}


class Recorder:
    """pytest hooks gathering outcomes of the suite's tests."""

    def __init__(self, config) -> None:
        self.config = config
        # device -> op -> dtype -> {check: (status, message)}
        self.cells: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
        # device -> [(test, status, message)] for contract checks (memory, RNG, ...)
        self.contracts: dict = defaultdict(list)
        self.failed = 0
        # (device, op, dtype) -> how the op ran (native, decomposition, cpu_fallback)
        self.impl: dict = {}

    def pytest_runtest_logreport(self, report) -> None:
        props = dict(report.user_properties)
        device = props.get("ember_device")
        if device is None:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            status, message = _status(report, props)
            if status == "failing":
                self.failed += 1
            op = props.get("ember_op")
            if op is None:
                self.contracts[device].append((props.get("ember_check", report.nodeid),
                                               status, message))
            else:
                dtype = props.get("ember_dtype", "-")
                self.cells[device][op][dtype][props.get("ember_check", "forward")] = (
                    status, message)
                if "ember_impl" in props:
                    self.impl[(device, op, dtype)] = props["ember_impl"]

    # -- results ---------------------------------------------------------------------------
    def cell(self, device: str, op: str, dtype: str) -> str:
        checks = self.cells[device][op].get(dtype)
        if not checks:
            return "n/a"
        statuses = {s for s, _ in checks.values()}
        for s in _ORDER:
            if s in statuses:
                return s
        return "n/a"

    def as_json(self) -> dict:
        out = {}
        for device, ops in self.cells.items():
            dev = out[device] = {"ops": {}, "contracts": [], "summary": {}}
            counts: dict = defaultdict(int)
            for op, dtypes in sorted(ops.items()):
                row = dev["ops"][op] = {}
                for dtype, checks in dtypes.items():
                    status = self.cell(device, op, dtype)
                    counts[status] += 1
                    row[dtype] = {"status": status, "checks": {
                        c: {"status": s, "message": m} for c, (s, m) in checks.items()}}
                    if (device, op, dtype) in self.impl:
                        row[dtype]["impl"] = self.impl[(device, op, dtype)]
            for name, status, message in self.contracts.get(device, []):
                dev["contracts"].append({"check": name, "status": status, "message": message})
                if status == "failing":
                    counts["contract_failing"] += 1
            dev["summary"] = dict(counts, ops=len(ops))
        for device, items in self.contracts.items():
            if device not in out:
                out[device] = {"ops": {}, "summary": {"ops": 0}, "contracts": [
                    {"check": n, "status": s, "message": m} for n, s, m in items]}
                out[device]["summary"]["contract_failing"] = sum(
                    1 for _, s, _ in items if s == "failing")
        for device, dev in out.items():
            dev["backend"] = _describe_backend(device)
        return out

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.cells and not self.contracts:
            return
        data = self.as_json()
        tr = terminalreporter
        report_dir = self.config.getoption("--ember-report", None)
        if report_dir:
            os.makedirs(report_dir, exist_ok=True)
            with open(os.path.join(report_dir, "report.json"), "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            with open(os.path.join(report_dir, "coverage.txt"), "w") as f:
                for device in sorted(data):
                    f.write(coverage_table(device, data[device]) + "\n")
                    f.write(summary_line(device, data[device]) + "\n\n")
        tr.section("ember conformance")
        for device in sorted(data):
            if self.config.getoption("--ember-table", False):
                tr.write_line(coverage_table(device, data[device]))
            if report_dir:
                tr.write_line(f"coverage table: {os.path.join(report_dir, 'coverage.txt')}")
            failing = [(op, dt, c, m) for op, row in data[device]["ops"].items()
                       for dt, cell in row.items() for c, ck in cell["checks"].items()
                       for m in [ck["message"]] if ck["status"] == "failing"]
            for op, dt, check, message in failing[:20]:
                tr.write_line(f"FAILING {device} {op} {dt} [{check}]: {message[:300]}")
            if len(failing) > 20:
                tr.write_line(f"... and {len(failing) - 20} more failing checks (see the report)")
            for c in data[device]["contracts"]:
                if c["status"] == "failing":
                    tr.write_line(f"FAILING {device} contract [{c['check']}]: "
                                  f"{c['message'][:300]}")
            tr.write_line(summary_line(device, data[device]))


def _describe_backend(device: str) -> dict:
    """Which ember and which runtime produced a device's results."""
    import platform

    import ember
    try:
        from ember.device import get_backend
        b = get_backend(ember.device(device).type)
        name, lines = b.name, b.describe()
    except Exception as e:  # an unavailable device is reported, not described
        name, lines = f"unavailable: {e}", []
    from . import __version__
    return {"ember": ember.__version__, "ember_conformance": __version__, "runtime": name,
            "describe": lines, "python": platform.python_version()}


def _status(report, props) -> tuple[str, str]:
    if report.passed:
        if props.get("ember_op") is None:
            return "passed", ""
        return props.get("ember_impl", "native"), ""
    if report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        kind = "n/a" if reason.startswith("n/a") else "unsupported"
        return kind, reason
    text = getattr(report, "longreprtext", "") or str(report.longrepr)
    lines = [ln[2:] if ln.startswith("E ") else ln for ln in text.splitlines()
             if ln.startswith("E ")]
    # pytest.fail(..., pytrace=False) gives the message itself; assertions give "E" lines
    return "failing", "\n".join(lines).strip() or text.strip()


def coverage_table(device: str, data: dict) -> str:
    """The op x dtype table of one device (symbols in ``CELL_SYMBOLS``)."""
    ops = data.get("ops", {})
    dtypes = [d for d in _DTYPE_ORDER if any(d in row for row in ops.values())]
    width = max([len(op) for op in ops] + [10])
    head = f"{'op':<{width}} " + " ".join(f"{_SHORT[d]:>4}" for d in dtypes)
    lines = [f"coverage on {device}: " + ", ".join(f"{s} {n}" for n, s in CELL_SYMBOLS.items()),
             head, "-" * len(head)]
    for op in sorted(ops):
        row = ops[op]
        cells = [CELL_SYMBOLS[row[d]["status"]] if d in row else " " for d in dtypes]
        lines.append(f"{op:<{width}} " + " ".join(f"{c:>4}" for c in cells))
    for c in data.get("contracts", []):
        lines.append(f"contract {c['check']}: {c['status']}"
                     + (f" ({c['message'][:120]})" if c["message"] else ""))
    return "\n".join(lines)


def summary_line(device: str, data: dict) -> str:
    """One line: ops, cells by status, contract failures, PASS or FAIL."""
    s = data.get("summary", {})
    failing = s.get("failing", 0) + s.get("contract_failing", 0)
    contracts = data.get("contracts", [])
    passed_contracts = sum(1 for c in contracts if c["status"] == "passed")
    return (f"ember-conformance {device}: {s.get('ops', 0)} ops, "
            f"{s.get('native', 0)} native, {s.get('decomposition', 0)} via decomposition, "
            f"{s.get('cpu_fallback', 0)} via CPU fallback, {s.get('unsupported', 0)} "
            f"unsupported, {s.get('failing', 0)} failing op x dtype cells; contracts "
            f"{passed_contracts}/{len(contracts)} passed — "
            f"{'FAIL' if failing else 'PASS'}")
