"""``gradcheck`` / ``gradgradcheck``: compare backward against finite differences.

The numerical Jacobian perturbs one input element at a time by ``±eps`` (central
differences); the analytical one is built a row at a time by ``grad`` with one-hot
output gradients.  Both go through the public API only, so they check any backend.
Use float64 inputs: float32's rounding swamps ``eps``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..tensor import Tensor, tensor
from .api import grad as _grad
from .grad_mode import enable_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck``/``gradgradcheck`` when gradients disagree."""


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else tuple(x) if isinstance(x, list) else (x,)


def _host(t: Tensor) -> np.ndarray:
    return np.array(t.detach()._host(), dtype=np.float64 if t.dtype.is_floating_point
                    else None, copy=True)


def _float_outputs(out) -> list[Tensor]:
    return [o for o in _as_tuple(out) if isinstance(o, Tensor) and o.dtype.is_floating_point]


def _numerical(func, inputs: tuple, diff: list[int], eps: float) -> list[list[np.ndarray]]:
    """``jac[i][j]``: d output j / d input i, shaped ``(input numel, output numel)``."""
    jac = []
    with enable_grad():
        sizes = [o.numel() for o in _float_outputs(func(*inputs))]
    for i in diff:
        x = inputs[i]
        base = _host(x)
        flat = base.reshape(-1)
        cols = []
        for k in range(flat.size):
            vals = []
            for sign in (1, -1):
                p = flat.copy()
                p[k] += sign * eps
                xp = tensor(p.reshape(base.shape), dtype=x.dtype, device=x.device)
                if x.requires_grad:
                    xp.requires_grad_(True)
                args = list(inputs)
                args[i] = xp
                with enable_grad():
                    outs = _float_outputs(func(*args))
                vals.append([_host(o).reshape(-1) for o in outs])
            cols.append([(a - b) / (2 * eps) for a, b in zip(*vals, strict=False)])
        # (an empty input: a (0, output numel) Jacobian, as the analytical one)
        jac.append([np.stack([c[j] for c in cols]) if cols else
                    np.zeros((0, n)) for j, n in enumerate(sizes)])
    return jac


def _analytical(func, inputs: tuple, diff: list[int]) -> list[list[np.ndarray]]:
    with enable_grad():
        outs = _float_outputs(func(*inputs))
    dins = [inputs[i] for i in diff]
    jac = [[np.zeros((inputs[i].numel(), o.numel())) for o in outs] for i in diff]
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for k in range(o.numel()):
            onehot = np.zeros(o.numel())
            onehot[k] = 1.0
            go = tensor(onehot.reshape(tuple(o.shape)), dtype=o.dtype, device=o.device)
            gs = _grad(o, dins, go, retain_graph=True, allow_unused=True)
            for a, g in enumerate(gs):
                if g is not None:
                    if tuple(g.shape) != tuple(dins[a].shape):
                        raise GradcheckError(f"gradient for input {diff[a]} has shape "
                                             f"{list(g.shape)}, expected "
                                             f"{list(dins[a].shape)}")
                    jac[a][j][:, k] = _host(g).reshape(-1)
    return jac


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Whether ``func``'s analytical gradients w.r.t. the ``inputs`` that require grad
    match finite differences: ``|analytical - numerical| <= atol + rtol * |numerical|``.
    """
    inputs = _as_tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")
    num = _numerical(func, inputs, diff, eps)
    ana = _analytical(func, inputs, diff)
    for a, i in enumerate(diff):
        for j, (n, an) in enumerate(zip(num[a], ana[a], strict=False)):
            if n.shape != an.shape or not np.allclose(an, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {j} with respect to "
                                     f"input {i},\nnumerical:{n}\nanalytical:{an}\n")
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs: Sequence[Tensor] | None = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, **_ignored) -> bool:
    """``gradcheck`` of the gradients themselves (second derivatives, through
    ``create_graph=True``).  ``grad_outputs`` default to random tensors that require
    grad, so the check also covers the derivative w.r.t. the output gradients."""
    inputs = _as_tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    with enable_grad():
        outs = [o for o in _float_outputs(func(*inputs)) if o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype,
                   device=o.device).requires_grad_(True) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)

    def first_grads(*args):
        ins, gos = args[:n], args[n:]
        with enable_grad():
            o = [x for x in _float_outputs(func(*ins)) if x.requires_grad]
            gs = _grad(o, [ins[i] for i in diff], list(gos), create_graph=True,
                       allow_unused=True, materialize_grads=True)
        return tuple(gs)

    return gradcheck(first_grads, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
