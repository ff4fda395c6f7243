"""ember.nn's recurrent layers against torch.nn's: a torch module's state_dict loads into
the ember twin, then outputs, final states and every gradient agree."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.errors import OpError

from _nn_oracle import close, copy_params, torch

RTOL, ATOL = 1e-4, 1e-5


def _pair(cls: str, *args, **kwargs):
    torch.manual_seed(0)
    tmod = getattr(torch.nn, cls)(*args, **kwargs)
    emod = getattr(nn, cls)(*args, **kwargs)
    copy_params(tmod, emod)
    return emod, tmod


def _tensors(rng, *shapes, dtype=np.float32):
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return ([ember.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _flat(out):
    return [t for o in out for t in (_flat(o) if isinstance(o, tuple) else [o])]


def _compare(emod, tmod, e_in, t_in, seed=1, rtol=RTOL, atol=ATOL):
    """Forward both; backward a random projection of every output; compare all."""
    eo, to = _flat(emod(*e_in)), _flat(tmod(*t_in))
    assert len(eo) == len(to)
    rng = np.random.default_rng(seed)
    eloss, tloss = 0, 0
    for i, (a, b) in enumerate(zip(eo, to, strict=True)):
        assert tuple(a.shape) == tuple(b.shape), i
        close(a, b, rtol, atol, f"output {i}")
        r = rng.standard_normal(tuple(b.shape)).astype(b.detach().numpy().dtype)
        eloss = eloss + (a * ember.tensor(r)).sum()
        tloss = tloss + (b * torch.tensor(r)).sum()
    eloss.backward()
    tloss.backward()
    for i, (a, b) in enumerate(zip(_flat(e_in), _flat(t_in), strict=True)):
        close(a.grad, b.grad, rtol, atol, f"grad of input {i}")
    tparams = dict(tmod.named_parameters())
    names = [n for n, _ in emod.named_parameters()]
    assert names == list(tparams)
    for name, p in emod.named_parameters():
        close(p.grad, tparams[name].grad, rtol, atol, f"grad of {name}")


LAYERS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


@pytest.mark.parametrize("cls,kw", LAYERS, ids=lambda v: str(v))
@pytest.mark.parametrize("batch_first", [False, True])
def test_two_layer_bidirectional(cls, kw, batch_first):
    emod, tmod = _pair(cls, 3, 5, num_layers=2, bidirectional=True,
                       batch_first=batch_first, **kw)
    shape = (2, 4, 3) if batch_first else (4, 2, 3)
    e_in, t_in = _tensors(np.random.default_rng(0), shape)
    _compare(emod, tmod, e_in, t_in)


@pytest.mark.parametrize("cls,kw", LAYERS, ids=lambda v: str(v))
def test_initial_state_given(cls, kw):
    emod, tmod = _pair(cls, 3, 4, num_layers=2, **kw)
    rng = np.random.default_rng(2)
    if cls == "LSTM":
        e_in, t_in = _tensors(rng, (5, 2, 3), (2, 2, 4), (2, 2, 4))
        _compare(emod, tmod, [e_in[0], tuple(e_in[1:])], [t_in[0], tuple(t_in[1:])])
    else:
        e_in, t_in = _tensors(rng, (5, 2, 3), (2, 2, 4))
        _compare(emod, tmod, e_in, t_in)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_unbatched_and_no_bias(cls):
    emod, tmod = _pair(cls, 3, 4, bias=False, bidirectional=True)
    e_in, t_in = _tensors(np.random.default_rng(3), (6, 3))
    _compare(emod, tmod, e_in, t_in)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_state_dict_keys_shapes_and_init(cls):
    emod, tmod = _pair(cls, 3, 16, num_layers=2, bidirectional=True)
    ours = {k: tuple(v.shape) for k, v in emod.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in tmod.state_dict().items()}
    assert ours == theirs
    fresh = getattr(nn, cls)(3, 16, num_layers=2, bidirectional=True)
    bound = 1 / np.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in fresh.parameters()])
    assert np.all(np.abs(values) <= bound)
    assert values.std() > bound / 3  # spread over the range, not a constant


def test_dropout_between_layers():
    emod = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = ember.randn(5, 2, 3)
    emod.eval()
    a, b = emod(x)[0], emod(x)[0]
    close(a, b, 0, 0, "eval is deterministic")
    emod.train()
    ember.manual_seed(0)
    c = emod(x)[0]
    ember.manual_seed(1)
    d = emod(x)[0]
    assert not np.allclose(c.detach().numpy(), d.detach().numpy())
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater"):
        one = nn.LSTM(3, 4, num_layers=1, dropout=0.5)  # no layer after the last
    one.train()
    close(one(x)[0], one(x)[0], 0, 0, "a single layer drops nothing")


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells(cls, batched, with_state):
    emod, tmod = _pair(cls, 3, 4)
    rng = np.random.default_rng(4)
    shapes = [(2, 3) if batched else (3,)]
    if with_state:
        shapes += [(2, 4) if batched else (4,)] * (2 if cls == "LSTMCell" else 1)
    e_in, t_in = _tensors(rng, *shapes)
    if cls == "LSTMCell" and with_state:
        e_args, t_args = [e_in[0], tuple(e_in[1:])], [t_in[0], tuple(t_in[1:])]
    else:
        e_args, t_args = e_in, t_in
    eo, to = emod(*e_args), tmod(*t_args)
    eo, to = _flat(eo if isinstance(eo, tuple) else (eo,)), \
        _flat(to if isinstance(to, tuple) else (to,))
    loss_e = sum((a * (i + 1)).sum() for i, a in enumerate(eo))
    loss_t = sum((b * (i + 1)).sum() for i, b in enumerate(to))
    for a, b in zip(eo, to, strict=True):
        close(a, b, RTOL, ATOL, "cell output")
    loss_e.backward()
    loss_t.backward()
    for a, b in zip(e_in, t_in, strict=True):
        close(a.grad, b.grad, RTOL, ATOL, "cell input grad")
    tparams = dict(tmod.named_parameters())
    for name, p in emod.named_parameters():
        close(p.grad, tparams[name].grad, RTOL, ATOL, f"grad of {name}")


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_wrong_input_size_names_expected(cls):
    m = getattr(nn, cls)(3, 4)
    with pytest.raises(OpError, match=r"input\.size\(-1\) must be equal to 3.*got 7"):
        m(ember.randn(5, 2, 7))
    with pytest.raises(OpError, match="2-D .* or 3-D"):
        m(ember.randn(5, 2, 3, 1))
    bad = ember.zeros(2, 2, 4)
    with pytest.raises(OpError, match=r"expected (hx|h_0) of shape \[1, 2, 4\].*\[2, 2, 4\]"):
        m(ember.randn(5, 2, 3), (bad, bad) if cls == "LSTM" else bad)
    with pytest.raises(OpError, match="sequence length"):
        m(ember.randn(0, 2, 3))


def test_cell_wrong_sizes():
    cell = nn.GRUCell(3, 4)
    with pytest.raises(OpError, match=r"must be equal to 3.*got 5"):
        cell(ember.randn(2, 5))
    with pytest.raises(OpError, match=r"hidden state of shape \[2, 4\].*\[2, 5\]"):
        cell(ember.randn(2, 3), ember.zeros(2, 5))


def test_all_weights_and_flatten_parameters():
    emod, tmod = _pair("GRU", 3, 4, num_layers=2, bidirectional=True)
    emod.flatten_parameters()  # (a no-op that PyTorch code calls)
    ours = [[tuple(w.shape) for w in ws] for ws in emod.all_weights]
    assert ours == [[tuple(w.shape) for w in ws] for ws in tmod.all_weights]
    assert emod.all_weights[1][0] is emod.weight_ih_l0_reverse


def test_bad_arguments():
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    assert "bidirectional=True" in repr(nn.GRU(3, 4, bidirectional=True))


PROJ = [
    ({"proj_size": 2}, (4, 3, 3)),
    ({"proj_size": 3, "num_layers": 2, "bidirectional": True}, (5, 2, 3)),
    ({"proj_size": 1, "batch_first": True, "bias": False}, (2, 4, 3)),
    ({"proj_size": 2, "num_layers": 2, "bidirectional": True}, (4, 3)),  # unbatched
]


@pytest.mark.parametrize("kw,shape", PROJ, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.filterwarnings("ignore:LSTM with projections")  # (torch's, about oneDNN)
def test_lstm_proj_size(kw, shape, dtype, with_state):
    # each step's h is (o * tanh(c)) @ weight_hr.T: output and h_n have proj_size
    # features, c_n hidden_size; layer k > 0 reads proj_size * directions features
    emod, tmod = _pair("LSTM", 3, 5, **kw)
    if dtype == np.float64:
        emod, tmod = emod.double(), tmod.double()
    assert [(k, tuple(v.shape)) for k, v in emod.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tmod.state_dict().items()]
    n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    batch = () if len(shape) == 2 else (shape[0 if kw.get("batch_first") else 1],)
    shapes = [shape]
    if with_state:
        shapes += [(n, *batch, kw["proj_size"]), (n, *batch, 5)]
    e_in, t_in = _tensors(np.random.default_rng(5), *shapes, dtype=dtype)
    if with_state:
        e_in, t_in = [e_in[0], tuple(e_in[1:])], [t_in[0], tuple(t_in[1:])]
    tol = {"rtol": 1e-10, "atol": 1e-10} if dtype == np.float64 else {}
    _compare(emod, tmod, e_in, t_in, **tol)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
def test_lstm_proj_size_non_contiguous_and_empty_batch():
    emod, tmod = _pair("LSTM", 3, 5, proj_size=2)
    x = np.random.default_rng(6).standard_normal((4, 3, 2)).astype(np.float32)
    eo, (eh, ec) = emod(ember.tensor(x).transpose(1, 2))  # a (4, 2, 3) view
    to, (th, tc) = tmod(torch.tensor(x).transpose(1, 2))
    for a, b in ((eo, to), (eh, th), (ec, tc)):
        close(a, b, RTOL, ATOL)
    shapes = [tuple(t.shape) for t in _flat(emod(ember.zeros(4, 0, 3)))]
    assert shapes == [tuple(t.shape) for t in _flat(tmod(torch.zeros(4, 0, 3)))]
    assert shapes == [(4, 0, 2), (1, 0, 2), (1, 0, 5)]


def test_lstm_proj_size_errors_and_repr():
    with pytest.raises(ValueError, match="LSTM: proj_size has to be smaller than "
                                         "hidden_size, got proj_size=5"):
        nn.LSTM(3, 5, proj_size=5)
    with pytest.raises(ValueError, match="LSTM: proj_size should be a positive integer or "
                                         "zero"):
        nn.LSTM(3, 5, proj_size=-1)
    with pytest.raises(TypeError):
        nn.GRU(3, 5, proj_size=2)  # (not an argument of GRU, as in PyTorch)
    m = nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True)
    assert repr(m) == repr(torch.nn.LSTM(3, 5, proj_size=2, num_layers=2,
                                         bidirectional=True))
    h, c = ember.zeros(4, 2, 2), ember.zeros(4, 2, 5)
    with pytest.raises(OpError, match=r"expected h_0 of shape \[4, 2, 2\].*\[4, 2, 5\]"):
        m(ember.randn(3, 2, 3), (c, c))
    with pytest.raises(OpError, match=r"expected c_0 of shape \[4, 2, 5\].*\[4, 2, 2\]"):
        m(ember.randn(3, 2, 3), (h, h))


def test_fuzz_recurrent_layers_against_torch():
    """Seeded random RNN/LSTM/GRU configurations (sizes, layers, bias, batch_first,
    bidirectional, relu/tanh, unbatched, given or zero initial state, sequence length
    1): torch's weights loaded, outputs, states and every gradient compared."""
    import random
    rnd = random.Random(0)
    rng = np.random.default_rng(0)
    for trial in range(16):
        cls = rnd.choice(["RNN", "LSTM", "GRU"])
        i, h, layers = rnd.randint(1, 4), rnd.randint(1, 4), rnd.randint(1, 3)
        kw = {"num_layers": layers, "bias": rnd.random() < 0.8,
              "batch_first": rnd.random() < 0.5, "bidirectional": rnd.random() < 0.5}
        if cls == "RNN":
            kw["nonlinearity"] = rnd.choice(["tanh", "relu"])
        emod, tmod = _pair(cls, i, h, **kw)
        t, b = rnd.randint(1, 4), rnd.choice([None, 1, 3])
        xs = (t, i) if b is None else ((b, t, i) if kw["batch_first"] else (t, b, i))
        d = 2 if kw["bidirectional"] else 1
        shapes = [xs]
        if rnd.random() < 0.5:
            hs = (d * layers, h) if b is None else (d * layers, b, h)
            shapes += [hs, hs] if cls == "LSTM" else [hs]
        e_in, t_in = _tensors(rng, *shapes)
        if len(e_in) > 1:
            e_in = [e_in[0], tuple(e_in[1:]) if cls == "LSTM" else e_in[1]]
            t_in = [t_in[0], tuple(t_in[1:]) if cls == "LSTM" else t_in[1]]
        _compare(emod, tmod, e_in, t_in, seed=trial)
