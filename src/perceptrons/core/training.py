"""The trainer and its record, :class:`History`.

One loop covers the course's protocol (batch size 1, indices drawn with replacement, test accuracy
every ``eval_every`` steps, a gradient check every step) and ordinary mini-batch training
(``sampling="epochs"``: a fresh permutation each epoch). Each step, in :meth:`_Trainer.run`:

1. take the step's batch (:class:`Schedule`);
2. compute its loss and gradient at the current weights (:mod:`perceptrons.core.fused` for dense
   inputs, the reference :func:`~perceptrons.core.network.loss_and_grads` for sparse ones);
3. stop with :class:`TrainingDiverged` if the loss is not finite (the weights of the last finite
   loss are kept);
4. record loss and correctness; let ``on_step`` look; record the step for a gradient check at
   these same weights and this same batch;
5. update the weights with the optimiser;
6. every ``eval_every`` steps (and after the last), evaluate on ``eval_data``.

A network of another Array API library (``net.to(torch, device="cuda")``) trains in
:class:`_DeviceTrainer`: the same steps on its device, through :class:`~perceptrons.core.portable.PortableBackprop`,
with no host copy inside the loop. Its losses, counts and evaluations stay on the device and are
read once per epoch's worth of steps (one transfer); a non-finite loss found then is handled as in
step 3, by going back to the weights at the start of those steps and replaying them.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from . import memory
from .devices import to_numpy
from .fused import FusedBackprop
from .gradcheck import DEFAULT_H, check_h, numeric_grads_batched, roundoff_floor, step_errors
from .heads import HEADS, weighted_mean
from .network import MLP, ParamViews, forward, loss_and_grads, param_shapes
from .optim import OPTIMIZERS, SGD, Adam, _State
from .portable import PortableBackprop
from .threads import blas_threads_for
from .validation import as_generator, check_positive

Array = NDArray[Any]


@dataclass
class History:
    """What happened during :func:`train`. Steps are counted from 1 (the first update is step 1).

    Attributes
    ----------
    loss : (steps,) training loss of each step's batch, at the weights *before* its update
    n_correct : (steps,) how many samples of the batch were classified correctly (same weights)
    batch_sizes : (steps,) size of each batch
    test_steps : the steps after whose update ``eval_data`` was evaluated
    test_accuracy : accuracy on ``eval_data`` at those steps (classification heads)
    test_loss : the head's loss on ``eval_data`` at those steps (regression: the identity and exp heads)
    gradcheck_steps, gradcheck_error : max entrywise relative error of the gradient check at step s
    gradcheck_norm_error : the normwise relative error of the same check
    time_s : wall-clock seconds spent in :func:`train`
    task : ``"classification"`` or ``"regression"`` (then ``n_correct`` is 0)
    diverged : empty, or what :class:`TrainingDiverged` said when the loss stopped being finite
    """

    loss: Array
    n_correct: Array
    batch_sizes: Array
    test_steps: list[int] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    gradcheck_steps: list[int] = field(default_factory=list)
    gradcheck_error: list[float] = field(default_factory=list)
    gradcheck_norm_error: list[float] = field(default_factory=list)
    time_s: float = 0.0
    task: str = "classification"
    diverged: str = ""

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
            "test_loss": list(self.test_loss),
            "gradcheck_steps": list(self.gradcheck_steps),
            "gradcheck_error": list(self.gradcheck_error),
            "gradcheck_norm_error": list(self.gradcheck_norm_error),
            "time_s": self.time_s,
            "task": self.task,
            "diverged": self.diverged,
        }

    def __repr__(self) -> str:
        parts = [f"steps={self.steps}"]
        if self.steps:
            parts.append(f"final loss={self.loss[-1]:.4g}")
            if self.task == "classification":
                parts.append(f"running train acc={self.running_accuracy[-1]:.3f}")
        if self.test_accuracy:
            parts.append(f"test acc={self.test_accuracy[-1]:.3f}")
        if self.test_loss:
            parts.append(f"test loss={self.test_loss[-1]:.4g}")
        if self.gradcheck_error:
            parts.append(f"max gradcheck err={max(self.gradcheck_error):.2e}")
        return f"History({', '.join(parts)})"


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite. ``history`` holds the steps up to the last finite loss, and the
    network keeps the weights at which that loss was computed (the last update is undone)."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


@dataclass
class StepInfo:
    """Passed to ``on_step`` before each update: the batch, its loss, the gradients and the weights
    they were computed at (views that the update will change: copy what you keep)."""

    step: int
    batch: Array
    loss: float
    grads: ParamViews
    params: ParamViews


def make_schedule(
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


def make_optimizer(optimizer: str, lr: float, momentum: float = 0.0, nesterov: bool = False) -> SGD | Adam:
    """``"sgd"`` (with ``momentum``/``nesterov``) or ``"adam"``, with learning rate ``lr``."""
    if optimizer == "sgd":
        return SGD(lr, momentum, nesterov)
    if optimizer == "adam":
        return Adam(lr)
    raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}.")


@dataclass
class _Data:
    """Validated training data: ``X`` (dense or CSR), targets ``y`` in the head's encoding, weights ``w``."""

    X: Any
    y: Array
    w: Array | None = None

    @classmethod
    def checked(cls, net: MLP, X: Any, y: Any, sample_weight: Any = None, name: str = "X") -> _Data:
        Xc = net.check_X(X, name=name)
        yc = net.check_targets(y, Xc.shape[0], name="y" if name == "X" else "y_test")
        return cls(Xc, yc, net.check_sample_weight(sample_weight, Xc.shape[0]))

    def on_host(self) -> _Data:
        """NumPy copies (for the gradient checker, which works in float64 on the host)."""
        return _Data(to_numpy(self.X), to_numpy(self.y), None if self.w is None else to_numpy(self.w))


def divergence_message(s: int, loss: float, lr: float) -> str:
    """What :class:`TrainingDiverged` says when the loss of 0-based step ``s`` is ``loss`` (not finite) at rate ``lr``."""
    if s == 0:
        return (
            f"the loss at the starting weights is {loss}: the inputs are too large for these "
            f"weights (standardise X), or an earlier run diverged (lower the learning rate, now {lr:g})."
        )
    return (
        f"training diverged at step {s + 1}: the loss became {loss}. The network keeps the "
        f"weights it had before the update of step {s}, the last with a finite loss. Lower "
        f"the learning rate (now {lr:g}), e.g. to {lr / 10:g}."
    )


class _ReferenceStep:
    """The engine interface of :class:`FusedBackprop` over the reference pass (for sparse inputs)."""

    def __init__(self, net: MLP, grads: Array, alpha: float, l1: float) -> None:
        self.net, self.alpha, self.l1 = net, alpha, l1
        self.grads = ParamViews(grads, param_shapes(net.sizes))
        self.head = HEADS[net.output]

    def prepare(self, X: Any) -> Any:
        return X

    def logits(self, X: Any) -> Array:
        return forward(self.net.params, X, self.net.activation)

    def __call__(self, X: Any, y: Array, sample_weight: Array | None = None) -> tuple[float, int]:
        net = self.net
        loss, grads = loss_and_grads(net.params, X, y, net.activation, net.output, self.alpha, self.l1, sample_weight)
        for k, g in grads.items():
            self.grads[k][...] = g
        if self.head.correct is None:
            return loss, 0
        return loss, int(np.count_nonzero(self.head.correct(self.logits(X), y)))


class _GradcheckRecorder:
    """Collects (weights, gradient, batch) of checked steps and checks them in batched chunks."""

    def __init__(self, net: MLP, data: _Data, alpha: float, l1: float, h: float, hist: History) -> None:
        self.net, self.data, self.alpha, self.l1, self.h, self.hist = net, data, alpha, l1, h, hist
        size = net.n_params
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
        shapes = param_shapes(self.net.sizes)
        P = _views_batched(self.theta[:T].astype(np.float64), shapes)
        G = _views_batched(self.grads[:T].astype(np.float64), shapes)
        idx = np.stack(self.idx)
        X = self.data.X[idx.ravel()]
        X = (X.toarray() if sp.issparse(X) else X).astype(np.float64).reshape(T, idx.shape[1], -1)  # (T, N, D)
        y = self.data.y[idx]
        w = None if self.data.w is None else self.data.w[idx].astype(np.float64)
        num, kinks = numeric_grads_batched(
            P, X, y, self.net.activation, self.net.output, self.alpha, self.h, self.l1, sample_weight=w
        )
        max_rel, norm = step_errors(G, num, kinks, roundoff_floor(np.asarray(self.losses), self.h))
        self.hist.gradcheck_steps.extend(self.steps)
        self.hist.gradcheck_error.extend(max_rel.tolist())
        self.hist.gradcheck_norm_error.extend(norm.tolist())
        self.steps, self.idx, self.losses = [], [], []


def _views_batched(flat: Array, shapes: dict[str, tuple[int, ...]]) -> dict[str, Array]:
    """(T, n_params) rows -> dict of (T, *shape) arrays laid out like the flat vector."""
    out = {}
    offset = 0
    for k, shape in shapes.items():
        size = math.prod(shape)
        out[k] = flat[:, offset : offset + size].reshape((flat.shape[0], *shape))
        offset += size
    return out


def _diverged(hist: History, checker: _GradcheckRecorder | None, s: int, loss: float, lr: float) -> TrainingDiverged:
    """Close the History at step ``s`` (whose loss is not finite) and say what to do; the caller has
    restored the weights of the last finite loss."""
    if checker is not None:
        checker.flush()
    hist.loss, hist.n_correct, hist.batch_sizes = hist.loss[:s], hist.n_correct[:s], hist.batch_sizes[:s]
    kept = [i for i, step in enumerate(hist.test_steps) if step < s]  # evaluations of the kept weights
    hist.test_steps = [hist.test_steps[i] for i in kept]
    for name in ("test_accuracy", "test_loss"):
        values = getattr(hist, name)
        setattr(hist, name, [values[i] for i in kept] if values else values)
    hist.diverged = divergence_message(s, loss, lr)
    return TrainingDiverged(hist.diverged, hist)


class _Trainer:
    """The state of one :func:`train` call and its named steps."""

    def __init__(
        self,
        net: MLP,
        data: _Data,
        opt: SGD | Adam,
        hist: History,
        alpha: float,
        l1: float,
        test: _Data | None,
        eval_every: int,
        on_step: Callable[[StepInfo], None] | None,
        checker_h: float | None,
        gradcheck_every: int,
    ) -> None:
        self.net, self.data, self.opt, self.hist = net, data, opt, hist
        self.head = HEADS[net.output]
        self.theta = net.flat_params
        self.gflat = np.empty_like(self.theta)
        self.grads = ParamViews(self.gflat, param_shapes(net.sizes))
        self.backup = self.theta.copy()
        self.sparse = sp.issparse(data.X) or (test is not None and sp.issparse(test.X))
        if self.sparse:
            self.engine: FusedBackprop | _ReferenceStep = _ReferenceStep(net, self.gflat, alpha, l1)
        else:
            self.engine = FusedBackprop(net.sizes, net.activation, net.output, self.theta, self.gflat, alpha, l1)
        self.X1 = self.engine.prepare(data.X)  # [X, 1] for the fused engine
        self.test = test
        self.test_X1 = None if test is None else self.engine.prepare(test.X)
        self.eval_every = eval_every
        self.on_step = on_step
        self.checker = _GradcheckRecorder(net, data, alpha, l1, checker_h, hist) if checker_h is not None else None
        self.gradcheck_every = gradcheck_every
        self.epoch_rows: tuple[Any, Array, Array | None] | None = None

    def batch(self, s: int, idx: Array, per_epoch: int, batch_size: int, perm: list[Array]) -> tuple[Any, Array, Any]:
        """The rows of step ``s``: a view of the epoch's permuted rows, one row, or a gathered batch."""
        X1, y, w = self.X1, self.data.y, self.data.w
        if self.sparse:
            return X1[idx], y.take(idx, axis=0), None if w is None else w.take(idx)
        if per_epoch:  # the epoch's rows permuted once, so each batch is a view
            lo = (s % per_epoch) * batch_size
            if lo == 0 or self.epoch_rows is None:
                p = perm[0]
                self.epoch_rows = (X1.take(p, axis=0), y.take(p, axis=0), None if w is None else w.take(p))
            Xp, yp, wp = self.epoch_rows
            hi = lo + batch_size
            return Xp[lo:hi], yp[lo:hi], None if wp is None else wp[lo:hi]
        if idx.shape[0] == 1:  # per-sample SGD: a slice is a view, cheaper than take
            j = int(idx[0])
            return X1[j : j + 1], y[j : j + 1], None if w is None else w[j : j + 1]
        return X1.take(idx, axis=0), y.take(idx, axis=0), None if w is None else w.take(idx)

    def diverged(self, s: int, loss: float) -> TrainingDiverged:
        """Restore the last weights with a finite loss, close the History, and say what to do."""
        np.copyto(self.theta, self.backup)
        return _diverged(self.hist, self.checker, s, loss, self.opt.lr)

    def evaluate(self, step: int) -> None:
        """Accuracy (classification) or loss (regression) on the evaluation data, after ``step``'s update."""
        test, X1 = self.test, self.test_X1
        if test is None or X1 is None:
            return
        z = self.engine.logits(X1)  # one forward pass over the whole evaluation set
        self.hist.test_steps.append(step)
        if self.head.correct is not None:
            self.hist.test_accuracy.append(int(np.count_nonzero(self.head.correct(z, test.y))) / test.y.shape[0])
        else:
            self.hist.test_loss.append(float(weighted_mean(self.head.sample_loss(z, test.y), test.w)))

    def run(self, schedule: tuple[int, Callable[[int], Array], list[Array]], batch_size: int, per_epoch: int) -> None:
        total, batch_of, perm = schedule
        hist, theta, backup = self.hist, self.theta, self.backup
        losses, n_corrects, batch_sizes = hist.loss, hist.n_correct, hist.batch_sizes
        engine, batch, opt_step, on_step, checker = self.engine, self.batch, self.opt.step, self.on_step, self.checker
        flat_params, flat_grads = {"theta": theta}, {"theta": self.gflat}
        eval_every, last = self.eval_every, total - 1
        for s in range(total):  # the loop's names are locals: a per-sample step costs about 9 us in all
            idx = batch_of(s)
            Xb, yb, wb = batch(s, idx, per_epoch, batch_size, perm)
            loss, n_correct = engine(Xb, yb, wb)
            if not math.isfinite(loss):
                raise self.diverged(s, loss)
            losses[s] = loss
            n_corrects[s] = n_correct
            batch_sizes[s] = idx.shape[0]
            if on_step is not None:
                on_step(StepInfo(s + 1, idx, loss, self.grads, self.net.params))
            if checker is not None and s % self.gradcheck_every == 0:
                checker.add(s + 1, theta, self.gflat, idx, loss)
            np.copyto(backup, theta)
            opt_step(flat_params, flat_grads)
            if s % eval_every == 0 or s == last:
                self.evaluate(s + 1)
        if checker is not None:
            checker.flush()


def _check_memory(
    net: MLP, n: int, dense_rows: int, batch_size: int, sampling: Any, steps: int | None, epochs: int | None
) -> None:
    """Refuse, before allocating, a run whose working set or records would not fit (see :mod:`.memory`):
    the training working set (``dense_rows`` rows copied once: 0 for sparse X), the history (3 numbers
    per step) and, sampling with replacement, every step's drawn indices."""
    total = 0
    if steps is not None:
        total = int(check_positive("steps", steps, integer=True))
    elif epochs is not None and isinstance(sampling, str):
        total = int(check_positive("epochs", epochs, integer=True)) * math.ceil(n / batch_size)
    per_step = 3 * 8 + (8 * batch_size if isinstance(sampling, str) and sampling == "replacement" else 0)
    need = memory.training_bytes(net.sizes, batch_size, dense_rows, net.dtype.itemsize, param_copies=5)
    need += total * per_step
    what = f"training MLP({net.sizes}) for {total:,} steps of batch_size {batch_size} on {n:,} rows"
    memory.check(what, need)


class _DeviceTrainer:
    """The steps of :class:`_Trainer` for a network of another Array API library, on its device.

    Inside the loop nothing comes back to the host: each step's loss and count are 0-d arrays kept in
    a list, and every ``chunk`` steps (an epoch's worth) they are stacked and read in one transfer,
    with the evaluations of those steps. The batches' indices go the other way, once per chunk.
    ``on_step`` and the gradient check need host numbers, so they read them at each step they see.
    """

    def __init__(
        self,
        net: MLP,
        data: _Data,
        opt: SGD | Adam,
        hist: History,
        alpha: float,
        l1: float,
        test: _Data | None,
        eval_every: int,
        on_step: Callable[[StepInfo], None] | None,
        checker_h: float | None,
        gradcheck_every: int,
    ) -> None:
        self.net, self.data, self.opt, self.hist, self.test = net, data, opt, hist, test
        self.xp, self.device = net.xp, net.device
        self.head = HEADS[net.output]
        self.theta = net.flat_params
        self.gflat = self.xp.zeros_like(self.theta)
        self.grads = ParamViews(self.gflat, param_shapes(net.sizes))
        self.engine = PortableBackprop(net.sizes, net.activation, net.output, self.theta, self.gflat, alpha, l1)
        self.eval_every, self.on_step, self.gradcheck_every = eval_every, on_step, gradcheck_every
        self.checker = None
        if checker_h is not None:
            self.checker = _GradcheckRecorder(net, data.on_host(), alpha, l1, checker_h, hist)
        self.flat = ({"theta": self.theta}, {"theta": self.gflat})

    def _copy(self, a: Any) -> Any:
        return self.xp.asarray(a, copy=True)

    def _copy_opt(self, opt: SGD | Adam) -> SGD | Adam:
        """A copy of ``opt`` whose state (velocities, moments) is copied on the device."""
        twin = copy.copy(opt)
        twin.state = _State()
        twin.state.arrays = {k: {n: self._copy(a) for n, a in arrs.items()} for k, arrs in opt.state.arrays.items()}
        return twin

    def _snapshot(self) -> tuple[Any, SGD | Adam]:
        """The weights and the optimiser's state now, copied on the device."""
        return self._copy(self.theta), self._copy_opt(self.opt)

    def _restore(self, snapshot: tuple[Any, SGD | Adam]) -> None:
        """Back to ``snapshot`` in place (the network's vector and the optimiser object stay the same)."""
        theta, opt = snapshot
        self.theta[...] = theta
        self.opt.__dict__.update(self._copy_opt(opt).__dict__)

    def _batch(self, idx: Any, lo: int, hi: int) -> tuple[Any, Any, Any]:
        xp, d = self.xp, self.data
        rows = idx[lo:hi]
        return xp.take(d.X, rows, axis=0), xp.take(d.y, rows, axis=0), None if d.w is None else xp.take(d.w, rows)

    def _step(self, s: int, idx_host: Any, idx: Any, lo: int, hi: int) -> tuple[Any, Any]:
        """Steps 2, 4 and 5 of the loop for step ``s``: loss and gradient, callbacks, the update."""
        loss, n_correct = self.engine(*self._batch(idx, lo, hi))
        if self.on_step is not None:
            self.on_step(StepInfo(s + 1, idx_host, float(loss), self.grads, self.net.params))
        if self.checker is not None and s % self.gradcheck_every == 0:
            self.checker.add(s + 1, to_numpy(self.theta), to_numpy(self.gflat), idx_host, float(loss))
        self.opt.step(*self.flat)
        return loss, n_correct

    def _evaluate(self, test: _Data) -> Any:
        """The evaluation as a 0-d array on the device: rows predicted right, or the regression loss."""
        xp = self.xp
        z = self.engine.logits(test.X)
        if self.head.correct is not None:
            return xp.sum(xp.astype(self.head.correct(z, test.y), xp.int64))
        return weighted_mean(self.head.sample_loss(z, test.y), test.w)

    def _read(self, values: list[Any]) -> Array:
        """One transfer: the 0-d arrays (and Python numbers) of ``values`` as float64 on the host."""
        xp = self.xp
        on_device = [xp.astype(v, xp.float64) for v in values if not isinstance(v, (int, float))]
        read = iter(to_numpy(xp.stack(on_device)).tolist() if on_device else [])
        return np.array([float(v) if isinstance(v, (int, float)) else next(read) for v in values])

    def run(self, schedule: tuple[int, Callable[[int], Array], list[Array]], chunk: int) -> None:
        total, batch_of, _perm = schedule
        hist, xp, test = self.hist, self.xp, self.test
        previous_last: Any = None
        for c in range(0, total, chunk):
            e = min(total, c + chunk)
            start = self._snapshot()
            idx_host = [batch_of(s) for s in range(c, e)]
            bounds = np.cumsum([0] + [i.shape[0] for i in idx_host])
            idx = xp.asarray(np.concatenate(idx_host), device=self.device)  # the chunk's rows, sent once
            losses, counts, evals = [], [], []
            for s in range(c, e):
                if s == e - 1:
                    last = self._copy(self.theta)  # theta of the chunk's last step, if the next chunk starts badly
                loss, n_correct = self._step(s, idx_host[s - c], idx, int(bounds[s - c]), int(bounds[s - c + 1]))
                losses.append(loss)
                counts.append(n_correct)
                if test is not None and (s % self.eval_every == 0 or s == total - 1):
                    evals.append((s + 1, self._evaluate(test)))
            numbers = self._read(losses + counts + [v for _, v in evals])
            n = e - c
            hist.loss[c:e], hist.n_correct[c:e] = numbers[:n], numbers[n : 2 * n]
            hist.batch_sizes[c:e] = np.diff(bounds)
            for (step, _), value in zip(evals, numbers[2 * n :].tolist()):
                hist.test_steps.append(step)
                if self.head.correct is not None and test is not None:
                    hist.test_accuracy.append(int(value) / test.y.shape[0])
                else:
                    hist.test_loss.append(value)
            bad = np.flatnonzero(~np.isfinite(numbers[:n]))
            if bad.size:
                s = c + int(bad[0])
                self._back_to(s, c, start, previous_last, idx_host, idx, bounds)
                raise _diverged(hist, self.checker, s, float(numbers[s - c]), self.opt.lr)
            previous_last = last
        if self.checker is not None:
            self.checker.flush()

    def _back_to(
        self, s: int, c: int, start: Any, previous_last: Any, idx_host: list[Any], idx: Any, bounds: Any
    ) -> None:
        """The weights at which the last finite loss (of step ``s - 1``) was computed: those of the chunk's
        start, with its steps before ``s - 1`` replayed (or those kept from the chunk before)."""
        if s == c and s > 0:
            self.theta[...] = previous_last
            return
        self._restore(start)
        on_step, checker = self.on_step, self.checker
        self.on_step = self.checker = None  # a replay: the callbacks saw these steps already
        try:
            for r in range(c, s - 1):
                self._step(r, idx_host[r - c], idx, int(bounds[r - c]), int(bounds[r - c + 1]))
        finally:
            self.on_step, self.checker = on_step, checker


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
    sample_weight: Any = None,
    eval_data: tuple[Any, Any] | None = None,
    eval_every: int = 10,
    gradcheck_every: int = 0,
    gradcheck_h: float = DEFAULT_H,
    seed: int | np.random.Generator | None = None,
    on_step: Callable[[StepInfo], None] | None = None,
    opt: SGD | Adam | None = None,
) -> History:
    """Train ``net`` in place on (X, y) and return its :class:`History`.

    Parameters
    ----------
    net : MLP, updated in place (a float32 network trains in float32)
    X : (N, D) array or scipy.sparse matrix; y : targets for the network's head (labels (N,) or
        one-hot rows for softmax, a 0/1 matrix (N, K) for logistic, values (N, K) for identity)
    optimizer : ``"sgd"`` (with ``momentum``/``nesterov``) or ``"adam"``; ``lr`` its learning rate
    batch_size : 1 (the course) up to N; ``None`` means the whole set
    sampling : ``"replacement"`` (the course: ``steps`` batches of indices drawn with replacement),
        ``"epochs"`` (a fresh permutation each epoch), or an explicit 1-D array of indices
    steps, epochs : how long to train (one of them)
    alpha, l1 : L2 and L1 strengths (see :mod:`perceptrons.core.network`)
    sample_weight : (N,) non-negative weights: each batch's loss is its weighted mean
    eval_data : (X_test, y_test), evaluated after the update of steps 1, 1 + eval_every, ... and
        after the last step (accuracy for classification heads, loss for regression)
    gradcheck_every : if > 0, gradient-check the batch every that many steps, at the same weights
        as the step's analytic gradient (before the update). The weights, gradient and batch of each
        checked step are recorded and checked in batched chunks (many steps in one evaluation),
        which gives the same numbers as checking inside the loop, much faster
    seed : int or Generator for the sample order
    on_step : optional callback receiving a :class:`StepInfo` before each update
    opt : an optimiser object to continue with (keeps its state across calls)

    Raises
    ------
    TrainingDiverged (a FloatingPointError)
        if the loss becomes NaN or infinite; the network keeps the last weights whose loss was
        finite, and the exception's ``history`` the steps until then.
    """
    data = _Data.checked(net, X, y, sample_weight)
    n = data.X.shape[0]
    batch_size = n if batch_size is None else min(int(check_positive("batch_size", batch_size, integer=True)), n)
    check_positive("eval_every", eval_every, integer=True)
    check_positive("gradcheck_every", gradcheck_every, integer=True, allow_zero=True)
    check_positive("alpha", alpha, allow_zero=True)
    check_positive("l1", l1, allow_zero=True)
    if gradcheck_every:
        check_h(gradcheck_h, "gradcheck_h")
    _check_memory(net, n, 0 if sp.issparse(data.X) else n, batch_size, sampling, steps, epochs)
    if opt is None:
        opt = make_optimizer(optimizer, lr, momentum, nesterov)
    test = None
    if eval_data is not None:
        if not isinstance(eval_data, (tuple, list)) or len(eval_data) != 2:
            raise TypeError("eval_data must be a pair (X_test, y_test).")
        test = _Data.checked(net, eval_data[0], eval_data[1], name="X_test")
    schedule = make_schedule(sampling, n, batch_size, steps, epochs, as_generator(seed))
    per_epoch = math.ceil(n / batch_size) if isinstance(sampling, str) and sampling == "epochs" else 0
    total = schedule[0]
    hist = History(
        loss=np.empty(total),
        n_correct=np.empty(total, dtype=np.int64),
        batch_sizes=np.empty(total, dtype=np.int64),
        task="classification" if HEADS[net.output].is_classifier else "regression",
    )
    checker_h = gradcheck_h if gradcheck_every else None
    t0 = time.perf_counter()
    if not isinstance(net.flat_params, np.ndarray):
        device_trainer = _DeviceTrainer(
            net, data, opt, hist, alpha, l1, test, eval_every, on_step, checker_h, gradcheck_every
        )
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # for libraries computing with NumPy underneath
                device_trainer.run(schedule, per_epoch or math.ceil(n / batch_size))
        finally:
            hist.time_s = time.perf_counter() - t0
        return hist
    trainer = _Trainer(net, data, opt, hist, alpha, l1, test, eval_every, on_step, checker_h, gradcheck_every)
    try:
        with blas_threads_for(batch_size, net.sizes, net.dtype), np.errstate(over="ignore", invalid="ignore"):
            trainer.run(schedule, batch_size, per_epoch)
    finally:
        hist.time_s = time.perf_counter() - t0
    return hist
