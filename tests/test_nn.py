"""The Module system: registration, iteration, modes, device/dtype moves, state dicts
(strict loading with clear errors), zero_grad, apply, hooks and containers."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("scale", ember.ones(2))
        self.register_buffer("cache", ember.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(nn.functional.relu(self.bn(self.fc1(x)))) * self.scale


def test_registration_and_iteration_order():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == [
        "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_buffers()] == [
        "scale", "cache", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [n for n, _ in m.named_children()] == ["fc1", "bn", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "bn", "fc2"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    assert not isinstance(m.scale, nn.Parameter)


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2


def test_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        m.weight = ember.zeros(2, 2)
    m.bias = None
    assert "bias" not in dict(m.named_parameters())
    m.extra = nn.Parameter(ember.zeros(1))
    assert "extra" in dict(m.named_parameters())
    del m.extra
    assert "extra" not in dict(m.named_parameters())
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("in_features", ember.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_train_eval_propagate():
    m = Net()
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_state_dict_keys_and_roundtrip():
    a, b = Net(), Net()
    sd = a.state_dict()
    # PyTorch's order: a module's own parameters, then its buffers, then its children.
    assert list(sd) == ["scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                        "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
                        "fc2.weight", "fc2.bias"]
    assert "cache" not in sd  # non-persistent
    assert not any(t.requires_grad for t in sd.values())
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = ember.randn(5, 4)
    a.eval()
    b.eval()
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())


def test_load_state_dict_strict_errors_leave_module_unchanged():
    m = Net()
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    sd = Net().state_dict()
    del sd["fc2.bias"]
    sd["fc3.weight"] = ember.zeros(1)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    msg = str(e.value)
    assert "Error(s) in loading state_dict for Net" in msg
    assert 'Missing key(s) in state_dict: "fc2.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "fc3.weight"' in msg
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    res = m.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc2.bias"] and res.unexpected_keys == ["fc3.weight"]


def test_load_state_dict_shape_mismatch():
    m = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with "
                                           r"shape \[2, 4\] from checkpoint, the shape in "
                                           r"current model is \[2, 3\]"):
        m.load_state_dict({"weight": ember.zeros(2, 4), "bias": ember.zeros(2)})
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


def test_load_state_dict_keeps_parameter_identity():
    m = nn.Linear(2, 2)
    w = m.weight
    m.load_state_dict({"weight": ember.ones(2, 2), "bias": ember.zeros(2)})
    assert m.weight is w
    np.testing.assert_array_equal(w.detach().numpy(), np.ones((2, 2)))


def test_to_dtype_keeps_parameters_and_skips_integer_buffers():
    m = Net()
    p = m.fc1.weight
    m.to(ember.float64)
    assert m.fc1.weight is p and p.dtype is ember.float64
    assert m.bn.num_batches_tracked.dtype is ember.int64
    assert m(ember.randn(3, 4, dtype=ember.float64)).dtype is ember.float64
    m.float()
    assert p.dtype is ember.float32
    assert m.to("cpu") is m


def test_zero_grad_and_requires_grad_():
    m = nn.Linear(3, 1)
    m(ember.randn(2, 3)).sum().backward()
    assert m.weight.grad is not None
    m.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(m.weight.grad.numpy(), 0)
    m.zero_grad()
    assert m.weight.grad is None
    m.requires_grad_(False)
    assert not m.weight.requires_grad


def test_apply_visits_children_first():
    seen = []
    Net().apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "BatchNorm1d", "Linear", "Net"]


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    out = m(ember.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(),
                               np.broadcast_to(m.bias.detach().numpy() + 1, (3, 2)), rtol=1e-6)
    assert calls == [(3, 2)]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(m(ember.ones(1, 2)).detach().numpy(),
                               (m.weight.sum(1) + m.bias).detach().numpy()[None], rtol=1e-6)


def test_repr():
    r = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert r == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                 "  (1): ReLU()\n)")


def test_sequential_indexing():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear)
    assert len(s[:2]) == 2 and isinstance(s[:2], nn.Sequential)
    with pytest.raises(IndexError, match="out of range"):
        s[3]
    s.append(nn.Tanh())
    assert s(ember.randn(4, 2)).shape == (4, 1)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    del ml[0]
    assert len(ml) == 3 and [n for n, _ in ml.named_children()] == ["0", "1", "2"]
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    md.pop("a")
    assert len(list(md.parameters())) == 0


def test_parameter_is_a_tensor():
    p = nn.Parameter(ember.ones(2))
    assert isinstance(p, ember.Tensor) and isinstance(p, nn.Parameter) and p.requires_grad
    assert not isinstance(p.detach(), nn.Parameter)
    frozen = nn.Parameter(ember.ones(2), requires_grad=False)
    assert not frozen.requires_grad
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.Parameter([1.0])


def test_init_functions():
    w = ember.empty(64, 32)
    nn.init.xavier_uniform_(w)
    b = np.sqrt(6 / 96)
    assert np.abs(w.numpy()).max() <= b
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - np.sqrt(2 / 32)) < 0.05
    nn.init.constant_(w, 0.5)
    assert np.all(w.numpy() == 0.5)
    nn.init.trunc_normal_(w, std=2.0, a=-1.0, b=1.0)
    assert np.abs(w.numpy()).max() <= 1.0
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(np.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


def test_init_is_reproducible():
    ember.manual_seed(5)
    a = nn.Linear(4, 4).weight.detach().numpy().copy()
    ember.manual_seed(5)
    b = nn.Linear(4, 4).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)
