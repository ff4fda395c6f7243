"""Collecting outcomes and writing the reports: JSON, the op x dtype coverage table and
the one-line summary.  (JUnit XML comes from pytest's ``--junitxml``.)

Each op-level test records ``ember_device``, ``ember_op``, ``ember_dtype``,
``ember_check`` and, when it ran, ``ember_impl`` (``native``, ``decomposition`` or
``cpu_fallback``, from ``ember.dispatch.how_implemented``) as user properties.  A cell
of the table is ``failing`` if any check of that op and dtype failed, else how the op
is implemented if any check ran, else ``unsupported`` or ``n/a`` (the op's schema
refuses the dtype).  A failing check listed in a baseline file (``--ember-baseline``)
is ``known`` instead of ``failing``; a listed check that passes is reported so the
file can shrink.  The cost check adds ``ember_cost`` (host overhead and memory).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

__all__ = ["Recorder", "CELL_SYMBOLS", "coverage_table", "summary_line"]

#: cell status -> symbol in the text table
CELL_SYMBOLS = {"native": "N", "decomposition": "D", "cpu_fallback": "F",
                "unsupported": "-", "failing": "X", "known": "x", "n/a": "."}
_ORDER = ("failing", "known", "native", "decomposition", "cpu_fallback", "unsupported", "n/a")
_DTYPE_ORDER = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16",
                "int8", "uint8", "bool", "complex64", "complex128")
_SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16",
          "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
          "bool": "bool", "complex64": "c64", "complex128": "c128"}


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
        # device -> op -> the cost check's figures
        self.cost: dict = defaultdict(dict)
        # baseline entries whose check passed: (device, op, dtype, check, reason)
        self.now_passing: list = []

    def pytest_runtest_logreport(self, report) -> None:
        props = dict(report.user_properties)
        device = props.get("ember_device")
        if device is None:
            return
        if report.when == "call" and "ember_cost" in props and "ember_op" in props:
            self.cost[device][props["ember_op"]] = json.loads(props["ember_cost"])
        if report.when == "call" and report.passed and "ember_baseline" in props:
            self.now_passing.append((device, props.get("ember_op", "-"),
                                     props.get("ember_dtype", "-"),
                                     props.get("ember_check", report.nodeid),
                                     props["ember_baseline"]))
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
        for device, costs in self.cost.items():
            out.setdefault(device, {"ops": {}, "contracts": [], "summary": {"ops": 0}})
            out[device]["cost"] = dict(sorted(costs.items()))
        for device, op, dtype, check, reason in self.now_passing:
            out.setdefault(device, {"ops": {}, "contracts": [], "summary": {"ops": 0}})
            out[device].setdefault("baseline_now_passing", []).append(
                {"op": op, "dtype": dtype, "check": check, "reason": reason})
        for device, dev in out.items():
            dev["summary"]["baseline_now_passing"] = len(dev.get("baseline_now_passing", []))
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
                    f.write(coverage_table(device, data[device],
                                           cost=bool(data[device].get("cost"))) + "\n")
                    f.write(summary_line(device, data[device]) + "\n\n")
        tr.section("ember conformance")
        for device in sorted(data):
            if self.config.getoption("--ember-table", False):
                tr.write_line(coverage_table(device, data[device],
                                             cost=self.config.getoption("--ember-cost", False)))
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
            for e in data[device].get("baseline_now_passing", []):
                tr.write_line(f"NOW PASSING {device} {e['op']} {e['dtype']} [{e['check']}]: "
                              f"remove it from the baseline ({e['reason']})")
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
    if getattr(report, "wasxfail", None) is not None and "ember_baseline" in props:
        return "known", f"{report.wasxfail}: {props.get('ember_failure', '')}".strip()
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


def coverage_table(device: str, data: dict, cost: bool = False) -> str:
    """The op x dtype table of one device (symbols in ``CELL_SYMBOLS``); with ``cost``,
    three more columns: microseconds per call on the device and on the CPU backend, and
    the largest peak memory of the cost check over its inputs+outputs+gradients bytes."""
    ops = data.get("ops", {})
    costs = data.get("cost", {}) if cost else {}
    dtypes = [d for d in _DTYPE_ORDER if any(d in row for row in ops.values())]
    width = max([len(op) for op in ops] + [10])
    head = f"{'op':<{width}} " + " ".join(f"{_SHORT[d]:>4}" for d in dtypes)
    if cost:
        head += f" {'us/call':>8} {'cpu us':>8} {'mem/io':>6}"
    lines = [f"coverage on {device}: " + ", ".join(f"{s} {n}" for n, s in CELL_SYMBOLS.items()),
             head, "-" * len(head)]
    for op in sorted(ops):
        row = ops[op]
        cells = [CELL_SYMBOLS[row[d]["status"]] if d in row else " " for d in dtypes]
        line = f"{op:<{width}} " + " ".join(f"{c:>4}" for c in cells)
        if cost:
            c = costs.get(op, {})
            ratio = max((m["peak_bytes"] / m["io_bytes"] for m in c.get("memory", [])
                         if m["io_bytes"]), default=None)
            line += f" {_num(c.get('us_per_call')):>8} {_num(c.get('cpu_us_per_call')):>8}" \
                    f" {_num(ratio):>6}"
        lines.append(line)
    for c in data.get("contracts", []):
        lines.append(f"contract {c['check']}: {c['status']}"
                     + (f" ({c['message'][:120]})" if c["message"] else ""))
    return "\n".join(lines)


def _num(v) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def summary_line(device: str, data: dict) -> str:
    """One line: ops, cells by status, contract failures, PASS or FAIL."""
    s = data.get("summary", {})
    failing = s.get("failing", 0) + s.get("contract_failing", 0)
    contracts = data.get("contracts", [])
    passed_contracts = sum(1 for c in contracts if c["status"] == "passed")
    baseline = ""
    if s.get("known", 0) or s.get("baseline_now_passing", 0):
        baseline = (f", {s.get('known', 0)} known failing (baseline), "
                    f"{s.get('baseline_now_passing', 0)} baseline entries now passing")
    return (f"ember-conformance {device}: {s.get('ops', 0)} ops, "
            f"{s.get('native', 0)} native, {s.get('decomposition', 0)} via decomposition, "
            f"{s.get('cpu_fallback', 0)} via CPU fallback, {s.get('unsupported', 0)} "
            f"unsupported, {s.get('failing', 0)} failing op x dtype cells{baseline}; "
            f"contracts {passed_contracts}/{len(contracts)} passed — "
            f"{'FAIL' if failing else 'PASS'}")
