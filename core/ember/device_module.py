"""``ember.cuda``, ``ember.xpu``, ``ember.rocm`` …: PyTorch's per-device-type modules.

PyTorch code asks ``torch.cuda.is_available()``, ``torch.cuda.synchronize()`` or
``torch.cuda.max_memory_allocated()``; here each device type gets one
:class:`DeviceModule` with those names, built over the device-generic functions
(:mod:`ember.device`, :mod:`ember.memory`, :mod:`ember.random`), so a plugin's device
type has one without writing anything.  ``ember.get_device_module(device)`` returns the
module of any device type, as ``torch.get_device_module`` does.  Creating or using a
module that is not installed loads nothing and answers as PyTorch's does for a missing
device: ``is_available()`` is False, ``device_count()`` 0.
"""

from __future__ import annotations

from . import memory as _memory
from .errors import BackendUnavailableError
from . import random as _random
from .device import device as _device
from .device import device_count as _device_count
from .device import _usable_backend, get_backend, get_default_device
from .device import is_available as _is_available
from .device import synchronize as _synchronize

__all__ = ["DeviceModule", "get_device_module"]


class DeviceModule:
    """The functions of ``torch.<device type>`` for one ember device type."""

    def __init__(self, device_type: str) -> None:
        self.type = device_type

    def __repr__(self) -> str:
        return f"<ember device module {self.type!r}>"

    def _device(self, device=None) -> _device:
        """``device`` (None: the current one; an int: an index) as a device of this type."""
        if device is None:
            return _device(self.type, self.current_device())
        d = _device(self.type, device) if isinstance(device, int) else _device(device)
        if d.type != self.type:
            raise ValueError(f"ember.{self.type}: expected a {self.type} device, got {d}")
        return d

    def _usable(self, device=None) -> _device:
        """``_device(device)``, raising ``BackendUnavailableError`` with the reason when
        this device type has no device (PyTorch raises for a missing GPU too)."""
        d = self._device(device)
        backend = _usable_backend(d.type)
        n = self.device_count()
        if n == 0:
            raise BackendUnavailableError(f"ember.{self.type}: no {self.type} device: "
                                          f"{backend.unavailable_reason()}")
        if (d.index or 0) >= n:
            raise ValueError(f"ember.{self.type}: device index {d.index} out of range "
                             f"({n} device(s))")
        return d

    # -- devices ------------------------------------------------------------------------------
    def is_available(self) -> bool:
        """Whether a device of this type can be used."""
        return _is_available(self.type)

    def device_count(self) -> int:
        """How many devices of this type there are (0 when none or not installed)."""
        return _device_count(self.type)

    def current_device(self) -> int:
        """The index ``"<type>"`` without an index means: the default device's when it
        is of this type, else 0."""
        d = get_default_device()
        return (d.index or 0) if d.type == self.type else 0

    def get_device_name(self, device=None) -> str:
        """The device's name, as ``ember info`` lists it."""
        d = self._usable(device)
        backend = get_backend(d.type)
        prefix = f"{d.type}:{d.index or 0} "
        for line in backend.describe():
            if line.startswith(prefix):
                return line[len(prefix):].strip().split("  (")[0].strip()
        return backend.name

    def synchronize(self, device=None) -> None:
        """Wait until the device has finished all queued work."""
        _synchronize(self._usable(device))

    # -- random numbers -------------------------------------------------------------------------
    def manual_seed(self, seed: int) -> None:
        """Seed the current device's default generator."""
        _random.default_generator(self._usable()).manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        """Seed the default generator of every device of this type."""
        for i in range(self.device_count()):  # none: nothing to seed, as PyTorch
            _random.default_generator(_device(self.type, i)).manual_seed(seed)

    def get_rng_state(self, device=None) -> bytes:
        return _random.get_rng_state(self._usable(device))

    def set_rng_state(self, state: bytes, device=None) -> None:
        _random.set_rng_state(state, self._usable(device))

    # -- memory ----------------------------------------------------------------------------------
    def memory_allocated(self, device=None) -> int:
        return _memory.memory_allocated(self._usable(device))

    def max_memory_allocated(self, device=None) -> int:
        return _memory.max_memory_allocated(self._usable(device))

    def memory_reserved(self, device=None) -> int:
        return _memory.memory_reserved(self._usable(device))

    def max_memory_reserved(self, device=None) -> int:
        return _memory.max_memory_reserved(self._usable(device))

    def memory_stats(self, device=None) -> dict[str, int]:
        return _memory.memory_stats(self._usable(device))

    def reset_peak_memory_stats(self, device=None) -> None:
        _memory.reset_peak_memory_stats(self._usable(device))

    def empty_cache(self) -> None:
        """Give the current device's cached, unused blocks back to its runtime."""
        if self.is_available():  # none: nothing cached, as PyTorch
            _memory.empty_cache(self._device())


_modules: dict[str, DeviceModule] = {}


def get_device_module(device=None) -> DeviceModule:
    """The module of ``device``'s type (a device, a string such as ``"cuda:1"`` or a
    device type); by default the default device's (``torch.get_device_module``)."""
    t = (get_default_device() if device is None else _device(device)).type
    m = _modules.get(t)
    if m is None:
        m = _modules[t] = DeviceModule(t)
    return m
