"""Every layer against torch.nn with identical weights: outputs, input gradients and
parameter gradients, through the CPU's fused kernels and through the decompositions."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn

from _nn_oracle import check_module, close, copy_params, path, torch  # noqa: F401

tnn = torch.nn
pytestmark = pytest.mark.torch


def rand(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def pair(ember_cls, torch_cls, *args, **kwargs):
    torch.manual_seed(0)
    t = torch_cls(*args, **kwargs)
    e = ember_cls(*args, **kwargs)
    copy_params(t, e)
    return e, t


LAYERS = [
    ("linear", lambda: pair(nn.Linear, tnn.Linear, 5, 3), [(4, 5)]),
    ("linear-nobias-3d", lambda: pair(nn.Linear, tnn.Linear, 5, 3, bias=False), [(2, 4, 5)]),
    ("linear-1d-input", lambda: pair(nn.Linear, tnn.Linear, 5, 3), [(5,)]),
    ("conv1d", lambda: pair(nn.Conv1d, tnn.Conv1d, 4, 6, 3, stride=2, padding=1,
                            dilation=2, groups=2), [(2, 4, 11)]),
    ("conv2d", lambda: pair(nn.Conv2d, tnn.Conv2d, 3, 4, 3, padding=1), [(2, 3, 7, 6)]),
    ("conv2d-strided-dilated-grouped",
     lambda: pair(nn.Conv2d, tnn.Conv2d, 4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                  dilation=(1, 2), groups=2), [(2, 4, 9, 8)]),
    ("conv2d-unbatched", lambda: pair(nn.Conv2d, tnn.Conv2d, 2, 3, 2), [(2, 5, 5)]),
    ("conv2d-same", lambda: pair(nn.Conv2d, tnn.Conv2d, 2, 3, 4, padding="same"),
     [(1, 2, 6, 6)]),
    ("maxpool2d", lambda: pair(nn.MaxPool2d, tnn.MaxPool2d, 2), [(2, 3, 6, 6)]),
    ("maxpool2d-pad-ceil", lambda: pair(nn.MaxPool2d, tnn.MaxPool2d, 3, 2, 1,
                                        ceil_mode=True), [(2, 3, 8, 7)]),
    ("maxpool2d-dilation", lambda: pair(nn.MaxPool2d, tnn.MaxPool2d, 2, 1, 0, 2),
     [(1, 2, 6, 6)]),
    ("avgpool2d", lambda: pair(nn.AvgPool2d, tnn.AvgPool2d, 2), [(2, 3, 6, 6)]),
    ("avgpool2d-pad", lambda: pair(nn.AvgPool2d, tnn.AvgPool2d, 3, 2, 1), [(2, 3, 7, 7)]),
    ("avgpool2d-exclude-pad-ceil",
     lambda: pair(nn.AvgPool2d, tnn.AvgPool2d, 3, 2, 1, ceil_mode=True,
                  count_include_pad=False), [(1, 2, 8, 6)]),
    ("adaptive-avgpool-even", lambda: pair(nn.AdaptiveAvgPool2d, tnn.AdaptiveAvgPool2d, 2),
     [(2, 3, 6, 4)]),
    ("adaptive-avgpool-uneven",
     lambda: pair(nn.AdaptiveAvgPool2d, tnn.AdaptiveAvgPool2d, (3, 2)), [(2, 3, 7, 5)]),
    ("batchnorm1d", lambda: pair(nn.BatchNorm1d, tnn.BatchNorm1d, 4), [(8, 4)]),
    ("batchnorm1d-3d", lambda: pair(nn.BatchNorm1d, tnn.BatchNorm1d, 4), [(3, 4, 5)]),
    ("batchnorm2d", lambda: pair(nn.BatchNorm2d, tnn.BatchNorm2d, 3), [(4, 3, 5, 5)]),
    ("layernorm", lambda: pair(nn.LayerNorm, tnn.LayerNorm, (4, 5)), [(3, 4, 5)]),
    ("groupnorm", lambda: pair(nn.GroupNorm, tnn.GroupNorm, 2, 6), [(3, 6, 4, 2)]),
    ("embedding-padding", lambda: pair(nn.Embedding, tnn.Embedding, 10, 4, padding_idx=1),
     [np.array([[1, 2, 3], [4, 1, 9]])]),
    ("flatten", lambda: pair(nn.Flatten, tnn.Flatten), [(2, 3, 4, 5)]),
    ("relu", lambda: pair(nn.ReLU, tnn.ReLU), [(3, 7)]),
    ("leaky-relu", lambda: pair(nn.LeakyReLU, tnn.LeakyReLU, 0.2), [(3, 7)]),
    ("gelu", lambda: pair(nn.GELU, tnn.GELU), [(3, 7)]),
    ("gelu-tanh", lambda: pair(nn.GELU, tnn.GELU, "tanh"), [(3, 7)]),
    ("silu", lambda: pair(nn.SiLU, tnn.SiLU), [(3, 7)]),
    ("sigmoid", lambda: pair(nn.Sigmoid, tnn.Sigmoid), [(3, 7)]),
    ("tanh", lambda: pair(nn.Tanh, tnn.Tanh), [(3, 7)]),
    ("softmax", lambda: pair(nn.Softmax, tnn.Softmax, 1), [(3, 7)]),
    ("log-softmax", lambda: pair(nn.LogSoftmax, tnn.LogSoftmax, -1), [(2, 3, 7)]),
    ("dropout-eval", lambda: tuple(m.eval() for m in pair(nn.Dropout, tnn.Dropout, 0.5)),
     [(4, 5)]),
]


@pytest.mark.parametrize("name,make,shapes", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(name, make, shapes, path):  # noqa: F811
    e, t = make()
    inputs = [s if isinstance(s, np.ndarray) else rand(*s, seed=i)
              for i, s in enumerate(shapes)]
    check_module(e, t, *inputs)


def test_batchnorm_running_stats_and_eval(path):  # noqa: F811
    e, t = pair(nn.BatchNorm2d, tnn.BatchNorm2d, 3, momentum=0.3)
    for i in range(3):
        x = rand(4, 3, 5, 5, seed=i) * 2 + 1
        close(e(ember.tensor(x)), t(torch.tensor(x)))
    close(e.running_mean, t.running_mean)
    close(e.running_var, t.running_var)
    assert int(e.num_batches_tracked.item()) == int(t.num_batches_tracked.item()) == 3
    e.eval()
    t.eval()
    check_module(e, t, rand(2, 3, 5, 5, seed=9))


def test_batchnorm_cumulative_average():
    e, t = pair(nn.BatchNorm1d, tnn.BatchNorm1d, 2, momentum=None)
    for i in range(3):
        x = rand(6, 2, seed=i)
        e(ember.tensor(x))
        t(torch.tensor(x))
    close(e.running_mean, t.running_mean)
    close(e.running_var, t.running_var)


def test_batchnorm_needs_more_than_one_value():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ember.OpError, match="more than 1 value per channel"):
        bn(ember.randn(1, 3))


def test_multihead_attention_matches_torch(path):  # noqa: F811
    torch.manual_seed(0)
    t = tnn.MultiheadAttention(8, 2, batch_first=True)
    e = nn.MultiheadAttention(8, 2, batch_first=True)
    copy_params(t, e)
    q, k = rand(2, 3, 8, seed=1), rand(2, 5, 8, seed=2)
    mask = np.zeros((3, 5), dtype=bool)
    mask[:, -1] = True
    kpm = np.zeros((2, 5), dtype=bool)
    kpm[1, 0] = True
    eo, ew = e(ember.tensor(q), ember.tensor(k), ember.tensor(k),
               key_padding_mask=ember.tensor(kpm), attn_mask=ember.tensor(mask))
    to, tw = t(torch.tensor(q), torch.tensor(k), torch.tensor(k),
               key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(mask))
    close(eo, to)
    close(ew, tw)
    # need_weights=False goes through scaled_dot_product_attention
    eo2, none = e(ember.tensor(q), ember.tensor(k), ember.tensor(k), need_weights=False,
                  attn_mask=ember.tensor(mask))
    to2, _ = t(torch.tensor(q), torch.tensor(k), torch.tensor(k), need_weights=False,
               attn_mask=torch.tensor(mask))
    assert none is None
    close(eo2, to2)


def test_multihead_attention_sequence_first_and_grads():
    torch.manual_seed(0)
    t = tnn.MultiheadAttention(4, 2)
    e = nn.MultiheadAttention(4, 2)
    copy_params(t, e)

    class Self(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x, x, x, is_causal=False)[0]

    class TSelf(tnn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x, x, x)[0]
    check_module(Self(e), TSelf(t), rand(5, 2, 4))


def test_dropout_training_statistics():
    d = nn.Dropout(0.25)
    x = ember.ones(200, 200)
    y = d(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert d.eval()(x) is x


def test_dropout_is_reproducible_with_seed():
    ember.manual_seed(3)
    a = nn.functional.dropout(ember.ones(50), 0.5).numpy()
    ember.manual_seed(3)
    b = nn.functional.dropout(ember.ones(50), 0.5).numpy()
    np.testing.assert_array_equal(a, b)


def test_embedding_padding_row_starts_at_zero_and_gets_no_grad():
    e = nn.Embedding(5, 3, padding_idx=0)
    assert not np.any(e.weight.detach().numpy()[0])
    e(ember.tensor([0, 1, 0])).sum().backward()
    g = e.weight.grad.numpy()
    assert not np.any(g[0]) and np.all(g[1] == 1)


def test_sdpa_causal_matches_torch(path):  # noqa: F811
    q, k, v = rand(2, 3, 4, 8, seed=1), rand(2, 3, 4, 8, seed=2), rand(2, 3, 4, 6, seed=3)
    eo = nn.functional.scaled_dot_product_attention(ember.tensor(q), ember.tensor(k),
                                                    ember.tensor(v), is_causal=True)
    to = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), torch.tensor(v), is_causal=True)
    close(eo, to)


@pytest.mark.parametrize("layer,x,pattern", [
    (lambda: nn.Linear(4, 3), (2, 5),
     r"Linear\(in_features=4, out_features=3, bias=True\): got input of shape \[2, 5\]"),
    (lambda: nn.Conv2d(3, 4, 3), (1, 2, 5, 5),
     r"Conv2d\(3, 4, .*\): got input of shape \[1, 2, 5, 5\].*3 channels"),
    (lambda: nn.LayerNorm(4), (2, 5), r"LayerNorm\(\(4,\).*normalized_shape=\[4\]"),
    (lambda: nn.BatchNorm2d(3), (2, 3), r"BatchNorm2d\(3.*expected 4D input \(got 2D"),
    (lambda: nn.MaxPool2d(2), (4,), r"MaxPool2d\(.*3-D \(C, H, W\) or 4-D"),
])
def test_layers_name_themselves_and_shapes_in_errors(layer, x, pattern):
    with pytest.raises(ember.OpError, match=pattern):
        layer()(ember.randn(*x))


def test_conv_constructor_validation():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 3, 3, stride=2, padding="same")


def test_linear_init_matches_pytorch_bounds():
    lin = nn.Linear(100, 50)
    w = lin.weight.detach().numpy()
    bound = 1 / np.sqrt(100)
    assert w.min() >= -bound and w.max() <= bound and w.std() > bound / 3


def _reference_available() -> bool:
    try:
        return ember.is_available("reference")
    except Exception:
        return False


@pytest.mark.skipif(not _reference_available(),
                    reason="the ember-reference backend (array-api-strict) is not installed")
def test_training_on_a_primitives_only_backend_matches_cpu():
    """The 'reference' backend implements primitives only: every nn op, backward op and
    optimizer update runs there through its decomposition, and must agree with the CPU's
    fused kernels."""
    def run(device):
        ember.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(3 * 2 * 2, 3), nn.LayerNorm(3))
        m.to(device)
        opt = ember.optim.Adam(m.parameters(), lr=0.01)
        x = ember.tensor(rand(4, 1, 4, 4), device=device)
        y = ember.tensor([0, 1, 2, 0], device=device)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x), y, label_smoothing=0.1)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().cpu().numpy() for p in m.parameters()]
    cpu_losses, cpu_params = run("cpu")
    ref_losses, ref_params = run("reference")
    np.testing.assert_allclose(ref_losses, cpu_losses, rtol=1e-5)
    for a, b in zip(ref_params, cpu_params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_meta_device_shapes_without_data():
    m = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                      nn.Flatten(), nn.Linear(16, 5))
    m.to("meta")
    out = m(ember.empty(7, 1, 9, 9, device="meta"))
    assert out.is_meta and out.shape == (7, 5)
    with pytest.raises(ember.OpError, match="expected input of shape"):
        m(ember.empty(7, 2, 9, 9, device="meta"))


def test_max_pool_ties_send_the_gradient_to_the_first_maximum(path):  # noqa: F811
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 1.0  # a tie inside the first window, zeros elsewhere
    e, t = pair(nn.MaxPool2d, tnn.MaxPool2d, 2)
    check_module(e, t, x)
    e, t = pair(nn.MaxPool2d, tnn.MaxPool2d, 3, 1, 1)  # overlapping windows
    check_module(e, t, x)
