"""F.interpolate and nn.Upsample against torch: outputs (the same pixels picked) and
input gradients, for size= and scale_factor=, align_corners both ways, 3-D and 4-D."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

from _nn_oracle import close, torch

CASES = [
    ((2, 3, 5), {"scale_factor": 2}),
    ((2, 3, 5), {"size": 8}),
    ((2, 3, 7), {"size": 3}),
    ((2, 3, 5, 7), {"scale_factor": 2}),
    ((2, 3, 5, 7), {"scale_factor": 3}),
    ((2, 3, 5, 7), {"size": (3, 11)}),
    ((1, 2, 6, 6), {"scale_factor": (0.6, 2.3)}),
    ((1, 2, 6, 6), {"scale_factor": 1.7, "recompute_scale_factor": True}),
    ((1, 2, 10, 3), {"scale_factor": 2.05}),  # 2x the size, scale not 2: PyTorch's shortcut
    ((1, 2, 5, 5), {"scale_factor": 1.1}),  # the same size
    ((1, 1, 1, 4), {"size": (3, 1)}),
]
MODES = {3: ["nearest", "nearest-exact", "linear"], 4: ["nearest", "nearest-exact",
                                                       "bilinear"]}


def _params():
    for shape, kw in CASES:
        for mode in MODES[len(shape)]:
            corners = [None] if mode.startswith("nearest") else [False, True]
            for ac in corners:
                yield shape, dict(kw, mode=mode, align_corners=ac)


@pytest.mark.parametrize("shape,kw", list(_params()), ids=str)
def test_interpolate_matches_torch(shape, kw):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    eo, to = F.interpolate(e, **kw), torch.nn.functional.interpolate(t, **kw)
    assert tuple(eo.shape) == tuple(to.shape)
    close(eo, to, what="forward")
    r = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    close(e.grad, t.grad, what="grad")
    assert eo is not e  # a new tensor even when the size is unchanged


def test_nearest_keeps_integer_dtype():
    x = np.arange(12, dtype=np.int64).reshape(1, 1, 3, 4)
    out = F.interpolate(ember.tensor(x), scale_factor=2)
    assert out.dtype == ember.int64
    # (torch has no int64 nearest kernel: its float result, which is exact here)
    want = torch.nn.functional.interpolate(torch.tensor(x, dtype=torch.float32),
                                           scale_factor=2)
    np.testing.assert_array_equal(out.numpy(), want.numpy().astype(np.int64))


@pytest.mark.parametrize("cls,kw,mode", [
    ("Upsample", {"scale_factor": 2, "mode": "bilinear"}, None),
    ("Upsample", {"size": (4, 9), "mode": "bilinear", "align_corners": True}, None),
    ("UpsamplingNearest2d", {"scale_factor": 3}, None),
    ("UpsamplingBilinear2d", {"size": (7, 8)}, None),
])
def test_modules(cls, kw, mode):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32)
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
    with pytest.raises(NotImplementedError, match="mode 'bicubic' is not supported"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    assert "mode='bilinear'" in repr(nn.Upsample(scale_factor=2, mode="bilinear"))
