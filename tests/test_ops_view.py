"""Views and joining against PyTorch: values and shapes, views share memory and the
version counter with their base, the meta device, and error messages."""

import numpy as np
import pytest

import ember
from _oracle import assert_meta_agrees, assert_same, pair, sample, torch

pytestmark = pytest.mark.torch

X = sample((2, 3, 4), "float32")

VIEWS = [
    ("reshape", lambda x: x.reshape(4, -1)),
    ("view", lambda x: x.view(6, 4)),
    ("permute", lambda x: x.permute(2, 0, 1)),
    ("transpose", lambda x: x.transpose(0, -1)),
    ("expand", lambda x: x[:, :1].expand(2, 5, 4)),
    ("squeeze", lambda x: x[:, :1].squeeze()),
    ("squeeze_dim", lambda x: x[:, :1].squeeze(1)),
    ("squeeze_noop", lambda x: x.squeeze(0)),
    ("unsqueeze", lambda x: x.unsqueeze(-1)),
    ("flatten", lambda x: x.flatten()),
    ("flatten_range", lambda x: x.flatten(1, 2)),
    ("unflatten", lambda x: x.unflatten(2, (2, -1))),
    ("narrow", lambda x: x.narrow(2, 1, 2)),
    ("narrow_negative_start", lambda x: x.narrow(1, -2, 2)),
    ("select", lambda x: x.select(1, -1)),
    ("movedim", lambda x: x.movedim(0, -1)),
    ("t", lambda x: x[0].t()),
    ("T", lambda x: x[0].T),
    ("mT", lambda x: x.mT),
    ("unfold", lambda x: x.unfold(2, 2, 1)),
    ("unfold_step", lambda x: x.unfold(-1, 3, 2)),
    ("getitem", lambda x: x[1, ::2, 1:]),
    ("getitem_ellipsis", lambda x: x[..., 0]),
    ("getitem_none", lambda x: x[None, :, None, 0]),
]


@pytest.mark.parametrize(("name", "fn"), VIEWS, ids=[v[0] for v in VIEWS])
def test_views_match_torch_and_share_memory(name, fn):
    e, t = pair(X.copy())
    v = fn(e)
    assert_same(v, fn(t))
    assert v._base is e
    assert np.shares_memory(v.numpy(), e.numpy())
    before = e._version
    # expanded and overlapping unfolded views alias elements: fill rather than add
    overlapping = name in ("expand", "unfold", "unfold_step")
    v.fill_(-9) if overlapping else v.add_(1)
    assert e._version == v._version == before + 1
    fn(t).fill_(-9) if overlapping else fn(t).add_(1)
    assert_same(e, t)  # the write went through to the base


@pytest.mark.parametrize(("name", "fn"), VIEWS, ids=[v[0] for v in VIEWS])
def test_views_on_meta_device(name, fn):
    assert_meta_agrees(fn, ember.tensor(X))


@pytest.mark.parametrize(("op", "args"), [("split", (2, 2)), ("split", ([1, 3], 2)),
                                          ("split", (1,)), ("chunk", (3, 1)),
                                          ("chunk", (2, -1)), ("unbind", (1,)),
                                          ("unbind", ()), ("split", (5, 1))])
def test_splitting_views(op, args):
    e, t = pair(X.copy())
    got, want = getattr(e, op)(*args), getattr(t, op)(*args)
    assert isinstance(got, tuple)
    assert_same(list(got), list(want))
    for piece in got:
        assert piece._base is e
        assert np.shares_memory(piece.numpy(), e.numpy()) or piece.numel() == 0
    assert_meta_agrees(lambda x: getattr(x, op)(*args), e)


def test_chunk_gives_fewer_chunks_like_torch():
    e, t = pair(np.arange(6.0, dtype=np.float32))
    assert [c.shape[0] for c in e.chunk(4)] == [c.shape[0] for c in t.chunk(4)] == [2, 2, 2]


def test_reshape_copies_when_strides_do_not_allow_a_view():
    e, t = pair(X.copy())
    r = e.transpose(0, 2).reshape(-1)
    assert_same(r, t.transpose(0, 2).reshape(-1))
    r.add_(1)  # a copy: the base is unchanged
    assert_same(e, t)


def test_contiguous_and_zero_dim():
    e, t = pair(X.copy())
    c = e.mT.contiguous()
    assert c.numpy().flags.c_contiguous
    assert_same(c, t.mT.contiguous())
    assert e.contiguous() is e
    s, ts = pair(np.array(3.0, np.float32))
    for fn in (lambda x: x.reshape(1, 1), lambda x: x.unsqueeze(0), lambda x: x.flatten(),
               lambda x: x.squeeze(), lambda x: x.squeeze(0), lambda x: x.expand(3),
               lambda x: x.t(), lambda x: x.unfold(0, 1, 1),
               lambda x: x[None], lambda x: x[...]):
        assert_same(fn(s), fn(ts))


def test_empty_views():
    e, t = pair(np.zeros((0, 3), np.float32))
    assert_same(e.reshape(3, 0), t.reshape(3, 0))
    assert_same(e.T, t.T)
    assert_same(e.unsqueeze(1), t.unsqueeze(1))
    assert_same(e[:, 1], t[:, 1])
    assert_same(list(e.split(1, 1)), list(t.split(1, 1)))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim):
    a, ta = pair(sample((2, 3), "float32"))
    b, tb = pair(sample((2, 3), "float32", seed=1))
    assert_same(ember.cat([a, b], dim), torch.cat([ta, tb], dim))
    assert_same(ember.stack([a, b], dim), torch.stack([ta, tb], dim))
    assert_same(ember.stack((a, b, a), dim=dim), torch.stack((ta, tb, ta), dim=dim))
    assert_meta_agrees(lambda *xs: ember.cat(list(xs), dim), a, b)
    assert_meta_agrees(lambda *xs: ember.stack(list(xs), dim), a, b)


def test_cat_promotes_and_skips_legacy_empty_tensors():
    a, ta = pair(sample((2, 2), "int32"))
    b, tb = pair(sample((1, 2), "float16"))
    assert_same(ember.cat([a, b]), torch.cat([ta, tb]))
    z, tz = pair(np.zeros((0,), np.float64))
    assert_same(ember.cat([a, z, b]), torch.cat([ta, tz, tb]))
    assert_same(ember.cat([z, z]), torch.cat([tz, tz]))
    assert_same(ember.stack([a, a.to(ember.int8)]), torch.stack([ta, ta.to(torch.int8)]))
    c = ember.cat([a.T, a.T], 1)  # non-contiguous inputs
    assert_same(c, torch.cat([ta.T, ta.T], 1))


def test_unfold_windows_match_torch_and_are_writable_views():
    e, t = pair(np.arange(24, dtype=np.float32).reshape(2, 12))
    for size, step in [(3, 3), (4, 2), (12, 1), (1, 5), (0, 1)]:
        assert_same(e.unfold(1, size, step), t.unfold(1, size, step))
    w = e.unfold(1, 4, 4)
    w[0, 1, 0] = -1.0
    assert e[0, 4].item() == -1.0


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda e: e.reshape(5, -1), ember.OpError, r"reshape\(\): shape '\[5, -1\]' is invalid"),
    (lambda e: e.view(-1, -1), ember.OpError, r"view\(\): only one dimension can be inferred"),
    (lambda e: e.permute(0, 1), ember.OpError, r"permute\(\): number of dims don't match"),
    (lambda e: e.permute(0, 0, 1), ember.OpError, r"permute\(\): repeated dim"),
    (lambda e: e.transpose(0, 3), ember.OpError, r"transpose\(\): argument 'dim1' is out"),
    (lambda e: e.expand(3, 3, 4), ember.OpError, r"expand\(\): the expanded size of the tensor"),
    (lambda e: e.squeeze(3), ember.OpError, r"squeeze\(\): argument 'dim' is out of range"),
    (lambda e: e.unsqueeze(4), ember.OpError, r"unsqueeze\(\): argument 'dim' is out"),
    (lambda e: e.flatten(2, 1), ember.OpError, r"flatten\(\): argument 'start_dim' \(2\)"),
    (lambda e: e.narrow(1, 2, 2), ember.OpError, r"narrow\(\): start \(2\) \+ length \(2\)"),
    (lambda e: e.narrow(1, 4, 0), IndexError, r"narrow\(\): argument 'start' \(4\)"),
    (lambda e: e.select(0, 2), IndexError, r"select\(\): index 2 out of range"),
    (lambda e: e.split([1, 1], 1), ember.OpError, r"split\(\): split_with_sizes expects"),
    (lambda e: e.split(0), ember.OpError, r"split\(\): argument 'split_size_or_sections'"),
    (lambda e: e.chunk(0), ember.OpError, r"chunk\(\): argument 'chunks' must be greater"),
    (lambda e: e.t(), ember.OpError, r"t\(\): t\(\) expects a tensor with <= 2 dimensions"),
    (lambda e: e.unfold(2, 5, 1), ember.OpError, r"unfold\(\): maximum size for tensor at "
                                                 r"dimension 2 is 4 but size is 5"),
    (lambda e: e.unfold(2, 2, 0), ember.OpError, r"unfold\(\): argument 'step' must be"),
    (lambda e: e.movedim((0, 1), 2), ember.OpError, r"movedim\(\): Invalid source or"),
    (lambda e: e[2], IndexError, r"index 2 is out of bounds for dimension 0 with size 2"),
    (lambda e: e[0, 0, 0, 0], IndexError, r"too many indices for tensor of dimension 3"),
    (lambda e: ember.cat([e, e[0]]), ember.OpError, r"cat\(\): tensors must have same number "
                                                    r"of dimensions"),
    (lambda e: ember.cat([e, e[:, :1, :2]], 1), ember.OpError, r"cat\(\): sizes of tensors "
                                                               r"must match except in dim"),
    (lambda e: ember.cat([]), TypeError, r"cat\(\): expected at least one Tensor"),
    (lambda e: ember.cat(e), TypeError, r"cat\(\): argument 'tensors' must be"),
    (lambda e: ember.cat([e, 1]), TypeError, r"cat\(\): argument 'tensors' must be a sequence "
                                             r"of Tensors, but item 1 is int"),
    (lambda e: ember.stack([e, e[0]]), ember.OpError, r"stack\(\): stack expects each tensor"),
    (lambda e: ember.cat([ember.tensor(1.0)]), ember.OpError, r"cat\(\): zero-dimensional"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    e = ember.tensor(X)
    with pytest.raises(error, match=message):
        call(e)


def test_tensor_list_ops_check_devices():
    with pytest.raises(ember.DeviceError, match=r"cat\(\): expected all tensors to be on the "
                                                r"same device"):
        ember.cat([ember.ones(2), ember.ones(2, device="meta")])


@pytest.mark.parametrize(("name", "args"), [
    ("flip", ((0, 2),)), ("flip", ((-1,),)), ("roll", (1,)), ("roll", ((1, -2), (0, 2))),
    ("roll", (5, 1)), ("repeat", ((2, 1, 1, 2),)), ("repeat", ((1, 2, 3),)),
    ("repeat_interleave", (2, 1)), ("repeat_interleave", (3,)),
])
def test_rearranging_copies(name, args):
    e, t = pair(X.copy())
    got = getattr(e, name)(*args)
    assert_same(got, getattr(t, name)(*args))
    assert not np.shares_memory(got.numpy(), e.numpy())
    decomposed = ember.schema.get_op(name).decomposition(e, *(
        (a,) if isinstance(a, int) and name != "repeat_interleave" else a for a in args))
    assert_same(decomposed, getattr(t, name)(*args))
    assert_meta_agrees(lambda x: getattr(x, name)(*args), e)


def test_flip_varargs_and_errors():
    e, t = pair(X.copy())
    assert_same(e.flip(0, 1), t.flip(0, 1))
    assert_same(ember.flip(e, [2]), torch.flip(t, [2]))
    with pytest.raises(ember.OpError, match=r"flip\(\): argument 'dims' has a repeated dim"):
        e.flip(0, 0)
    with pytest.raises(ember.OpError, match=r"repeat\(\): number of dimensions of repeat"):
        e.repeat(2, 2)
    with pytest.raises(ember.OpError, match=r"roll\(\): arguments 'shifts' and 'dims' must"):
        e.roll((1, 2), 0)


# --- view(dtype): the bytes reinterpreted -------------------------------------------------

_BITCAST = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
            "uint8", "complex64", "complex128"]


@pytest.mark.parametrize("src", ["float32", "float16", "bfloat16", "int64", "int16",
                                 "uint8", "complex64"])
@pytest.mark.parametrize("dst", _BITCAST)
def test_view_dtype_matches_pytorch(src, dst):
    a = sample((3, 16), "float32") * 7
    e = ember.tensor(a).to(getattr(ember, src))
    t = torch.tensor(a).to(getattr(torch, src))
    got, want = e.view(getattr(ember, dst)), t.view(getattr(torch, dst))
    assert tuple(got.shape) == tuple(want.shape) and str(got.dtype) == f"ember.{dst}"
    # compared bit for bit (NaN patterns of reinterpreted integers included)
    assert got.contiguous().numpy().tobytes() == want.contiguous().reshape(-1).view(
        torch.uint8).numpy().tobytes()  # (torch's bfloat16 has no numpy form)


def test_view_dtype_shares_memory_and_the_version_counter():
    x = ember.zeros(4)
    v = x.view(ember.int32)
    v.add_(1)  # writes through: the smallest positive subnormal
    assert x.tolist() == [float(np.float32(np.array(1, np.int32).view(np.float32)))] * 4
    assert x._version == v._version == 1
    assert x.view(dtype=ember.int16).shape == (8,)  # the keyword form
    assert ember.tensor([1, 0, 2], dtype=ember.uint8).view(ember.bool).tolist() == [
        True, False, True]


def test_view_dtype_is_not_differentiable():
    # as PyTorch: the result does not require grad, even for the same dtype
    x = ember.ones(3, requires_grad=True)
    assert not x.view(ember.int32).requires_grad
    assert not x.view(ember.float32).requires_grad


def test_view_dtype_copies_a_non_contiguous_last_dim():
    # PyTorch refuses (self.stride(-1) must be 1); ember copies, as view() does
    a = sample((4, 3), "float32")
    e = ember.tensor(a).T
    assert e.view(ember.int16).numpy().tobytes() == np.ascontiguousarray(a.T).view(
        np.int16).tobytes()


@pytest.mark.parametrize(("make", "message"), [
    (lambda: ember.tensor(1.0).view(ember.int16),
     r"view\(\): a 0-d float32 tensor cannot be viewed as int16 \(different element "
     r"sizes: 4 and 2 bytes\)"),
    (lambda: ember.ones(3, dtype=ember.int16).view(ember.int32),
     r"view\(\): the last dimension \(size 3\) must be divisible by 2 to view int16 as "
     r"int32"),
])
def test_view_dtype_refusals(make, message):
    with pytest.raises(ember.OpError, match=message):
        make()


def test_view_dtype_argument_errors():
    with pytest.raises(TypeError, match=r"view\(\): pass either a shape or a dtype"):
        ember.ones(4).view(2, dtype=ember.int32)
    with pytest.raises(TypeError, match=r"view\(\): argument 'dtype' must be an ember.dtype"):
        ember.ones(4).view(dtype="int32")


def test_view_dtype_on_the_reference_backend():
    # the kit reinterprets on the host (a copy); 16-bit floats through their int16 bits
    a = sample((2, 8), "float32")
    for src, dst in (("float32", "int32"), ("bfloat16", "int16"), ("int16", "float16"),
                     ("float32", "uint8"), ("float64", "complex128")):
        e = ember.tensor(a, device="reference").to(getattr(ember, src))
        t = torch.tensor(a).to(getattr(torch, src))
        got, want = e.view(getattr(ember, dst)), t.view(getattr(torch, dst))
        assert got.to("cpu").numpy().tobytes() == want.numpy().tobytes()
