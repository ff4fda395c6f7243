"""Every differentiable op's derivative: ``gradcheck`` in float64 against finite
differences, and the gradients compared with PyTorch's (the oracle).  Also the
coverage check: each op in the registry is differentiable, composite or declared
non-differentiable, so a new op cannot silently lack a derivative."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from ember.autograd.rules import nondifferentiable
from ember.schema import registry

try:
    import torch
except ImportError:  # the oracle is optional: gradcheck needs no PyTorch
    torch = None

_rng = np.random.default_rng(1234)


def R(*shape, lo=-1.0, hi=1.0):
    """Random float64 values in [lo, hi)."""
    return _rng.uniform(lo, hi, size=shape)


def P(*shape):
    """Positive values away from zero (logs, roots, divisors)."""
    return R(*shape, lo=0.5, hi=2.0)


def I(values):  # noqa: E743 - short for "index tensor" in the table
    """An int64 index array (passed without grad)."""
    return np.asarray(values, dtype=np.int64)


class K(np.ndarray):
    """A float input that does not require grad (``R(3).view(K)``)."""


def distinct(*shape):
    """Values far apart (no ties for max/sort; finite differences stay inside)."""
    n = int(np.prod(shape))
    return (_rng.permutation(n) * 0.37 + 0.1).reshape(shape)


def spd(n):
    a = R(n, n)
    return a @ a.T + n * np.eye(n)


def both(fn):
    """A case function written once for both modules (``m`` is ember or torch)."""
    return fn, fn


def nnf(fn):
    """A case written once against ``ember.nn.functional`` and ``torch.nn.functional``."""
    import ember.nn.functional as ef
    return (lambda m, *xs: fn(ef, *xs),
            lambda m, *xs: fn(torch.nn.functional, *xs))


# name, (ember_fn, torch_fn) taking (module, *inputs), inputs, second-order check (every
# case but maximum/minimum, whose random draws may tie at their kink, and astype, whose
# float32 round trip swamps the finite differences of a second derivative)
CASES = [
    ("add", both(lambda m, a, b: a + b), [R(2, 3), R(3)], True),
    ("add_alpha", both(lambda m, a, b: m.add(a, b, alpha=2.5)), [R(3), R(2, 1)], True),
    ("add_scalar", both(lambda m, a: 3 + a), [R(2, 2)], True),
    ("sub", both(lambda m, a, b: m.sub(a, b, alpha=0.5)), [R(2, 3), R(1, 3)], True),
    ("rsub", both(lambda m, a: 2.0 - a), [R(3)], True),
    ("mul", both(lambda m, a, b: a * b), [R(2, 3), R(2, 1)], True),
    ("div", both(lambda m, a, b: a / b), [R(2, 3), P(3)], True),
    ("rdiv", both(lambda m, a: 2.0 / a), [P(3)], True),
    ("floor_divide", (lambda m, a, b: m.floor_divide(a, b) * a,
                      # PyTorch has no derivative for floor_divide: it is zero a.e.
                      lambda m, a, b: m.floor_divide(a.detach(), b.detach()) * a),
     [P(4) * 3, P(4)], True),
    ("remainder", both(lambda m, a, b: m.remainder(a, b)), [P(4) * 3 + 0.05, P(4)], True),
    ("fmod", both(lambda m, a, b: m.fmod(a, b)), [P(4) * 3 + 0.05, P(4)], True),
    ("pow", both(lambda m, a, b: a ** b), [P(3), R(3)], True),
    ("pow_scalar", both(lambda m, a: a ** 3), [R(3)], True),
    ("rpow", both(lambda m, a: 2.0 ** a), [R(3)], True),
    ("maximum", both(lambda m, a, b: m.maximum(a, b)), [distinct(5), distinct(5)], False),
    ("minimum", both(lambda m, a, b: m.minimum(a, b)), [distinct(5), distinct(5)], False),
    ("atan2", both(lambda m, a, b: m.atan2(a, b)), [R(3), P(3)], True),
    ("neg", both(lambda m, a: -a), [R(3)], True),
    ("positive", both(lambda m, a: m.positive(a) * 2), [R(3)], True),
    ("abs", both(lambda m, a: a.abs()), [P(3) * np.array([1, -1, 1])], True),
    ("reciprocal", both(lambda m, a: a.reciprocal()), [P(3)], True),
    ("square", both(lambda m, a: m.square(a)), [R(3)], True),
    ("exp", both(lambda m, a: a.exp()), [R(2, 2)], True),
    ("exp2", both(lambda m, a: m.exp2(a)), [R(3)], True),
    ("expm1", both(lambda m, a: m.expm1(a)), [R(3)], True),
    ("log", both(lambda m, a: a.log()), [P(3)], True),
    ("log2", both(lambda m, a: m.log2(a)), [P(3)], True),
    ("log10", both(lambda m, a: m.log10(a)), [P(3)], True),
    ("log1p", both(lambda m, a: m.log1p(a)), [P(3)], True),
    ("sqrt", both(lambda m, a: a.sqrt()), [P(3)], True),
    ("rsqrt", both(lambda m, a: a.rsqrt()), [P(3)], True),
    ("sin", both(lambda m, a: a.sin()), [R(3)], True),
    ("cos", both(lambda m, a: a.cos()), [R(3)], True),
    ("tan", both(lambda m, a: a.tan()), [R(3)], True),
    ("tanh", both(lambda m, a: a.tanh()), [R(3)], True),
    ("sigmoid", both(lambda m, a: a.sigmoid()), [R(3)], True),
    ("erf", both(lambda m, a: m.erf(a)), [R(3)], True),
    ("rounding", both(lambda m, a: a.floor() + a.ceil() + a.trunc() + a.sign()
                      + m.round(a) + a), [R(4) * 3 + 0.013], True),
    ("clamp", both(lambda m, a: a.clamp(-0.5, 0.5)), [distinct(6) / 3 - 1.05], True),
    ("clamp_tensor", both(lambda m, a, lo: m.clamp(a, lo)), [distinct(4), distinct(4)],
     False),
    ("clamp_both_tensors", both(lambda m, a, lo, hi: m.clamp(a, lo, hi)),
     [distinct(5), distinct(5), distinct(5) + 0.5], True),
    ("clamp_min_max", both(lambda m, a: a.clamp_min(0.9) + a.clamp_max(0.9)),
     [distinct(5) / 2], True),
    ("where", both(lambda m, a, b: m.where(a > 0, a, b)), [R(2, 3), R(3)], True),
    ("addcmul", both(lambda m, a, b, c: m.addcmul(a, b, c, value=0.5)),
     [R(3), R(3), R(2, 3)], True),
    ("addcdiv", both(lambda m, a, b, c: m.addcdiv(a, b, c, value=2)),
     [R(3), R(3), P(3)], True),
    ("lerp", both(lambda m, a, b, w: m.lerp(a, b, w)), [R(3), R(3), R(3)], True),
    ("astype", both(lambda m, a: a.float().double() * 1.0), [R(3)], False),
    ("clone", both(lambda m, a: a.clone() * a.t().contiguous()), [R(2, 2)], True),
    ("fill_", both(lambda m, a: (a * 2).fill_(1.5) + a), [R(3)], True),
    # reductions
    ("std", both(lambda m, a: a.std()), [R(2, 3)], True),
    ("std_dim_keepdim", both(lambda m, a: a.std(1, keepdim=True, correction=0)), [R(2, 3)],
     True),
    ("std_mean", both(lambda m, a: m.std_mean(a, 0)), [R(3, 2)], True),
    ("sum", both(lambda m, a: a.sum()), [R(2, 3)], True),
    ("sum_dim", both(lambda m, a: a.sum(1)), [R(2, 3)], True),
    ("sum_dims_keepdim", both(lambda m, a: a.sum((0, 2), keepdim=True)), [R(2, 3, 2)], True),
    ("mean", both(lambda m, a: a.mean(0)), [R(3, 2)], True),
    ("prod", both(lambda m, a: a.prod()), [R(4)], True),
    ("prod_dim", both(lambda m, a: a.prod(1, keepdim=True)), [R(2, 3)], True),
    ("prod_zero", both(lambda m, a: a.prod(1)), [np.array([[0.0, 2.0, 3.0],
                                                            [0.5, 0.7, 1.3]])], True),
    ("amax", both(lambda m, a: a.amax(1)), [distinct(2, 3)], True),
    ("amin", both(lambda m, a: a.amin()), [distinct(2, 3)], True),
    ("max_dim", both(lambda m, a: a.max(1).values), [distinct(2, 3)], True),
    ("min_all", both(lambda m, a: a.min()), [distinct(2, 3)], True),
    ("var", both(lambda m, a: a.var(1)), [R(2, 4)], True),
    ("std", both(lambda m, a: a.std()), [R(5)], True),
    ("logsumexp", both(lambda m, a: m.logsumexp(a, 1)), [R(2, 3)], True),
    ("cumsum", both(lambda m, a: a.cumsum(1)), [R(2, 3)], True),
    ("cumprod", both(lambda m, a: a.cumprod(0)), [P(4)], True),
    ("logcumsumexp", both(lambda m, a: m.logcumsumexp(a, 1)), [R(2, 5)], True),
    ("logcumsumexp_method_dim0", both(lambda m, a: a.logcumsumexp(-2)), [R(3, 2)], True),
    # views and joins
    ("reshape", both(lambda m, a: a.reshape(3, 2) * 1.0), [R(2, 3)], True),
    ("view", both(lambda m, a: a.view(-1)), [R(2, 3)], True),
    ("permute", both(lambda m, a: a.permute(2, 0, 1)), [R(2, 3, 2)], True),
    ("transpose", both(lambda m, a: a.transpose(0, 1)), [R(2, 3)], True),
    ("t", both(lambda m, a: a.t()), [R(2, 3)], True),
    ("expand", both(lambda m, a: a.expand(2, 3, 3)), [R(3, 1)], True),
    ("squeeze_unsqueeze", both(lambda m, a: a.squeeze(1).unsqueeze(0)), [R(2, 1, 2)], True),
    ("flatten", both(lambda m, a: a.flatten(1)), [R(2, 2, 2)], True),
    ("unflatten", both(lambda m, a: a.unflatten(1, (2, 2))), [R(2, 4)], True),
    ("getitem_basic", both(lambda m, a: a[1:, None, ::2]), [R(3, 4)], True),
    ("getitem_int", both(lambda m, a: a[1]), [R(3, 2)], True),
    ("narrow", both(lambda m, a: a.narrow(1, 1, 2)), [R(2, 4)], True),
    ("select", both(lambda m, a: a.select(0, 1)), [R(2, 3)], True),
    ("split", both(lambda m, a: a.split(2, 1)[1] * 2), [R(2, 4)], True),
    ("chunk", both(lambda m, a: a.chunk(2)[0] + a.chunk(2)[1]), [R(4, 2)], True),
    ("unbind", both(lambda m, a: a.unbind(1)[2]), [R(2, 3)], True),
    ("movedim", both(lambda m, a: a.movedim(0, 2)), [R(2, 3, 2)], True),
    ("unfold", both(lambda m, a: a.unfold(1, 3, 2)), [R(2, 7)], True),
    ("cat", both(lambda m, a, b: m.cat([a, b], 1)), [R(2, 2), R(2, 3)], True),
    ("stack", both(lambda m, a, b: m.stack([a, b])), [R(3), R(3)], True),
    # indexing
    ("getitem_tensor", both(lambda m, a, i: a[i]), [R(4, 2), I([3, 0, 3])], True),
    ("getitem_mask", both(lambda m, a: a[a > 0]), [R(3, 3)], True),
    ("gather", both(lambda m, a, i: m.gather(a, 1, i)), [R(2, 3), I([[0, 2], [1, 1]])],
     True),
    ("scatter", both(lambda m, a, i, b: m.scatter(a, 1, i, b)),
     [R(2, 3), I([[0, 2], [1, 0]]), R(2, 2)], True),
    ("scatter_add", both(lambda m, a, i, b: m.scatter_add(a, 0, i, b)),
     [R(3, 2), I([[0, 2], [0, 0]]), R(2, 2)], True),
    ("index_select", both(lambda m, a, i: m.index_select(a, 0, i)), [R(3, 2), I([2, 0, 2])],
     True),
    ("index_add", both(lambda m, a, i, b: m.index_add(a, 0, i, b, alpha=2)),
     [R(3, 2), I([2, 2]), R(2, 2)], True),
    ("index_put", both(lambda m, a, i, b: a.index_put((i,), b)),
     [R(4), I([1, 3]), R(2)], True),
    ("index_put_accumulate", both(lambda m, a, i, b: a.index_put((i,), b, accumulate=True)),
     [R(4), I([1, 1]), R(2)], True),
    ("masked_fill", both(lambda m, a: a.masked_fill(a > 0, 1.5)), [R(2, 3)], True),
    ("masked_select", both(lambda m, a, b: m.masked_select(a, b > 0)), [R(2, 3), R(3)],
     False),
    ("tril_triu", both(lambda m, a: a.tril() + a.triu(1) * 2), [R(3, 3)], True),
    ("sort", both(lambda m, a: a.sort(1, descending=True).values), [distinct(2, 3)], True),
    ("topk", both(lambda m, a: a.topk(2).values), [distinct(2, 4)], True),
    # linear algebra
    # cdist: PyTorch's _cdist_backward has no derivative of its own but for the
    # matrix-product form (a plain composite there)
    ("cdist", both(lambda m, a, b: m.cdist(a, b, 1.5)), [R(3, 2), R(4, 2)], False),
    ("cdist_inf", both(lambda m, a, b: m.cdist(a, b, float("inf"))), [R(3, 2), R(4, 2)], False),
    ("cdist_mm", both(lambda m, a, b: m.cdist(a, b, compute_mode="use_mm_for_euclid_dist")),
     [R(3, 2), R(4, 2)], True),
    ("matmul_mm", both(lambda m, a, b: a @ b), [R(2, 3), R(3, 2)], True),
    ("matmul_vv", both(lambda m, a, b: a @ b), [R(3), R(3)], True),
    ("matmul_mv", both(lambda m, a, b: a @ b), [R(2, 3), R(3)], True),
    ("matmul_vm", both(lambda m, a, b: a @ b), [R(3), R(3, 2)], True),
    ("matmul_batched", both(lambda m, a, b: a @ b), [R(2, 2, 3), R(3, 2)], True),
    ("matmul_vbatched", both(lambda m, a, b: a @ b), [R(3), R(2, 3, 2)], True),
    ("vector_norm", both(lambda m, a: m.linalg.vector_norm(a, 2, 1)), [R(2, 3)], True),
    ("inv", (lambda m, a: _op("linalg_inv")(a), lambda m, a: m.linalg.inv(a)),
     [spd(3)], True),
    ("det", (lambda m, a: _op("linalg_det")(a), lambda m, a: m.linalg.det(a)), [R(3, 3) + 2 *
                                                                         np.eye(3)], True),
    ("slogdet", (lambda m, a: _op("linalg_slogdet")(a)[1], lambda m, a: m.linalg.slogdet(a)[1]),
     [R(3, 3) + 2 * np.eye(3)], True),
    ("solve", (lambda m, a, b: _op("linalg_solve")(a, b), lambda m, a, b: m.linalg.solve(a, b)),
     [spd(3), R(3, 2)], True),
    ("solve_vector", (lambda m, a, b: _op("linalg_solve")(a, b),
                      lambda m, a, b: m.linalg.solve(a, b)), [spd(3), R(3)], True),
    ("cholesky", (lambda m, a: _op("linalg_cholesky")(a @ a.transpose(-1, -2)),
                  lambda m, a: m.linalg.cholesky(a @ a.mT)), [spd(3)], True),
    ("eigh", (lambda m, a: _eigh_invariant(_op("linalg_eigh")(a + a.transpose(-1, -2))),
              lambda m, a: _eigh_invariant(m.linalg.eigh(a + a.mT))), [R(3, 3)], True),
    ("svd", (lambda m, a: _svd_invariant(_op("linalg_svd")(a, full_matrices=False)),
             lambda m, a: _svd_invariant(m.linalg.svd(a, full_matrices=False))),
     [R(3, 2)], True),
    ("svd_wide", (lambda m, a: _svd_invariant(_op("linalg_svd")(a, full_matrices=False)),
                  lambda m, a: _svd_invariant(m.linalg.svd(a, full_matrices=False))),
     [R(2, 3)], True),
    ("qr", (lambda m, a: _op("linalg_qr")(a), lambda m, a: m.linalg.qr(a)), [R(3, 2)],
     False),
    ("qr_square", (lambda m, a: _op("linalg_qr")(a), lambda m, a: m.linalg.qr(a)),
     [R(3, 3) + 2 * np.eye(3)], True),
    # neural-network ops (composites and fused ops with their own derivatives)
    ("relu", nnf(lambda F, a: F.relu(a)), [distinct(5) - 2.0], True),
    ("leaky_relu", nnf(lambda F, a: F.leaky_relu(a, 0.1)), [distinct(5) - 2.0], True),
    ("gelu", nnf(lambda F, a: F.gelu(a)), [R(4)], True),
    ("gelu_tanh", nnf(lambda F, a: F.gelu(a, approximate="tanh")), [R(4)], True),
    ("silu", nnf(lambda F, a: F.silu(a)), [R(4)], True),
    ("softmax", nnf(lambda F, a: F.softmax(a, 1)), [R(2, 3)], True),
    ("log_softmax", nnf(lambda F, a: F.log_softmax(a, 0)), [R(3, 2)], True),
    ("linear", nnf(lambda F, x, w, b: F.linear(x, w, b)), [R(2, 3), R(4, 3), R(4)], True),
    ("linear_nobias", nnf(lambda F, x, w: F.linear(x, w)), [R(3), R(2, 3)], True),
    ("pad", nnf(lambda F, a: F.pad(a, (1, 2))), [R(2, 2)], True),
    ("conv2d", nnf(lambda F, x, w, b: F.conv2d(x, w, b, stride=1, padding=1)),
     [R(1, 2, 3, 3), R(2, 2, 2, 2), R(2)], True),
    ("conv2d_strided", nnf(lambda F, x, w: F.conv2d(x, w, stride=2, groups=2)),
     [R(1, 2, 4, 4), R(2, 1, 2, 2)], True),
    ("conv1d", nnf(lambda F, x, w: F.conv1d(x, w, padding=1, dilation=2)),
     [R(1, 2, 5), R(3, 2, 2)], True),
    ("max_pool2d", nnf(lambda F, x: F.max_pool2d(x, 2)), [distinct(1, 1, 4, 4)], True),
    ("max_pool2d_padded_ceil", nnf(lambda F, x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
     [distinct(2, 5, 5)], True),
    # (squared: the pooling's backward then gets a gradient that requires grad, so its
    # own derivative, a gather through the indices, is recorded and checked)
    ("max_pool2d_squared", nnf(lambda F, x: F.max_pool2d(x, 3, 2, 1).pow(2)),
     [distinct(1, 2, 5, 5)], True),
    ("avg_pool2d", nnf(lambda F, x: F.avg_pool2d(x, 2, stride=1)), [R(1, 1, 3, 3)], True),
    ("adaptive_avg_pool2d", nnf(lambda F, x: F.adaptive_avg_pool2d(x, (2, 1))),
     [R(1, 1, 4, 3)], True),
    ("batch_norm", nnf(lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
     [R(4, 2), R(2), R(2)], True),
    ("layer_norm", nnf(lambda F, x, w, b: F.layer_norm(x, (3,), w, b)),
     [R(2, 3), R(3), R(3)], True),
    ("group_norm", nnf(lambda F, x: F.group_norm(x, 2)), [R(1, 4, 2)], True),
    ("embedding", nnf(lambda F, i, w: F.embedding(i, w)), [I([[0, 2], [2, 1]]), R(3, 2)],
     False),
    ("attention", nnf(lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v)),
     [R(1, 2, 3), R(1, 2, 3), R(1, 2, 3)], True),
    ("mse_loss", nnf(lambda F, a, b: F.mse_loss(a, b)), [R(2, 3), R(2, 3)], True),
    ("l1_loss", nnf(lambda F, a, b: F.l1_loss(a, b, reduction="sum")), [R(4), R(4) + 2],
     False),
    ("nll_loss", nnf(lambda F, a, t: F.nll_loss(a, t)), [R(3, 4), I([1, 0, 3])], True),
    ("cross_entropy", nnf(lambda F, a, t: F.cross_entropy(a, t)), [R(3, 4), I([1, 0, 3])],
     True),
    ("cross_entropy_smooth", nnf(lambda F, a, t, w: F.cross_entropy(
        a, t, weight=w, label_smoothing=0.1)), [R(3, 4), I([1, 0, 3]), P(4).view(K)], True),
    ("cross_entropy_probs", nnf(lambda F, a, t: F.cross_entropy(a, t)),
     [R(2, 3), np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])], True),
    ("binary_cross_entropy", nnf(lambda F, a, t: F.binary_cross_entropy(a, t)),
     [R(4, lo=0.1, hi=0.9), R(4, lo=0, hi=1)], True),
    ("bce_with_logits", nnf(lambda F, a, t, p: F.binary_cross_entropy_with_logits(
        a, t, pos_weight=p)), [R(2, 3), R(2, 3, lo=0, hi=1), P(3).view(K)], True),
    ("copy_", both(lambda m, a, b: (a * 1).copy_(b) * a), [R(2, 3), R(3)], True),
    ("inplace_mul_", both(lambda m, a, b: (a * 1).mul_(b)), [R(2, 3), R(3)], True),
    ("inplace_exp_", both(lambda m, a: (a + 0).exp_()), [R(3)], True),
    ("inplace_rsqrt_", both(lambda m, a: (a + 0).rsqrt_()), [P(3)], True),
]


def _eigh_invariant(res):
    w, v = res
    return w, v * v  # eigenvectors are defined up to sign


def _svd_invariant(res):
    u, s, vh = res
    return s, u @ vh  # (u_i, v_i) sign flips cancel in u @ vh


def _to_ember(arrays, grad=True):
    out = []
    for a in arrays:
        if a.dtype.kind == "f":
            out.append(ember.tensor(np.asarray(a), dtype=ember.float64,
                                    requires_grad=grad and not isinstance(a, K)))
        else:
            out.append(ember.tensor(a))
    return out


def _to_torch(arrays):
    return [torch.tensor(np.asarray(a), requires_grad=a.dtype.kind == "f"
                         and not isinstance(a, K)) for a in arrays]


def _outputs(res):
    res = res if isinstance(res, tuple) else (res,)
    return [r for r in res if r.dtype.is_floating_point]


@pytest.mark.parametrize("name,fns,arrays,second", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fns, arrays, second):
    efn = fns[0]
    inputs = _to_ember(arrays)
    # A float32 round trip rounds at ~1e-7 relative, which swamps the default eps.
    tol = {"eps": 1e-3, "atol": 1e-4} if name == "astype" else {}
    assert gradcheck(lambda *xs: efn(ember, *xs), inputs, **tol)
    if second:
        assert gradgradcheck(lambda *xs: efn(ember, *xs), inputs)


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
@pytest.mark.parametrize("name,fns,arrays,second", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, fns, arrays, second):
    efn, tfn = fns
    e_in, t_in = _to_ember(arrays), _to_torch(arrays)
    e_out, t_out = _outputs(efn(ember, *e_in)), _outputs(tfn(torch, *t_in))
    assert len(e_out) == len(t_out)
    weights = [_rng.standard_normal(tuple(t.shape)) for t in t_out]
    e_loss = sum((o * ember.tensor(w, dtype=ember.float64)).sum()
                 for o, w in zip(e_out, weights, strict=True))
    t_loss = sum((o * torch.tensor(w)).sum() for o, w in zip(t_out, weights, strict=True))
    e_loss.backward()
    t_loss.backward()
    for e, t in zip(e_in, t_in, strict=True):
        if t.grad is None:
            assert e.grad is None or not e.requires_grad or np.all(e.grad.numpy() == 0)
            continue
        assert e.grad is not None, name
        assert e.grad.shape == tuple(t.grad.shape)
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)


# --- coverage ------------------------------------------------------------------------------

#: Ops whose outputs are integers or bools whatever the input (so nothing to
#: differentiate), by name; tagged ops (creation, random, comparisons) are found by tags.
INTEGER_OUTPUT = {"argmax", "argmin", "nonzero", "argwhere", "argsort", "one_hot",
                  "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
                  "bitwise_left_shift", "bitwise_right_shift", "count_nonzero", "all",
                  "any", "logical_and", "logical_or", "logical_xor", "logical_not",
                  "isnan", "isinf", "isfinite", "_unique_all"}
#: Ops that only move data out of autograd's reach on purpose.
NOT_DIFFERENTIABLE = {"_sgd_update_", "_adam_update_", "_rmsprop_update_"}


def _classify(od) -> str:
    if od.derivative is not None:
        return "derivative"
    if od.is_inplace and od.inplace_of and registry[od.inplace_of].derivative is not None:
        return "in-place of a differentiable op"
    if not od.is_primitive and od.decomposition is not None:
        return "composite"
    if od.is_inplace and od.inplace_of and not registry[od.inplace_of].is_primitive:
        return "in-place of a composite"
    if nondifferentiable(od) or od.name in INTEGER_OUTPUT or od.name in NOT_DIFFERENTIABLE:
        return "non-differentiable"
    if od.is_inplace and od.inplace_of in INTEGER_OUTPUT:
        return "non-differentiable"
    return "missing"


def test_every_op_is_covered():
    missing = sorted(n for n, od in registry.items() if _classify(od) == "missing")
    assert not missing, f"ops without a derivative (declare one beside the schema): {missing}"


def test_declared_derivatives_are_exercised():
    """Each op with a derivative appears in a gradcheck case above (by running them and
    recording which nodes were created), so coverage means tested coverage."""
    seen = set()
    for _, fns, arrays, second in CASES:
        inputs = _to_ember(arrays)
        out = _outputs(fns[0](ember, *inputs))
        if second:  # the backward's own nodes (backward ops with derivatives) too
            leaves = [x for x in inputs if x.requires_grad]
            out = out + [g for g in ember.autograd.grad(
                out, leaves, [ember.ones_like(o) for o in out], create_graph=True,
                allow_unused=True) if g is not None and g.grad_fn is not None]
        stack = [o.grad_fn for o in out if o.grad_fn is not None]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(e[0] for e in n.next_edges if e is not None)
    names = {type(n).__name__ for n in seen}
    from ember.autograd.rules import node_name
    untested = sorted(n for n, od in registry.items() if od.derivative is not None
                      and node_name(n) not in names and od.name not in _TESTED_ELSEWHERE)
    assert not untested, f"derivatives without a gradcheck case: {untested}"


#: Derivatives checked by other test modules (device moves: tests/test_autograd.py;
#: the complex-number ops and the DFT primitives, whose gradients are complex, against
#: PyTorch's in tests/test_complex.py and tests/test_fft.py).
_TESTED_ELSEWHERE = {"_to_device", "view_as_real", "view_as_complex", "conj_physical",
                     "_fft_c2c", "_fft_r2c", "_fft_c2r"}


def _op(name):
    return registry[name].fn


# --- std at the edges (issue 21) ---------------------------------------------------------

@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("call", [lambda x: x.std(), lambda x: x.std(1),
                                  lambda x: x.std(0, correction=0),
                                  lambda x: (ember if isinstance(x, ember.Tensor)
                                             else torch).std_mean(x, 1)[0]],
                         ids=["all", "dim", "correction0", "std_mean"])
def test_std_gradient_at_zero_variance_is_zero_like_torch(device, call):
    # a constant row (for std over dim 1) and a constant column (over dim 0)
    x = np.array([[2.0, 2.0, 2.0], [2.0, 3.0, 2.5]], np.float32)
    e = ember.tensor(x, device=device, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    call(e).sum().backward()
    call(t).sum().backward()
    got = e.grad.cpu().numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("values", [[3e19, 6e19], [-3e30, 1e30, 2e30], [1e-30, 2e-30, 3e-30],
                                    [3e38, -3e38], [np.inf, 1.0], [np.nan, 1.0]])
def test_std_of_extreme_float32_values_matches_torch(device, values):
    # Squares of values above ~1.8e19 overflow float32 (and below ~1e-23 underflow);
    # the deviation itself is representable: PyTorch gives 2.1213e19 for the first.
    x = np.array(values, np.float32)
    got = ember.tensor(x, device=device).std().item()
    want = torch.tensor(x).std().item()
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, rel=1e-6)
    got = ember.std_mean(ember.tensor(x, device=device), correction=0)[0].item()
    want = torch.std_mean(torch.tensor(x), correction=0)[0].item()
    assert got == pytest.approx(want, rel=1e-6, nan_ok=True)


# --- double backward through conv and pooling (issue 21) -----------------------------------

def _conv_second_order(m, f, x, k, s):
    """Gradients of ||d/dx ||f(x * s, k)||^2||^2 w.r.t. x, k and s (a second backward
    through the first one's graph, as in gradient penalties)."""
    grad = ember.autograd.grad if m is ember else torch.autograd.grad
    X, K, S = (m.tensor(a, requires_grad=True) for a in (x, k, s))
    y = f(m, X * S, K)
    (gx,) = grad((y * y).sum(), [X], create_graph=True)
    (gx * gx).sum().backward()
    return [None if t.grad is None else np.asarray(t.grad.detach().numpy()) for t in (X, K, S)]


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
@pytest.mark.parametrize("which", ["conv2d", "conv1d", "max_pool2d"])
def test_double_backward_through_conv_and_pool_matches_torch(which):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    k = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    f = {"conv2d": lambda F, a, b: F.conv2d(a, b, padding=1, stride=2),
         "conv1d": lambda F, a, b: F.conv1d(a.reshape(2, 3, 25), b[:, :, 0], padding=1),
         "max_pool2d": lambda F, a, b: F.max_pool2d(a, 2) * b.sum()}[which]
    import ember.nn.functional as ef
    got = _conv_second_order(ember, lambda m, a, b: f(ef, a, b), x, k, np.float32(1.7))
    want = _conv_second_order(torch, lambda m, a, b: f(torch.nn.functional, a, b), x, k,
                              np.float32(1.7))
    for g, w in zip(got, want, strict=True):
        assert g is not None and w is not None
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * np.abs(w).max())


# --- found by the conformance suite's gradgradcheck ---------------------------------------

@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_atan2_with_a_python_number_differentiates_twice(device):
    x = ember.tensor([[0.5, 0.4], [-0.9, -1.3]], dtype=ember.float64, device=device,
                     requires_grad=True)
    assert gradgradcheck(lambda a: ember.atan2(a, -1.5), (x,))
    assert gradgradcheck(lambda a: ember.atan2(2.0, a), (x,))


@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_gradgradcheck_of_an_empty_index(device):
    # An empty index: empty output and output gradient (Jacobians of shape (0, n)).
    x = ember.tensor([1.0, 2.0, 3.0, 4.0], dtype=ember.float64, device=device,
                     requires_grad=True)
    empty = ember.tensor([], dtype=ember.int64, device=device)
    assert gradgradcheck(lambda a: a[empty], (x,))
    y = ember.zeros(4, device=device)
    y.index_put_((empty,), ember.tensor([], device=device), accumulate=True)
    assert not y.cpu().numpy().any()
