"""ember.autocast against torch.autocast (CPU, bfloat16): the dtypes each op of the
policy table produces, the region's rules (nesting, disabling, decorator, threads,
weight-cast cache), autograd through casts, the policy hook, and a short digits CNN
training run under autocast."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.amp import policy

torch = pytest.importorskip("torch")
TF = torch.nn.functional

_RNG = np.random.default_rng(0)


def _pair(shape, dtype, low=-1.0, high=1.0):
    """The same values as an ember tensor and a torch tensor of ``dtype`` (a name)."""
    a = _RNG.uniform(low, high, shape).astype(np.float32)
    e = ember.tensor(a).astype(getattr(ember, dtype))
    t = torch.from_numpy(a).to(getattr(torch, dtype))
    return e, t


def _spd(n, dtype):
    a = _RNG.standard_normal((n, n)).astype(np.float32)
    a = a @ a.T + n * np.eye(n, dtype=np.float32)
    return (ember.tensor(a).astype(getattr(ember, dtype)),
            torch.from_numpy(a).to(getattr(torch, dtype)))


def _labels(n, classes):
    y = _RNG.integers(0, classes, n)
    return ember.tensor(y), torch.from_numpy(y)


# op name -> function(dtypes) returning (ember result, torch result); ``dtypes`` gives the
# dtype name of each floating input in turn (cycled), so mixed inputs are tried too.
def _cases():
    def two(f_e, f_t, sa, sb):
        def run(d):
            (ea, ta), (eb, tb) = _pair(sa, d[0]), _pair(sb, d[1 % len(d)])
            return f_e(ea, eb), f_t(ta, tb)
        return run

    def one(f_e, f_t, shape, low=-1.0, high=1.0):
        def run(d):
            e, t = _pair(shape, d[0], low, high)
            return f_e(e), f_t(t)
        return run

    def loss(name, target="float", low=0.05, high=0.95):
        def run(d):
            e, t = _pair((4, 5), d[0], low, high)
            if target == "class":
                ey, ty = _labels(4, 5)
            else:
                ey, ty = _pair((4, 5), d[1 % len(d)], 0.0, 1.0)
            return getattr(F, name)(e, ey), getattr(TF, name)(t, ty)
        return run

    def linalg(name, spd=True):
        def run(d):
            e, t = _spd(3, d[0])
            out_e, out_t = getattr(ember.linalg, name)(e), getattr(torch.linalg, name)(t)
            first = lambda r: r[0] if isinstance(r, tuple) else r
            return first(out_e), first(out_t)
        return run

    def solve(d):
        (e, t), (eb, tb) = _spd(3, d[0]), _pair((3, 2), d[1 % len(d)])
        return ember.linalg.solve(e, eb), torch.linalg.solve(t, tb)

    def conv(dim):
        def run(d):
            shape_x, shape_w = ((1, 2, 6), (3, 2, 3)) if dim == 1 else ((1, 2, 6, 6),
                                                                          (3, 2, 3, 3))
            (ex, tx), (ew, tw) = _pair(shape_x, d[0]), _pair(shape_w, d[1 % len(d)])
            fe, ft = (F.conv1d, TF.conv1d) if dim == 1 else (F.conv2d, TF.conv2d)
            return fe(ex, ew), ft(tx, tw)
        return run

    def sdpa(d):
        (eq, tq), (ek, tk), (ev, tv) = (_pair((1, 2, 4, 8), d[i % len(d)]) for i in range(3))
        return (F.scaled_dot_product_attention(eq, ek, ev),
                TF.scaled_dot_product_attention(tq, tk, tv))

    def listed(fe, ft):
        def run(d):
            pairs = [_pair((2, 3), d[i % len(d)]) for i in range(2)]
            return fe([p[0] for p in pairs]), ft([p[1] for p in pairs])
        return run

    return {
        "matmul": two(ember.matmul, torch.matmul, (3, 4), (4, 2)),
        "mm": two(ember.mm, torch.mm, (3, 4), (4, 2)),
        "bmm": two(ember.bmm, torch.bmm, (2, 3, 4), (2, 4, 2)),
        "linear": two(F.linear, TF.linear, (3, 4), (2, 4)),
        "conv1d": conv(1),
        "conv2d": conv(2),
        "scaled_dot_product_attention": sdpa,
        "prod": one(ember.prod, torch.prod, (3, 4), 0.5, 1.5),
        "binary_cross_entropy": loss("binary_cross_entropy"),
        "binary_cross_entropy_with_logits": loss("binary_cross_entropy_with_logits"),
        "mse_loss": loss("mse_loss"),
        "l1_loss": loss("l1_loss"),
        "nll_loss": loss("nll_loss", target="class"),
        "cross_entropy": loss("cross_entropy", target="class"),
        "linalg_cholesky": linalg("cholesky"),
        "linalg_inv": linalg("inv"),
        "linalg_qr": linalg("qr"),
        "linalg_svd": linalg("svd"),
        "linalg_svdvals": linalg("svdvals"),
        "linalg_eigh": linalg("eigh"),
        "linalg_solve": solve,
        "cat": listed(ember.cat, torch.cat),
        "stack": listed(ember.stack, torch.stack),
    }


CASES = _cases()
_DTYPES = [("float32",), ("bfloat16",), ("bfloat16", "float32"), ("float32", "bfloat16")]


def test_every_op_of_the_cpu_table_has_a_case_and_exists():
    named = set(policy.CPU.kinds())
    assert named == set(CASES), (named ^ set(CASES))
    for table in (policy.CPU, policy.ACCELERATOR):
        missing = set(table.kinds()) - set(ember.schema.registry)
        assert not missing, f"policy names ops ember lacks: {sorted(missing)}"


@pytest.mark.parametrize("dtypes", _DTYPES, ids="-".join)
@pytest.mark.parametrize("op", sorted(CASES))
def test_output_dtype_matches_torch_autocast_cpu(op, dtypes):
    with ember.autocast("cpu"), torch.autocast("cpu", dtype=torch.bfloat16):
        e, t = CASES[op](dtypes)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (op, dtypes)
    # and the values agree with torch's (inputs or results pass through bfloat16: its
    # 8-bit mantissa, accumulated over a few products, allows a few percent)
    tol = 5e-2
    np.testing.assert_allclose(e.astype(ember.float32).numpy(),
                               t.float().detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("op", ["relu", "softmax", "exp", "add", "sum", "layer_norm"])
def test_ops_outside_the_cpu_table_keep_their_dtypes(op):
    calls = {"relu": lambda m, x: m.relu(x), "softmax": lambda m, x: m.softmax(x, 1),
             "exp": lambda m, x: m.exp(x), "add": lambda m, x: x + x,
             "sum": lambda m, x: x.sum(), "layer_norm": None}
    for d in ("float32", "bfloat16"):
        e, t = _pair((3, 4), d)
        with ember.autocast("cpu"), torch.autocast("cpu", dtype=torch.bfloat16):
            if op == "layer_norm":
                re, rt = F.layer_norm(e, [4]), TF.layer_norm(t, [4])
            else:
                re, rt = calls[op](ember, e), calls[op](torch, t)
        assert re.dtype.name == str(rt.dtype).split(".")[-1]


# --- regions ---------------------------------------------------------------------------

def _x(*shape, **kw):
    return ember.tensor(_RNG.standard_normal(shape).astype(np.float32), **kw)


def test_region_turns_the_key_on_and_off_and_nests():
    a, b = _x(3, 4), _x(4, 2)
    assert ember.dispatch.state.keys == ()
    with ember.autocast("cpu"):
        assert "Autocast" in ember.dispatch.state.keys
        assert ember.is_autocast_enabled("cpu") and not ember.is_autocast_enabled("xpu")
        assert (a @ b).dtype is ember.bfloat16
        with ember.autocast("cpu", enabled=False):
            assert not ember.is_autocast_enabled("cpu")
            assert (a @ b).dtype is ember.float32
        with ember.autocast("cpu", dtype=ember.float16):
            assert (a @ b).dtype is ember.float16
            assert ember.get_autocast_dtype("cpu") is ember.float16
        assert (a @ b).dtype is ember.bfloat16
    assert ember.dispatch.state.keys == ()
    assert (a @ b).dtype is ember.float32


def test_region_is_restored_when_its_body_raises():
    with pytest.raises(ZeroDivisionError), ember.autocast("cpu"):
        raise ZeroDivisionError
    assert ember.dispatch.state.keys == () and not ember.is_autocast_enabled("cpu")


def test_decorator_and_threads():
    a, b = _x(3, 4), _x(4, 2)

    @ember.autocast("cpu")
    def f(x, y):
        return x @ y

    assert f(a, b).dtype is ember.bfloat16 and (a @ b).dtype is ember.float32
    seen = []
    with ember.autocast("cpu"):
        t = threading.Thread(target=lambda: seen.append((a @ b).dtype))
        t.start()
        t.join()
    assert seen == [ember.float32]  # regions are thread-local, as PyTorch's


def test_default_dtypes_and_bad_arguments():
    assert ember.get_autocast_dtype("cpu") is ember.bfloat16
    for accel in ("cuda", "rocm", "xpu"):
        assert policy.policy_for(accel).dtype == "float16"
    with pytest.raises(TypeError, match="device_type"):
        ember.autocast(ember.device("cpu"))
    with pytest.raises(ValueError, match="without an index"):
        ember.autocast("cuda:0")
    with pytest.raises(TypeError, match="dtype"):
        ember.autocast("cpu", dtype=3.5)
    with pytest.warns(UserWarning, match="not supported"), \
            ember.autocast("cpu", dtype=ember.float64):
        assert (_x(2, 2) @ _x(2, 2)).dtype is ember.float32


def test_float64_and_integer_arguments_are_never_lowered():
    d = _x(3, 3).astype(ember.float64)
    i = ember.arange(9).reshape(3, 3)
    with ember.autocast("cpu"):
        assert (d @ d).dtype is ember.float64
        assert (i @ i).dtype is ember.int64
        # promote casts to the widest floating dtype, float64 included (as PyTorch)
        assert ember.cat([d, _x(3, 3).astype(ember.bfloat16)]).dtype is ember.float64


def test_only_tensors_of_the_region_device_type_are_cast():
    a = _x(2, 3)
    with ember.autocast("meta"):
        assert (a @ a.t()).dtype is ember.float32
        m = ember.zeros(2, 3, device="meta")
        assert (m @ m.t()).dtype is ember.float16  # the accelerator table on meta


def test_inner_ops_of_a_cast_op_are_not_cast_again():
    # linear is lower precision; its decomposition's matmul/add run in bfloat16 once,
    # and the float32 cross_entropy's inner log_softmax stays float32
    x, w, b = _x(4, 3), _x(5, 3), _x(5)
    with ember.autocast("cpu"):
        y = F.linear(x, w, b)
        loss = F.cross_entropy(y, ember.tensor([0, 1, 2, 3]))
    assert y.dtype is ember.bfloat16 and loss.dtype is ember.float32
    ref = F.cross_entropy(F.linear(x.astype(ember.bfloat16), w.astype(ember.bfloat16),
                                   b.astype(ember.bfloat16)).astype(ember.float32),
                          ember.tensor([0, 1, 2, 3]))
    assert loss.item() == ref.item()


def test_ops_no_table_names_skip_the_autocast_kernel(monkeypatch):
    from ember.amp import autocast_mode
    calls = []
    real = autocast_mode.autocast_kernel

    def counting(od, dev, args):
        calls.append(od.name)
        return real(od, dev, args)

    counting.passes = real.passes
    monkeypatch.setattr(ember.dispatch, "_fallbacks", {**ember.dispatch._fallbacks,
                                                         "Autocast": counting})
    ember.dispatch.clear_cache()
    try:
        a = _x(3, 3)
        with ember.autocast("cpu"):
            a.relu()
            (a + a).sin()
            assert calls == []
            assert (a @ a).dtype is ember.bfloat16
            assert calls == ["matmul"]
    finally:
        monkeypatch.undo()
        ember.dispatch.clear_cache()


# --- autograd --------------------------------------------------------------------------

def test_backward_runs_in_the_forward_dtypes_and_matches_torch():
    xa = _RNG.standard_normal((4, 3)).astype(np.float32)
    wa = _RNG.standard_normal((5, 3)).astype(np.float32)
    x, w = ember.tensor(xa), ember.tensor(wa, requires_grad=True)
    tx, tw = torch.from_numpy(xa), torch.from_numpy(wa).requires_grad_()
    with ember.autocast("cpu"):
        y = F.linear(x, w)
        loss = (y.astype(ember.float32) ** 2).sum()
        loss.backward()  # inside the region: backward still runs in the forward dtypes
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ty = TF.linear(tx, tw)
        (ty.float() ** 2).sum().backward()
    assert y.grad_fn is not None and w.grad.dtype is ember.float32
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=2e-2, atol=2e-2)


def test_backward_called_in_a_region_is_not_autocast():
    # the forward ran in float32: its backward's matmuls must too, region or not
    x, w = _x(8, 16), _x(16, 4, requires_grad=True)
    (x @ w).sum().backward()
    expected = w.grad.numpy().copy()
    w.grad = None
    loss = (x @ w).sum()
    with ember.autocast("cpu"):
        loss.backward()
    assert w.grad.dtype is ember.float32
    np.testing.assert_array_equal(w.grad.numpy(), expected)


def test_weight_casts_are_cached_within_a_region():
    w = _x(3, 3, requires_grad=True)
    x = _x(2, 3)
    with ember.autocast("cpu"):
        y1, y2 = x @ w, x @ w
        # one cast node feeds both products
        assert y1.grad_fn.next_functions[1][0] is y2.grad_fn.next_functions[1][0]
        (y1.sum() + y2.sum()).backward()
    assert ember.amp.autocast_mode._local.cache == {}  # dropped with the region
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.repeat(
        x.astype(ember.bfloat16).astype(ember.float32).numpy().sum(0)[:, None], 3, 1),
        rtol=1e-2)
    with ember.autocast("cpu", cache_enabled=False):
        y1, y2 = x @ w, x @ w
        assert y1.grad_fn.next_functions[1][0] is not y2.grad_fn.next_functions[1][0]


def test_no_grad_casts_are_not_cached():
    # a cast made under no_grad has no graph: serving it later would cut the gradient
    w = _x(3, 3, requires_grad=True)
    with ember.autocast("cpu"):
        with ember.no_grad():
            _ = _x(2, 3) @ w
        y = _x(2, 3) @ w
    assert y.requires_grad


# --- the accelerator table and the policy hook --------------------------------------------

@pytest.mark.skipif(not ember.is_available("xpu"), reason="no xpu runtime")
def test_accelerator_table_on_xpu():
    x = ember.tensor(_RNG.standard_normal((4, 4)).astype(np.float32), device="xpu")
    with ember.autocast("xpu"):
        y = x @ x
        assert y.dtype is ember.float16
        assert ember.exp(y).dtype is ember.float32                     # fp32
        assert ember.softmax(y, 1).dtype is ember.float32              # fp32_set_opt_dtype
        assert ember.softmax(y, 1, dtype=ember.float16).dtype is ember.float16
        assert ember.atan2(y, x).dtype is ember.float32                # promote
        assert ember.relu(y).dtype is ember.float16                    # not listed
        with pytest.raises(ember.OpError, match="binary_cross_entropy_with_logits"):
            F.binary_cross_entropy(ember.sigmoid(x), ember.zeros_like(x))


class _Bf16Plugin:
    """A plugin that makes bfloat16 the cpu default and moves softmax to float32."""

    EMBER_PLUGIN_API = "1.2"

    @ember.hookimpl
    def ember_autocast_policy(self, device_type):
        if device_type == "cpu":
            return {"dtype": ember.float16, "fp32": ["softmax"], "lower_precision": ["prod"]}
        return None


def test_a_plugin_changes_the_policy_through_the_hook():
    ember.plugins.register(_Bf16Plugin(), name="amp-policy-test")
    try:
        p = policy.policy_for("cpu")
        assert p.dtype == "float16" and p.kinds()["softmax"] == "fp32"
        assert p.kinds()["prod"] == "lower_precision" and "prod" not in p.fp32
        x = _x(3, 4)
        with ember.autocast("cpu"):
            assert (x @ x.t()).dtype is ember.float16
            assert ember.softmax(x.astype(ember.float16), 1).dtype is ember.float32
    finally:
        ember.plugins.unregister("amp-policy-test")
    assert policy.policy_for("cpu") == policy.CPU


def test_a_bad_hook_answer_names_the_hook():
    with pytest.raises(ValueError, match="ember_autocast_policy.*unknown keys"):
        policy._apply(policy.CPU, {"fp16": ["mm"]}, "cpu")
    with pytest.raises(ValueError, match="expected float16 or bfloat16"):
        policy._apply(policy.CPU, {"dtype": "float64"}, "cpu")


# --- training ---------------------------------------------------------------------------

def _train_digits(amp: bool, epochs: int = 6) -> tuple[float, set]:
    """The demo's CNN and recipe (Adam 1e-2, cosine schedule, batch 32) on the digits;
    returns the test accuracy and the dtypes of the logits seen in training."""
    import importlib.util
    import pathlib
    import sys
    from threadpoolctl import threadpool_limits
    from ember.utils.data import DataLoader, TensorDataset
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "train_digits.py"
    spec = importlib.util.spec_from_file_location("train_digits", path)
    demo = importlib.util.module_from_spec(spec)
    sys.modules["train_digits"] = demo
    spec.loader.exec_module(demo)
    with threadpool_limits(1):
        ember.manual_seed(0)
        xtr, ytr, xte, yte = demo.load_digits(0, "cpu")
        model = demo.DigitsCNN()
        opt = ember.optim.Adam(model.parameters(), lr=1e-2)
        sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        loader = DataLoader(TensorDataset(xtr, ytr), batch_size=32, shuffle=True,
                            generator=ember.Generator().manual_seed(0))
        seen = set()
        for _ in range(epochs):
            model.train()
            for xb, yb in loader:
                opt.zero_grad()
                with ember.autocast("cpu", enabled=amp):
                    logits = model(xb)
                    loss = F.cross_entropy(logits, yb)
                seen.add(logits.dtype)
                loss.backward()
                opt.step()
            sched.step()
        with ember.autocast("cpu", enabled=amp):
            return demo.evaluate(model, xte, yte)[1], seen


def test_digits_cnn_under_autocast_bfloat16_is_within_1_percent_of_float32():
    pytest.importorskip("sklearn")
    pytest.importorskip("threadpoolctl")
    acc32, seen32 = _train_digits(False)
    acc16, seen16 = _train_digits(True)
    assert seen32 == {ember.float32} and seen16 == {ember.bfloat16}
    assert acc32 >= 0.95
    assert acc16 >= acc32 - 0.01, (acc16, acc32)


def _amp_step(seed: int = 0):
    ember.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        with ember.autocast("cpu", dtype=ember.bfloat16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()
    return model, step


def test_a_traced_autocast_step_keeps_the_casts_and_equals_eager():
    import ember.jit
    x, y = ember.randn(32, 8), ember.randint(0, 4, (32,))
    m_eager, eager = _amp_step()
    m_traced, step = _amp_step()
    traced = ember.jit.trace(step, strict=True)
    for i in range(20):
        a, b = eager(x, y), traced(x, y)
        assert a.dtype == b.dtype == ember.float32
        assert a.item() == b.item(), f"step {i}"
    for p, q in zip(m_eager.parameters(), m_traced.parameters(), strict=True):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    text = str(traced.graph)
    assert "astype" in text and "bfloat16[32, 16] = linear" in text


def test_autocast_regions_are_part_of_a_traces_guards():
    import ember.jit
    lin = nn.Linear(4, 3)

    def f(x):
        return lin(x)
    traced = ember.jit.trace(f)
    x = ember.randn(2, 4)
    with ember.no_grad():
        for _ in range(3):
            assert traced(x).dtype == ember.float32
        with ember.autocast("cpu", dtype=ember.bfloat16):
            for _ in range(3):
                assert traced(x).dtype == ember.bfloat16
        assert traced(x).dtype == ember.float32
