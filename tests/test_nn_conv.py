"""Convolution layers' ``padding_mode`` ('reflect', 'replicate', 'circular') and
``conv3d``/``Conv3d`` against torch.nn: outputs, input and parameter gradients, through
the fused kernels and the decompositions, batched and unbatched, float32 and float64,
'same' padding included; errors; memory linear in the input."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.errors import OpError
from ember.nn import functional as F

from _memory import peak_bytes
from _nn_oracle import check_module, close, copy_params, path, torch  # noqa: F401

tnn = torch.nn
MODES = ["reflect", "replicate", "circular"]


def _pair(name: str, *args, dtype=None, **kwargs):
    torch.manual_seed(0)
    t = getattr(tnn, name)(*args, **kwargs)
    e = getattr(nn, name)(*args, **kwargs)
    if dtype == np.float64:
        t, e = t.double(), e.double()
    copy_params(t, e)
    return e, t


CASES = [
    ("Conv1d", (4, 6, 3), {"padding": 2}, (2, 4, 7)),
    ("Conv1d", (4, 6, 3), {"padding": 1, "stride": 2, "dilation": 2, "groups": 2},
     (2, 4, 9)),
    ("Conv1d", (2, 3, 4), {"padding": "same"}, (3, 2, 6)),  # uneven: one more right
    ("Conv1d", (2, 3, 3), {"padding": 1}, (2, 5)),  # unbatched
    ("Conv2d", (3, 4, 3), {"padding": 1}, (2, 3, 5, 6)),
    ("Conv2d", (2, 4, (3, 2)), {"padding": (2, 1), "stride": (2, 1)}, (2, 2, 6, 5)),
    ("Conv2d", (2, 2, (2, 3)), {"padding": "same", "dilation": (2, 1)}, (1, 2, 5, 5)),
    ("Conv2d", (2, 3, 3), {"padding": "valid"}, (2, 5, 5)),
    ("Conv3d", (2, 4, 3), {"padding": 1}, (2, 2, 4, 5, 3)),
    ("Conv3d", (4, 2, (2, 3, 1)), {"padding": (1, 2, 0), "stride": (2, 1, 1),
                                   "groups": 2}, (1, 4, 5, 4, 3)),
    ("Conv3d", (2, 3, 2), {"padding": "same"}, (2, 3, 4, 3)),  # unbatched, uneven
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,args,kw,shape", CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_padding_mode_matches_torch(path, mode, name, args, kw, shape, dtype):  # noqa: F811
    e, t = _pair(name, *args, padding_mode=mode, dtype=dtype, **kw)
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    tol = {"rtol": 1e-10, "atol": 1e-10} if dtype == np.float64 else {}
    check_module(e, t, x, **tol)


def test_padding_mode_non_contiguous_input():
    e, t = _pair("Conv2d", 2, 3, 3, padding=2, padding_mode="circular")
    x = np.random.default_rng(2).standard_normal((2, 2, 6, 5)).astype(np.float32)
    eo = e(ember.tensor(x).transpose(-1, -2))
    to = t(torch.tensor(x).transpose(-1, -2))
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_padding_mode_empty_batch():
    e, t = _pair("Conv2d", 2, 3, 3, padding=1, padding_mode="reflect")
    assert tuple(e(ember.zeros(0, 2, 4, 4)).shape) == tuple(t(torch.zeros(0, 2, 4, 4)).shape)


def test_padding_mode_repr_and_errors():
    m = nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect")
    assert repr(m) == repr(tnn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of .*'wrap'"):
        nn.Conv2d(2, 3, 3, padding_mode="wrap")
    # reflect needs a padding smaller than the input: the layer and pad() say so
    with pytest.raises(ValueError, match=r"Conv1d\(.*padding_mode=reflect\): got input "
                                         r"of shape \[1, 2, 4\].*pad\(\): mode 'reflect'"):
        nn.Conv1d(2, 3, 3, padding=4, padding_mode="reflect")(ember.randn(1, 2, 4))
    with pytest.raises(ValueError, match="only padding_mode='zeros' is supported"):
        nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")


CONV3D = [
    ((2, 4, 5, 6, 7), (6, 2, 3, 2, 3), {"stride": (2, 1, 2), "padding": (1, 0, 1),
                                        "dilation": (1, 2, 1), "groups": 2}),
    ((1, 3, 4, 4, 4), (2, 3, 2, 2, 2), {}),
    ((3, 4, 4, 4), (2, 3, 2, 2, 2), {"padding": 1}),  # unbatched
    ((2, 2, 5, 4, 3), (3, 2, 3, 1, 2), {"padding": "same"}),
    ((2, 2, 5, 4, 3), (3, 2, 2, 3, 2), {"padding": "same", "dilation": (2, 1, 1)}),
    ((1, 2, 7, 3, 3), (4, 2, 3, 3, 3), {"stride": 3, "padding": (2, 1, 1)}),
    ((2, 2, 3, 3, 3), (2, 2, 3, 3, 3), {"padding": "valid"}),
    ((0, 2, 3, 3, 3), (3, 2, 1, 1, 1), {}),  # empty batch
]


@pytest.mark.parametrize("xs,ws,kw", CONV3D, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # (torch's, about its copy)
def test_conv3d_matches_torch(xs, ws, kw, dtype, path):  # noqa: F811
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (xs, ws, ws[:1])]
    e = [ember.tensor(a, requires_grad=True) for a in arrays]
    t = [torch.tensor(a, requires_grad=True) for a in arrays]
    eo, to = F.conv3d(*e, **kw), torch.nn.functional.conv3d(*t, **kw)
    assert tuple(eo.shape) == tuple(to.shape)
    tol = {"rtol": 1e-10, "atol": 1e-10} if dtype == np.float64 else {}
    close(eo, to, what="forward", **tol)
    r = rng.standard_normal(tuple(to.shape)).astype(dtype)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    for name, a, b in zip(("input", "weight", "bias"), e, t, strict=True):
        close(a.grad, b.grad, what=f"grad of {name}", **tol)


def test_conv3d_layer_state_dict_and_non_contiguous_input():
    e, t = _pair("Conv3d", 2, 4, (3, 2, 2), stride=2, bias=False)
    assert {k: tuple(v.shape) for k, v in e.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t.state_dict().items()}
    x = np.random.default_rng(4).standard_normal((2, 2, 5, 6, 7)).astype(np.float32)
    close(e(ember.tensor(x).transpose(2, 4)), t(torch.tensor(x).transpose(2, 4)))
    assert repr(e) == repr(t)


def test_conv3d_errors():
    w = ember.randn(4, 3, 2, 2, 2)
    with pytest.raises(OpError, match=r"conv3d\(\): expected a 4-D .* or 5-D .* got "
                                      r"shape \[3, 4, 4\]"):
        F.conv3d(ember.randn(3, 4, 4), w)
    with pytest.raises(OpError, match=r"conv3d\(\): expected a 5-D weight"):
        F.conv3d(ember.randn(1, 3, 4, 4, 4), ember.randn(4, 3, 2, 2))
    with pytest.raises(OpError, match="conv3d.*3 channels .* but got 5 channels"):
        F.conv3d(ember.randn(1, 5, 4, 4, 4), w)
    with pytest.raises(OpError, match="conv3d.*depth of the input after padding \\(1\\)"
                                      " is smaller than the dilated kernel \\(2\\)"):
        F.conv3d(ember.randn(1, 3, 1, 4, 4), w)
    with pytest.raises(OpError, match="conv3d.*bias of shape \\[4\\]"):
        F.conv3d(ember.randn(1, 3, 4, 4, 4), w, ember.randn(3))
    with pytest.raises(OpError, match="conv3d.*out_channels \\(4\\) must be divisible"):
        F.conv3d(ember.randn(1, 3, 4, 4, 4), w, groups=3)
    with pytest.raises(ValueError, match="conv3d.*padding='same' is not supported for "
                                         "strided"):
        F.conv3d(ember.randn(1, 3, 4, 4, 4), w, stride=2, padding="same")
    with pytest.raises(OpError, match=r"Conv3d\(3, 4, .*\): got input of shape "
                                      r"\[1, 2, 4, 4, 4\]"):
        nn.Conv3d(3, 4, 2)(ember.randn(1, 2, 4, 4, 4))


@pytest.mark.parametrize("backward", [False, True])
def test_conv3d_memory_linear_in_input(backward):
    """Doubling the depth doubles the peak (kD stacked planes, no dense matrix)."""
    def run(depth):
        x = ember.randn(1, 2, depth, 8, 8, requires_grad=backward)
        w = ember.randn(3, 2, 3, 3, 3, requires_grad=backward)

        def fn():
            y = F.conv3d(x, w, padding=1)
            if backward:
                y.sum().backward()
        return peak_bytes(fn)
    small, big = run(16), run(32)
    assert big < 2.6 * small, (small, big)
