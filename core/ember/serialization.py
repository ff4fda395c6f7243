"""``ember.save`` / ``ember.load``: tensors and nested containers in a safe format.

A checkpoint is one safetensors file.  The tensors are its entries; the structure
around them (dicts, lists, tuples, numbers, strings, ``None``) is a JSON document in
the file's metadata that refers to the entries by name.  Loading parses JSON and raw
arrays only, so it never executes code from the file (unlike pickle).  A truncated or
corrupt file raises :class:`CheckpointError` saying what is wrong.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from . import dtypes as _dt
from .device import device as _device
from .errors import EmberError
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

FORMAT = "ember.checkpoint"
VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


class CheckpointError(EmberError, ValueError):
    """A file is not a readable ember checkpoint (truncated, corrupt, or foreign)."""


def _safetensors():
    """``safetensors.numpy``, imported on first save/load: it is the ``io`` extra, not a
    dependency of ``import ember``."""
    try:
        import safetensors.numpy
    except ImportError:
        raise ModuleNotFoundError(
            "ember.save()/ember.load() need the safetensors package: "
            "pip install 'ember[io]' (or safetensors)", name="safetensors") from None
    return safetensors.numpy


# --- encoding ----------------------------------------------------------------------------

class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._ids: dict[int, str] = {}

    def tensor(self, t: Tensor) -> dict:
        key = self._ids.get(id(t))
        if key is None:
            key = self._ids[id(t)] = f"t{len(self._ids)}"
            arr = t.detach()._host()
            if not arr.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d 1-d)
                arr = arr.copy(order="C")
            self.arrays[key] = arr
        from .nn.parameter import Parameter
        out = {"tensor": key, "dtype": t.dtype.name, "shape": list(t.shape),
               "device": str(t.device)}
        if t.requires_grad:
            out["requires_grad"] = True
        if isinstance(t, Parameter):
            out["parameter"] = True
        return out

    def encode(self, x: Any, path: str):
        if isinstance(x, Tensor):
            return self.tensor(x)
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return x if abs(x) < 2 ** 53 else {"int": str(x)}
        if isinstance(x, float):
            return x if math.isfinite(x) else {"float": repr(x)}
        if isinstance(x, (np.integer, np.floating, np.bool_)):
            return self.encode(x.item(), path)
        if isinstance(x, _dt.dtype):
            return {"dtype": x.name}
        if isinstance(x, _device):
            return {"device": str(x)}
        if isinstance(x, dict):
            return {"dict": [[self.encode(k, f"{path} (a key)"), self.encode(v, f"{path}[{k!r}]")]
                             for k, v in x.items()]}
        if isinstance(x, list):
            return {"list": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(x)]}
        if isinstance(x, tuple):
            return {"tuple": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(x)]}
        if isinstance(x, np.ndarray):
            raise TypeError(f"ember.save(): can't save a numpy array at {path}; convert it "
                            f"with ember.from_numpy() first")
        raise TypeError(f"ember.save(): can't save a value of type {type(x).__name__} at "
                        f"{path}; checkpoints hold tensors, dicts, lists, tuples, str, int, "
                        f"float, bool and None (save a module's state_dict(), not the module)")


def _storage_dtype(d: np.dtype) -> np.dtype:
    """The numpy dtype a tensor of dtype ``d`` is stored as.  safetensors has no bool
    entries in every version and no bfloat16 in numpy's view: their raw bytes are
    stored as uint8 / uint16, and the JSON keeps the real dtype.  It has no complex
    dtypes either: a complex tensor is stored as its real view (``view_as_real``: its
    parts' dtype, one more dim of size 2), and the JSON's dtype marks it complex."""
    if d == np.bool_:
        return np.dtype(np.uint8)
    if d.kind == "c":
        return d.type(0).real.dtype
    if d.name == "bfloat16":  # (by name: comparing with bfloat16.np would load it)
        return np.dtype(np.uint16)
    return d


def _storage_array(arr: np.ndarray) -> np.ndarray:
    stored = _storage_dtype(arr.dtype)
    if arr.dtype.kind == "c":
        return arr[..., None].view(stored)  # (..., 2): the parts (view_as_real)
    return arr if stored == arr.dtype else arr.view(stored)


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Save ``obj`` — a tensor, or nested dicts/lists/tuples of tensors and plain values
    (a ``state_dict``, an optimizer's ``state_dict``, …) — to a path or binary file."""
    import json  # (here, not at the top: json costs ~3 ms of every `import ember`)

    st_save = _safetensors().save
    enc = _Encoder()
    structure = enc.encode(obj, "the top level")
    meta = {"format": FORMAT, "version": str(VERSION), "structure": json.dumps(structure)}
    data = st_save({k: _storage_array(a) for k, a in enc.arrays.items()}, metadata=meta)
    if hasattr(f, "write"):
        f.write(data)
        return
    _write_atomically(os.fspath(f), data)


def _write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never
    a mix: a temp file of its own (concurrent saves to one path never share one) in the
    target's directory, fsynced, then renamed over the target.  Any failure removes the
    temp file, keeps the old checkpoint, and names ``path`` in its error."""
    import errno
    import tempfile

    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "ember.save(): the path is a directory", path)
    directory, base = os.path.split(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory or None)
    except OSError as e:
        raise _os_error(e, path) from None
    try:
        with open(fd, "wb") as fh:
            if hasattr(os, "fchmod"):  # (mkstemp makes it private: 0o600)
                os.fchmod(fh.fileno(), _new_file_mode(path))
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as e:  # (KeyboardInterrupt too: never leave the temp file)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _os_error(e, path) from None
        raise


def _os_error(e: OSError, path: str) -> OSError:
    """``e`` (about a temp file) as the same kind of error about the user's path."""
    return OSError(e.errno, f"ember.save(): can't write the checkpoint: {e.strerror}", path) \
        if e.errno is not None else e


def _new_file_mode(path: str) -> int:
    """The permissions a plain ``open(path, "w")`` would give: the old file's, or
    0o666 less the process's umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    try:  # the umask without os.umask(), which would change it for every thread
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


# --- decoding ----------------------------------------------------------------------------

def _read_bytes(f, name: str) -> bytes:
    if hasattr(f, "read"):
        return f.read()
    try:
        with open(os.fspath(f), "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"ember.load(): no such file: {name!r}") from None


def _header(data: bytes, name: str) -> dict:
    import json
    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"ember.load(): {name!r} is not a valid ember checkpoint: {why}")
    if len(data) < 8:
        raise bad(f"the file has only {len(data)} bytes (truncated or empty)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER:
        raise bad("the header length is implausible (corrupt file, or not a safetensors "
                  "checkpoint)")
    if len(data) < 8 + n:
        raise bad(f"the file is truncated: its header needs {n} bytes but only "
                  f"{len(data) - 8} follow")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise bad("it has no ember structure (a plain safetensors file? load it with "
                  "safetensors, or save it with ember.save)")
    end = 0
    for k, v in header.items():
        if k == "__metadata__":
            continue
        try:
            begin, stop = (int(x) for x in v["data_offsets"])
            shape = [int(x) for x in v["shape"]]
        except (KeyError, TypeError, ValueError):
            raise bad(f"entry {k!r} has no valid data_offsets and shape") from None
        size = _ENTRY_ITEMSIZE.get(v.get("dtype"))
        if size is None:
            raise bad(f"entry {k!r} has an unknown dtype {v.get('dtype')!r}")
        if min(shape, default=0) < 0 or stop - begin != math.prod(shape) * size:
            raise bad(f"entry {k!r} holds {stop - begin} bytes, but its dtype "
                      f"{v['dtype']} and shape {shape} need {math.prod(shape) * size}")
        end = max(end, stop)
    if len(data) < 8 + n + end:
        raise bad(f"the file is truncated: the tensor data needs {end} bytes but only "
                  f"{len(data) - 8 - n} are present")
    try:
        version = int(meta.get("version", "0"))
    except ValueError:
        raise bad("its version is not a number") from None
    if version > VERSION:
        raise bad(f"it was written by a newer ember (format version {version}, this ember "
                  f"reads up to {VERSION})")
    return meta


#: safetensors' dtype names -> bytes per element (the entries ember writes, and more)
_ENTRY_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
                   "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def _locator(map_location) -> Callable:
    """``saved device -> target device`` (or the user's callable) from ``map_location``."""
    if map_location is None:
        return lambda saved: saved
    if callable(map_location) and not isinstance(map_location, (str, _device)):
        return map_location
    if isinstance(map_location, dict):
        table = {str(k): str(v) for k, v in map_location.items()}
        return lambda saved: table.get(saved, saved)
    target = str(_device(map_location) if not isinstance(map_location, _device)
                 else map_location)
    return lambda saved: target


def load(f: str | os.PathLike | BinaryIO, map_location=None, weights_only: bool = True,
         **kwargs) -> Any:
    """Load what ``save`` wrote.

    ``map_location`` puts tensors on another device: a device (``"cpu"``), a dict
    mapping saved device strings to new ones (``{"rocm:0": "cpu"}``), or a callable
    ``(tensor_on_cpu, saved_device) -> tensor``.  ``weights_only`` is accepted for
    PyTorch compatibility: loading never runs code, whatever its value.
    """
    import json

    st_load = _safetensors().load

    from .tensor import tensor as _tensor
    name = os.fspath(f) if not hasattr(f, "read") else getattr(f, "name", "<file>")
    data = _read_bytes(f, name)
    meta = _header(data, name)
    try:
        arrays = st_load(data)
        structure = json.loads(meta["structure"])
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"ember.load(): {name!r} is corrupt: {e}") from None
    locate = _locator(map_location)
    callable_map = callable(map_location) and not isinstance(map_location, (str, _device,
                                                                            dict))
    made: dict[str, Tensor] = {}

    def bad(why):
        return CheckpointError(f"ember.load(): {name!r} is corrupt: {why}")

    def tensor_of(node: dict) -> Tensor:
        key = node["tensor"]
        if key in made:
            return made[key]
        if key not in arrays:
            raise bad(f"the structure refers to a missing tensor entry {key!r}")
        dt = _dt.as_dtype(node["dtype"])
        arr = arrays[key]
        # The tag must describe the stored bytes: a tampered "int32" over float32 data
        # (or "float64", halving the shape) would otherwise load as garbage.
        if arr.dtype != _storage_dtype(dt.np):
            raise bad(f"tensor {key!r} is tagged {dt.name}, but its entry holds "
                      f"{arr.dtype} data")
        shape = node.get("shape")  # (absent in checkpoints of earlier versions)
        if dt.is_complex:  # stored as its real view (see _storage_dtype)
            if not arr.shape or arr.shape[-1] != 2:
                raise bad(f"tensor {key!r} is tagged {dt.name}, but its entry of shape "
                          f"{list(arr.shape)} does not hold (real, imaginary) pairs")
            arr = np.ascontiguousarray(arr).view(dt.np)[..., 0]
        if shape is not None and list(arr.shape) != shape:
            raise bad(f"tensor {key!r} is tagged with shape {shape}, but its entry has "
                      f"shape {list(arr.shape)}")
        if arr.dtype != dt.np:
            arr = arr.view(dt.np)
        host = _tensor(arr, dtype=dt)
        if callable_map:
            t = locate(host, node.get("device", "cpu"))
        else:
            t = host.to(locate(node.get("device", "cpu")))
        if node.get("parameter"):
            from .nn.parameter import Parameter
            t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
        elif node.get("requires_grad"):
            t.requires_grad_(True)
        made[key] = t
        return t

    def decode(node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, dict) and len(node) >= 1:
            if "tensor" in node:
                return tensor_of(node)
            (kind, value), = list(node.items())[:1]
            if kind == "dict":
                return {_hashable(decode(k)): decode(v) for k, v in value}
            if kind == "list":
                return [decode(v) for v in value]
            if kind == "tuple":
                return tuple(decode(v) for v in value)
            if kind == "float":
                return float(value)
            if kind == "int":
                return int(value)
            if kind == "dtype":
                return _dt.as_dtype(value)
            if kind == "device":
                return _device(value)
        raise bad(f"unknown structure node {str(node)[:80]!r}")

    try:
        return decode(structure)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise bad(f"malformed structure ({type(e).__name__}: {e})") from None


def _hashable(k):
    return tuple(_hashable(v) for v in k) if isinstance(k, list) else k

