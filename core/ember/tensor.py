"""The Tensor: a backend-native array plus ember's metadata.

``_data`` is the native array (numpy ndarray, cupy ndarray, pyopencl Array, dpnp
array, or a ``MetaArray``); shape and dtype are read from it, so a Tensor stores only
what the native array cannot know: its device, autograd state and version counter.

The class body holds what a tensor *is* and the methods written by hand here.  Methods
from the layers above (every op with ``method=True`` such as ``t.sum()`` and
``t.add_(…)``, the operators, ``backward``, ``__dlpack__``, ``__array_namespace__``) are
attached in one place, ``ember.tensor_methods``; ``tensor.pyi`` beside this file lists
them all, grouped by the module defining each (``scripts/gen_tensor_stub.py``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from . import dtypes as _dt
from .device import device as _device, get_backend, get_default_device, tensor_device

__all__ = ["Tensor", "Size", "tensor", "as_tensor", "from_numpy", "is_tensor"]


class Size(tuple):
    """A tensor's shape (``torch.Size``): a tuple of ints."""

    def numel(self) -> int:
        return math.prod(self)

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"


class _VersionCounter:
    """Shared by a tensor and its views; bumped by every in-place op."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


#: device type -> allocator, for backends whose runtime allocates by itself (numpy):
#: once observation has started (see ember.memory), tensors report their buffers'
#: births and deaths to the allocator's statistics.
OBSERVED_ALLOCATORS: dict = {}


def _release(self) -> None:
    """``Tensor.__del__`` while allocations are observed: report the buffer's death."""
    n = self._owned
    if n:
        acct = self._device._acct
        if acct is not None:
            acct.record_free(n)


def observe_releases() -> None:
    """Give ``Tensor`` its finalizer (``__del__`` = :func:`_release`) once allocations
    are observed (``ember.memory`` calls it).  Not in the class body: a finalizer costs
    every tensor's deallocation, which a program that never asks for memory statistics
    should not pay."""
    if "__del__" not in Tensor.__dict__:
        Tensor.__del__ = _release
_FROM_NP = _dt.FROM_NP


#: The ember.jit tracing session of this process, if one is recording (``[session]``):
#: it is told of host reads (refused while tracing) and of ``detach`` aliases.
_tracing: list = [None]


class Tensor:
    """A multi-dimensional array on a device, with autograd support."""

    # What every tensor has, or a recorded op's output or a view sets, are slots (every
    # place that makes a tensor, ``_make``, sets them all); the rest is rare and lives in
    # the instance __dict__ when set, falling back to the class defaults below.  (A view
    # that autograd records would otherwise make a dict of three entries per call.)
    __slots__ = ("_data", "_device", "_requires_grad", "_owned", "grad_fn", "_vc", "_base",
                 "__dict__", "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators
    grad: Tensor | None = None
    #: (slots) ``grad_fn``: the node that computed this tensor (None for leaves);
    #: ``_vc``: the version counter shared with views, made on first view or in-place op;
    #: ``_base``: the tensor whose memory a view shares.
    _backward_hooks = None
    _retains_grad = False
    _output_nr = 0

    def __init__(self, *args, **kwargs) -> None:
        raise TypeError("use ember.tensor(data), ember.empty(shape) or another factory "
                        "function to create tensors")

    @staticmethod
    def _make(data, dev) -> Tensor:
        """Wrap a native array (internal; no copy, no checks)."""
        t = _new(Tensor)
        t._data = data
        t._device = dev
        t._requires_grad = False
        t.grad_fn = None
        t._vc = None
        t._base = None
        # The observing allocator of the device's backend, once statistics were asked
        # for (ember.memory.start_observing); None before, so this costs one load.
        acct = dev._acct
        if acct is not None and getattr(data, "base", 0) is None:
            n = t._owned = data.nbytes
            acct.record_alloc(n)
        else:
            t._owned = 0
        return t

    # -- metadata -----------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the size of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self) -> _dt.dtype:
        return _FROM_NP[self._data.dtype]

    @property
    def device(self):
        return self._device

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    def dim(self) -> int:
        return len(self._data.shape)

    def numel(self) -> int:
        return math.prod(self._data.shape)

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the data is laid out row-major without gaps (PyTorch's default
        ``memory_format``; ``.contiguous()`` makes a tensor that is)."""
        if memory_format is not None and str(memory_format) not in (
                "contiguous_format", "torch.contiguous_format"):
            raise ValueError(f"is_contiguous(): memory_format {memory_format!r} is not "
                             f"supported (only the default row-major layout)")
        return get_backend(self._device.type).is_contiguous(self._data)

    def stride(self, dim: int | None = None):
        """The step in elements between neighbours along each dimension (a tuple), or
        along ``dim`` (an int), as ``torch.Tensor.stride``."""
        strides = get_backend(self._device.type).strides(self._data)
        if dim is None:
            return strides
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"stride(): argument 'dim' must be int, got {type(dim).__name__}")
        n = len(strides)
        if n == 0:
            raise IndexError(f"stride(): dimension specified as {dim} but the tensor has no "
                             f"dimensions")
        if not -n <= dim < n:
            raise IndexError(f"stride(): dimension out of range (expected to be in range of "
                             f"[{-n}, {n - 1}], but got {dim})")
        return strides[dim]

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self._data.dtype.itemsize

    @property
    def is_meta(self) -> bool:
        return self._device.type == "meta"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    def is_complex(self) -> bool:
        """Whether the dtype is complex (``complex64``, ``complex128``)."""
        return self.dtype._kind == "c"

    def is_conj(self) -> bool:
        """``False``: ember conjugates at once (it has no lazy conjugate bit)."""
        return False

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def __len__(self) -> int:
        if not self._data.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # -- autograd state -------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records ops on this tensor (leaves only)."""
        if requires_grad and self.dtype._kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point and complex dtype can "
                               f"require gradients, got {self.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; "
                               "use detach() to get a tensor that does not require grad")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        vc = self._vc
        return 0 if vc is None else vc.value

    def _version_counter(self) -> _VersionCounter:
        """The counter shared with views (created on demand)."""
        vc = self._vc
        if vc is None:
            vc = self._vc = _VersionCounter()
        return vc

    def _bump_version(self) -> None:
        """Record an in-place modification (autograd checks saved tensors against it)."""
        vc = self._vc
        if vc is None:
            vc = self._vc = _VersionCounter()
        vc.value += 1

    @property
    def data(self) -> Tensor:
        """This tensor's data, detached from autograd (shares memory)."""
        return self.detach()

    @data.setter
    def data(self, other: Tensor) -> None:
        self._data = other._data
        self._device = other._device

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the autograd graph."""
        t = Tensor._make(self._data, self._device)
        t._vc = self._version_counter()
        t._base = self._base if self._base is not None else self
        if t._owned:  # the buffer is this tensor's, not the detached alias's
            OBSERVED_ALLOCATORS[self._device.type].record_free(t._owned)
            t._owned = 0
        if _tracing[0] is not None:  # not an op: ember.jit records the alias itself
            _tracing[0].alias(self, t)
        return t

    # -- host conversions -------------------------------------------------------------------
    def _backend(self):
        return get_backend(self._device.type)

    def _host(self) -> np.ndarray:
        if _tracing[0] is not None:  # ember.jit refuses data-dependent Python while tracing
            _tracing[0].read(self)
        if self._device.type == "cpu":
            return self._data
        return get_backend(self._device.type).to_host(self._data)

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """A numpy array; shares memory on the CPU (as PyTorch's ``Tensor.numpy``)."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if self._device.type != "cpu" and not force:
            raise TypeError(f"can't convert {self._device} device type tensor to numpy. "
                            f"Use Tensor.cpu() to copy the tensor to host memory first.")
        return self._host()

    def __array__(self, dtype=None, copy=None):
        # NumPy 2 protocol: copy=True must copy, copy=False must not (or raise).
        a = self.detach()._host()
        fresh = a is not self._data  # a device tensor's host copy is already new
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError(f"__array__(): converting {self.dtype} to {np.dtype(dtype)} "
                                 f"needs a copy, but copy=False was given")
            return a.astype(dtype)
        if copy is False and fresh:
            raise ValueError(f"__array__(): a tensor on {self._device} can't be viewed as a "
                             f"numpy array without a copy, but copy=False was given")
        return a.copy() if copy and not fresh else a

    def share_memory_(self, strategy: str | None = None) -> Tensor:
        """Move this CPU tensor's data into host shared memory (no-op when it is
        already there), so that processes it is sent to through
        ``ember.multiprocessing`` map the same pages.  Unlike PyTorch, views taken
        *before* the move keep the old memory (ember has no separate storage object).
        Tensors on other devices are left as they are: their plugin decides how they
        travel (hook ``ember_tensor_reduce``)."""
        if self._device.type != "cpu":
            return self
        from .multiprocessing import shared_memory as shm
        if shm.segment_of(self._data) is None:
            self._data = shm.shared_copy(self._data, strategy)
        return self

    def is_shared(self) -> bool:
        """Whether this CPU tensor's data is in host shared memory."""
        if self._device.type != "cpu":
            return False
        import sys
        shm = sys.modules.get("ember.multiprocessing.shared_memory")
        return shm is not None and shm.segment_of(self._data) is not None

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if math.prod(self._data.shape) != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be "
                               f"converted to Scalar")
        return self._host().item()

    def tolist(self):
        """The data as (nested) Python lists of numbers."""
        return self._host().tolist()

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.numel()} elements "
                               f"is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted "
                            "to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __iter__(self):
        if not self._data.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self) -> str:
        from ._format import format_body, with_suffixes
        suffixes = []
        if self._device.type != "cpu":
            suffixes.append(f"device='{self._device}'")
        if self._device.type == "meta":
            return f"tensor(..., device='meta', size={tuple(self.shape)}, dtype={self.dtype})"
        arr = self.detach()._host()
        default = _dt.get_default_dtype()
        if arr.size == 0:  # as PyTorch: tensor([]) needs no size; only float32 no dtype
            if arr.shape != (0,):
                suffixes.append(f"size={tuple(arr.shape)}")
            if self.dtype is not default:
                suffixes.append(f"dtype={self.dtype}")
        elif self.dtype not in (default, _dt.int64, _dt.bool, _dt.to_complex(default)):
            suffixes.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self._requires_grad:
            suffixes.append("requires_grad=True")
        return with_suffixes("tensor(" + format_body(arr), suffixes)

    # -- device and dtype movement ---------------------------------------------------------
    def to(self, *args, **kwargs) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other)``; returns
        ``self`` when nothing changes (unless ``copy=True``)."""
        dev, dt = None, None
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        # keywords mean what they say (dtype='nope' is a bad dtype, not a device)
        if kwargs.get("dtype") is not None:
            dt = _dt.as_dtype(kwargs.pop("dtype"), op="to", arg="dtype")
        if kwargs.get("device") is not None:
            dev = _device(kwargs.pop("device"))
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Tensor):
                dev, dt = a._device, a.dtype
            elif isinstance(a, _dt.dtype) or a in (float, int, bool) or (
                    isinstance(a, str) and a in _dt._NAMES and a not in ("cpu", "meta")):
                dt = _dt.as_dtype(a)
            elif a is None:
                continue
            else:
                try:
                    dev = _device(a)
                except (TypeError, ValueError):
                    dt = _dt.as_dtype(a, op="to", arg="dtype")
        bad = set(kwargs) - {"device", "dtype"}
        if bad:
            raise TypeError(f"to(): unexpected keyword argument(s) {sorted(bad)}")
        out = self
        if dev is not None:
            dev = tensor_device(dev)
            if dev is not self._device:
                from .ops import _to_device
                out = _to_device(out, dev)
        if dt is not None and dt is not out.dtype:
            out = out.astype(dt)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def type(self, dtype=None):
        if dtype is None:
            return f"ember.{self.dtype.name}"
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(_dt.float32)

    def double(self) -> Tensor:
        return self.to(_dt.float64)

    def half(self) -> Tensor:
        return self.to(_dt.float16)

    def long(self) -> Tensor:
        return self.to(_dt.int64)

    def int(self) -> Tensor:
        return self.to(_dt.int32)

    def bool(self) -> Tensor:
        return self.to(_dt.bool)

    def bfloat16(self) -> Tensor:
        return self.to(_dt.bfloat16)

    def __reduce_ex__(self, protocol):
        raise TypeError("ember tensors are not picklable (pickle runs code on load); "
                        "use ember.save / ember.load")

    def __deepcopy__(self, memo: dict) -> Tensor:
        """``copy.deepcopy``: a leaf with its own copy of the data on the same device,
        the same ``requires_grad``, parameter mark and (copied) ``.grad``, as PyTorch's
        (so ``copy.deepcopy(model)`` works).  Like PyTorch, a tensor computed by a
        recorded op refuses: copying it would cut it from its graph silently."""
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol: this one was computed by "
                               f"{type(self.grad_fn).__name__}; copy x.detach() instead")
        key = id(self)
        if key in memo:
            return memo[key]
        new = memo[key] = self.detach().clone()
        if self.__dict__.get("_is_param"):
            new._is_param = True
        if self._requires_grad:
            new._requires_grad = True
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        return new


_new = object.__new__


def is_tensor(obj) -> bool:
    """Whether ``obj`` is an ember Tensor."""
    return isinstance(obj, Tensor)


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        from .errors import OpError
        raise OpError(f"{op}(): dimension out of range (expected to be in range of "
                      f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


# --- creation from data ----------------------------------------------------------------
# One path turns Python and numpy values into a host array: it infers the dtype with
# PyTorch's rules and checks every value against the dtype it lands in
# (``dtypes.check_fits``), so nothing wraps silently.  Tensors and numpy arrays convert
# as PyTorch converts them: with the array's own cast.

_PY_DTYPES = {bool: _dt.bool, int: _dt.int64}
_NUMBER_CLASSES = frozenset({bool, int, float, complex})


def _leaves(data, out: set) -> None:
    """Collect what the nested sequences ``data`` hold: the classes of their numbers,
    and the dtypes of the tensors and arrays among them."""
    c = data.__class__
    if c is list or c is tuple:
        kinds = set(map(type, data))
        if kinds <= _NUMBER_CLASSES:  # the common case: a flat list of Python numbers
            out |= kinds
            return
        for x in data:
            _leaves(x, out)
    elif c is range:
        out.add(int)
    elif isinstance(data, Tensor):
        out.add(data.dtype)
    elif isinstance(data, np.ndarray):
        out.add(data.dtype.type)
    else:
        out.add(c)


def _leaf_dtype(leaf, data, fn: str) -> _dt.dtype:
    """PyTorch's inferred dtype of one kind of leaf: bool, int64, the default float, or
    a numpy scalar's (an array's, a tensor's) own dtype."""
    if isinstance(leaf, _dt.dtype):
        return leaf
    d = _PY_DTYPES.get(leaf)
    if d is not None:
        return d
    if leaf is float:
        return _dt.get_default_dtype()
    if leaf is complex:
        return _dt.get_default_complex_dtype()
    if issubclass(leaf, np.generic):
        d = _FROM_NP.get(leaf)
        if d is None:
            raise TypeError(f"{fn}(): ember has no dtype for numpy {leaf.__name__} values")
        return d
    raise TypeError(f"{fn}(): could not infer a dtype for {data!r}: expected numbers or "
                    f"(nested) sequences of numbers with equal lengths, got a "
                    f"{leaf.__name__}")


def _from_values(data, dtype: _dt.dtype | None, fn: str) -> np.ndarray:
    """A host array from Python or numpy numbers (nested sequences of them)."""
    c = data.__class__
    if c in _NUMBER_CLASSES and (c is not int or -2 ** 63 <= data < 2 ** 63):
        # one Python number (the common case of tensor(1.5)): the same rules, shorter
        target = dtype or _PY_DTYPES.get(c) or (
            _dt.get_default_complex_dtype() if c is complex else _dt.get_default_dtype())
        if c is complex and target._kind != "c":
            raise TypeError(f"{fn}(): a complex value cannot be converted to {target.name}")
        if target._kind == "i":
            _dt.check_fits(fn, data, target)
            if c is int and not target.is_signed:
                data = _dt.as_c_int(data, target)  # (uint8's -255..-1: numpy refuses)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.array(data, dtype=target.np)
    leaves: set = set()
    _leaves(data, leaves)
    found = [_leaf_dtype(leaf, data, fn) for leaf in leaves]
    target = dtype or (functools.reduce(_dt.promote_types, found) if found
                       else _dt.get_default_dtype())  # (tensor([]) is float32)
    kinds = {d._kind for d in found}
    ints, floats = "i" in kinds, "f" in kinds
    try:
        src = np.asarray(data) if not (ints and floats and target._kind == "i") \
            else np.asarray(data, dtype=object)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{fn}(): could not convert data of type {type(data).__name__} "
                        f"to a tensor: {e}") from None
    if ints and not floats and src.dtype.kind == "f":
        src = np.asarray(data, dtype=object)  # integers numpy could not hold as integers
    if src.dtype == object and not (ints and floats):
        if ints and target._kind == "i":  # an integer beyond int64: name it exactly
            for v in src.flat:
                _dt.check_fits(fn, v, target)
        if not ints:
            raise TypeError(f"{fn}(): could not infer a dtype for {data!r}: expected "
                            f"numbers or (nested) sequences of numbers with equal lengths")
        src = np.asarray(data, dtype=np.float64 if target._kind == "f" else np.bool_)
    elif src.dtype == np.uint64:  # integers in [2**63, 2**64): beyond every ember dtype
        if target._kind == "i":
            _dt.check_fits(fn, int(src.max()), target)
        src = src.astype(np.float64 if target._kind == "f" else np.bool_)
    if target._kind == "i":
        if src.dtype == object:  # integers and floats mixed: check each by its own kind
            for v in src.flat:
                _dt.check_fits(fn, v, target)
            src = src.astype(np.int64)
        else:
            _dt.check_fits(fn, src, target)
    with np.errstate(over="ignore", invalid="ignore"):  # floats too large become inf
        return src.astype(target.np, copy=False)


def _host_array(data, dtype: _dt.dtype | None, fn: str) -> np.ndarray:
    if isinstance(data, Tensor):
        arr = data.detach()._host()
    elif isinstance(data, np.ndarray):
        arr = data
    else:
        return _from_values(data, dtype, fn)
    if dtype is not None:
        with np.errstate(over="ignore", invalid="ignore"):  # numpy's cast, as PyTorch's
            arr = arr.astype(dtype.np, copy=False)
    elif _dt.lookup(arr.dtype) is None:
        raise TypeError(f"{fn}(): ember has no dtype for numpy dtype {arr.dtype}")
    return arr


def tensor(data: Any, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors)."""
    dt = _dt.as_dtype(dtype, op="tensor") if dtype is not None else None
    arr = _host_array(data, dt, "tensor")
    dev = tensor_device(_device(device) if device is not None else get_default_device())
    if dev.type == "cpu":
        native = np.array(arr, copy=True, order="C")
    else:
        native = get_backend(dev.type).from_host(np.asarray(arr, order="C"), dev.index or 0)
    t = Tensor._make(native, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor or a numpy array when the dtype
    and device already match."""
    dt = _dt.as_dtype(dtype, op="as_tensor") if dtype is not None else None
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dt)
    dev = tensor_device(_device(device) if device is not None else get_default_device())
    if isinstance(data, np.ndarray) and dev.type == "cpu" and (dt is None or dt.np == data.dtype) \
            and _dt.lookup(data.dtype) is not None:
        return Tensor._make(data, dev)
    return tensor(data, dtype=dt, device=dev)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``array`` (writes show on both sides)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy(): expected np.ndarray, got {type(array).__name__}")
    if _dt.lookup(array.dtype) is None:
        raise TypeError(f"from_numpy(): can't convert np.ndarray of type {array.dtype}; "
                        f"the only supported types are: "
                        f"{', '.join(sorted(d.name for d in _dt._ALL))}")
    if not array.flags.writeable:
        import warnings
        warnings.warn("from_numpy(): the given NumPy array is not writable; the tensor "
                      "shares its memory, so in-place ops on it will fail. Copy the array "
                      "(or use ember.tensor) to get a writable tensor.", UserWarning,
                      stacklevel=2)
    return Tensor._make(array, tensor_device(_device("cpu")))


# The dispatcher (and the schema's generated code under it) recognise tensors by class:
# the one hand-down across the layers, made once, here.
from .dispatch import bind_tensor_class  # noqa: E402

bind_tensor_class(Tensor)
