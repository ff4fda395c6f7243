"""Compiling OpenCL C once per (kernel template, dtypes, shape class) and caching it.

Kernel sources are generated from templates (``*.cl`` files beside this module, with
``$NAME`` placeholders) for a given set of dtypes and a *shape class* — the number of
dimensions left after merging contiguous ones, and which operands are contiguous.
Sizes, strides and offsets are kernel arguments, so one compiled kernel serves every
shape of its class.  The cache lives on the ``DeviceState``; across processes, each
program is loaded from the device binary a previous process built (``programs``), and
PoCL (``POCL_CACHE_DIR``) keeps the compiled kernels on disk.
"""

from __future__ import annotations

import functools
import importlib.resources
import string

import numpy as np

from . import invokers
from .programs import build_program, save_binary

from ember.errors import NotImplementedForDevice

__all__ = ["CTYPES", "ctype", "get_kernel", "template", "launch_size", "UnsupportedDtype"]

#: numpy dtype -> OpenCL C type.  bool is stored as one byte holding 0 or 1.
CTYPES = {
    np.dtype(np.bool_): "uchar", np.dtype(np.uint8): "uchar", np.dtype(np.int8): "char",
    np.dtype(np.int16): "short", np.dtype(np.int32): "int", np.dtype(np.int64): "long",
    np.dtype(np.float32): "float", np.dtype(np.float64): "double",
}


class UnsupportedDtype(NotImplementedForDevice, TypeError):
    """An op reached a rocm kernel that has no code for one of its dtypes (a
    ``TypeError``, and ``NotImplementedForDevice``: the device lacks that op x dtype)."""


def ctype(dtype: np.dtype, op: str = "rocm") -> str:
    """The OpenCL C type of ``dtype`` or a clear error."""
    t = CTYPES.get(dtype)
    if t is None:
        if dtype.kind == "c":  # stored, but only some ops have complex kernels
            raise UnsupportedDtype(
                f"{op}(): dtype {dtype} is not supported on rocm by this op (rocm's "
                f"complex support: creation, copies, view_as_real/view_as_complex, "
                f"add/sub/mul/div/neg/conj/abs/eq/ne/isnan/isinf/isfinite and the DFTs; "
                f"see docs/rocm.md)")
        raise UnsupportedDtype(f"{op}(): dtype {dtype} is not supported on rocm (supported: "
                               f"bool, uint8, int8, int16, int32, int64, float32, float64)")
    return t


@functools.cache
def template(name: str) -> string.Template:
    """The OpenCL C template ``name`` (a ``.cl`` file of this package)."""
    text = importlib.resources.files(__package__).joinpath(name).read_text()
    return string.Template(text)


def get_kernel(dev, key: tuple, make_source, name: str, scalar_dtypes: list):
    """The compiled kernel ``name`` for ``key`` on ``dev``, building it on first use.

    ``make_source()`` returns the OpenCL C source; ``scalar_dtypes`` lists the kernel's
    arguments' numpy dtypes (``None`` for buffers), so calls can pass Python numbers.
    """
    k = dev.kernels.get(key)
    if k is not None:
        return k
    import pyopencl as cl
    src = make_source()
    if "double" in src:
        if not dev.fp64:
            raise TypeError(f"rocm:{dev.index} ({dev.device.name.strip()}) does not support "
                            f"float64 (no cl_khr_fp64)")
        src = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" + src
    with dev.lock:
        k = dev.kernels.get(key)
        if k is None:
            # One program per source: the kernels of a template family that share it
            # (cross_entropy and its backward, sgd and adam, ...) are built once.
            prg = dev.programs.get(src)
            if prg is None:
                try:
                    prg, cached = build_program(dev.context, dev.device, src)
                except cl.RuntimeError as e:  # a bug in a template: show the source
                    raise RuntimeError(f"rocm: building kernel {key!r} failed: {e}\n"
                                       f"{src}") from e
                dev.programs[src] = prg
                if not cached:
                    dev.unsaved[src] = [0, prg, src, dev.device]
            k = invokers.kernel(prg, name, scalar_dtypes, dev)
            entry = dev.unsaved.get(src)
            if entry is not None:
                k = _Counted(k, entry)
            dev.kernels[key] = k
    return k


#: launches of a program built from source after which its binary is saved for later
#: processes: a training loop's kernels reach it within a few steps; most of the
#: programs a test suite builds for one check do not, and so cost no binary
HOT_USES = 64


class _Counted:
    """A kernel of a program this process built from source: counts the launches of
    the program's kernels and saves its binary at the ``HOT_USES``-th."""

    __slots__ = ("kernel", "entry")

    def __init__(self, kernel, entry: list) -> None:
        self.kernel = kernel
        self.entry = entry  # [launches or None once saved, program, source, device]

    def __call__(self, *args):
        e = self.entry
        if e[0] is not None:
            e[0] += 1
            if e[0] >= HOT_USES:
                e[0] = None
                save_binary(e[3], e[2], e[1])
        return self.kernel(*args)


def launch_size(n: int, group: int = 64) -> tuple:
    """A 1-d global size covering ``n`` work items (kernels ignore the excess)."""
    return ((n + group - 1) // group * group,)
