"""Device contracts: host round trips are bit-exact in every supported dtype, device
enumeration is consistent, synchronisation works, and tensors stay on their device."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.device import get_backend

from ._context import begin
from .samples import ALL_DTYPES


def _extremes(name: str) -> np.ndarray:
    d = getattr(ember, name)
    if name == "bool":
        return np.array([True, False, True])
    if d.is_floating_point:
        fi = ember.finfo(d)
        vals = [np.nan, np.inf, -np.inf, 0.0, -0.0, fi.max, -fi.max, fi.tiny, fi.tiny / 4,
                1.0 / 3.0, -2.5]
        return np.array(vals, dtype=np.float64).astype(d.np)
    ii = ember.iinfo(d)
    return np.array([ii.min, ii.max, 0, 1, -1 if ii.min < 0 else 2], dtype=d.np)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_host_round_trip_is_bit_exact(ember_device, dtype, request):
    begin(request, ember_device, None, None, f"host round trip {dtype}")
    backend = get_backend(ember.device(ember_device).type)
    if backend.supported_dtypes is not None and getattr(ember, dtype) not in \
            backend.supported_dtypes:
        pytest.skip(f"unsupported: the backend does not support dtype {dtype}")
    host = _extremes(dtype)
    t = ember.tensor(host, device=ember_device)
    assert t.dtype is getattr(ember, dtype) and t.device.type == ember.device(ember_device).type
    back = t.cpu().numpy()
    assert back.dtype == host.dtype and back.tobytes() == host.tobytes(), \
        f"round trip through {ember_device} changed {dtype} bits: {host!r} -> {back!r}"
    grid = np.arange(12).reshape(3, 4).astype(host.dtype)
    tt = ember.tensor(grid, device=ember_device).permute(1, 0)
    assert tt.cpu().numpy().tobytes() == np.ascontiguousarray(grid.T).tobytes(), \
        f"a transposed view on {ember_device} came back wrong in {dtype}"


def test_device_enumeration(ember_device, request):
    begin(request, ember_device, None, None, "device enumeration")
    kind = ember.device(ember_device).type
    backend = get_backend(kind)
    n = ember.device_count(kind)
    assert n == backend.device_count() >= 1, f"device_count({kind!r}) = {n}"
    assert ember.is_available(kind)
    for i in range(n) if backend.indexed else [None]:
        dev = ember.device(kind, i) if i is not None else ember.device(kind)
        t = ember.ones(2, device=dev)
        assert t.device == (dev if i is not None else ember.device(kind)), \
            f"a tensor made on {dev} reports {t.device}"
        assert (t + t).device == t.device
    if backend.indexed:
        with pytest.raises(ember.BackendUnavailableError):
            ember.zeros(1, device=ember.device(kind, n))


def test_synchronize(ember_device, request):
    begin(request, ember_device, None, None, "synchronize")
    a = ember.tensor(np.arange(1000, dtype=np.float32), device=ember_device)
    b = a * 2 + 1
    assert ember.synchronize(ember_device) is None
    np.testing.assert_array_equal(b.cpu().numpy(), np.arange(1000, dtype=np.float32) * 2 + 1)


def test_moves_between_devices(ember_device, request):
    begin(request, ember_device, None, None, "moves between devices")
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = ember.tensor(host, device=ember_device)
    back = t.to("cpu").to(ember_device)
    assert back.device == t.device
    np.testing.assert_array_equal(back.cpu().numpy(), host)
    kind = ember.device(ember_device).type
    if kind != "cpu":
        with pytest.raises(ember.DeviceError, match="same device"):
            ember.add(t, ember.tensor(host))
    if ember.device_count(kind) >= 2:
        other = t.to(ember.device(kind, 1))
        assert other.device == ember.device(kind, 1)
        np.testing.assert_array_equal((other + 1).cpu().numpy(), host + 1)
        with pytest.raises(ember.DeviceError):
            ember.add(t, other)
