"""``ember.linalg``'s PyTorch functions composed of other ops (``multi_dot``,
``matrix_exp``, ``solve_triangular``, ``lstsq``) against ``torch.linalg``: values, named
results, gradients, batching, empty inputs and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RTOL = {"float32": 1e-4, "float64": 1e-9}


def _arr(*shape, dtype="float64", seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def _close(e, t, rtol):
    assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
    en, tn = e.detach().numpy(), t.detach().numpy()
    assert en.dtype == tn.dtype, (en.dtype, tn.dtype)
    np.testing.assert_allclose(en, tn, rtol=rtol, atol=rtol, equal_nan=True)


def _vjp(fe, ft, *arrays, rtol):
    """``fe`` (ember) and ``ft`` (torch) on the same arrays: equal values and equal
    gradients of a random weighting of the (first) output."""
    el = [ember.tensor(a, requires_grad=True) for a in arrays]
    tl = [torch.tensor(a, requires_grad=True) for a in arrays]
    eo, to = fe(*el), ft(*tl)
    _close(eo, to, rtol)
    w = _arr(*to.shape, dtype=str(to.detach().numpy().dtype), seed=9)
    eo.mul(ember.tensor(w)).sum().backward()
    to.mul(torch.tensor(w)).sum().backward()
    for e, t in zip(el, tl, strict=True):
        _close(e.grad, t.grad, rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multi_dot(dtype):
    shapes = [(3,), (3, 7), (7, 2), (2, 5), (5,)]
    for lo, hi in ((0, 2), (0, 3), (1, 4), (1, 5), (0, 5), (1, 3)):
        arrays = [_arr(*s, dtype=dtype, seed=i) for i, s in enumerate(shapes[lo:hi])]
        _vjp(lambda *xs: ember.linalg.multi_dot(xs),
             lambda *xs: torch.linalg.multi_dot(xs), *arrays, rtol=RTOL[dtype])
    e = ember.linalg.multi_dot([ember.ones((2, 0)), ember.ones((0, 3)), ember.ones((3, 1))])
    _close(e, torch.linalg.multi_dot([torch.ones(2, 0), torch.ones(0, 3), torch.ones(3, 1)]),
           1e-6)
    with pytest.raises(ember.OpError, match=r"multi_dot\(\): expected at least 2 tensors"):
        ember.linalg.multi_dot([ember.ones((2, 2))])
    with pytest.raises(ember.OpError, match=r"multi_dot\(\): tensor 1 must be 2D"):
        ember.linalg.multi_dot([ember.ones((2, 2)), ember.ones(2), ember.ones((2, 2))])
    with pytest.raises(ember.OpError, match=r"multi_dot\(\): first and last tensors must "
                                            r"be 1D or 2D"):
        ember.linalg.multi_dot([ember.ones((2, 2, 2)), ember.ones((2, 2))])
    with pytest.raises(ember.OpError, match=r"multi_dot\(\): tensors 0 and 1 .* cannot be"):
        ember.linalg.multi_dot([ember.ones((2, 3)), ember.ones((2, 2))])
    with pytest.raises(TypeError, match=r"multi_dot\(\): argument 'tensors\[1\]'"):
        ember.linalg.multi_dot([ember.ones((2, 2)), 3.0])


def test_multi_dot_takes_the_cheapest_order():
    # (10x1000)(1000x10)(10x1000)... : left to right is far cheaper than right to left;
    # the result equals either way, so check the order through the product's shapes seen
    seen = []
    orig = ember.ops.matmul

    def spy(a, b):
        seen.append((tuple(a.shape), tuple(b.shape)))
        return orig(a, b)
    import ember.linalg as el
    el._ops.matmul, old = spy, el._ops.matmul
    try:
        el.multi_dot([ember.ones((1, 50)), ember.ones((50, 50)), ember.ones((50, 50))])
    finally:
        el._ops.matmul = old
    assert seen == [((1, 50), (50, 50)), ((1, 50), (50, 50))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matrix_exp(dtype):
    for shape, scale in (((3, 3), 0.1), ((2, 4, 4), 1.0), ((4, 4), 6.0), ((1, 1), 3.0)):
        _vjp(ember.linalg.matrix_exp, torch.linalg.matrix_exp,
             _arr(*shape, dtype=dtype, scale=scale), rtol=RTOL[dtype] * 10)
    z = np.zeros((2, 3, 3), dtype=dtype)
    _vjp(ember.linalg.matrix_exp, torch.linalg.matrix_exp, z, rtol=RTOL[dtype])  # identity
    _close(ember.linalg.matrix_exp(ember.zeros((0, 2, 2))),
           torch.linalg.matrix_exp(torch.zeros(0, 2, 2)), 1e-6)
    _close(ember.linalg.matrix_exp(ember.zeros((0, 0))),
           torch.linalg.matrix_exp(torch.zeros(0, 0)), 1e-6)
    # a nilpotent matrix: exp is the finite series I + N + N^2 / 2
    n = ember.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]], dtype=ember.float64)
    np.testing.assert_allclose(ember.linalg.matrix_exp(n).numpy(),
                               [[1.0, 1.0, 3.5], [0.0, 1.0, 3.0], [0.0, 0.0, 1.0]], rtol=1e-12)
    _close(ember.matrix_exp(n), torch.matrix_exp(torch.tensor(n.numpy())), 1e-12)
    _close(n.matrix_exp(), torch.tensor(n.numpy()).matrix_exp(), 1e-12)
    with pytest.raises(ember.OpError, match=r"linalg.matrix_exp\(\): argument 'A' must be a "
                                            r"square matrix"):
        ember.linalg.matrix_exp(ember.ones((2, 3)))
    with pytest.raises(ember.OpError, match=r"linalg.matrix_exp\(\): expected a floating"):
        ember.linalg.matrix_exp(ember.ones((2, 2), dtype=ember.int64))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_solve_triangular(dtype):
    a = _arr(2, 4, 4, dtype=dtype) + 4 * np.eye(4, dtype=dtype)
    for upper in (True, False):
        for left in (True, False):
            for unit in (False, True):
                b = _arr(2, 4, 3, dtype=dtype, seed=1) if left else \
                    _arr(3, 4, dtype=dtype, seed=1)  # (batch broadcast)
                kw = {"upper": upper, "left": left, "unitriangular": unit}
                _vjp(lambda x, y, kw=kw: ember.linalg.solve_triangular(x, y, **kw),
                     lambda x, y, kw=kw: torch.linalg.solve_triangular(x, y, **kw), a, b,
                     rtol=RTOL[dtype])
    e = ember.linalg.solve_triangular(ember.eye(3), ember.zeros((3, 0)), upper=True)
    assert tuple(e.shape) == (3, 0)
    with pytest.raises(ember.OpError, match=r"solve_triangular\(\): The input tensor B must"):
        ember.linalg.solve_triangular(ember.eye(2), ember.ones(2), upper=True)
    with pytest.raises(ember.OpError, match=r"solve_triangular\(\): incompatible shapes"):
        ember.linalg.solve_triangular(ember.eye(2), ember.ones((3, 1)), upper=True)
    with pytest.raises(ember.OpError, match=r"solve_triangular\(\): argument 'A' must be a "
                                            r"square"):
        ember.linalg.solve_triangular(ember.ones((2, 3)), ember.ones((2, 1)), upper=True)
    with pytest.raises(TypeError, match="upper"):
        ember.linalg.solve_triangular(ember.eye(2), ember.ones((2, 1)))  # keyword required


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq(dtype, driver):
    rtol = RTOL[dtype] * 10
    for sa, sb in (((2, 5, 3), (2, 5, 2)), ((3, 3), (3, 4)), ((5, 3), (5,)),
                   ((2, 6, 4), (2, 6, 1))):
        a, b = _arr(*sa, dtype=dtype), _arr(*sb, dtype=dtype, seed=1)
        e = ember.linalg.lstsq(ember.tensor(a), ember.tensor(b), driver=driver)
        t = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
        assert e._fields == ("solution", "residuals", "rank", "singular_values")
        for f in e._fields:
            _close(getattr(e, f), getattr(t, f), rtol)
        _vjp(lambda x, y: ember.linalg.lstsq(x, y, driver=driver).solution,
             lambda x, y: torch.linalg.lstsq(x, y, driver=driver).solution, a, b, rtol=rtol)
    # rank-deficient: no residuals; the ranks (and a given rcond) as PyTorch's
    a = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]], dtype=dtype)
    b = _arr(3, 2, dtype=dtype)
    if driver in ("gelsd", "gelss"):  # (gelsy and gels pick a different minimiser)
        e = ember.linalg.lstsq(ember.tensor(a), ember.tensor(b), driver=driver)
        t = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
        for f in e._fields:
            _close(getattr(e, f), getattr(t, f), rtol)


def test_lstsq_refusals():
    with pytest.raises(ember.OpError, match=r"linalg.lstsq\(\): parameter `driver`"):
        ember.linalg.lstsq(ember.ones((2, 2)), ember.ones((2, 1)), driver="lu")
    with pytest.raises(ember.OpError, match=r"linalg.lstsq\(\): input must have at least 2"):
        ember.linalg.lstsq(ember.ones(2), ember.ones(2))
    with pytest.raises(ember.OpError, match=r"linalg.lstsq\(\): A .* and B .* same number "
                                            r"of rows"):
        ember.linalg.lstsq(ember.ones((3, 2)), ember.ones((2, 1)))
    with pytest.raises(ember.OpError, match=r"linalg.lstsq\(\): expected A and B of the same"):
        ember.linalg.lstsq(ember.ones((2, 2)), ember.ones((2, 1), dtype=ember.float64))
    with pytest.raises(TypeError, match=r"linalg.lstsq\(\): argument 'B'"):
        ember.linalg.lstsq(ember.ones((2, 2)), [1.0, 2.0])
