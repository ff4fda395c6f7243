"""F.unfold / F.fold (im2col / col2im) and nn.Unfold / nn.Fold against torch, with
gradients, through the CPU's fused conv kernels and the decompositions."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.errors import OpError
from ember.nn import functional as F

from _nn_oracle import close, path, torch  # noqa: F401

CASES = [
    ((2, 3, 5, 6), {"kernel_size": 2}),
    ((2, 3, 7, 6), {"kernel_size": (3, 2), "stride": 2, "padding": 1}),
    ((1, 2, 9, 8), {"kernel_size": 3, "dilation": (2, 1), "stride": (2, 3), "padding": (2, 0)}),
    ((3, 5, 5), {"kernel_size": 3, "stride": 2}),  # unbatched
]


def _run(fn, x, args, kw, rng):
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    eo = getattr(F, fn)(e, *args, **kw)
    to = getattr(torch.nn.functional, fn)(t, *args, **kw)
    assert tuple(eo.shape) == tuple(to.shape)
    close(eo, to, what="forward")
    r = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    close(e.grad, t.grad, what="grad")
    return tuple(to.shape)


@pytest.mark.parametrize("shape,kw", CASES, ids=str)
def test_unfold_and_fold(shape, kw, path):  # noqa: F811
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    cols = _run("unfold", x, (), kw, rng)
    # fold back to the input's size (and to one a row and column larger: the extra row
    # and column get what reaches them, nothing or the padding's share)
    for extra in (0, 1):
        size = (shape[-2] + extra, shape[-1] + extra)
        t = torch.nn.functional.unfold(torch.zeros((1,) * (4 - len(shape)) + tuple(
            shape[:-2]) + size), **kw)
        if t.shape[-1] != cols[-1]:
            continue  # (a different number of blocks: torch refuses it too)
        y = rng.standard_normal(cols).astype(np.float32)
        _run("fold", y, (size,), kw, rng)


def test_modules():
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 6)).astype(np.float32)
    eu, tu = nn.Unfold(2, stride=2)(ember.tensor(x)), torch.nn.Unfold(2, stride=2)(
        torch.tensor(x))
    close(eu, tu)
    close(nn.Fold((6, 6), 2, stride=2)(eu), torch.nn.Fold((6, 6), 2, stride=2)(tu))
    close(nn.Fold((6, 6), 2, stride=2)(eu), torch.tensor(x))  # non-overlapping: fold undoes unfold


def test_errors():
    with pytest.raises(OpError, match="unfold.*3-D .* or 4-D"):
        F.unfold(ember.randn(4, 4), 2)
    with pytest.raises(OpError, match="smaller than the dilated kernel"):
        F.unfold(ember.randn(1, 1, 2, 2), 3)
    with pytest.raises(OpError, match="divisible by the product of kernel_size"):
        F.fold(ember.randn(1, 5, 4), (3, 3), 2)
    with pytest.raises(OpError, match=r"sliding blocks 2 \* 2 = 4, but got 5"):
        F.fold(ember.randn(1, 4, 5), (3, 3), 2)
