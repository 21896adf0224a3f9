"""PerceptronClassifier and PerceptronRegressor: scikit-learn's own estimator checks, the same results as
MLPClassifier/MLPRegressor for the same random_state (scikit-learn is the oracle), accuracy, round trips
through files, assigned parameters, and bad inputs. (scikit-learn's own test_mlp.py runs in
test_sklearn_mlp_suite.py.)"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import perceptrons
from perceptrons import PerceptronClassifier, PerceptronRegressor


@parametrize_with_checks(
    [
        PerceptronClassifier(),
        PerceptronClassifier(solver="sgd", activation="tanh"),
        PerceptronClassifier(solver="lbfgs", activation="logistic"),
        PerceptronRegressor(),
        PerceptronRegressor(solver="sgd", activation="tanh", learning_rate="adaptive"),
        PerceptronRegressor(solver="lbfgs", loss="poisson"),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


SAME_AS_SKLEARN = [
    dict(solver="sgd", learning_rate="invscaling", power_t=0.3, learning_rate_init=0.05),
    dict(solver="sgd", learning_rate="adaptive", momentum=0.5, nesterovs_momentum=False, batch_size=17),
    dict(solver="adam", batch_size=32, alpha=0.01),
    dict(solver="adam", early_stopping=True, validation_fraction=0.2, n_iter_no_change=3),
    dict(solver="lbfgs", activation="tanh", alpha=1e-3),
]


@pytest.mark.parametrize("kw", SAME_AS_SKLEARN, ids=[f"{k['solver']}-{i}" for i, k in enumerate(SAME_AS_SKLEARN)])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("problem", ["multiclass", "binary", "multilabel", "regression", "poisson", "multi-output"])
def test_same_random_state_trains_the_same_network_as_sklearn(problem, weighted, kw):
    """Same hyper-parameters and random_state: scikit-learn's MLP is the oracle for the whole run (initial
    weights, sample order, losses of every epoch, stopping, final weights), for every head and solver."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((120, 5))
    Z = X @ rng.standard_normal((5, 3))
    y = {
        "multiclass": Z.argmax(axis=1),
        "binary": np.where(Z[:, 0] > 0, "yes", "no"),
        "multilabel": (Z > 0).astype(int),
        "regression": Z[:, 0],
        "poisson": rng.poisson(np.exp(0.3 * Z[:, 0])),
        "multi-output": Z[:, :2],
    }[problem]
    sw = rng.uniform(0.2, 2.0, size=120) if weighted else None
    if problem in ("multilabel", "multi-output") and kw.get("early_stopping"):
        kw = {**kw, "early_stopping": False}
    extra = {"loss": "poisson"} if problem == "poisson" else {}
    est, ref = (
        (PerceptronClassifier, MLPClassifier)
        if problem in ("multiclass", "binary", "multilabel")
        else (PerceptronRegressor, MLPRegressor)
    )
    params = dict(hidden_layer_sizes=(7, 4), max_iter=40, random_state=3, **kw, **extra)
    ours = _quiet(lambda: est(**params).fit(X, y, sample_weight=sw))
    theirs = _quiet(lambda: ref(**params).fit(X, y, sample_weight=sw))
    assert ours.n_iter_ == theirs.n_iter_ and ours.out_activation_ == theirs.out_activation_
    assert ours.n_outputs_ == theirs.n_outputs_ and ours.n_layers_ == theirs.n_layers_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9 if problem != "multi-output" else 0.5)
    if problem != "multi-output":  # scikit-learn steps along K times the gradient of its own loss (module docstring)
        for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X)) if est is PerceptronClassifier else None
    for attr in ("loss_curve_", "validation_scores_", "best_loss_", "best_validation_score_"):
        a, b = getattr(ours, attr, "absent"), getattr(theirs, attr, "absent")
        assert (a is None) == (b is None) and (a == "absent") == (b == "absent"), attr
        if problem != "multi-output" and a is not None and a != "absent":
            np.testing.assert_allclose(a, b, rtol=1e-9, err_msg=attr)


def test_sparse_and_float32_follow_sklearn():
    rng = np.random.RandomState(1)
    X = rng.random_sample((80, 30)) * (rng.random_sample((80, 30)) < 0.2)
    y = (X.sum(axis=1) > np.median(X.sum(axis=1))).astype(int)
    for Xin in (sp.csr_matrix(X), sp.csc_array(X), X.astype(np.float32)):
        kw = dict(hidden_layer_sizes=(6,), solver="adam", max_iter=15, batch_size=20, random_state=0)
        ours = _quiet(lambda: PerceptronClassifier(**kw).fit(Xin, y))  # noqa: B023
        theirs = _quiet(lambda: MLPClassifier(**kw).fit(Xin, y))  # noqa: B023
        assert ours.coefs_[0].dtype == theirs.coefs_[0].dtype
        rtol = 1e-4 if ours.coefs_[0].dtype == np.float32 else 1e-9
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
        np.testing.assert_allclose(ours.predict_proba(Xin), theirs.predict_proba(Xin), rtol=rtol, atol=1e-6)


def test_one_class_behaves_as_sklearn():
    X = np.arange(12.0).reshape(6, 2)
    y = np.full(6, "only")
    ours = _quiet(lambda: PerceptronClassifier(hidden_layer_sizes=(3,), random_state=0, max_iter=5).fit(X, y))
    theirs = _quiet(lambda: MLPClassifier(hidden_layer_sizes=(3,), random_state=0, max_iter=5).fit(X, y))
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.coefs_[-1].shape == theirs.coefs_[-1].shape == (3, 1)


def test_assigned_coefs_are_the_network():
    """coefs_/intercepts_ are views of the network (writes go through), and assigned arrays are taken over;
    the predictions follow a forward pass computed here by hand."""
    X, y = load_iris(return_X_y=True)
    clf = _quiet(lambda: PerceptronClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y))
    assert np.shares_memory(clf.coefs_[0], clf.net_.flat_params)
    clf.coefs_[0][...] = 0.01  # in place
    rng = np.random.RandomState(2)
    clf.coefs_[1] = rng.standard_normal((5, 3))  # a new array for one layer
    clf.intercepts_ = [np.zeros(5), rng.standard_normal(3)]  # a new list
    h = np.maximum(X @ np.full((4, 5), 0.01), 0.0)
    z = h @ clf.coefs_[1] + clf.intercepts_[1]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), p / p.sum(axis=1, keepdims=True), rtol=1e-12)
    assert np.shares_memory(clf.coefs_[1], clf.net_.flat_params)  # bound again
    with pytest.raises(ValueError, match="do not make a network"):
        clf.coefs_ = [np.zeros((4, 5)), np.zeros((6, 3))]
        clf.predict(X)


def test_saved_regressor_keeps_training_and_feature_names(tmp_path):
    """Save, load, partial_fit: as scikit-learn's regressor continued with a fresh optimiser (the file keeps
    weights, not optimiser state); DataFrame feature names survive and reordered columns are refused."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.standard_normal((60, 3)), columns=["a", "b", "c"])
    y = X["a"] - 2 * X["b"]
    kw = dict(
        hidden_layer_sizes=(np.int64(6),),
        alpha=np.float64(1e-3),
        batch_size=np.int64(16),
        max_iter=np.int64(20),
        random_state=0,
    )
    ours = _quiet(lambda: PerceptronRegressor(**kw).fit(X, y))
    theirs = _quiet(lambda: MLPRegressor(**kw).fit(X, y))
    ours.save(tmp_path / "reg.npz")
    back = perceptrons.load(tmp_path / "reg.npz")
    assert list(back.feature_names_in_) == ["a", "b", "c"]
    assert back.get_params() == {**ours.get_params(), "hidden_layer_sizes": [6]}
    np.testing.assert_array_equal(back.predict(X), ours.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        back.predict(X[["b", "a", "c"]])
    del theirs._optimizer  # the state a file does not keep
    for _ in range(3):
        back.partial_fit(X, y)
        theirs.partial_fit(X, y)
    np.testing.assert_allclose(back.predict(X), theirs.predict(X), rtol=1e-9)
    back.set_params(warm_start=True, max_iter=2)
    _quiet(lambda: back.fit(X, y))
    assert back.n_iter_ == 2


def test_saved_multilabel_classifier_round_trip(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 4))
    Y = (X[:, :3] > 0).astype(int)
    clf = _quiet(lambda: PerceptronClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, Y))
    clf.save(tmp_path / "ml.npz")
    back = perceptrons.load(tmp_path / "ml.npz")
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    assert not hasattr(back, "loss_curve_")  # L-BFGS keeps none, as scikit-learn's
    back.set_params(solver="sgd").partial_fit(X, Y)
    assert back.predict(X).shape == Y.shape


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


@pytest.mark.parametrize("data", ["diabetes", "make_regression"])
def test_r2_matches_mlpregressor(data):
    """Test R^2 over seeds within one point of scikit-learn's MLPRegressor, same hyper-parameters."""
    if data == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    else:
        X, y = make_regression(n_samples=2000, n_features=8, noise=10.0, random_state=0)
    y = (y - y.mean()) / y.std()
    ours, theirs = [], []
    for seed in range(3):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=seed)
        kw = dict(hidden_layer_sizes=(32,), learning_rate_init=1e-3, max_iter=200, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours.append(make_pipeline(StandardScaler(), PerceptronRegressor(**kw)).fit(Xtr, ytr).score(Xte, yte))
            theirs.append(make_pipeline(StandardScaler(), MLPRegressor(**kw)).fit(Xtr, ytr).score(Xte, yte))
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
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 5 and clf.t_ == 5 * len(y)  # n_iter_ counts per call
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
    with pytest.raises(FloatingPointError, match=r"non-finite parameter weights.*diverged in epoch \d+.*learning rate"):
        clf.fit(X * 1e100, y)
    assert all(np.isfinite(c).all() for c in clf.coefs_)


@pytest.mark.parametrize(
    "params, exc, words",
    [
        (dict(hidden_layer_sizes=(0,)), ValueError, "hidden_layer_sizes must be > 0"),
        (dict(activation="softplus"), ValueError, "'activation' parameter of PerceptronClassifier must be a str among"),
        (dict(solver="newton"), ValueError, "'solver' parameter"),
        (dict(learning_rate_init=0), ValueError, "'learning_rate_init' parameter .* in the range \\(0.0, inf\\)"),
        (dict(batch_size=0), ValueError, "'batch_size' parameter"),
        (dict(momentum=1.2), ValueError, "'momentum' parameter .* in the range \\[0.0, 1.0\\]"),
        (dict(max_iter="10"), TypeError, "'max_iter' parameter .* int in the range"),
        (dict(validation_fraction=1.0), ValueError, "'validation_fraction' parameter .* in the range \\[0.0, 1.0\\)"),
        (dict(init="zeros"), ValueError, "'init' parameter"),
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
        (np.array([["a", "b"], ["c", "d"]]), [0, 1], "could not convert"),
        (np.ones((4, 2)), [0.5, 1.5, 0.2, 0.1], "Unknown label type"),
    ],
)
def test_bad_data(X, y, words):
    with pytest.raises(ValueError, match=words):
        PerceptronClassifier(max_iter=2).fit(X, y)
