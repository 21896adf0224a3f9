"""``PerceptronClassifier``: a scikit-learn classifier over the core (not a second implementation).

Parameters carry scikit-learn's ``MLPClassifier`` names wherever the meaning is the same, so it is a
drop-in. Conventions that differ, stated once:

- scikit-learn's loss adds ``alpha / (2 n_batch) * sum ||W||^2`` to the mean cross-entropy of a batch;
  the core's loss adds ``(alpha_core / 2) sum ||W||^2``, so each epoch trains with
  ``alpha_core = alpha / batch_size`` (the same objective, except on an epoch's shorter last batch).
- Binary problems use two softmax outputs (scikit-learn uses one logistic unit): the same family of
  decision functions, and one code path for every number of classes.
- ``init="auto"`` is He for ReLU and Glorot (uniform, zero biases) otherwise; ``"normal"`` is the course's.
- Divergence: if the loss becomes NaN/inf, ``fit`` raises ``FloatingPointError`` naming the epoch and
  suggesting a smaller ``learning_rate_init``; the network keeps the last weights whose loss was finite.
"""

from __future__ import annotations

import numbers
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from . import io as model_files
from .core import MLP, SGD, Adam, TrainingDiverged, forward, train
from .core.heads import log_softmax, softmax
from .core.threads import blas_threads_for

_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}


def _check_param(
    name: str,
    value: Any,
    kind: type | tuple[type, ...],
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    if isinstance(value, (bool, np.bool_)) and kind is not bool or not isinstance(value, kind):
        raise TypeError(f"{name} must be {getattr(kind, '__name__', kind)}, got {value!r} ({type(value).__name__}).")
    v = float(value)  # type: ignore[arg-type]
    if v != v:  # NaN passes every comparison below
        raise ValueError(f"{name} must be a number, got {value!r}.")
    if low is not None and (v <= low if low_open else v < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}.")
    if high is not None and (v >= high if high_open else v > high):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}.")


def _classes_from_file(classes: Any, dtype_text: Any) -> NDArray[Any]:
    """The saved ``classes_``: a flat list of distinct labels, sorted, of a plain int/str dtype."""
    dtype = np.dtype(dtype_text) if isinstance(dtype_text, str) and len(dtype_text) <= 16 else None
    if dtype is None or dtype.kind not in "biufUS" or dtype.subdtype is not None or dtype.shape:
        raise ValueError(f"classes_dtype must be a plain int, float or str dtype, got {str(dtype_text)[:40]!r}")
    if not isinstance(classes, list) or any(isinstance(c, (list, dict)) for c in classes):
        raise ValueError("classes must be a flat list of labels")
    out = np.array(classes, dtype=dtype)
    if out.tolist() != classes:  # e.g. "<U2" would cut "abc" to "ab", int64 would cut 0.5 to 0
        raise ValueError(f"classes {classes[:10]!r} do not fit classes_dtype {dtype_text!r}")
    if out.ndim != 1 or out.size < 2 or np.any(out[1:] <= out[:-1]):
        raise ValueError(f"classes must be at least two distinct labels in sorted order, got {classes[:10]!r}")
    return out


class PerceptronClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier trained by backpropagation (NumPy, from scratch).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,); ``()`` is a single-layer perceptron
    activation : {"relu", "tanh", "logistic", "identity"}
    solver : {"adam", "sgd"}
    alpha : L2 strength, scikit-learn's convention (see the module docstring)
    batch_size : int or "auto" (= min(200, n_samples))
    learning_rate_init, max_iter, shuffle, random_state, tol, verbose, warm_start, momentum,
    nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon,
    n_iter_no_change : as in ``sklearn.neural_network.MLPClassifier``
    init : {"auto", "normal", "he", "glorot"}

    Attributes
    ----------
    classes_, n_features_in_, coefs_, intercepts_, loss_curve_, n_iter_, history_ (list of the
    core's per-epoch :class:`~perceptrons.History`), net_ (the :class:`~perceptrons.MLP`),
    validation_scores_ and best_validation_score_ with early stopping, best_loss_ without.
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate_init: float = 0.001,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        init: str = "auto",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.init = init

    # -- validation --------------------------------------------------------------------------
    def _hidden(self) -> list[int]:
        h = self.hidden_layer_sizes
        if isinstance(h, numbers.Integral) and not isinstance(h, bool):
            h = [h]
        try:
            sizes = list(h)
        except TypeError:
            raise TypeError(f"hidden_layer_sizes must be a tuple of ints like (100,), got {h!r}.") from None
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise TypeError(f"hidden_layer_sizes must hold ints, got {s!r} in {h!r}.")
            if s < 1:
                raise ValueError(f"hidden_layer_sizes must be > 0, got {s} in {h!r}; every layer needs a unit.")
        return [int(s) for s in sizes]

    def _validate_params(self) -> None:  # type: ignore[override]
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}.")
        if self.solver not in ("adam", "sgd"):
            raise ValueError(f"solver must be 'adam' or 'sgd' (lbfgs is not implemented), got {self.solver!r}.")
        if self.init not in ("auto", "normal", "he", "glorot"):
            raise ValueError(f"init must be one of ['auto', 'glorot', 'he', 'normal'], got {self.init!r}.")
        _check_param("alpha", self.alpha, numbers.Real, 0.0)
        _check_param("learning_rate_init", self.learning_rate_init, numbers.Real, 0.0, low_open=True)
        _check_param("max_iter", self.max_iter, numbers.Integral, 1)
        _check_param("tol", self.tol, numbers.Real, 0.0)
        _check_param("momentum", self.momentum, numbers.Real, 0.0, 1.0, high_open=True)
        _check_param("validation_fraction", self.validation_fraction, numbers.Real, 0.0, 1.0, True, True)
        _check_param("beta_1", self.beta_1, numbers.Real, 0.0, 1.0, high_open=True)
        _check_param("beta_2", self.beta_2, numbers.Real, 0.0, 1.0, high_open=True)
        _check_param("epsilon", self.epsilon, numbers.Real, 0.0, low_open=True)
        _check_param("n_iter_no_change", self.n_iter_no_change, numbers.Integral, 1)
        if self.batch_size != "auto":
            _check_param("batch_size", self.batch_size, numbers.Integral, 1)
        self._hidden()

    def _rng(self) -> np.random.Generator:
        rs = self.random_state
        if rs is None or isinstance(rs, np.random.Generator):
            return np.random.default_rng(rs)
        if isinstance(rs, np.random.RandomState):
            return np.random.default_rng(rs.randint(2**31))
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return np.random.default_rng(int(rs))
        raise ValueError(f"random_state must be None, an int, a RandomState or a Generator, got {rs!r}.")

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> PerceptronClassifier:
        """Train on (X, y) for up to ``max_iter`` epochs; returns self."""
        return self._fit(X, y, incremental=False, classes=None)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> PerceptronClassifier:
        """One epoch on (X, y); ``classes`` (all labels) is required on the first call."""
        return self._fit(X, y, incremental=True, classes=classes)

    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any) -> PerceptronClassifier:
        self._validate_params()
        first = not (incremental or self.warm_start) or not hasattr(self, "net_")
        X, y = validate_data(self, X, y, reset=first, dtype=np.float64)
        check_classification_targets(y)
        if first:
            if incremental:
                if classes is None:
                    raise ValueError("classes must be passed on the first call to partial_fit (all the labels).")
                self.classes_ = unique_labels(classes)
            else:
                self.classes_ = unique_labels(y)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"y has only one class ({self.classes_[0]!r}); a classifier needs at least 2 classes to learn."
                )
        elif incremental and classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(
                f"classes {list(unique_labels(classes))} differ from the first call's {list(self.classes_)}."
            )
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels {list(unknown)} not among the classes {list(self.classes_)}.")
        codes = np.searchsorted(self.classes_, y)
        rng: np.random.Generator = self._rng() if first else self._rng_
        if first:
            sizes = [X.shape[1], *self._hidden(), len(self.classes_)]
            self.net_ = MLP(sizes, activation=_ACTIVATIONS[self.activation], init=self.init, seed=rng)
            self._rng_: np.random.Generator = rng
            self.loss_curve_: list[float] = []
            self.history_: list[Any] = []
            self.n_iter_ = 0
            self.t_ = 0
            self._opt = None
            self.best_loss_ = np.inf
            self._no_improvement = 0
            if self.early_stopping and not incremental:
                self.validation_scores_: list[float] = []
                self.best_validation_score_ = -np.inf
        if self._opt is None or not (incremental or self.warm_start):
            self._opt = (
                Adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
                if self.solver == "adam"
                else SGD(self.learning_rate_init, self.momentum, self.nesterovs_momentum)
            )
        early = self.early_stopping and not incremental
        if early:
            X, X_val, codes, y_val = train_test_split(
                X, codes, test_size=self.validation_fraction, stratify=codes, random_state=int(rng.integers(2**31))
            )
            best_params = {k: v.copy() for k, v in self.net_.params.items()}
        n = X.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        epochs = 1 if incremental else self.max_iter
        order_rng = rng
        for _ in range(epochs):
            sampling: Any = "epochs" if self.shuffle else np.arange(n)
            try:
                hist = train(
                    self.net_,
                    X,
                    codes,
                    opt=self._opt,
                    batch_size=batch,
                    sampling=sampling,
                    epochs=1 if self.shuffle else None,
                    alpha=self.alpha / batch,
                    seed=order_rng,
                )
            except TrainingDiverged as exc:
                raise TrainingDiverged(
                    f"PerceptronClassifier diverged in epoch {self.n_iter_ + 1}: {exc} "
                    f"(here: learning_rate_init={self.learning_rate_init})",
                    exc.history,
                ) from None
            epoch_loss = float(hist.loss @ hist.batch_sizes / hist.batch_sizes.sum())
            self.history_.append(hist)
            self.loss_curve_.append(epoch_loss)
            self.n_iter_ += 1
            self.t_ += n
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {epoch_loss:.8f}")
            if early:
                score = float(np.mean(forward(self.net_.params, X_val, self.net_.activation).argmax(1) == y_val))
                self.validation_scores_.append(score)
                if score < self.best_validation_score_ + self.tol:
                    self._no_improvement += 1
                else:
                    self._no_improvement = 0
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best_params = {k: v.copy() for k, v in self.net_.params.items()}
            else:
                if epoch_loss > self.best_loss_ - self.tol:
                    self._no_improvement += 1
                else:
                    self._no_improvement = 0
                self.best_loss_ = min(self.best_loss_, epoch_loss)
            if not incremental and self._no_improvement > self.n_iter_no_change:
                break
        else:
            if not incremental and self.max_iter > 0:
                warnings.warn(
                    f"PerceptronClassifier stopped at max_iter={self.max_iter} before the loss settled; "
                    "increase max_iter or learning_rate_init.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
        if early:
            self.net_.params = best_params
        self._no_improvement = 0 if not incremental else self._no_improvement
        return self

    # -- prediction --------------------------------------------------------------------------
    def _logits(self, X: Any) -> NDArray[Any]:
        check_is_fitted(self, "net_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with blas_threads_for(X.shape[0], self.net_.sizes, self.net_.dtype):
            return forward(self.net_.params, X, self.net_.activation)

    def predict_proba(self, X: Any) -> NDArray[Any]:
        """Class probabilities (N, n_classes), columns in the order of ``classes_``."""
        return softmax(self._logits(X))

    def predict_log_proba(self, X: Any) -> NDArray[Any]:
        """Log-probabilities (N, n_classes), by log-sum-exp."""
        return log_softmax(self._logits(X))

    def predict(self, X: Any) -> NDArray[Any]:
        """Most probable class label for each row."""
        codes = self._logits(X).argmax(axis=1)
        return self.classes_[codes]  # type: ignore[no-any-return]

    @property
    def coefs_(self) -> list[NDArray[Any]]:
        check_is_fitted(self, "net_")
        return [self.net_.params[f"W{i}"] for i in range(self.net_.n_layers)]

    @property
    def intercepts_(self) -> list[NDArray[Any]]:
        check_is_fitted(self, "net_")
        return [self.net_.params[f"b{i}"] for i in range(self.net_.n_layers)]

    # -- files -------------------------------------------------------------------------------
    def to_file(self) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        """The arrays and JSON metadata of the fitted estimator's model file (see :mod:`perceptrons.io`)."""
        check_is_fitted(self, "net_")
        params = self.get_params()
        if not (params["random_state"] is None or isinstance(params["random_state"], numbers.Integral)):
            params["random_state"] = None  # a RandomState or Generator has no JSON form; the seed is not kept
        params["hidden_layer_sizes"] = self._hidden()
        kind = self.classes_.dtype.kind
        if kind not in "biufUS":
            raise TypeError(f"cannot save class labels of dtype {self.classes_.dtype}; use ints or strings.")
        arrays, net_meta = self.net_.to_file()
        meta = {
            "kind": "PerceptronClassifier",
            "params": params,
            "net": net_meta,
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "n_features_in": int(self.n_features_in_),
            "loss_curve": self.loss_curve_,
            "n_iter": self.n_iter_,
            "t": int(getattr(self, "t_", 0)),
        }
        return arrays, meta

    @classmethod
    def from_file(cls, arrays: dict[str, Any], meta: dict[str, Any]) -> PerceptronClassifier:
        """Rebuild a fitted estimator from :meth:`to_file`'s arrays and metadata (ValueError if inconsistent)."""
        if not isinstance(meta.get("params"), dict):
            raise ValueError("the classifier's 'params' must be an object of constructor arguments")
        clf = cls(**meta["params"])
        clf._validate_params()  # crafted values (a negative learning rate...) are refused, not half-loaded
        clf.net_ = MLP.from_file(arrays, meta["net"])
        clf.classes_ = _classes_from_file(meta["classes"], meta["classes_dtype"])
        clf.n_features_in_ = int(meta["n_features_in"])
        curve, n_iter = meta["loss_curve"], meta["n_iter"]
        if not isinstance(curve, list) or not all(isinstance(v, (int, float)) for v in curve):
            raise ValueError("loss_curve must be a list of numbers")
        if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 0:
            raise ValueError(f"n_iter must be a non-negative int, got {n_iter!r}")
        clf.loss_curve_ = list(curve)
        clf.n_iter_ = n_iter
        clf.t_ = int(meta.get("t", 0))
        clf.history_ = []
        # what a later partial_fit or warm-started fit continues from (the optimiser starts afresh)
        clf._rng_ = clf._rng()
        clf._opt = None
        clf.best_loss_ = min(clf.loss_curve_, default=np.inf)
        clf._no_improvement = 0
        sizes = clf.net_.sizes
        if sizes[0] != clf.n_features_in_ or sizes[-1] != len(clf.classes_) or sizes[1:-1] != clf._hidden():
            raise ValueError(
                f"the network has sizes {sizes}, but the classifier declares {clf.n_features_in_} features, "
                f"hidden layers {clf._hidden()} and {len(clf.classes_)} classes"
            )
        return clf

    def save(self, path: str | Path) -> None:
        """Save the fitted estimator (``.npz`` + JSON metadata, atomic); ``perceptrons.load`` reads it."""
        model_files.save_arrays(path, *self.to_file())


model_files.READERS["PerceptronClassifier"] = PerceptronClassifier.from_file
model_files.LAYOUTS["PerceptronClassifier"] = lambda meta: MLP.file_layout(meta["net"])
