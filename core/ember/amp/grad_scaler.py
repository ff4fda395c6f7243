"""``ember.amp.GradScaler``: loss scaling for float16 training (PyTorch's API).

float16 gradients underflow to zero below ~6e-8; scaling the loss by a large factor
before ``backward`` keeps them representable.  ``unscale_`` divides the gradients by
the factor again (through the fused op
``ember.ops.amp._amp_foreach_non_finite_check_and_unscale_``), ``step`` skips the
optimizer step when a gradient overflowed to inf/NaN, and ``update`` shrinks the factor
after an overflow (``backoff_factor``) and grows it after ``growth_interval`` clean
steps (``growth_factor``).  The scale and the growth tracker live on the device as
tensors and ``update`` changes them with device ops, so only ``step``'s "was there an
inf" check reads a value back to the host, as in PyTorch.
"""

from __future__ import annotations

from collections import defaultdict
from enum import Enum
from typing import Any

from .. import ops as _ops
from ..autograd import no_grad
from ..dtypes import float16, float32, float64, int32
from ..ops.amp import _amp_foreach_non_finite_check_and_unscale_
from ..tensor import Tensor

__all__ = ["GradScaler"]


class _Stage(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_state() -> dict:
    return {"stage": _Stage.READY, "found_inf_per_device": {}}


class GradScaler:
    """Scale the loss, unscale the gradients, skip steps that overflowed.

    ``device`` is the device type the scale lives on (``"cuda"``, ``"cpu"`` …);
    ``init_scale`` the first factor, ``growth_factor``/``backoff_factor`` what it is
    multiplied by after ``growth_interval`` clean steps / after an overflow;
    ``enabled=False`` makes every method a pass-through (``scale`` returns its input,
    ``step`` just steps), so one training loop serves both precisions.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler(): growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler(): backoff_factor must be in (0, 1), got "
                             f"{backoff_factor}")
        if not isinstance(growth_interval, int) or growth_interval <= 0:
            raise ValueError(f"GradScaler(): growth_interval must be a positive int, got "
                             f"{growth_interval!r}")
        self._device = device
        self._enabled = bool(enabled)
        self._init_scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._scale = None  # float32 0-d tensor, made on the first scale() call's device
        self._growth_tracker = None  # int32 0-d tensor
        self._per_optimizer_states: dict = defaultdict(_fresh_state)

    # --- scaling -----------------------------------------------------------------

    def _lazy_init(self, dev) -> None:
        self._scale = _ops.full((), self._init_scale, dtype=float32, device=dev)
        self._growth_tracker = _ops.full((), self._init_growth_tracker,
                                          dtype=int32, device=dev)

    def scale(self, outputs):
        """``outputs`` (a tensor, or lists/tuples of them) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init(outputs.device)
            return outputs * self._scale.to(outputs.device)
        if isinstance(outputs, (list, tuple)):
            scaled = [self.scale(o) for o in outputs]
            return type(outputs)(scaled) if isinstance(outputs, tuple) else scaled
        raise ValueError(f"GradScaler.scale(): outputs must be a Tensor or an iterable of "
                         f"Tensors, got {type(outputs).__name__}")

    def _unscale_grads(self, optimizer, inv_scale, found_inf, allow_fp16: bool) -> dict:
        """Unscale the optimizer's gradients, one fused call per (device, dtype); returns
        {device: found_inf} (one flag per device)."""
        groups: dict = defaultdict(list)
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if not allow_fp16 and g.dtype is float16:
                    raise ValueError("GradScaler.unscale_(): attempting to unscale float16 "
                                     "gradients (keep the parameters in float32 and let "
                                     "autocast cast them)")
                groups[(g.device, g.dtype)].append(g)
        per_device: dict = {}
        with no_grad():
            for (dev, _), grads in groups.items():
                flag = per_device.get(dev)
                if flag is None:
                    flag = per_device[dev] = found_inf.to(dev)
                _amp_foreach_non_finite_check_and_unscale_(
                    grads, flag, inv_scale.to(dev))
        return per_device

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, and remember whether
        any was inf/NaN (call it before clipping gradients; ``step`` calls it if you
        did not)."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is _Stage.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if state["stage"] is _Stage.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # inv_scale in float64 first, as PyTorch: 1/scale rounded once to float32
        inv_scale = self._scale.astype(float64).reciprocal().astype(float32)
        found_inf = _ops.full((), 0.0, dtype=float32, device=self._scale.device)
        state["found_inf_per_device"] = self._unscale_grads(optimizer, inv_scale,
                                                            found_inf, False)
        state["stage"] = _Stage.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` unless a gradient was inf/NaN (then the
        step is skipped and ``None`` returned).  Unscales first if needed."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is _Stage.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is _Stage.READY:
            self.unscale_(optimizer)
        if not state["found_inf_per_device"]:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(v.item() for v in state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = _Stage.STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Set the scale for the next iteration: ``new_scale`` if given, else the
        current one times ``backoff_factor`` if any optimizer saw inf/NaN since the last
        update, times ``growth_factor`` after ``growth_interval`` clean updates."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.dtype is not float32:
                    raise ValueError("GradScaler.update(): new_scale must be a float or a "
                                     "one-element float32 tensor")
                self._scale.copy_(new_scale.reshape(()))
            else:
                self._scale.fill_(float(new_scale))
        else:
            found = [f.to(self._scale.device) for s in self._per_optimizer_states.values()
                     for f in s["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            total = found[0]
            for f in found[1:]:
                total = total + f
            with no_grad():
                self._update_scale(total)
        self._per_optimizer_states = defaultdict(_fresh_state)

    def _update_scale(self, found_inf) -> None:
        """PyTorch's ``_amp_update_scale_`` with device ops (no host round trip)."""
        scale, tracker = self._scale, self._growth_tracker
        found = found_inf > 0
        successful = tracker + 1
        grow = (successful == self._growth_interval).logical_and(found.logical_not())
        grown = scale * self._growth_factor
        grown = _ops.where(grown.isfinite(), grown, scale)  # never grow to inf
        new = _ops.where(found, scale * self._backoff_factor,
                          _ops.where(grow, grown, scale))
        scale.copy_(new)
        tracker.copy_(_ops.where(found.logical_or(grow), _ops.zeros_like(successful),
                                  successful))

    def _check_scale_growth_tracker(self, funcname: str) -> None:
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may "
                                 f"indicate your script did not use scaler.scale(loss or "
                                 f"outputs) earlier in the iteration.")

    # --- accessors -----------------------------------------------------------------

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return int(self._growth_tracker.item())

    def is_enabled(self) -> bool:
        """Whether this scaler scales (``enabled=True`` at construction)."""
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker`` as Python numbers (empty when disabled), as PyTorch's."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not self._enabled:
            raise RuntimeError("Attempting to load state dict for a disabled instance of "
                               "GradScaler.")
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was "
                               "saved from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.fill_(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(self._init_growth_tracker)
