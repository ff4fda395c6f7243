"""Helpers for checking ember.nn against torch.nn (the test oracle): identical weights,
identical inputs, compare outputs, input gradients and parameter gradients."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

#: float32 results of the same math in a different order (BLAS, reductions) differ by a
#: few ulps, relative to the magnitudes involved.
RTOL, ATOL = 1e-4, 1e-5


def to_np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.detach().cpu().numpy())


def copy_params(src_torch, dst_ember) -> None:
    """Copy every parameter and buffer of a torch module into the ember twin."""
    state = {k: ember.tensor(v.detach().numpy()) for k, v in src_torch.state_dict().items()}
    dst_ember.load_state_dict(state)


def close(a, b, rtol=RTOL, atol=ATOL, what="") -> None:
    np.testing.assert_allclose(to_np(a), to_np(b), rtol=rtol, atol=atol, err_msg=what)


def check_module(emod, tmod, *inputs, rtol=RTOL, atol=ATOL, grad=True, seed=0):
    """Forward both modules on the same float inputs; backward a random projection of
    the (first) output; compare outputs, input grads and parameter grads."""
    rng = np.random.default_rng(seed)
    e_in, t_in = [], []
    for x in inputs:
        x = np.asarray(x)
        floating = x.dtype.kind == "f"
        e_in.append(ember.tensor(x, requires_grad=grad and floating))
        t_in.append(torch.tensor(x, requires_grad=grad and floating))
    eo, to = emod(*e_in), tmod(*t_in)
    if isinstance(to, tuple):
        eo, to = eo[0], to[0]
    close(eo, to, rtol, atol, "forward")
    if not grad:
        return eo
    r = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    for i, (a, b) in enumerate(zip(e_in, t_in, strict=True)):
        if b.grad is not None:
            close(a.grad, b.grad, rtol, atol, f"grad of input {i}")
    tparams = dict(tmod.named_parameters())
    for name, p in emod.named_parameters():
        tp = tparams[name]
        if tp.grad is None:
            assert p.grad is None or not np.any(to_np(p.grad)), name
        else:
            close(p.grad, tp.grad, rtol, atol, f"grad of {name}")
    return eo


@contextlib.contextmanager
def decomposed_only():
    """Run with the CPU backend's fused nn and optimizer kernels removed, so every nn op
    (and its backward op) and optimizer update runs through its decomposition into
    primitives: what a backend that implements only the primitives gets."""
    from ember.device import get_backend
    from ember_cpu import nn_kernels, optim_kernels
    from ember.dispatch import clear_cache
    backend = get_backend("cpu")
    saved = {k: backend.kernels.pop(k) for k in [*nn_kernels.KERNELS, *optim_kernels.KERNELS]
             if k in backend.kernels}
    clear_cache()
    try:
        yield
    finally:
        backend.kernels.update(saved)
        clear_cache()


@pytest.fixture(params=["fused", "decomposed"])
def path(request):
    """Run a test with the CPU's fused kernels and again through the decompositions."""
    if request.param == "decomposed":
        with decomposed_only():
            yield request.param
    else:
        yield request.param
