"""DLPack exchange with numpy and PyTorch: zero-copy both ways, the standard's
keywords (``stream``, ``max_version``, ``dl_device``, ``copy``), clear errors."""

import numpy as np
import pytest

import ember
from ember.dlpack import DLDeviceType

torch = pytest.importorskip("torch", reason="PyTorch is the DLPack peer of these tests")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
          "float64"]


def _ptr(t: ember.Tensor) -> int:
    return np.from_dlpack(t).ctypes.data


# --- numpy <-> ember ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_from_ember_shares_memory(dtype):
    t = ember.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    a = np.from_dlpack(t)
    assert a.ctypes.data == t.numpy().ctypes.data
    assert a.dtype == np.dtype(dtype) and a.shape == (2, 3)
    np.testing.assert_array_equal(a, t.numpy())
    a[0, 0] = 1
    t.numpy()[1, 2] = 0
    assert t.numpy()[0, 0] == 1 and a[1, 2] == 0  # both sides see both writes


@pytest.mark.parametrize("dtype", DTYPES)
def test_ember_from_numpy_shares_memory(dtype):
    a = np.arange(6).reshape(3, 2).astype(dtype)
    t = ember.from_dlpack(a)
    assert isinstance(t, ember.Tensor) and t.device == ember.device("cpu")
    assert t.dtype.np == a.dtype
    assert _ptr(t) == a.ctypes.data
    a[2, 1] = 0
    assert t.numpy()[2, 1] == 0
    t.numpy()[0, 0] = 1
    assert a[0, 0] == 1


def test_non_contiguous_views_keep_strides():
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    view = base[::2, 1::2]
    t = ember.from_dlpack(view)
    np.testing.assert_array_equal(t.numpy(), view)
    assert _ptr(t) == view.ctypes.data
    back = np.from_dlpack(t)
    assert back.strides == view.strides
    back[1, 2] = -1
    assert base[2, 5] == -1


def test_zero_dim_and_empty():
    for a in (np.array(3.5), np.zeros((0, 4), np.float32)):
        t = ember.from_dlpack(a)
        assert t.shape == a.shape and t.dtype.np == a.dtype
        np.testing.assert_array_equal(np.from_dlpack(t), a)


# --- torch <-> ember ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_from_ember_shares_memory(dtype):
    t = ember.tensor(np.arange(5).astype(dtype))
    pt = torch.from_dlpack(t)
    assert pt.data_ptr() == t.numpy().ctypes.data
    np.testing.assert_array_equal(pt.numpy(), t.numpy())
    pt[1] = 0
    assert t.numpy()[1] == 0
    t.numpy()[4] = 1
    assert bool(pt[4] == 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ember_from_torch_shares_memory(dtype):
    pt = torch.arange(6).reshape(2, 3).to(getattr(torch, dtype))
    t = ember.from_dlpack(pt)
    assert t.shape == (2, 3) and str(t.dtype).endswith(dtype)
    assert t.numpy().ctypes.data == pt.data_ptr()
    pt[0, 1] = 1
    assert t.numpy()[0, 1] == 1
    t.numpy()[1, 2] = 0
    assert bool(pt[1, 2] == 0)


def test_torch_non_contiguous_transposed():
    pt = torch.arange(12.0).reshape(3, 4).t()
    t = ember.from_dlpack(pt)
    np.testing.assert_array_equal(t.numpy(), pt.numpy())
    assert t.numpy().strides == tuple(s * 4 for s in pt.stride())
    back = torch.from_dlpack(t)
    assert back.stride() == pt.stride() and back.data_ptr() == pt.data_ptr()


def test_round_trip_ember_torch_ember_is_the_same_memory():
    t = ember.tensor([1.0, 2.0, 3.0])
    t2 = ember.from_dlpack(torch.from_dlpack(t))
    assert _ptr(t2) == _ptr(t)
    t2.numpy()[0] = 9.0
    assert t.tolist() == [9.0, 2.0, 3.0]


# --- the protocol's keywords -------------------------------------------------------------------

def test_dlpack_device_is_cpu_enum():
    code, index = ember.zeros(2).__dlpack_device__()
    assert code == DLDeviceType.kDLCPU == 1 and isinstance(code, DLDeviceType) and index == 0
    assert ember.zeros(2).__dlpack_device__() == np.zeros(2).__dlpack_device__()


def test_max_version_gives_versioned_capsule():
    t = ember.ones(3)
    assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(t.__dlpack__())  # legacy consumers get a legacy capsule


def test_copy_true_does_not_share():
    t = ember.tensor([1.0, 2.0])
    a = np.from_dlpack(t, copy=True)
    assert a.ctypes.data != _ptr(t)
    a[0] = 5
    assert t.tolist() == [1.0, 2.0]
    src = np.array([1.0, 2.0])
    c = ember.from_dlpack(src, copy=True)
    src[0] = 7
    assert c.tolist() == [1.0, 2.0]


def test_copy_false_and_dl_device():
    t = ember.tensor([1.0, 2.0])
    a = np.from_dlpack(t, copy=False, device="cpu")
    assert a.ctypes.data == _ptr(t)
    capsule = t.__dlpack__(dl_device=(1, 0), copy=False, max_version=(1, 0))
    assert torch.from_dlpack(capsule).data_ptr() == _ptr(t)  # consumers take bare capsules
    with pytest.raises(BufferError, match="only its own device"):
        t.__dlpack__(dl_device=(2, 0))


def test_stream_must_be_none_on_cpu():
    with pytest.raises((BufferError, ValueError, RuntimeError)):
        ember.ones(2).__dlpack__(stream=1)


def test_requires_grad_tensor_is_refused_like_torch():
    t = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="require gradient"):
        t.__dlpack__()
    assert np.from_dlpack(t.detach()).tolist() == [1.0, 1.0]


def test_meta_tensors_cannot_be_exported():
    with pytest.raises(BufferError, match="meta"):
        ember.zeros(2, device="meta").__dlpack_device__()


def test_from_dlpack_rejects_non_producers():
    with pytest.raises(TypeError, match="from_dlpack\\(\\): argument 'x' must implement"):
        ember.from_dlpack([1, 2, 3])


def test_from_dlpack_of_a_tensor_is_that_tensor():
    t = ember.ones(2)
    assert ember.from_dlpack(t) is t
    c = ember.from_dlpack(t, copy=True)
    assert c is not t and _ptr(c) != _ptr(t)


def test_unsupported_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="uint16"):
        ember.from_dlpack(np.ones(2, np.uint16))
    assert ember.from_dlpack(np.ones(2, np.complex64)).dtype is ember.complex64
    # numpy (the CPU backend's runtime) has no DLPack bfloat16
    with pytest.raises(BufferError, match="bfloat16"):
        ember.from_dlpack(torch.ones(2, dtype=torch.bfloat16))


def test_from_dlpack_device_argument():
    a = np.arange(3.0)
    t = ember.from_dlpack(a, device="cpu")
    assert _ptr(t) == a.ctypes.data
    m = ember.from_dlpack(a, device="meta")
    assert m.device == ember.device("meta") and m.shape == (3,)
    with pytest.raises(BufferError, match="copy=False"):
        ember.from_dlpack(a, device="meta", copy=False)


class _Producer:
    """A DLPack producer written before DLPack 1.0: ``__dlpack__(stream=None)`` only."""

    def __init__(self, arr):
        self.arr = arr

    def __dlpack__(self, stream=None):
        return self.arr.__dlpack__()

    def __dlpack_device__(self):
        return self.arr.__dlpack_device__()


def test_legacy_producer_is_consumed_without_copy():
    a = np.arange(4.0)
    t = ember.from_dlpack(_Producer(a))
    assert _ptr(t) == a.ctypes.data


# --- dpnp on Intel devices (the xpu backend) ------------------------------------------------

def _xpu_available() -> bool:
    try:
        return ember.is_available("xpu")
    except Exception:  # a broken plugin counts as absent here; test_plugins covers it
        return False


@pytest.mark.xpu
@pytest.mark.skipif(not _xpu_available(), reason="no SYCL device through ember-xpu")
def test_dpnp_exchange_is_zero_copy_both_ways():
    dpnp = pytest.importorskip("dpnp")
    t = ember.tensor(np.arange(6.0, dtype=np.float32), device="xpu")
    code, _ = t.__dlpack_device__()
    assert code == DLDeviceType.kDLOneAPI
    d = dpnp.from_dlpack(t)
    assert d.get_array()._pointer == t._data._pointer
    d[0] = 42.0
    assert t.cpu().tolist()[0] == 42.0
    src = dpnp.arange(4.0, dtype=dpnp.float32)
    e = ember.from_dlpack(src)
    assert e.device.type == "xpu" and e._data._pointer == src.get_array()._pointer
    src[1] = -1.0
    assert e.cpu().tolist() == [0.0, -1.0, 2.0, 3.0]
    host = np.from_dlpack(t, device="cpu")  # the producer copies to the host
    assert host.tolist()[0] == 42.0
    on_cpu = ember.from_dlpack(src, device="cpu")
    assert on_cpu.device == ember.device("cpu") and on_cpu.tolist() == [0.0, -1.0, 2.0, 3.0]
    on_xpu = ember.from_dlpack(np.arange(3.0, dtype=np.float32), device="xpu")
    assert on_xpu.device.type == "xpu" and on_xpu.cpu().tolist() == [0.0, 1.0, 2.0]
