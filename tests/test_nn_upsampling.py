"""F.interpolate and nn.Upsample against torch: outputs (the same pixels picked) and
input gradients, for size= and scale_factor=, align_corners both ways, 3-D, 4-D and
5-D, float32 and float64, non-contiguous and empty-batch input."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

from _memory import peak_bytes
from _nn_oracle import close, torch

CASES = [
    ((2, 3, 5), {"scale_factor": 2}),
    ((2, 3, 5), {"size": 8}),
    ((2, 3, 7), {"size": 3}),
    ((1, 2, 5), {"scale_factor": 2.05}),  # 1-D nearest: no 2x shortcut in PyTorch
    ((1, 2, 5), {"scale_factor": 1.1}),  # 1-D nearest resamples an unchanged size
    ((2, 3, 5, 7), {"scale_factor": 2}),
    ((2, 3, 5, 7), {"scale_factor": 3}),
    ((2, 3, 5, 7), {"size": (3, 11)}),
    ((1, 2, 6, 6), {"scale_factor": (0.6, 2.3)}),
    ((1, 2, 6, 6), {"scale_factor": 1.7, "recompute_scale_factor": True}),
    ((1, 2, 10, 3), {"scale_factor": 2.05}),  # 2x the size, scale not 2: PyTorch's shortcut
    ((1, 2, 5, 5), {"scale_factor": 1.1}),  # the same size
    ((1, 1, 1, 4), {"size": (3, 1)}),
    ((1, 1, 2, 2), {"scale_factor": 4}),  # cubic taps far past both borders
    ((1, 2, 9, 8), {"scale_factor": 0.4}),  # downsampling
    ((2, 2, 3, 4, 5), {"scale_factor": 2}),
    ((1, 2, 4, 3, 5), {"size": (2, 7, 5)}),
    ((1, 1, 3, 1, 4), {"scale_factor": (1.5, 3, 0.5)}),
    ((1, 2, 2, 3, 4), {"scale_factor": 1.6, "recompute_scale_factor": True}),
    ((1, 1, 3, 5, 4), {"scale_factor": 2.05}),
    ((1, 1, 5, 2, 5), {"scale_factor": (1.1, 2, 1.15)}),
]
MODES = {3: ["nearest", "nearest-exact", "linear"],
         4: ["nearest", "nearest-exact", "bilinear", "bicubic"],
         5: ["nearest", "nearest-exact", "trilinear"]}


def _params():
    for shape, kw in CASES:
        for mode in MODES[len(shape)]:
            corners = [None] if mode.startswith("nearest") else [False, True]
            for ac in corners:
                yield shape, dict(kw, mode=mode, align_corners=ac)


#: (shape, mode, scale_factor, align_corners) where PyTorch 2.13's backward is not the
#: adjoint of its own forward: its forward resamples by the scale given ('bicubic';
#: 'nearest' on 3-D and 5-D input) while its backward takes the 2-D 'nearest' kernel's
#: shortcuts (copy an unchanged size, repeat each pixel at twice the size).  ember's gradient is the
#: adjoint of the forward, checked there against the adjoint of torch's forward.
TORCH_GRAD_NOT_ADJOINT = {
    ((1, 2, 5), "nearest", 2.05, None), ((1, 2, 5), "nearest", 1.1, None),
    ((1, 2, 5, 5), "bicubic", 1.1, False), ((1, 1, 3, 5, 4), "nearest", 2.05, None),
    ((1, 1, 5, 2, 5), "nearest", (1.1, 2, 1.15), None),
}


def _torch_adjoint(x: np.ndarray, kw: dict, r: np.ndarray) -> np.ndarray:
    """``J^T r`` for the Jacobian J of torch's forward, one basis input at a time."""
    grad = np.zeros(x.size, dtype=x.dtype)
    for i in range(x.size):
        e = np.zeros(x.size, dtype=x.dtype)
        e[i] = 1
        out = torch.nn.functional.interpolate(torch.tensor(e.reshape(x.shape)), **kw)
        grad[i] = (out.numpy() * r).sum()
    return grad.reshape(x.shape)


def _check(x: np.ndarray, kw: dict, tol: dict, prepare=lambda t: t) -> None:
    """Forward and input gradient of ``interpolate(prepare(x), **kw)`` against torch."""
    rng = np.random.default_rng(0)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    eo = F.interpolate(prepare(e), **kw)
    to = torch.nn.functional.interpolate(prepare(t), **kw)
    assert tuple(eo.shape) == tuple(to.shape)
    assert eo.dtype == e.dtype
    close(eo, to, what="forward", **tol)
    r = rng.standard_normal(tuple(to.shape)).astype(x.dtype)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    want = t.grad
    if (x.shape, kw["mode"], kw.get("scale_factor"),
            kw.get("align_corners")) in TORCH_GRAD_NOT_ADJOINT:
        want = torch.tensor(_torch_adjoint(x, kw, r))
        assert not np.allclose(t.grad.numpy(), want)  # (fixed in torch: drop the entry)
    close(e.grad, want, what="grad", **tol)
    assert eo is not e  # a new tensor even when the size is unchanged


@pytest.mark.parametrize("shape,kw", list(_params()), ids=str)
def test_interpolate_matches_torch(shape, kw):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    _check(x, kw, {})


@pytest.mark.parametrize("shape,kw", [p for p in _params()
                                      if p[1]["mode"] in ("bicubic", "trilinear",
                                                          "bilinear")], ids=str)
def test_interpolate_float64_matches_torch(shape, kw):
    # float64 input: positions and weights in float64, as PyTorch's opmath (a float32
    # computation would be off by ~1e-7 here)
    x = np.random.default_rng(0).standard_normal(shape)
    _check(x, kw, {"rtol": 1e-12, "atol": 1e-12})


@pytest.mark.parametrize("mode,shape,size", [
    ("bicubic", (2, 3, 6, 5), (9, 4)), ("trilinear", (2, 3, 4, 6, 5), (3, 8, 7)),
    ("bilinear", (2, 3, 6, 5), (9, 4))])
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_non_contiguous(mode, shape, size, align_corners):
    # the input is a transposed view: its last two dims are swapped back by the view
    x = np.random.default_rng(2).standard_normal(shape[:-2] + shape[:-3:-1])
    _check(x.astype(np.float32), {"size": size, "mode": mode,
                                  "align_corners": align_corners}, {},
           prepare=lambda t: t.transpose(-1, -2))


@pytest.mark.parametrize("mode,shape", [("bicubic", (0, 2, 3, 4)),
                                        ("trilinear", (0, 2, 3, 4, 2)),
                                        ("nearest", (0, 2, 3, 4, 2))])
def test_interpolate_empty_batch(mode, shape):
    x = ember.zeros(*shape)
    out = F.interpolate(x, scale_factor=2, mode=mode)
    want = torch.nn.functional.interpolate(torch.zeros(*shape), scale_factor=2, mode=mode)
    assert tuple(out.shape) == tuple(want.shape)


@pytest.mark.parametrize("mode,dims", [("bicubic", 2), ("trilinear", 3)])
@pytest.mark.parametrize("backward", [False, True])
def test_interpolate_memory_is_linear(mode, dims, backward):
    # separable gathers: output-sized intermediates, never an (out x in) interpolation
    # matrix, so doubling the input (and so the output) doubles the peak
    def run(n):
        x = ember.randn(1, 2, n, *(8,) * (dims - 1), requires_grad=backward)

        def fn():
            y = F.interpolate(x, scale_factor=3, mode=mode)
            if backward:
                y.sum().backward()
        return peak_bytes(fn)
    small, big = run(16), run(32)
    assert big < 2.6 * small, (small, big)


@pytest.mark.parametrize("cls,kw,mode", [
    ("Upsample", {"scale_factor": 2, "mode": "bilinear"}, None),
    ("Upsample", {"size": (4, 9), "mode": "bilinear", "align_corners": True}, None),
    ("UpsamplingNearest2d", {"scale_factor": 3}, None),
    ("UpsamplingBilinear2d", {"size": (7, 8)}, None),
    ("Upsample", {"scale_factor": 1.5, "mode": "bicubic"}, None),
    ("Upsample", {"size": (3, 9), "mode": "bicubic", "align_corners": True}, None),
    ("Upsample", {"scale_factor": (2, 1, 3), "mode": "trilinear"}, 5),
    ("Upsample", {"size": 3, "mode": "trilinear", "align_corners": True}, 5),
])
def test_modules(cls, kw, mode):
    shape = (2, 3, 2, 4, 5) if mode == 5 else (2, 3, 4, 5)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    eo = getattr(nn, cls)(**kw)(ember.tensor(x))
    to = getattr(torch.nn, cls)(**kw)(torch.tensor(x))
    close(eo, to)


def test_errors():
    x = ember.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="exactly one of size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="4-D input, but linear mode needs 3-D"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match="size has 3 elements.*2 spatial"):
        F.interpolate(x, size=(2, 2, 2))
    with pytest.raises(NotImplementedError, match="mode 'area' is not supported"):
        F.interpolate(x, scale_factor=2, mode="area")
    with pytest.raises(NotImplementedError, match="4-D input, but trilinear mode needs 5-D"):
        F.interpolate(x, scale_factor=2, mode="trilinear")
    with pytest.raises(NotImplementedError, match="5-D input, but bicubic mode needs 4-D"):
        F.interpolate(ember.randn(1, 1, 2, 2, 2), scale_factor=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="antialias is not supported"):
        F.interpolate(x, scale_factor=2, mode="bicubic", antialias=True)
    with pytest.raises(ValueError, match=r"interpolate\(\).*non-zero channels"):
        F.interpolate(ember.randn(2, 0, 4, 4), scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="size has 2 elements.*3 spatial"):
        F.interpolate(ember.randn(1, 1, 2, 2, 2), size=(2, 2), mode="trilinear")
    assert "mode='bilinear'" in repr(nn.Upsample(scale_factor=2, mode="bilinear"))
