"""Running op-database samples on a device and comparing with the reference.

Every mismatch message names the op, the device, the dtype, the input (values when
small, shape, dtype and layout) and the mismatch (shape, dtype, or the worst element
with its index, the actual and expected values and the tolerance).
"""

from __future__ import annotations

import contextlib
import warnings
import zlib

import numpy as np

import ember
from ember.dispatch import how_implemented
from ember.errors import NotImplementedForDevice, OpError
from ember.plugin_api import too_old
from ember.schema import Spec, registry

from .opdb import OpEntry
from .samples import Sample, T
from .tolerances import tolerance

__all__ = ["Skip", "unsupported_reason", "rng_for", "forward", "gradients", "to_host",
           "compare", "quiet", "device_types", "refusal", "REFUSALS", "Outcome"]

#: the errors by which an op's shape rule or schema refuses its arguments
REFUSALS = (OpError, TypeError, ValueError, IndexError)
#: what the meta device says when a shape depends on values it lacks (nonzero, unique)
_META_BLIND = "meta tensor"


class Skip(Exception):
    """A combination that is not run: ``kind`` is ``unsupported`` or ``n/a``."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind


@contextlib.contextmanager
def quiet():
    """numpy's floating-point warnings are expected here (inf, NaN inputs)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def device_types() -> list[str]:
    """Installed device types with at least one device (the suite's default)."""
    from ember.device import backends
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bks = backends()
    out = []
    for t, b in sorted(bks.items()):
        if t == "meta":
            continue
        try:
            if b.device_count() > 0:
                out.append(t)
        except Exception:  # a broken backend is reported by `ember info`
            continue
    return out


def rng_for(*key) -> np.random.Generator:
    """A generator seeded by the test's identity: inputs are the same on every run
    and every device."""
    return np.random.default_rng(zlib.crc32("/".join(map(str, key)).encode()))


#: ``unsupported_reason`` of a primitive the backend owes and lacks (``--strict`` fails it)
NO_KERNEL = "no kernel and no decomposition"


def unsupported_reason(device: str, op: str, dtype_name: str | None) -> str | None:
    """Why ``op`` in ``dtype_name`` is not run on ``device`` (``None``: it is run).

    A primitive added to the plugin API after the version the backend targets is not
    owed (``ember.plugin_api.too_old`` says which version it needs); only one the
    backend owes gives ``NO_KERNEL``."""
    backend = _backend(device)
    if dtype_name is not None and backend.supported_dtypes is not None and \
            getattr(ember, dtype_name) not in backend.supported_dtypes:
        return f"the backend does not support dtype {dtype_name}"
    if op is not None and how_implemented(registry[op], backend.device_type) == "missing":
        return too_old(op, backend) or NO_KERNEL
    return None


def refusal(call) -> str | None:
    """Why the op's schema refuses a call, or ``None`` when it accepts it.

    ``call(device)`` builds the arguments on ``device`` and runs the op.  It runs on the
    meta device, where only shape rules, schemas and the core's decompositions execute
    and no backend kernel exists: an error there is a refusal by the op's definition,
    the same on every backend, so the combination is not applicable.  An error raised
    on the device under test after the meta device accepted the call is the backend's
    failure, never "not applicable".  When the meta device cannot tell (an output shape
    that depends on values, which meta tensors lack) the call counts as accepted.
    """
    try:
        with quiet():
            call("meta")
    except (*REFUSALS, RuntimeError) as e:  # RuntimeError: autograd's own checks
        if _META_BLIND in str(e):
            return None
        return f"{type(e).__name__}: {e}"
    return None


def _sample_refusal(entry: OpEntry, sample: Sample) -> str | None:
    def call(dev):
        args, kwargs = sample.on(dev)
        return entry.call(*args, **kwargs)
    return refusal(call)


class Outcome(tuple):
    """What a checker returns: ``(samples run, failure messages, samples refused)``.

    ``refused`` counts samples the op's schema refuses (see :func:`refusal`); a check
    that ran nothing and was refused nothing had no applicable sample at all."""

    def __new__(cls, ran: int, failures: list[str], refused: int = 0):
        return super().__new__(cls, (ran, failures, refused))


def _backend(device: str):
    from ember.device import get_backend
    return get_backend(ember.device(device).type)


def to_host(x):
    """numpy copies of a result (tensors, tuples and lists of them)."""
    if isinstance(x, ember.Tensor):
        return np.array(x.detach().cpu().numpy(), copy=True)
    if isinstance(x, list):
        return [to_host(v) for v in x]
    if isinstance(x, tuple):  # also named tuples (max(dim) -> values, indices)
        return tuple(to_host(v) for v in x)
    return x


def _specs(spec):
    return list(spec) if isinstance(spec, (tuple, list)) else [spec]


def _as_f64(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64)


def compare(actual: np.ndarray, expected: np.ndarray, dtype: ember.dtype,
            scale: float = 1.0) -> str | None:
    """A description of how ``actual`` differs from ``expected`` (``None``: it does
    not, within the dtype's tolerance)."""
    if tuple(actual.shape) != tuple(expected.shape):
        return f"shape {list(actual.shape)}, expected {list(expected.shape)}"
    if actual.size == 0:
        return None
    if dtype.is_complex:  # each part within the tolerance of the parts' dtype
        part = ember.dtypes.to_real(dtype)
        return compare(actual[..., None].view(part.np), expected[..., None].view(part.np),
                       part, scale)
    rtol, atol = tolerance(dtype, scale)
    if dtype.is_floating_point:
        a, e = _as_f64(actual), _as_f64(expected)
        with quiet():
            # infinities must match exactly (inf - -inf is within rtol * inf)
            close = (np.abs(a - e) <= atol + rtol * np.abs(e)) & np.isfinite(e)
            ok = close | (a == e) | (np.isnan(a) & np.isnan(e))
    else:
        a, e = actual, expected
        ok = a == e
    if ok.all():
        return None
    bad = np.argwhere(~ok)
    with quiet():
        diff = np.where(ok, 0.0, np.abs(_as_f64(np.asarray(a)) - _as_f64(np.asarray(e))))
        diff = np.where(np.isnan(diff), np.inf, diff)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) \
        if diff.ndim else ()
    got, want = np.asarray(a)[worst], np.asarray(e)[worst]
    got = got.item() if hasattr(got, "item") else got  # 2.5, not np.float64(2.5)
    want = want.item() if hasattr(want, "item") else want
    tol = f" (rtol {rtol:g}, atol {atol:g})" if dtype.is_floating_point else " (exact)"
    return (f"{len(bad)} of {actual.size} elements differ{tol}; worst at index "
            f"{list(worst)}: got {got!r}, expected {want!r}")


def _dtypes_of(sample: Sample) -> list:
    """Every dtype a sample uses: its tensors' and its dtype arguments."""
    out = [t.dtype for t in sample.tensors()]
    out += [v for v in list(sample.args) + list(sample.kwargs.values())
            if isinstance(v, ember.dtype)]
    return out


def _expected_spec(entry: OpEntry, args, kwargs):
    od = entry.op
    bound = od.bind(*args, **kwargs)
    return od.meta(*bound) if od.meta is not None else None


def forward(entry: OpEntry, device: str, dtype_name: str) -> Outcome:
    """Run every sample of ``entry`` in ``dtype_name`` on ``device`` and compare.

    Returns ``Outcome(samples run, failure messages, samples refused)``.  Only samples
    the op's schema refuses on the meta device (:func:`refusal`) are not applicable;
    any error the device raises on an accepted sample is a failure.  A sample numpy
    cannot compute a reference for is still run, and checked against the schema's
    shape and dtype.
    """
    od = entry.op
    backend = _backend(device)
    supported = backend.supported_dtypes
    samples: list[Sample] = entry.samples(dtype_name, rng_for(entry.name, dtype_name))
    ran, refused, failures = 0, 0, []
    for s in samples:
        if supported is not None and any(d not in supported for d in _dtypes_of(s)):
            continue
        if _sample_refusal(entry, s) is not None:
            refused += 1
            continue
        what = f"{entry.name}() on {device}, dtype {dtype_name}, input {s.describe()}"
        try:
            args, kwargs = s.on(device)
        except NotImplementedForDevice:
            raise
        except Exception as e:  # building inputs uses the device's kernels
            failures.append(f"{what}: building the input failed: {type(e).__name__}: {e}")
            continue
        try:
            spec = _expected_spec(entry, args, kwargs)
        except REFUSALS as e:
            if not entry.dynamic_shape:  # the meta device accepted this very call
                failures.append(f"{what}: the shape rule refuses on {device} what it "
                                f"accepts on meta: {type(e).__name__}: {e}")
                continue
            spec = None
        expected = None
        if entry.compare == "values":
            try:
                with quiet():
                    hargs, hkw = s.host(to_float=od.promotion == "int_to_float")
                    expected = entry.ref(*hargs, **hkw)
            except Exception:  # numpy cannot compute it: shapes and dtypes only
                expected = _NO_REFERENCE
        try:
            with quiet():
                out = entry.call(*args, **kwargs)
                if od.is_inplace:
                    if isinstance(args[0], ember.Tensor) and out is not args[0]:
                        failures.append(f"{what}: an in-place op must return its target "
                                        f"tensor itself")
                        continue
                    out = args[0]  # what matters is the target's state afterwards
                got = to_host(out)
        except NotImplementedForDevice:
            raise
        except Exception as e:  # the schema accepted it: any error is a failure
            failures.append(f"{what}: raised {type(e).__name__}: {e}")
            continue
        ran += 1
        msg = _check(entry, s, got, expected, spec)
        if msg:
            failures.append(f"{what}: {msg}")
    return Outcome(ran, failures, refused)


_NO_REFERENCE = object()


def _check(entry: OpEntry, sample: Sample, got, expected, spec) -> str | None:
    outs = list(got) if isinstance(got, (tuple, list)) else [got]
    specs = _specs(spec) if spec is not None else [None] * len(outs)
    if len(specs) != len(outs):
        return f"{len(outs)} outputs, the schema promises {len(specs)}"
    for i, (o, sp) in enumerate(zip(outs, specs, strict=False)):
        where = f"output {i}: " if len(outs) > 1 else ""
        if isinstance(sp, Spec):
            if not entry.dynamic_shape and tuple(o.shape) != tuple(sp.shape):
                return f"{where}shape {list(o.shape)}, the schema promises {list(sp.shape)}"
            if o.dtype != sp.dtype.np:
                return (f"{where}dtype {ember.dtypes.FROM_NP[o.dtype].name}, the schema "
                        f"promises {sp.dtype.name}")
    if entry.compare == "meta" or expected is _NO_REFERENCE:
        return None
    if callable(entry.compare):
        return entry.compare(got, sample)
    exps = list(expected) if isinstance(expected, (tuple, list)) else [expected]
    if len(exps) != len(outs):
        return f"{len(outs)} outputs, the reference has {len(exps)}"
    for i, (o, e, sp) in enumerate(zip(outs, exps, specs, strict=False)):
        where = f"output {i}: " if len(outs) > 1 else ""
        dt = sp.dtype if isinstance(sp, Spec) else ember.dtypes.FROM_NP[o.dtype]
        with quiet():
            e = np.asarray(e).astype(dt.np)
        msg = compare(o, e, dt, entry.tol)
        if msg:
            return where + msg
    return None


# --- gradients ----------------------------------------------------------------------------

def differentiable(entry: OpEntry) -> bool:
    """Whether autograd can differentiate the op (a formula, or a decomposition into
    ops that have one) and the database wants its gradients checked."""
    od = entry.op
    if not entry.grad or entry.compare != "values" or od.is_inplace:
        return False
    try:
        from ember.autograd.rules import nondifferentiable
    except ImportError:
        return False
    if nondifferentiable(od):
        return False
    return od.derivative is not None or (not od.is_primitive and od.decomposition is not None)


#: floating elements of a gradient sample: finite differences cost two forward calls each
_GRAD_SMALL, _GRAD_LARGEST = 12, 320


def _grad_samples(entry: OpEntry, dtype_name: str, limit: int = 3) -> list[Sample]:
    """Samples whose gradients are checked: non-empty, finite, with at most
    ``_GRAD_SMALL`` elements per floating tensor; an op with no such sample (a
    convolution, a pooling) gets its smallest sample up to ``_GRAD_LARGEST`` floating
    elements in all, so that every differentiable op has its gradient checked."""
    small, others = [], []
    for s in entry.samples(dtype_name, rng_for(entry.name, dtype_name, "grad")):
        floats = [t for t in s.tensors() if t.array.dtype.kind == "f"]
        if not floats or any(t.array.size == 0 for t in floats):
            continue
        if any(not np.isfinite(t.array.astype(np.float64)).all() for t in floats):
            continue
        if all(t.array.size <= _GRAD_SMALL for t in floats):
            small.append(s)
        elif sum(t.array.size for t in floats) <= _GRAD_LARGEST:
            others.append(s)
    if small:
        return small[:limit]
    return sorted(others, key=lambda s: sum(t.array.size for t in s.tensors()))[:1]


def _float_outputs(out) -> list:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, ember.Tensor) and o.dtype.is_floating_point]


def _grads_on(entry: OpEntry, sample: Sample, device: str, upstream: list | None):
    """``(gradients as numpy arrays, upstream gradients)`` of one sample on one device."""
    from ember.autograd import grad
    args, kwargs = sample.on(device)
    leaves = []
    for i, v in enumerate(list(args) + list(kwargs.values())):
        if entry.grad_args is not None and i not in entry.grad_args:
            continue
        for t in (v if isinstance(v, list) else [v]):
            if isinstance(t, ember.Tensor) and t.dtype.is_floating_point:
                t.requires_grad_(True)
                leaves.append(t)
    outs = [o for o in _float_outputs(entry.call(*args, **kwargs)) if o.requires_grad]
    if not outs:
        return None, upstream
    if upstream is None:
        rng = rng_for(entry.name, "upstream")
        upstream = [rng.standard_normal(tuple(o.shape)).astype(o.dtype.np) for o in outs]
    gs = grad(outs, leaves, [ember.tensor(u, device=device) for u in upstream],
              allow_unused=True)
    return [None if g is None else to_host(g) for g in gs], upstream


def _objective(entry, sample, device, upstream) -> float:
    with ember.autograd.no_grad():
        args, kwargs = sample.on(device)
        outs = _float_outputs(entry.call(*args, **kwargs))
    pairs = zip(outs, upstream, strict=False)
    return float(sum((to_host(o).astype(np.float64) * u).sum() for o, u in pairs))


def gradients(entry: OpEntry, device: str, dtype_name: str) -> Outcome:
    """Check the op's gradients on ``device``: against the CPU's (when ``device`` is
    another type) and against central finite differences (float64, or float32 on the
    CPU).  Returns ``Outcome(samples checked, failure messages, samples refused)``; only
    a sample the op's schema refuses (:func:`refusal`) is not applicable."""
    from .tolerances import FINITE_DIFFERENCE_EPS, GRAD_TOLERANCES
    rtol, atol = GRAD_TOLERANCES[dtype_name]
    dt = getattr(ember, dtype_name)
    on_cpu = ember.device(device).type == "cpu"
    with_cpu = not on_cpu and ember.is_available("cpu")  # the reference device
    ran, refused, failures = 0, 0, []
    supported = _backend(device).supported_dtypes
    for s in _grad_samples(entry, dtype_name):
        if supported is not None and any(d not in supported for d in _dtypes_of(s)):
            continue
        if _sample_refusal(entry, s) is not None:
            refused += 1  # the forward's schema refuses it: no gradient to check
            continue
        what = f"{entry.name}() on {device}, dtype {dtype_name}, input {s.describe()}"
        try:
            got, upstream = _grads_on(entry, s, device, None)
        except NotImplementedForDevice:
            raise
        except Exception as e:  # the schema accepted it: forward or backward failed
            failures.append(f"{what}: forward or backward raised {type(e).__name__}: {e}")
            continue
        if got is None:
            continue
        ran += 1
        leaves = [t for i, v in enumerate(list(s.args) + list(s.kwargs.values()))
                  if entry.grad_args is None or i in entry.grad_args
                  for t in (v if isinstance(v, list) else [v])
                  if isinstance(t, T) and t.array.dtype.kind == "f"]
        if with_cpu:
            try:
                ref, _ = _grads_on(entry, s, "cpu", upstream)
            except Exception as e:  # the reference run itself fails: say so, loudly
                failures.append(f"{what}: the CPU's gradients (the reference) raised "
                                f"{type(e).__name__}: {e}")
                continue
            for i, (g, r) in enumerate(zip(got, ref, strict=False)):
                if (g is None) != (r is None):
                    failures.append(f"{what}: gradient of input {i} is "
                                    f"{'missing' if g is None else 'present'} on {device} "
                                    f"but not on cpu")
                elif g is not None and not np.allclose(g.astype(np.float64), r.astype(
                        np.float64), rtol=rtol, atol=atol, equal_nan=True):
                    failures.append(f"{what}: gradient of input {i} differs from the "
                                    f"CPU's: {compare(g, r, dt, 1e4) or 'beyond tolerance'}")
        # Finite differences need outputs as precise as the inputs (not astype(float16)).
        if (dtype_name == "float64" or on_cpu) and all(u.dtype == dt.np for u in upstream):
            eps = FINITE_DIFFERENCE_EPS[dtype_name]
            for i, (leaf, g) in enumerate(zip(leaves, got, strict=False)):
                num = np.zeros(leaf.array.shape)
                flat = leaf.array.reshape(-1)
                original = leaf.array
                for k in range(flat.size):
                    vals = []
                    for sign in (1, -1):
                        p = flat.astype(np.float64).copy()
                        p[k] += sign * eps
                        leaf.array = p.astype(original.dtype).reshape(original.shape)
                        vals.append(_objective(entry, s, device, upstream))
                    num.reshape(-1)[k] = (vals[0] - vals[1]) / (2 * eps)
                leaf.array = original
                g = np.zeros(num.shape) if g is None else g.astype(np.float64)
                if not np.allclose(g, num, rtol=rtol, atol=atol):
                    k = int(np.argmax(np.abs(g - num)))
                    failures.append(
                        f"{what}: gradient of input {i} differs from finite differences "
                        f"(rtol {rtol:g}, atol {atol:g}); worst at flat index {k}: "
                        f"backward {g.reshape(-1)[k]!r}, numerical {num.reshape(-1)[k]!r}")
    return Outcome(ran, failures, refused)
