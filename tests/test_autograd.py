"""The autograd engine: backward/grad, accumulation, retain_graph, create_graph, hooks,
custom Functions, grad modes, version counters, in-place ops and the error paths.
Gradients are compared with PyTorch (the oracle) or with closed forms."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
from ember.autograd import Function, grad, gradcheck

try:
    import torch
except ImportError:  # only the comparisons need the oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is missing")


def leaf(values, dtype=ember.float64):
    return ember.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, requires_grad=True)


def np_(t):
    return t.detach().numpy()


# --- backward and grad -----------------------------------------------------------------

@needs_torch
def test_mlp_gradients_match_torch():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((8, 5))
    ws = [rng.standard_normal((5, 4)) * 0.5, rng.standard_normal((4, 3)) * 0.5]
    bs = [rng.standard_normal(4), rng.standard_normal(3)]

    def run(m, T):
        params = [T(a) for a in ws + bs]
        w1, w2, b1, b2 = params
        h = (T(xs, grad=False) @ w1 + b1).relu()
        out = (h @ w2 + b2).tanh()
        loss = ((out - 0.5) * (out - 0.5)).mean() + out.exp().sum() * 0.01
        loss.backward()
        return [p.grad for p in params]

    eg = run(ember, lambda a, grad=True: ember.tensor(a, dtype=ember.float64,
                                                      requires_grad=grad))
    tg = run(torch, lambda a, grad=True: torch.tensor(a, requires_grad=grad))
    for e, t in zip(eg, tg, strict=True):
        np.testing.assert_allclose(np_(e), t.numpy(), rtol=1e-10, atol=1e-12)


def test_broadcasting_reduces_gradients_to_input_shapes():
    a = leaf(np.arange(3.0).reshape(3, 1))
    b = leaf([1.0, 2.0, 3.0, 4.0])
    c = leaf(2.0)
    (a * b + c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    np.testing.assert_allclose(np_(a.grad), np.full((3, 1), 10.0))
    np.testing.assert_allclose(np_(b.grad), np.full(4, 3.0))
    assert c.grad.item() == 12.0


def test_gradient_dtype_follows_the_input_after_promotion():
    a = leaf([1.0, 2.0], dtype=ember.float32)
    b = leaf([3.0, 4.0], dtype=ember.float64)
    (a * b).sum().backward()
    assert a.grad.dtype is ember.float32 and b.grad.dtype is ember.float64
    np.testing.assert_allclose(np_(a.grad), [3.0, 4.0])


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [2.0 + 3, 4.0 + 3])
    assert x.grad is first  # accumulated in place, as PyTorch does


def test_grad_is_not_shared_between_leaves():
    # add passes one gradient object to both inputs: each .grad must own its memory.
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = ember.tensor([1.0, 1.0], dtype=ember.float64)
    (a + b).backward(g)
    a.grad.mul_(10)
    np.testing.assert_allclose(np_(b.grad), [1.0, 1.0])
    np.testing.assert_allclose(np_(g), [1.0, 1.0])


def test_grad_is_stolen_only_when_nobody_else_holds_it():
    # clone's backward passes its gradient on unchanged; a hook keeps that object, so
    # x.grad must be a copy of it.
    x = leaf([1.0, 2.0])
    h = x.clone()
    kept = []
    h.register_hook(kept.append)
    (h * ember.tensor([3.0, 4.0], dtype=ember.float64)).sum().backward()
    assert x.grad is not kept[0]
    x.grad.mul_(10)
    np.testing.assert_allclose(np_(kept[0]), [3.0, 4.0])


def test_implicit_seed_is_a_new_tensor_each_backward():
    # retain_grad keeps the seed as loss.grad; changing it must not change later seeds.
    x = leaf([1.0, 2.0])
    for _ in range(2):
        loss = (x * x).sum()
        loss.retain_grad()
        loss.backward()
        np.testing.assert_allclose(np_(loss.grad), 1.0)
        loss.grad.mul_(5)
    np.testing.assert_allclose(np_(x.grad), [4.0, 8.0])
    z = leaf(3.0)  # a scalar leaf: its gradient is the seed itself
    z.backward()
    z.grad.mul_(7)
    z2 = leaf(1.0)
    z2.backward()
    np.testing.assert_allclose(np_(z2.grad), 1.0)
    np.testing.assert_allclose(np_(z.grad), 7.0)


def test_grad_returns_without_accumulating():
    x = leaf([1.0, 2.0, 3.0])
    y = leaf([2.0, 2.0, 2.0])
    gx, gy = grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(np_(gx), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(np_(gy), [1.0, 2.0, 3.0])
    assert x.grad is None and y.grad is None


def test_grad_outputs_weigh_non_scalar_outputs():
    x = leaf([1.0, 2.0])
    (g,) = grad(x * x, x, grad_outputs=ember.tensor([1.0, 10.0], dtype=ember.float64))
    np.testing.assert_allclose(np_(g), [2.0, 40.0])


def test_grad_of_a_non_leaf_input():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = grad(y, h)
    np.testing.assert_allclose(np_(gh), 2 * np_(h))


def test_backward_inputs_limits_accumulation():
    x, y = leaf([1.0]), leaf([2.0])
    (x * y).sum().backward(inputs=[x])
    assert y.grad is None
    np.testing.assert_allclose(np_(x.grad), [2.0])


def test_allow_unused():
    x, unused = leaf([1.0]), leaf([5.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        grad(y, [x, unused], retain_graph=True)
    gx, gu = grad(y, [x, unused], allow_unused=True, retain_graph=True)
    assert gu is None and gx.item() == 2.0
    _, gz = grad(y, [x, unused], materialize_grads=True)
    np.testing.assert_array_equal(np_(gz), [0.0])


def test_error_backward_on_non_scalar_without_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        (x * 2).backward()


def test_error_gradient_shape_mismatch():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape "
                                           r"of \[3\] and output\[0\] has a shape of \[2\]"):
        (x * 2).backward(ember.ones(3, dtype=ember.float64))


def test_error_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a "
                                           "grad_fn"):
        ember.tensor([1.0]).sum().backward()


def test_error_second_backward_through_freed_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"Trying to backward through the graph a second "
                                           r"time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g1 = np_(x.grad).copy()
    y.backward()
    np.testing.assert_allclose(np_(x.grad), 2 * g1)
    np.testing.assert_allclose(g1, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))


# --- higher order ----------------------------------------------------------------------

def test_create_graph_second_and_third_derivatives():
    x = leaf([0.5, 1.5])
    y = (x * x * x).sum()
    (g,) = grad(y, x, create_graph=True)
    np.testing.assert_allclose(np_(g), 3 * np.array([0.5, 1.5]) ** 2)
    (g2,) = grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(np_(g2), 6 * np.array([0.5, 1.5]))
    (g3,) = grad(g2.sum(), x)
    np.testing.assert_allclose(np_(g3), [6.0, 6.0])


@needs_torch
def test_double_backward_matches_torch():
    a = np.array([[0.3, -0.7], [1.1, 0.2]])

    def hess_vec(m, x):
        y = (x.tanh() @ x).sigmoid().sum()
        (g,) = (grad if m is ember else torch.autograd.grad)(y, x, create_graph=True)
        (g * g).sum().backward()
        return x.grad

    e = hess_vec(ember, ember.tensor(a, requires_grad=True))
    t = hess_vec(torch, torch.tensor(a, requires_grad=True))
    np.testing.assert_allclose(np_(e), t.numpy(), rtol=1e-10)


def test_backward_create_graph_leaves_differentiable_grad():
    x = leaf([2.0])
    (x * x * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = grad(x.grad.sum(), x)
    np.testing.assert_allclose(np_(g2), [12.0])


# --- hooks -----------------------------------------------------------------------------

def test_hooks_on_leaf_and_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(np_(g).copy()))
    handle = x.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(np_(x.grad), [20.0, 20.0])
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [2.0, 2.0])


def test_hook_replacing_a_non_leaf_gradient_changes_upstream():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.register_hook(lambda g: g * 0 + 1)
    (h * h).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [3.0, 3.0])


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ember.tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * x
    assert not h.retains_grad
    h.retain_grad()
    assert h.retains_grad
    (h * 3).sum().backward()
    np.testing.assert_allclose(np_(h.grad), [3.0, 3.0])


# --- custom functions --------------------------------------------------------------------

class MulExp(Function):
    """``a * exp(b)``, with ``needs_input_grad`` recorded."""

    calls: list = []

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b.exp() * scale

    @staticmethod
    def backward(ctx, g):
        # exp(b) is recomputed from the saved input (not saved from forward, which runs
        # without recording) so that this backward is itself differentiable.
        a, b = ctx.saved_tensors
        e = b.exp()
        MulExp.calls.append(ctx.needs_input_grad)
        ga = g * e * ctx.scale if ctx.needs_input_grad[0] else None
        gb = g * a * e * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


def test_function_forward_backward_and_needs_input_grad():
    a = leaf([1.0, 2.0])
    b = ember.tensor([0.5, -0.5], dtype=ember.float64)
    out = MulExp.apply(a, b, 2.0)
    assert type(out.grad_fn).__name__ == "MulExpBackward"
    out.sum().backward()
    assert MulExp.calls[-1] == (True, False, False)
    np.testing.assert_allclose(np_(a.grad), 2 * np.exp([0.5, -0.5]))


def test_function_passes_gradcheck_and_gradgradcheck():
    a, b = leaf([1.0, 2.0]), leaf([0.3, -0.2])
    assert gradcheck(lambda x, y: MulExp.apply(x, y, 1.5), (a, b))
    assert ember.autograd.gradgradcheck(lambda x, y: MulExp.apply(x, y, 1.5), (a, b))


def test_function_wrong_number_of_gradients():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        Bad.apply(x, x).sum().backward()


def test_gradcheck_catches_a_wrong_derivative():
    class WrongSquare(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a  # should be 2 * g * a

    with pytest.raises(ember.autograd.GradcheckError, match="Jacobian mismatch"):
        gradcheck(WrongSquare.apply, (leaf([1.0, 2.0]),))
    assert not gradcheck(WrongSquare.apply, (leaf([1.0, 2.0]),), raise_exception=False)


# --- grad modes ------------------------------------------------------------------------------

def test_no_grad_context_and_decorator():
    x = leaf([1.0])
    with ember.no_grad():
        assert not (x * 2).requires_grad
        with ember.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @ember.no_grad()
    def f(t):
        return t * 2

    @ember.no_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    assert ember.is_grad_enabled()


def test_set_grad_enabled_as_call_and_context():
    x = leaf([1.0])
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ember.is_grad_enabled()
    ember.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        ember.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_inference_mode():
    x = leaf([1.0])
    with ember.inference_mode():
        assert ember.is_inference_mode_enabled()
        assert not (x * 2).requires_grad
        with ember.enable_grad():  # inference mode wins, as in PyTorch
            assert not (x * 2).requires_grad
    assert not ember.is_inference_mode_enabled()

    @ember.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_grad_mode_is_thread_local():
    x = leaf([1.0])
    seen = []
    with ember.no_grad():
        t = threading.Thread(target=lambda: seen.append((x * 2).requires_grad))
        t.start()
        t.join()
    assert seen == [True]


def test_no_grad_generator_keeps_mode_across_yields():
    x = leaf([1.0])

    @ember.no_grad()
    def gen():
        for _ in range(2):
            yield (x * 2).requires_grad

    assert list(gen()) == [False, False]
    assert ember.is_grad_enabled()


# --- version counter and in-place ops --------------------------------------------------------

def test_modifying_a_saved_tensor_raises():
    x = leaf([1.0, 2.0, 3.0], dtype=ember.float32)
    y = x * 2
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"one of the variables needed for gradient "
                                           r"computation has been modified by an inplace "
                                           r"operation: \[float32 \[3\]\], which is output 0 "
                                           r"of AddBackward0, is at version 1; expected "
                                           r"version 0 instead"):
        z.sum().backward()


def test_modifying_a_saved_output_raises():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.mul_(2)
    y2 = y.exp()
    with ember.no_grad():
        y2.add_(1)
    with pytest.raises(RuntimeError, match="output 0 of ExpBackward0, is at version 1; "
                                           "expected version 0"):
        y2.sum().backward()


def test_in_place_on_unsaved_input_is_fine():
    x = leaf([1.0, 2.0])
    h = x * 1
    y = h + 1  # add saves nothing
    h.add_(5)
    y.sum().backward()
    np.testing.assert_allclose(np_(x.grad), [1.0, 1.0])


def test_in_place_on_leaf_requiring_grad_raises():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation"):
        x.add_(1)
    np.testing.assert_array_equal(np_(x), [1.0])  # unchanged
    with ember.no_grad():
        x.add_(1)  # fine without recording (optimizers do this)
    np.testing.assert_array_equal(np_(x), [2.0])


@needs_torch
def test_in_place_on_non_leaf_rebases_history():
    def run(m, T):
        a, b = T([0.5, 1.0, 2.0]), T([3.0, -1.0, 0.5])
        h = a * 1
        h.mul_(b)
        h.add_(a, alpha=2)
        h.exp_()  # last: exp_ saves its result, which a later in-place op would modify
        h.sum().backward()
        return a.grad, b.grad

    e = run(ember, leaf)
    t = run(torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    for x, y in zip(e, t, strict=True):
        np.testing.assert_allclose(np_(x), y.numpy(), rtol=1e-12)


def test_in_place_into_a_plain_tensor_records():
    buf = ember.zeros(2, dtype=ember.float64)
    w = leaf([1.0, 2.0])
    buf.add_(w * 3)
    assert buf.requires_grad and not buf.is_leaf
    buf.sum().backward()
    np.testing.assert_allclose(np_(w.grad), [3.0, 3.0])


# --- views ----------------------------------------------------------------------------------

@needs_torch
def test_view_gradients_match_torch():
    a = np.arange(24.0).reshape(2, 3, 4) / 10

    def run(m, x):
        parts = [x[1, :, ::2], x.reshape(6, 4)[2:5], x.permute(2, 0, 1)[0],
                 x[:, :1].expand(2, 3, 4), x.narrow(2, 1, 2), x.split(1, 1)[2],
                 x.unfold(2, 2, 1)]
        loss = sum((p * p).sum() * (i + 1) for i, p in enumerate(parts))
        loss.backward()
        return x.grad

    e = run(ember, leaf(a))
    t = run(torch, torch.tensor(a, requires_grad=True))
    np.testing.assert_allclose(np_(e), t.numpy(), rtol=1e-12)


# --- devices and detach ------------------------------------------------------------------

def _second_device():
    for name in ("reference",):
        try:
            ember.zeros(1, device=name)
            return name
        except Exception:  # any failure means "not usable here"
            continue
    return None


def test_device_move_is_differentiable():
    dev = _second_device()
    if dev is None:
        pytest.skip("no second device type (the ember-reference plugin) is installed")
    x = leaf([1.0, 2.0])
    y = x.to(dev)
    assert y.device.type == dev and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.device.type == "cpu"
    np.testing.assert_allclose(np_(x.grad), [2.0, 4.0])


def test_detach_and_requires_grad_():
    x = leaf([1.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    d.requires_grad_()
    (d * 3).sum().backward()
    assert x.grad is None and d.grad.item() == 3.0
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        (x * 2).requires_grad_(False)


def test_integer_results_do_not_require_grad():
    x = leaf([1.0, 3.0, 2.0])
    assert not x.argmax().requires_grad
    assert not (x > 1).requires_grad
    assert x.max(0).values.requires_grad and not x.max(0).indices.requires_grad


def test_grad_fn_names_and_next_functions():
    x = leaf([1.0])
    y = x * 2 + 1
    assert type(y.grad_fn).__name__ == "AddBackward0"
    (mul_node, _), (none_node, _) = y.grad_fn.next_functions
    assert type(mul_node).__name__ == "MulBackward0" and none_node is None
    assert type(mul_node.next_functions[0][0]).__name__ == "AccumulateGrad"


# --- in-place ops on views (the base's history is rewritten) -------------------------------

@needs_torch
def test_in_place_on_views_matches_torch():
    def run(m, T):
        x = T(np.arange(12.0).reshape(3, 4) / 10)
        w = T(np.array([1.0, 2.0, 3.0]) / 3)
        h = x * 2
        h[:, 1] = w  # __setitem__: copy_ into a view
        h[0, ::2].mul_(w[:2])  # an in-place op on a strided view
        v = h[1:]
        v.exp_()
        buf = m.zeros(2, 3, dtype=m.float64)
        buf[1] = w * 5  # a plain tensor gets a history
        loss = (h * h).sum() + (buf * buf).sum() + v.sum()
        loss.backward()
        return x.grad, w.grad

    e = run(ember, leaf)
    t = run(torch, lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True))
    for a, b in zip(e, t, strict=True):
        np.testing.assert_allclose(np_(a), b.numpy(), rtol=1e-12)


def test_in_place_on_view_keeps_data_and_version_right():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    h = x * 1
    before = h._version
    h[1:3] = ember.tensor([10.0, 20.0], dtype=ember.float64)
    np.testing.assert_array_equal(np_(h), [1.0, 10.0, 20.0, 4.0])
    assert h._version == before + 1
    h.sum().backward()
    np.testing.assert_array_equal(np_(x.grad), [1.0, 0.0, 0.0, 1.0])


def test_in_place_on_view_of_leaf_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is "
                                           "being used in an in-place operation"):
        x[0:1].mul_(2)
    np.testing.assert_array_equal(np_(x), [1.0, 2.0])


def test_in_place_on_detached_alias_does_not_touch_the_original_graph():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    d = x.detach()
    d.mul_(w)
    assert x.grad_fn is None and d.grad_fn is not None
    d.sum().backward()
    np.testing.assert_array_equal(np_(w.grad), [1.0, 2.0])  # d's values before mul_
    np.testing.assert_array_equal(np_(x), [3.0, 8.0])  # memory is shared, history is not
    assert x.grad is None


# --- every backend --------------------------------------------------------------------------

def _usable(device: str) -> bool:
    try:
        ember.zeros(1, device=device)
        return True
    except Exception:  # the plugin is missing or has no device here
        return False


@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_autograd_runs_on_the_backend(device):
    """Autograd is written in ember ops: the same derivatives run on any backend that has
    the primitives (the reference backend is array-api-strict, not numpy)."""
    if not _usable(device):
        pytest.skip(f"no usable '{device}' device (its plugin is not installed)")
    import ember.nn.functional as F
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((4, 3)), dtype=ember.float64, device=device)
    y = ember.tensor([0, 1, 1, 0], device=device)
    w = ember.tensor(rng.standard_normal((2, 3)), dtype=ember.float64, device=device,
                     requires_grad=True)
    b = ember.tensor(rng.standard_normal(2), dtype=ember.float64, device=device,
                     requires_grad=True)
    assert gradcheck(lambda w, b: F.cross_entropy(F.linear(x, w, b).tanh(), y), (w, b))
    assert ember.autograd.gradgradcheck(lambda w: (w @ w.t()).sin().sum(), (w,))
    v = w * 1
    v[:, 1] = b * 2  # in-place on a view
    v.sum().backward()
    assert b.grad.device.type == device
    np.testing.assert_allclose(b.grad.cpu().numpy(), [2.0, 2.0])


# --- ember.autograd.functional ----------------------------------------------------------------

@needs_torch
def test_functional_api_matches_torch():
    from ember.autograd import functional as EF
    TF = torch.autograd.functional
    a = np.array([[0.3, -0.5, 0.8], [1.2, 0.1, -0.4]])
    b = np.array([0.7, -0.2, 0.5])

    def f(m):
        return lambda x, y: ((x * y).sin() @ y.exp(), (x * x).sum(0))

    def scalar(m):
        return lambda x, y: ((x @ y).tanh() * (x @ y)).sum() + (y ** 3).sum()

    E = (ember.tensor(a), ember.tensor(b))
    T = (torch.tensor(a), torch.tensor(b))
    for e, t in zip(EF.jacobian(f(ember), E), TF.jacobian(f(torch), T), strict=True):
        for ei, ti in zip(e, t, strict=True):
            np.testing.assert_allclose(np_(ei), ti.numpy(), rtol=1e-10)
    for e, t in zip(EF.hessian(scalar(ember), E), TF.hessian(scalar(torch), T), strict=True):
        for ei, ti in zip(e, t, strict=True):
            np.testing.assert_allclose(np_(ei), ti.numpy(), rtol=1e-10, atol=1e-12)
    v = (np.ones((2,)), np.array([1.0, 2.0, 3.0]))
    ev = tuple(ember.tensor(x) for x in v)
    tv = tuple(torch.tensor(x) for x in v)
    _, e = EF.vjp(f(ember), E, ev)
    _, t = TF.vjp(f(torch), T, tv)
    for ei, ti in zip(e, t, strict=True):
        np.testing.assert_allclose(np_(ei), ti.numpy(), rtol=1e-10)
    vin = (ember.tensor(np.ones((2, 3))), ember.tensor(b))
    _, e = EF.jvp(f(ember), E, vin)
    _, t = TF.jvp(f(torch), T, (torch.ones(2, 3), torch.tensor(b)))
    for ei, ti in zip(e, t, strict=True):
        np.testing.assert_allclose(np_(ei), ti.numpy(), rtol=1e-10)
    _, e = EF.hvp(scalar(ember), E, vin)
    _, t = TF.hvp(scalar(torch), T, (torch.ones(2, 3), torch.tensor(b)))
    for ei, ti in zip(e, t, strict=True):
        np.testing.assert_allclose(np_(ei), ti.numpy(), rtol=1e-10)


@needs_torch
def test_tie_conventions_match_torch():
    """At non-differentiable points ember picks PyTorch's subgradient: max/min along a
    dim credit the returned index, full max/amax and maximum split ties, clamp passes
    the gradient at its bounds."""
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    cases = [lambda m, x: m.max(x, 1).values, lambda m, x: m.min(x, 0).values,
             lambda m, x: m.max(x), lambda m, x: m.amax(x, 1),
             lambda m, x: m.maximum(x, x.flip(1)),
             lambda m, x: x.clamp(2.0, 3.0), lambda m, x: x.clamp_min(2.0),
             lambda m, x: x.clamp_max(2.0), lambda m, x: x.relu() * (x - 2).relu(),
             lambda m, x: m.linalg.vector_norm(x * 0, 2, 1) + m.linalg.vector_norm(x)]
    for f in cases:
        e, t = leaf(a), torch.tensor(a, requires_grad=True)
        f(ember, e).sum().backward()
        f(torch, t).sum().backward()
        np.testing.assert_allclose(np_(e.grad), t.grad.numpy())


def test_graphs_are_freed_without_the_cycle_collector():
    """Nodes, saved outputs and custom Functions make no reference cycles, so memory
    comes back as soon as a graph is dropped (not at the next GC run)."""
    import gc

    class Square(Function):
        @staticmethod
        def forward(ctx, a):
            r = a * a
            ctx.save_for_backward(r)
            return r

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            return g * 2 * r.sqrt()

    w = leaf(np.linspace(0.5, 1.5, 12).reshape(3, 4))

    def step():
        h = Square.apply(w).exp().tanh()  # saved outputs (exp, tanh, Square)
        h = h * 1
        h[:, 0] = h[:, 1] * 2  # in-place on a view
        w.grad = None
        h.sum().backward()

    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            step()
        gc.collect()
        leaked = [o for o in gc.garbage if isinstance(o, (ember.Tensor, ember.autograd.Node))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not leaked


def test_only_needed_inputs_are_saved():
    # mul saves self only for the gradient of other: with a constant other, modifying
    # self in place afterwards is fine (as in PyTorch); with other requiring grad it is not.
    x = leaf([1.0, 2.0])
    h = x * 1
    y = h * ember.tensor([3.0, 4.0], dtype=ember.float64)
    h.add_(1)
    y.sum().backward()
    np.testing.assert_allclose(np_(x.grad), [3.0, 4.0])
    w = leaf([3.0, 4.0])
    h = x * 1
    y = h * w
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_function_in_place_forward_with_mark_dirty():
    class AddOne_(Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 1

    class Identity(Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = leaf([1.0, 2.0])
    h = x * 2
    v = h._version
    out = AddOne_.apply(h)
    assert out is h and h._version == v + 1
    np.testing.assert_array_equal(np_(h), [3.0, 5.0])
    (out * out).sum().backward()
    np.testing.assert_allclose(np_(x.grad), [12.0, 20.0])
    y = Identity.apply(x)  # an input returned as is: a new tensor, as in PyTorch
    assert y is not x and y.grad_fn is not None


def test_detect_anomaly_names_the_node_and_the_forward_call():
    x = leaf([0.0, 1.0])
    y = x.sqrt() * 0  # sqrt'(0) = inf, times 0: NaN in the backward pass only
    assert not ember.autograd.is_anomaly_enabled()
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        mode = ember.autograd.detect_anomaly()
    with mode:
        assert ember.autograd.is_anomaly_enabled()
        z = x.sqrt() * 0
        with pytest.raises(RuntimeError, match=r"(?s)Function .SqrtBackward0. returned nan "
                                               r"values in its 0th output.*test_autograd"):
            z.sum().backward()
    assert not ember.autograd.is_anomaly_enabled()
    y.sum().backward()  # without the mode: NaN gradients, as PyTorch
    assert np.isnan(np_(x.grad)[0])


def test_decompositions_below_autograd_record_nothing():
    """A composite op with its own derivative runs its decomposition with recording off
    (else its inner ops would record nodes that its own node replaces)."""
    od = ember.schema.registry["max"]
    boxed = ember.dispatch.backend_kernel(od, "cpu")
    assert boxed.how == "decomposition" and boxed.reentrant
    x = leaf([[1.0, 3.0], [2.0, 0.0]])
    seen = []
    values = ember.max(x, 1).values
    values.grad_fn.register_prehook(lambda gs: seen.append(len(gs)))
    assert type(values.grad_fn).__name__ == "MaxBackward0"
    assert type(values.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"
    values.sum().backward()
    assert seen == [2]
    np.testing.assert_array_equal(np_(x.grad), [[0.0, 1.0], [1.0, 0.0]])


def test_data_changes_are_not_tracked_but_detach_changes_are():
    x = leaf([1.0, 2.0])
    y = (x * 1).exp()
    y.data.mul_(1)  # .data: invisible to autograd, as in PyTorch
    y.sum().backward()
    y2 = (x * 1).exp()
    y2.detach().mul_(1)  # detach() shares the version counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y2.sum().backward()


def test_post_accumulate_grad_hook_sees_the_accumulated_grad_and_can_be_removed():
    w = ember.ones(3, requires_grad=True)
    seen = []
    h = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    h.remove()
    (w * 3).sum().backward()
    assert seen == [[2.0] * 3, [5.0] * 3]
    assert w.grad.tolist() == [8.0] * 3
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)


@needs_torch
def test_inplace_ops_with_keyword_arguments_on_views():
    # the rebased out-of-place call got the keyword-only arguments positionally:
    # y[:, 0].add_(z) raised "add() takes 2 positional arguments but 3 were given"
    b = np.random.default_rng(0).standard_normal((3, 4, 4))
    out = []
    for m in (torch, ember):
        x = m.tensor(b, requires_grad=True)
        y = x * 1
        y[:, 0].add_(y[:, 1].detach())
        y[:, 2:].sub_(y[:, :2], alpha=-0.5)
        y[1].addcmul_(y[0].detach(), y[2].detach(), value=3)
        (y * y).sum().backward()
        out.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(out[1][0], out[0][0])
    np.testing.assert_allclose(out[1][1], out[0][1])


def test_a_tensor_read_as_a_number_must_not_require_grad():
    # masked_fill(mask, v) / fill_(v) read a one-element tensor's value: a v that
    # requires grad lost its gradient silently (PyTorch differentiates through it)
    x = ember.ones(3, requires_grad=True)
    v = ember.tensor(2.0, requires_grad=True)
    mask = ember.tensor([True, False, True])
    with pytest.raises(ember.OpError, match=r"masked_fill\(\): argument 'value' is read "
                                            r"as a number"):
        ember.masked_fill(x * 1, mask, v * 3)
    with pytest.raises(ember.OpError, match=r"fill_\(\): argument 'value'"):
        (x * 1).fill_(v)
    with ember.no_grad():  # nothing to differentiate: the value is taken
        assert ember.masked_fill(x * 1, mask, v * 3).tolist() == [6.0, 1.0, 6.0]
    assert ember.masked_fill(x * 1, mask, v.detach()).tolist() == [2.0, 1.0, 2.0]
    # the differentiable spelling gives PyTorch's gradient
    y = ember.where(mask, v * 3, x * 1)
    y.sum().backward()
    assert v.grad.item() == 6.0


@needs_torch
def test_fill_and_zero_on_views_record_gradients():
    # fill_/zero_ on a view while recording raised "not supported for this op"
    out = []
    for m in (torch, ember):
        x = m.ones(3, 4, requires_grad=True)
        y = x * 2
        y[:, 0].zero_()
        y.t()[1].fill_(3.0)
        (y * m.arange(12.0).reshape(3, 4)).sum().backward()
        out.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(out[1][0], out[0][0])
    np.testing.assert_array_equal(out[1][1], out[0][1])
