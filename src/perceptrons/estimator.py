"""``PerceptronClassifier`` and ``PerceptronRegressor``: scikit-learn's ``MLPClassifier`` and ``MLPRegressor``
over the core (not a second implementation), drop-in replacements that pass scikit-learn's own MLP tests.

Same parameters, the same accepted values and error types (scikit-learn's ``_parameter_constraints``),
the same attributes with the same meaning (``coefs_``, ``intercepts_``, ``n_iter_`` per call, ``t_``,
``loss_``, ``loss_curve_``, ``best_loss_``, ``validation_scores_``, ``out_activation_``, ...). The output
layer is the core's head of the same name: ``softmax`` (several classes), ``logistic`` (two classes with
one output unit, or multilabel), ``identity`` (squared error), ``exp`` (``loss="poisson"``).

Conventions, stated once:

- scikit-learn's loss of a batch adds ``alpha / (2 S) * sum ||W||^2`` to the head's weighted mean loss,
  ``S`` the batch's sum of sample weights (its size without weights); the core adds
  ``(alpha_core / 2) sum ||W||^2``, so every batch is computed with ``alpha_core = alpha / S``: the same
  objective and the same gradient, batch by batch (and for L-BFGS over the whole set).
- ``solver="lbfgs"`` is scipy's L-BFGS-B over the network's flat parameter vector (``maxiter=max_iter``,
  ``maxfun=max_fun``, ``gtol=tol``); the stochastic solvers are the core's ``SGD``/``Adam`` with
  scikit-learn's learning-rate schedules around them.
- ``coefs_`` and ``intercepts_`` are views into ``net_.flat_params``: writing into them changes the
  network. Assigning new arrays (``est.coefs_[0] = W`` or ``est.coefs_ = [...]``) is also honoured: the
  network takes them over at its next use (``predict``, ``partial_fit``, a warm-started ``fit``).
- Randomness: ``random_state`` (None, an int or a ``RandomState``) is read at each ``fit``/``partial_fit``
  call and drawn from in scikit-learn's order, so the same ``random_state`` gives scikit-learn's initial
  weights, validation split and sample order (``init="sklearn"``, the default; the core's ``"auto"``,
  ``"he"``, ``"glorot"``, ``"normal"`` are there too, seeded from it).
- Multi-output squared error: the gradient is the exact gradient of scikit-learn's loss (half the mean
  over samples *and* outputs); scikit-learn's own ``MLPRegressor`` steps along ``K`` times it.
- scikit-learn's ``array_api_dispatch`` (the ``array_api_support`` tag): with dispatch on and X an array of
  another library (PyTorch, CuPy, ``array_api_strict``), inputs are validated and labels encoded on the host
  once; ``solver="sgd"``/``"adam"`` then train the network on X's namespace and device (the core's
  ``PortableBackprop`` and optimisers; the epoch's loss is read once per epoch), and ``solver="lbfgs"`` runs
  scipy's L-BFGS-B on the host, the result moved to X's device. ``coefs_``, ``intercepts_`` and the other
  fitted arrays (but ``classes_``) are then of X's namespace and device, and so are predictions; ``y`` and
  ``sample_weight`` of another namespace follow X. A network fitted there predicts for X of that namespace
  and device only (a ValueError says so). Without dispatch nothing changes: NumPy arrays, NumPy's engine.
- Divergence: if an epoch's loss is NaN or infinite, ``fit`` raises :class:`NonFiniteWeights` (a
  ``ValueError`` with scikit-learn's message, and a ``FloatingPointError``) naming the epoch and the
  learning rate; the network keeps the weights it had before that epoch. With ``early_stopping`` the
  diverged epoch scores NaN, training stops, and the best weights are restored, as in scikit-learn.
"""

from __future__ import annotations

import math
import numbers
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import io as model_files
from .core import MLP, SGD, Adam, loss_and_grads, memory
from .core.devices import NUMPY, device_of, is_numpy, namespace, namespace_of, to_namespace, to_numpy
from .core.fused import FusedBackprop
from .core.heads import HEADS, log_softmax, sigmoid, softmax
from .core.network import INITS, ParamViews, forward_in_blocks, param_shapes
from .core.portable import PortableBackprop
from .core.threads import blas_threads_for
from .core.validation import check_sample_weight

Array = NDArray[Any]

#: scikit-learn's activation names -> the core's
ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}
_INIT = {"init": [StrOptions({"sklearn", *INITS})]}
_STOCHASTIC = ("sgd", "adam")
_RECORDS = ("loss_", "loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_")
_NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values and need to be preprocessed."
)


class NonFiniteWeights(FloatingPointError, ValueError):
    """Training diverged: the loss (and with it the weights) became NaN or infinite. A ``ValueError`` as in
    scikit-learn, and a ``FloatingPointError`` as the core's ``TrainingDiverged``."""


class _Optimizer:
    """The core's update rule (``SGD`` or ``Adam``) with scikit-learn's learning-rate schedule around it.

    ``learning_rate`` is the current rate. ``"invscaling"``: ``learning_rate_init / (t + 1) ** power_t``
    after each epoch, ``t`` the samples seen; ``"adaptive"``: divided by 5 each time training stalls
    (stopping once it is <= 1e-6); Adam keeps its rate (its bias correction is in the rule).
    """

    def __init__(self, rule: SGD | Adam, schedule: str, power_t: float) -> None:
        self.rule, self.schedule, self.power_t = rule, schedule, float(power_t)
        self.learning_rate_init = rule.lr

    @property
    def learning_rate(self) -> float:
        return self.rule.lr

    def step(self, theta: Array, grad: Array) -> None:
        self.rule.step({"theta": theta}, {"theta": grad})

    def iteration_ends(self, t: int) -> None:
        if self.schedule == "invscaling":
            self.rule.lr = self.learning_rate_init / (t + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: Any) -> bool:
        """Whether training that stalled stops (else the rate was lowered and training goes on)."""
        if self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.rule.lr <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.rule.lr /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.rule.lr:f}")
        return False


class _Objective:
    """Loss and gradient of a network on rows of the training data, the gradient into one flat vector.

    Dense X: the core's fused engine on ``[X, 1]`` (made once). Sparse X (CSR): the reference backward pass,
    which uses X only in products (never densified).
    """

    def __init__(self, net: MLP, X: Any) -> None:
        self.net = net
        self.grad = np.empty_like(net.flat_params)
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.grads = ParamViews(self.grad, param_shapes(net.sizes))
            self.rows: Any = sp.csr_matrix(X, dtype=net.dtype)
        else:
            self.engine = FusedBackprop(net.sizes, net.activation, net.output, net.flat_params, self.grad)
            self.rows = self.engine.prepare(X)

    def __call__(self, rows: Any, T: Array, w: Array | None, alpha: float) -> float:
        """The loss of ``rows`` (rows of ``self.rows``) with targets ``T`` and weights ``w``; gradient in ``grad``."""
        if self.sparse:
            net = self.net
            loss, grads = loss_and_grads(net.params, rows, T, net.activation, net.output, alpha, 0.0, w)
            for k, g in grads.items():
                self.grads[k][...] = g
            return loss
        self.engine.alpha = alpha
        return self.engine(rows, T, w)[0]

    @staticmethod
    def take(a: Array, order: Array) -> Array:
        """Rows ``order`` of the dense rows ``a``."""
        return a.take(order, axis=0)


class _DeviceObjective:
    """:class:`_Objective`'s twin for a network of another Array API library (PyTorch, CuPy,
    ``array_api_strict``): the core's :class:`~perceptrons.core.portable.PortableBackprop` on the network's
    device. The rows are moved there once; each batch's loss stays a 0-d array on the device (the epoch reads
    its sum once), and the gradient is written into ``grad`` there."""

    sparse = False

    def __init__(self, net: MLP, X: Any) -> None:
        self.net = net
        self.grad = net.xp.zeros_like(net.flat_params)
        self.engine = PortableBackprop(net.sizes, net.activation, net.output, net.flat_params, self.grad)
        self.rows = to_namespace(X, net.xp, net.device)

    def __call__(self, rows: Any, T: Any, w: Any, alpha: float) -> Any:
        """The loss of ``rows`` (a 0-d float64 array on the device); gradient in ``grad``."""
        self.engine.alpha = alpha
        loss = self.engine(rows, T, w)[0]
        return self.net.xp.astype(loss, self.net.xp.float64)

    def take(self, a: Any, order: Array) -> Any:
        """Rows ``order`` (host indices, sent once) of the device array ``a``."""
        xp = self.net.xp
        return xp.take(a, to_namespace(order, xp, self.net.device), axis=0)


def _objective(net: MLP, X: Any) -> _Objective | _DeviceObjective:
    """The loss and gradient engine for ``net``'s library: NumPy's fused engine, or the portable one."""
    return _Objective(net, X) if isinstance(net.flat_params, np.ndarray) else _DeviceObjective(net, X)


class _BasePerceptron(BaseEstimator):
    """What both estimators share: validation, the two solvers, the network behind ``coefs_``, files."""

    # the hyper-parameters both estimators take (set by their __init__), and what fitting sets
    hidden_layer_sizes: Any
    activation: str
    solver: str
    alpha: float
    batch_size: int | str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    random_state: Any
    tol: float
    verbose: Any
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: float
    max_fun: int
    init: str
    _kind: str
    net_: MLP
    coefs_: list[Array]
    intercepts_: list[Array]
    _best_params: Any  # a copy of the flat parameters, in the network's namespace and on its device

    # -- parameters -------------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:
        h = self.hidden_layer_sizes
        sizes = list(h) if hasattr(h, "__iter__") else [h]
        for s in sizes:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
                raise TypeError(f"hidden_layer_sizes must hold ints, got {s!r} in {h!r}; pass e.g. (100,).")
        if any(s <= 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be > 0, got {[int(s) for s in sizes]}; every layer needs a unit."
            )
        return [int(s) for s in sizes]

    def _random_state(self) -> np.random.RandomState:
        """The call's source of randomness, from ``random_state`` as scikit-learn reads it at each call: an int
        seeds a new ``RandomState``, a ``RandomState`` is used (and moves on), None is fresh OS entropy (not
        NumPy's global state). Drawn in scikit-learn's order (initial weights, validation split, one shuffle
        per epoch), so the same ``random_state`` gives scikit-learn's initial network and sample order."""
        rs = self.random_state
        return np.random.RandomState() if rs is None else check_random_state(rs)

    # -- the network behind coefs_ / intercepts_ --------------------------------------------------
    def _bind_views(self) -> None:
        net = self.net_
        self.coefs_ = [net.params[f"W{i}"] for i in range(net.n_layers)]
        self.intercepts_ = [net.params[f"b{i}"] for i in range(net.n_layers)]

    def _views_bound(self) -> bool:
        net = self.__dict__.get("net_")
        coefs, intercepts = self.__dict__.get("coefs_"), self.__dict__.get("intercepts_")
        if net is None or coefs is None or intercepts is None:
            return False
        n = net.n_layers
        return (
            len(coefs) == n
            and len(intercepts) == n
            and all(coefs[i] is net.params[f"W{i}"] and intercepts[i] is net.params[f"b{i}"] for i in range(n))
        )

    def _network(self) -> MLP:
        """``net_``, after taking over any arrays assigned to ``coefs_``/``intercepts_`` since it was made."""
        if self._views_bound():
            return self.net_
        coefs = [np.asarray(c) if is_numpy(c) else to_numpy(c) for c in self.coefs_]
        intercepts = [np.atleast_1d(np.asarray(b) if is_numpy(b) else to_numpy(b)) for b in self.intercepts_]
        shapes = [c.shape for c in coefs]
        sizes = [shapes[0][0], *(s[1] for s in shapes)] if shapes and all(len(s) == 2 for s in shapes) else None
        if (
            sizes is None
            or len(intercepts) != len(coefs)
            or any(shapes[i][0] != sizes[i] for i in range(len(shapes)))
            or any(b.shape != (s[1],) for b, s in zip(intercepts, shapes))
        ):
            raise ValueError(
                f"coefs_ and intercepts_ do not make a network: weight shapes {shapes}, bias shapes "
                f"{[b.shape for b in intercepts]}; layer i needs W (fan_in, fan_out) and b (fan_out,), each fan_in "
                "the previous fan_out."
            )
        new = {**{f"W{i}": c for i, c in enumerate(coefs)}, **{f"b{i}": b for i, b in enumerate(intercepts)}}
        net = self.__dict__.get("net_")
        if net is not None and net.sizes == sizes:
            net.params = new  # copied into the one buffer: the optimiser's state stays valid
        else:
            dtype = np.float32 if all(a.dtype == np.float32 for a in coefs + intercepts) else np.float64
            net = MLP(sizes, ACTIVATIONS[self.activation], self.out_activation_, seed=0, dtype=dtype)
            net.params = new
            self.__dict__.pop("_optimizer", None)  # its state belongs to another shape
        self.net_ = net
        self._bind_views()
        return net

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()  # type: ignore[misc]
        if self._views_bound():  # views are rebuilt from the network, never stored twice
            state = {k: v for k, v in state.items() if k not in ("coefs_", "intercepts_")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]
        if "net_" in self.__dict__ and "coefs_" not in self.__dict__:
            self._bind_views()

    # -- fitting ----------------------------------------------------------------------------------
    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[Any, Array]:
        raise NotImplementedError

    def _out_activation(self) -> str:
        raise NotImplementedError

    def _score_predictions(self, y: Any, z: Array, sample_weight: Array | None) -> float:
        raise NotImplementedError

    def _val_targets(self, Y: Array) -> Any:
        raise NotImplementedError

    def _stratify(self, Y: Array) -> Array | None:
        return None

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> Any:
        place = _dispatch_place(X)
        # validated on the host (scikit-learn's checks and label handling); the rows go to X's device once
        X, y, sample_weight = _on_host(X), _on_host(y), _on_host(sample_weight)
        self._validate_params()
        hidden = self._hidden_sizes()
        first = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first)
        w = _sample_weight(sample_weight, X.shape[0])
        self._check_memory(X, [X.shape[1], *hidden, Y.shape[1]])
        rng = self._random_state()
        if first:
            self._initialize([X.shape[1], *hidden, Y.shape[1]], X.dtype, rng)
        net = self._network() if first else self._continued_network(hidden, X.shape[1], Y.shape[1], incremental)
        lbfgs = self.solver == "lbfgs"
        net = self._placed(net, None if lbfgs else place)  # scipy's L-BFGS-B runs on the host
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if lbfgs:
                self._fit_lbfgs(net, X, Y, w)
            else:
                self._fit_stochastic(net, X, Y, w, rng, incremental)
        net = self._placed(net, place)
        if not _all_finite(net.flat_params):
            raise NonFiniteWeights(_NON_FINITE)
        return self

    def _placed(self, net: MLP, place: tuple[Any, Any] | None) -> MLP:
        """``net`` as ``net_`` in the namespace and on the device ``place`` (None: NumPy on the host), moved
        (a copy) only if it lives elsewhere. A moved network starts a new optimiser state (the old one's arrays
        belong to the other library), as scikit-learn's would on a new namespace."""
        xp, device = place if place is not None else (NUMPY, "cpu")
        theta = net.flat_params
        if namespace_of(theta) is namespace(xp) and device_of(theta) == device:
            return net
        moved = net.to(xp, device if place is not None else None)
        self.net_ = moved
        self._bind_views()
        self._best_params = to_namespace(self._best_params, moved.xp, moved.device, copy=True)
        self.__dict__.pop("_optimizer", None)
        return moved

    def _check_memory(self, X: Any, units: list[int]) -> None:
        """Refuse a fit whose working set exceeds the memory limit (:mod:`perceptrons.core.memory`), before
        allocating: the parameters (net, gradient, optimiser state, backup and best weights; L-BFGS's
        history of 10 pairs), one batch's activations and the rows copied once."""
        n = X.shape[0]
        lbfgs = self.solver == "lbfgs"
        if lbfgs:
            batch = n
        else:
            batch = min(200 if isinstance(self.batch_size, str) else int(self.batch_size), n)
        need = memory.training_bytes(
            units, batch, 0 if sp.issparse(X) else n, X.dtype.itemsize, param_copies=26 if lbfgs else 6
        )
        memory.check(
            f"{type(self).__name__}(hidden_layer_sizes={tuple(units[1:-1])}) on {n:,} samples x {units[0]:,} "
            f"features ({units[-1]} output{'s' if units[-1] != 1 else ''}, batches of {batch:,})",
            need,
        )

    def _continued_network(self, hidden: list[int], n_in: int, n_out: int, incremental: bool) -> MLP:
        """The fitted network, to go on training it (``warm_start`` or ``partial_fit``) after ``set_params``.

        As scikit-learn: the weights are reused where they still fit. A new ``activation`` keeps the weights
        and trains with the new activation (scikit-learn reads ``activation`` at each pass). Anything that
        changes the weights' shapes or the output layer (``hidden_layer_sizes``, the number of features or
        of outputs, the regressor's ``loss``) cannot reuse them and is a ValueError that says how to start a
        new network. scikit-learn refuses new features and classes alike; on new hidden sizes it goes on
        training the old shapes (or fails inside its solver), and on a new loss it keeps the old output
        layer: here a network of another shape or head than the parameters say is never trained.
        """
        net = self._network()
        how = "partial_fit" if incremental else "warm_start=True"
        fix = "fit without warm_start (set_params(warm_start=False)) or fit a new estimator to train a new network"
        old_hidden = net.sizes[1:-1]
        if old_hidden != hidden:
            raise ValueError(
                f"{how} cannot continue the fitted network: hidden_layer_sizes is {tuple(hidden)} now but the network "
                f"was fitted with {tuple(old_hidden)}, so its weights have other shapes. Set hidden_layer_sizes back to "
                f"{tuple(old_hidden)}, or {fix}."
            )
        out = self._out_activation()
        if out != net.output:
            raise ValueError(
                f"{how} cannot continue the fitted network: its output layer is {net.output!r}, the parameters now "
                f"ask for {out!r} (loss={getattr(self, 'loss', None)!r}). Set the parameters back, or {fix}."
            )
        if net.sizes[0] != n_in or net.sizes[-1] != n_out:
            raise ValueError(
                f"{how} cannot continue the fitted network: it has {net.sizes[0]} inputs and {net.sizes[-1]} outputs, "
                f"the data needs {n_in} and {n_out}; {fix}."
            )
        net.activation = ACTIVATIONS[self.activation]  # scikit-learn trains on with the new activation
        return net

    def _initialize(self, units: list[int], dtype: Any, rng: np.random.RandomState) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = units[-1]
        self.n_layers_ = len(units)
        self.out_activation_ = self._out_activation()
        self.net_ = self._new_network(units, dtype, rng)
        self._bind_views()
        self._best_params = self.net_.flat_params.copy()
        self.__dict__.pop("_optimizer", None)
        if self.solver in _STOCHASTIC:
            self._start_records()

    def _start_records(self) -> None:
        """The records of stochastic training, None where scikit-learn's are None."""
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _new_network(self, units: list[int], dtype: Any, rng: np.random.RandomState) -> MLP:
        """A network with initial weights: ``"sklearn"``, scikit-learn's (weights *and* biases uniform in
        +-sqrt(c / (fan_in + fan_out)), c = 2 for logistic hidden units and 6 otherwise, drawn layer by layer,
        W before b), or one of the core's ``init`` schemes (seeded from ``rng``)."""
        act = ACTIVATIONS[self.activation]
        init = self.init
        seed = 0 if init == "sklearn" else int(rng.randint(2**31 - 1))
        net = MLP(units, act, self.out_activation_, "glorot" if init == "sklearn" else init, seed=seed, dtype=dtype)
        if init == "sklearn":
            factor = 2.0 if act == "sigmoid" else 6.0
            for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
                bound = math.sqrt(factor / (fan_in + fan_out))
                net.params[f"W{i}"] = rng.uniform(-bound, bound, (fan_in, fan_out))
                net.params[f"b{i}"] = rng.uniform(-bound, bound, fan_out)
        return net

    def _targets(self, Y: Array, dtype: Any) -> Array:
        """The head's encoding of ``Y`` (N, n_outputs): class codes for softmax, floats otherwise."""
        return Y.argmax(axis=1) if self.out_activation_ == "softmax" else np.asarray(Y, dtype=dtype)

    def _fit_lbfgs(self, net: MLP, X: Any, Y: Array, w: Array | None) -> None:
        obj = _Objective(net, X)
        T = self._targets(Y, net.dtype)
        wd = None if w is None else w.astype(net.dtype)
        alpha = self.alpha / (X.shape[0] if w is None else float(w.sum()))
        theta = net.flat_params

        def loss_and_grad(x: Array) -> tuple[float, Array]:
            theta[...] = x
            loss = obj(obj.rows, T, wd, alpha)
            return loss, obj.grad.astype(np.float64)  # a copy: the buffer is reused at the next call

        with blas_threads_for(X.shape[0], net.sizes, net.dtype):
            res = scipy.optimize.minimize(
                loss_and_grad,
                theta.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
            )
        theta[...] = res.x
        self.n_iter_ = min(int(res.nit), int(self.max_iter))
        self.loss_ = float(res.fun)
        if self.verbose:
            print(f"L-BFGS-B: {res.nit} iterations, {res.nfev} evaluations, loss = {res.fun:.8f} ({res.message})")
        if res.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {res.nit} iteration(s) (status={res.status}): {res.message}. "
                f"Increase max_iter (now {self.max_iter}) or max_fun (now {self.max_fun}), or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _make_optimizer(self) -> _Optimizer:
        if self.solver == "sgd":
            rule: SGD | Adam = SGD(self.learning_rate_init, self.momentum, self.nesterovs_momentum)
            return _Optimizer(rule, self.learning_rate, self.power_t)
        rule = Adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        return _Optimizer(rule, "constant", 0.0)

    def _split(self, X: Any, Y: Array, w: Array | None, rng: np.random.RandomState) -> tuple[Any, ...]:
        """Training and validation parts for early stopping (stratified for one output, as scikit-learn)."""
        arrays = (X, Y) if w is None else (X, Y, w)
        parts = train_test_split(
            *arrays,
            random_state=rng,
            test_size=self.validation_fraction,
            stratify=self._stratify(Y),
        )
        X_tr, X_val, Y_tr, Y_val = parts[:4]
        w_tr, w_val = (None, None) if w is None else (parts[4], parts[5])
        if X_val.shape[0] < 2:
            raise ValueError(
                f"The validation set is too small ({X_val.shape[0]} sample). Increase 'validation_fraction' (now "
                f"{self.validation_fraction}) or the size of your dataset."
            )
        return X_tr, Y_tr, w_tr, X_val, self._val_targets(Y_val), w_val

    def _batch_size(self, n: int) -> int:
        if isinstance(self.batch_size, str):  # "auto"
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n} training samples; it is clipped to {n}.",
                UserWarning,
                stacklevel=5,
            )
        return min(int(self.batch_size), n)

    def _fit_stochastic(
        self, net: MLP, X: Any, Y: Array, w: Array | None, rng: np.random.RandomState, incremental: bool
    ) -> None:
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        if not hasattr(self, "loss_curve_"):  # a network trained by L-BFGS, now trained by SGD/Adam
            self._start_records()
        early = bool(self.early_stopping)
        X_val = y_val = w_val = None
        if early:
            X, Y, w, X_val, y_val, w_val = self._split(X, Y, w, rng)
        obj = _objective(net, X)
        T = self._targets(Y, net.dtype)
        wd = None if w is None else w.astype(net.dtype)
        n = X.shape[0]
        batch = self._batch_size(n)
        theta = net.flat_params
        backup = _copy(theta)
        order = np.arange(n)  # re-shuffled each epoch, as scikit-learn's sample_idx
        self.n_iter_ = 0
        with blas_threads_for(batch, net.sizes, net.dtype):
            for _ in range(self.max_iter):
                _assign(backup, theta)
                if self.shuffle:
                    order = order[rng.permutation(n)]
                loss = self._epoch(obj, T, wd, batch, order if self.shuffle else None)
                self.n_iter_ += 1
                self.loss_ = loss
                self.t_ += n
                self.loss_curve_.append(loss)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
                if not math.isfinite(loss):
                    if not early:
                        _assign(theta, backup)
                        raise self._diverged(loss)
                    self._update_no_improvement_count(True, None, None, None)  # a diverged network scores NaN
                    break
                self._update_no_improvement_count(early, X_val, y_val, w_val)
                self._optimizer.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if early else "Training loss"
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for "
                        f"{self.n_iter_no_change} consecutive epochs."
                    )
                    if self._optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                        "hasn't converged yet; increase max_iter or learning_rate_init.",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
        if early:
            _assign(theta, self._best_params)

    def _epoch(
        self, obj: _Objective | _DeviceObjective, T: Array, w: Array | None, batch: int, order: Array | None
    ) -> float:
        """One pass over the rows in batches, in ``order`` (rows permuted once, so each batch is a slice);
        returns scikit-learn's epoch loss (the mean of the batch losses weighted by batch sizes).

        ``T`` and ``w`` are host arrays; on a device network they are moved there once per epoch with the
        rows' order, the batches' weight sums are taken on the host, and the loss is read once, at the end."""
        rows, n = obj.rows, T.shape[0]
        if order is not None:  # take along axis 0: a gather of whole rows, faster than fancy indexing
            rows = rows[order] if obj.sparse else obj.take(rows, order)
            T, w = T.take(order, axis=0), None if w is None else w.take(order)
        T_rows, w_rows = T, w
        if isinstance(obj, _DeviceObjective):
            net = obj.net
            T_rows = to_namespace(T, net.xp, net.device)
            w_rows = None if w is None else to_namespace(w, net.xp, net.device)
        device = isinstance(obj, _DeviceObjective)
        theta, grad, step, alpha = obj.net.flat_params, obj.grad, self._optimizer.step, float(self.alpha)
        total: Any = 0.0
        for lo in range(0, n, batch):
            hi = min(lo + batch, n)
            cut: Any = (slice(lo, hi), ...) if device else slice(lo, hi)  # the standard indexes every axis
            if w is None:
                total += obj(rows[cut], T_rows[cut], None, alpha / (hi - lo)) * (hi - lo)
            else:
                s = float(w[lo:hi].sum())
                if s <= 0:  # a batch whose weights are all zero holds no data
                    continue
                total += obj(rows[cut], T_rows[cut], w_rows[cut], alpha / s) * (hi - lo)  # type: ignore[index]
            step(theta, grad)
        return float(total) / n

    def _update_no_improvement_count(self, early: bool, X_val: Any, y_val: Any, w_val: Array | None) -> None:
        if early:
            score = np.nan if X_val is None else self._validation_score(X_val, y_val, w_val)
            self.validation_scores_.append(score)  # type: ignore[union-attr]
            if self.verbose:
                print(f"Validation score: {score:f}")
            best = self.best_validation_score_
            if score < best + self.tol:  # type: ignore[operator]
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > best:  # type: ignore[operator]
                self.best_validation_score_ = score
                self._best_params = _copy(self.net_.flat_params)
        else:
            last = self.loss_curve_[-1]
            if last > self.best_loss_ - self.tol:  # type: ignore[operator]
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last < self.best_loss_:  # type: ignore[operator]
                self.best_loss_ = last

    def _validation_score(self, X: Any, y: Any, w: Array | None) -> float:
        return self._score_predictions(y, self._host_logits(self.net_, X), w)

    @staticmethod
    def _host_logits(net: MLP, X: Any) -> Array:
        """Logits (N, n_outputs) of the validated host rows ``X``, computed on the network's device, as NumPy."""
        if not isinstance(net.flat_params, np.ndarray):
            return net.forward(X)  # X moved to the device once; the logits come back to the host
        with blas_threads_for(X.shape[0], net.sizes, net.dtype):
            return forward_in_blocks(net.params, X, net.activation)

    def _diverged(self, loss: float) -> NonFiniteWeights:
        lr = self.learning_rate_init
        return NonFiniteWeights(
            f"{_NON_FINITE} {type(self).__name__} diverged in epoch {self.n_iter_}: the training loss became {loss}. "
            f"The network keeps the weights it had before that epoch. Standardise X, or lower the learning rate "
            f"(learning_rate_init={lr:g}), e.g. to {lr / 10:g}."
        )

    def _loss_grad_lbfgs(
        self, packed_coef_inter: Array, X: Any, y: Array, sample_weight: Array | None, *unused: Any
    ) -> tuple[float, Array]:
        """scikit-learn's objective of L-BFGS, with its signature (its test of the gradient calls it): the loss at
        the parameters ``packed_coef_inter`` in scikit-learn's order (every weight matrix, then every bias) on
        (X, y), ``y`` the binarised targets (N, n_outputs), and the gradient in the same order."""
        net = self._network()
        params, offset = {}, 0
        for prefix in ("W", "b"):
            for i in range(net.n_layers):
                shape = net.params[f"{prefix}{i}"].shape
                size = math.prod(shape)
                params[f"{prefix}{i}"] = packed_coef_inter[offset : offset + size].reshape(shape)
                offset += size
        Y = np.asarray(y).reshape(X.shape[0], -1)
        s = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        loss, grads = loss_and_grads(
            params,
            X,
            self._targets(Y, np.float64),
            net.activation,
            net.output,
            self.alpha / s,
            0.0,
            sample_weight,
        )
        packed = [grads[f"{p}{i}"].ravel() for p in ("W", "b") for i in range(net.n_layers)]
        return loss, np.concatenate(packed)

    # -- prediction -------------------------------------------------------------------------------
    def _logits(self, X: Any, method: str) -> Array:
        check_is_fitted(self)
        self._check_same_place(X, method)
        X = _on_host(X)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float64, np.float32))
        return self._host_logits(self._network(), X)

    def _check_same_place(self, X: Any, method: str) -> None:
        """scikit-learn's rule under ``array_api_dispatch``: an estimator fitted on another library's arrays
        predicts for ``X`` of that same namespace and device only (its network lives there). One fitted on
        NumPy predicts for any ``X``, the result in ``X``'s namespace (the network computes on the host)."""
        if not get_config().get("array_api_dispatch", False):
            return
        theta = self._network().flat_params
        if isinstance(theta, np.ndarray):
            return
        if not is_numpy(X) and namespace_of(X) is namespace_of(theta) and device_of(X) == device_of(theta):
            return
        where = f"{namespace_of(theta).__name__} on device {device_of(theta)}"
        got = (
            f"{type(X).__name__} (host data)" if is_numpy(X) else f"{namespace_of(X).__name__} on device {device_of(X)}"
        )
        raise ValueError(
            f"Inputs passed to {type(self).__name__}.{method}() must use the same namespace and the same device as "
            f"those passed to fit(): it was fitted on {where}, X is {got}. Pass X as an array of that library on "
            "that device, or fit again on X's."
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True  # under array_api_dispatch: fitted arrays and outputs follow X
        return tags

    # -- files ------------------------------------------------------------------------------------
    def _json_params(self) -> dict[str, Any]:
        params = {}
        for k, v in self.get_params().items():
            if isinstance(v, np.generic):
                v = v.item()  # NumPy scalars, as grid searches produce them
            params[k] = v
        if not (params["random_state"] is None or isinstance(params["random_state"], int)):
            params["random_state"] = None  # a RandomState has no JSON form; the seed is not kept
        params["hidden_layer_sizes"] = self._hidden_sizes()
        return params

    def _file_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "kind": self._kind,
            "params": self._json_params(),
            "n_features_in": int(self.n_features_in_),
            "n_iter": int(self.n_iter_),
            "t": int(getattr(self, "t_", 0)),
            "out_activation": self.out_activation_,
        }
        if hasattr(self, "feature_names_in_"):
            meta["feature_names_in"] = [str(s) for s in self.feature_names_in_]
        for key in _RECORDS:  # only those this estimator has (L-BFGS keeps no curve), None where None
            if hasattr(self, key):
                value = getattr(self, key)
                meta[key] = value if value is None else np.asarray(value, dtype=float).tolist()
        meta["no_improvement_count"] = int(getattr(self, "_no_improvement_count", 0))
        return meta

    def _restore(self, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
        from_meta = MLP.from_file(arrays, meta["net"])
        self.net_ = from_meta
        self._bind_views()
        self.n_features_in_ = _count(meta, "n_features_in", 1)
        if "feature_names_in" in meta:
            names = meta["feature_names_in"]
            if not (
                isinstance(names, list) and len(names) == self.n_features_in_ and all(isinstance(n, str) for n in names)
            ):
                raise ValueError(f"feature_names_in must be a list of {self.n_features_in_} strings (one per feature)")
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self._validate_params()  # crafted values (a negative learning rate...) are refused, not half-loaded
        if from_meta.activation != self.activation:
            raise ValueError(
                f"the network's activation is {from_meta.activation!r}, the estimator's {self.activation!r}"
            )
        self.n_iter_ = _count(meta, "n_iter", 0)
        self.t_ = _count(meta, "t", 0, default=0)
        self.n_outputs_ = from_meta.sizes[-1]
        self.n_layers_ = len(from_meta.sizes)
        self.out_activation_ = meta.get("out_activation", from_meta.output)
        if self.out_activation_ != self._out_activation():  # the head its fit would choose, from its loss/targets
            raise ValueError(
                f"out_activation {str(self.out_activation_)[:40]!r} is not what this {type(self).__name__} uses "
                f"({self._out_activation()!r} for its settings and targets)"
            )
        if "loss_curve" in meta:  # files of the first edition
            meta = {"loss_curve_": meta["loss_curve"], **meta}
        for key in _RECORDS:
            if key in meta:
                value = meta[key]
                numbers_only = isinstance(value, list) and all(isinstance(v, (int, float)) for v in value)
                if not (value is None or isinstance(value, (int, float)) or numbers_only):
                    raise ValueError(f"{key} must be a number or a list of numbers")
                setattr(self, key, value)
        self._no_improvement_count = _count(meta, "no_improvement_count", 0, default=0)
        self._best_params = from_meta.flat_params.copy()
        sizes = from_meta.sizes
        if (
            sizes[0] != self.n_features_in_
            or sizes[1:-1] != self._hidden_sizes()
            or from_meta.output != self.out_activation_
        ):
            raise ValueError(
                f"the network has sizes {sizes} and output {from_meta.output!r}, but the estimator declares "
                f"{self.n_features_in_} features, hidden layers {self._hidden_sizes()} and output {self.out_activation_!r}"
            )

    def save(self, path: str | Path) -> None:
        """Save the fitted estimator (``.npz`` + JSON metadata, atomic); ``perceptrons.load`` reads it."""
        model_files.save_arrays(path, *self.to_file())


def _count(meta: dict[str, Any], key: str, lo: int, default: int | None = None) -> int:
    """``meta[key]`` as an int of at least ``lo`` (a ValueError naming it otherwise: 2.9 is no count)."""
    value = meta.get(key, default) if default is not None else meta[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{key} must be an integer of at least {lo}, got {str(value)[:40]!r}")
    return value


def _sample_weight(sample_weight: Any, n: int) -> Array | None:
    """The core's checks of ``sample_weight`` (shape, finite, non-negative), in scikit-learn's words where all
    weights are zero."""
    try:
        return check_sample_weight(sample_weight, n)
    except ValueError:
        if np.ndim(sample_weight) <= 1 and np.size(sample_weight) and not np.any(np.asarray(sample_weight)):
            raise ValueError(
                "sample_weight is all zero: no sample would count; give at least one sample a positive weight."
            ) from None
        raise


def _stochastic_solver(est: Any) -> bool:
    return est.solver in _STOCHASTIC  # partial_fit exists only for the stochastic solvers


class PerceptronClassifier(ClassifierMixin, _BasePerceptron):
    """Multi-layer perceptron classifier trained by backpropagation (NumPy, from scratch), scikit-learn's
    ``MLPClassifier`` over our core: the same parameters, attributes and behaviour.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
    activation : {"relu", "tanh", "logistic", "identity"}
    solver : {"adam", "sgd", "lbfgs"}; under ``array_api_dispatch`` with X of another Array API library,
        "adam" and "sgd" train on X's device and "lbfgs" runs scipy on the host (see the module docstring)
    alpha : L2 strength, scikit-learn's convention (see the module docstring)
    batch_size : int or "auto" (= min(200, n_samples))
    learning_rate : {"constant", "invscaling", "adaptive"} (SGD), with ``power_t``
    learning_rate_init, max_iter, shuffle, random_state, tol, verbose, warm_start, momentum,
    nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon,
    n_iter_no_change, max_fun : as in ``sklearn.neural_network.MLPClassifier``
    init : {"auto", "normal", "he", "glorot"} (ours)

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_, coefs_ (views: W_i (fan_in, fan_out)), intercepts_,
    n_outputs_ (1 for two classes: one logistic unit), out_activation_ ("softmax", "logistic"), n_layers_,
    n_iter_ (epochs or L-BFGS iterations of the last call), t_, loss_, loss_curve_, best_loss_,
    validation_scores_, best_validation_score_ (None where scikit-learn's are), net_ (the core's
    :class:`~perceptrons.MLP`).
    """

    _kind = "PerceptronClassifier"
    _parameter_constraints: dict[str, Any] = {**MLPClassifier._parameter_constraints, **_INIT}

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
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
        max_fun: int = 15000,
        init: str = "sklearn",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
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
        self.max_fun = max_fun
        self.init = init

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PerceptronClassifier:
        """Train on (X, y) (labels (N,) or a multilabel indicator (N, K)); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)  # type: ignore[no-any-return]

    @available_if(_stochastic_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> PerceptronClassifier:
        """One epoch on (X, y); ``classes`` (all labels) is required on the first call."""
        self._validate_params()
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True; set early_stopping=False.")
        y, classes = _on_host(y), _on_host(classes)  # labels are encoded on the host, classes_ stays NumPy
        if getattr(self, "classes_", None) is None:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit (all the labels).")
            self.classes_ = unique_labels(classes)
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
        elif classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(
                f"`classes={list(unique_labels(classes))}` is not the same as on the first call to partial_fit, "
                f"was: {list(self.classes_)}."
            )
        return self._fit(X, y, sample_weight, incremental=True)  # type: ignore[no-any-return]

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[Any, Array]:
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, dtype=(np.float64, np.float32), reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        fresh = not hasattr(self, "classes_") or (not self.warm_start and not incremental)
        multilabel = type_of_target(y).startswith("multilabel")
        if not fresh and multilabel != self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                f"{'partial_fit' if incremental else 'warm_start=True'} cannot continue the fitted network: it was "
                f"fitted on {self._label_binarizer.y_type_} targets, `y` is {type_of_target(y)}; the output layer "
                "differs. Fit without warm_start to train a new network."
            )
        if fresh:
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call to fit. "
                        f"Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    def _out_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _stratify(self, Y: Array) -> Array | None:
        return Y if self.n_outputs_ == 1 else None  # not for multiclass/multilabel, as scikit-learn

    def _val_targets(self, Y: Array) -> Any:
        return self._label_binarizer.inverse_transform(Y.astype(int))

    def _decode(self, z: Array) -> Array:
        """Labels from logits (N, n_outputs)."""
        if self.out_activation_ == "softmax":
            return self.classes_[z.argmax(axis=1)]  # type: ignore[no-any-return]
        p = sigmoid(z)
        return self._label_binarizer.inverse_transform(p.ravel() if self.n_outputs_ == 1 else p)  # type: ignore[no-any-return]

    def _score_predictions(self, y: Any, z: Array, sample_weight: Array | None) -> float:
        return float(accuracy_score(y, self._decode(z), sample_weight=sample_weight))

    def predict(self, X: Any) -> Array:
        """Class labels (N,), or a 0/1 indicator (N, K) for multilabel problems."""
        return _like_input(self._decode(self._logits(X, "predict")), X)

    def predict_proba(self, X: Any) -> Array:
        """Probabilities (N, n_classes), columns in the order of ``classes_`` (each label's own for multilabel)."""
        return _like_input(self._proba(self._logits(X, "predict_proba")), X)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of :meth:`predict` on (X, y), as scikit-learn's, counted in float64 on the host for
        inputs of any namespace (``accuracy_score`` on PyTorch integer labels averages in float32)."""
        pred = _on_host(self.predict(X))
        return float(accuracy_score(_on_host(y), pred, sample_weight=_on_host(sample_weight)))

    def _proba(self, z: Array) -> Array:
        if self.out_activation_ == "softmax":
            return softmax(z)
        if self.n_outputs_ == 1:
            return np.hstack([sigmoid(-z), sigmoid(z)])
        return sigmoid(z)

    def predict_log_proba(self, X: Any) -> Array:
        """Log-probabilities: log-softmax (log-sum-exp) for classes; for logistic units the log of
        :meth:`predict_proba`, scikit-learn's definition, so that both rank labels alike even where a
        probability rounds to 1 (a stable ``-log(1 + e^-z)`` would still order labels that tie at 1.0)."""
        z = self._logits(X, "predict_log_proba")
        if self.out_activation_ == "softmax":
            return _like_input(log_softmax(z), X)
        with np.errstate(divide="ignore"):
            return _like_input(np.log(self._proba(z)), X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # -- files ------------------------------------------------------------------------------------
    def to_file(self) -> tuple[dict[str, Array], dict[str, Any]]:
        """The arrays and JSON metadata of the fitted estimator's model file (see :mod:`perceptrons.io`)."""
        check_is_fitted(self)
        net = self._network()
        if self.classes_.dtype.kind not in "biufUS" and not all(isinstance(c, str) for c in self.classes_):
            raise TypeError(f"cannot save class labels of dtype {self.classes_.dtype}; use ints or strings.")
        arrays, net_meta = net.to_file()
        meta = {
            **self._file_meta(),
            "net": net_meta,
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "target_type": self._label_binarizer.y_type_,
        }
        return arrays, meta

    @classmethod
    def from_file(cls, arrays: dict[str, Any], meta: dict[str, Any]) -> PerceptronClassifier:
        """Rebuild a fitted estimator from :meth:`to_file`'s arrays and metadata (ValueError if inconsistent)."""
        clf = cls(**_params_from_file(cls, meta))
        clf.classes_ = _classes_from_file(meta["classes"], meta["classes_dtype"])
        n = len(clf.classes_)
        kind = meta.get("target_type", "multiclass" if n > 2 else "binary")
        # what a fit makes of its targets: <= 2 classes one logistic unit, more a softmax unit each,
        # multilabel targets (classes 0..k-1) a logistic unit per label
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"target_type must be binary, multiclass or multilabel-indicator, got {str(kind)[:40]!r}")
        if (kind == "binary") != (n <= 2) and kind != "multilabel-indicator":
            raise ValueError(f"target_type {kind!r} does not fit {n} classes")
        if kind == "multilabel-indicator" and clf.classes_.tolist() != list(range(n)):
            raise ValueError("a multilabel classifier's classes must be its label indices 0..k-1")
        lb = LabelBinarizer()
        lb.fit(np.eye(n, dtype=int) if kind.startswith("multilabel") else clf.classes_)
        clf._label_binarizer = lb
        clf._restore(arrays, meta)
        expected = 1 if kind == "binary" else n
        if clf.n_outputs_ != expected:
            raise ValueError(f"the saved classifier has {clf.n_outputs_} outputs for {n} classes ({kind}).")
        return clf


class PerceptronRegressor(RegressorMixin, _BasePerceptron):
    """Multi-layer perceptron regressor trained by backpropagation (NumPy, from scratch), scikit-learn's
    ``MLPRegressor`` over our core: the same parameters, attributes and behaviour.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}: half the mean squared error (identity output), or half the Poisson
        deviance with an exponential output (``y >= 0``)
    The others as :class:`PerceptronClassifier`'s.

    Attributes
    ----------
    As :class:`PerceptronClassifier`'s, without ``classes_``; ``out_activation_`` is "identity" or "exp".
    """

    _kind = "PerceptronRegressor"
    _parameter_constraints: dict[str, Any] = {**MLPRegressor._parameter_constraints, **_INIT}

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
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
        max_fun: int = 15000,
        init: str = "sklearn",
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
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
        self.max_fun = max_fun
        self.init = init

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PerceptronRegressor:
        """Train on (X, y), ``y`` (N,) or (N, n_outputs); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)  # type: ignore[no-any-return]

    @available_if(_stochastic_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> PerceptronRegressor:
        """One epoch on (X, y)."""
        self._validate_params()
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True; set early_stopping=False.")
        return self._fit(X, y, sample_weight, incremental=True)  # type: ignore[no-any-return]

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[Any, Array]:
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.min(y) < 0:
            raise ValueError(f"loss='poisson' needs targets y >= 0 (counts or rates), got a minimum of {np.min(y)}.")
        return X, y.reshape(y.shape[0], -1)

    def _out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _val_targets(self, Y: Array) -> Any:
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _values(self, z: Array) -> Array:
        out = HEADS[self.out_activation_].output(z)
        return out.ravel() if out.shape[1] == 1 else out

    def _score_predictions(self, y: Any, z: Array, sample_weight: Array | None) -> float:
        pred = self._values(z)
        if not np.isfinite(pred).all():
            return float("nan")
        return float(r2_score(y, pred, sample_weight=sample_weight))

    def predict(self, X: Any) -> Array:
        """Predicted values (N,) for one output, (N, n_outputs) for several."""
        return _like_input(self._values(self._logits(X, "predict")), X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags

    # -- files ------------------------------------------------------------------------------------
    def to_file(self) -> tuple[dict[str, Array], dict[str, Any]]:
        """The arrays and JSON metadata of the fitted estimator's model file (see :mod:`perceptrons.io`)."""
        check_is_fitted(self)
        arrays, net_meta = self._network().to_file()
        return arrays, {**self._file_meta(), "net": net_meta}

    @classmethod
    def from_file(cls, arrays: dict[str, Any], meta: dict[str, Any]) -> PerceptronRegressor:
        """Rebuild a fitted estimator from :meth:`to_file`'s arrays and metadata (ValueError if inconsistent)."""
        reg = cls(**_params_from_file(cls, meta))
        reg._restore(arrays, meta)
        return reg


def _dispatch_place(X: Any) -> tuple[Any, Any] | None:
    """The namespace and device the fit follows: ``X``'s, under scikit-learn's ``array_api_dispatch`` with
    an array of another library than NumPy; None (NumPy on the host) otherwise."""
    if not get_config().get("array_api_dispatch", False) or is_numpy(X):
        return None
    return namespace_of(X), device_of(X)


def _copy(a: Any) -> Any:
    """A copy of array ``a`` in its own namespace and on its device."""
    return a.copy() if isinstance(a, np.ndarray) else namespace_of(a).asarray(a, copy=True)


def _assign(dst: Any, src: Any) -> None:
    """``dst[...] = src`` in place (``np.copyto`` for NumPy arrays)."""
    if isinstance(dst, np.ndarray):
        np.copyto(dst, src)
    else:
        dst[...] = src


def _all_finite(a: Any) -> bool:
    """Whether every entry of ``a`` is finite, reduced on its device (one boolean read)."""
    if isinstance(a, np.ndarray):
        return bool(np.isfinite(a).all())
    xp = namespace_of(a)
    return bool(xp.all(xp.isfinite(a)))


def _on_host(a: Any) -> Any:
    """An array of another Array API library (PyTorch, CuPy, ...) as NumPy: scikit-learn's validation and label
    handling, and scipy's L-BFGS-B, run on the host (the stochastic solvers then train on X's device)."""
    return a if a is None or is_numpy(a) else to_numpy(a)


def _like_input(out: Array, X: Any) -> Array:
    """scikit-learn's ``array_api_dispatch`` convention: with dispatch on, numeric results in the namespace
    and on the device of the input ``X`` (labels that are not numbers stay NumPy, as no other library holds them)."""
    if not get_config().get("array_api_dispatch", False) or is_numpy(X) or out.dtype.kind not in "biuf":
        return out
    return to_namespace(out, namespace_of(X), device_of(X))


def _params_from_file(cls: type, meta: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(meta.get("params"), dict):
        raise ValueError("the estimator's 'params' must be an object of constructor arguments")
    foreign = sorted(set(meta["params"]) - set(cls._get_param_names()))  # type: ignore[attr-defined]
    if foreign:
        raise ValueError(f"the parameters {foreign[:5]} are not those of a {cls.__name__} (a file of another kind?)")
    return dict(meta["params"])


def _classes_from_file(classes: Any, dtype_text: Any) -> NDArray[Any]:
    """The saved ``classes_``: a flat list of distinct labels, sorted, of a plain int/float/str dtype."""
    dtype = np.dtype(dtype_text) if isinstance(dtype_text, str) and len(dtype_text) <= 16 else None
    if dtype is None or dtype.kind not in "biufUS" or dtype.subdtype is not None or dtype.shape:
        raise ValueError(f"classes_dtype must be a plain int, float or str dtype, got {str(dtype_text)[:40]!r}")
    if not isinstance(classes, list) or any(isinstance(c, (list, dict)) for c in classes):
        raise ValueError("classes must be a flat list of labels")
    out = np.array(classes, dtype=dtype)
    if out.tolist() != classes:  # e.g. "<U2" would cut "abc" to "ab", int64 would cut 0.5 to 0
        raise ValueError(f"classes {classes[:10]!r} do not fit classes_dtype {dtype_text!r}")
    if out.ndim != 1 or out.size < 1 or np.any(out[1:] <= out[:-1]):
        raise ValueError(f"classes must be distinct labels in sorted order, got {classes[:10]!r}")
    return out


for _kind, _estimator in (("PerceptronClassifier", PerceptronClassifier), ("PerceptronRegressor", PerceptronRegressor)):
    model_files.READERS[_kind] = _estimator.from_file
    model_files.LAYOUTS[_kind] = lambda meta: MLP.file_layout(meta["net"])
