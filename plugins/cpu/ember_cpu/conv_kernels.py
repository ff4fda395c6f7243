"""numpy kernels of 2-D convolution and max-pooling, forward and backward.

Convolution is im2col + BLAS products, chunk by chunk over the batch (a chunk's columns
fit a core's L2 cache) on as many threads as numpy's BLAS may use (``workers``): the
copies run in parallel too, where one big product would thread only itself.

- Forward: one product per sample, (O, K+1) @ (K+1, length), whose result is already
  in (N, C, H, W) order; the columns' last row is ones and the weight's last column
  the bias, so the bias costs no pass of its own.  With rows of at least ~24 elements
  the product writes straight into the output; shorter rows use "wide" columns
  (stride 1): each kernel offset's columns are then one run of the flattened padded
  plane (each output row computed over the padded width, the extra ``kw - 1`` columns
  dropped), a long-run copy where plain columns would copy rows of a few elements.
- Weight gradient: columns @ output-gradient^T, per sample on plain columns (the
  gradient read in place) or per chunk on wide ones (the gradient needs a copy
  anyway); the ones row makes the same product sum the bias's gradient.
- Input gradient: with stride 1 the forward convolution of the output gradient with
  the flipped, channel-swapped kernel (the transposed convolution); otherwise the
  columns' gradient added back by kernel offset (col2im).

Max-pooling keeps, per output, the first maximum's index in its input plane (PyTorch's
``max_pool2d_with_indices``); its backward adds the gradient at those indices, in
memory linear in the input.  Both are chunked over the batch like the convolution.
Same calling convention as ``kernels``.
"""

from __future__ import annotations

import threading

import numpy as np

from . import workers
from .registry import registry

KERNELS, kernel = registry()

_as_strided = np.lib.stride_tricks.as_strided


def _two(v):
    v = tuple(v)
    return v * 2 if len(v) == 1 else v


# --- convolution --------------------------------------------------------------------------

class _Geometry:
    """One convolution's sizes and the layout of its columns.

    A sample's columns are a (C, kh, kw, length) array: for every input channel and
    kernel offset, the input values that offset meets at each output position, ``length
    = oh * pitch``.  ``pitch`` is ``ow``, or with ``wide`` columns (stride 1) the padded
    width ``wp``: output row r then reads one contiguous run of the padded plane, and
    the ``wp - ow`` extra positions per row are computed and dropped (the output
    gradient is zero there).  Wide columns copy in long runs (cheap im2col and col2im)
    but make the product ``wp / ow`` times longer and its result need a copy; plain
    ones let the product write the output in place."""

    __slots__ = ("n", "c", "h", "w", "o", "groups", "kh", "kw", "s", "p", "d", "oh", "ow",
                 "hp", "wp", "wide", "pitch", "length", "tail", "k")

    def __init__(self, x, w, stride, padding, dilation, groups, wide=True):
        self.n, self.c, self.h, self.w = x.shape
        self.o, _, self.kh, self.kw = w.shape
        self.groups = groups
        s, p, d = self.s, self.p, self.d = _two(stride), _two(padding), _two(dilation)
        self.hp, self.wp = self.h + 2 * p[0], self.w + 2 * p[1]
        self.oh = (self.hp - d[0] * (self.kh - 1) - 1) // s[0] + 1
        self.ow = (self.wp - d[1] * (self.kw - 1) - 1) // s[1] + 1
        self.wide = wide and s == (1, 1) and self.wp > self.ow
        self.pitch = self.wp if self.wide else self.ow
        self.length = self.oh * self.pitch
        #: elements past the padded input that the last plane's wide columns reach
        self.tail = self.wp - self.ow if self.wide else 0
        #: a group's column rows (its input channels times the kernel's cells)
        self.k = self.c // groups * self.kh * self.kw


def _padded(x, g: _Geometry):
    """``x`` (a chunk of the batch) zero-padded to a C-contiguous (n, C, hp, wp) array
    followed in memory by ``g.tail`` zeros (a copy only where needed)."""
    p = g.p
    if p == (0, 0) and not g.tail:
        return np.ascontiguousarray(x)
    size = x.shape[0] * g.c * g.hp * g.wp
    buf = np.empty(size + g.tail, dtype=x.dtype)
    buf[size:] = 0
    out = buf[:size].reshape(x.shape[0], g.c, g.hp, g.wp)
    if p != (0, 0):
        out[:, :, :p[0]] = 0
        out[:, :, g.hp - p[0]:] = 0
        out[:, :, p[0]:g.hp - p[0], :p[1]] = 0
        out[:, :, p[0]:g.hp - p[0], g.wp - p[1]:] = 0
    out[:, :, p[0]:g.hp - p[0], p[1]:g.wp - p[1]] = x
    return out


def _column_view(xp, g: _Geometry, samples_first=True, writeable=False):
    """The im2col columns as a strided view of the padded (n, C, hp, wp) array ``xp``
    (and its tail): (n, groups, C/groups, kh, kw, oh, pitch) with ``samples_first``,
    else (groups, C/groups, kh, kw, n, oh, pitch).  Within one kernel offset the view's
    cells are distinct (but for the wide columns' dropped positions); the offsets
    overlap."""
    e = xp.itemsize
    row = g.wp * e
    cg = g.c // g.groups
    head = (g.groups, cg, g.kh, g.kw), (cg * xp.strides[1], xp.strides[1], g.d[0] * row,
                                        g.d[1] * e)
    n = (xp.shape[0],), (xp.strides[0],)
    rows = (g.oh, g.pitch), (g.s[0] * row, g.s[1] * e)
    order = (n, head, rows) if samples_first else (head, n, rows)
    return _as_strided(xp, sum((o[0] for o in order), ()), sum((o[1] for o in order), ()),
                       writeable=writeable)


def _columns(x, g: _Geometry, samples_first=True):
    """A chunk's im2col columns, one copy in runs of ``length`` (wide) or ``ow``
    elements: (n, groups, C/groups*kh*kw + 1, length) with ``samples_first`` (a product
    per sample lands in (N, C, H, W) order), else (groups, C/groups*kh*kw + 1,
    n*length) (one product per group for the whole chunk).  The last row of each group
    is ones, so that one product also adds the bias (forward) or sums the bias's
    gradient."""
    view = _column_view(_padded(x, g), g, samples_first)
    n = x.shape[0]
    if samples_first:
        cols = np.empty((n, g.groups, g.k + 1, g.length), dtype=x.dtype)
        np.copyto(cols[:, :, :g.k].reshape(view.shape), view)
        cols[:, :, g.k] = 1
    else:
        cols = np.empty((g.groups, g.k + 1, n * g.length), dtype=x.dtype)
        np.copyto(cols[:, :g.k].reshape(view.shape), view)
        cols[:, g.k] = 1
    return cols


def _weight_matrix(w, g: _Geometry, b=None):
    """(groups, O/groups, K/groups + 1): the weight beside its bias (or zeros), to
    multiply ``_columns``."""
    m = np.empty((g.groups, g.o // g.groups, g.k + 1), dtype=w.dtype)
    m[..., :g.k] = w.reshape(g.groups, g.o // g.groups, g.k)
    m[..., g.k] = 0 if b is None else b.reshape(g.groups, g.o // g.groups)
    return m


def _batched(x, grad=None):
    return (x[None], None if grad is None else grad[None]) if x.ndim == 3 else (x, grad)


def _chunking(g: _Geometry, itemsize: int, per_sample: int = 0):
    """Samples per chunk and the number of threads: a chunk's columns (``per_sample``
    elements a sample, im2col's by default) fit in a core's L2 cache (the products then
    read them from cache, not memory), and the chunks come in multiples of the cores
    this process may use, so that every core gets as many.  The chunks do not depend
    on the thread count: nor does the weight gradient's order of summation."""
    elements = (per_sample or (g.c * g.kh * g.kw + g.groups) * g.length)
    threads = workers.threads_for(g.n * elements)
    per_sample = max(1, elements * itemsize)
    chunks = max(1, -(-g.n * per_sample // _CHUNK_BYTES))
    cores = workers.cores()
    chunks = -(-chunks // cores) * cores
    return max(1, -(-g.n // chunks)), threads


#: the bytes of columns one chunk holds (about a core's L2 cache)
_CHUNK_BYTES = 1 << 20


def _wide_forward(g: _Geometry) -> bool:
    """Wide columns for the forward where plain ones would copy rows shorter than ~24
    elements (their strided copy then costs more than the longer product and the
    output's copy)."""
    return g.ow < 24


def _shifted_rows(x, g: _Geometry):
    """A chunk's padded planes, each flattened and copied once per kernel column:
    (n, groups, C/groups*kw, hp*wp), row (c, j) starting at the plane's element
    ``j * dilation``.  With wide columns (stride 1), kernel row i's columns are then the
    slice ``[i * dilation * wp, + length)`` of every row: a strided matrix BLAS reads
    in place.  The copy is kw, not kh*kw, times the input."""
    xp = _padded(x, g)
    n, e = x.shape[0], xp.itemsize
    plane = g.hp * g.wp
    # (row (C-1, kw-1) runs into the padded array's tail of zeros)
    view = _as_strided(xp, (n, g.c, g.kw, plane),
                       (xp.strides[0], xp.strides[1], g.d[1] * e, e))
    rows = np.empty(view.shape, dtype=x.dtype)
    np.copyto(rows, view)
    return rows.reshape(n, g.groups, g.c // g.groups * g.kw, plane)


@kernel("conv2d")
def conv2d(x, w, b, stride, padding, dilation, groups):
    unbatched = x.ndim == 3
    x, _ = _batched(x)
    g = _Geometry(x, w, stride, padding, dilation, groups)
    if g.wide and not _wide_forward(g):
        g = _Geometry(x, w, stride, padding, dilation, groups, wide=False)
    out = np.empty((g.n, g.o, g.oh, g.ow), dtype=x.dtype)
    if g.wide:
        # one product per kernel row on shifted rows, summed: kh products of
        # (O, C*kw) @ (C*kw, length) per sample, a third of im2col's copying (3x3)
        og = g.o // groups
        wk = w.reshape(groups, og, g.c // groups, g.kh, g.kw)
        ws = [np.ascontiguousarray(wk[:, :, :, i]).reshape(groups, og, -1)
              for i in range(g.kh)]
        bias = None if b is None else b[:, None, None]

        def work(n0, n1, _index):
            rows = _shifted_rows(x[n0:n1], g)
            acc = None
            for i, wi in enumerate(ws):
                at = i * g.d[0] * g.wp
                part = np.matmul(wi, rows[..., at:at + g.length])
                acc = part if acc is None else np.add(acc, part, out=acc)
            res = acc.reshape(n1 - n0, g.o, g.oh, g.pitch)[..., :g.ow]
            if bias is None:
                np.copyto(out[n0:n1], res, casting="unsafe")
            else:
                np.add(res, bias, out=out[n0:n1], casting="unsafe")
    else:
        wm = _weight_matrix(w, g, b)

        def work(n0, n1, _index):
            cols = _columns(x[n0:n1], g)
            dst = out[n0:n1]
            if dst.dtype == np.result_type(wm, cols):
                # the product lands in (N, C, H, W) order: straight into the output
                np.matmul(wm, cols, out=dst.reshape(n1 - n0, g.groups, -1, g.length))
            else:
                res = np.matmul(wm, cols).reshape(dst.shape)
                np.copyto(dst, res, casting="unsafe")

    # (wide: the shifted rows, the sum and one product's result)
    rows = (g.c * g.kw * g.hp * g.wp + 2 * g.o * g.length) if g.wide else 0
    chunk, threads = _chunking(g, x.itemsize, rows)
    workers.run_chunks(g.n, chunk, threads, work)
    return out[0] if unbatched else out


def _finite(a) -> bool:
    return a.dtype.kind not in "fcV" or bool(np.isfinite(a).all())


def _grad_columns(grad, g: _Geometry, samples_first=True):
    """A chunk of the output gradient (n, O, oh, ow) as (n, groups, O/groups, length)
    with ``samples_first`` (a view where no copy is needed), else (groups, O/groups,
    n*length); zero at the wide columns' dropped positions."""
    n = grad.shape[0]
    if samples_first and not g.wide:
        return np.ascontiguousarray(grad).reshape(n, g.groups, g.o // g.groups, g.length)
    if samples_first:
        out = np.empty((n, g.o, g.oh, g.pitch), dtype=grad.dtype)
        out[..., :g.ow] = grad
        shape = (n, g.groups, g.o // g.groups, g.length)
    else:
        out = np.empty((g.o, n, g.oh, g.pitch), dtype=grad.dtype)
        out[..., :g.ow] = grad.transpose(1, 0, 2, 3)
        shape = (g.groups, g.o // g.groups, n * g.length)
    if g.pitch > g.ow:
        out[..., g.ow:] = 0
    return out.reshape(shape)


def _col2im(dcols, g: _Geometry, dtype):
    """The input gradient (n, C, H, W) of a chunk from its columns' gradient (n, groups,
    C/groups*kh*kw, length): each kernel offset adds its columns back where they were
    read from (the offsets' windows overlap and add up)."""
    n = dcols.shape[0]
    size = n * g.c * g.hp * g.wp
    dxp = np.zeros(size + g.tail, dtype=dtype)[:size].reshape(n, g.c, g.hp, g.wp)
    target = _column_view(dxp, g, writeable=True)
    dcols = dcols.reshape(target.shape)
    for i in range(g.kh):
        for j in range(g.kw):
            dst = target[:, :, :, i, j]
            np.add(dst, dcols[:, :, :, i, j], out=dst)
    p = g.p
    return dxp[:, :, p[0]:p[0] + g.h, p[1]:p[1] + g.w]


# The wide columns' dropped positions meet a zero output gradient: harmless unless the
# value there (an input value for the weight's gradient, a weight for the input's) is
# infinite or NaN, where 0 * inf would leak a NaN; such calls use plain columns.

def _weight_grad(grad, x, w, stride, padding, dilation, groups, need_bias):
    """The weight's gradient and, with ``need_bias``, the bias's (else None), chunk by
    chunk over the batch on every thread (each thread sums its own)."""
    g = _Geometry(x, w, stride, padding, dilation, groups, wide=False)
    if g.s == (1, 1) and _wide_forward(g) and _finite(x):
        g = _Geometry(x, w, stride, padding, dilation, groups)
    chunk, threads = _chunking(g, x.itemsize)
    # per chunk: the transposed weight gradient beside the bias's, (groups, K/groups
    # + 1, O/groups), summed in chunk order (the same on any thread count)
    sums = _OrderedSum()
    # Plain columns: a product per sample, reading the gradient in place.  Wide ones:
    # the gradient needs a copy anyway, so it is laid out for one product per chunk
    # (a reduction over n*length, not length).  (columns @ grad^T: BLAS runs it faster
    # than grad @ columns^T.)
    per_sample = not g.wide

    def work(n0, n1, index):
        cols = _columns(x[n0:n1], g, per_sample)
        gc = _grad_columns(grad[n0:n1], g, per_sample)
        if per_sample:
            sums.add(index, np.add.reduce(np.matmul(cols, gc.transpose(0, 1, 3, 2)), 0))
        else:
            sums.add(index, np.matmul(cols, gc.transpose(0, 2, 1)))

    workers.run_chunks(g.n, chunk, threads, work)
    total = sums.value
    if total is None:
        total = np.zeros((g.groups, g.k + 1, g.o // g.groups), dtype=np.result_type(x, grad))
    gw = np.ascontiguousarray(total[:, :g.k].transpose(0, 2, 1)).reshape(w.shape).astype(
        w.dtype, copy=False)
    gb = total[:, g.k].reshape(g.o).astype(grad.dtype) if need_bias else None
    return gw, gb


class _OrderedSum:
    """The sum of numbered parts added from any thread in any order, summed in the
    parts' order (0, 1, ...) as they become ready: the same result whatever thread
    finished first, holding only the parts that arrived early."""

    def __init__(self):
        self.value = None
        self._next = 0
        self._early: dict = {}
        self._lock = threading.Lock()

    def add(self, index: int, part) -> None:
        with self._lock:
            self._early[index] = part
            while self._next in self._early:
                p = self._early.pop(self._next)
                self._next += 1
                # (the parts are fresh products: the first one becomes the sum)
                self.value = p if self.value is None else np.add(self.value, p,
                                                                   out=self.value)


def _input_grad(grad, x, w, stride, padding, dilation, groups):
    """The input's gradient.  With stride 1 it is the forward convolution of the output
    gradient, padded by ``d * (k - 1) - p``, with the kernel flipped and its channel axes
    swapped (the transposed convolution, as PyTorch's slow path): one more product on
    fresh columns instead of a col2im's overlapping adds.  A weight that is not finite
    takes the col2im path: the padding's zeros would meet it (0 * inf) where PyTorch
    adds nothing."""
    g = _Geometry(x, w, stride, padding, dilation, groups, wide=False)
    pad = tuple(d * (k - 1) - p for d, k, p in zip(g.d, (g.kh, g.kw), g.p, strict=True))
    if g.s == (1, 1) and min(pad) >= 0 and _finite(w) and g.n:
        og, cg = g.o // groups, g.c // groups
        wt = w.reshape(groups, og, cg, g.kh, g.kw)[..., ::-1, ::-1].transpose(0, 2, 1, 3, 4)
        wt = wt.reshape(g.c, og, g.kh, g.kw)
        gi = conv2d(grad, wt, None, (1, 1), pad, g.d, groups)
        return gi.astype(x.dtype, copy=False)
    if g.s == (1, 1) and _finite(w):
        g = _Geometry(x, w, stride, padding, dilation, groups)
    chunk, threads = _chunking(g, x.itemsize)
    gi = np.empty(x.shape, dtype=x.dtype)
    wmt = w.reshape(g.groups, g.o // g.groups, g.k).transpose(0, 2, 1)

    def work(n0, n1, _index):
        gi[n0:n1] = _col2im(np.matmul(wmt, _grad_columns(grad[n0:n1], g)), g, x.dtype)

    workers.run_chunks(g.n, chunk, threads, work)
    return gi


@kernel("_conv2d_backward_weight")
def conv2d_backward_weight(grad, x, w, stride, padding, dilation, groups):
    return conv2d_backward(grad, x, w, stride, padding, dilation, groups, False, True,
                           False)[1]


@kernel("_conv2d_backward_input")
def conv2d_backward_input(grad, x, w, stride, padding, dilation, groups):
    return conv2d_backward(grad, x, w, stride, padding, dilation, groups, True, False,
                           False)[0]


_NONE: dict = {}


@kernel("_conv2d_backward")
def conv2d_backward(grad, x, w, stride, padding, dilation, groups, need_input, need_weight,
                    need_bias):
    unbatched = x.ndim == 3
    x, grad = _batched(x, grad)
    gi = gw = gb = None
    if need_input:
        gi = _input_grad(grad, x, w, stride, padding, dilation, groups)
        if unbatched:
            gi = gi[0]
    if need_weight:
        gw, gb = _weight_grad(grad, x, w, stride, padding, dilation, groups, need_bias)
    elif need_bias:  # (else it came with the weight's)
        gb = np.add.reduce(grad, (0, 2, 3)).astype(grad.dtype, copy=False)
    none = _NONE.get(grad.dtype)
    if none is None:
        none = _NONE[grad.dtype] = np.empty(0, grad.dtype)
    return tuple(none.copy() if a is None else a for a in (gi, gw, gb))


# --- max-pooling ---------------------------------------------------------------------------

def _pool_sizes(x, kernel_size, stride, padding, dilation, ceil_mode):
    k = _two(kernel_size)
    s = _two(stride) if len(stride) else k
    p, d = _two(padding), _two(dilation)
    out = []
    for i, size in enumerate(x.shape[-2:]):
        span = size + 2 * p[i] - d[i] * (k[i] - 1) - 1
        n = (-(-span // s[i]) if ceil_mode else span // s[i]) + 1
        if ceil_mode and (n - 1) * s[i] >= size + p[i]:
            n -= 1  # the last window must start inside the input or its left padding
        out.append(n)
    return k, s, p, d, tuple(out)


def _span(size, n_out, s, first):
    """Outputs ``[lo, hi)`` whose input row ``first + o * s`` lies in ``[0, size)``, and
    that row for ``lo``."""
    lo = max(0, -(first // s))  # ceil(-first / s)
    hi = min(n_out, -(-(size - first) // s))
    return lo, max(lo, hi), first + lo * s


def _lowest(dtype):
    if dtype.kind == "f" or dtype.kind == "V":  # (V: ml_dtypes' bfloat16 and friends)
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


def _max_scan(x, k, s, p, d, out, codes: bool, nan_aware: bool = False):
    """Max over each window of (N, C, H, W) ``x`` and, with ``codes``, the number of
    the kernel offset (row-major) that holds each window's first maximum (the last NaN
    when ``nan_aware``, as PyTorch).  Padding cells are skipped, never read."""
    n, c, h, w = x.shape
    offsets = []
    for i in range(k[0]):
        for j in range(k[1]):
            r = _span(h, out[0], s[0], i * d[0] - p[0])
            q = _span(w, out[1], s[1], j * d[1] - p[1])
            offsets.append((r, q))
    best = np.empty((n, c) + out, dtype=x.dtype)
    code = np.zeros((n, c) + out, dtype=np.int8 if len(offsets) < 128 else np.int32) \
        if codes else None

    def source(r, q):
        return x[:, :, r[2]:r[2] + s[0] * (r[1] - r[0] - 1) + 1:s[0],
                 q[2]:q[2] + s[1] * (q[1] - q[0] - 1) + 1:s[1]]

    (r, q) = offsets[0]
    start = 0
    if r[:2] == (0, out[0]) and q[:2] == (0, out[1]):
        np.copyto(best, source(r, q))  # the first offset is inside every window
        start = 1
    else:
        best[...] = _lowest(x.dtype)
        if codes:
            code[...] = -1  # no cell seen yet: the first one read wins
    for kk in range(start, len(offsets)):
        r, q = offsets[kk]
        if r[0] == r[1] or q[0] == q[1]:
            continue
        v = source(r, q)
        b = best[:, :, r[0]:r[1], q[0]:q[1]]
        if codes:
            better = np.greater(v, b)
            if nan_aware:
                better |= v != v
            cd = code[:, :, r[0]:r[1], q[0]:q[1]]
            if start == 0:
                better |= cd < 0
            # offsets come in increasing order, so the latest winner is the largest
            np.maximum(cd, np.multiply(better, kk, dtype=cd.dtype), out=cd)
        np.maximum(b, v, out=b)  # (NaN wins, as PyTorch's value)
    return best, code


def _pool_chunking(n: int, threads: int) -> int:
    """Items per chunk of a pooling: one chunk per thread (smaller, cache-sized chunks
    measured slower here: the scan's many small numpy calls cost more per chunk than
    the cache saves)."""
    return max(1, -(-n // threads))


@kernel("max_pool2d")
def max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode):
    unbatched = x.ndim == 3
    x, _ = _batched(x)
    k, s, p, d, out = _pool_sizes(x, kernel_size, stride, padding, dilation, ceil_mode)
    best = np.empty(x.shape[:2] + out, dtype=x.dtype)

    def work(n0, n1, _index):
        best[n0:n1] = _max_scan(x[n0:n1], k, s, p, d, out, codes=False)[0]

    threads = workers.threads_for(x.size)
    workers.run_chunks(x.shape[0], _pool_chunking(x.shape[0], threads), threads, work)
    return best[0] if unbatched else best


@kernel("max_pool2d_with_indices")
def max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode):
    unbatched = x.ndim == 3
    x, _ = _batched(x)
    k, s, p, d, out = _pool_sizes(x, kernel_size, stride, padding, dilation, ceil_mode)
    w = x.shape[-1]
    step = np.array([i * d[0] * w + j * d[1] for i in range(k[0]) for j in range(k[1])],
                    dtype=np.int64)
    # the index of each window's first cell
    base = ((np.arange(out[0]) * s[0] - p[0]) * w)[:, None] + (np.arange(out[1]) * s[1]
                                                               - p[1])
    best = np.empty(x.shape[:2] + out, dtype=x.dtype)
    idx = np.empty(x.shape[:2] + out, dtype=np.int64)
    floats = x.dtype.kind in "fcV"

    def work(n0, n1, _index):
        xs, bs, ids = x[n0:n1], best[n0:n1], idx[n0:n1]
        b, code = _max_scan(xs, k, s, p, d, out, codes=True)
        if floats and np.isnan(b).any():
            # a NaN's index is the last NaN of its window (PyTorch): rescan only then
            _, code = _max_scan(xs, k, s, p, d, out, codes=True, nan_aware=True)
        bs[...] = b
        np.take(step, code, out=ids)
        np.add(ids, base, out=ids)

    threads = workers.threads_for(x.size)
    workers.run_chunks(x.shape[0], _pool_chunking(x.shape[0], threads), threads, work)
    return (best[0], idx[0]) if unbatched else (best, idx)


@kernel("_max_pool2d_with_indices_backward")
def max_pool2d_with_indices_backward(grad, indices, input_size):
    plane = input_size[-1] * input_size[-2]
    planes = int(np.prod(input_size[:-2], dtype=np.int64))
    # (empty + fill: np.zeros' calloc hands large blocks over as fresh pages, each
    # faulted in on first touch -- slower than clearing reused memory)
    dx = np.empty((planes, plane), dtype=grad.dtype)
    if grad.size:
        at = indices.reshape(planes, -1)
        g = grad.reshape(planes, -1)

        def work(p0, p1, _index):
            part = dx[p0:p1].reshape(-1)
            part.fill(0)
            np.add.at(part, (at[p0:p1] + np.arange(0, (p1 - p0) * plane, plane)[:, None]
                             ).reshape(-1), g[p0:p1].reshape(-1))

        threads = workers.threads_for(planes * plane)
        workers.run_chunks(planes, _pool_chunking(planes, threads), threads, work)
    else:
        dx.fill(0)
    return dx.reshape(tuple(input_size))
