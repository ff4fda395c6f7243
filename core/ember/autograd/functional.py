"""``ember.autograd.functional``: Jacobians, Hessians and vector products of functions,
as ``torch.autograd.functional`` (reverse mode, built on :func:`ember.autograd.grad`)."""

from __future__ import annotations

from collections.abc import Callable

from ..tensor import Tensor
from .api import grad as _grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x, what: str, fn: str) -> tuple[tuple, bool]:
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): {what}[{i}] must be a Tensor, not {type(t).__name__}"
                            if is_tuple else
                            f"{fn}(): {what} must be a Tensor or a tuple of Tensors, not "
                            f"{type(t).__name__}")
    return xs, is_tuple


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    # Fresh leaves (or, with create_graph, differentiable aliases) so that gradients of
    # the function do not leak into the caller's graph.
    if create_graph and any(x.requires_grad for x in inputs):
        return tuple(x * 1 if x.requires_grad else x.detach().requires_grad_() for x in inputs)
    return tuple(x.detach().requires_grad_() for x in inputs)


def _zeros_like(x: Tensor) -> Tensor:
    from ..ops import zeros
    return zeros(tuple(x.shape), dtype=x.dtype, device=x.device)


def _grads(outputs, inputs, grad_outputs, create_graph, strict, fn):
    outs = [o for o in outputs]
    gos = list(grad_outputs)
    diff = [(o, g) for o, g in zip(outs, gos, strict=True) if o.requires_grad]
    if not diff:
        if strict:
            raise RuntimeError(f"{fn}(): the output of the function does not require grad "
                               f"(strict=True)")
        return tuple(_zeros_like(x) for x in inputs)
    gs = _grad([o for o, _ in diff], list(inputs), [g for _, g in diff], retain_graph=True,
               create_graph=create_graph, allow_unused=True)
    out = []
    for i, (g, x) in enumerate(zip(gs, inputs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}(): the output is independent of input {i} "
                                   f"(strict=True)")
            g = _zeros_like(x)
        out.append(g if create_graph else g.detach())
    return tuple(out)


def _call(func, inputs):
    with enable_grad():
        out = func(*inputs)
    outs, is_tuple = _as_tuple(out, "outputs", getattr(func, "__name__", "func"))
    return outs, is_tuple


def _unpack(values: tuple, is_tuple: bool):
    return values if is_tuple else values[0]


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    ins, in_tuple = _as_tuple(inputs, "inputs", "vjp")
    ins = _prepare(ins, create_graph)
    outs, out_tuple = _call(func, ins)
    if v is None:
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("vjp(): the vector v can only be None if the user-provided "
                               "function returns a single Tensor with a single element.")
        from ..ops import ones
        vs = (ones(tuple(outs[0].shape), dtype=outs[0].dtype, device=outs[0].device),)
    else:
        vs, _ = _as_tuple(v, "v", "vjp")
    res = _grads(outs, ins, vs, create_graph, strict, "vjp")
    outs = tuple(o if create_graph else o.detach() for o in outs)
    return _unpack(outs, out_tuple), _unpack(res, in_tuple)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``, by the double-vjp trick (reverse mode twice)."""
    ins, in_tuple = _as_tuple(inputs, "inputs", "jvp")
    ins = _prepare(ins, create_graph)
    if v is None:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError("jvp(): the vector v can only be None if the input to the "
                               "user-provided function is a single Tensor with a single "
                               "element.")
        from ..ops import ones
        vs = (ones(tuple(ins[0].shape), dtype=ins[0].dtype, device=ins[0].device),)
    else:
        vs, _ = _as_tuple(v, "v", "jvp")
    outs, out_tuple = _call(func, ins)
    # u -> J^T u is linear in u; differentiating <J^T u, v> w.r.t. u gives J v.
    us = tuple(_zeros_like(o).requires_grad_() for o in outs)
    with enable_grad():
        jtu = _grads(outs, ins, us, True, strict, "jvp")
        res = _grads(jtu, us, vs, create_graph, strict, "jvp")
    outs = tuple(o if create_graph else o.detach() for o in outs)
    return _unpack(outs, out_tuple), _unpack(res, out_tuple)


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for output ``o`` and input ``x`` a tensor
    of shape ``o.shape + x.shape`` (nested tuples for tuple outputs/inputs)."""
    if strategy != "reverse-mode":
        raise NotImplementedError("jacobian(): only strategy='reverse-mode' is supported")
    from ..ops import stack
    ins, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    ins = _prepare(ins, create_graph)
    outs, out_tuple = _call(func, ins)
    result = []
    for o in outs:
        flat = o.reshape(-1)
        rows = [[] for _ in ins]
        for k in range(flat.shape[0]):
            gs = _grads((flat[k],), ins, (None,), create_graph, strict, "jacobian") \
                if o.requires_grad else tuple(_zeros_like(x) for x in ins)
            for r, g in zip(rows, gs, strict=True):
                r.append(g)
        per_input = []
        for x, r in zip(ins, rows, strict=True):
            j = stack(r) if r else _zeros_like(x).reshape((0,) + tuple(x.shape))
            per_input.append(j.reshape(tuple(o.shape) + tuple(x.shape)))
        result.append(_unpack(tuple(per_input), in_tuple))
    return _unpack(tuple(result), out_tuple)


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: ``x.shape + x.shape`` per pair of inputs."""
    ins, in_tuple = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        outs, _ = _call(func, xs)
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("hessian(): the function given to hessian should return a "
                               "single Tensor with a single element")
        g = _grads(outs, xs, (None,), True, strict, "hessian")
        return g if in_tuple else g[0]

    return jacobian(gradient, ins if in_tuple else ins[0], create_graph, strict)


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar function."""
    ins, in_tuple = _as_tuple(inputs, "inputs", "vhp")
    ins = _prepare(ins, create_graph)
    outs, _ = _call(func, ins)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise RuntimeError("vhp(): the function given to vhp should return a single Tensor "
                           "with a single element")
    vs, _ = _as_tuple(v, "v", "vhp")
    with enable_grad():
        g = _grads(outs, ins, (None,), True, strict, "vhp")
        res = _grads(g, ins, vs, create_graph, strict, "vhp")
    out = outs[0] if create_graph else outs[0].detach()
    return out, _unpack(res, in_tuple)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``; the Hessian is symmetric, so this is ``vhp``."""
    return vhp(func, inputs, v, create_graph, strict)
