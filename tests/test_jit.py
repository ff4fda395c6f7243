"""ember.jit: tracing a training step, replaying it, guards, refusals, passes, files."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

import ember
import ember.jit as jit
from ember import nn
from ember.jit import passes


def _mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3))


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 2 * 2, 3))


def _step_factory(make, seed=0, lr=0.05):
    ember.manual_seed(seed)
    model = make()
    opt = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()
    return model, step


def _batches(shape, n, seed=1):
    rng = np.random.default_rng(seed)
    return [(ember.tensor(rng.standard_normal(shape).astype(np.float32)),
             ember.tensor(rng.integers(0, 3, shape[0]))) for _ in range(n)]


@pytest.mark.parametrize("make,shape", [(_mlp, (8, 6)), (_cnn, (4, 1, 8, 8))],
                         ids=["mlp", "cnn"])
def test_traced_training_equals_eager_bit_for_bit_over_100_steps(make, shape):
    eager_model, eager = _step_factory(make)
    traced_model, step = _step_factory(make)
    traced = jit.trace(step, strict=True)
    for x, y in _batches(shape, 100):
        assert eager(x, y).tolist() == traced(x, y).tolist()
    assert [e[0] for e in traced._entries.values()] == ["replay"]
    for p, q in zip(eager_model.parameters(), traced_model.parameters(), strict=True):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
        assert np.array_equal(p.grad.numpy(), q.grad.numpy())


def test_graph_prints_ops_and_the_executor_source_names_no_constant():
    _, step = _step_factory(_mlp)
    traced = jit.trace(step)
    for x, y in _batches((8, 6), 3):
        traced(x, y)
    text = str(traced.graph)
    for op in ("linear", "relu", "cross_entropy", "_cross_entropy_backward", "_sgd_update_"):
        assert f"= {op}(" in text
    assert "0.05" not in traced.code  # constants are bound by name, never pasted into source


def test_reading_a_value_in_python_while_tracing_is_refused():
    m = nn.Linear(3, 1)

    def step(x):
        out = m(x).sum()
        if out.item() > 0:  # data-dependent control flow
            return out
        return -out
    with pytest.raises(jit.TracingError, match=r"\.item\(\)"):
        jit.trace(step, (ember.randn(2, 3),))


def test_python_state_that_changes_every_call_is_refused_or_runs_eagerly():
    def make(strict):
        ember.manual_seed(0)
        m = nn.Linear(4, 2)
        opt = ember.optim.Adam(m.parameters(), lr=0.1)  # its step count is a Python int

        def step(x):
            opt.zero_grad()
            loss = m(x).sum()
            loss.backward()
            opt.step()
            return loss.detach()
        return m, jit.trace(step, strict=strict)
    x = ember.randn(3, 4)
    _, strict = make(True)
    with pytest.raises(jit.TracingError, match="changes every call"):
        for _ in range(6):
            strict(x)
    ember.manual_seed(0)
    ref = nn.Linear(4, 2)
    opt = ember.optim.Adam(ref.parameters(), lr=0.1)
    m, loose = make(False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(6):
            opt.zero_grad()
            ref(x).sum().backward()
            opt.step()
            loose(x)
    assert any("running the function eagerly" in str(w.message) for w in caught)
    assert np.array_equal(ref.weight.detach().numpy(), m.weight.detach().numpy())


@pytest.mark.parametrize("make_opt", [
    lambda ps: ember.optim.Adam(ps, lr=0.01, capturable=True),
    lambda ps: ember.optim.AdamW(ps, lr=0.01, weight_decay=0.1, amsgrad=True,
                                 capturable=True)], ids=["adam", "adamw-amsgrad"])
def test_capturable_adam_traces_and_equals_eager_over_100_steps(make_opt):
    def make():
        ember.manual_seed(0)
        model = _mlp()
        opt = make_opt(model.parameters())

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()
        return model, opt, step
    em, eo, eager = make()
    tm, to, step = make()
    traced = jit.trace(step, strict=True)
    for x, y in _batches((8, 6), 100):
        assert eager(x, y).tolist() == traced(x, y).tolist()
    assert [e[0] for e in traced._entries.values()] == ["replay"]
    for p, q in zip(em.parameters(), tm.parameters(), strict=True):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
        for k, v in eo.state[p].items():
            assert np.array_equal(v.numpy(), to.state[q][k].numpy()), k
    assert to.state[next(tm.parameters())]["step"].item() == 100


def test_cpu_replay_calls_numpy_kernels_on_arrays():
    # the CPU plugin's executor: intermediates are ndarrays, no boxed kernel runs
    _, step = _step_factory(_mlp)
    traced = jit.trace(step)
    for x, y in _batches((8, 6), 3):
        traced(x, y)
    code = traced.code
    assert traced._entries[next(iter(traced._entries))][2].__code__.co_filename \
        == "<ember.jit native graph>"
    assert not re.search(r"r\d+\(o\d+, d\d+,", code), code  # (a boxed kernel call)
    assert code.count("_make(") == len(traced.graph.grads) + 1  # the .grads and the loss


def test_cpu_replay_bumps_versions_and_reads_replaced_buffers_as_eager():
    eager_model, eager = _step_factory(_mlp)
    traced_model, step = _step_factory(_mlp)
    traced = jit.trace(step, strict=True)
    data = _batches((8, 6), 8)
    for x, y in data[:4]:
        eager(x, y)
        traced(x, y)
    for p, q in zip(eager_model.parameters(), traced_model.parameters(), strict=True):
        assert p._version == q._version
    with ember.no_grad():  # new buffers of the same shapes: the replay reads them
        for m in (eager_model, traced_model):
            m[0].weight.data = ember.ones(16, 6) * 0.1
    for x, y in data[4:]:
        assert eager(x, y).tolist() == traced(x, y).tolist()
    for p, q in zip(eager_model.parameters(), traced_model.parameters(), strict=True):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
        assert p._version == q._version
    # a shape the graph can't run: the op's own error, as the default executor raises
    traced_model[0].weight.data = ember.ones(16, 5)
    with pytest.raises(ember.errors.OpError, match=r"linear\(\): input's last dimension"):
        traced(*data[0])


def test_cpu_replay_checks_targets_and_takes_ignored_ones_as_eager():
    eager_model, eager = _step_factory(_mlp)
    traced_model, step = _step_factory(_mlp)
    traced = jit.trace(step, strict=True)
    data = _batches((8, 6), 6)
    for x, y in data[:3]:
        assert eager(x, y).tolist() == traced(x, y).tolist()
    x, y = data[3]
    padded = ember.tensor([0, -100, 2, 1, -100, 0, 1, 2])  # ignore_index: the general path
    assert eager(x, padded).tolist() == traced(x, padded).tolist()
    for bad in ([0, 1, 3, 0, 1, 2, 0, 1], [0, 1, -1, 0, 1, 2, 0, 1]):
        with pytest.raises(IndexError) as want:
            eager(x, ember.tensor(bad))
        with pytest.raises(IndexError) as got:
            traced(x, ember.tensor(bad))
        assert str(got.value) == str(want.value)
    x, y = data[4]
    assert eager(x, y).tolist() == traced(x, y).tolist()
    for p, q in zip(eager_model.parameters(), traced_model.parameters(), strict=True):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


def test_cpu_replay_returns_a_fresh_tensor_for_a_folded_constant():
    t = jit.trace(lambda x: (x * 2, ember.ones(3) + 1), strict=True)
    x = ember.ones(2)
    for _ in range(3):
        out = t(x)
        assert out[1].tolist() == [2.0, 2.0, 2.0]
        out[1].add_(5)  # the caller's tensor: the next call's result is not it


def test_cpu_replay_runs_random_nodes_through_their_boxed_kernels():
    def make():
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        opt = ember.optim.SGD(model.parameters(), lr=0.05)

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()
        return step
    eager, traced = make(), jit.trace(make(), strict=True)
    data = _batches((8, 6), 10)
    ember.manual_seed(5)
    want = [eager(x, y).tolist() for x, y in data]
    ember.manual_seed(5)
    assert [traced(x, y).tolist() for x, y in data] == want
    assert "boxed" in traced.code


def test_new_shapes_retrace_and_strict_mode_refuses_them():
    m = _mlp()
    f = jit.trace(lambda x: m(x), check=False)
    for n in (2, 5, 2):
        x = ember.randn(n, 6)
        with ember.no_grad():
            assert np.array_equal(f(x).detach().numpy(), m(x).detach().numpy())
    assert len(f._entries) == 2
    s = jit.trace(lambda x: m(x), (ember.randn(2, 6),), strict=True, check=False)
    with pytest.raises(jit.TracingError, match="guards"):
        s(ember.randn(3, 6))


def test_replay_of_a_forward_records_autograd_when_grad_is_needed():
    ember.manual_seed(0)
    m = _mlp()
    f = jit.trace(m, check=False)
    x = ember.randn(4, 6)
    f(x)
    out = f(x)  # replayed through the dispatcher: the output has a graph
    assert out.requires_grad
    out.sum().backward()
    got = [p.grad.numpy().copy() for p in m.parameters()]
    m.zero_grad()
    m(x).sum().backward()
    for g, p in zip(got, m.parameters(), strict=True):
        assert np.allclose(g, p.grad.numpy())


def test_dead_code_goes_but_random_draws_and_inplace_writes_stay():
    buf = ember.zeros(3)

    def f(x):
        unused = x * 3  # noqa: F841 - dead
        ember.rand(2)  # dead, but drawing shifts later draws: kept
        buf.add_(1.0)  # writes state: kept
        return x + 1
    t = jit.trace(f, check=False)
    t(ember.ones(3))
    ops = [n.op for n in t.graph.nodes]
    assert "mul" not in ops and "rand" in ops and "add_" in ops
    t(ember.ones(3))
    assert buf.tolist() == [2.0, 2.0, 2.0]


def test_fold_constants_and_pointwise_groups():
    def f(x):
        c = ember.ones(3) * 2  # no input: folded once
        return ((x + c).exp() * 3).relu()
    t = jit.trace(f, check=False)
    t(ember.ones(3))
    g = t.graph
    from ember.jit.executor import run_node
    n_before = len(g.nodes)
    passes.fold_constants(g, run_node)
    assert len(g.nodes) == n_before - 2 and any(n.op == "add" for n in g.nodes)
    groups = passes.pointwise_groups(g)
    assert [[g.nodes[i].op for i in grp] for grp in groups] == [["add", "exp", "mul", "relu"]]


def test_saved_graph_loads_and_trains_the_same(tmp_path):
    model, step = _step_factory(_mlp)
    traced = jit.trace(step)
    data = _batches((8, 6), 6)
    for x, y in data[:3]:
        traced(x, y)
    path = tmp_path / "step.ejit"
    jit.save(traced, path)
    loaded = jit.load(path)
    expected = [traced(x, y).item() for x, y in data[3:]]
    assert [loaded(x, y).item() for x, y in data[3:]] == expected
    # (on the cpu the loaded graph runs on the plugin's executor too, from the file's
    # shapes: those of the inputs, the captured tensors and the shape rules)
    assert loaded._run.__code__.co_filename == "<ember.jit native graph>"
    assert not re.search(r"r\d+\(o\d+, d\d+,", loaded._run.source)
    params = [t for t in loaded.state.values() if t.requires_grad]
    assert len(params) == len(list(model.parameters()))  # (and momenta, the seed grad)
    with pytest.raises(TypeError, match="traced for a float32 tensor of shape"):
        loaded(ember.zeros(2, 6), data[0][1])


def _rewrite_graph(path, out, edit):
    from ember.serialization import load, save
    blob = load(path)
    g = json.loads(blob["graph"])
    edit(g)
    blob["graph"] = json.dumps(g, sort_keys=True)
    save(blob, out)
    return blob


def test_a_tampered_graph_file_is_refused_before_running_anything(tmp_path):
    from ember.jit.serialize import _digest
    from ember.serialization import save
    _, step = _step_factory(_mlp)
    traced = jit.trace(step)
    for x, y in _batches((8, 6), 3):
        traced(x, y)
    good = tmp_path / "good.ejit"
    jit.save(traced, good)

    def to_exec(g):
        g["nodes"][0][0] = "builtins.exec"
    bad = tmp_path / "bad.ejit"
    blob = _rewrite_graph(good, bad, to_exec)
    with pytest.raises(jit.GraphFileError, match="modified after it was saved"):
        jit.load(bad)
    blob["digest"] = _digest(blob["graph"], blob["tensors"])  # a forger's fixed digest
    save(blob, bad)
    with pytest.raises(jit.GraphFileError, match="'builtins.exec', which is not an ember op"):
        jit.load(bad)
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip a byte of tensor data
    bad.write_bytes(bytes(data))
    with pytest.raises(jit.GraphFileError):
        jit.load(bad)


def test_a_backend_can_take_the_whole_graph():
    seen = []

    class Executor:
        @ember.hookimpl
        def ember_graph_executor(self, graph, device_type):
            from ember.jit.executor import compile_graph
            seen.append((device_type, len(graph.nodes)))
            return compile_graph(graph)
    from ember import plugins
    plugins.manager.register(Executor(), name="test-graph-executor")
    try:
        with ember.no_grad():
            m = _mlp()
            t = jit.trace(m, check=False)
            x = ember.randn(2, 6)
            t(x)
            assert np.array_equal(t(x).numpy(), m(x).numpy())
    finally:
        plugins.manager.unregister(name="test-graph-executor")
    assert seen and seen[0][0] == "cpu"


@pytest.mark.parametrize("device", ["reference", "rocm", "xpu"])
def test_a_graph_saved_on_cpu_runs_on_another_device(tmp_path, device):
    if not ember.is_available(device):
        pytest.skip(f"no {device} device here")
    _, step = _step_factory(_mlp)
    traced = jit.trace(step)
    data = _batches((8, 6), 6)
    for x, y in data[:3]:
        traced(x, y)
    jit.save(traced, tmp_path / "step.ejit")
    loaded = jit.load(tmp_path / "step.ejit", map_location=device)
    expected = [traced(x, y).item() for x, y in data[3:]]
    got = [loaded(x.to(device), y.to(device)).item() for x, y in data[3:]]
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-6)  # the conformance tolerance
    assert all(t.device.type == device for t in loaded.state.values())
