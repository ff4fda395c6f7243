"""ember.save / ember.load: tensors of every dtype and shape, nested structures, state
dicts, map_location, and clear errors for corrupt, truncated or foreign files."""

from __future__ import annotations

import io
import json
import math
import struct

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.serialization import CheckpointError


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    ember.save(obj, buf)
    return ember.load(io.BytesIO(buf.getvalue()), **kw)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64",
                                   "float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (2, 3, 4)])
def test_tensor_roundtrip_every_dtype_and_shape(dtype, shape):
    arr = (np.random.default_rng(0).standard_normal(shape) * 10)
    t = ember.tensor(arr, dtype=getattr(ember, dtype))
    out = roundtrip(t)
    assert out.dtype is t.dtype and out.shape == t.shape and out.device == t.device
    np.testing.assert_array_equal(np.asarray(out.numpy(), dtype=np.float64),
                                  np.asarray(t.numpy(), dtype=np.float64))


def test_non_contiguous_and_special_values():
    t = ember.tensor([[1.0, float("nan")], [float("inf"), -0.0]]).t()
    out = roundtrip(t)
    np.testing.assert_array_equal(out.numpy(), t.numpy())
    assert math.copysign(1, out.numpy()[1, 1]) == -1


def test_nested_structure():
    a = ember.randn(2)
    obj = {"a": a, "same": a, "list": [1, 2.5, None, "s", True, (3, ember.ones(1))],
           7: {"deep": [float("inf"), float("-inf"), float("nan")]}, (1, 2): "tuple key",
           "big": 2 ** 70, "dtype": ember.float16, "device": ember.device("cpu")}
    out = roundtrip(obj)
    assert out["same"] is out["a"]  # shared tensors stay shared
    np.testing.assert_array_equal(out["a"].numpy(), a.numpy())
    assert out["list"][:5] == [1, 2.5, None, "s", True] and isinstance(out["list"][5], tuple)
    assert out[7]["deep"][0] == math.inf and math.isnan(out[7]["deep"][2])
    assert out[(1, 2)] == "tuple key" and out["big"] == 2 ** 70
    assert out["dtype"] is ember.float16 and out["device"] == ember.device("cpu")


def test_module_state_dict_roundtrip_via_path(tmp_path):
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m(ember.randn(5, 3))
    path = tmp_path / "m.safetensors"
    ember.save(m.state_dict(), path)
    m2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m2.load_state_dict(ember.load(path))
    for (k, v), (k2, v2) in zip(m.state_dict().items(), m2.state_dict().items(), strict=True):
        assert k == k2
        np.testing.assert_array_equal(v.numpy(), v2.numpy())
    assert not list(tmp_path.glob("*.tmp*"))


def test_parameters_and_requires_grad_survive():
    out = roundtrip({"p": nn.Parameter(ember.ones(2)), "r": ember.ones(1, requires_grad=True)})
    assert isinstance(out["p"], nn.Parameter) and out["p"].requires_grad
    assert out["r"].requires_grad and not isinstance(out["r"], nn.Parameter)


def test_map_location_forms():
    t = ember.ones(2)
    assert roundtrip(t, map_location="cpu").device == ember.device("cpu")
    assert roundtrip(t, map_location={"cpu": "meta"}).device.type == "meta"
    seen = []

    def fn(tensor, where):
        seen.append(where)
        return tensor * 2
    np.testing.assert_array_equal(roundtrip(t, map_location=fn).numpy(), [2, 2])
    assert seen == ["cpu"]
    assert roundtrip(t, map_location=ember.device("meta")).is_meta


def test_unsupported_values_raise_with_path():
    with pytest.raises(TypeError, match=r"type Linear at the top level\['m'\]"):
        ember.save({"m": nn.Linear(1, 1)}, io.BytesIO())
    with pytest.raises(TypeError, match="numpy array"):
        ember.save([np.zeros(2)], io.BytesIO())
    with pytest.raises(TypeError, match="function"):
        ember.save({"f": lambda: 0}, io.BytesIO())


def saved_bytes(obj=None) -> bytes:
    buf = io.BytesIO()
    ember.save(obj if obj is not None else {"w": ember.randn(16, 16)}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("cut", [0, 5, 20, -10])
def test_truncated_files_raise_clear_errors(cut):
    data = saved_bytes()
    with pytest.raises(CheckpointError, match="truncated|only"):
        ember.load(io.BytesIO(data[:cut]))


def test_corrupt_header_and_foreign_files():
    data = saved_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    bad = data[:8] + b"{" * n + data[8 + n:]
    with pytest.raises(CheckpointError, match="not valid JSON"):
        ember.load(io.BytesIO(bad))
    with pytest.raises(CheckpointError, match="implausible"):
        ember.load(io.BytesIO(b"\xff" * 64))
    from safetensors.numpy import save as st_save
    with pytest.raises(CheckpointError, match="plain safetensors file"):
        ember.load(io.BytesIO(st_save({"x": np.zeros(2, np.float32)})))
    with pytest.raises(FileNotFoundError, match="no such file"):
        ember.load("/nonexistent/ckpt.safetensors")


def test_structure_referring_to_missing_entry_is_corrupt():
    from safetensors.numpy import save as st_save
    meta = {"format": "ember.checkpoint", "version": "1",
            "structure": json.dumps({"tensor": "t9", "dtype": "float32", "device": "cpu"})}
    data = st_save({"t0": np.zeros(1, np.float32)}, metadata=meta)
    with pytest.raises(CheckpointError, match="missing tensor entry 't9'"):
        ember.load(io.BytesIO(data))


def test_loading_never_runs_code():
    # A pickle payload that would create a file if unpickled: ember.load must reject it.
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    with pytest.raises(CheckpointError):
        ember.load(io.BytesIO(pickle.dumps(Evil())))


def test_tensors_refuse_pickle():
    import pickle
    with pytest.raises(TypeError, match="ember.save"):
        pickle.dumps(ember.ones(1))


# --- atomic saves (issue 21, item 4) -------------------------------------------------------

def _leftovers(directory, name):
    return sorted(p.name for p in directory.iterdir() if p.name != name)


def test_concurrent_saves_to_one_path_are_atomic(tmp_path):
    # Two threads save different checkpoints to one path, 60 times: the file is always
    # one of the two whole checkpoints, no save raises, and no temp file is left.
    import threading
    path = tmp_path / "ckpt.safetensors"
    a = {"w": ember.full((64, 64), 1.0), "tag": "a"}
    b = {"w": ember.full((32, 128), 2.0), "tag": "b"}
    errors, corrupt = [], 0
    for _ in range(60):
        barrier = threading.Barrier(2)

        def work(obj, barrier=barrier):
            barrier.wait()
            try:
                ember.save(obj, path)
            except Exception as e:  # pragma: no cover - the failure being tested
                errors.append(e)
        threads = [threading.Thread(target=work, args=(o,)) for o in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            out = ember.load(path)
            want = a if out["tag"] == "a" else b
            np.testing.assert_array_equal(out["w"].numpy(), want["w"].numpy())
        except (CheckpointError, AssertionError):  # pragma: no cover
            corrupt += 1
    assert errors == [] and corrupt == 0
    assert _leftovers(tmp_path, path.name) == []


def test_failed_save_leaves_no_temp_file_and_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"w": ember.ones(3)}, path)
    # The disk fills up in the middle of the write: the error names the user's path.
    import builtins
    import errno
    real_open = builtins.open

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

    def full_open(file, mode="r", *a, **k):
        fh = real_open(file, mode, *a, **k)
        return Full(fh) if "w" in mode else fh
    monkeypatch.setattr(builtins, "open", full_open)
    with pytest.raises(OSError, match="No space left") as info:
        ember.save({"w": ember.zeros(1000)}, path)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert _leftovers(tmp_path, path.name) == []
    np.testing.assert_array_equal(ember.load(path)["w"].numpy(), np.ones(3, np.float32))


def test_save_interrupted_by_an_exception_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"w": ember.ones(2)}, path)
    import os

    def boom(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"w": ember.zeros(2)}, path)
    monkeypatch.undo()
    assert _leftovers(tmp_path, path.name) == []
    np.testing.assert_array_equal(ember.load(path)["w"].numpy(), np.ones(2, np.float32))


def test_save_to_a_directory_names_it_and_leaves_nothing(tmp_path):
    target = tmp_path / "adir"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        ember.save({"w": ember.ones(2)}, target)
    assert info.value.filename == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]
    assert list(target.iterdir()) == []


def test_save_in_a_missing_directory_names_the_path(tmp_path):
    path = tmp_path / "missing" / "ckpt.safetensors"
    with pytest.raises(FileNotFoundError) as info:
        ember.save({"w": ember.ones(2)}, path)
    assert info.value.filename == str(path)


def test_saved_file_has_ordinary_permissions(tmp_path):
    import os
    path = tmp_path / "ckpt.safetensors"
    ember.save(ember.ones(1), path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)  # an existing checkpoint keeps its permissions
    ember.save(ember.ones(1), path)
    assert os.stat(path).st_mode & 0o777 == 0o640


# --- the loader checks each entry against its tag (issue 21, item 5) ------------------------

def _retag(data: bytes, tensor_changes: dict | None = None, entry_changes: dict | None = None):
    """The checkpoint ``data`` with its structure's tensor node (and/or its safetensors
    entry) edited by hand, as a tampered or corrupted file would be."""
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    structure = json.loads(header["__metadata__"]["structure"])
    node = structure if "tensor" in structure else structure["dict"][0][1]
    for k, v in (tensor_changes or {}).items():
        if v is None:
            node.pop(k, None)
        else:
            node[k] = v
    header["__metadata__"]["structure"] = json.dumps(structure)
    header["t0"].update(entry_changes or {})
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n:]


def test_tampered_dtype_tag_raises_checkpoint_error():
    data = saved_bytes({"w": ember.arange(12.0).reshape(3, 4)})
    assert ember.load(io.BytesIO(_retag(data)))["w"].shape == (3, 4)  # the editor is exact
    with pytest.raises(CheckpointError, match="tagged int32.*float32"):
        ember.load(io.BytesIO(_retag(data, {"dtype": "int32"})))
    with pytest.raises(CheckpointError, match="tagged float64.*float32"):
        ember.load(io.BytesIO(_retag(data, {"dtype": "float64"})))
    # Without the shape (as earlier versions wrote), the dtype check alone still holds.
    with pytest.raises(CheckpointError, match="tagged float64"):
        ember.load(io.BytesIO(_retag(data, {"dtype": "float64", "shape": None})))
    assert ember.load(io.BytesIO(_retag(data, {"shape": None})))["w"].shape == (3, 4)
    with pytest.raises(CheckpointError, match=r"shape \[4, 3\]"):
        ember.load(io.BytesIO(_retag(data, {"shape": [4, 3]})))


def test_entry_whose_bytes_do_not_match_dtype_and_shape_raises():
    data = saved_bytes({"w": ember.arange(12.0).reshape(3, 4)})
    with pytest.raises(CheckpointError, match="holds 48 bytes.*F64.*need 96"):
        ember.load(io.BytesIO(_retag(data, entry_changes={"dtype": "F64"})))
    with pytest.raises(CheckpointError, match="holds 48 bytes.*need 24"):
        ember.load(io.BytesIO(_retag(data, entry_changes={"shape": [3, 2]})))
    with pytest.raises(CheckpointError, match="unknown dtype"):
        ember.load(io.BytesIO(_retag(data, entry_changes={"dtype": "Q9"})))
