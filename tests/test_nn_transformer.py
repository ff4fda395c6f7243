"""TransformerEncoderLayer / TransformerEncoder against torch: a torch state_dict loads;
outputs and every gradient agree (norm_first and batch_first both ways, relu/gelu,
masks)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn

from _nn_oracle import close, copy_params, to_np, torch

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


# --- found by fuzzing against torch ------------------------------------------------------

def test_sdpa_fully_masked_query_gives_zero_output_and_gradient():
    """A query whose every key is masked (an empty, all-padding sequence): PyTorch's safe
    softmax gives zero output and gradient; ember's softmax gave NaN (and NaN gradients
    to every parameter)."""
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal((2, 2, 3, 4)).astype(np.float32) for _ in range(3))
    keep = np.array([[False, False, False], [True, False, True], [False, False, False]])
    fmask = np.where(keep, 0.0, -np.inf).astype(np.float32)
    for mask in (keep, fmask):
        e = [ember.tensor(a, requires_grad=True) for a in (q, k, v)]
        t = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        eo = ember.nn.functional.scaled_dot_product_attention(*e, attn_mask=ember.tensor(mask))
        to = torch.nn.functional.scaled_dot_product_attention(*t, attn_mask=torch.tensor(mask))
        close(eo, to, RTOL, ATOL, "forward")
        assert not np.isnan(to_np(eo)).any()
        r = rng.standard_normal(tuple(to.shape)).astype(np.float32)
        (eo * ember.tensor(r)).sum().backward()
        (to * torch.tensor(r)).sum().backward()
        for i, (a, b) in enumerate(zip(e, t, strict=True)):
            close(a.grad, b.grad, RTOL, ATOL, f"grad of input {i}")


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_and_decoder_with_an_all_padding_sequence(batch_first):
    emod, tmod = _layer_pair(batch_first=batch_first)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 8) if batch_first else (4, 2, 8)).astype(np.float32)
    pad = np.array([[False, False, True, True], [True] * 4])  # the second is empty
    _compare(emod, tmod, x, src_key_padding_mask=pad)
    fpad = np.where(pad, -np.inf, 0.0).astype(np.float32)
    _compare(emod, tmod, x, src_key_padding_mask=fpad)
    torch.manual_seed(0)
    kw = dict(dim_feedforward=16, dropout=0.0, batch_first=batch_first)
    tdec = torch.nn.TransformerDecoderLayer(8, 2, **kw)
    edec = nn.TransformerDecoderLayer(8, 2, **kw)
    copy_params(tdec, edec)
    _compare(edec, tdec, x, x, memory_key_padding_mask=pad)


def test_fuzz_attention_against_torch():
    """Seeded random MultiheadAttention configurations (heads, batch_first, unbatched,
    bias, self/cross attention, bool/float masks of 2-d and per-head 3-d shape,
    key padding, need_weights, averaged weights): outputs, weights and gradients."""
    import random
    rnd = random.Random(0)
    rng = np.random.default_rng(0)
    for _ in range(25):
        e, h = rnd.choice([4, 8]), rnd.choice([1, 2, 4])
        bf, b, lq, s = rnd.random() < 0.5, rnd.choice([None, 1, 3]), rnd.randint(1, 4), \
            rnd.randint(1, 4)
        torch.manual_seed(rnd.randint(0, 99))
        tmod = torch.nn.MultiheadAttention(e, h, batch_first=bf, bias=rnd.random() < 0.8)
        emod = nn.MultiheadAttention(e, h, batch_first=bf, bias=tmod.in_proj_bias is not None)
        copy_params(tmod, emod)

        def shape(n, e=e, b=b, bf=bf):
            return (n, e) if b is None else ((b, n, e) if bf else (n, b, e))

        def mask(shape_, boolean):
            m = rng.random(shape_) < 0.4  # some rows fully masked
            return m if boolean else np.where(m, -np.inf, 0.0).astype(np.float32)

        q = rng.standard_normal(shape(lq)).astype(np.float32)
        kv = rng.standard_normal(shape(s)).astype(np.float32)
        boolean = rnd.random() < 0.5
        kw = {"need_weights": rnd.random() < 0.5, "average_attn_weights": rnd.random() < 0.5}
        kind = rnd.choice([None, "2d", "3d"])
        if kind == "2d":
            kw["attn_mask"] = mask((lq, s), boolean)
        elif kind == "3d":
            kw["attn_mask"] = mask(((b or 1) * h, lq, s), boolean)
        if rnd.random() < 0.5:
            kw["key_padding_mask"] = mask((s,) if b is None else (b, s), boolean)
        ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        ei = [ember.tensor(a, requires_grad=True) for a in (q, kv, kv)]
        ti = [torch.tensor(a, requires_grad=True) for a in (q, kv, kv)]
        (eo, ew), (to, tw) = emod(*ei, **ekw), tmod(*ti, **tkw)
        what = f"{e=} {h=} {bf=} {b=} {lq=} {s=} {kind} {boolean=}"
        assert (ew is None) == (tw is None), what
        if tw is not None:  # the explicit softmax: NaN rows in both
            close(ew, tw, RTOL, ATOL, what + " weights")
            continue
        close(eo, to, RTOL, ATOL, what + " output")
        r = rng.standard_normal(tuple(to.shape)).astype(np.float32)
        (eo * ember.tensor(r)).sum().backward()
        (to * torch.tensor(r)).sum().backward()
        for i, (x, y) in enumerate(zip(ei, ti, strict=True)):
            close(x.grad, y.grad, RTOL, ATOL, f"{what} grad of input {i}")
        tp = dict(tmod.named_parameters())
        for name, p in emod.named_parameters():
            close(p.grad, tp[name].grad, RTOL, ATOL, f"{what} grad of {name}")
