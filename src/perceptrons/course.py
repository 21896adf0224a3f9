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

from .core import memory
from .core.activations import ACTIVATIONS
from .core.gradcheck import numeric_grads, numeric_grads_batched
from .core.heads import softmax as _softmax_rows
from .core.network import MLP, forward
from .core.training import StepInfo, train
from .core.validation import check_positive
from .plotting import plot_decision_boundary

Array = NDArray[Any]


def _act(activation: str) -> str:
    if activation not in ("relu", "tanh"):
        raise ValueError(f"activation must be 'relu' or 'tanh' (the notebook's two variants), got {activation!r}.")
    return activation


# -- what the functions accept ------------------------------------------------------------------
# Shapes follow the notebook: vectors are columns. A 1-D vector is taken as a column (the one
# convenience); anything else that does not fit (a row where a column belongs, the wrong number of
# rows, a third axis, strings, an empty array, NaN or infinity) is a ValueError/TypeError that names
# the argument, the shape expected and the shape that arrived, instead of a NumPy broadcasting error
# or a silently wrong answer (the softmax of a row (1, C) would be C ones).
def _real(name: str, a: Any, expected: str) -> Array:
    """``a`` as float64; refuses non-numbers and empty arrays (NaN/inf are checked by the callers)."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be an array of real numbers {expected}, got dtype {arr.dtype}; convert it first, "
            f"e.g. np.asarray({name}, dtype=float)."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it must be {expected} with at least one entry.")
    return arr.astype(np.float64)


def _finite(name: str, arr: Array) -> Array:
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0].tolist()
        raise ValueError(
            f"{name} holds NaN or infinite values (the first at index {bad}: {arr[tuple(bad)]}); "
            "the course functions need finite numbers."
        )
    return arr


def _matrix(
    name: str, a: Any, expected: str, rows: int | None = None, cols: int | None = None, vector: bool = True
) -> Array:
    """A finite 2-D array ``expected`` (e.g. "(INPUT_SHAPE, 1)"), rows/cols checked; a 1-D array is taken as
    a column where a ``vector`` belongs (x, b, y), refused where a matrix does (W)."""
    arr = _real(name, a, expected)
    if arr.ndim == 1 and vector:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be {expected}, got an array of shape {arr.shape}.")
    if (rows is not None and arr.shape[0] != rows) or (cols is not None and arr.shape[1] != cols):
        row = rows is not None and arr.shape == (1, rows) and rows > 1
        hint = f": that is a row; pass {name}.T or {name}.reshape(-1, 1)" if row else ""
        raise ValueError(f"{name} must be {expected}, got shape {arr.shape}{hint}.")
    return _finite(name, arr)


def _one_hot(name: str, y: Array, axis: int) -> Array:
    ok = np.isin(y, (0.0, 1.0)).all() and (y.sum(axis=axis) == 1).all()
    if not ok:
        what = "columns (N_CLASSES, M)" if axis == 0 else "rows (N, N_CLASSES)"
        raise ValueError(
            f"{name} must be one-hot {what}: a single 1 per sample, the rest 0; got values {np.unique(y)[:5]} "
            f"in shape {y.shape}. From integer labels, np.eye(N_CLASSES)[labels] gives the rows."
        )
    return y


def softmax(y: Array) -> Array:
    """Softmax of a column of scores (C, 1), or of each column of (C, M); a 1-D (C,) gives (C,).

    Stable for large values (the largest score is subtracted first). ``-inf`` scores get probability 0
    (masked classes); NaN, ``+inf`` and a column of only ``-inf`` are refused, as is a row (1, C) with
    C > 1 (under the column convention it would be C one-class problems, all 1: pass ``y.T``).
    """
    arr = _real("y", y, "a column of scores (C, 1) or columns (C, M)")
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"y must be a column of scores (C, 1), columns (C, M) or a vector (C,), got shape {arr.shape}."
        )
    if arr.ndim == 2 and arr.shape[0] == 1 and arr.shape[1] > 1:
        raise ValueError(
            f"y has shape {arr.shape}, a row: softmax normalises each column (C, 1) of scores (the notebook's "
            "convention), which for a row would give all ones. Pass y.T or y.reshape(-1, 1)."
        )
    if np.isnan(arr).any() or np.isposinf(arr).any():
        raise ValueError("y holds NaN or +inf; softmax needs finite scores (-inf marks a class of probability 0).")
    cols = arr.reshape(arr.shape[0], -1)
    if np.isneginf(cols).all(axis=0).any():
        raise ValueError("a column of y is all -inf: no class has any probability, softmax is undefined.")
    return _softmax_rows(cols.T).T.reshape(arr.shape)


def forward_one_layer(W: Array, b: Array, x: Array) -> Array:
    """Softmax output (N_CLASSES, 1) of the single-layer perceptron ``softmax(W.T @ x + b)``; x may hold
    M columns (INPUT_SHAPE, M) and gives (N_CLASSES, M)."""
    W = _matrix("W", W, "a matrix (INPUT_SHAPE, N_CLASSES)", vector=False)
    D, C = W.shape
    b = _matrix("b", b, f"a column (N_CLASSES, 1) = ({C}, 1), as W is {W.shape}", rows=C, cols=1)
    x = _matrix("x", x, f"a column (INPUT_SHAPE, 1) = ({D}, 1) or columns ({D}, M), as W is {W.shape}", rows=D)
    z = forward({"W0": W, "b0": b.reshape(-1)}, x.T, "identity")
    return _softmax_rows(z).T


def _outputs_and_targets(softmaxed: Any, y: Any) -> tuple[Array, Array]:
    s = _matrix("softmaxed", softmaxed, "a column of probabilities (N_CLASSES, 1) or columns (N_CLASSES, M)")
    y = _matrix("y", y, f"one-hot columns of softmaxed's shape {s.shape}", rows=s.shape[0], cols=s.shape[1])
    return s, _one_hot("y", y, axis=0)


def compute_grads_one_layer(softmaxed: Array, x: Array, y: Array) -> tuple[Array, Array]:
    """``d_W = x (softmax - y)^T`` (INPUT_SHAPE, N_CLASSES) and ``d_b = softmax - y`` (N_CLASSES, 1)."""
    s, y = _outputs_and_targets(softmaxed, y)
    x = _matrix("x", x, f"columns (INPUT_SHAPE, {s.shape[1]}), one per column of softmaxed", cols=s.shape[1])
    d = s - y
    return x @ d.T, d


def compute_loss(softmaxed: Array, y: Array) -> float:
    """Cross-entropy ``-log(softmax_j)`` of one sample whose one-hot label column is ``y`` (both (N_CLASSES, 1)).
    A probability of exactly 0 for the true class gives ``inf`` (its limit), without a warning."""
    s, y = _outputs_and_targets(softmaxed, y)
    if s.shape[1] != 1:
        raise ValueError(
            f"compute_loss takes one sample, columns (N_CLASSES, 1); got {s.shape[1]} columns {s.shape}. "
            "Call it once per column (or average the per-column losses)."
        )
    if ((s < 0) | (s > 1)).any():
        raise ValueError(f"softmaxed must hold probabilities in [0, 1], got values from {s.min()} to {s.max()}.")
    with np.errstate(divide="ignore"):
        return float(-np.log((s.T @ y).item()))


def approx_grad_W(W: Array, b: Array, x: Array, y: Array, h: float = 0.0001) -> Array:
    """Central-difference approximation of ``d loss / d W`` (INPUT_SHAPE, N_CLASSES) at (W, b)."""
    W = _matrix("W", W, "a matrix (INPUT_SHAPE, N_CLASSES)", vector=False)
    D, C = W.shape
    b = _matrix("b", b, f"a column (N_CLASSES, 1) = ({C}, 1), as W is {W.shape}", rows=C, cols=1)
    x = _matrix("x", x, f"a column (INPUT_SHAPE, 1) = ({D}, 1) or columns ({D}, M), as W is {W.shape}", rows=D)
    y = _matrix("y", y, f"one-hot columns ({C}, {x.shape[1]}), one per column of x", rows=C, cols=x.shape[1])
    labels = _one_hot("y", y, axis=0).argmax(axis=0)
    check_positive("h", h)
    if not 1e-8 <= h <= 0.1:  # the notebook's 1e-4 sits well inside; outside, roundoff or truncation dominates
        raise ValueError(
            f"h must be in [1e-08, 0.1], got {h!r}: below it roundoff (~eps/h) swamps the difference, above it "
            "the approximation's O(h^2) error does. The notebook's 1e-4 is sound."
        )
    return numeric_grads({"W0": W, "b0": b.reshape(-1)}, x.T, labels, "identity", h=h)[0]["W0"]


def _elementwise(name: str, a: Any) -> Array:
    """Any shape (scalars and empty arrays too), real numbers; NaN stays NaN, as in NumPy."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {arr.dtype}; convert it with np.asarray(..., dtype=float)."
        )
    return arr.astype(np.float64)


def relu(x: Array) -> Array:
    """``max(0, x)`` elementwise, same shape (NaN stays NaN)."""
    return ACTIVATIONS["relu"].f(_elementwise("x", x))


def d_relu(x: Array) -> Array:
    """ReLU's derivative written from its output: ``1[h > 0]`` (0 at the kink and for NaN)."""
    return ACTIVATIONS["relu"].df(_elementwise("x", x))


def tanh(x: Array) -> Array:
    """``tanh(x)`` elementwise (``np.tanh``, which does not overflow like ``(e^2x - 1)/(e^2x + 1)``)."""
    return ACTIVATIONS["tanh"].f(_elementwise("x", x))


def d_tanh_hidden(hidden: Array) -> Array:
    """tanh's derivative written from its output: ``1 - h**2``."""
    return ACTIVATIONS["tanh"].df(_elementwise("hidden", hidden))


def _two_layer_params(Wo: Any, bo: Any, Wh: Any, bh: Any) -> tuple[Array, Array, Array, Array]:
    Wh = _matrix("Wh", Wh, "a matrix (INPUT_SHAPE, N_HIDDEN)", vector=False)
    H = Wh.shape[1]
    bh = _matrix("bh", bh, f"a column (N_HIDDEN, 1) = ({H}, 1), as Wh is {Wh.shape}", rows=H, cols=1)
    Wo = _matrix("Wo", Wo, f"a matrix (N_HIDDEN, N_CLASSES) with {H} rows, as Wh is {Wh.shape}", rows=H, vector=False)
    C = Wo.shape[1]
    bo = _matrix("bo", bo, f"a column (N_CLASSES, 1) = ({C}, 1), as Wo is {Wo.shape}", rows=C, cols=1)
    return Wo, bo, Wh, bh


def forward_two_layers(
    Wo: Array, bo: Array, Wh: Array, bh: Array, x: Array, activation: str = "relu"
) -> tuple[Array, Array, Array]:
    """Two-layer forward pass: returns ``(softmaxed, hidden, out)``, columns as in the notebook."""
    f = ACTIVATIONS[_act(activation)].f
    Wo, bo, Wh, bh = _two_layer_params(Wo, bo, Wh, bh)
    D = Wh.shape[0]
    x = _matrix("x", x, f"a column (INPUT_SHAPE, 1) = ({D}, 1) or columns ({D}, M), as Wh is {Wh.shape}", rows=D)
    hidden = f(Wh.T @ x + bh)  # (H, M)
    out = Wo.T @ hidden + bo  # (C, M)
    return softmax(out), hidden, out


def compute_grads_two_layers(
    hidden: Array, softmaxed: Array, Wo: Array, x: Array, y: Array, activation: str = "relu"
) -> tuple[Array, Array, Array, Array]:
    """``(d_Wo, d_bo, d_Wh, d_bh)`` for one sample by backpropagation (columns as in the notebook)."""
    df = ACTIVATIONS[_act(activation)].df
    s, y = _outputs_and_targets(softmaxed, y)
    Wo = _matrix("Wo", Wo, f"a matrix (N_HIDDEN, N_CLASSES) with {s.shape[0]} columns", cols=s.shape[0], vector=False)
    H, M = Wo.shape[0], s.shape[1]
    hidden = _matrix("hidden", hidden, f"the hidden columns ({H}, {M}) of forward_two_layers", rows=H, cols=M)
    x = _matrix("x", x, f"columns (INPUT_SHAPE, {M}), one per column of softmaxed", cols=M)
    d_Wo, d_bo = compute_grads_one_layer(s, hidden, y)
    d_bh = (Wo @ (s - y)) * df(hidden)  # (H, M)
    return d_Wo, d_bo, x @ d_bh.T, d_bh


def _seed(random_seed: Any) -> int:
    """The notebook's ``RandomState`` seed: an int in [0, 2**32)."""
    check_positive("random_seed", random_seed, integer=True, allow_zero=True)
    if random_seed >= 2**32:
        raise ValueError(f"random_seed must be below 2**32 (NumPy's RandomState), got {random_seed}.")
    return int(random_seed)


def _check_data(X_train: Any, Y_train: Any, X_test: Any, Y_test: Any) -> tuple[Array, Array, Array, Array]:
    """The notebook's data sets: samples are rows here, X (N, INPUT_SHAPE) and one-hot Y (N, N_CLASSES)."""
    for name, a, expected in (
        ("X_train", X_train, "rows of samples (N, INPUT_SHAPE)"),
        ("Y_train", Y_train, "one-hot rows (N, N_CLASSES)"),
        ("X_test", X_test, "rows of samples (N_test, INPUT_SHAPE)"),
        ("Y_test", Y_test, "one-hot rows (N_test, N_CLASSES)"),
    ):
        if np.ndim(a) != 2:
            hint = "; from integer labels, np.eye(N_CLASSES)[labels] gives them" if name[0] == "Y" else ""
            raise ValueError(f"{name} must be {expected}, got shape {np.shape(a)}{hint}.")
    Xtr = _matrix("X_train", X_train, "rows of samples (N, INPUT_SHAPE)")
    N, D = Xtr.shape
    Ytr = _matrix("Y_train", Y_train, f"one-hot rows ({N}, N_CLASSES), one per row of X_train", rows=N)
    C = Ytr.shape[1]
    Xte = _matrix("X_test", X_test, f"rows of samples (N_test, {D}), as X_train", cols=D)
    Yte = _matrix("Y_test", Y_test, f"one-hot rows ({Xte.shape[0]}, {C}), as Y_train", rows=Xte.shape[0], cols=C)
    _one_hot("Y_train", Ytr, axis=1)
    return Xtr, Ytr, Xte, _one_hot("Y_test", Yte, axis=1)


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
    X_train, Y_train, X_test, Y_test = _check_data(X_train, Y_train, X_test, Y_test)
    check_positive("n_it", n_it, integer=True)
    check_positive("test_freq", test_freq, integer=True)
    D, C = X_train.shape[1], Y_train.shape[1]
    # each step keeps W, b and d_W (and its finite-difference twin), its index, loss and hit: checked before any is drawn
    memory.check(f"train_one_layer with n_it={n_it:,}", n_it * (8 * (4 * D * C + C + 1) + 400))
    rs = np.random.RandomState(_seed(random_seed))
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
    X_train, Y_train, X_test, Y_test = _check_data(X_train, Y_train, X_test, Y_test)
    check_positive("n_it", n_it, integer=True)
    check_positive("test_freq", test_freq, integer=True)
    check_positive("n_hidden", n_hidden, integer=True)
    D, C = X_train.shape[1], Y_train.shape[1]
    sizes = [D, n_hidden, C]  # the parameters (and the trainer's copies), each step's index, loss and hit
    memory.check(
        f"train_two_layer with n_hidden={n_hidden:,}, n_it={n_it:,}",
        memory.training_bytes(sizes, 1, X_train.shape[0] + X_test.shape[0], 8) + 100 * n_it,
    )
    rs = np.random.RandomState(_seed(random_seed))
    bh = rs.normal(size=(n_hidden, 1))
    Wh = rs.normal(size=(D, n_hidden))
    bo = rs.normal(size=(C, 1))
    Wo = rs.normal(size=(n_hidden, C))
    indexes = rs.randint(np.shape(X_train)[0], size=n_it)
    net, loss, acc, test_acc = _course_train(
        {"W0": Wh, "b0": bh.ravel(), "W1": Wo, "b1": bo.ravel()},
        sizes,
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
