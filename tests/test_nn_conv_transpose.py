"""Transposed convolution against torch: F.conv_transpose1d/2d/3d (outputs and
gradients for input, weight and bias, through the CPU's fused kernels and the
decompositions, float32 and float64), nn.ConvTranspose1d/2d/3d (a torch state_dict
loads; output_size=), errors, and memory linear in the input."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.errors import OpError
from ember.nn import functional as F

from _memory import peak_bytes
from _nn_oracle import check_module, close, copy_params, path, torch  # noqa: F401

CASES_2D = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 4, 5), (4, 2, 3, 3), {"stride": (2, 3), "padding": (1, 0), "dilation": 2,
                                  "output_padding": (1, 2), "groups": 2}),
    # output_padding at least the stride (allowed under a larger dilation)
    ((2, 2, 4, 4), (2, 3, 2, 3), {"dilation": 3, "output_padding": 2, "padding": 2}),
    ((4, 5, 6), (4, 2, 3, 3), {"stride": 2}),  # unbatched
]
CASES_1D = [
    ((2, 4, 7), (4, 3, 3), {}),
    ((2, 4, 7), (4, 2, 4), {"stride": 3, "padding": 2, "output_padding": 2, "groups": 2}),
    ((4, 7), (4, 3, 2), {"dilation": 2, "stride": 2, "output_padding": 1}),
]
CASES_3D = [
    ((2, 4, 3, 4, 5), (4, 3, 2, 3, 2), {"stride": (2, 1, 2), "padding": (1, 0, 1),
                                        "output_padding": (1, 0, 1),
                                        "dilation": (1, 2, 1), "groups": 2}),
    ((1, 3, 4, 4, 4), (3, 2, 2, 2, 2), {}),
    ((3, 4, 3, 3), (3, 2, 3, 2, 2), {"padding": 1, "stride": 2}),  # unbatched
    ((2, 2, 3, 2, 3), (2, 3, 3, 2, 2), {"stride": 3, "padding": 2, "output_padding": 2}),
    # output_padding at least the stride in depth (allowed under a larger dilation)
    ((2, 2, 3, 2, 3), (2, 3, 3, 2, 2), {"dilation": 3, "padding": (4, 0, 0),
                                        "output_padding": (2, 0, 0)}),
    ((1, 2, 2, 3, 3), (2, 1, 4, 3, 3), {"stride": (3, 1, 1), "padding": (3, 1, 1),
                                        "dilation": (2, 1, 1)}),
    ((1, 2, 1, 3, 3), (2, 2, 3, 1, 1), {"padding": (1, 0, 0)}),  # taps cropped away
    ((0, 2, 3, 3, 3), (2, 3, 1, 1, 1), {}),  # empty batch
]


def _check(fn: str, xs, ws, kw, bias=True, dtype=np.float32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1)).astype(dtype)
    tol = {"rtol": 1e-10, "atol": 1e-10} if dtype == np.float64 else {}
    e = [ember.tensor(a, requires_grad=True) for a in (x, w, b)]
    t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    eo = getattr(F, fn)(e[0], e[1], e[2] if bias else None, **kw)
    to = getattr(torch.nn.functional, fn)(t[0], t[1], t[2] if bias else None, **kw)
    assert tuple(eo.shape) == tuple(to.shape)
    close(eo, to, what="forward", **tol)
    r = rng.standard_normal(tuple(to.shape)).astype(dtype)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    for name, a, c in zip(("input", "weight", "bias"), e, t, strict=True):
        if bias or name != "bias":
            close(a.grad, c.grad, what=f"grad of {name}", **tol)


@pytest.mark.parametrize("xs,ws,kw", CASES_2D, ids=str)
def test_conv_transpose2d(xs, ws, kw, path):  # noqa: F811
    _check("conv_transpose2d", xs, ws, kw)


@pytest.mark.parametrize("xs,ws,kw", CASES_1D, ids=str)
def test_conv_transpose1d(xs, ws, kw, path):  # noqa: F811
    _check("conv_transpose1d", xs, ws, kw, bias=len(xs) == 3)


@pytest.mark.parametrize("xs,ws,kw", CASES_3D, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_conv_transpose3d(xs, ws, kw, dtype, path):  # noqa: F811
    _check("conv_transpose3d", xs, ws, kw, dtype=dtype)


def test_conv_transpose3d_non_contiguous_input():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2, 2, 3, 2)).astype(np.float32)
    eo = F.conv_transpose3d(ember.tensor(x).transpose(2, 4), ember.tensor(w), stride=2)
    to = torch.nn.functional.conv_transpose3d(torch.tensor(x).transpose(2, 4),
                                              torch.tensor(w), stride=2)
    close(eo, to)


def test_double_backward():
    rng = np.random.default_rng(1)
    x, w = (rng.standard_normal(s).astype(np.float32) for s in ((1, 2, 3, 3), (2, 2, 2, 2)))
    e = [ember.tensor(a, requires_grad=True) for a in (x, w)]
    t = [torch.tensor(a, requires_grad=True) for a in (x, w)]
    ge = ember.autograd.grad(F.conv_transpose2d(*e, stride=2).square().sum(), e,
                             create_graph=True)
    gt = torch.autograd.grad(torch.nn.functional.conv_transpose2d(*t, stride=2)
                             .square().sum(), t, create_graph=True)
    sum(g.square().sum() for g in ge).backward()
    sum(g.square().sum() for g in gt).backward()
    close(e[0].grad, t[0].grad, what="input")
    close(e[1].grad, t[1].grad, what="weight")


@pytest.mark.parametrize("cls,shape,kw", [
    ("ConvTranspose2d", (2, 4, 5, 5), {"stride": 2, "padding": 1, "output_padding": 1}),
    ("ConvTranspose2d", (2, 4, 5, 5), {"groups": 2, "bias": False, "dilation": 2}),
    ("ConvTranspose1d", (2, 4, 9), {"stride": 2, "padding": 1}),
    ("ConvTranspose3d", (2, 4, 3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ("ConvTranspose3d", (4, 2, 3, 3), {"groups": 2, "bias": False, "dilation": (2, 1, 1)}),
])
def test_layers_match_torch(cls, shape, kw):
    torch.manual_seed(0)
    tmod = getattr(torch.nn, cls)(4, 6, 3, **kw)
    emod = getattr(nn, cls)(4, 6, 3, **kw)
    assert {k: tuple(v.shape) for k, v in emod.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tmod.state_dict().items()}
    copy_params(tmod, emod)
    check_module(emod, tmod, np.random.default_rng(0).standard_normal(shape)
                 .astype(np.float32))


def test_init_bounds_as_torch():
    m = nn.ConvTranspose2d(8, 4, 3)  # fan_in = weight.size(1) * 9 = 36, as PyTorch
    bound = 1 / 6
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    assert np.abs(m.weight.detach().numpy()).max() <= bound  # kaiming(a=sqrt 5): 1/sqrt(fan_in)
    assert np.abs(m.weight.detach().numpy()).max() > bound / 2


def test_output_size_argument():
    torch.manual_seed(0)
    tmod = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    emod = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    copy_params(tmod, emod)
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    eo = emod(ember.tensor(x), output_size=[8, 8])
    to = tmod(torch.tensor(x), output_size=[8, 8])
    assert tuple(eo.shape) == (1, 3, 8, 8)
    close(eo, to)
    with pytest.raises(ValueError, match="valid sizes range from 7 to 8"):
        emod(ember.tensor(x), output_size=[9, 9])


def test_errors_name_expected():
    w = ember.randn(4, 3, 3, 3)
    with pytest.raises(OpError, match="conv_transpose2d.*4 channels.*got 5"):
        F.conv_transpose2d(ember.randn(1, 5, 4, 4), w)
    with pytest.raises(OpError, match="output_padding must be smaller"):
        F.conv_transpose2d(ember.randn(1, 4, 4, 4), w, stride=2, output_padding=2)
    with pytest.raises(OpError, match="3-D .* or 4-D"):
        F.conv_transpose2d(ember.randn(4, 4), w)
    with pytest.raises(OpError, match=r"ConvTranspose1d\(4, 2.*4 channels"):
        nn.ConvTranspose1d(4, 2, 3)(ember.randn(1, 3, 5))
    with pytest.raises(ValueError, match="divisible"):
        nn.ConvTranspose2d(3, 4, 3, groups=2)
    w3 = ember.randn(4, 3, 2, 2, 2)
    with pytest.raises(OpError, match="conv_transpose3d.*4 channels.*got 5"):
        F.conv_transpose3d(ember.randn(1, 5, 2, 2, 2), w3)
    with pytest.raises(OpError, match=r"conv_transpose3d\(\): expected a 4-D .* or 5-D"):
        F.conv_transpose3d(ember.randn(4, 2, 2), w3)
    with pytest.raises(OpError, match=r"conv_transpose3d\(\): expected a 5-D weight"):
        F.conv_transpose3d(ember.randn(1, 4, 2, 2, 2), ember.randn(4, 3, 2, 2))
    with pytest.raises(OpError, match="conv_transpose3d.*output_padding must be smaller"):
        F.conv_transpose3d(ember.randn(1, 4, 2, 2, 2), w3, stride=(2, 1, 1),
                           output_padding=(0, 1, 0))
    with pytest.raises(OpError, match="conv_transpose3d.*output depth 0 is not positive"):
        F.conv_transpose3d(ember.randn(1, 4, 1, 2, 2), w3, padding=(1, 0, 0))
    with pytest.raises(ValueError, match="ConvTranspose3d: output_size must have 3 or 5"):
        nn.ConvTranspose3d(4, 3, 2)(ember.randn(1, 4, 2, 2, 2), output_size=[3, 3])


def test_conv_transpose3d_output_size():
    torch.manual_seed(0)
    tmod = torch.nn.ConvTranspose3d(2, 3, 3, stride=(2, 1, 2), padding=1)
    emod = nn.ConvTranspose3d(2, 3, 3, stride=(2, 1, 2), padding=1)
    copy_params(tmod, emod)
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4, 3)).astype(np.float32)
    eo = emod(ember.tensor(x), output_size=[6, 4, 6])
    to = tmod(torch.tensor(x), output_size=[6, 4, 6])
    assert tuple(eo.shape) == (1, 3, 6, 4, 6)
    close(eo, to)


@pytest.mark.parametrize("backward", [False, True])
def test_memory_linear_in_input(backward, path):  # noqa: F811
    """Doubling the height doubles the peak: no (in x out)-sized scatter matrix."""
    def run(h):
        x = ember.randn(1, 4, h, 16, requires_grad=backward)
        w = ember.randn(4, 4, 3, 3, requires_grad=backward)

        def fn():
            y = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
            if backward:
                y.sum().backward()
        return peak_bytes(fn)
    small, big = run(32), run(64)
    assert big < 2.6 * small, (small, big)


@pytest.mark.parametrize("backward", [False, True])
def test_memory_linear_in_input_3d(backward):
    """Doubling the depth doubles the peak of the 3-D form too (kD output-sized terms,
    no scatter matrix)."""
    def run(depth):
        x = ember.randn(1, 2, depth, 8, 8, requires_grad=backward)
        w = ember.randn(2, 2, 3, 3, 3, requires_grad=backward)

        def fn():
            y = F.conv_transpose3d(x, w, stride=2, padding=1, output_padding=1)
            if backward:
                y.sum().backward()
        return peak_bytes(fn)
    small, big = run(16), run(32)
    assert big < 2.6 * small, (small, big)
