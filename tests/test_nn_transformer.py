"""TransformerEncoderLayer / TransformerEncoder against torch: a torch state_dict loads;
outputs and every gradient agree (norm_first and batch_first both ways, relu/gelu,
masks)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn

from _nn_oracle import close, copy_params, torch

RTOL, ATOL = 2e-4, 2e-5


def _compare(emod, tmod, *xs, **masks):
    e = [ember.tensor(x, requires_grad=True) for x in xs]
    t = [torch.tensor(x, requires_grad=True) for x in xs]
    em = {k: ember.tensor(v) for k, v in masks.items()}
    tm = {k: torch.tensor(v) for k, v in masks.items()}
    eo, to = emod(*e, **em), tmod(*t, **tm)
    close(eo, to, RTOL, ATOL, "forward")
    r = np.random.default_rng(5).standard_normal(tuple(to.shape)).astype(np.float32)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    for i, (a, b) in enumerate(zip(e, t, strict=True)):
        close(a.grad, b.grad, RTOL, ATOL, f"grad of input {i}")
    tparams = dict(tmod.named_parameters())
    names = [n for n, _ in emod.named_parameters()]
    assert names == list(tparams)
    for name, p in emod.named_parameters():
        close(p.grad, tparams[name].grad, RTOL, ATOL, f"grad of {name}")


def _layer_pair(**kw):
    torch.manual_seed(0)
    tmod = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    emod = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    assert {k: tuple(v.shape) for k, v in emod.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tmod.state_dict().items()}
    copy_params(tmod, emod)
    return emod, tmod


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer(norm_first, batch_first, activation):
    emod, tmod = _layer_pair(norm_first=norm_first, batch_first=batch_first,
                             activation=activation)
    x = np.random.default_rng(0).standard_normal((3, 5, 8)).astype(np.float32)
    _compare(emod, tmod, x)


def test_encoder_layer_masks_and_unbatched():
    emod, tmod = _layer_pair(batch_first=True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    causal = np.triu(np.ones((5, 5), dtype=bool), 1)  # True: masked
    pad = np.array([[False] * 5, [False] * 3 + [True] * 2])
    _compare(emod, tmod, x, src_mask=causal, src_key_padding_mask=pad)
    _compare(emod, tmod, x[0])  # unbatched (S, E)


def test_encoder_stack():
    torch.manual_seed(0)
    tlayer = torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True)
    tmod = torch.nn.TransformerEncoder(tlayer, 2, norm=torch.nn.LayerNorm(8),
                                       enable_nested_tensor=False)
    elayer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True)
    emod = nn.TransformerEncoder(elayer, 2, norm=nn.LayerNorm(8))
    # the copies are independent of the layer and of each other
    assert emod.layers[0].linear1.weight is not emod.layers[1].linear1.weight
    assert emod.layers[0].linear1.weight is not elayer.linear1.weight
    copy_params(tmod, emod)
    x = np.random.default_rng(2).standard_normal((2, 4, 8)).astype(np.float32)
    _compare(emod, tmod, x)


def test_activation_module_and_bad_name():
    m = nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU())
    assert "activation" in dict(m.named_children())
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    m.train()
    ember.manual_seed(0)
    x = ember.randn(4, 2, 8)
    a = m(x)
    m.eval()
    close(m(x), m(x), 0, 0, "eval is deterministic")
    assert not np.allclose(a.detach().numpy(), m(x).detach().numpy())  # dropout in train


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer(norm_first):
    torch.manual_seed(0)
    kw = dict(dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first,
              activation="gelu")
    tmod = torch.nn.TransformerDecoderLayer(8, 2, **kw)
    emod = nn.TransformerDecoderLayer(8, 2, **kw)
    copy_params(tmod, emod)
    rng = np.random.default_rng(3)
    tgt = rng.standard_normal((2, 4, 8)).astype(np.float32)
    mem = rng.standard_normal((2, 6, 8)).astype(np.float32)
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)
    mpad = np.array([[False] * 6, [False] * 4 + [True] * 2])
    _compare(emod, tmod, tgt, mem, tgt_mask=causal, memory_key_padding_mask=mpad)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # (torch's own)
def test_transformer():
    torch.manual_seed(0)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
              dim_feedforward=16, dropout=0.0)
    tmod = torch.nn.Transformer(**kw)
    emod = nn.Transformer(**kw)
    assert {k: tuple(v.shape) for k, v in emod.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tmod.state_dict().items()}
    bound = np.sqrt(6 / (8 + 8))  # xavier_uniform_ of an (8, 8) matrix
    w = emod.encoder.layers[0].self_attn.out_proj.weight.detach().numpy()  # (8, 8)
    assert np.abs(w).max() <= bound and np.abs(w).max() > bound / 2
    copy_params(tmod, emod)
    rng = np.random.default_rng(4)
    src = rng.standard_normal((5, 2, 8)).astype(np.float32)
    tgt = rng.standard_normal((3, 2, 8)).astype(np.float32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(3).numpy()
    close(nn.Transformer.generate_square_subsequent_mask(3), torch.tensor(mask), 0, 0)
    _compare(emod, tmod, src, tgt, tgt_mask=mask)
    with pytest.raises(RuntimeError, match="batch number of src and tgt"):
        emod(ember.randn(5, 2, 8), ember.randn(3, 3, 8))
