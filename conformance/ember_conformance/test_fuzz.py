"""Differential fuzzing (``--ember-fuzz N``, ``ember conformance --fuzz N``): N random
inputs per op on the device against the cpu backend (``fuzz.py``).  Selected only in a
fuzzing run, which runs nothing else."""

from __future__ import annotations

import pytest

import ember
from ember.errors import NotImplementedForDevice

from . import opdb
from ._context import begin, unsupported_at_runtime
from .fuzz import FuzzFailure, fuzz_op

CASES = sorted(e.name for e in opdb.entries())


@pytest.mark.parametrize("op", CASES)
def test_fuzz(ember_device, op, request, ember_strict):
    examples = request.config.getoption("--ember-fuzz")
    seed = request.config.getoption("--ember-seed")
    begin(request, ember_device, op, None, "fuzz", ember_strict)
    if not ember.is_available("cpu"):
        pytest.skip("unsupported: fuzzing compares with the cpu backend, not installed")
    try:
        ran = fuzz_op(opdb.entry(op), ember_device, examples, seed)
    except NotImplementedForDevice as e:
        unsupported_at_runtime(op, ember_device, e, ember_strict)
    except FuzzFailure as e:
        pytest.fail(f"{e.args[0]}\n(minimal example; reproduce with `ember conformance --device "
                    f"{ember_device} --fuzz {examples} --seed {seed} -k 'test_fuzz and "
                    f"{op}'`)", pytrace=False)
    request.node.user_properties.append(("ember_fuzz_examples", ran))
    if not ran:
        pytest.skip(f"n/a: no drawn input of {op}() the schema accepts")
