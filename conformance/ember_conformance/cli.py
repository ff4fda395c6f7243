"""``ember conformance --device X [--report DIR] [-k PATTERN] [--strict]``.

A command plugin: the entry point ``conformance`` in group ``ember.cli`` (see
``pyproject.toml``) makes the ``ember`` command load this module, whose
``ember_cli_subcommands`` hook adds the subcommand; the core never imports the suite.
It runs the suite through pytest, so the result, the JUnit XML and the exit status
(non-zero on any failure) are the same as ``pytest --pyargs ember_conformance``'s.
"""

from __future__ import annotations

import argparse
import os

import ember

#: The hook ``ember_cli_subcommands`` arrived with plugin API 1.1.
EMBER_PLUGIN_API = "1.1"

__all__ = ["add_arguments", "run", "pytest_args", "ember_cli_subcommands"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", action="append", default=[], metavar="TYPE",
                        help="device type to check (repeatable; default: every installed "
                             "device type with a device)")
    parser.add_argument("--report", metavar="DIR", default=None,
                        help="write junit.xml, report.json and coverage.txt to DIR")
    parser.add_argument("-k", dest="pattern", metavar="PATTERN", default=None,
                        help="only run checks matching PATTERN (pytest -k syntax, e.g. "
                             "'matmul or memory')")
    parser.add_argument("--table", action="store_true",
                        help="print the op x dtype coverage table")
    parser.add_argument("--strict", action="store_true",
                        help="fail on primitives the backend owes (those of the plugin "
                             "API it targets) but has no kernel for, and on checks "
                             "where no sample ran")
    parser.add_argument("--cost", action="store_true",
                        help="with --table: the cost columns (us per call on the device "
                             "and on the CPU backend, peak memory over inputs+outputs)")
    parser.add_argument("--baseline", action="append", default=[], metavar="FILE",
                        help="known failing checks with reasons (DEVICE OP DTYPE CHECK "
                             "REASON per line); reported 'known', not failing")
    parser.add_argument("--fuzz", type=int, default=0, metavar="N",
                        help="differential fuzzing instead of the suite: N random inputs "
                             "per op (hypothesis), compared with the cpu backend")
    parser.add_argument("--seed", type=int, default=0,
                        help="the fuzzer's seed (the same seed draws the same inputs)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every check")
    parser.add_argument("-x", "--exitfirst", action="store_true",
                        help="stop at the first failure")


def pytest_args(args: argparse.Namespace) -> list[str]:
    """The pytest command line that runs the suite for ``args``."""
    argv = ["--pyargs", "ember_conformance", "-p", "no:cacheprovider",
            "-v" if args.verbose else "-q", "-r", "fE", "--tb=line",
            "-o", "junit_family=xunit1"]
    for d in args.device:
        argv += ["--ember-device", d]
    if args.report:
        os.makedirs(args.report, exist_ok=True)
        argv += ["--ember-report", args.report,
                 "--junitxml", os.path.join(args.report, "junit.xml")]
    if args.pattern:
        argv += ["-k", args.pattern]
    if args.strict:
        argv.append("--ember-strict")
    if getattr(args, "table", False):
        argv.append("--ember-table")
    if getattr(args, "cost", False):
        argv.append("--ember-cost")
    for path in getattr(args, "baseline", []) or []:
        argv += ["--ember-baseline", path]
    if getattr(args, "fuzz", 0):
        argv += ["--ember-fuzz", str(args.fuzz), "--ember-seed", str(args.seed)]
    if args.exitfirst:
        argv.append("-x")
    return argv


def run(args: argparse.Namespace) -> int:
    """Run the suite; the exit status is pytest's (0 only when everything passed)."""
    import pytest
    return int(pytest.main(pytest_args(args)))


@ember.hookimpl
def ember_cli_subcommands(subparsers) -> None:
    """Add ``ember conformance``."""
    parser = subparsers.add_parser("conformance",
                                   help="run the conformance suite against a device")
    add_arguments(parser)
    parser.set_defaults(run=run)
