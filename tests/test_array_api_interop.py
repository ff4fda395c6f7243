"""SciPy runs its Array API code paths (``SCIPY_ARRAY_API=1``) on ember tensors:
``scipy.fft`` through ``ember.array_api.fft``, ``scipy.special``/``scipy.stats``
functions written against the standard, on cpu and on the reference backend, and
their results equal SciPy's own on numpy arrays.  (scikit-learn's dispatch is
tests/test_sklearn_array_api.py.)"""

import os

# SciPy reads the switch when first imported; a session that imported SciPy without it
# skips these tests (below) rather than testing numpy's path.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest

import ember

scipy = pytest.importorskip("scipy", reason="SciPy is the Array API consumer under test")
pytest.importorskip("array_api_compat", reason="SciPy's Array API support needs it")
import scipy.fft as sfft  # noqa: E402
import scipy.special as special  # noqa: E402
import scipy.stats as stats  # noqa: E402
from scipy._lib._array_api import SCIPY_ARRAY_API  # noqa: E402

pytestmark = pytest.mark.skipif(not SCIPY_ARRAY_API,
                                reason="SciPy was imported without SCIPY_ARRAY_API=1")

_rng = np.random.default_rng(2412)
_X = _rng.standard_normal((4, 6))
_Z = _X + 1j * _rng.standard_normal((4, 6))

# (name, function, input): each is computed by SciPy on an ember tensor and on numpy
_CASES = [
    ("fft.fft", lambda x: sfft.fft(x, axis=0), _Z),
    ("fft.ifft", lambda x: sfft.ifft(x, n=8), _Z),
    ("fft.rfft", lambda x: sfft.rfft(x), _X),
    ("fft.irfftn", lambda x: sfft.irfftn(x, axes=(0, 1)), _Z),
    ("fft.fftn", lambda x: sfft.fftn(x, norm="ortho"), _X),
    ("fft.hfft", lambda x: sfft.hfft(x), _Z),
    ("fft.fftshift", lambda x: sfft.fftshift(x, axes=1), _X),
    ("special.logsumexp", lambda x: special.logsumexp(x, axis=1), _X),
    ("special.softmax", lambda x: special.softmax(x, axis=0), _X),
    ("special.log_softmax", lambda x: special.log_softmax(x, axis=1), _X),
    ("stats.zscore", lambda x: stats.zscore(x, axis=1), _X),
    ("stats.skew", lambda x: stats.skew(x, axis=0), _X),
    ("stats.moment", lambda x: stats.moment(x, order=3, axis=1), _X),
]


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("case", _CASES, ids=[c[0] for c in _CASES])
def test_scipy_functions_run_on_ember_tensors(case, device):
    _, fn, data = case
    x = ember.tensor(data, device=device)
    got = fn(x)
    want = fn(data)
    assert isinstance(got, ember.Tensor), type(got)
    assert got.device == x.device  # computed where the input lives
    assert got.dtype.name == np.asarray(want).dtype.name
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-12, atol=1e-12)


def test_scipy_special_ufuncs_take_ember_tensors():
    # functions SciPy computes with its own kernels convert through numpy and answer
    # an ember tensor of the input's namespace
    x = ember.tensor([0.5, 1.0, 2.5, -0.75], dtype=ember.float64)
    for fn in (special.erf, special.gammaln, special.ndtr, special.expit):
        got = fn(x)
        assert isinstance(got, ember.Tensor)
        np.testing.assert_allclose(got.numpy(), fn(x.numpy()), rtol=1e-14)


def test_scipy_sees_the_ember_namespace():
    from scipy._lib._array_api import array_namespace
    assert array_namespace(ember.ones(2)) is ember.array_api
