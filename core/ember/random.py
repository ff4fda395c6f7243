"""Random-number generators: ``ember.manual_seed``, ``ember.Generator`` and one default
generator per device.  The state itself is native to the backend (a numpy ``Generator``
on the CPU); the same seed gives the same numbers on the same backend."""

from __future__ import annotations

import math
import random as _pyrandom

import numpy as np

from . import dtypes as _dt
from .device import device as _device, get_backend, get_default_device, tensor_device

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state"]

_initial_seed = [67280421310721]  # PyTorch's default seed
_defaults: dict = {}


class Generator:
    """A random-number generator for one device (``torch.Generator``)."""

    def __init__(self, device=None) -> None:
        d = _device(device) if device is not None else _device("cpu")
        self.device = tensor_device(d)
        self._backend = get_backend(self.device.type)
        self._seed = _initial_seed[0]
        self._native = self._backend.new_generator(self._seed, self.device.index or 0)

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns ``self`` so it chains like PyTorch's."""
        if seed.__class__ is bool or not hasattr(seed, "__index__"):
            raise TypeError(f"manual_seed(): expected an int seed, got "
                            f"{type(seed).__name__}")
        seed = _as_seed(seed.__index__())
        self._seed = seed
        self._native = self._backend.new_generator(seed, self.device.index or 0)
        return self

    def seed(self) -> int:
        """Reseed from a non-deterministic source and return the seed."""
        s = _pyrandom.SystemRandom().getrandbits(63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> bytes:
        return self._backend.get_generator_state(self._native)

    def set_state(self, state: bytes) -> None:
        self._backend.set_generator_state(self._native, state)

    def __repr__(self) -> str:
        return f"<ember.Generator device={self.device}>"


def default_generator(device=None) -> Generator:
    """The default generator of a device (created on first use, seeded by
    ``manual_seed``)."""
    d = tensor_device(_device(device) if device is not None else get_default_device())
    g = _defaults.get(d)
    if g is None:
        g = _defaults[d] = Generator(d)
        g.manual_seed(_initial_seed[0])
    return g


def native_generator(gen, dev):
    """The native state a random kernel receives (used by the dispatcher)."""
    if gen is None:
        gen = default_generator(dev)
    elif gen.device != dev:
        raise RuntimeError(f"expected a generator on {dev}, got one on {gen.device}")
    return gen._native


def _as_seed(seed: int) -> int:
    """A seed as the unsigned 64-bit value generators keep: PyTorch takes
    ``-2**63 .. 2**64 - 1`` and reads negative seeds in two's complement."""
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"manual_seed(): seed must be in [-2**63, 2**64 - 1], got {seed}")
    return seed & 0xFFFF_FFFF_FFFF_FFFF


def manual_seed(seed: int) -> Generator:
    """Seed every device's default generator (``torch.manual_seed``); a seed out of
    range raises before anything changes."""
    seed = _as_seed(int(seed))
    _initial_seed[0] = seed
    for g in _defaults.values():
        g.manual_seed(seed)
    return default_generator("cpu")


def seed() -> int:
    """Seed the default generators non-deterministically; returns the seed."""
    s = _pyrandom.SystemRandom().getrandbits(63)
    manual_seed(s)
    return s


def initial_seed() -> int:
    return _initial_seed[0]


def get_rng_state(device=None) -> bytes:
    return default_generator(device).get_state()


def set_rng_state(state: bytes, device=None) -> None:
    default_generator(device).set_state(state)


# --- the core's default random kernels ---------------------------------------------------
# Random numbers are drawn on the host with the device's numpy generator and copied to
# the device (``Backend.from_host``), so one seed gives the same numbers on every backend
# whose generator is numpy's (the default ``Backend.new_generator``).  A backend with its
# own device generator overrides ``new_generator`` and supplies its own kernels.

_MANTISSA_DIGITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}


def _complex_parts(draw):
    """A draw for complex dtypes: the real and imaginary parts drawn as two floating
    values of the parts' dtype (PyTorch: rand's parts are each uniform in [0, 1);
    randn's each normal with variance 1/2, so that E|z|^2 = 1)."""
    def drawn(size, gen, dtype, device, scale=1.0):
        if dtype._kind != "c":
            return draw(size, gen, dtype, device)
        parts = draw(tuple(size) + (2,), gen, _dt.to_real(dtype), device)
        if scale != 1.0:
            parts = parts * parts.dtype.type(scale)
        return np.ascontiguousarray(parts).view(dtype.np)[..., 0]
    return drawn


@_complex_parts
def _rand(size, gen, dtype, device):
    # On the target dtype's grid (as PyTorch draws its mantissa bits): rounding a float64
    # to float16/bfloat16/float32 could give 1.0, outside [0, 1).
    x = gen.random(tuple(size), dtype="float64")
    digits = _MANTISSA_DIGITS.get(dtype.name, 53)
    if digits < 53:
        x = np.floor(x * 2.0 ** digits) * 2.0 ** -digits
    return x.astype(dtype.np)


@_complex_parts
def _randn_parts(size, gen, dtype, device):
    return gen.standard_normal(tuple(size), dtype="float64").astype(dtype.np)


def _randn(size, gen, dtype, device):
    return _randn_parts(size, gen, dtype, device, scale=math.sqrt(0.5))


def _randint(low, high, size, gen, dtype, device):
    return gen.integers(low, high, tuple(size), dtype="int64").astype(dtype.np)


def _randperm(n, gen, dtype, device):
    return gen.permutation(n).astype(dtype.np)


_HOST_DRAWS = {"rand": _rand, "randn": _randn, "randint": _randint, "randperm": _randperm}


def host_kernel(name: str, backend):
    """The default native kernel of random op ``name`` on ``backend``, or ``None`` when
    the core has none or the backend keeps its own generator."""
    from .backend import Backend
    draw = _HOST_DRAWS.get(name)
    if draw is None or type(backend).new_generator is not Backend.new_generator:
        return None
    from_host = backend.from_host

    def kernel(*args):
        return from_host(draw(*args), args[-1].index or 0)
    kernel.__name__ = f"host_{name}"
    return kernel
