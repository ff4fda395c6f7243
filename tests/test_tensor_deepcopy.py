"""``copy.deepcopy`` of tensors and modules, as PyTorch's."""

import copy

import numpy as np
import pytest

import ember
import ember.nn as nn


def test_deepcopy_of_a_leaf_copies_its_data_flag_and_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.is_leaf and y.grad_fn is None
    assert y.grad is not None and y.grad is not x.grad
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])
    with ember.no_grad():
        y.add_(1.0)
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])  # its own data


def test_deepcopy_keeps_dtype_device_and_shared_references():
    x = ember.arange(6, dtype=ember.int32).reshape(2, 3)
    a, b = copy.deepcopy([x, x])
    assert a is b and a.dtype == ember.int32 and a.device == x.device
    np.testing.assert_array_equal(a.numpy(), x.numpy())


def test_deepcopy_of_a_computed_tensor_refuses_as_pytorchs():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


def test_deepcopy_of_a_module_gives_independent_parameters():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    c = copy.deepcopy(m)
    params = list(c.parameters())
    assert len(params) == len(list(m.parameters()))
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    for (k, v), (k2, v2) in zip(m.state_dict().items(), c.state_dict().items(), strict=True):
        assert k == k2 and v is not v2
        np.testing.assert_array_equal(v.numpy(), v2.numpy())
    with ember.no_grad():
        params[0].zero_()
    assert float(m[0].weight.abs().sum()) > 0  # the original is untouched
    x = ember.randn(5, 3)
    c.train(False)
    assert c(x).shape == (5, 2)
