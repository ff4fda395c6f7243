"""RNG: ember.manual_seed, ember.Generator and per-device default generators — the
same seed gives the same numbers on the same backend."""

from __future__ import annotations

import numpy as np
import pytest

import ember


def draw(**kw):
    return np.concatenate([ember.rand(5, **kw).numpy(), ember.randn(5, **kw).numpy()])


def test_manual_seed_reproduces_the_default_stream():
    ember.manual_seed(123)
    a = draw()
    ember.manual_seed(123)
    b = draw()
    ember.manual_seed(124)
    c = draw()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert ember.initial_seed() == 124


def test_generator_is_independent_of_the_default_stream():
    g1 = ember.Generator().manual_seed(5)
    a = ember.rand(4, generator=g1).numpy()
    ember.rand(10)  # consuming the default stream does not disturb g1
    g2 = ember.Generator().manual_seed(5)
    np.testing.assert_array_equal(a, ember.rand(4, generator=g2).numpy())
    assert g1.initial_seed() == 5 and g1.device == ember.device("cpu")


def test_generator_state_roundtrip():
    g = ember.Generator().manual_seed(1)
    state = g.get_state()
    a = ember.randn(6, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(a, ember.randn(6, generator=g).numpy())


def test_seed_and_distribution_sanity():
    s = ember.seed()
    assert isinstance(s, int) and ember.initial_seed() == s
    ember.manual_seed(0)
    u = ember.rand(20000).numpy()
    n = ember.randn(20000).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03


def test_dtype_and_bad_generator():
    assert ember.rand(3, dtype=ember.float64).dtype is ember.float64
    with pytest.raises(TypeError, match="generator"):
        ember.rand(3, generator=42)


def test_per_device_default_generators_are_seeded_together():
    from ember.random import default_generator
    ember.manual_seed(9)
    assert default_generator("cpu").initial_seed() == 9
    a = ember.rand(3).numpy()
    ember.manual_seed(9)
    np.testing.assert_array_equal(ember.rand(3, device="cpu").numpy(), a)


@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_invalid_distribution_arguments_raise_like_torch(device):
    # (PyTorch raises RuntimeError for each of these; ember's OpError is one.)
    with pytest.raises(RuntimeError, match=r"uniform_\(\): .*low=2.0 > high=1.0"):
        ember.empty(3, device=device).uniform_(2, 1)
    ember.empty(3, device=device).uniform_(1, 1)  # an empty range [1, 1) is allowed
    for p in ([1.5], [-0.5], [float("nan")]):
        with pytest.raises(RuntimeError, match=r"bernoulli\(\): all elements of argument "
                                               r"'self' .* between 0 and 1"):
            ember.bernoulli(ember.tensor(p, device=device))
    with pytest.raises(RuntimeError, match=r"bernoulli_\(\): argument 'p' must be in"):
        ember.empty(2, device=device).bernoulli_(1.5)
    out = ember.bernoulli(ember.tensor([0.0, 1.0], device=device)).cpu().numpy()
    np.testing.assert_array_equal(out, [0.0, 1.0])


# --- issue 21, item 13: a refused seed is not stored ------------------------------------------

def test_out_of_range_seed_in_a_fresh_process_leaves_random_ops_working():
    # In a fresh process no default generator exists yet, so a stored bad seed used to
    # surface at the first random op (and every one after).
    import subprocess
    import sys
    code = (
        "import ember\n"
        "for bad in (2 ** 64, -2 ** 63 - 1):\n"
        "    try:\n"
        "        ember.manual_seed(bad)\n"
        "    except ValueError as e:\n"
        "        assert 'seed must be in' in str(e), e\n"
        "    else:\n"
        "        raise SystemExit('no error for ' + str(bad))\n"
        "assert ember.initial_seed() == 67280421310721\n"
        "ember.randn(3)\n"
        "ember.nn.Linear(2, 2)\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.torch
@pytest.mark.parametrize("seed", [-1, -2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63 - 1, 0])
def test_seed_range_and_negative_seeds_as_torch(seed):
    torch = pytest.importorskip("torch")
    saved = torch.initial_seed()
    try:
        torch.manual_seed(seed)
        want = torch.initial_seed()
    except (ValueError, RuntimeError) as e:
        want = e
    finally:
        torch.manual_seed(saved)
    if isinstance(want, Exception):
        with pytest.raises(type(want)):
            ember.manual_seed(seed)
        with pytest.raises(type(want)):
            ember.Generator().manual_seed(seed)
    else:
        ember.manual_seed(seed)
        assert ember.initial_seed() == want
        assert ember.Generator().manual_seed(seed).initial_seed() == want
        ember.randn(2)


def test_generator_seed_must_be_an_int():
    with pytest.raises(TypeError, match="expected an int seed, got float"):
        ember.Generator().manual_seed(1.5)


def test_rand_stays_below_one_in_narrow_dtypes():
    # A float64 draw rounded to bfloat16 (or float16) could become 1.0; PyTorch draws on
    # the target dtype's grid, so rand() is in [0, 1) in every dtype.
    ember.manual_seed(0)
    for dtype in (ember.bfloat16, ember.float16, ember.float32):
        x = ember.rand(200_000, dtype=dtype).float().numpy()
        assert x.max() < 1.0 and x.min() >= 0.0, (dtype, x.max())
