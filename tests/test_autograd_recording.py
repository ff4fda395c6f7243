"""Recording (ember.autograd.recording): one node per user-visible op, the Autograd
kernel prebuilt per op and backend (and what must still take the general path), and
the recorder generated per derivative."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import dispatch
from ember.autograd.recording import autograd_kernel
from ember.schema import registry


def leaf(values, device="cpu"):
    return ember.tensor(np.asarray(values, dtype=np.float64), dtype=ember.float64,
                        device=device, requires_grad=True)


def _usable(device: str) -> bool:
    try:
        ember.zeros(1, device=device)
        return True
    except Exception:  # the plugin is missing or has no device here
        return False


def graph_nodes(t) -> list:
    """Every node reachable from ``t.grad_fn`` but the leaves' AccumulateGrad."""
    seen, stack, out = set(), [t.grad_fn], []
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        if type(n).__name__ != "AccumulateGrad":
            out.append(n)
        stack.extend(fn for fn, _ in n.next_functions)
    return out


@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_view_records_one_node_of_its_own(device):
    if not _usable(device):
        pytest.skip(f"no usable '{device}' device")
    a = leaf(np.arange(6.0), device)
    v = a.view(2, 3)
    nodes = graph_nodes(v)
    assert [type(n).__name__ for n in nodes] == ["ViewBackward0"]
    assert v.grad_fn.next_functions[0][0] is a.grad_fn or \
        type(v.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"
    assert v._base is a and v._version == a._version
    (v * ember.tensor([[1.0, 2.0, 3.0]] * 2, dtype=ember.float64, device=device)).sum() \
        .backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), [1, 2, 3, 1, 2, 3])


def test_view_shares_the_version_counter_and_detects_in_place_changes():
    a = leaf([1.0, 2.0, 3.0, 4.0])
    b = a * 1
    v = b.view(2, 2)
    y = (v * v).sum()  # mul saves v
    b.add_(1)  # changes v's memory
    assert v._version == b._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_view_double_backward():
    a = leaf([1.0, 2.0, 3.0, 4.0])
    y = (a.view(2, 2) ** 3).sum()
    (g,) = ember.autograd.grad(y, a, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([1, 4, 9, 16.0]))
    (gg,) = ember.autograd.grad(g.sum(), a)
    np.testing.assert_allclose(gg.numpy(), 6 * np.array([1, 2, 3, 4.0]))


def test_view_runs_the_backends_reshape_kernel_where_it_has_no_view_kernel():
    """No second dispatch: ``view`` is one boxed kernel (reshape's native kernel), not
    a decomposition that calls ``reshape``."""
    if not _usable("reference"):
        pytest.skip("no usable 'reference' device")
    k = dispatch.backend_kernel(registry["view"], "reference")
    assert k.how == "native" and not k.reentrant
    assert dispatch.how_implemented(registry["view"], "reference") == "native"
    with pytest.raises(ember.errors.OpError, match=r"view\(\)"):
        ember.zeros(6, device="reference").view(4)  # the error names view, not reshape


def test_one_node_per_op_and_inner_ops_of_a_composite_with_a_derivative_do_not_record():
    a, b = leaf([1.0, -2.0]), leaf([3.0, 4.0])
    assert len(graph_nodes(a + b)) == 1
    assert len(graph_nodes(a[1])) == 1
    # linear has its own derivative; its decomposition (on backends without a kernel)
    # and any inner ops run with recording off
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    out = ember.nn.functional.linear(a.view(1, 2), w)
    assert [type(n).__name__ for n in graph_nodes(out)] == ["LinearBackward0",
                                                          "ViewBackward0"]


def test_the_prebuilt_autograd_kernel_is_kept_on_the_boxed_kernel():
    od = registry["neg"]
    dispatch.clear_cache(od)
    a = leaf([1.0, 2.0])
    (-a).sum().backward()  # the first call goes through the dispatcher
    k = dispatch.backend_kernel(od, "cpu")
    assert k.autograd is not None
    y = -a  # later calls: the entry point's fast path
    assert type(y.grad_fn).__name__ == "NegBackward0"
    np.testing.assert_allclose(a.grad.numpy(), [-1.0, -1.0])


def test_an_ops_own_autograd_kernel_is_not_bypassed():
    od = registry["neg"]
    calls = []

    def mine(od, dev, args):
        calls.append(od.name)
        return autograd_kernel(od, dev, args)
    a = leaf([1.0, 2.0])
    assert (-a).requires_grad  # builds the prebuilt kernel for the fallback
    dispatch.register_kernel("neg", "Autograd", mine)
    try:
        for _ in range(2):
            y = -a
            assert y.requires_grad
        assert calls == ["neg", "neg"]
        assert dispatch.backend_kernel(od, "cpu").autograd is None
    finally:
        od.kernels.pop("Autograd")
        dispatch.clear_cache(od)


def test_keys_above_autograd_still_see_every_call():
    """A functionality key above Autograd (a tracer) is not skipped by the prebuilt
    kernel, and recording still happens below it."""
    a = leaf([1.0, 2.0])
    (a * 2).sum()  # prebuilt kernels exist
    seen = []
    old = dispatch._fallbacks.get("Tracer")

    def tracer(od, dev, args):
        seen.append(od.name)
        return dispatch.redispatch(od, dev, args, "Tracer")
    dispatch.register_fallback("Tracer", tracer)
    dispatch.state.keys = ("Tracer",)
    try:
        y = (a * 2).view(2, 1)[1]
    finally:
        dispatch.state.keys = ()
        if old is None:
            dispatch._fallbacks.pop("Tracer")
        else:
            dispatch._fallbacks["Tracer"] = old
        dispatch.clear_cache()
    assert seen == ["mul", "view", "basic_index"]
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.0, 2.0])


def test_no_grad_and_inference_mode_record_nothing_after_prebuilt():
    a = leaf([1.0, 2.0])
    a.view(2)  # prebuilt
    a[0]
    with ember.no_grad():
        assert a.view(2).grad_fn is None and not a[0].requires_grad
    with ember.inference_mode():
        assert a.view(2).grad_fn is None and not (a + a).requires_grad


def test_generated_recorder_keeps_records_semantics():
    p = ember.nn.Parameter(ember.tensor([1.0, 2.0]))  # isinstance, not the exact class
    x = ember.tensor([3.0, 4.0])
    y = p * x  # mul saves x only while p needs a gradient
    assert y.grad_fn.next_functions[1] == (None, 0)
    x.add_(1)  # x is saved (p's gradient reads it)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    z = p * 2.0  # a Python number operand: no edge, no saved tensor
    z.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 2.0])
    # an integer result gets no history; an input without a formula that requires
    # grad is refused, naming it
    assert not ember.argmax(p).requires_grad
    logits = leaf([[1.0, 2.0], [0.5, -1.0]])
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="argument 'weight'"):
        ember.nn.functional.cross_entropy(logits, ember.tensor([0, 1]), weight=w)


try:
    import torch
except ImportError:  # only the comparisons need the oracle
    torch = None

_COMPOSITE_VIEWS = [
    ("transpose", lambda a: a.transpose(0, 2), "TransposeBackward0"),
    ("t", lambda a: a[0].t(), "TBackward0"),
    ("squeeze", lambda a: a[:1].squeeze(0), "SqueezeBackward0"),
    ("unsqueeze", lambda a: a.unsqueeze(-1), "UnsqueezeBackward0"),
    ("flatten", lambda a: a.flatten(1), "FlattenBackward0"),
    ("unflatten", lambda a: a.unflatten(2, (2, 2)), "UnflattenBackward0"),
    ("movedim", lambda a: a.movedim(0, 2), "MovedimBackward0"),
    ("narrow", lambda a: a.narrow(2, -3, 2), "NarrowBackward0"),
    ("select", lambda a: a.select(1, -1), "SelectBackward0"),
]


@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is missing")
@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("name,f,node", _COMPOSITE_VIEWS, ids=[c[0] for c in _COMPOSITE_VIEWS])
def test_composite_views_record_one_node_of_their_own(device, name, f, node):
    if not _usable(device):
        pytest.skip(f"no usable '{device}' device")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    a = ember.tensor(x, device=device, requires_grad=True)
    y = f(a)
    assert [type(n).__name__ for n in graph_nodes(y)][:1] == [node]
    assert y._base is a
    want = torch.tensor(x, requires_grad=True)
    ty = f(want)
    w = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    (y * ember.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), want.grad.numpy())
    assert ember.autograd.gradgradcheck(f, (ember.tensor(x, requires_grad=True),))


def test_a_view_op_that_changes_nothing_still_returns_a_new_view():
    """``squeeze()`` with nothing to squeeze: numpy returns its input; the result is
    still a new tensor, a view with its own node (an in-place op on it rebases its
    base's history)."""
    e = leaf([1.0, 2.0])
    x = e * 1
    y = x.squeeze()
    assert y is not x and y._base is x
    assert type(y.grad_fn).__name__ == "SqueezeBackward0"
    y.mul_(3)
    np.testing.assert_allclose(x.detach().numpy(), [3.0, 6.0])
    x.sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), [3.0, 3.0])
