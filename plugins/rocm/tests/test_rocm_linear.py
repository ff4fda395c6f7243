"""rocm's ``linear`` and ``_linear_backward`` (the matmul kernel's bias and row-sum
epilogues) against PyTorch, and their launch counts."""

import contextlib

import numpy as np
import pytest

import ember
from ember.device import get_backend

from conftest import needs_rocm

pytestmark = [pytest.mark.rocm, needs_rocm]

R = "rocm"
rng = np.random.default_rng(0)


def on(x):
    return ember.tensor(x, device=R)


@contextlib.contextmanager
def counting():
    """Count the kernel launches of the block (every compiled kernel is wrapped)."""
    st = get_backend(R).state(0)
    calls = []
    saved = dict(st.kernels)

    class Spy:
        def __init__(self, key, k):
            self.key, self.k = key, k

        def __call__(self, *args):
            calls.append(self.key)
            return self.k(*args)

    class Kernels(dict):  # kernels built inside the block are counted too
        def __setitem__(self, key, k):
            super().__setitem__(key, Spy(key, k))

    st.kernels = Kernels({k: Spy(k, v) for k, v in saved.items()})
    plans, st.plans = st.plans, {}
    try:
        yield calls
    finally:
        st.kernels = {k: (v.k if isinstance(v, Spy) else v) for k, v in st.kernels.items()}
        st.plans = plans


CASES = [  # input shape, weight shape, bias shape
    ((5, 7), (3, 7), (3,)), ((2, 4, 6), (9, 6), (9,)), ((7,), (3, 7), (3,)),
    ((5, 7), (3, 7), None), ((5, 7), (3, 7), (1, 3)), ((5, 7), (3, 7), (5, 3)),
    ((2, 4, 6), (9, 6), (4, 9)), ((2, 4, 6), (9, 6), (2, 1, 9)),
    ((1, 3), (130, 3), (130,)), ((67, 33), (65, 33), (65,)),
]


@pytest.mark.parametrize("sx,sw,sb", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_forward_backward_match_torch(sx, sw, sb, dtype):
    torch = pytest.importorskip("torch")
    x, w = rng.standard_normal(sx).astype(dtype), rng.standard_normal(sw).astype(dtype)
    b = rng.standard_normal(sb).astype(dtype) if sb else None
    ts = [torch.from_numpy(a).requires_grad_() for a in (x, w, b) if a is not None]
    es = [on(a).requires_grad_() for a in (x, w, b) if a is not None]
    ref = torch.nn.functional.linear(*ts)
    out = ember.nn.functional.linear(*es)
    # (other summation orders than torch's: rounding at the dtype's precision)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), **tol)
    g = rng.standard_normal(ref.shape).astype(dtype)
    ref.backward(torch.from_numpy(g))
    out.backward(on(g))
    for e, t in zip(es, ts, strict=True):
        np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.numpy(), **tol)


def test_linear_non_contiguous_operands():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((7, 5)).astype(np.float32)
    w = rng.standard_normal((14, 4)).astype(np.float32)[::2]  # rows 2 apart
    b = rng.standard_normal((4, 2)).astype(np.float32)
    ex, ew, eb = on(x).t(), on(w).t(), on(b)[:, 1]  # transposed, transposed, strided
    tx, tw, tb = (torch.from_numpy(np.ascontiguousarray(a)) for a in (x.T, w.T, b[:, 1]))
    assert not ex.is_contiguous() and not ew.is_contiguous() and not eb.is_contiguous()
    got = ember.nn.functional.linear(ex, ew, eb).cpu().numpy()
    np.testing.assert_allclose(got, torch.nn.functional.linear(tx, tw, tb).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_linear_some_gradients_only():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 5)).astype(np.float32)
    w = rng.standard_normal((3, 5)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    for needs in [(True, False, False), (False, True, False), (False, False, True),
                  (False, True, True), (True, False, True)]:
        es = [on(a).requires_grad_(n) for a, n in zip((x, w, b), needs, strict=True)]
        ts = [torch.from_numpy(a).requires_grad_(n) for a, n in zip((x, w, b), needs,
                                                                      strict=True)]
        ember.nn.functional.linear(*es).sum().backward()
        torch.nn.functional.linear(*ts).sum().backward()
        for e, t, n in zip(es, ts, needs, strict=True):
            if n:
                np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.numpy(),
                                           rtol=1e-5, atol=1e-5)
            else:
                assert e.grad is None


def test_linear_empty_and_zero_features():
    torch = pytest.importorskip("torch")
    for sx, sw in [((0, 4), (3, 4)), ((5, 0), (3, 0)), ((5, 4), (0, 4)),
                   ((2, 0, 4), (3, 4))]:
        x, w = np.ones(sx, np.float32), np.ones(sw, np.float32)
        b = np.full(sw[0], 2.0, np.float32)
        es = [on(a).requires_grad_() for a in (x, w, b)]
        ts = [torch.from_numpy(a).requires_grad_() for a in (x, w, b)]
        out, ref = ember.nn.functional.linear(*es), torch.nn.functional.linear(*ts)
        np.testing.assert_array_equal(out.detach().cpu().numpy(), ref.detach().numpy())
        out.sum().backward()
        ref.sum().backward()
        for e, t in zip(es, ts, strict=True):
            np.testing.assert_array_equal(e.grad.cpu().numpy(), t.grad.numpy())


def test_linear_and_its_backward_launch_one_kernel_each():
    x = on(rng.standard_normal((8, 5)).astype(np.float32)).requires_grad_()
    w = on(rng.standard_normal((3, 5)).astype(np.float32)).requires_grad_()
    b = on(rng.standard_normal(3).astype(np.float32)).requires_grad_()
    g = on(np.ones((8, 3), np.float32))
    ember.nn.functional.linear(x, w, b).backward(g)  # (builds the kernels)
    with counting() as fwd:
        out = ember.nn.functional.linear(x, w, b)
    assert len(fwd) == 1, fwd  # the product and the bias: one pass
    with counting() as bwd:
        out.backward(g)
    # the input's gradient, and the weight's with the bias's gradient beside it (the
    # accumulation into .grad adds one kernel per existing gradient)
    assert sum(1 for k in bwd if k[0] == "matmul") == 2, bwd
    assert not any(k[0] == "reduce" for k in bwd), bwd
