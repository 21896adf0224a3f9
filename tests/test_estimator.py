"""PerceptronClassifier: scikit-learn's own estimator checks, accuracy against MLPClassifier,
round trips through files, and bad inputs."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import perceptrons
from perceptrons import PerceptronClassifier


@parametrize_with_checks([PerceptronClassifier(), PerceptronClassifier(solver="sgd", activation="tanh")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("loader", [load_iris, load_wine, load_breast_cancer, load_digits])
def test_accuracy_matches_mlpclassifier(loader):
    X, y = loader(return_X_y=True)
    ours, theirs = [], []
    for seed in range(3):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
        kw = dict(hidden_layer_sizes=(64,), alpha=1e-4, learning_rate_init=1e-3, max_iter=300, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            a = make_pipeline(StandardScaler(), PerceptronClassifier(**kw)).fit(Xtr, ytr).score(Xte, yte)
            b = make_pipeline(StandardScaler(), MLPClassifier(**kw)).fit(Xtr, ytr).score(Xte, yte)
        ours.append(a)
        theirs.append(b)
    assert np.mean(ours) >= np.mean(theirs) - 0.01, (ours, theirs)


def test_string_labels_attributes_and_save_load(tmp_path):
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = PerceptronClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert [c.shape for c in clf.coefs_] == [(4, 8), (8, 3)] and clf.n_iter_ == len(clf.loss_curve_) == 50
    assert set(clf.predict(X)) <= set(clf.classes_)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-12)
    clf.save(tmp_path / "clf.npz")
    back = perceptrons.load(tmp_path / "clf.npz")
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    assert back.get_params() == {**clf.get_params(), "hidden_layer_sizes": [8]}  # an int seed is kept


def test_loaded_model_with_other_feature_count_is_refused(tmp_path):
    X, y = load_iris(return_X_y=True)
    clf = PerceptronClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    clf.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="X has 3 features, but PerceptronClassifier is expecting 4"):
        perceptrons.load(tmp_path / "m.npz").predict(X[:, :3])


def test_partial_fit_and_warm_start_continue_training():
    X, y = load_iris(return_X_y=True)
    clf = PerceptronClassifier(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(5):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    with pytest.raises(ValueError, match="classes must be passed"):
        PerceptronClassifier().partial_fit(X, y)


def test_early_stopping_restores_the_best_validation_weights():
    X, y = load_digits(return_X_y=True)
    clf = PerceptronClassifier(hidden_layer_sizes=(32,), early_stopping=True, random_state=0, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X / 16, y)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.n_iter_ < 100


def test_divergence_raises_with_a_clear_message():
    X, y = load_iris(return_X_y=True)
    clf = PerceptronClassifier(solver="sgd", learning_rate_init=1e100, momentum=0.0, max_iter=50, random_state=0)
    with pytest.raises(FloatingPointError, match=r"diverged in epoch \d+.*learning rate"):
        clf.fit(X * 1e100, y)
    assert all(np.isfinite(c).all() for c in clf.coefs_)


@pytest.mark.parametrize(
    "params, exc, words",
    [
        (dict(hidden_layer_sizes=(0,)), ValueError, "hidden_layer_sizes must be > 0"),
        (dict(activation="softplus"), ValueError, "activation must be one of"),
        (dict(solver="lbfgs"), ValueError, "solver must be"),
        (dict(learning_rate_init=0), ValueError, "learning_rate_init must be > 0"),
        (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(momentum=1.2), ValueError, "momentum must be < 1"),
        (dict(max_iter="10"), TypeError, "max_iter must be"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction must be < 1"),
    ],
)
def test_bad_hyper_parameters(params, exc, words):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(exc, match=words):
        PerceptronClassifier(**params).fit(X, y)


@pytest.mark.parametrize(
    "X, y, words",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), [0, 1], "NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), [0, 1], "infinity"),
        (np.ones(4), [0, 1, 0, 1], "Expected 2D array"),
        (np.ones((4, 2, 2)), [0, 1, 0, 1], "dim 3"),
        (np.ones((4, 2)), [0, 1, 0], "inconsistent numbers of samples"),
        (np.ones((0, 2)), [], "0 sample"),
        (np.ones((4, 2)), [1, 1, 1, 1], "only one class"),
        (np.array([["a", "b"], ["c", "d"]]), [0, 1], "could not convert"),
        (np.ones((4, 2)), [0.5, 1.5, 0.2, 0.1], "Unknown label type"),
    ],
)
def test_bad_data(X, y, words):
    with pytest.raises(ValueError, match=words):
        PerceptronClassifier(max_iter=2).fit(X, y)
