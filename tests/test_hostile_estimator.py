"""Hostile use of the estimators: continuing a fit after ``set_params`` changed what the network is (scikit-learn's
MLPs are the oracle), and requests too large for memory (refused, with the numbers, before NumPy allocates)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from perceptrons import PerceptronClassifier, PerceptronRegressor

rng = np.random.RandomState(0)
X = rng.standard_normal((60, 4))
Y3 = (X @ rng.standard_normal((4, 3))).argmax(axis=1)  # three classes
YREG = np.abs(X[:, 0]) + 0.5  # positive: poisson and squared error alike


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


# -- warm start after set_params ----------------------------------------------------------------
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_warm_start_with_a_new_activation_trains_on_as_sklearn(solver):
    """A new activation keeps the weights and trains with the new activation: scikit-learn's run, epoch by epoch."""
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=8, random_state=1, warm_start=True)
    ours = _fit(PerceptronClassifier(**kw), X, Y3)
    theirs = _fit(MLPClassifier(**kw), X, Y3)
    ours.set_params(activation="tanh")
    theirs.set_params(activation="tanh")
    _fit(ours, X, Y3)
    _fit(theirs, X, Y3)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert ours.net_.activation == "tanh"
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize("hidden", [(7,), (5, 3), 4])
def test_new_hidden_sizes_are_refused_not_trained_in_the_old_shape(how, hidden):
    """The fitted weights cannot start a network of other shapes: a ValueError that names the parameter and how
    to start anew, the fitted network left as it was. (scikit-learn 1.9 silently goes on training its old
    (4, 5), (5, 3) weights for (7,) or 4, and fails with an AttributeError for (5, 3).)"""
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=3, random_state=0)
    ours = _fit(PerceptronClassifier(**kw, warm_start=how == "warm_start"), X, Y3)
    before = ours.net_.flat_params.copy()
    ours.set_params(hidden_layer_sizes=hidden)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes is .* fitted with \(5,\).*warm_start=False"):
        if how == "warm_start":
            _fit(ours, X, Y3)
        else:
            ours.partial_fit(X, Y3)
    np.testing.assert_array_equal(ours.net_.flat_params, before)
    assert [c.shape for c in ours.coefs_] == [(4, 5), (5, 3)]
    # without warm_start, fit starts a new network of the new shape, as scikit-learn
    ours.set_params(warm_start=False)
    _fit(ours, X, Y3)
    theirs = _fit(MLPClassifier(**{**kw, "hidden_layer_sizes": hidden}), X, Y3)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]


def test_new_features_or_classes_with_warm_start_are_refused_as_sklearn():
    kw = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0, warm_start=True)
    for est in (PerceptronClassifier(**kw), MLPClassifier(**kw)):
        _fit(est, X, Y3)
        with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4 features"):
            _fit(est, X[:, :3], Y3)
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
            _fit(est, X, np.minimum(Y3, 1))
        with pytest.raises(ValueError):
            _fit(est, X, np.eye(3, dtype=int)[Y3] | 1)  # multilabel targets over the same columns


def test_a_new_loss_with_warm_start_is_refused():
    """squared error -> poisson changes the output layer (identity -> exp): the fitted weights are not continued
    with another head. (scikit-learn keeps the old head and mixes it with the new loss.)"""
    reg = _fit(PerceptronRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0, warm_start=True), X, YREG)
    before = reg.net_.flat_params.copy()
    with pytest.raises(ValueError, match=r"output layer is 'identity'.*'exp'.*loss='poisson'"):
        _fit(reg.set_params(loss="poisson"), X, YREG)
    np.testing.assert_array_equal(reg.net_.flat_params, before)
    _fit(reg.set_params(warm_start=False), X, YREG)
    assert reg.out_activation_ == reg.net_.output == "exp"
