"""The kernel catalog (``ember_rocm.kernels.catalog``) lists the sources rocm builds: a
workload touching every kernel family runs on PoCL with an empty kernel cache, and each
program it builds must be one of the catalog's sources (which plugins/cuda/tests then
compiles with nvcc) up to the shape class -- the number of merged dims and which
operands are read linearly, which the catalog samples (every class of each op in one
dtype) rather than multiplies out."""

import re

import numpy as np
import pytest

import ember
from ember.kit.kernel_dialect import kernel_names

from conftest import needs_rocm

pytestmark = [pytest.mark.rocm, needs_rocm]

R = "rocm"
_FP64 = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"


@pytest.fixture
def built(monkeypatch):
    """The sources of the programs built while the test runs (from an empty cache)."""
    from ember.device import get_backend
    from ember_rocm.kernels import compiler
    st = get_backend(R).state(0)
    for cache in ("kernels", "programs", "plans"):
        monkeypatch.setattr(st, cache, {})
    seen: list[str] = []
    real = compiler.build_program

    def build_program(context, device, source, options=""):
        seen.append(source.removeprefix(_FP64))
        return real(context, device, source, options)
    monkeypatch.setattr(compiler, "build_program", build_program)
    return seen


def shape_free(source: str) -> str:
    """``source`` with what depends on its shape class blanked: the size and stride
    arguments (``sz0``, ``st1_2``, ``osz1``, ``xst0_1`` ...), the lines turning a linear
    id into a multi-index, and the index arithmetic inside subscripts (and blank lines)."""
    source = re.sub(r",?\s*const long [a-z]*s[tz]\d+(?:_\d+)?\b", "", source)
    source = re.sub(r"^.*(?:r /= |const long i\d+ = r;|long r = gid;).*\n", "", source,
                    flags=re.MULTILINE)
    source = re.sub(r"\[(\w+) \+ [^\]]*\]", r"[\1 + I]", source)
    source = re.sub(r"long p = doff[^;]*;", "long p = doff + I;", source)
    return re.sub(r"\n\s*\n", "\n", source)


def test_shape_free_blanks_only_the_shape_class():
    from ember_rocm.kernels.elementwise import pointwise_source
    f = np.dtype(np.float32)
    a = pointwise_source("add", "v_a + v_b", "", f, f, [("v_a", f), ("v_b", f)], [], 1,
                         (True, True, True))
    b = pointwise_source("add", "v_a + v_b", "", f, f, [("v_a", f), ("v_b", f)], [], 4,
                         (False,) * 3)
    c = pointwise_source("sub", "v_a - v_b", "", f, f, [("v_a", f), ("v_b", f)], [], 4,
                         (False,) * 3)
    assert a != b and shape_free(a) == shape_free(b)
    assert shape_free(b) != shape_free(c)


def _workload():
    t = lambda x, dt=None: ember.tensor(np.asarray(x), dtype=dt, device=R)
    f = t(np.arange(12, dtype=np.float32).reshape(3, 4) / 7)
    i = t(np.arange(12, dtype=np.int32).reshape(3, 4))
    d = t(np.linspace(-1, 1, 6))  # float64
    b = f > 0.5
    # pointwise: dtypes, numbers as arguments, strided (transposed) operands, where
    (f + 2.5, f * f.T.T, i // 3, i ** 2, i & 5, d.exp(), ember.where(b, f, 0.0),
     f.T + 1, (f.T * f.T).abs(), ember.clamp(f, 0.1, 0.9), ~b, b.logical_and(b))
    # reductions, arg-reductions and scans
    (f.sum(), f.sum(1), i.sum(0), d.amax(), b.any(1), f.argmax(1), i.argmin(), i.cumsum(1),
     f.cumprod(0))
    # rows: softmax, cross-entropy (one work group, and per row beyond SMALL), backward
    logits = ember.randn(4, 10, device=R, requires_grad=True)
    target = t([1, 0, 9, 3], ember.int64)
    ember.nn.functional.cross_entropy(logits, target).backward()
    big = ember.randn(200, 100, device=R, requires_grad=True)
    ember.nn.functional.cross_entropy(big, ember.zeros(200, dtype=ember.int64, device=R)
                                      ).backward()
    ember.nn.functional.log_softmax(f, 1)
    # matmul and linear, an optimizer step
    lin = ember.nn.Linear(4, 3).to(R)
    opt = ember.optim.Adam(lin.parameters())
    lin(f).sum().backward()
    opt.step()
    f @ f.T
    # addressing: gather, scatter-add, index_select, indexing and index_put_
    idx = t([[0, 1], [2, 3], [1, 1]], ember.int64)
    f.gather(1, idx)
    ember.zeros(3, 4, device=R).scatter_add(1, idx, f[:, :2].contiguous())
    f.index_select(0, t([2, 0], ember.int64))
    f[t([0, 2], ember.int64)]
    g = f.clone()
    g[t([1], ember.int64)] = 0.0
    g.mul_(2)
    g.T.add_(1.5)
    # copies, casts, ranges, masked fills, index_add
    (i.float(), f.T.contiguous(), ember.arange(5, device=R), ember.arange(0.0, 1.0, 0.25,
                                                                          device=R),
     f.masked_fill(b, 0.0), d.softmax(0))
    ember.zeros(3, 4, device=R).index_add(0, t([2, 0], ember.int64), f[:2], alpha=2.0)
    # complex arithmetic
    z = ember.complex(f, f)
    z * z + 1
    ember.synchronize(R)


def test_rocm_builds_only_catalog_sources(built):
    from ember_rocm.kernels.catalog import sources
    _workload()
    catalog = {shape_free(s.source) for s in sources()}
    assert built, "the workload built no program (is the cache really empty?)"
    missing = [src for src in built if shape_free(src) not in catalog]
    assert not missing, (f"{len(missing)} of {len(built)} built sources are not in the "
                         f"catalog; the first:\n{missing[0]}")
    # every family took part (else this test would check less than it says)
    names = {n for src in built for n in kernel_names(src)}
    for family in ("pointwise", "reduce", "argreduce", "scan", "softmax", "cross_entropy",
                   "ce_small", "adam", "matmul", "addr", "cplx"):
        assert family in names, (family, sorted(names))
