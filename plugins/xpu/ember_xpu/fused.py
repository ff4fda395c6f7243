"""Fused kernels for the composites where one pass over memory pays: cross-entropy
(forward and backward) and the optimizer steps (SGD, Adam/AdamW), as the cpu and
rocm plugins have, under the same op names.

dpnp has no kernel for any of them, so their decompositions cost many launches (the
B64 MLP step made 108 backend calls on xpu, 44 of them in cross-entropy and SGD).
These kernels are OpenCL C (``fused.cl``) built through dpctl for the queue's device,
one program per kernel family (``CE``, ``OPTIM``) and dtype, on the family's first use
in a process, and submitted into dpnp's order: each launch depends on the tasks
submitted before it and keeps its arguments alive until it is done, as dpnp's own
kernels do (see ``XPUBackend``).

dpctl builds OpenCL C only on OpenCL devices; on others (Level Zero) and for the cases
the kernels do not cover (probability targets, logits of more than two dims, float16,
non-contiguous optimizer state, mixed dtypes) the op's own decomposition runs, so
results never depend on which path ran.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.resources
import math
from collections.abc import Callable

import numpy as np

__all__ = ["kernels"]

#: floating dtypes the kernels are built for -> (OpenCL C type, ctypes scalar)
_FLOATS = {np.dtype(np.float32): ("float", ctypes.c_float),
           np.dtype(np.float64): ("double", ctypes.c_double)}
_INT64 = np.dtype(np.int64)
_L, _I = ctypes.c_longlong, ctypes.c_int
_GROUP = 64  # GROUP in fused.cl: the one-work-group reductions
_MODES = {"none": 0, "mean": 1, "sum": 2}


@functools.cache
def _source() -> str:
    return importlib.resources.files(__package__).joinpath("fused.cl").read_text()


class _Programs:
    """Compiled kernel families per (queue, family, dtype), built on first use; ``None``
    where the device cannot build OpenCL C."""

    def __init__(self) -> None:
        self.table: dict = {}

    def get(self, queue, family: str, dtype: np.dtype):
        key = (queue, family, dtype)
        try:
            return self.table[key]
        except KeyError:
            pass
        prog = None
        if queue.sycl_device.backend.name == "opencl":
            from dpctl.program import create_program_from_source
            src = _source()
            if dtype == np.float64:
                src = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" + src
            prog = create_program_from_source(queue, src,
                                              f"-DT={_FLOATS[dtype][0]} -D{family}")
        self.table[key] = prog
        return prog


def _launch(queue, prog, name: str, args: list, keep: tuple, gsize: int,
            lsize: int | None = None) -> None:
    """Submit kernel ``name`` after every task dpnp has queued on ``queue``, keeping
    ``keep`` (the arrays it uses) alive until it is done."""
    from dpctl.utils import SequentialOrderManager
    order = SequentialOrderManager[queue]
    ev = queue.submit_async(prog.get_sycl_kernel(name), args, [gsize],
                            None if lsize is None else [lsize],
                            dEvents=order.submitted_events)
    order.add_event_pair(queue._submit_keep_args_alive(keep, [ev]), ev)


def _buf(a) -> list:
    """A kernel's (pointer, offset) arguments for array ``a``."""
    return [a.usm_data, _L(a._element_offset)]


def kernels(registry, allocator_of: Callable, device_of: Callable) -> dict[str, Callable]:
    """Fused kernels for the ops of ``registry`` this module implements.

    ``allocator_of(x)`` is the caching allocator of native ``x``'s device and
    ``device_of(x)`` its ``ember.device``.
    """
    import dpnp.tensor as dpt
    programs = _Programs()

    def decompose(od, ref, *natives):
        """Run ``od``'s decomposition on ember tensors wrapping ``natives``."""
        from ember.tensor import Tensor
        dev = device_of(ref)

        def wrap(x):
            if hasattr(x, "usm_data"):
                return Tensor._make(x, dev)
            if isinstance(x, list):
                return [wrap(v) for v in x]
            return x
        r = od.decomposition(*[wrap(x) for x in natives])
        return r._data if isinstance(r, Tensor) else None

    def program(x, family):
        if x.dtype not in _FLOATS:
            return None
        return programs.get(x.sycl_queue, family, x.dtype)

    def ce_layout(x, target, weight):
        """(rows, C, row stride, class stride, int64 target, target stride, weight
        arguments) or ``None`` where the kernels do not apply."""
        if target.dtype.kind not in "iu" or x.ndim not in (1, 2) or x.size == 0 or \
                weight is not None and weight.dtype != x.dtype:
            return None
        if target.dtype != _INT64:
            target = allocator_of(x).adopt(dpt.astype(target, _INT64))
        if x.ndim == 1:
            rows, (C,), rs, cs, ts = 1, x.shape, 0, x.strides[0], 0
        else:
            (rows, C), (rs, cs) = x.shape, x.strides
            ts = target.strides[0]
        w = [weight.usm_data, _L(weight._element_offset), _L(weight.strides[0]), _I(1)] \
            if weight is not None else [x.usm_data, _L(0), _L(0), _I(0)]
        return rows, C, rs, cs, target, ts, w

    ce_od, ceb_od = registry.get("cross_entropy"), registry.get("_cross_entropy_backward")

    def cross_entropy(x, target, weight, reduction, ignore_index, label_smoothing):
        prog = program(x, "CE")
        lay = ce_layout(x, target, weight) if prog is not None else None
        if lay is None:
            return decompose(ce_od, x, x, target, weight, reduction, ignore_index,
                             label_smoothing)
        rows, C, rs, cs, t, ts, w = lay
        ctype = _FLOATS[x.dtype][1]
        alloc, q = allocator_of(x), x.sycl_queue
        loss, wrow = alloc.empty((rows,), x.dtype), alloc.empty((rows,), x.dtype)
        _launch(q, prog, "ce_rows",
                [_L(C), loss.usm_data, wrow.usm_data, *_buf(x), _L(rs), _L(cs), *_buf(t),
                 _L(ts), *w, _L(ignore_index), ctype(label_smoothing)],
                (loss, wrow, x, t, weight), rows)
        if reduction == "none":
            return loss if x.ndim == 2 else dpt.reshape(loss, ())
        out = alloc.empty((), x.dtype)
        _launch(q, prog, "ce_total", [_L(rows), loss.usm_data, wrow.usm_data,
                                      _I(reduction == "mean"), out.usm_data],
                (loss, wrow, out), _GROUP, _GROUP)
        return out

    def cross_entropy_backward(grad, x, target, weight, reduction, ignore_index,
                               label_smoothing):
        prog = program(x, "CE")
        lay = ce_layout(x, target, weight) if prog is not None and \
            grad.dtype == x.dtype else None
        if lay is None:
            return decompose(ceb_od, x, grad, x, target, weight, reduction, ignore_index,
                             label_smoothing)
        rows, C, rs, cs, t, ts, w = lay
        ctype = _FLOATS[x.dtype][1]
        alloc, q = allocator_of(x), x.sycl_queue
        out = alloc.empty(x.shape, x.dtype)
        denom = grad
        if reduction == "mean":
            denom = alloc.empty((1,), x.dtype)
            _launch(q, prog, "ce_weight_sum",
                    [_L(rows), _L(C), *_buf(t), _L(ts), *w, _L(ignore_index),
                     denom.usm_data], (t, weight, denom), _GROUP, _GROUP)
        gs = grad.strides[0] if grad.ndim else 0
        _launch(q, prog, "ce_backward",
                [_L(C), out.usm_data, *_buf(x), _L(rs), _L(cs), *_buf(t), _L(ts), *w,
                 _L(ignore_index), ctype(label_smoothing), *_buf(grad), _L(gs),
                 denom.usm_data, _I(_MODES[reduction])],
                (out, x, t, weight, grad, denom), rows)
        return out

    def fusable(params, *groups):
        """The program for an optimizer group, or ``None`` where the kernels do not
        apply (mixed or non-float dtypes, non-contiguous tensors, no OpenCL C)."""
        if not params:
            return None
        dt = params[0].dtype
        for g in (params, *groups):
            for a in g:
                if a.dtype != dt or not a.flags.c_contiguous:
                    return None
        return program(params[0], "OPTIM")

    sgd_od, adam_od = registry.get("_sgd_update_"), registry.get("_adam_update_")

    def sgd_update_(params, grads, bufs, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                    nesterov=False, maximize=False, init_buffers=False):
        prog = fusable(params, grads, bufs if momentum else [])
        if prog is None:
            if params:
                decompose(sgd_od, params[0], params, grads, bufs, lr, momentum, dampening,
                          weight_decay, nesterov, maximize, init_buffers)
            return
        ctype = _FLOATS[params[0].dtype][1]
        scalars = [ctype(lr), ctype(momentum), ctype(dampening), ctype(weight_decay),
                   _I(nesterov), _I(maximize), _I(init_buffers)]
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            g, b = grads[i], bufs[i] if momentum else p
            _launch(p.sycl_queue, prog, "sgd", [*_buf(p), *_buf(g), *_buf(b), *scalars],
                    (p, g, b), p.size)

    def adam_update_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr,
                     beta1, beta2, eps, weight_decay=0.0, amsgrad=False,
                     decoupled_weight_decay=False, maximize=False):
        prog = fusable(params, grads, exp_avgs, exp_avg_sqs,
                       max_exp_avg_sqs if amsgrad else [])
        if prog is None:
            if params:
                decompose(adam_od, params[0], params, grads, exp_avgs, exp_avg_sqs,
                          max_exp_avg_sqs, steps, lr, beta1, beta2, eps, weight_decay,
                          amsgrad, decoupled_weight_decay, maximize)
            return
        ctype = _FLOATS[params[0].dtype][1]
        for i, p in enumerate(params):
            if p.size == 0:
                continue
            g, m, v = grads[i], exp_avgs[i], exp_avg_sqs[i]
            vmax = max_exp_avg_sqs[i] if amsgrad else v
            step = steps[i]
            step_size = lr / (1.0 - beta1 ** step)
            bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
            _launch(p.sycl_queue, prog, "adam",
                    [*_buf(p), *_buf(g), *_buf(m), *_buf(v), *_buf(vmax), ctype(lr),
                     ctype(beta1), ctype(beta2), ctype(eps), ctype(weight_decay),
                     ctype(step_size), ctype(bc2_sqrt), _I(amsgrad),
                     _I(decoupled_weight_decay), _I(maximize)],
                    (p, g, m, v, vmax), p.size)

    table = {"cross_entropy": cross_entropy, "_cross_entropy_backward": cross_entropy_backward,
             "_sgd_update_": sgd_update_, "_adam_update_": adam_update_}
    for name, fn in table.items():
        fn.__name__ = "xpu_" + name
    return {k: v for k, v in table.items() if k in registry}
