"""The course notebook's functions, same names, argument order, shapes and return tuples.

These are thin adapters over the core so that a student can run the notebook's cells unchanged.
Vectors are *columns* as in the notebook: ``x`` is (INPUT_SHAPE, 1), ``b`` is (N_CLASSES, 1),
``W`` is (INPUT_SHAPE, N_CLASSES) and the layer computes ``W.T @ x + b``. Every function also
accepts several columns at once (``x`` of shape (INPUT_SHAPE, M)), which lets :func:`plot_decision`
evaluate the whole grid in one call.

Two defects of the notebook are fixed here (and nowhere else is the notebook copied):

1. its test loop read the *training* set (``X_train[i]`` inside the loop over the test set); here
   test accuracy is measured on ``X_test``/``Y_test``;
2. its finite-difference gradient was taken *after* the SGD update, at other weights than the
   analytic gradient; here both are taken at the same weights, before the update. The
   approximation is a central difference ``(L(W+h) - L(W-h)) / 2h`` (error O(h^2)) rather than the
   notebook's forward difference (error O(h)).

The random draws are the notebook's: ``RandomState(random_seed)`` draws the biases, then the
weights (layer by layer, hidden first), then the ``n_it`` sample indices. A local ``RandomState``
is used, so the global NumPy state is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .core.activations import ACTIVATIONS
from .core.gradcheck import numeric_grads, numeric_grads_batched
from .core.heads import softmax as _softmax_rows
from .core.network import MLP, forward
from .core.training import StepInfo, train
from .plotting import plot_decision_boundary

Array = NDArray[Any]


def _act(activation: str) -> str:
    if activation not in ("relu", "tanh"):
        raise ValueError(f"activation must be 'relu' or 'tanh' (the notebook's two variants), got {activation!r}.")
    return activation


def softmax(y: Array) -> Array:
    """Softmax of a column (C, 1) (or of each column of (C, M)), stable for large values."""
    y = np.asarray(y, dtype=np.float64)
    return _softmax_rows(y.reshape(y.shape[0], -1).T).T


def forward_one_layer(W: Array, b: Array, x: Array) -> Array:
    """Softmax output (N_CLASSES, 1) of the single-layer perceptron ``softmax(W.T @ x + b)``."""
    z = forward(
        {"W0": np.asarray(W, float), "b0": np.asarray(b, float).reshape(-1)}, np.asarray(x, float).T, "identity"
    )
    return _softmax_rows(z).T


def compute_grads_one_layer(softmaxed: Array, x: Array, y: Array) -> tuple[Array, Array]:
    """``d_W = x (softmax - y)^T`` (INPUT_SHAPE, N_CLASSES) and ``d_b = softmax - y`` (N_CLASSES, 1)."""
    d = softmaxed - y
    return x @ d.T, d


def compute_loss(softmaxed: Array, y: Array) -> float:
    """Cross-entropy ``-log(softmax_j)`` of one sample whose one-hot label column is ``y``."""
    return float(-np.log((softmaxed.T @ y).item()))


def approx_grad_W(W: Array, b: Array, x: Array, y: Array, h: float = 0.0001) -> Array:
    """Central-difference approximation of ``d loss / d W`` (INPUT_SHAPE, N_CLASSES) at (W, b)."""
    labels = np.asarray(y).argmax(axis=0)
    params = {"W0": np.asarray(W, float), "b0": np.asarray(b, float).reshape(-1)}
    return numeric_grads(params, np.asarray(x, float).T, labels, "identity", h=h)[0]["W0"]


def relu(x: Array) -> Array:
    """``max(0, x)`` elementwise, same shape."""
    return ACTIVATIONS["relu"].f(np.asarray(x, dtype=np.float64))


def d_relu(x: Array) -> Array:
    """ReLU's derivative written from its output: ``1[h > 0]``."""
    return ACTIVATIONS["relu"].df(np.asarray(x, dtype=np.float64))


def tanh(x: Array) -> Array:
    """``tanh(x)`` elementwise (``np.tanh``, which does not overflow like ``(e^2x - 1)/(e^2x + 1)``)."""
    return ACTIVATIONS["tanh"].f(np.asarray(x, dtype=np.float64))


def d_tanh_hidden(hidden: Array) -> Array:
    """tanh's derivative written from its output: ``1 - h**2``."""
    return ACTIVATIONS["tanh"].df(np.asarray(hidden, dtype=np.float64))


def forward_two_layers(
    Wo: Array, bo: Array, Wh: Array, bh: Array, x: Array, activation: str = "relu"
) -> tuple[Array, Array, Array]:
    """Two-layer forward pass: returns ``(softmaxed, hidden, out)``, columns as in the notebook."""
    f = ACTIVATIONS[_act(activation)].f
    hidden = f(np.asarray(Wh, float).T @ x + np.asarray(bh, float))  # (H, M)
    out = np.asarray(Wo, float).T @ hidden + np.asarray(bo, float)  # (C, M)
    return softmax(out), hidden, out


def compute_grads_two_layers(
    hidden: Array, softmaxed: Array, Wo: Array, x: Array, y: Array, activation: str = "relu"
) -> tuple[Array, Array, Array, Array]:
    """``(d_Wo, d_bo, d_Wh, d_bh)`` for one sample by backpropagation (columns as in the notebook)."""
    df = ACTIVATIONS[_act(activation)].df
    d_Wo, d_bo = compute_grads_one_layer(softmaxed, hidden, y)
    d_bh = (Wo @ (softmaxed - y)) * df(hidden)  # (H, 1)
    return d_Wo, d_bo, x @ d_bh.T, d_bh


def _course_train(
    params: dict[str, Array],
    sizes: list[int],
    activation: str,
    X_train: Array,
    Y_train: Array,
    X_test: Array,
    Y_test: Array,
    lr: float,
    indexes: Array,
    test_freq: int,
    on_step: Callable[[StepInfo], None] | None,
) -> tuple[MLP, list[float], list[bool], list[float]]:
    net = MLP(sizes, activation=activation, init="normal", seed=0)
    net.params = params
    hist = train(
        net,
        X_train,
        np.asarray(Y_train).argmax(axis=1),
        lr=lr,
        batch_size=1,
        sampling=indexes,
        eval_data=(X_test, np.asarray(Y_test).argmax(axis=1)),
        eval_every=test_freq,
        on_step=on_step,
    )
    test_acc = [a for s, a in zip(hist.test_steps, hist.test_accuracy) if (s - 1) % test_freq == 0]
    return net, hist.loss.tolist(), [bool(c) for c in hist.n_correct], test_acc


def train_one_layer(
    X_train: Array,
    Y_train: Array,
    X_test: Array,
    Y_test: Array,
    lr: float,
    n_it: int = 1000,
    test_freq: int = 10,
    random_seed: int = 42,
) -> tuple[Array, Array, list[float], list[bool], list[float], Array, Array]:
    """Train a single-layer perceptron with per-sample SGD (the notebook's protocol).

    ``Y_train``/``Y_test`` are one-hot (N, N_CLASSES). Returns ``(W, b, loss, acc, test_acc,
    grads, approx_grads)`` where ``grads``/``approx_grads`` stack each step's analytic and
    finite-difference ``d_W`` on the last axis: shape (INPUT_SHAPE, N_CLASSES, n_it).
    """
    D, C = np.shape(X_train)[1], np.shape(Y_train)[1]
    rs = np.random.RandomState(random_seed)
    b = rs.normal(size=(C, 1))
    W = rs.normal(size=(D, C))
    indexes = rs.randint(np.shape(X_train)[0], size=n_it)
    seen: list[tuple[Array, Array, Array]] = []  # (W, b, analytic d_W) at each step, before its update

    def record(info: StepInfo) -> None:
        seen.append((info.params["W0"].copy(), info.params["b0"].copy(), info.grads["W0"].copy()))

    net, loss, acc, test_acc = _course_train(
        {"W0": W, "b0": b.ravel()},
        [D, C],
        "identity",
        X_train,
        Y_train,
        X_test,
        Y_test,
        lr,
        indexes,
        test_freq,
        record,
    )
    Ws, bs, grads = (np.stack(a) for a in zip(*seen))
    x = np.asarray(X_train, dtype=np.float64)[indexes][:, None, :]  # (n_it, 1, D)
    labels = np.asarray(Y_train).argmax(axis=1)[indexes][:, None]  # (n_it, 1)
    approx = numeric_grads_batched({"W0": Ws, "b0": bs}, x, labels, "identity", h=1e-4)[0]["W0"]
    p = net.params
    return p["W0"], p["b0"].reshape(-1, 1), loss, acc, test_acc, np.moveaxis(grads, 0, -1), np.moveaxis(approx, 0, -1)


def train_two_layer(
    X_train: Array,
    Y_train: Array,
    X_test: Array,
    Y_test: Array,
    lr: float,
    n_hidden: int,
    n_it: int = 1000,
    test_freq: int = 10,
    random_seed: int = 42,
    activation: str = "relu",
) -> tuple[Array, Array, Array, Array, list[float], list[bool], list[float]]:
    """Train a two-layer perceptron (ReLU or tanh hidden layer) with per-sample SGD.

    Returns ``(Wo, bo, Wh, bh, loss, acc, test_acc)`` as the notebook does.
    """
    D, C = np.shape(X_train)[1], np.shape(Y_train)[1]
    rs = np.random.RandomState(random_seed)
    bh = rs.normal(size=(n_hidden, 1))
    Wh = rs.normal(size=(D, n_hidden))
    bo = rs.normal(size=(C, 1))
    Wo = rs.normal(size=(n_hidden, C))
    indexes = rs.randint(np.shape(X_train)[0], size=n_it)
    net, loss, acc, test_acc = _course_train(
        {"W0": Wh, "b0": bh.ravel(), "W1": Wo, "b1": bo.ravel()},
        [D, n_hidden, C],
        _act(activation),
        X_train,
        Y_train,
        X_test,
        Y_test,
        lr,
        indexes,
        test_freq,
        None,
    )
    p = net.params
    return p["W1"], p["b1"].reshape(-1, 1), p["W0"], p["b0"].reshape(-1, 1), loss, acc, test_acc


def plot_decision(X: Array, Y: Array, forward: Callable[[Array], Array], figure: Any = None) -> Any:
    """Plot the decision function of ``forward`` (columns in, softmax columns out) over the test data.

    ``forward`` is called once, on all grid points as columns (INPUT_SHAPE, M); the notebook's
    lambdas (e.g. ``lambda x: forward_one_layer(W, b, x)``) work as they are. Returns the axes.
    """
    ax = figure.gca() if figure is not None else None
    return plot_decision_boundary(lambda P: np.asarray(forward(P.T)).T, X, np.asarray(Y).argmax(axis=1), ax=ax)
