"""Fused kernels for composite ops where one pass over memory pays: softmax,
log-softmax, cross-entropy (forward and backward), relu's backward and the optimizer
steps.

Each replaces a decomposition of several ops (and as many passes over memory) by one
or two launches.  Cases the kernels do not cover (probability targets, non-contiguous
optimizer state) run the op's own decomposition, so results never depend on it.
"""

from __future__ import annotations

import math
import string

import numpy as np

from .. import asserts
from ..array import CLArray, contiguous_strides
from .compiler import ctype, get_kernel, launch_size, template
from .elementwise import collapse, new_like
from .pointwise import astype, contiguous, pointwise_kernel

__all__ = ["kernels", "rows_source", "one_group_source", "optim_source"]

_LONG = np.dtype(np.int64)
_INT = np.dtype(np.int32)


def _decompose(od, *natives):
    """Run ``od``'s decomposition on ember tensors wrapping ``natives``."""
    import ember
    from ember.tensor import Tensor

    ref = next(x for x in _flat(natives) if isinstance(x, CLArray))
    dev = ember.device("rocm", ref.dev.index)

    def wrap(x):
        if isinstance(x, CLArray):
            return Tensor._make(x, dev)
        if isinstance(x, list):
            return [wrap(v) for v in x]
        return x

    def unwrap(x):
        if isinstance(x, Tensor):
            return x._data
        if isinstance(x, (list, tuple)):
            return type(x)(unwrap(v) for v in x)
        return x
    return unwrap(od.decomposition(*[wrap(x) for x in natives]))


def _check_values(od, *natives):
    """Run ``od``'s value rule on ember tensors wrapping ``natives`` (for a kernel that
    declares ``checks_values`` but runs a case its device check does not cover)."""
    import ember
    from ember.tensor import Tensor
    ref = next(x for x in natives if isinstance(x, CLArray))
    dev = ember.device("rocm", ref.dev.index)
    od.values(None, *[Tensor._make(x, dev) if isinstance(x, CLArray) else x
                      for x in natives])


def _flat(xs):
    for x in xs:
        if isinstance(x, list):
            yield from x
        else:
            yield x


def _rows(a: CLArray, dim: int, out: CLArray | None):
    """Merged outer dims of rows along ``dim``: (sizes, in strides, out strides)."""
    outer = [i for i in range(a.ndim) if i != dim]
    ostr = out.strides if out is not None else contiguous_strides(a.shape)
    shape, (ist, ost) = collapse(tuple(a.shape[i] for i in outer),
                                 [tuple(a.strides[i] for i in outer),
                                  tuple(ostr[i] for i in outer)])
    return shape, ist, ost


def _outer_code(nd: int) -> tuple:
    idx = "\n".join(f"        {{ const long i = r % sz{k}; r /= sz{k}; base += i * ist{k}; "
                    f"obase += i * ost{k}; }}" for k in range(nd - 1, -1, -1))
    params = "".join(f", const long sz{k}, const long ist{k}, const long ost{k}"
                     for k in range(nd))
    return idx, params


#: the opening of every row kernel (rows.cl's $ROW_START)
_ROW_START = """    const long g = get_group_id(0);
    const int lid = get_local_id(0);
    const int lsz = get_local_size(0);
    __local $T scratch[GROUP_MAX];
    long base = off, obase = 0;
    {
        long r = g;
$OUTER_INDEX
    }"""


def _group(c: int) -> int:
    return 256 if c > 128 else 32  # few sizes: PoCL compiles once per group size


def rows_source(dtype: np.dtype, nd: int) -> str:
    """The OpenCL C of ``rows.cl`` (softmax, cross_entropy and its backward) in
    ``dtype`` with rows over ``nd`` merged outer dims."""
    T = ctype(dtype, "softmax")
    idx, params = _outer_code(nd)
    start = _ROW_START.replace("$OUTER_INDEX", idx).replace("$T", T)
    return template("rows.cl").substitute(T=T, ROW_START=start, OUTER_PARAMS=params)


def _row_kernel(name: str, dev, dtype, nd: int, scalar_dtypes: list):
    ctype(dtype, name)
    return get_kernel(dev, ("rows", name, dtype, nd), lambda: rows_source(dtype, nd), name,
                      scalar_dtypes + [_LONG] * (3 * nd))


def _outer_args(shape, ist, ost) -> list:
    args = []
    for s, i, o in zip(shape, ist, ost, strict=True):
        args += [s, i, o]
    return args


# -- softmax ---------------------------------------------------------------------------------

def _softmax(log: bool):
    def kernel(x: CLArray, dim: int, dtype):
        if dtype is not None and dtype.np != x.dtype:
            x = astype(x, dtype)
        out = new_like(x.dev, x.shape, x.dtype)
        if out.size == 0:
            return out
        if x.ndim == 0:
            x = x.view((1,), (0,))
        d = dim % x.ndim
        C = x.shape[d]
        shape, ist, ost = _rows(x, d, None)
        rows = math.prod(shape)
        k = _row_kernel("softmax", x.dev, x.dtype, len(shape),
                        [_LONG, _LONG, None, _LONG, None, _LONG, _LONG, _INT])
        lsz = _group(C)
        k(x.dev.queue, (rows * lsz,), (lsz,), rows, C, out.buffer,
          contiguous_strides(x.shape)[d], x.buffer, x.offset, x.strides[d], int(log),
          *_outer_args(shape, ist, ost))
        return out
    kernel.__name__ = "rocm_log_softmax" if log else "rocm_softmax"
    return kernel


# -- relu's backward ---------------------------------------------------------------------------

def _threshold_backward(od):
    one_pass = pointwise_kernel(od)

    def kernel(grad_output, x, threshold):
        # One expression where the comparison happens in the gradient's floating
        # dtype; elsewhere (a bool or integer gradient) the threshold would be cast to
        # it first, so the decomposition compares as PyTorch does.
        if grad_output.dtype.kind != "f" or x.dtype != grad_output.dtype:
            return _decompose(od, grad_output, x, threshold)
        return one_pass(grad_output, x, threshold)
    kernel.__name__ = "rocm_threshold_backward"
    return kernel


# -- cross-entropy -------------------------------------------------------------------------------

def _ce_layout(x: CLArray, target: CLArray):
    """(logits with a row dim, class dim, contiguous int64 targets)."""
    if x.ndim == 1:
        x = x.view((1, x.shape[0]), (0, x.strides[0]))
    t = contiguous(target if target.dtype == _LONG else astype(target, _dtype_int64()))
    return x, 1, t


def _dtype_int64():
    import ember
    return ember.int64


def _weight_args(weight):
    if weight is None:
        return [None, 0, 0, 0]
    return [weight.buffer, weight.offset, weight.strides[0], 1]


def _target_slot(dev, C: int, ignore_index: int) -> int:
    """The device-side assert slot of cross-entropy's target check (asserts.py)."""
    def error(value):
        from ember.ops.losses import target_out_of_range
        return target_out_of_range("cross_entropy", value, C, ignore_index)
    return asserts.of(dev).slot(("cross_entropy", C, ignore_index), error)


def _ce_forward(od):
    def kernel(x, target, weight, reduction, ignore_index, label_smoothing):
        if target.dtype.kind == "f" or x.dtype.kind != "f":
            _check_values(od, x, target, weight, reduction, ignore_index, label_smoothing)
            return _decompose(od, x, target, weight, reduction, ignore_index,
                              label_smoothing)
        batch = (x.shape[:1] + x.shape[2:]) if x.ndim >= 2 else ()
        x2, d, t = _ce_layout(x, target)
        C = x2.shape[d]
        shape, ist, ost = _rows(x2, d, None)
        rows = math.prod(shape)
        dev = x.dev
        if reduction != "none" and len(shape) == 1 and 0 < rows * C <= SMALL:
            out = new_like(dev, (), x.dtype)
            k = _one_group_kernel("ce_small", dev, x.dtype,
                                  [_LONG, _LONG, None, None, _LONG, _LONG, _LONG, None, _LONG,
                                   None, _LONG, _LONG, _INT, _LONG, x.dtype, _INT, None,
                                   _LONG])
            wa = _weight_args(weight)
            k(dev.queue, (_ONE_GROUP,), (_ONE_GROUP,), rows, C, out.buffer, x2.buffer,
              x2.offset, x2.strides[d], ist[0], t.buffer, t.offset,
              wa[0] if wa[0] is not None else out.buffer, wa[1], wa[2], wa[3], ignore_index,
              x.dtype.type(label_smoothing), int(reduction == "mean"),
              asserts.of(dev).buffer, _target_slot(dev, C, ignore_index))
            return out
        loss = new_like(dev, (rows,), x.dtype)
        wrow = new_like(dev, (rows,), x.dtype)
        if rows:
            # the targets are checked as the kernel reads them (no mid-step read)
            k = _row_kernel("cross_entropy", dev, x.dtype, len(shape),
                            [_LONG, _LONG, None, None, None, _LONG, _LONG, None, _LONG,
                             None, _LONG, _LONG, _INT, _LONG, x.dtype, None, _LONG])
            wa = _weight_args(weight)
            # (the outer index also yields output offsets; loss rows are numbered by
            # the group id instead, so those go unused here)
            k(dev.queue, (rows * _group(C),), (_group(C),), rows, C, loss.buffer,
              wrow.buffer, x2.buffer, x2.offset, x2.strides[d], t.buffer,
              t.offset, wa[0] if wa[0] is not None else loss.buffer, wa[1], wa[2], wa[3],
              ignore_index, x.dtype.type(label_smoothing), asserts.of(dev).buffer,
              _target_slot(dev, C, ignore_index), *_outer_args(shape, ist, ost))
        if reduction == "none":
            return loss.view(batch, contiguous_strides(batch))
        out = new_like(dev, (), x.dtype)
        k = _one_group_kernel("ce_total", dev, x.dtype,
                              [_LONG, None, None, _INT, None])
        k(dev.queue, (_ONE_GROUP,), (_ONE_GROUP,), rows, loss.buffer, wrow.buffer,
          int(reduction == "mean"), out.buffer)
        return out
    kernel.__name__ = "rocm_cross_entropy"
    kernel.checks_values = True  # on the device: the core skips the value rule's reads
    return kernel


def _ce_backward(od):
    def kernel(grad, x, target, weight, reduction, ignore_index, label_smoothing):
        if target.dtype.kind == "f" or x.dtype.kind != "f":
            return _decompose(od, grad, x, target, weight, reduction, ignore_index,
                              label_smoothing)
        out = new_like(x.dev, x.shape, x.dtype)
        x2, d, t = _ce_layout(x, target)
        o2 = out if x.ndim != 1 else out.view((1, x.shape[0]), (0, 1))
        C = x2.shape[d]
        shape, ist, ost = _rows(x2, d, o2)
        rows = math.prod(shape)
        if rows == 0 or C == 0:
            return out
        dev = x.dev
        g = contiguous(grad)
        wa = _weight_args(weight)
        if reduction != "none" and len(shape) == 1 and rows * C <= SMALL:
            k = _one_group_kernel("ce_small_backward", dev, x.dtype,
                                  [_LONG, _LONG, None, _LONG, _LONG, None, _LONG, _LONG, _LONG,
                                   None, _LONG, None, _LONG, _LONG, _INT, _LONG, x.dtype,
                                   None, _LONG, _INT])
            k(dev.queue, (_ONE_GROUP,), (_ONE_GROUP,), rows, C, o2.buffer, o2.strides[d],
              ost[0], x2.buffer, x2.offset, x2.strides[d], ist[0], t.buffer, t.offset,
              wa[0] if wa[0] is not None else x2.buffer, wa[1], wa[2], wa[3], ignore_index,
              x.dtype.type(label_smoothing), g.buffer, g.offset, int(reduction == "mean"))
            return out
        if reduction == "mean":
            # the mean's denominator: the summed weights of the non-ignored rows
            denom = _ce_weight_sum(dev, t, weight, ignore_index, C, x.dtype)
        else:
            denom = g
        k = _row_kernel("cross_entropy_backward", dev, x.dtype, len(shape),
                        [_LONG, _LONG, None, _LONG, None, _LONG, _LONG, None, _LONG,
                         None, _LONG, _LONG, _INT, _LONG, x.dtype, None, _LONG, _LONG, None,
                         _INT])
        mode = {"none": 0, "mean": 1, "sum": 2}[reduction]
        k(dev.queue, (rows * _group(C),), (_group(C),), rows, C, o2.buffer,
          o2.strides[d], x2.buffer, x2.offset, x2.strides[d], t.buffer, t.offset,
          wa[0] if wa[0] is not None else x2.buffer, wa[1], wa[2], wa[3], ignore_index,
          x.dtype.type(label_smoothing), g.buffer, g.offset, 1, denom.buffer, mode,
          *_outer_args(shape, ist, ost))
        return out
    kernel.__name__ = "rocm__cross_entropy_backward"
    return kernel


#: work items of the one-work-group reductions below (their loops stride by it)
_ONE_GROUP = 64

#: The sums that end a cross-entropy, each in one work group (one launch; the per-row
#: kernels before them cost C times more): the summed (and, for the mean, divided) row
#: losses, and the mean's denominator, the summed weights of the non-ignored targets.
_ONE_GROUP_SOURCE = """
#define G 64
#define GROUP_SUM(v) do { s_[lid] = v; barrier(CLK_LOCAL_MEM_FENCE); \\
    for (int k_ = G / 2; k_ > 0; k_ >>= 1) { \\
        if (lid < k_) s_[lid] += s_[lid + k_]; barrier(CLK_LOCAL_MEM_FENCE); } \\
    v = s_[0]; barrier(CLK_LOCAL_MEM_FENCE); } while (0)

__kernel void ce_total(const long n, __global const $T* a, __global const $T* b,
                       const int mean, __global $T* out)
{
    __local $T s_[G];
    const int lid = get_local_id(0);
    $T va = 0, vb = 0;
    for (long i = lid; i < n; i += G) { va += a[i]; vb += b[i]; }
    GROUP_SUM(va);
    GROUP_SUM(vb);
    if (lid == 0) out[0] = mean ? va / vb : va;
}

__kernel void ce_weight_sum(const long n, const long C, __global const long* t,
                            const long toff, __global const $T* w, const long woff,
                            const long wst, const int has_weight, const long ignore,
                            __global $T* out)
{
    __local $T s_[G];
    const int lid = get_local_id(0);
    $T v = 0;
    for (long i = lid; i < n; i += G) {
        const long c = t[toff + i];
        if (c != ignore && c >= 0 && c < C) v += has_weight ? w[woff + c * wst] : ($T)1;
    }
    GROUP_SUM(v);
    if (lid == 0) out[0] = v;
}

// Small batches (rows * C <= SMALL): the whole reduced cross-entropy in one work group,
// one row per work item at a time -- the forward with its total, the backward with its
// mean's denominator -- one launch each instead of two (the per-row kernels' work
// groups cost more than their rows' work here).  Same formulas as rows.cl's kernels;
// targets are checked as there (asserts.py).
#define MAXNAN(a, b) (((a) > (b) || isnan(a)) ? (a) : (b))
#define W(j) (has_weight ? w[woff + (j) * wst] : ($T)1)
#define VALID(t) ((t) != ignore && (t) >= 0 && (t) < C)

__kernel void ce_small(const long rows, const long C, __global $T* out,
                       __global const $T* in, const long off, const long ist, const long rst,
                       __global const long* t, const long toff,
                       __global const $T* w, const long woff, const long wst,
                       const int has_weight, const long ignore, const $T ls, const int mean,
                       __global long* err, const long eslot)
{
    __local $T s_[G];
    const int lid = get_local_id(0);
    $T va = 0, vb = 0;
    for (long g = lid; g < rows; g += G) {
        const long base = off + g * rst, tg = t[toff + g];
        if (!VALID(tg)) {
            if (tg != ignore) { err[2 * eslot + 1] = tg; err[2 * eslot] = 1; }
            continue;
        }
        $T mx = -INFINITY;
        for (long j = 0; j < C; ++j) mx = MAXNAN(mx, in[base + j * ist]);
        $T se = 0, swx = 0, sw = 0;
        for (long j = 0; j < C; ++j) {
            const $T x = in[base + j * ist] - mx;
            se += exp(x);
            swx += W(j) * x;
            sw += W(j);
        }
        const $T lse = log(se), wt = W(tg);
        $T l = -wt * (1 - ls) * (in[base + tg * ist] - mx - lse);
        if (ls != 0) l -= (ls / C) * (swx - sw * lse);
        va += l;
        vb += wt;
    }
    GROUP_SUM(va);
    GROUP_SUM(vb);
    if (lid == 0) out[0] = mean ? va / vb : va;
}

__kernel void ce_small_backward(const long rows, const long C, __global $T* out,
                                const long ost, const long orst,
                                __global const $T* in, const long off, const long ist,
                                const long rst, __global const long* t, const long toff,
                                __global const $T* w, const long woff, const long wst,
                                const int has_weight, const long ignore, const $T ls,
                                __global const $T* grad, const long goff, const int mean)
{
    __local $T s_[G];
    const int lid = get_local_id(0);
    $T denom = 1;
    if (mean) {
        $T v = 0;
        for (long g = lid; g < rows; g += G) {
            const long tg = t[toff + g];
            if (VALID(tg)) v += W(tg);
        }
        GROUP_SUM(v);
        denom = v;
    }
    const $T scale = grad[goff] / denom;
    $T sw = 0;
    if (ls != 0) for (long j = 0; j < C; ++j) sw += W(j);
    for (long g = lid; g < rows; g += G) {
        const long base = off + g * rst, obase = g * orst, tg = t[toff + g];
        if (!VALID(tg)) {
            for (long j = 0; j < C; ++j) out[obase + j * ost] = 0;
            continue;
        }
        $T mx = -INFINITY;
        for (long j = 0; j < C; ++j) mx = MAXNAN(mx, in[base + j * ist]);
        $T se = 0;
        for (long j = 0; j < C; ++j) se += exp(in[base + j * ist] - mx);
        const $T wt = W(tg), lsc = ls / C;
        const $T dsum = wt * (1 - ls) + lsc * sw;
        for (long j = 0; j < C; ++j) {
            const $T p = exp(in[base + j * ist] - mx) / se;
            const $T d = (j == tg ? wt * (1 - ls) : ($T)0) + lsc * W(j);
            out[obase + j * ost] = scale * (p * dsum - d);
        }
    }
}
"""

#: rows * classes up to which a reduced cross-entropy runs in one work group
#: (``ce_small``): one launch instead of two, forward and backward
SMALL = 16384


def one_group_source(dtype: np.dtype) -> str:
    """The OpenCL C of the one-work-group cross-entropy kernels in ``dtype``."""
    return string.Template(_ONE_GROUP_SOURCE).substitute(T=ctype(dtype, "cross_entropy"))


def _one_group_kernel(name: str, dev, dtype, scalar_dtypes):
    ctype(dtype, name)
    return get_kernel(dev, ("ce_sums", name, dtype), lambda: one_group_source(dtype), name,
                      scalar_dtypes)


def _ce_weight_sum(dev, t: CLArray, weight, ignore_index: int, C: int, dtype):
    out = new_like(dev, (1,), dtype)
    wa = _weight_args(weight)
    k = _one_group_kernel("ce_weight_sum", dev, dtype,
                          [_LONG, _LONG, None, _LONG, None, _LONG, _LONG, _INT, _LONG, None])
    k(dev.queue, (_ONE_GROUP,), (_ONE_GROUP,), t.size, C, t.buffer, t.offset,
      wa[0] if wa[0] is not None else out.buffer, wa[1], wa[2], wa[3], ignore_index,
      out.buffer)
    return out


# -- optimizer steps ---------------------------------------------------------------------------

def optim_source(dtype: np.dtype) -> str:
    """The OpenCL C of the fused optimizer steps (``optim.cl``) in ``dtype``."""
    return template("optim.cl").substitute(T=ctype(dtype, "optim"))


def _optim_kernel(name: str, dev, dtype, scalar_dtypes):
    ctype(dtype, name)
    return get_kernel(dev, ("optim", name, dtype), lambda: optim_source(dtype), name,
                      scalar_dtypes)


def _all_contiguous(*groups) -> bool:
    return all(x.is_contiguous for g in groups for x in g)


def _sgd(od):
    def kernel(params, grads, bufs, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
               nesterov=False, maximize=False, init_buffers=False):
        if not _all_contiguous(params, grads, bufs if momentum else []) or \
                any(p.dtype.kind != "f" for p in params):
            _decompose(od, params, grads, bufs, lr, momentum, dampening, weight_decay,
                       nesterov, maximize, init_buffers)
            return
        for i, p in enumerate(params):
            n = p.size
            if n == 0:
                continue
            T = p.dtype
            g = grads[i] if grads[i].dtype == T else astype(grads[i], _ember_dtype(T))
            b = bufs[i] if momentum else p
            k = _optim_kernel("sgd", p.dev, T, [_LONG, None, _LONG, None, _LONG, None, _LONG,
                                                T, T, T, T, _INT, _INT, _INT])
            k(p.dev.queue, launch_size(n), None, n, p.buffer, p.offset, g.buffer, g.offset,
              b.buffer, b.offset, lr, momentum, dampening, weight_decay, int(nesterov),
              int(maximize), int(init_buffers))
    kernel.__name__ = "rocm__sgd_update_"
    return kernel


def _adam(od):
    def kernel(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1,
               beta2, eps, weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False,
               maximize=False):
        state = [exp_avgs, exp_avg_sqs] + ([max_exp_avg_sqs] if amsgrad else [])
        if not _all_contiguous(params, grads, *state) or \
                any(p.dtype.kind != "f" for p in params):
            _decompose(od, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr,
                       beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay,
                       maximize)
            return
        for i, p in enumerate(params):
            n = p.size
            if n == 0:
                continue
            T = p.dtype
            g = grads[i] if grads[i].dtype == T else astype(grads[i], _ember_dtype(T))
            m, v = exp_avgs[i], exp_avg_sqs[i]
            vmax = max_exp_avg_sqs[i] if amsgrad else v
            step = steps[i]
            step_size = lr / (1.0 - beta1 ** step)
            bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
            k = _optim_kernel("adam", p.dev, T,
                              [_LONG, None, _LONG, None, _LONG, None, _LONG, None, _LONG,
                               None, _LONG, T, T, T, T, T, T, T, _INT, _INT, _INT])
            k(p.dev.queue, launch_size(n), None, n, p.buffer, p.offset, g.buffer, g.offset,
              m.buffer, m.offset, v.buffer, v.offset, vmax.buffer, vmax.offset, lr, beta1,
              beta2, eps, weight_decay, step_size, bc2_sqrt, int(amsgrad),
              int(decoupled_weight_decay), int(maximize))
    kernel.__name__ = "rocm__adam_update_"
    return kernel


def _ember_dtype(np_dtype):
    from ember.dtypes import FROM_NP
    return FROM_NP[np_dtype]


def kernels(registry) -> dict:
    """Fused kernels for the composites of ``registry`` that this module implements."""
    table = {"softmax": _softmax(False), "log_softmax": _softmax(True)}
    makers = {"cross_entropy": _ce_forward, "_cross_entropy_backward": _ce_backward,
              "_sgd_update_": _sgd, "_adam_update_": _adam,
              "threshold_backward": _threshold_backward}
    for name, make in makers.items():
        if name in registry:
            table[name] = make(registry[name])
    return table

