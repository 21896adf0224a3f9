"""The estimators under scikit-learn's ``array_api_dispatch``: scikit-learn's own Array API checks, and the
numbers of a fit on PyTorch CPU tensors and ``array_api_strict`` arrays equal to the NumPy fit.

Oracles: scikit-learn's ``check_array_api_input`` / ``check_array_api_input_and_values`` /
``check_array_api_mixed_inputs`` (namespaces, devices, dtypes and values of every fitted array and every
prediction), and the NumPy fit (itself checked against scikit-learn's MLP tests and finite differences
elsewhere) for the same ``random_state``: same initial weights, sample order and updates, so the same
weights to 1e-10 in float64.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._array_api import yield_namespace_device_dtype_combinations
from sklearn.utils.estimator_checks import (
    check_array_api_input,
    check_array_api_input_and_values,
    check_array_api_mixed_inputs,
    yield_mixed_namespace_input_permutations,
)

from perceptrons import PerceptronClassifier, PerceptronRegressor

torch = pytest.importorskip("torch")
xs = pytest.importorskip("array_api_strict")

TOL = 1e-10
ESTIMATORS = [
    pytest.param(PerceptronClassifier(hidden_layer_sizes=(8,), max_iter=40), id="clf-adam"),
    pytest.param(PerceptronClassifier(hidden_layer_sizes=(8,), solver="sgd", max_iter=40), id="clf-sgd"),
    pytest.param(PerceptronClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=40), id="clf-lbfgs"),
    pytest.param(PerceptronRegressor(hidden_layer_sizes=(8,), max_iter=40), id="reg-adam"),
    pytest.param(PerceptronRegressor(hidden_layer_sizes=(8,), solver="sgd", max_iter=40), id="reg-sgd"),
    pytest.param(PerceptronRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=40), id="reg-lbfgs"),
]
# scikit-learn's own list; combinations whose library or device is missing here are skipped by
# scikit-learn's helper (unittest.SkipTest), as in scikit-learn's test suite
COMBINATIONS = [
    pytest.param(ns, dev, dt, id=f"{ns}-{dev}-{dt}")
    for ns, dev, dt in yield_namespace_device_dtype_combinations()
    if ns != "numpy"
]
MIXED = [pytest.param(x, other, id=name) for other, x, name in yield_mixed_namespace_input_permutations()]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def host(a):
    """A NumPy copy of an array of the namespaces tested (the test's own conversion)."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    if isinstance(a, np.ndarray):
        return a
    return np.asarray(xs.asarray(a, device=xs.Device("CPU_DEVICE")))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(("namespace", "device", "dtype"), COMBINATIONS)
def test_sklearn_check_array_api_input(estimator, namespace, device, dtype):
    check_array_api_input(type(estimator).__name__, estimator, namespace, device_name=device, dtype_name=dtype)
    check_array_api_input(
        type(estimator).__name__,
        estimator,
        namespace,
        device_name=device,
        dtype_name=dtype,
        check_sample_weight=True,
    )


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(("namespace", "device", "dtype"), COMBINATIONS)
def test_sklearn_check_array_api_input_and_values(estimator, namespace, device, dtype):
    name = type(estimator).__name__
    check_array_api_input_and_values(name, estimator, namespace, device_name=device, dtype_name=dtype)
    check_array_api_input_and_values(
        name, estimator, namespace, device_name=device, dtype_name=dtype, check_sample_weight=True
    )


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(("x_place", "other_place"), MIXED)
def test_sklearn_check_array_api_mixed_inputs(estimator, x_place, other_place):
    check_array_api_mixed_inputs(type(estimator).__name__, estimator, x_place, other_place, check_values=True)


def _data(task, n=75, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    if task == "clf":
        y = (X[:, 0] + X[:, 1] ** 2 > 0.8).astype(int) + (X[:, 2] > 1.0)  # three classes
    else:
        y = np.column_stack([X[:, 0] * 2 - X[:, 1], np.sin(X[:, 2])])
    w = rng.uniform(0.0, 2.0, n)
    return X, y, w


@pytest.mark.parametrize("xp", [pytest.param(torch, id="torch"), pytest.param(xs, id="array_api_strict")])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("task", ["clf", "reg"])
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="plain"),
        pytest.param({"weights": True, "batch_size": 16}, id="weights-uneven-batches"),
        pytest.param({"early_stopping": True, "learning_rate": "adaptive"}, id="early-stopping"),
    ],
)
def test_numbers_under_dispatch_equal_the_numpy_fit(xp, solver, task, extra):
    """Training on X's namespace (PortableBackprop there) gives the NumPy fit's weights, records and
    predictions to 1e-10 in float64; every fitted array and every prediction is in X's namespace."""
    extra = dict(extra)
    weights = extra.pop("weights", False)
    X, y, w = _data(task)
    kind = PerceptronClassifier if task == "clf" else PerceptronRegressor
    params = dict(
        hidden_layer_sizes=(7, 5), solver=solver, max_iter=25, random_state=3, momentum=0.8, alpha=0.3, **extra
    )
    if extra.get("early_stopping") and task == "clf":
        params["validation_fraction"] = 0.2
    fit_w = {"sample_weight": w} if weights else {}
    want = kind(**params).fit(X, y, **fit_w)
    Xd = xp.asarray(X)
    with sklearn.config_context(array_api_dispatch=True):
        got = kind(**params).fit(Xd, xp.asarray(y), **({"sample_weight": xp.asarray(w)} if weights else {}))
        for a, b in zip(got.coefs_ + got.intercepts_, want.coefs_ + want.intercepts_):
            assert type(a) is type(Xd)
            np.testing.assert_allclose(host(a), b, rtol=0, atol=TOL)
        assert got.n_iter_ == want.n_iter_ and got.t_ == want.t_
        np.testing.assert_allclose(got.loss_curve_, want.loss_curve_, rtol=0, atol=TOL)
        if extra.get("early_stopping"):
            np.testing.assert_allclose(got.validation_scores_, want.validation_scores_, rtol=0, atol=TOL)
        methods = ["predict", "predict_proba", "predict_log_proba"] if task == "clf" else ["predict"]
        for m in methods:
            out = getattr(got, m)(Xd)
            assert type(out) is type(Xd)
            np.testing.assert_allclose(host(out), getattr(want, m)(X), rtol=0, atol=TOL)
        if solver == "sgd" and task == "reg" and not extra.get("early_stopping"):  # partial_fit goes on there
            got.partial_fit(Xd, xp.asarray(y))
            want.partial_fit(X, y)
            assert type(got.coefs_[0]) is type(Xd)
            np.testing.assert_allclose(host(got.coefs_[0]), want.coefs_[0], rtol=0, atol=TOL)


def test_dispatch_off_or_numpy_input_stays_numpy():
    """Without dispatch, or with NumPy X under dispatch, the fitted arrays are NumPy and give the same numbers."""
    X, y, _ = _data("clf")
    want = PerceptronClassifier(hidden_layer_sizes=(5,), max_iter=10, random_state=0).fit(X, y)
    off = PerceptronClassifier(hidden_layer_sizes=(5,), max_iter=10, random_state=0).fit(torch.asarray(X), y)
    with sklearn.config_context(array_api_dispatch=True):
        on = PerceptronClassifier(hidden_layer_sizes=(5,), max_iter=10, random_state=0).fit(X, y)
    for est in (off, on):
        assert all(isinstance(c, np.ndarray) for c in est.coefs_)
        for a, b in zip(est.coefs_, want.coefs_):
            np.testing.assert_array_equal(a, b)


def test_warm_start_follows_the_new_input():
    """A network fitted on torch and refitted (warm_start) on NumPy without dispatch comes back to NumPy and
    trains on from the same weights, as the all-NumPy warm start does."""
    X, y, _ = _data("reg")
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0, warm_start=True, solver="sgd")
    want = PerceptronRegressor(**params).fit(X, y).fit(X, y)
    est = PerceptronRegressor(**params)
    with sklearn.config_context(array_api_dispatch=True):
        est.fit(torch.asarray(X), torch.asarray(y))
    assert isinstance(est.coefs_[0], torch.Tensor)
    est.fit(X, y)
    assert isinstance(est.coefs_[0], np.ndarray)
    np.testing.assert_allclose(est.coefs_[0], want.coefs_[0], rtol=0, atol=TOL)


def test_predicting_on_another_namespace_than_the_fit_is_explained():
    X, y, _ = _data("clf")
    with sklearn.config_context(array_api_dispatch=True):
        est = PerceptronClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(torch.asarray(X), y)
        with pytest.raises(
            ValueError, match=r"PerceptronClassifier.predict\(\) must use the same namespace.*fit again"
        ):
            est.predict(X)
        with pytest.raises(ValueError, match=r"predict_proba\(\) must use the same namespace"):
            est.predict_proba(xs.asarray(X))
    # without dispatch, scikit-learn's convention is NumPy in, NumPy out
    assert isinstance(est.predict(X), np.ndarray)


@pytest.mark.parametrize("xp", [pytest.param(torch, id="torch"), pytest.param(xs, id="array_api_strict")])
def test_classifier_partial_fit_under_dispatch(xp):
    """partial_fit with labels and ``classes`` of X's library: the NumPy partial_fit's weights, classes_ NumPy."""
    X, y, _ = _data("clf")
    params = dict(hidden_layer_sizes=(6,), solver="sgd", random_state=1)
    want, got = PerceptronClassifier(**params), PerceptronClassifier(**params)
    with sklearn.config_context(array_api_dispatch=True):
        for _ in range(3):
            want.partial_fit(X, y, classes=[0, 1, 2])
            got.partial_fit(xp.asarray(X), xp.asarray(y), classes=xp.asarray([0, 1, 2]))
        assert isinstance(got.classes_, np.ndarray)
        np.testing.assert_array_equal(got.classes_, [0, 1, 2])
        assert type(got.coefs_[0]) is type(xp.asarray(X))
        np.testing.assert_allclose(host(got.coefs_[0]), want.coefs_[0], rtol=0, atol=TOL)
        np.testing.assert_array_equal(host(got.predict(xp.asarray(X))), want.predict(X))
