"""``ember.autograd.backward`` and ``ember.autograd.grad``."""

from __future__ import annotations

from collections.abc import Sequence

from ..tensor import Tensor
from .engine import make_grads, run_backward

__all__ = ["backward", "grad"]


def _as_list(x, what: str, fn: str) -> list:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        for i, t in enumerate(x):
            if not isinstance(t, Tensor):
                raise TypeError(f"{fn}(): {what}[{i}] must be a Tensor, not "
                                f"{type(t).__name__}")
        return list(x)
    raise TypeError(f"{fn}(): {what} must be a Tensor or a sequence of Tensors, not "
                    f"{type(x).__name__}")


def _grad_list(g, n: int, fn: str, what: str) -> list:
    if g is None:
        return [None] * n
    if isinstance(g, Tensor):
        g = [g]
    g = list(g)
    if len(g) != n:
        raise RuntimeError(f"{fn}(): got {len(g)} {what} but {n} outputs")
    return g


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors=None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Tensor | Sequence[Tensor] | None = None) -> None:
    """Accumulate the gradients of ``tensors`` w.r.t. the graph's leaves into ``.grad``.

    ``grad_tensors`` weighs each output (required for non-scalar ones); with ``inputs``
    only those tensors' ``.grad`` is accumulated.  Saved values are freed afterwards
    unless ``retain_graph`` (default: ``create_graph``).
    """
    outputs = _as_list(tensors, "tensors", "backward")
    grads = make_grads(outputs, _grad_list(grad_tensors, len(outputs), "backward",
                                           "grad_tensors"), "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        ins = _as_list(inputs, "inputs", "backward")
        if not ins:
            raise RuntimeError("backward(): 'inputs' argument to backward() cannot be empty.")
        got = run_backward(outputs, grads, retain_graph=retain_graph,
                           create_graph=create_graph, inputs=ins)
        for t, g in zip(ins, got, strict=False):
            if g is None:
                continue
            if t.grad is None:
                t.grad = g if create_graph else g.detach().clone()
            else:
                t.grad = t.grad + g
        return
    run_backward(outputs, grads, retain_graph=retain_graph, create_graph=create_graph)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` w.r.t. ``inputs`` (returned, not accumulated).

    ``create_graph=True`` records the backward pass so the result can be
    differentiated again.  An input the outputs do not depend on is an error unless
    ``allow_unused`` (then its gradient is ``None``, or zeros with
    ``materialize_grads``).
    """
    if is_grads_batched:
        raise NotImplementedError("grad(): is_grads_batched=True is not supported by ember")
    outs = _as_list(outputs, "outputs", "grad")
    ins = _as_list(inputs, "inputs", "grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError("grad(): expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got allow_unused=False.")
    grads = make_grads(outs, _grad_list(grad_outputs, len(outs), "grad", "grad_outputs"),
                       "grad")
    if retain_graph is None:
        retain_graph = create_graph
    got = run_backward(outs, grads, retain_graph=retain_graph, create_graph=create_graph,
                       inputs=ins, accumulate=False)
    result = []
    for x, g in zip(ins, got, strict=False):
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have "
                                   "been used in the graph. Set allow_unused=True if this "
                                   "is the desired behavior.")
            if materialize_grads:
                from ..ops import zeros
                g = zeros(x._data.shape, dtype=x.dtype, device=x._device)
        result.append(g)
    return tuple(result)
