"""scikit-learn runs estimators on ember tensors through the Array API
(``array_api_dispatch=True``) and matches its own numpy results."""

import os

# scikit-learn refuses array API dispatch unless SciPy's own support is switched on,
# which SciPy reads when first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest

import ember

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is the Array API consumer")
pytest.importorskip("array_api_compat", reason="scikit-learn's Array API support needs it")
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402

pytestmark = pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1",
                                reason="SCIPY_ARRAY_API is set to something other than 1")


@pytest.fixture
def dispatch():
    with sklearn.config_context(array_api_dispatch=True):
        yield


@pytest.fixture
def data():
    rng = np.random.default_rng(42)
    X = rng.standard_normal((80, 6)) @ rng.standard_normal((6, 6))
    y = np.arange(80) % 3
    X[y == 1] += 2.0
    return X, y


def test_sklearn_sees_the_ember_namespace(dispatch):
    from sklearn.utils._array_api import get_namespace
    xp, is_array_api = get_namespace(ember.ones(3))
    assert is_array_api and xp is ember.array_api


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "randomized"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pca_matches_numpy(dispatch, data, solver, dtype):
    X = data[0].astype(dtype)
    kw = {"n_components": 3, "svd_solver": solver, "random_state": 0}
    if solver == "randomized":
        kw["power_iteration_normalizer"] = "QR"  # the standard has no LU factorisation
    Xt = ember.tensor(X)
    pca = PCA(**kw).fit(Xt)
    Z = pca.transform(Xt)
    assert isinstance(Z, ember.Tensor) and Z.device == ember.device("cpu")
    assert Z.dtype.name == dtype and tuple(Z.shape) == (80, 3)
    with sklearn.config_context(array_api_dispatch=False):
        ref = PCA(**kw).fit(X)
        Zref = ref.transform(X)
    tol = 1e-4 if dtype == "float32" else 1e-10
    # components are defined up to sign; scikit-learn flips them deterministically, but
    # compare magnitudes and the explained variance so the test is about the numbers
    np.testing.assert_allclose(np.abs(Z.numpy()), np.abs(Zref), rtol=tol, atol=tol)
    np.testing.assert_allclose(pca.explained_variance_.numpy(), ref.explained_variance_,
                               rtol=tol)
    np.testing.assert_allclose(np.abs(pca.components_.numpy()), np.abs(ref.components_),
                               rtol=tol, atol=tol)
    back = pca.inverse_transform(Z)
    np.testing.assert_allclose(back.numpy(), ref.inverse_transform(Zref), rtol=tol,
                               atol=tol * 10)


def test_linear_discriminant_analysis_matches_numpy(dispatch, data):
    X, y = data
    Xt, yt = ember.tensor(X), ember.tensor(y)
    lda = LinearDiscriminantAnalysis(solver="svd").fit(Xt, yt)
    pred = lda.predict(Xt)
    proba = lda.predict_proba(Xt)
    Z = lda.transform(Xt)
    score = lda.score(Xt, yt)
    assert isinstance(pred, ember.Tensor) and isinstance(proba, ember.Tensor)
    with sklearn.config_context(array_api_dispatch=False):
        ref = LinearDiscriminantAnalysis(solver="svd").fit(X, y)
        np.testing.assert_array_equal(pred.numpy(), ref.predict(X))
        np.testing.assert_allclose(proba.numpy(), ref.predict_proba(X), rtol=1e-8,
                                   atol=1e-12)
        np.testing.assert_allclose(np.abs(Z.numpy()), np.abs(ref.transform(X)), rtol=1e-8)
        np.testing.assert_allclose(float(score), ref.score(X, y))


def _other_devices():
    info = ember.array_api.__array_namespace_info__()
    return [str(d) for d in info.devices() if d.type != "cpu"]


@pytest.mark.parametrize("device", _other_devices() or [
    pytest.param("none", marks=pytest.mark.skip(reason="no device besides the CPU"))])
def test_pca_on_other_devices(dispatch, data, device):
    X = data[0].astype(np.float32)
    Z = PCA(n_components=2, svd_solver="full").fit_transform(ember.tensor(X, device=device))
    assert Z.device == ember.device(device)
    with sklearn.config_context(array_api_dispatch=False):
        ref = PCA(n_components=2, svd_solver="full").fit_transform(X)
    np.testing.assert_allclose(np.abs(np.asarray(Z.cpu())), np.abs(ref), rtol=1e-4, atol=1e-4)
