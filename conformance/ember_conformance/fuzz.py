"""Differential fuzzing: random inputs per op, the device under test against the cpu
backend (``ember conformance --device X --fuzz N [--seed S]``).

Inputs are drawn with hypothesis from the op-database's samples, which know each op's
argument structure: for a pointwise op every tensor gets a fresh shape from a set of
mutually broadcastable shapes (0-d and 0-size included); for other ops a sample's
tensors are tiled along their first axis 0 to 2 times (0 gives empty inputs).  Every
tensor gets a layout (contiguous, transposed, expanded: non-contiguous views; never
expanded for an op that writes into an argument) and floating values mixing ordinary
numbers with NaN, ±inf, −0.0, the dtype's largest and smallest normal values (finite
only for ``linalg_*``); integer tensors of pointwise ops mix small numbers with the
dtype's extremes (index arguments keep the database's in-range values).  A draw the
op's schema refuses on the meta device is rejected, not counted.

Both backends run each input; outputs must agree within the dtype's tolerance (as the
forward check's), and an error must happen on both or neither.  hypothesis shrinks a
failure to a minimal example, which the message shows with the seed that reproduces
it.  Draws are deterministic for a seed: the same command finds the same example.
"""

from __future__ import annotations

import zlib

import numpy as np

import ember

from .harness import _backend, _dtypes_of, compare, quiet, refusal, rng_for, to_host
from .opdb import OpEntry
from .samples import Sample, T, map_tensors

__all__ = ["fuzz_op", "FuzzFailure"]

LAYOUTS = ("contiguous", "transposed", "expanded")


class FuzzFailure(AssertionError):
    """The device and the cpu backend disagree on a drawn input."""


def _st():
    import hypothesis.extra.numpy as hnp
    import hypothesis.strategies as st
    return st, hnp


#: ops drawn with finite values only: LAPACK's iterative decompositions can loop forever
#: on NaN/inf (numpy's svd on the reference backend hangs; PyTorch raises instead)
FINITE_ONLY_PREFIX = "linalg_"


def _float_values(st, dtype, finite: bool = False):
    info = np.finfo(np.float32 if dtype.name == "bfloat16" else dtype.np)
    # the special values first: hypothesis draws early alternatives more often
    specials = [] if finite else [np.nan, np.inf, -np.inf, float(info.max), -float(info.max)]
    specials += [-0.0, float(info.tiny), 0.0, 1.0, -1.0]
    return st.one_of(st.sampled_from(specials), st.floats(-4.0, 4.0, width=32))


#: Samples with a tensor larger than this are left to the other checks: hypothesis draws
#: each value, and its buffer cannot hold the 16k values of a sample sized for the cost
#: contract (an einsum sample raised InvalidArgument "can never generate an example").
MAX_ELEMENTS = 1024


def _int_values(st, dtype):
    info = np.iinfo(dtype.np) if dtype.np != np.bool_ else None
    if info is None:
        return st.booleans()
    return st.one_of(st.sampled_from([int(info.min), int(info.max), 0]),
                     st.integers(max(info.min, -6), min(info.max, 6)))


def _array(draw, st, a: np.ndarray, shape: tuple, fuzz_values: bool,
           finite: bool = False) -> np.ndarray:
    """Values for a tensor of ``shape`` in ``a``'s dtype."""
    dt = ember.dtypes.FROM_NP[a.dtype]
    size = int(np.prod(shape))
    if not fuzz_values:
        flat = a.reshape(-1)
        return np.resize(flat, size).reshape(shape).astype(a.dtype) if flat.size else \
            np.zeros(shape, a.dtype)
    if dt.is_complex:  # each part drawn as a float of the parts' dtype
        part = ember.dtypes.to_real(dt)
        parts = draw(st.lists(_float_values(st, part, finite), min_size=2 * size,
                              max_size=2 * size))
        with quiet():
            return np.array(parts, dtype=np.float64).astype(part.np).reshape(
                (*shape, 2)).view(a.dtype)[..., 0].copy()
    elems = _float_values(st, dt, finite) if dt.is_floating_point else _int_values(st, dt)
    vals = draw(st.lists(elems, min_size=size, max_size=size))
    with quiet():
        return np.array(vals, dtype=np.float64 if dt.is_floating_point else object) \
            .astype(a.dtype).reshape(shape)


def _laid_out(draw, st, a: np.ndarray, writes: bool) -> T:
    # No expanded views for an op that writes into an argument: PyTorch refuses writing
    # where several elements share one memory location, and ember does not refuse it
    # yet (the cpu backend writes, the kit raises numpy's read-only error).
    layout = draw(st.sampled_from(LAYOUTS[:2] if writes else LAYOUTS))
    if layout == "expanded" and a.ndim >= 1 and a.shape[0] > 1:
        a = np.broadcast_to(a[:1], a.shape).copy()  # equal rows: built as expand()
    return T(a, layout)


def _examples(entry: OpEntry, device: str):
    """The hypothesis strategy of ``(dtype name, Sample)`` for one op."""
    st, hnp = _st()
    supported = _backend(device).supported_dtypes
    pointwise = "pointwise" in entry.op.tags
    writes = entry.op.is_inplace or any(a.alias == "a!" for a in entry.op.args)
    finite = entry.name.startswith(FINITE_ONLY_PREFIX)
    pool = []
    for d in entry.dtypes:
        if supported is not None and getattr(ember, d) not in supported:
            continue
        for s in entry.samples(d, rng_for(entry.name, d, "fuzz")):
            if any(t.array.size > MAX_ELEMENTS for t in s.tensors()):
                continue  # a sample sized for the cost contract: too big to draw
            if supported is None or all(x in supported for x in _dtypes_of(s)):
                pool.append((d, s))
    if not pool:
        return None

    @st.composite
    def example(draw):
        d, s = draw(st.sampled_from(pool))
        tensors = s.tensors()
        if pointwise and tensors:
            shapes = draw(hnp.mutually_broadcastable_shapes(
                num_shapes=len(tensors), min_dims=0, max_dims=3, min_side=0, max_side=4)
            ).input_shapes
        else:
            reps = draw(st.integers(0, 2))
            shapes = [((t.array.shape[0] * reps,) + t.array.shape[1:]) if t.array.ndim
                      else () for t in tensors]
        new = iter([
            _laid_out(draw, st, _array(draw, st, t.array, tuple(shape),
                                       fuzz_values=pointwise or t.array.dtype.kind == "f",
                                       finite=finite),
                      writes=writes)
            for t, shape in zip(tensors, shapes, strict=True)])
        return d, map_tensors(s, lambda t, i: next(new))
    return example()


def _call_on(entry: OpEntry, sample: Sample, device: str):
    args, kwargs = sample.on(device)
    return entry.call(*args, **kwargs)


def _run(entry: OpEntry, sample: Sample, device: str, seed: int):
    """``(outputs on the host, None)`` or ``(None, the error)``."""
    try:
        args, kwargs = sample.on(device)
        ember.manual_seed(seed)
        with quiet():
            out = entry.call(*args, **kwargs)
            if entry.op.is_inplace and args and isinstance(args[0], ember.Tensor):
                out = args[0]
            return to_host(out), None
    except Exception as e:  # compared with what the cpu backend does
        return None, e


def _disagreement(entry: OpEntry, device: str, dtype_name: str, sample: Sample,
                  seed: int) -> str | None:
    got, err = _run(entry, sample, device, seed)
    want, cpu_err = _run(entry, sample, "cpu", seed)
    if err is not None or cpu_err is not None:
        if err is not None and cpu_err is not None:
            return None  # both refuse the values (an index out of range ...)
        if err is not None:
            return f"raised {type(err).__name__}: {err} (the cpu backend did not)"
        return f"returned a result, but the cpu backend raised {type(cpu_err).__name__}: " \
               f"{cpu_err}"
    outs = list(got) if isinstance(got, (tuple, list)) else [got]
    wants = list(want) if isinstance(want, (tuple, list)) else [want]
    if len(outs) != len(wants):
        return f"{len(outs)} outputs, the cpu backend gives {len(wants)}"
    for i, (o, w) in enumerate(zip(outs, wants, strict=True)):
        where = f"output {i}: " if len(outs) > 1 else ""
        if not isinstance(o, np.ndarray):
            if o != w and not (o != o and w != w):
                return f"{where}{o!r}, the cpu backend gives {w!r}"
            continue
        if o.dtype != w.dtype:
            return f"{where}dtype {o.dtype}, the cpu backend gives {w.dtype}"
        if entry.compare == "meta" or callable(entry.compare):
            if o.shape != w.shape:
                return f"{where}shape {list(o.shape)}, the cpu backend gives {list(w.shape)}"
            continue
        msg = compare(o, w, ember.dtypes.FROM_NP[o.dtype], entry.tol)
        if msg:
            return f"{where}{msg} (expected: the cpu backend's result)"
    return None  # (an entry's own checker assumes the database's values: not called)


def fuzz_op(entry: OpEntry, device: str, examples: int, seed: int = 0) -> int:
    """Draw ``examples`` inputs for ``entry`` and compare ``device`` with the cpu
    backend; raises :class:`FuzzFailure` with hypothesis's minimal failing example.
    Returns how many inputs ran (0: the op has no sample on this device)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis.errors import Unsatisfiable
    strategy = _examples(entry, device)
    if strategy is None:
        return 0
    ran = [0]
    op_seed = seed ^ zlib.crc32(entry.name.encode())

    @hseed(op_seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              phases=(Phase.generate, Phase.shrink), print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(drawn):
        from hypothesis import assume
        dtype_name, sample = drawn
        assume(refusal(lambda dev: _call_on(entry, sample, dev)) is None)
        ran[0] += 1
        msg = _disagreement(entry, device, dtype_name, sample, op_seed)
        if msg:
            raise FuzzFailure(f"{entry.name}() on {device}, dtype {dtype_name}, input "
                              f"{sample.describe()}: {msg}")

    try:
        check()
    except Unsatisfiable:
        return ran[0]
    return ran[0]
