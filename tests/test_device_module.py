"""ember.cuda / ember.xpu / get_device_module: torch.cuda's module functions per device
type, answering for present, absent and unknown device types."""

from __future__ import annotations

import pytest

import ember
from ember.device_module import DeviceModule

HAS_XPU = ember.is_available("xpu")


def test_each_device_type_has_one_module():
    assert isinstance(ember.cuda, DeviceModule) and ember.cuda.type == "cuda"
    assert ember.get_device_module("cuda:0") is ember.cuda
    assert ember.get_device_module(ember.device("xpu")) is ember.xpu
    assert ember.get_device_module().type == ember.get_default_device().type
    assert ember.get_device_module("rocm") is ember.rocm
    assert "cuda" in ember.__all__ and "get_device_module" in ember.__all__


def test_a_device_type_without_devices_answers_like_pytorch_without_a_gpu():
    cuda = ember.cuda
    if cuda.is_available():
        pytest.skip("a GPU is present: this checks the machine without one")
    assert cuda.device_count() == 0 and cuda.current_device() == 0
    cuda.manual_seed_all(0)  # nothing to seed, as torch.cuda without a GPU
    cuda.empty_cache()
    for call in (cuda.synchronize, cuda.memory_allocated, cuda.get_device_name,
                 lambda: cuda.manual_seed(0)):
        with pytest.raises(ember.BackendUnavailableError, match="ember.cuda: no cuda device"):
            call()


def test_an_unknown_device_type_says_no_plugin_provides_it():
    m = ember.get_device_module("nosuchdev")
    assert not m.is_available() and m.device_count() == 0
    with pytest.raises(ember.BackendUnavailableError, match="no ember plugin provides"):
        m.synchronize()


@pytest.mark.skipif(not HAS_XPU, reason="no xpu runtime")
def test_a_present_device_type_synchronizes_seeds_and_counts_memory():
    xpu = ember.xpu
    assert xpu.is_available() and xpu.device_count() >= 1
    assert xpu.get_device_name(0) and "xpu:0" not in xpu.get_device_name(0)
    xpu.manual_seed(5)
    a = ember.rand(4, device="xpu")
    xpu.manual_seed(5)
    assert ember.equal(a, ember.rand(4, device="xpu"))
    state = xpu.get_rng_state()
    b = ember.rand(3, device="xpu")
    xpu.set_rng_state(state)
    assert ember.equal(b, ember.rand(3, device="xpu"))
    before = xpu.memory_allocated()
    t = ember.ones(1 << 16, device="xpu")
    xpu.synchronize()
    assert xpu.memory_allocated(0) >= before + t.nbytes
    assert xpu.max_memory_allocated("xpu:0") >= xpu.memory_allocated()
    with pytest.raises(ValueError, match="expected a xpu device, got cpu"):
        xpu.synchronize("cpu")
    with pytest.raises(ValueError, match="index 7 out of range"):
        xpu.synchronize(7)


def test_the_cpu_module_works_where_pytorch_has_one():
    cpu = ember.get_device_module("cpu")
    assert cpu.is_available() and cpu.device_count() == 1
    cpu.synchronize()
