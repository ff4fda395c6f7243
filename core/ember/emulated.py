"""float16 and bfloat16 on runtimes that cannot compute in them: 16-bit storage,
float32 arithmetic, one rounding per op.

PoCL (behind ``rocm``) has no ``cl_khr_fp16``, Intel's OpenCL CPU runtime has no
bfloat16 in dpnp, and array-api-strict (behind ``reference``) has neither.  Such a
backend still holds tensors of these dtypes: its native arrays report the dtype
(``numpy.float16``, ``ml_dtypes.bfloat16``) over 16-bit storage, and the backend
describes that storage with an :class:`Emulation` (four small conversions).
:func:`install` then wraps every kernel of the backend once, here, the same way for
every backend:

* a view, ``contiguous`` and ``clone`` run on the 16 bits themselves (reinterpreted as
  int16), so views share memory and copies are bit-exact;
* every other kernel with a float16/bfloat16 operand is the **upcast decomposition**:
  each such operand is widened to one float32 temporary (a conversion kernel), the
  backend's float32 kernel runs, and each floating result is narrowed once to the
  op's dtype, rounding to nearest-even as PyTorch does (NaN stays NaN); an in-place
  kernel writes its float32 result back into the 16-bit target.  Memory stays linear:
  one float32 temporary per 16-bit operand and result.

A kernel whose operands are all of other dtypes is called directly (the wrapper checks
the operands' dtypes and adds nothing else).  The bit-level conversions in numpy
(:func:`bfloat16_bits`, :func:`float32_from_bfloat16_bits`) are the reference the
backends' conversion kernels are tested against, and what host-side backends use.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import dtypes as _dt
from .codecache import exec_generated

__all__ = ["Emulation", "install", "bfloat16_bits", "float32_from_bfloat16_bits",
           "BITWISE_OPS"]

#: ops (besides views) that only move elements: they run on the 16-bit patterns
BITWISE_OPS = frozenset({"contiguous", "clone"})
_NUMBERS = (bool, int, float, complex)


def bfloat16_bits(x: np.ndarray) -> np.ndarray:
    """The bfloat16 bit patterns (uint16) of float32 ``x``: round to nearest, ties to
    even (PyTorch's ``round_to_nearest_even``); NaN stays NaN (quiet, sign and high
    payload kept); overflow past bfloat16's largest finite value gives inf."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32)  # (0-d stays 0-d)
    nan = (u & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    rounded = (u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) \
        >> np.uint32(16)
    quiet = (u >> np.uint32(16)) | np.uint32(0x0040)
    return np.where(nan, quiet, rounded).astype(np.uint16)


def float32_from_bfloat16_bits(bits: np.ndarray) -> np.ndarray:
    """The float32 values of bfloat16 bit patterns (exact: bfloat16 is float32's top
    half)."""
    u = np.asarray(bits, dtype=np.uint16).astype(np.uint32)
    u <<= np.uint32(16)  # (in place: a 0-d array stays an array)
    return u.view(np.float32)


class Emulation:
    """How a backend stores the dtypes in ``dtypes`` (float16, bfloat16) that its
    runtime cannot compute in.  A backend subclasses it with four conversions over its
    native arrays and calls :func:`install` once its kernel table is complete.

    A native array of an emulated dtype reports that dtype (``native.dtype`` is
    ``numpy.float16`` or ``ml_dtypes.bfloat16``) and holds 16 bits per element.
    """

    def __init__(self, dtypes, native_types) -> None:
        #: the ember dtypes stored in 16 bits and computed in float32
        self.dtypes = frozenset(dtypes)
        #: the classes of the backend's native arrays that may hold them
        self.native_types = tuple(native_types)
        #: numpy dtype -> ember dtype of those whose numpy form is loaded (bfloat16's
        #: comes with ml_dtypes, imported only once a bfloat16 array exists)
        self.np_dtypes: dict = {}
        for d in self.dtypes:
            if isinstance(d, _dt._LazyDtype):
                d.when_loaded(lambda d: self.np_dtypes.__setitem__(d.np, d))
            else:
                self.np_dtypes[d.np] = d

    def bits(self, native):
        """The same memory as an int16 native array (a view: no copy)."""
        raise NotImplementedError

    def relabel(self, bits, d: _dt.dtype):
        """An int16 native array (made by a kernel from :meth:`bits` views) as dtype
        ``d``, without copying."""
        raise NotImplementedError

    def widen(self, native):
        """A new float32 native array with the values of ``native`` (exact)."""
        raise NotImplementedError

    def narrow(self, native, d: _dt.dtype):
        """A new native array of dtype ``d`` with float32 ``native``'s values rounded
        to nearest-even."""
        raise NotImplementedError


def _positions(od) -> tuple[tuple, tuple, int | None, tuple]:
    """Kernel-argument positions of ``od``'s tensors, tensor lists, ``dtype`` argument
    and mutated arguments (the core drops ``requires_grad``/``pin_memory`` before the
    kernel is called)."""
    from .kernels import _FRONTEND_ARGS
    tensors, lists, mutated, dpos = [], [], [], None
    k = 0
    for a in od.args:
        if a.name in _FRONTEND_ARGS:
            continue
        if a.is_tensor:
            (lists if a.is_list else tensors).append(k)
            if a.alias == "a!":
                mutated.append(k)
        if a.name == "dtype":
            dpos = k
        k += 1
    if od.is_inplace and not mutated:
        mutated = [tensors[0]] if tensors else []
    return tuple(tensors), tuple(lists), dpos, tuple(mutated)


def install(backend, emulation: Emulation) -> None:
    """Wrap every kernel in ``backend.kernels`` for ``emulation``'s dtypes (call once,
    after the table is complete) and record the emulation as ``backend.emulation``."""
    from .schema import registry
    table = backend.kernels
    raw_copy = table.get("copy_")

    def wrap(name: str) -> None:
        od = registry.get(name)
        if od is not None:
            fn = dict.__getitem__(table, name)
            dict.__setitem__(table, name, _kernel(od, fn, emulation, raw_copy))
    for name in list(table):
        wrap(name)
    # A kernel set later (``backend.kernels["softmax"] = fast_softmax``, the documented
    # way to add one) is wrapped as it is set: the table becomes a subclass of its own
    # class whose ``__setitem__`` wraps after the original's.
    base = type(table)

    def __setitem__(self, name, fn):
        base.__setitem__(self, name, fn)
        wrap(name)

    def update(self, *args, **kwargs):
        for name, fn in dict(*args, **kwargs).items():
            self[name] = fn
    sub = type(f"Emulated{base.__name__}", (base,),
               {"__setitem__": __setitem__, "update": update, "__slots__": ()})
    if base is dict:  # (a builtin dict's class cannot change: copy it)
        table = backend.kernels = sub(table)
    else:
        table.__class__ = sub
    backend.emulation = emulation


def _kernel(od, fn: Callable, em: Emulation, raw_copy) -> Callable:
    """``fn`` with 16-bit operands handled by ``em`` (see the module's docstring)."""
    tensors, lists, dpos, mutated = _positions(od)
    low = em.np_dtypes
    bitwise = (od.is_view or od.name in BITWISE_OPS) and not od.is_inplace
    f32 = _dt.float32
    f32np = np.dtype(np.float32)

    def is_low(a) -> bool:
        return a is not None and not isinstance(a, _NUMBERS) and \
            getattr(a, "dtype", None) in low

    def on_bits(args):
        args = list(args)
        src = {}
        d = None
        # a view that names its result's dtype (_view_dtype, a bitcast) returns int16
        # bits to relabel as that dtype only when it is a 16-bit float, else as they are
        named = args[dpos] if dpos is not None and dpos < len(args) else None
        for i in tensors:
            if is_low(args[i]):
                d = d or low[args[i].dtype]
                b = em.bits(args[i])
                src[id(b)] = args[i]
                args[i] = b
        out = fn(*args)

        def back(o):
            if id(o) in src:  # the kernel returned its input (contiguous of contiguous)
                return src[id(o)]
            if getattr(o, "dtype", None) != np.int16:
                return o
            if named is not None:
                return em.relabel(o, named) if named in em.dtypes else o
            return em.relabel(o, d)
        if isinstance(out, (tuple, list)):
            return type(out)(back(o) for o in out)
        return back(out)

    def upcast(args):
        args = list(args)
        n = len(args)
        target = None
        explicit = dpos is not None and dpos < n and args[dpos] is not None
        if explicit and args[dpos] in em.dtypes:
            target = args[dpos]
            args[dpos] = f32
        originals = {}
        for i in tensors:
            if i < n and is_low(args[i]):
                a = args[i]
                if target is None and not explicit:
                    target = low[a.dtype]
                originals[i] = a
                args[i] = em.widen(a)
        for i in lists:
            if i < n and args[i] is not None and any(is_low(a) for a in args[i]):
                if target is None and not explicit:
                    target = next(low[a.dtype] for a in args[i] if is_low(a))
                originals[i] = args[i]
                args[i] = [em.widen(a) if is_low(a) else a for a in args[i]]
        out = fn(*args)
        if od.is_inplace:
            for i in mutated:
                if i not in originals:
                    continue
                orig, new = originals[i], args[i]
                pairs = zip(orig, new, strict=True) if isinstance(orig, list) else [(orig, new)]
                for o, w in pairs:
                    if is_low(o):
                        raw_copy(em.bits(o), em.bits(em.narrow(w, low[o.dtype])), False)
            return None if out is None or out is args[mutated[0]] else out

        def back(o):
            if target is not None and getattr(o, "dtype", None) == f32np:
                return em.narrow(o, target)
            return o
        if isinstance(out, (tuple, list)):
            return type(out)(back(o) for o in out)
        return back(out)

    # The check every call pays, generated for the op's argument positions: a class
    # test and a dict lookup per tensor (~0.1 us), nothing when no operand is 16-bit.
    lines = ["def kernel(*args):", "    n = len(args)"]
    for i in tensors:
        lines += [f"    if n > {i}:", f"        a = args[{i}]",
                  "        if a.__class__ in C and a.dtype.itemsize == 2 and a.dtype in low:",
                  "            return slow(args)"]
    for i in lists:
        lines += [f"    if n > {i} and args[{i}] is not None:", f"        for a in args[{i}]:",
                  "            if a.__class__ in C and a.dtype.itemsize == 2 and a.dtype in low:",
                  "                return slow(args)"]
    if dpos is not None:
        lines += [f"    if n > {dpos} and args[{dpos}] in dtypes:", "        return slow(args)"]
    lines.append("    return fn(*args)")
    def copy_bits(args):
        """``copy_`` between two tensors of one 16-bit dtype: the bits, exactly."""
        dst, src = args[0], args[1]
        if is_low(dst) and is_low(src) and dst.dtype == src.dtype:
            return fn(em.bits(dst), em.bits(src), *args[2:])
        return upcast(args)

    slow = copy_bits if od.name == "copy_" and raw_copy is not None else \
        on_bits if bitwise else upcast
    env = {"fn": fn, "slow": slow, "low": low,
           "C": frozenset(em.native_types), "dtypes": em.dtypes}
    exec_generated("\n".join(lines) + "\n", f"<ember.emulated {od.name}>", env)
    kernel = env["kernel"]
    kernel.__name__ = getattr(fn, "__name__", od.name)
    # what the kernel declares about itself (``library``, ``checks_values``, a
    # pointwise ``expression`` a graph executor fuses ...) stays visible on the wrapper
    kernel.__dict__.update(getattr(fn, "__dict__", {}))
    kernel.__wrapped__ = fn
    return kernel
