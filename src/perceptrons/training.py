"""The training loop and its record, :class:`History`.

One loop covers the course's protocol (batch size 1, indices drawn with replacement, test accuracy
every ``eval_every`` steps, a gradient check every step) and ordinary mini-batch training
(``sampling="epochs"``: a fresh permutation each epoch). Each step:

1. take a batch of indices; 2. compute loss, gradients and probabilities at the current weights;
3. if asked, gradient-check at those same weights and that same batch; 4. record loss and
correctness; 5. update the weights; 6. if asked, evaluate on ``eval_data`` (after the update).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._validation import as_generator, check_labels, check_positive, check_X
from .gradcheck import numeric_grads_batched, roundoff_floor, step_errors
from .network import MLP, Backprop, Params, _views
from .optim import OPTIMIZERS, SGD, Adam

Array = NDArray[Any]


@dataclass
class History:
    """What happened during :func:`train`. Steps are counted from 1 (the first update is step 1).

    Attributes
    ----------
    loss : (steps,) training loss of each step's batch, at the weights *before* its update
    n_correct : (steps,) how many samples of the batch were classified correctly (same weights)
    batch_sizes : (steps,) size of each batch
    test_steps, test_accuracy : evaluations on ``eval_data`` after the update of step s
    gradcheck_steps, gradcheck_error : max entrywise relative error of the gradient check at step s
    gradcheck_norm_error : the normwise relative error of the same check
    time_s : wall-clock seconds spent in :func:`train`
    """

    loss: Array
    n_correct: Array
    batch_sizes: Array
    test_steps: list[int] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    gradcheck_steps: list[int] = field(default_factory=list)
    gradcheck_error: list[float] = field(default_factory=list)
    gradcheck_norm_error: list[float] = field(default_factory=list)
    time_s: float = 0.0

    @property
    def steps(self) -> int:
        return int(self.loss.shape[0])

    @property
    def accuracy(self) -> Array:
        """Fraction of each step's batch classified correctly."""
        return self.n_correct / self.batch_sizes

    @property
    def running_accuracy(self) -> Array:
        """Running train accuracy: correct / seen over all steps so far (the course's curve)."""
        return np.cumsum(self.n_correct) / np.cumsum(self.batch_sizes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python version (for JSON)."""
        return {
            "loss": self.loss.tolist(),
            "n_correct": self.n_correct.tolist(),
            "batch_sizes": self.batch_sizes.tolist(),
            "test_steps": list(self.test_steps),
            "test_accuracy": list(self.test_accuracy),
            "gradcheck_steps": list(self.gradcheck_steps),
            "gradcheck_error": list(self.gradcheck_error),
            "gradcheck_norm_error": list(self.gradcheck_norm_error),
            "time_s": self.time_s,
        }

    def __repr__(self) -> str:
        parts = [f"steps={self.steps}"]
        if self.steps:
            parts.append(f"final loss={self.loss[-1]:.4g}")
            parts.append(f"running train acc={self.running_accuracy[-1]:.3f}")
        if self.test_accuracy:
            parts.append(f"test acc={self.test_accuracy[-1]:.3f}")
        if self.gradcheck_error:
            parts.append(f"max gradcheck err={max(self.gradcheck_error):.2e}")
        return f"History({', '.join(parts)})"


@dataclass
class StepInfo:
    """Passed to ``on_step`` before each update: the batch, its loss, the gradients and the weights
    they were computed at (views that the update will change: copy what you keep)."""

    step: int
    batch: Array
    loss: float
    grads: Params
    params: Params


class _GradcheckRecorder:
    """Collects (weights, gradient, batch) of checked steps and checks them in batched chunks."""

    def __init__(
        self, net: MLP, Xa: Array, ya: NDArray[np.intp], alpha: float, l1: float, h: float, hist: History
    ) -> None:
        self.net, self.Xa, self.ya, self.alpha, self.l1, self.h, self.hist = net, Xa, ya, alpha, l1, h, hist
        size = net.flat_params.size
        self.chunk = int(max(1, min(2048, (1 << 21) // (2 * size + 1))))
        self.theta = np.empty((self.chunk, size), dtype=net.dtype)
        self.grads = np.empty((self.chunk, size), dtype=net.dtype)
        self.steps: list[int] = []
        self.idx: list[Array] = []
        self.losses: list[float] = []

    def add(self, step: int, theta: Array, grads: Array, idx: Array, loss: float) -> None:
        if self.idx and self.idx[-1].shape != idx.shape:
            self.flush()
        k = len(self.steps)
        self.theta[k] = theta
        self.grads[k] = grads
        self.steps.append(step)
        self.idx.append(idx)  # the schedule's arrays are never written to, no copy needed
        self.losses.append(loss)
        if k + 1 == self.chunk:
            self.flush()

    def flush(self) -> None:
        T = len(self.steps)
        if not T:
            return
        P = _views_batched(self.theta[:T].astype(np.float64), self.net.params)
        G = _views_batched(self.grads[:T].astype(np.float64), self.net.params)
        idx = np.stack(self.idx)
        X = self.Xa[idx].astype(np.float64)  # (T, N, D)
        num, kinks = numeric_grads_batched(P, X, self.ya[idx], self.net.activation, self.alpha, self.h, self.l1)
        max_rel, norm = step_errors(G, num, kinks, roundoff_floor(np.asarray(self.losses), self.h))
        self.hist.gradcheck_steps.extend(self.steps)
        self.hist.gradcheck_error.extend(max_rel.tolist())
        self.hist.gradcheck_norm_error.extend(norm.tolist())
        self.steps, self.idx, self.losses = [], [], []


def _views_batched(flat: Array, like: Params) -> Params:
    """(T, n_params) rows -> dict of (T, *shape) arrays laid out like ``like``."""
    out = {}
    offset = 0
    for k, v in like.items():
        out[k] = flat[:, offset : offset + v.size].reshape((flat.shape[0], *v.shape))
        offset += v.size
    return out


def _schedule(
    sampling: str | Sequence[int] | Array,
    n: int,
    batch_size: int,
    steps: int | None,
    epochs: int | None,
    rng: np.random.Generator,
) -> tuple[int, Callable[[int], Array], list[Array]]:
    """Return (number of steps, step -> batch indices, the current epoch's permutation: a one-item list
    for ``"epochs"`` (refreshed when ``batch(s)`` starts an epoch), empty otherwise)."""
    if not isinstance(sampling, str):
        order = np.asarray(sampling)
        if order.ndim != 1 or order.dtype.kind not in "iu" or order.size == 0:
            raise ValueError(
                f"sampling must be 'replacement', 'epochs' or a non-empty 1-D array of sample indices, "
                f"got {type(sampling).__name__} with shape {order.shape}."
            )
        if order.min() < 0 or order.max() >= n:
            raise ValueError(f"sampling indices must lie in [0, {n}), got values from {order.min()} to {order.max()}.")
        total = math.ceil(order.size / batch_size)
        if steps is not None and steps != total:
            raise ValueError(f"steps={steps} disagrees with the {order.size} given indices at batch size {batch_size}.")
        return total, lambda s: order[s * batch_size : (s + 1) * batch_size], []
    if sampling == "replacement":
        if steps is None:
            if epochs is None:
                raise ValueError("give steps= (or epochs=) to say how long to train.")
            steps = epochs * math.ceil(n / batch_size)
        check_positive("steps", steps, integer=True)
        order = rng.integers(0, n, size=steps * batch_size)
        return steps, lambda s: order[s * batch_size : (s + 1) * batch_size], []
    if sampling == "epochs":
        per_epoch = math.ceil(n / batch_size)
        if steps is None:
            if epochs is None:
                raise ValueError("give epochs= (or steps=) to say how long to train.")
            check_positive("epochs", epochs, integer=True)
            steps = epochs * per_epoch
        check_positive("steps", steps, integer=True)
        perm: list[Array] = []

        def batch(s: int) -> Array:
            epoch, j = divmod(s, per_epoch)
            if j == 0:
                perm[:] = [rng.permutation(n)]
            return perm[0][j * batch_size : (j + 1) * batch_size]

        return steps, batch, perm
    raise ValueError(f"sampling must be 'replacement', 'epochs' or an array of indices, got {sampling!r}.")


def train(
    net: MLP,
    X: Any,
    y: Any,
    *,
    optimizer: str = "sgd",
    lr: float = 0.01,
    momentum: float = 0.0,
    nesterov: bool = False,
    batch_size: int | None = 1,
    sampling: str | Sequence[int] | Array = "replacement",
    steps: int | None = None,
    epochs: int | None = None,
    alpha: float = 0.0,
    l1: float = 0.0,
    eval_data: tuple[Any, Any] | None = None,
    eval_every: int = 10,
    gradcheck_every: int = 0,
    gradcheck_h: float = 1e-5,
    seed: int | np.random.Generator | None = None,
    on_step: Callable[[StepInfo], None] | None = None,
    opt: SGD | Adam | None = None,
) -> History:
    """Train ``net`` in place on (X, y) and return its :class:`History`.

    Parameters
    ----------
    net : MLP, updated in place
    X : (N, D) array; y : labels (N,) or one-hot (N, C)
    optimizer : ``"sgd"`` (with ``momentum``/``nesterov``) or ``"adam"``; ``lr`` its learning rate
    batch_size : 1 (the course) up to N; ``None`` means the whole set
    sampling : ``"replacement"`` (the course: ``steps`` batches of indices drawn with replacement),
        ``"epochs"`` (a fresh permutation each epoch), or an explicit 1-D array of indices
    steps, epochs : how long to train (one of them)
    alpha, l1 : L2 and L1 strengths (see :mod:`perceptrons.network`)
    eval_data : (X_test, y_test), evaluated after the update of steps 1, 1 + eval_every, ... and
        after the last step
    gradcheck_every : if > 0, gradient-check the batch every that many steps, at the same weights
        as the step's analytic gradient (before the update). The weights, gradient and batch of each
        checked step are recorded and checked in batched chunks (many steps in one evaluation),
        which gives the same numbers as checking inside the loop, much faster
    seed : int or Generator for the sample order
    on_step : optional callback receiving a :class:`StepInfo` before each update
    opt : an optimiser object to continue with (keeps its state across calls)

    Raises
    ------
    FloatingPointError
        if the loss becomes NaN or infinite; the network keeps the last weights whose loss was finite.
    """
    Xa = check_X(X, net.sizes[0], net.dtype)
    ya = check_labels(y, Xa.shape[0], net.sizes[-1])
    n = Xa.shape[0]
    if batch_size is None:
        batch_size = n
    check_positive("batch_size", batch_size, integer=True)
    batch_size = min(int(batch_size), n)
    check_positive("eval_every", eval_every, integer=True)
    check_positive("gradcheck_every", gradcheck_every, integer=True, allow_zero=True)
    check_positive("alpha", alpha, allow_zero=True)
    check_positive("l1", l1, allow_zero=True)
    if opt is None:
        if optimizer == "sgd":
            opt = SGD(lr, momentum, nesterov)
        elif optimizer == "adam":
            opt = Adam(lr)
        else:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}.")
    Xt = yt = None
    if eval_data is not None:
        if not isinstance(eval_data, (tuple, list)) or len(eval_data) != 2:
            raise TypeError("eval_data must be a pair (X_test, y_test).")
        Xt = check_X(eval_data[0], net.sizes[0], net.dtype, name="X_test")
        yt = check_labels(eval_data[1], Xt.shape[0], net.sizes[-1], name="y_test")
    rng = as_generator(seed)
    total, batch_of, perm = _schedule(sampling, n, batch_size, steps, epochs, rng)
    per_epoch = math.ceil(n / batch_size) if isinstance(sampling, str) and sampling == "epochs" else 0

    hist = History(
        loss=np.empty(total),
        n_correct=np.empty(total, dtype=np.int64),
        batch_sizes=np.empty(total, dtype=np.int64),
    )
    params = net.params
    act = net.activation
    theta = net.flat_params
    gflat = np.empty_like(theta)
    grads = _views(gflat, params)
    flat_p, flat_g = {"theta": theta}, {"theta": gflat}
    backup = theta.copy()
    step = Backprop(net.sizes, act, theta, gflat, alpha, l1)  # loss_and_grads, into preallocated buffers
    XA = step.prepare(Xa)
    XtA = None if Xt is None else step.prepare(Xt)
    checker = _GradcheckRecorder(net, Xa, ya, alpha, l1, gradcheck_h, hist) if gradcheck_every else None
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
        for s in range(total):
            idx = batch_of(s)
            if per_epoch:  # the epoch's rows permuted once, so each batch is a view (no copy per step)
                lo = (s % per_epoch) * batch_size
                if lo == 0:
                    XAp, yp = XA.take(perm[0], axis=0), ya.take(perm[0])  # take: faster than X[perm]
                loss, n_correct = step(XAp[lo : lo + batch_size], yp[lo : lo + batch_size])
            elif idx.shape[0] == 1:  # per-sample SGD: a slice is a view, cheaper than fancy indexing
                j = int(idx[0])
                loss, n_correct = step(XA[j : j + 1], ya[j : j + 1])
            else:
                loss, n_correct = step(XA.take(idx, axis=0), ya.take(idx))
            if not math.isfinite(loss):
                np.copyto(theta, backup)
                if checker is not None:
                    checker.flush()
                hist.loss, hist.n_correct, hist.batch_sizes = hist.loss[:s], hist.n_correct[:s], hist.batch_sizes[:s]
                hist.time_s = time.perf_counter() - t0
                if s == 0:
                    msg = (
                        f"the loss at the starting weights is {loss}: the inputs are too large for these "
                        f"weights (standardise X), or an earlier run diverged (lower the learning rate, now "
                        f"{opt.lr:g})."
                    )
                else:
                    msg = (
                        f"training diverged at step {s + 1}: the loss became {loss}. The network keeps the "
                        f"weights it had before the update of step {s}, the last with a finite loss. Lower "
                        f"the learning rate (now {opt.lr:g}), e.g. to {opt.lr / 10:g}."
                    )
                err = FloatingPointError(msg)
                err.history = hist  # type: ignore[attr-defined]
                raise err
            hist.loss[s] = loss
            hist.n_correct[s] = n_correct
            hist.batch_sizes[s] = idx.shape[0]
            if on_step is not None:
                on_step(StepInfo(s + 1, idx, loss, grads, params))
            if checker is not None and s % gradcheck_every == 0:
                checker.add(s + 1, theta, gflat, idx, loss)
            backup[...] = theta  # (a plain copy: 3x cheaper than np.copyto on a few numbers)
            opt.step(flat_p, flat_g)
            if XtA is not None and yt is not None and (s % eval_every == 0 or s == total - 1):
                hist.test_steps.append(s + 1)  # one batched forward pass over the test set
                hist.test_accuracy.append(step.count_correct(XtA, yt) / yt.shape[0])
    if checker is not None:
        checker.flush()
    hist.time_s = time.perf_counter() - t0
    return hist
