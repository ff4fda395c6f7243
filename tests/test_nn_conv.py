"""Convolution layers' ``padding_mode`` ('reflect', 'replicate', 'circular') against
torch.nn: outputs, input and parameter gradients, through the fused kernels and the
decompositions, batched and unbatched, float32 and float64, 'same' padding included."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn

from _nn_oracle import check_module, copy_params, path, torch  # noqa: F401

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
