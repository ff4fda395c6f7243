"""Op-database entries of the neural-network ops (``ember.ops.nn``, fused optimizer
updates), each with a plain numpy reference written from the op's definition."""

from __future__ import annotations

import math

import numpy as np

import ember

from .opdb import _erf, explicit
from .samples import FLOATS, Sample, T, values

_C, _TR = "contiguous", "transposed"
_NN_DTYPES = ("float32", "float64", "float16", "bfloat16")


def _v(shape, d, rng, dom="any"):
    return T(values(shape, d, rng, dom))


# --- activations -------------------------------------------------------------------------
def _gelu(a, approximate="none"):
    if approximate == "tanh":
        return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))
    return 0.5 * a * (1 + _erf(a / math.sqrt(2)))


explicit("gelu", lambda d, rng: [Sample(_v((3, 4), d, rng)), Sample(T(values((3, 4), d, rng),
                                                                       _TR)),
                                 Sample(_v((), d, rng)), Sample(_v((0, 2), d, rng)),
                                 Sample(_v((5,), d, rng), "tanh")],
         _gelu, dtypes=_NN_DTYPES, tol=2.0)


def _softmax(a, dim, dtype=None, log=False):
    if a.ndim == 0:
        return np.zeros_like(a) if log else np.ones_like(a)
    m = np.max(a, axis=dim, keepdims=True) if a.size else 0.0
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(a - m)
    s = np.sum(e, axis=dim, keepdims=True)
    return (a - m - np.log(s)) if log else e / s


def _softmax_samples(d, rng):
    rows = np.array([[1.0, 2.0, -np.inf], [0.5, 0.5, 0.5]]).astype(getattr(ember, d).np)
    return [Sample(_v((3, 4), d, rng), 1), Sample(T(values((3, 4), d, rng), _TR), 0),
            Sample(_v((2, 3, 4), d, rng), -1), Sample(_v((), d, rng), 0),
            Sample(_v((0, 3), d, rng), 1), Sample(T(rows), 1, note="-inf logit"),
            Sample(T(values((3, 4), d, rng) * 30), 1, note="large logits")]


explicit("softmax", _softmax_samples, lambda a, dim, dtype=None: _softmax(a, dim),
         dtypes=_NN_DTYPES, tol=4.0)
explicit("log_softmax", _softmax_samples,
         lambda a, dim, dtype=None: _softmax(a, dim, log=True), dtypes=_NN_DTYPES, tol=4.0)


# --- linear, padding, convolution, pooling -------------------------------------------------
explicit("linear", lambda d, rng: [
    Sample(_v((4, 3), d, rng), _v((5, 3), d, rng), _v((5,), d, rng)),
    Sample(_v((2, 4, 3), d, rng), T(values((5, 3), d, rng), _TR)),
    Sample(_v((3,), d, rng), _v((2, 3), d, rng), _v((2,), d, rng)),
    Sample(_v((0, 3), d, rng), _v((2, 3), d, rng))],
    lambda x, w, b=None: x @ w.T + (0 if b is None else b), dtypes=_NN_DTYPES, tol=8.0)

_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}


def _pad_ref(x, pad, mode="constant", value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_PAD_MODES[mode])


explicit("pad", lambda d, rng: [
    Sample(_v((2, 3), d, rng), (1, 2)), Sample(_v((2, 3, 4), d, rng), (1, 0, 2, 1), value=1.5),
    Sample(T(values((3, 4), d, rng), _TR), (0, 1, 1, 0)),
    Sample(_v((1, 2, 5), d, rng), (2, 1), "reflect"),
    Sample(_v((1, 2, 5), d, rng), (2, 1), "replicate"),
    Sample(_v((1, 2, 5), d, rng), (1, 2), "circular")], _pad_ref, dtypes=_NN_DTYPES)


def _tuple(v, n):
    return tuple(v) * n if len(tuple(v)) == 1 else tuple(v)


def _conv_ref(nd):
    def ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        stride = _tuple(np.atleast_1d(stride).tolist(), nd)
        dilation = _tuple(np.atleast_1d(dilation).tolist(), nd)
        padding = _tuple(np.atleast_1d(padding).tolist(), nd)
        x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
        n, c = x.shape[:2]
        o, cg, *k = w.shape
        out_sp = [(x.shape[2 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1
                  for i in range(nd)]
        out = np.zeros((n, o) + tuple(out_sp))
        og = o // groups
        for pos in np.ndindex(*out_sp):
            sl = tuple(slice(pos[i] * stride[i], pos[i] * stride[i] + dilation[i] * (k[i] - 1) + 1,
                             dilation[i]) for i in range(nd))
            patch = x[(slice(None), slice(None)) + sl]
            for g in range(groups):
                pg = patch[:, g * cg:(g + 1) * cg]
                wg = w[g * og:(g + 1) * og]
                out[(slice(None), slice(g * og, (g + 1) * og)) + pos] = np.tensordot(
                    pg, wg, axes=(list(range(1, nd + 2)), list(range(1, nd + 2))))
        if b is not None:
            out += b.reshape((1, -1) + (1,) * nd)
        return out
    return ref


explicit("conv2d", lambda d, rng: [
    Sample(_v((2, 3, 5, 5), d, rng), _v((4, 3, 3, 3), d, rng), _v((4,), d, rng)),
    Sample(_v((1, 2, 6, 5), d, rng), _v((2, 2, 2, 3), d, rng), None, 2, 1),
    Sample(_v((1, 4, 5, 5), d, rng), _v((4, 2, 3, 3), d, rng), None, 1, 1, 2, 2,
           note="groups=2, dilation=2"),
    Sample(_v((1, 1, 4, 4), d, rng), _v((1, 1, 1, 1), d, rng))],
    _conv_ref(2), dtypes=_NN_DTYPES, tol=16.0)
explicit("conv1d", lambda d, rng: [
    Sample(_v((2, 3, 7), d, rng), _v((4, 3, 3), d, rng), _v((4,), d, rng)),
    Sample(_v((1, 2, 8), d, rng), _v((2, 1, 2), d, rng), None, 2, 1, 1, 2)],
    _conv_ref(1), dtypes=_NN_DTYPES, tol=16.0)


def _pool_ref(kind):
    def ref(x, kernel_size, stride=(), padding=0, *rest, **kw):
        k = _tuple(np.atleast_1d(kernel_size).tolist(), 2)
        s = _tuple(np.atleast_1d(stride).tolist(), 2) if len(tuple(np.atleast_1d(stride))) \
            else k
        p = _tuple(np.atleast_1d(padding).tolist(), 2)
        fill = -np.inf if kind == "max" else 0.0
        xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(p[0], p[0]), (p[1], p[1])],
                    constant_values=fill)
        oh = (xp.shape[-2] - k[0]) // s[0] + 1
        ow = (xp.shape[-1] - k[1]) // s[1] + 1
        out = np.zeros(x.shape[:-2] + (oh, ow))
        for i in range(oh):
            for j in range(ow):
                win = xp[..., i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
                out[..., i, j] = win.max(axis=(-2, -1)) if kind == "max" else \
                    win.mean(axis=(-2, -1))
        return out
    return ref


explicit("max_pool2d", lambda d, rng: [
    Sample(_v((2, 3, 6, 6), d, rng), 2), Sample(_v((1, 2, 5, 7), d, rng), (3, 2), (2, 1), 1),
    Sample(_v((2, 5, 5), d, rng), 3, 1)], _pool_ref("max"), dtypes=_NN_DTYPES)


def _max_pool_with_indices(x, kernel_size, stride=(), padding=0, dilation=1,
                           ceil_mode=False):
    """Per window (no ceil mode), its first maximum in row-major scan order and that
    cell's flat index in its input plane; padding cells are never chosen."""
    k = _tuple(np.atleast_1d(kernel_size).tolist(), 2)
    s = _tuple(np.atleast_1d(stride).tolist(), 2) if len(tuple(np.atleast_1d(stride))) \
        else k
    p = _tuple(np.atleast_1d(padding).tolist(), 2)
    dl = _tuple(np.atleast_1d(dilation).tolist(), 2)
    h, w = x.shape[-2:]
    oh = (h + 2 * p[0] - dl[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + 2 * p[1] - dl[1] * (k[1] - 1) - 1) // s[1] + 1
    vals = np.full(x.shape[:-2] + (oh, ow), -np.inf)
    idx = np.full(x.shape[:-2] + (oh, ow), -1, dtype=np.int64)
    for lead in np.ndindex(*x.shape[:-2]):
        for i, j in np.ndindex(oh, ow):
            for a, b in np.ndindex(*k):
                r, c = i * s[0] - p[0] + a * dl[0], j * s[1] - p[1] + b * dl[1]
                if 0 <= r < h and 0 <= c < w and (idx[lead + (i, j)] < 0
                                                  or x[lead + (r, c)] > vals[lead + (i, j)]):
                    vals[lead + (i, j)], idx[lead + (i, j)] = x[lead + (r, c)], r * w + c
    return vals, idx


def _max_pool_samples(d, rng):
    # (ties, where the first maximum counts, are tested against PyTorch in tests/:
    # finite differences are not defined there)
    return [Sample(_v((2, 3, 6, 6), d, rng), 2),
            Sample(_v((1, 2, 5, 7), d, rng), (3, 2), (2, 1), 1),
            Sample(_v((1, 2, 7, 8), d, rng), 3, 2, 1, 2), Sample(_v((2, 5, 5), d, rng), 3, 1),
            Sample(_v((0, 2, 4, 4), d, rng), 2)]


explicit("max_pool2d_with_indices", _max_pool_samples, _max_pool_with_indices,
         dtypes=_NN_DTYPES)
explicit("avg_pool2d", lambda d, rng: [
    Sample(_v((2, 3, 6, 6), d, rng), 2), Sample(_v((1, 2, 5, 7), d, rng), (3, 2), (2, 1), 1),
    Sample(_v((2, 5, 5), d, rng), 3, 1)], _pool_ref("avg"), dtypes=_NN_DTYPES, tol=4.0)


def _adaptive_avg(x, output_size):
    oh, ow = _tuple(np.atleast_1d(output_size).tolist(), 2)
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, he = (i * h) // oh, -((-(i + 1) * h) // oh)
            ws, we = (j * w) // ow, -((-(j + 1) * w) // ow)
            out[..., i, j] = x[..., hs:he, ws:we].mean(axis=(-2, -1))
    return out


explicit("adaptive_avg_pool2d", lambda d, rng: [
    Sample(_v((2, 3, 6, 6), d, rng), (2, 3)), Sample(_v((1, 2, 5, 7), d, rng), (3, 4)),
    Sample(_v((2, 4, 4), d, rng), 1)], _adaptive_avg, dtypes=_NN_DTYPES, tol=4.0)


# --- normalization -------------------------------------------------------------------------
def _batch_norm(x, rm=None, rv=None, w=None, b=None, training=False, momentum=0.1, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = rm, rv
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if w is not None:
        y = y * w.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y


explicit("batch_norm", lambda d, rng: [
    Sample(_v((4, 3, 2, 2), d, rng), _v((3,), d, rng), _v((3,), d, rng, "positive"),
           _v((3,), d, rng), _v((3,), d, rng)),
    Sample(_v((5, 3), d, rng), None, None, _v((3,), d, rng), None, True, note="training"),
    Sample(_v((4, 2, 3), d, rng), _v((2,), d, rng), _v((2,), d, rng, "positive"), None, None,
           True, note="training, running stats")],
    _batch_norm, dtypes=_NN_DTYPES, tol=16.0, grad_args=(0, 3, 4))


def _layer_norm(x, normalized_shape, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - len(tuple(normalized_shape)), x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


explicit("layer_norm", lambda d, rng: [
    Sample(_v((3, 4), d, rng), (4,), _v((4,), d, rng), _v((4,), d, rng)),
    Sample(_v((2, 3, 4), d, rng), (3, 4)), Sample(T(values((4, 3), d, rng), _TR), (4,))],
    _layer_norm, dtypes=_NN_DTYPES, tol=16.0)


def _group_norm(x, groups, w=None, b=None, eps=1e-5):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    y = ((g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + eps))
    y = y.reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return y * (1 if w is None else w.reshape(shape)) + (0 if b is None else b.reshape(shape))


explicit("group_norm", lambda d, rng: [
    Sample(_v((2, 4, 3), d, rng), 2, _v((4,), d, rng), _v((4,), d, rng)),
    Sample(_v((2, 6, 2, 2), d, rng), 3), Sample(_v((3, 4), d, rng), 4)],
    _group_norm, dtypes=_NN_DTYPES, tol=16.0)


# --- dropout, embedding, attention ---------------------------------------------------------
def _check_dropout(got, sample):
    x = sample.args[0].array.astype(np.float64)
    p = sample.args[1] if len(sample.args) > 1 else sample.kwargs.get("p", 0.5)
    train = sample.args[2] if len(sample.args) > 2 else sample.kwargs.get("train", True)
    g = np.asarray(got, dtype=np.float64)
    if not train or p == 0:
        return None if np.allclose(g, x, rtol=1e-3) else "dropout changed its input"
    kept = ~np.isclose(g, 0.0)
    if not np.allclose(g[kept], x[kept] / (1 - p), rtol=1e-2, atol=1e-3):
        return "kept elements are not scaled by 1 / (1 - p)"
    return None


explicit("dropout", lambda d, rng: [Sample(_v((200,), d, rng, "positive"), 0.3),
                                    Sample(_v((3, 4), d, rng, "positive"), 0.5, False),
                                    Sample(_v((3, 4), d, rng, "positive"), 0.0)]
         if d in FLOATS else [], None, compare=_check_dropout, grad=False)
explicit("embedding", lambda d, rng: [
    Sample(T(rng.integers(0, 5, (3, 2))), _v((5, 4), d, rng)),
    Sample(T(rng.integers(0, 4, (4,))), T(values((4, 5), d, rng), _TR), 1),
    Sample(T(np.zeros((0,), np.int64)), _v((5, 4), d, rng))],
    lambda i, w, padding_idx=None: w[i], dtypes=_NN_DTYPES)


def _sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, generator=None):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if is_causal:
        L, S = q.shape[-2], k.shape[-2]
        s = np.where(np.tril(np.ones((L, S), bool)), s, -np.inf)
    if attn_mask is not None:
        s = np.where(attn_mask, s, -np.inf) if attn_mask.dtype == bool else s + attn_mask
    return _softmax(s, -1) @ v


explicit("scaled_dot_product_attention", lambda d, rng: [
    Sample(_v((2, 3, 4), d, rng), _v((2, 5, 4), d, rng), _v((2, 5, 2), d, rng)),
    Sample(_v((1, 2, 3, 4), d, rng), _v((1, 2, 3, 4), d, rng), _v((1, 2, 3, 4), d, rng),
           is_causal=True),
    Sample(_v((2, 3, 4), d, rng), _v((2, 3, 4), d, rng), _v((2, 3, 4), d, rng),
           T(np.tril(np.ones((3, 3), bool))), scale=0.5)],
    _sdpa, dtypes=_NN_DTYPES, tol=16.0)


# --- losses ---------------------------------------------------------------------------------
def _reduce(x, reduction):
    return x.mean() if reduction == "mean" else x.sum() if reduction == "sum" else x


def _loss_samples(d, rng, dom="any"):
    return [Sample(_v((3, 4), d, rng, dom), _v((3, 4), d, rng, dom)),
            Sample(_v((5,), d, rng, dom), _v((5,), d, rng, dom), "sum"),
            Sample(T(values((4, 3), d, rng, dom), _TR), _v((3,), d, rng, dom), "none")]


explicit("mse_loss", _loss_samples, lambda x, t, reduction="mean": _reduce((x - t) ** 2,
                                                                           reduction),
         dtypes=_NN_DTYPES, tol=8.0)
explicit("l1_loss", _loss_samples, lambda x, t, reduction="mean": _reduce(np.abs(x - t),
                                                                          reduction),
         dtypes=_NN_DTYPES, tol=8.0)


def _nll(logp, target, weight=None, reduction="mean", ignore_index=-100):
    c = logp.shape[1] if logp.ndim > 1 else logp.shape[0]
    w = np.ones(c) if weight is None else weight
    lp = logp if logp.ndim > 1 else logp[None]
    t = target if logp.ndim > 1 else target[None]
    lp = np.moveaxis(lp, 1, -1).reshape(-1, c)
    t = t.reshape(-1)
    keep = t != ignore_index
    ts = np.where(keep, t, 0)
    losses = -lp[np.arange(len(t)), ts] * w[ts] * keep
    if reduction == "none":
        return losses.reshape(target.shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / (w[ts] * keep).sum()


def _cls_samples(d, rng, log=True):
    lp = lambda shape: T(np.log(_softmax(values(shape, d, rng).astype(np.float64), 1))
                         .astype(getattr(ember, d).np)) if log else _v(shape, d, rng)
    return [Sample(lp((4, 3)), T(rng.integers(0, 3, (4,)))),
            Sample(lp((4, 3)), T(np.array([0, 2, -100, 1])), None, "sum", note="ignore_index"),
            Sample(lp((4, 3)), T(rng.integers(0, 3, (4,))), _v((3,), d, rng, "positive")),
            Sample(lp((2, 3, 2)), T(rng.integers(0, 3, (2, 2))), None, "none")]


explicit("nll_loss", _cls_samples, _nll, dtypes=_NN_DTYPES, tol=8.0, grad_args=(0,))


def _ce(x, target, weight=None, reduction="mean", ignore_index=-100, label_smoothing=0.0):
    logp = _softmax(x, 1, log=True)
    if target.dtype.kind == "f":
        t = target * (1 - label_smoothing) + label_smoothing / x.shape[1]
        w = np.ones(x.shape[1]) if weight is None else weight
        shape = (1, -1) + (1,) * (x.ndim - 2)
        losses = -(logp * t * w.reshape(shape)).sum(axis=1)
        return _reduce(losses, reduction)
    nll = _nll(logp, target, weight, reduction, ignore_index)
    if not label_smoothing:
        return nll
    c = x.shape[1]
    w = np.ones(c) if weight is None else weight
    shape = (1, -1) + (1,) * (x.ndim - 2)
    keep = target != ignore_index
    smooth = -(logp * w.reshape(shape)).sum(axis=1) * keep
    if reduction == "none":
        s = smooth
    elif reduction == "sum":
        s = smooth.sum()
    else:
        s = smooth.sum() / (w[np.where(keep, target, 0)] * keep).sum()
    return (1 - label_smoothing) * nll + label_smoothing / c * s


def _ce_samples(d, rng):
    out = _cls_samples(d, rng, log=False)
    out.append(Sample(_v((4, 3), d, rng), T(rng.integers(0, 3, (4,))), label_smoothing=0.1))
    probs = _softmax(values((4, 3), "float64", rng), 1).astype(getattr(ember, d).np)
    out.append(Sample(_v((4, 3), d, rng), T(probs), note="class probabilities"))
    return out


explicit("cross_entropy", _ce_samples, _ce, dtypes=_NN_DTYPES, tol=8.0, grad_args=(0,))


def _ce_backward(grad, x, target, weight=None, reduction="mean", ignore_index=-100,
                 label_smoothing=0.0):
    p = _softmax(x, 1)
    onehot = np.eye(x.shape[1])[target]
    n = x.shape[0]
    return (p - onehot) * (grad / n if reduction == "mean" else grad)


explicit("_cross_entropy_backward", lambda d, rng: [
    Sample(_v((), d, rng), _v((4, 3), d, rng), T(rng.integers(0, 3, (4,)))),
    Sample(_v((), d, rng), _v((2, 5), d, rng), T(rng.integers(0, 5, (2,))), None, "sum")],
    _ce_backward, dtypes=_NN_DTYPES, tol=8.0, grad=False)


def _bce(x, t, weight=None, reduction="mean"):
    losses = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
    return _reduce(losses * (1 if weight is None else weight), reduction)


def _bce_samples(d, rng):
    p = lambda shape: T(np.clip(values(shape, d, rng, "unit") * 0.5 + 0.5, 0.05, 0.95)
                        .astype(getattr(ember, d).np))
    return [Sample(p((3, 4)), p((3, 4))), Sample(p((5,)), p((5,)), None, "sum"),
            Sample(p((2, 3)), p((2, 3)), _v((3,), d, rng, "positive"), "none")]


explicit("binary_cross_entropy", _bce_samples, _bce, dtypes=_NN_DTYPES, tol=8.0,
         grad_args=(0,))


def _bce_logits(x, t, weight=None, pos_weight=None, reduction="mean"):
    log_sig = -np.logaddexp(0, -x)
    log_1m = -np.logaddexp(0, x)
    pw = 1 if pos_weight is None else pos_weight
    losses = -(pw * t * log_sig + (1 - t) * log_1m)
    return _reduce(losses * (1 if weight is None else weight), reduction)


explicit("binary_cross_entropy_with_logits", lambda d, rng: [
    Sample(_v((3, 4), d, rng), T(np.clip(values((3, 4), d, rng, "unit") + 0.5, 0, 1)
                                 .astype(getattr(ember, d).np))),
    Sample(_v((5,), d, rng), T(values((5,), "bool", rng).astype(getattr(ember, d).np)), None,
           _v((5,), d, rng, "positive"), "sum"),
    Sample(T(values((3, 2), d, rng) * 20), T(values((3, 2), "bool", rng).astype(
        getattr(ember, d).np)), reduction="none", note="large logits")],
    _bce_logits, dtypes=_NN_DTYPES, tol=8.0, grad_args=(0,))


# --- fused optimizer updates (parameters after one step) ------------------------------------
def _group(d, rng, n=2, dom="any"):
    return [_v((3,), d, rng, dom), _v((2, 2), d, rng, dom)][:n]


def _sgd_ref(params, grads, bufs, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False, init_buffers=False):
    out = []
    for i, p in enumerate(params):
        g = -grads[i] if maximize else grads[i]
        g = g + weight_decay * p
        if momentum:
            buf = g if init_buffers else momentum * bufs[i] + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        out.append(p - lr * g)
    return out


explicit("_sgd_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), [], 0.1),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), 0.1, 0.9, 0.1, 0.01, True),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), 0.05, momentum=0.9,
           init_buffers=True, maximize=True)],
    _sgd_ref, dtypes=("float32", "float64"), tol=8.0, grad=False)


def _amp_unscale_ref(grads, found_inf, inv_scale):
    # the target's state afterwards (the flag it sets: the amp contract, test_amp.py)
    return [g * inv_scale for g in grads]


def _amp_unscale_samples(d, rng):
    flag = lambda v: T(np.array(v, np.float32))
    poisoned = values((4,), d, rng)
    poisoned[1] = np.inf
    nan = values((2, 2), d, rng)
    nan[0, 0] = np.nan
    return [Sample(_group(d, rng), flag(0.0), flag(2.0 ** -16)),
            Sample(_group(d, rng) + [T(poisoned)], flag(0.0), flag(0.25), note="inf"),
            Sample([T(nan)], flag(0.0), flag(0.5), note="nan"),
            Sample(_group(d, rng), flag(1.0), flag(1 / 3), note="flag already set")]


explicit("_amp_foreach_non_finite_check_and_unscale_", _amp_unscale_samples,
         _amp_unscale_ref, dtypes=_NN_DTYPES, grad=False)


def _adam_ref(params, grads, m, v, vmax, steps, lr, b1, b2, eps, weight_decay=0.0,
              amsgrad=False, decoupled_weight_decay=False, maximize=False):
    out = []
    for i, p in enumerate(params):
        g = -grads[i] if maximize else grads[i]
        if weight_decay and decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        mi = b1 * m[i] + (1 - b1) * g
        vi = b2 * v[i] + (1 - b2) * g * g
        if amsgrad:
            vi = np.maximum(vmax[i], vi)
        t = steps[i]
        denom = np.sqrt(vi) / math.sqrt(1 - b2 ** t) + eps
        out.append(p - lr / (1 - b1 ** t) * mi / denom)
    return out


explicit("_adam_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"), [],
           (1, 1), 0.01, 0.9, 0.999, 1e-8),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           _group(d, rng, dom="positive"), (3, 5), 0.01, 0.8, 0.99, 1e-6, 0.1, True, True)],
    _adam_ref, dtypes=("float32", "float64"), tol=8.0, grad=False)


def _rmsprop_ref(params, grads, sq, ga, bufs, lr, alpha, eps, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
    out = []
    for i, p in enumerate(params):
        g = -grads[i] if maximize else grads[i]
        g = g + weight_decay * p
        s = alpha * sq[i] + (1 - alpha) * g * g
        if centered:
            a = alpha * ga[i] + (1 - alpha) * g
            avg = np.sqrt(s - a * a) + eps
        else:
            avg = np.sqrt(s) + eps
        if momentum:
            out.append(p - lr * (momentum * bufs[i] + g / avg))
        else:
            out.append(p - lr * g / avg)
    return out


explicit("_rmsprop_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), _group(d, rng, dom="positive"), [], [], 0.01, 0.99,
           1e-8),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           _group(d, rng, dom="unit"), _group(d, rng), 0.01, 0.9, 1e-6, 0.1, 0.9, True)],
    _rmsprop_ref, dtypes=("float32", "float64"), tol=8.0, grad=False)

__all__: list[str] = []


# the adaptive-rate optimizers' updates (ember.ops.optim_adaptive), from PyTorch's documented
# algorithms
def _l2(p, g, wd, maximize, decoupled=False, lr=0.0):
    g = -g if maximize else g
    if wd and decoupled:
        return p * (1 - lr * wd), g
    return p, g + wd * p


def _adagrad_ref(params, grads, sums, steps, lr, lr_decay, wd, eps, maximize=False):
    out = []
    for p, g, s, t in zip(params, grads, sums, steps, strict=True):
        p, g = _l2(p, g, wd, maximize)
        out.append(p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s + g * g) + eps))
    return out


def _adamax_ref(params, grads, m, u, steps, lr, b1, b2, eps, wd, maximize=False):
    out = []
    for p, g, mi, ui, t in zip(params, grads, m, u, steps, strict=True):
        p, g = _l2(p, g, wd, maximize)
        mi = b1 * mi + (1 - b1) * g
        ui = np.maximum(b2 * ui, np.abs(g) + eps)
        out.append(p - lr / (1 - b1 ** t) * mi / ui)
    return out


def _nadam_ref(params, grads, m, v, steps, mu_products, lr, b1, b2, eps, wd, psi,
               decoupled=False, maximize=False):
    out = []
    for p, g, mi, vi, t, mp in zip(params, grads, m, v, steps, mu_products, strict=True):
        p, g = _l2(p, g, wd, maximize, decoupled, lr)
        mu, mu1 = (b1 * (1 - 0.5 * 0.96 ** (k * psi)) for k in (t, t + 1))
        mi = b1 * mi + (1 - b1) * g
        denom = np.sqrt((b2 * vi + (1 - b2) * g * g) / (1 - b2 ** t)) + eps
        out.append(p - lr * (1 - mu) / (1 - mp) * g / denom
                   - lr * mu1 / (1 - mp * mu1) * mi / denom)
    return out


def _radam_ref(params, grads, m, v, steps, lr, b1, b2, eps, wd, decoupled=False,
               maximize=False):
    out = []
    for p, g, mi, vi, t in zip(params, grads, m, v, steps, strict=True):
        p, g = _l2(p, g, wd, maximize, decoupled, lr)
        m_hat = (b1 * mi + (1 - b1) * g) / (1 - b1 ** t)
        vi = b2 * vi + (1 - b2) * g * g
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho > 5:
            rect = math.sqrt((rho - 4) * (rho - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho))
            out.append(p - lr * m_hat * rect * math.sqrt(1 - b2 ** t) / (np.sqrt(vi) + eps))
        else:
            out.append(p - lr * m_hat)
    return out


def _adadelta_ref(params, grads, sq, acc, lr, rho, eps, wd, maximize=False):
    out = []
    for p, g, s, a in zip(params, grads, sq, acc, strict=True):
        p, g = _l2(p, g, wd, maximize)
        s = rho * s + (1 - rho) * g * g
        out.append(p - lr * np.sqrt(a + eps) / np.sqrt(s + eps) * g)
    return out


def _rprop_ref(params, grads, prevs, sizes, eta_minus, eta_plus, lo, hi, maximize=False):
    out = []
    for p, g, prev, size in zip(params, grads, prevs, sizes, strict=True):
        g = -g if maximize else g
        agree = g * prev
        size = np.clip(size * np.where(agree > 0, eta_plus, np.where(agree < 0, eta_minus, 1)),
                       lo, hi)
        out.append(p - np.sign(np.where(agree < 0, 0, g)) * size)
    return out


_OPT = dict(dtypes=("float32", "float64"), tol=8.0, grad=False)
explicit("_adagrad_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), _group(d, rng, dom="positive"), (1, 1), 0.1, 0.0,
           0.0, 1e-10),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng, dom="positive"), (3, 7), 0.1, 0.05,
           0.1, 1e-6, True)], _adagrad_ref, **_OPT)
explicit("_adamax_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           (1, 1), 0.002, 0.9, 0.999, 1e-8, 0.0),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           (2, 9), 0.05, 0.8, 0.95, 1e-6, 0.1, True)], _adamax_ref, **_OPT)
explicit("_nadam_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           (1, 1), [0.45, 0.45], 0.002, 0.9, 0.999, 1e-8, 0.0, 0.004),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           (2, 5), [0.2, 0.02], 0.01, 0.9, 0.99, 1e-6, 0.1, 0.01, True, True)],
    _nadam_ref, **_OPT)
explicit("_radam_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           (1, 10), 0.001, 0.9, 0.999, 1e-8, 0.0),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           (4, 12), 0.01, 0.8, 0.9, 1e-6, 0.1, True, True)], _radam_ref, **_OPT)
explicit("_adadelta_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           _group(d, rng, dom="positive"), 1.0, 0.9, 1e-6, 0.0),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           _group(d, rng, dom="positive"), 0.5, 0.8, 1e-4, 0.1, True)], _adadelta_ref, **_OPT)
explicit("_rprop_update_", lambda d, rng: [
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           0.5, 1.2, 1e-6, 50.0),
    Sample(_group(d, rng), _group(d, rng), _group(d, rng), _group(d, rng, dom="positive"),
           0.3, 1.5, 0.05, 0.6, True)], _rprop_ref, **_OPT)


# --- matrix products -------------------------------------------------------------------------
explicit("mm", lambda d, rng: [Sample(_v((3, 4), d, rng), _v((4, 2), d, rng)),
                               Sample(T(values((4, 3), d, rng), _TR), _v((4, 0), d, rng))],
         lambda a, b: a @ b, tol=8.0)
explicit("bmm", lambda d, rng: [Sample(_v((2, 3, 4), d, rng), _v((2, 4, 2), d, rng)),
                                Sample(_v((0, 3, 4), d, rng), _v((0, 4, 2), d, rng))],
         lambda a, b: a @ b, tol=8.0)
explicit("dot", lambda d, rng: [Sample(_v((5,), d, rng), _v((5,), d, rng)),
                                Sample(_v((0,), d, rng), _v((0,), d, rng))],
         lambda a, b: np.dot(a, b), tol=8.0)
explicit("outer", lambda d, rng: [Sample(_v((3,), d, rng), _v((4,), d, rng)),
                                  Sample(_v((0,), d, rng), _v((2,), d, rng))],
         lambda a, b: np.outer(a, b))
explicit("einsum", lambda d, rng: [
    Sample("ij,jk->ik", [_v((3, 4), d, rng), _v((4, 2), d, rng)]),
    Sample("bij->bji", [_v((2, 3, 4), d, rng)]), Sample("ii->", [_v((3, 3), d, rng)]),
    Sample("i,j->ij", [_v((3,), d, rng), _v((2,), d, rng)]),
    Sample("...ij,...jk", [T(values((2, 4, 3), d, rng), _TR), _v((3, 2), d, rng)]),
    # large enough that a decomposition multiplying every letter before summing (i*j*k)
    # breaks the cost contract's linear bound when the cost check grows it 4x
    Sample("ij,kj->ik", [_v((64, 128), d, rng), _v((64, 128), d, rng)])],
    lambda eq, ts: np.einsum(eq, *ts), tol=8.0)


def _cdist(x1, x2, p=2.0, compute_mode=None):
    diff = np.abs(x1[..., :, None, :] - x2[..., None, :, :])
    if p == 0:
        return (diff != 0).sum(-1).astype(diff.dtype)
    if math.isinf(p):
        return diff.max(-1, initial=0.0)
    return (diff ** p).sum(-1) ** (1.0 / p)


explicit("cdist", lambda d, rng: [
    Sample(_v((4, 3), d, rng), _v((5, 3), d, rng)),
    Sample(_v((2, 4, 3), d, rng), _v((1, 5, 3), d, rng), 1.0),
    Sample(_v((4, 3), d, rng), T(values((3, 5), d, rng), _TR), math.inf),
    Sample(_v((4, 3), d, rng), _v((5, 3), d, rng), 0.0),
    Sample(_v((30, 3), d, rng), _v((27, 3), d, rng), 2.0),  # the matrix-product form
    Sample(_v((4, 3), d, rng), _v((5, 3), d, rng), compute_mode="use_mm_for_euclid_dist"),
    Sample(_v((0, 3), d, rng), _v((5, 3), d, rng), 3.0),
    # many rows and columns: P*R*M differences at once break the cost contract's linear
    # bound when the cost check grows the rows 4x (the direct form goes block by block)
    Sample(_v((30, 64), d, rng), _v((30, 64), d, rng), 1.5)],
    _cdist, dtypes=("float32", "float64"), tol=8.0)


# --- backward ops of fused kernels (vector-Jacobian products of the references) -------------
def _vjp(fn, x, grad):
    """``J^T grad`` of ``fn`` at ``x`` for a function linear in ``x``."""
    out = np.zeros(x.shape)
    for k in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[k] = 1.0
        out[k] = np.sum(fn(e) * grad)
    return out


def _conv_bwd_samples(d, rng):
    x, w = values((1, 2, 4, 4), d, rng), values((3, 2, 2, 2), d, rng)
    gshape = _conv_ref(2)(x.astype(np.float64), w.astype(np.float64), None, (1,), (1,), (1,),
                          1).shape
    x2, w2 = values((1, 4, 5, 5), d, rng), values((2, 2, 3, 3), d, rng)
    g2 = _conv_ref(2)(x2.astype(np.float64), w2.astype(np.float64), None, (2,), (1,), (1,),
                      2).shape
    return [Sample(_v(gshape, d, rng), T(x), T(w), (1,), (1,), (1,), 1),
            Sample(_v(g2, d, rng), T(x2), T(w2), (2,), (1,), (1,), 2, note="stride 2, groups 2")]


def _conv_bwd_input(g, x, w, stride, padding, dilation, groups):
    return _vjp(lambda e: _conv_ref(2)(e, w, None, stride, padding, dilation, groups), x, g)


def _conv_bwd_weight(g, x, w, stride, padding, dilation, groups):
    return _vjp(lambda e: _conv_ref(2)(x, e, None, stride, padding, dilation, groups), w, g)


explicit("_conv2d_backward_input", _conv_bwd_samples, _conv_bwd_input, dtypes=_NN_DTYPES,
         tol=16.0, grad=False)
explicit("_conv2d_backward_weight", _conv_bwd_samples, _conv_bwd_weight, dtypes=_NN_DTYPES,
         tol=16.0, grad=False)


def _conv_bwd_joint(g, x, w, stride, padding, dilation, groups, need_input, need_weight,
                    need_bias):
    none = np.empty(0)
    rest = (stride, padding, dilation, groups)
    return (_conv_bwd_input(g, x, w, *rest) if need_input else none,
            _conv_bwd_weight(g, x, w, *rest) if need_weight else none,
            g.sum((0, 2, 3) if g.ndim == 4 else (1, 2)) if need_bias else none)


def _conv_bwd_joint_samples(d, rng):
    flags = [(True, True, True), (False, True, True), (True, False, False)]
    return [Sample(*s.args, *f, note=s.note)
            for s, f in zip(_conv_bwd_samples(d, rng), flags, strict=False)] + [
        Sample(_v((2, 3, 4), d, rng), _v((1, 5, 6), d, rng), _v((2, 1, 3, 3), d, rng), (1,),
               (0,), (1,), 1, True, True, True, note="unbatched")]


explicit("_conv2d_backward", _conv_bwd_joint_samples, _conv_bwd_joint, dtypes=_NN_DTYPES,
         tol=16.0, grad=False)


def _max_pool_bwd(g, indices, input_size):
    out = np.zeros((math.prod(input_size[:-2]), input_size[-2] * input_size[-1]))
    np.add.at(out, (np.arange(out.shape[0])[:, None], indices.reshape(out.shape[0], -1)),
              g.reshape(out.shape[0], -1))
    return out.reshape(input_size)


def _max_pool_bwd_samples(d, rng):
    """Gradients with the indices of a real pooling (overlapping windows share cells)."""
    out = []
    for shape, args in [((1, 2, 4, 4), (2,)), ((2, 5, 6), ((3, 2), (2, 1), (1, 0))),
                        ((1, 1, 5, 5), (3, 1)), ((0, 2, 4, 4), (2,))]:
        x = values(shape, d, rng)
        _, idx = _max_pool_with_indices(x.astype(np.float64), *args)
        out.append(Sample(_v(idx.shape, d, rng), T(idx), shape))
    return out


explicit("_max_pool2d_with_indices_backward", _max_pool_bwd_samples, _max_pool_bwd,
         dtypes=_NN_DTYPES, grad=False)
explicit("_linear_weight_grad", lambda d, rng: [
    Sample(_v((4, 5), d, rng), _v((4, 3), d, rng)),
    Sample(_v((2, 3, 5), d, rng), T(values((2, 3, 3), d, rng))),
    Sample(_v((0, 2), d, rng), _v((0, 3), d, rng))],
    lambda g, x: g.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1]),
    dtypes=_NN_DTYPES, tol=8.0, grad=False)
def _linear_backward_ref(g, x, w, need_input, need_weight, need_bias):
    none = np.empty(0, g.dtype)
    g2 = g.reshape(-1, g.shape[-1])
    return (g @ w if need_input else none,
            g2.T @ x.reshape(-1, x.shape[-1]) if need_weight else none,
            g2.sum(0) if need_bias else none)


explicit("_linear_backward", lambda d, rng: [
    Sample(_v((4, 5), d, rng), _v((4, 3), d, rng), _v((5, 3), d, rng), True, True, True),
    Sample(_v((2, 3, 5), d, rng), T(values((2, 3, 3), d, rng)), _v((5, 3), d, rng),
           False, True, True),
    Sample(_v((0, 2), d, rng), _v((0, 3), d, rng), _v((2, 3), d, rng), True, False, False)],
    _linear_backward_ref, dtypes=_NN_DTYPES, tol=8.0, grad=False)
explicit("threshold_backward", lambda d, rng: [
    Sample(_v((3, 4), d, rng), _v((3, 4), d, rng), 0),
    Sample(_v((5,), d, rng), T(values((5,), d, rng)), 0.5),
    Sample(_v((0, 2), d, rng), _v((0, 2), d, rng), 0)],
    lambda g, x, threshold: np.where(x <= threshold, 0, g), grad=False)
