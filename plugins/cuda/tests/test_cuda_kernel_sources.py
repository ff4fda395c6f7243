"""ember's generated OpenCL C kernels, translated to CUDA C by ``ember.kit.kernel_dialect``,
compile with ``nvcc`` -- checked without a GPU.

Every source of ember-rocm's catalog (``ember_rocm.kernels.catalog``: each template in
the dtypes and shape classes rocm builds) goes through :func:`opencl_to_cuda`, and all of
them are compiled to PTX for sm_90 (H100/H200) in one ``nvcc`` call: the bodies share one
translation unit, each in its own namespace with C++ linkage (``EMBER_KERNEL_LINKAGE``
empty), and the macros a body defines are undefined after it.  A compile error names
the kernel it is in and quotes nvcc.  Compiling says nothing about results: these
kernels have never been launched on a GPU (docs/cuda.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import numpy as np
import pytest

from ember.kit.kernel_dialect import (CUDA_PREAMBLE, defined_macros, kernel_names,
                                      opencl_to_cuda)

NVCC = shutil.which("nvcc")
requires_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not on PATH (the CUDA "
                                   "toolkit compiles these sources; no GPU is needed)")
#: the GPUs of the issue (H100/H200); PTX needs no GPU to produce
ARCH = "sm_90"
#: warnings the translated sources give that say nothing about correctness: unused
#: operands of some expressions (177) and a guard `x < 0` on unsigned types (186)
QUIET = "177,186"


def _unit(sources: list) -> tuple[str, list]:
    """One translation unit of ``sources`` (``(label, OpenCL C)``) and each body's
    first and last line in it."""
    preamble_macros = set(defined_macros(CUDA_PREAMBLE))
    parts = ["#define EMBER_KERNEL_LINKAGE\n", CUDA_PREAMBLE]
    line = 1 + sum(p.count("\n") for p in parts)
    spans = []
    for i, (label, src) in enumerate(sources):
        body = f"namespace k{i} {{\n{opencl_to_cuda(src, preamble=False)}\n}}\n"
        body += "".join(f"#undef {m}\n" for m in defined_macros(src)
                        if m not in preamble_macros)
        n = body.count("\n")
        spans.append((line, line + n - 1, label))
        parts.append(body)
        line += n
    return "".join(parts), spans


def _compile(sources: list, tmp_path) -> tuple[str, list]:
    """``(ptx, errors)``: nvcc's PTX of ``sources`` and its errors as ``(kernel label,
    nvcc's message)``."""
    unit, spans = _unit(sources)
    cu = tmp_path / "kernels.cu"
    cu.write_text(unit)
    ptx = tmp_path / "kernels.ptx"
    r = subprocess.run([NVCC, "-ptx", f"-arch={ARCH}", "-diag-suppress", QUIET, str(cu),
                        "-o", str(ptx)], capture_output=True, text=True, timeout=600)
    errors = []
    lines = r.stderr.splitlines()
    for j, text in enumerate(lines):
        m = re.match(r".*\((\d+)\): (?:catastrophic )?error", text)
        if m:
            at = int(m.group(1))
            label = next((lb for a, b, lb in spans if a <= at <= b), "the preamble")
            errors.append((label, "\n".join(lines[j:j + 3])))
    if r.returncode and not errors:  # an error without a line (a crash, a bad flag)
        errors.append(("nvcc", r.stderr[-4000:]))
    return (ptx.read_text() if r.returncode == 0 else ""), errors


def _report(errors: list) -> str:
    return "\n\n".join(f"{label}:\n{msg}" for label, msg in errors[:20]) + \
        (f"\n... and {len(errors) - 20} more" if len(errors) > 20 else "")


# -- the translation (no nvcc needed) ------------------------------------------------------

def test_translation_rewrites_what_macros_cannot():
    src = ("#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
           "inline int twice(int x) { return 2 * x; }\n"
           "  inline long thrice(long x) { return 3 * x; }\n"
           "__kernel void k(__global int* out) { out[get_global_id(0)] = twice(1); }\n")
    cuda = opencl_to_cuda(src)
    assert cuda.startswith(CUDA_PREAMBLE)
    body = opencl_to_cuda(src, preamble=False)
    assert "#pragma" not in body and "cl_khr_fp64" not in body
    assert "__device__ inline int twice" in body
    assert "  __device__ inline long thrice" in body
    assert "__kernel void k(__global int* out)" in body  # left to the preamble's macros
    assert kernel_names(src) == ["k"]
    assert defined_macros("#define A 1\n  # define B(x) x\n#define A 2\n") == ["A", "B"]


def test_preamble_names_every_opencl_name_the_kernels_use():
    # the OpenCL C names of the kernels and their CUDA meaning: each one defined once
    for name in ("__kernel", "__global", "__local", "barrier", "CLK_LOCAL_MEM_FENCE",
                 "CPLX"):
        assert re.search(rf"#define {name}\b", CUDA_PREAMBLE), name
    for fn in ("get_global_id", "get_local_id", "get_group_id", "get_local_size",
               "get_global_size", "as_float", "as_uint", "vload_half", "vstore_half_rte",
               "atomic_add", "atomic_cmpxchg", "atom_add", "atom_cmpxchg",
               "convert_float2", "convert_double2"):
        assert re.search(rf"__device__ inline \w+ {fn}\(", CUDA_PREAMBLE), fn
    for t in ("uchar", "ushort", "uint", "ulong", "half"):
        assert re.search(rf"typedef [\w ]+ {t};", CUDA_PREAMBLE), t
    assert 'extern "C"' in CUDA_PREAMBLE  # unmangled names for cupy.RawModule


# -- the catalog through nvcc --------------------------------------------------------------

def _catalog() -> list:
    catalog = pytest.importorskip("ember_rocm.kernels.catalog",
                                  reason="ember-rocm (whose generators make the kernel "
                                         "sources) is not installed")
    # (identical sources -- e.g. a bool op whose number operand promotes it to int64 --
    # are compiled once)
    return list({s.source: s for s in catalog.sources()}.values())


@pytest.mark.slow  # (~10-25 s on two shared cores: one nvcc run over ~1300 sources)
@requires_nvcc
def test_every_generated_kernel_compiles_with_nvcc(tmp_path):
    sources = _catalog()
    t0 = time.perf_counter()
    ptx, errors = _compile(sources, tmp_path)
    seconds = time.perf_counter() - t0
    assert not errors, f"{len(errors)} nvcc errors in ember's kernels:\n{_report(errors)}"
    # every kernel of every source made it into the PTX (none lost to the batching)
    expected = sum(len(kernel_names(s.source)) for s in sources)
    entries = len(re.findall(r"^\.visible \.entry ", ptx, re.MULTILINE))
    assert entries == expected, (entries, expected)
    print(f"nvcc -ptx -arch={ARCH}: {len(sources)} sources, {entries} kernels, "
          f"{seconds:.1f} s")


@requires_nvcc
def test_a_compile_error_names_its_kernel(tmp_path):
    # the failure path of the test above: an OpenCL built-in the dialect does not
    # provide, in the second of three sources
    ok = "__kernel void a(__global float* x) { x[get_global_id(0)] = 1; }\n"
    bad = ("#define TWO 2\n__kernel void b(__global float* x) "
           "{ x[get_global_id(0)] = native_exp(x[0]) * TWO; }\n")
    ptx, errors = _compile([("first", ok), ("the broken one", bad), ("third", ok)],
                           tmp_path)
    assert ptx == ""
    assert errors and {label for label, _ in errors} == {"the broken one"}, errors
    assert "native_exp" in errors[0][1]


@requires_nvcc
def test_one_source_alone_is_a_cupy_rawmodule_source(tmp_path):
    # opencl_to_cuda's default (extern "C", preamble included) as cupy.RawModule would
    # get it: the kernel keeps its OpenCL name in the PTX
    first = _catalog()[0].source
    from ember_rocm.kernels.fused import optim_source  # (after _catalog's skip)
    for source in (first, optim_source(np.dtype(np.float32))):
        cu = tmp_path / "one.cu"
        cu.write_text(opencl_to_cuda(source))
        r = subprocess.run([NVCC, "-ptx", f"-arch={ARCH}", "-diag-suppress", QUIET,
                            str(cu), "-o", str(tmp_path / "one.ptx")],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        ptx = (tmp_path / "one.ptx").read_text()
        for name in kernel_names(source):
            assert re.search(rf"^\.visible \.entry {name}\(", ptx, re.MULTILINE), name
