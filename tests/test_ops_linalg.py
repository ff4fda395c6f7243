"""Matrix products, einsum and norms against PyTorch, including the einsum
decomposition other backends run."""

import math

import numpy as np
import pytest

import ember
from _oracle import assert_meta_agrees, assert_same, pair, sample, torch

pytestmark = pytest.mark.torch

SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
          ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)),
          ((0, 3), (3, 2)), ((2, 0), (0, 3))]


@pytest.mark.parametrize(("sa", "sb"), SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_matmul(sa, sb, dtype):
    (a, ta), (b, tb) = pair(sample(sa, dtype)), pair(sample(sb, dtype, seed=1))
    assert_same(a @ b, ta @ tb)
    assert_same(ember.matmul(a, b), torch.matmul(ta, tb))
    assert_meta_agrees(ember.matmul, a, b)


def test_matmul_non_contiguous():
    (a, ta), (b, tb) = pair(sample((4, 3), "float32")), pair(sample((4, 5), "float32", seed=1))
    assert_same(a.T @ b, ta.T @ tb)


def test_mm_bmm_dot_outer():
    (a, ta), (b, tb) = pair(sample((2, 3), "float32")), pair(sample((3, 4), "float32", seed=1))
    assert_same(ember.mm(a, b), torch.mm(ta, tb))
    (c, tc), (d, td) = pair(sample((5, 2, 3), "float32")), pair(sample((5, 3, 4), "float32"))
    assert_same(ember.bmm(c, d), torch.bmm(tc, td))
    (u, tu), (v, tv) = pair(sample((3,), "float64")), pair(sample((3,), "float64", seed=1))
    assert_same(ember.dot(u, v), torch.dot(tu, tv))
    assert_same(ember.outer(u, v), torch.outer(tu, tv))
    assert_same(u.dot(v), tu.dot(tv))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: ember.mm(ember.ones(3), ember.ones(3, 2)), r"mm\(\): argument 'self' must be a 2-D"),
    (lambda: ember.mm(ember.ones(2, 3), ember.ones(2, 2)), r"mm\(\): shapes \[2, 3\] and \[2, 2\] "
                                                           r"cannot be multiplied"),
    (lambda: ember.bmm(ember.ones(2, 2, 3), ember.ones(3, 3, 2)), r"bmm\(\): batch sizes must"),
    (lambda: ember.dot(ember.ones(2), ember.ones(3)), r"dot\(\): inconsistent tensor size"),
    (lambda: ember.dot(ember.ones(2, 1), ember.ones(2)), r"dot\(\): 1D tensors expected"),
    (lambda: ember.matmul(ember.ones(2), ember.tensor(1.0)), r"matmul\(\): both arguments"),
    (lambda: ember.matmul(ember.ones(2, 3), ember.ones(3, dtype=ember.float64)),
     r"matmul\(\): expected both arguments to have the same dtype"),
    (lambda: ember.matmul(ember.ones(2, 2, 3), ember.ones(3, 3, 1)),
     r"matmul\(\): the shape \[3\] of argument 'other' can't be broadcast"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ember.OpError, match=message):
        call()


EINSUM = [("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]),
          ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("i,i->", [(3,), (3,)]),
          ("i,j->ij", [(2,), (3,)]), ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]),
          ("...ij,...jk->...ik", [(4, 2, 3), (3, 5)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4),
                                                                          (2, 2, 5, 4)]),
          ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("i j , j -> i", [(2, 3), (3,)]),
          ("ab...,b->a...", [(2, 3, 4), (3,)])]


@pytest.mark.parametrize(("eq", "shapes"), EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_native_and_decomposition(eq, shapes):
    pairs = [pair(sample(s, "float64", seed=i)) for i, s in enumerate(shapes)]
    es, ts = [p[0] for p in pairs], [p[1] for p in pairs]
    want = torch.einsum(eq, *ts)
    assert_same(ember.einsum(eq, *es), want)
    assert_same(ember.einsum(eq, es), want)
    assert_same(ember.einsum.op.decomposition(eq, es), want)
    assert_meta_agrees(lambda *xs: ember.einsum(eq, *xs), *es)


#: the decomposition's edge cases (diagonals, broadcasting, empty and 0-d operands,
#: letters in one operand only, three operands), values and gradients against PyTorch
EINSUM_EDGES = [
    ("ii->i", [(3, 3)]), ("ii->", [(4, 4)]), ("iij->j", [(3, 3, 2)]), ("bii->bi", [(2, 3, 3)]),
    ("iii->i", [(2, 2, 2)]), ("ii,i->i", [(3, 3), (3,)]), ("ij,ji->", [(2, 3), (3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]), ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("ij,jk->ik", [(0, 3), (3, 4)]), (",->", [(), ()]), (",i->i", [(), (3,)]),
    ("i,->i", [(3,), ()]), ("ba", [(2, 3)]), ("ij,k->i", [(2, 3), (4,)]),
    ("ij,kl,jk->il", [(2, 3), (4, 2), (3, 4)]), ("ij,jk,kl,lm->im", [(2, 3), (3, 4), (4, 2),
                                                                     (2, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 1, 5, 4)]), ("ab,cd->abcd", [(2, 3), (1, 2)]),
    ("ij->ij", [(2, 3)]), ("i,i", [(3,), (3,)]), ("...,...->...", [(2, 3), (3,)]),
]


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize(("eq", "shapes"), EINSUM_EDGES, ids=[e for e, _ in EINSUM_EDGES])
def test_einsum_values_and_gradients(device, eq, shapes):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(s) for s in shapes]
    es = [ember.tensor(x, device=device).requires_grad_() for x in xs]
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    got, want = ember.einsum(eq, *es), torch.einsum(eq, *ts)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    g = rng.standard_normal(tuple(want.shape))
    got.backward(ember.tensor(g, device=device))
    want.backward(torch.tensor(g))
    for e, t in zip(es, ts, strict=True):
        np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-12,
                                   atol=1e-12)
    # the result never aliases an operand (it is written to freely)
    got = ember.einsum(eq, *[e.detach() for e in es])
    got.add_(1.0) if got.numel() else None
    np.testing.assert_array_equal(es[0].detach().cpu().numpy(), xs[0])


def test_einsum_of_non_contiguous_operands_and_sublists():
    (a, ta), (b, tb) = pair(sample((4, 3), "float64")), pair(sample((5, 4), "float64", seed=1))
    assert_same(ember.einsum("ji,kj->ik", a, b), torch.einsum("ji,kj->ik", ta, tb))
    assert_same(ember.einsum.op.decomposition("ij,jk->ik", [a.T, b.T]),
                torch.einsum("ij,jk->ik", ta.T, tb.T))
    assert_same(ember.einsum(a, [1, 0], b, [2, 1], [0, 2]),
                torch.einsum(ta, [1, 0], tb, [2, 1], [0, 2]))
    (c, tc) = pair(sample((2, 4, 3), "float64"))
    assert_same(ember.einsum(c, [..., 0, 1], a, [0, 1], [...]),
                torch.einsum(tc, [..., 0, 1], ta, [0, 1], [...]))
    with pytest.raises(ember.OpError, match=r"einsum\(\): subscript in operand 0 must be"):
        ember.einsum(a, [0, "x"])


def test_einsum_half_precision_decomposition():
    (a, ta), (b, tb) = pair(sample((3, 4), "float32")), pair(sample((4, 2), "float32", seed=1))
    for d in ("float16", "bfloat16"):
        got = ember.einsum.op.decomposition("ij,jk->ik", [a.astype(getattr(ember, d)),
                                                         b.astype(getattr(ember, d))])
        assert_same(got, torch.einsum("ij,jk->ik", ta.to(getattr(torch, d)),
                                      tb.to(getattr(torch, d))))


@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_einsum_memory_is_linear(device):
    """The decomposition contracts through matmul: a 192 x 192 by 192 x 192 product and
    its backward peak near their inputs and outputs (0.3-0.4 MiB), not at the 54 MiB of the
    i x j x k products the old decomposition multiplied before summing."""
    import tracemalloc
    n = 192
    a = ember.randn(n, n, device=device).requires_grad_()
    b = ember.randn(n, n, device=device).requires_grad_()
    ember.einsum("ij,jk->ik", a, b).sum().backward()  # warm up
    io = 5 * n * n * 4  # a, b, the result and both gradients
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        ember.einsum("ij,jk->ik", a, b).sum().backward()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 4 * io, f"einsum forward+backward on {device} peaked at {peak / 2**20:.1f} " \
                          f"MiB for {io / 2**20:.1f} MiB of inputs, outputs and gradients"


@pytest.mark.parametrize(("eq", "n", "message"), [
    ("ij,jk->ik", 1, r"einsum\(\): equation 'ij,jk->ik' has 2 operand\(s\) but 1 tensor"),
    ("ijk,jk->ik", 2, r"einsum\(\): the number of subscripts in 'ijk' \(3\)"),
    ("ij,kl->im", 2, r"einsum\(\): output subscript 'm' does not appear"),
    ("ij,jk->ii", 2, r"einsum\(\): output subscripts of 'ij,jk->ii' repeat"),
    ("i1,jk->ik", 2, r"einsum\(\): invalid subscript '1'"),
    ("ij,jj->i", 2, r"einsum\(\): subscript 'j' is repeated for operand 1 but the sizes "
                    r"don't match, 3 != 2"),
    ("ik,ij->i", 2, r"einsum\(\): subscript 'i' has size 3"),
])
def test_einsum_errors(eq, n, message):
    tensors = [ember.ones(2, 3), ember.ones(3, 2)][:n]
    with pytest.raises(ember.OpError, match=message):
        ember.einsum(eq, *tensors)


@pytest.mark.parametrize(("ord_", "dim"), [(None, None), (2, None), (1, 0), (math.inf, 1),
                                           (-math.inf, 1), (0, -1), (3, (0, 1)),
                                           ("fro", (0, 1)), (1, (0, 1)), (math.inf, (0, 1)),
                                           ("nuc", None), (2, (0, 1)), (-2, None)])
def test_linalg_norm(ord_, dim):
    e, t = pair(sample((3, 4), "float64"))
    if isinstance(dim, tuple) and ord_ == 3:
        with pytest.raises(ember.OpError, match=r"linalg.norm\(\): unsupported matrix norm"):
            ember.linalg.norm(e, ord_, dim)
        return
    assert_same(ember.linalg.norm(e, ord_, dim), torch.linalg.norm(t, ord_, dim))
    assert_same(ember.linalg.norm(e, ord_, dim, keepdim=True),
                torch.linalg.norm(t, ord_, dim, keepdim=True))


def test_tensor_norm_and_vector_norm():
    e, t = pair(sample((2, 3, 4), "float32"))
    assert_same(e.norm(), t.norm())
    assert_same(ember.norm(e, 1, dim=(1, 2)), torch.norm(t, 1, dim=(1, 2)))
    assert_same(e.norm(dim=0, keepdim=True), t.norm(dim=0, keepdim=True))
    assert_same(ember.linalg.vector_norm(e, 3, dim=-1), torch.linalg.vector_norm(t, 3, dim=-1))
    with pytest.raises(ember.OpError, match=r"linalg.norm\(\): with 'ord' given, 'A' must be "
                                            r"1-D or 2-D"):
        ember.linalg.norm(e, 2)


def test_linalg_namespace_exposes_torch_names():
    for name in ("norm", "vector_norm", "matrix_norm", "svd", "solve", "inv", "det"):
        assert callable(getattr(ember.linalg, name))
    a = ember.tensor(np.array([[2.0, 1.0], [1.0, 3.0]]))
    np.testing.assert_allclose((ember.linalg.inv(a) @ a).numpy(), np.eye(2), atol=1e-12)


@pytest.mark.parametrize("ord_", [0.5, 1.5, 3.0, -1.0, -2.5])
@pytest.mark.parametrize("dim,keepdim", [(1, False), (None, False), (0, True),
                                         ((0, 1), False)])
def test_vector_norm_gradient_at_zeros_is_torchs(ord_, dim, keepdim):
    """Zero elements and zero vectors get a zero gradient, as in PyTorch: the general
    ``sum(|x|**p) ** (1/p)`` gave NaN there (|x|**p at 0 for p < 1, the root at 0 for
    p > 1), so ``normalize(x, p=3)`` of a zero row poisoned every gradient."""
    x = np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 0.0], [1.0, -2.0, 0.5]], np.float32)
    e = ember.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    eo = ember.linalg.vector_norm(e, ord_, dim=dim, keepdim=keepdim)
    to = torch.linalg.vector_norm(t, ord_, dim=dim, keepdim=keepdim)
    assert tuple(eo.shape) == tuple(to.shape)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-5)
    (eo * eo).sum().backward()
    (to * to).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-6)
    y = ember.tensor(x, requires_grad=True)
    ember.nn.functional.normalize(y, p=abs(ord_), dim=1).sum().backward()
    assert np.isfinite(y.grad.numpy()).all()
