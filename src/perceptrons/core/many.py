"""Many networks of the same sizes trained as one stack: :func:`train_many` and :class:`NetworkStack`.

K networks with the same layer sizes, activation, head and dtype differ only in their numbers (initial
weights, learning rate, L2/L1 strength, momentum). Stacked, their flat parameter vectors are the rows of
one (K, n_params) array, and each layer ``[W_i; b_i]`` of all of them is a (K, fan_in + 1, fan_out)
view of it: one batched product per layer (``np.matmul`` over the stack) does the work of K products,
and every element-wise step, the head and the optimiser run once over the stack instead of K times.
For small networks, where a step costs mostly the Python and NumPy overhead of its calls, K networks
then cost little more than one.

The arithmetic is that of :mod:`perceptrons.core.fused` (transposed layers, the ones-row trick, the
same formulas for every head and penalty) and of :mod:`perceptrons.core.optim`, row by row, so each
network's numbers equal those of training it alone with :func:`~perceptrons.core.training.train` (the
same settings and sample order) up to the rounding of the order of sums (``tests/test_many.py``:
1e-12 in float64).

Sample order: by default every network sees the same batches in the same order (one shuffle Generator
from ``seed``, shared), so network k matches ``train(net_k, ..., seed=seed)``. A list of K seeds (or
Generators) gives each network its own order, as K separate ``train`` calls would draw them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .activations import ACTIVATIONS, Scratch
from .heads import HEADS, mean_weights, weighted_mean
from .network import MLP
from .optim import Adam, _check_fraction, adam_update, sgd_update
from .threads import blas_threads_for
from .training import History, _Data, divergence_message, make_schedule
from .validation import as_generator, check_choice, check_positive

Array = NDArray[Any]
Seed = int | np.random.Generator | None


# -- per-network settings ----------------------------------------------------------------------
def per_network(name: str, value: Any, k: int, check: Callable[[str, Any], Any]) -> Array:
    """``value`` (a scalar for all K networks, or a sequence of K) as a (K,) float array, each entry checked."""
    values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value] * k
    if len(values) != k:
        raise ValueError(f"{name} must be one value or a list of one per network ({k}), got {len(values)} values.")
    return np.array([check(f"{name}[{i}]" if len(values) > 1 else name, v) for i, v in enumerate(values)], float)


def _rate(name: str, v: Any) -> float:
    return float(check_positive(name, v))


def _strength(name: str, v: Any) -> float:
    return float(check_positive(name, v, allow_zero=True))


def _momentum(name: str, v: Any) -> float:
    return _check_fraction(name, v, allow_one=True)


def _flag(name: str, v: Any) -> float:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {v!r}.")
    return float(v)


def check_stackable(nets: Sequence[MLP]) -> list[MLP]:
    """``nets`` as a non-empty list of distinct MLPs of the same sizes, activation, head and dtype."""
    nets = list(nets) if isinstance(nets, (list, tuple)) else []
    if not nets or not all(isinstance(n, MLP) for n in nets):
        raise TypeError("nets must be a non-empty list of perceptrons.MLP networks.")
    first = nets[0]
    for i, net in enumerate(nets):
        if (net.sizes, net.activation, net.output, net.dtype) != (
            first.sizes,
            first.activation,
            first.output,
            first.dtype,
        ):
            raise ValueError(
                f"every network of a stack must have the same sizes, activation, head and dtype; network 0 is "
                f"{first!r}, network {i} is {net!r}. Group networks by these (one train_many call per group)."
            )
    if len({id(n) for n in nets}) != len(nets):
        raise ValueError("the same network appears twice in nets; pass copies (net.copy()) to train it twice.")
    return nets


# -- the stacked engine ------------------------------------------------------------------------
class StackedBackprop:
    """Loss and gradient of K networks of the same sizes on batches, into the rows of ``grads``.

    ``theta`` (K, n_params) holds one network's flat parameters per row (``MLP.flat_params``'s layout),
    read at every call; ``grads`` (K, n_params) receives the gradients. Batches are ``[x, 1]`` rows from
    :meth:`prepare`: (N, D + 1) shared by all networks, or (K, N, D + 1), one batch per network.
    ``alpha``, ``l1``: (K,) penalty strengths.
    """

    def __init__(self, sizes: Sequence[int], activation: str, output: str, theta: Array, grads: Array,
                 alpha: Array, l1: Array) -> None:  # fmt: skip
        self.sizes = list(sizes)
        self.act = ACTIVATIONS[activation]
        self.head = HEADS[output]
        self.fast_softmax = output == "softmax"
        self.dtype = theta.dtype
        k = theta.shape[0]
        self.alpha = alpha.astype(self.dtype)[:, None, None]
        self.l1 = l1.astype(self.dtype)[:, None, None]
        self.penalised = bool(alpha.any() or l1.any())
        self.WbT: list[Array] = []  # [W_i; b_i]^T per network: (K, fan_out, fan_in + 1) views of theta
        self.W: list[Array] = []  # W_i: (K, fan_in, fan_out) views of theta
        self.G: list[Array] = []  # [dW_i; db_i]: (K, fan_in + 1, fan_out) views of grads
        offset = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            size = (fan_in + 1) * fan_out
            Wb = theta[:, offset : offset + size].reshape(k, fan_in + 1, fan_out)
            self.WbT.append(Wb.transpose(0, 2, 1))
            self.W.append(Wb[:, :fan_in])
            self.G.append(grads[:, offset : offset + size].reshape(k, fan_in + 1, fan_out))
            offset += size
        self._buffers_by_n: dict[int, _StackBuffers] = {}
        self.k = k

    def prepare(self, X: Array) -> Array:
        """``[X, 1]``: the inputs (N, D) with a column of ones, in the networks' dtype."""
        X1 = np.empty((X.shape[0], X.shape[1] + 1), dtype=self.dtype)
        X1[:, :-1] = X
        X1[:, -1] = 1.0
        return X1

    def _buffers(self, n: int) -> _StackBuffers:
        buf = self._buffers_by_n.get(n)
        if buf is None:
            buf = self._buffers_by_n[n] = _StackBuffers(self.sizes, self.k, n, self.dtype)
        return buf

    def _forward(self, x1T: Array, buf: _StackBuffers) -> Array:
        """Logits^T (K, C, N) of the batch ``x1T`` ((D + 1, N) or (K, D + 1, N)); each layer's ``[h, 1]^T`` kept."""
        h1T = x1T
        for i in range(len(self.WbT) - 1):
            np.matmul(self.WbT[i], h1T, out=buf.zT[i])  # z^T = [W; b]^T [h, 1]^T, all networks in one call
            h1T = buf.h1T[i]
            self.act.forward_into(buf.zT[i], h1T[:, :-1], buf.scratch[i].zero)
        np.matmul(self.WbT[-1], h1T, out=buf.z)
        return buf.z

    def logits(self, x1: Array) -> Array:
        """Logits (K, N, C) of the rows ``x1`` (from ``prepare``) for every network (a view: copy to keep)."""
        return self._forward(np.swapaxes(x1, -1, -2), self._buffers(x1.shape[-2])).transpose(0, 2, 1)

    def __call__(self, x1: Array, y: Array, sample_weight: Array | None = None) -> tuple[Array, Array]:
        """Losses (K,) and rows predicted right (K,) (0 for regression) of the batch ``x1`` with targets ``y``
        ((N, ...) shared or (K, N, ...)) and optional weights ((N,) or (K, N)); gradients into ``grads``."""
        n = x1.shape[-2]
        buf = self._buffers(n)
        x1T = np.swapaxes(x1, -1, -2)
        z = self._forward(x1T, buf)
        if self.fast_softmax and sample_weight is None:
            loss, n_correct = _stacked_softmax_ce(z, y, buf)
        else:
            loss, n_correct = self._head_loss(z, y, sample_weight, buf)
        self._backward(x1T, buf)
        if self.penalised:
            loss += self._penalties()
        return loss, n_correct

    def _head_loss(self, z: Array, y: Array, w: Array | None, buf: _StackBuffers) -> tuple[Array, Array]:
        """The head's own functions on the (K, N, C) view of the logits: losses (K,), ``buf.dz`` = dL/dz^T."""
        zt = z.transpose(0, 2, 1)
        factors = mean_weights(zt.shape[1], w, self.dtype)  # w_n / S: (N,) or (K, N)
        loss = _rowdot(self.head.sample_loss(zt, y), factors)
        buf.dz[...] = (self.head.sample_grad(zt, y) * factors[..., None]).transpose(0, 2, 1)
        correct = self.head.correct
        n_correct = np.zeros(self.k, np.int64) if correct is None else np.count_nonzero(correct(zt, y), axis=-1)
        return loss, n_correct

    def _backward(self, x1T: Array, buf: _StackBuffers) -> None:
        """From ``buf.dz`` down: ``[dW_i; db_i] = [h, 1]^T dz`` per layer, one batched product each."""
        dz = buf.dz
        for i in range(len(self.W) - 1, -1, -1):
            h1T = buf.h1T[i - 1] if i else x1T
            np.matmul(h1T, dz.transpose(0, 2, 1), out=self.G[i])
            if i:
                d = buf.dT[i - 1]
                np.matmul(self.W[i], dz, out=d)  # (dz W^T)^T
                self.act.backward_into(d, h1T[:, :-1], buf.scratch[i - 1])
                dz = d

    def _penalties(self) -> Array:
        """The penalties (K,) of the weights; their gradients added to the rows of each dW."""
        total = np.zeros(self.k)
        for W, G in zip(self.W, self.G):
            terms = 0.5 * self.alpha * W * W + self.l1 * np.abs(W)
            total += terms.sum(axis=(1, 2))
            G[:, : W.shape[1]] += self.alpha * W + self.l1 * np.sign(W)
        return total


class _StackBuffers:
    """Preallocated arrays of :class:`StackedBackprop` for K networks and batch size ``n``, units x samples."""

    def __init__(self, sizes: list[int], k: int, n: int, dtype: Any) -> None:
        hidden, c = sizes[1:-1], sizes[-1]
        self.h1T = [np.empty((k, h + 1, n), dtype=dtype) for h in hidden]  # [h_i, 1]^T
        for h1T in self.h1T:
            h1T[:, -1] = 1.0
        self.zT = [np.empty((k, h, n), dtype=dtype) for h in hidden]
        self.dT = [np.empty((k, h, n), dtype=dtype) for h in hidden]
        self.scratch = [Scratch((k, h, n), dtype) for h in hidden]  # f', mask and zeros of the activations
        self.z = np.empty((k, c, n), dtype=dtype)  # logits^T
        self.dz = np.empty((k, c, n), dtype=dtype)
        self.onehot = np.empty((k, c, n), dtype=dtype)
        self.classes = np.arange(c)[:, None]
        self.inv_n = np.array(1.0 / n, dtype=dtype)


def _rowdot(a: Array, b: Array) -> Array:
    """``a[k] . b[k]`` for each row k of ``a`` (K, M); ``b`` is (K, M) or one (M,) row for all (a dot per row)."""
    return np.matmul(a[:, None, :], b[..., :, None])[:, 0, 0]  # type: ignore[no-any-return]


def _stacked_softmax_ce(z: Array, y: Array, buf: _StackBuffers) -> tuple[Array, Array]:
    """Mean softmax cross-entropy (K,) of logits ``z`` (K, C, N); ``buf.dz`` gets (softmax - onehot)^T / N.
    The formulas of the fused engine's ``_batch_softmax_ce``, over the stack."""
    n = z.shape[2]
    dz, onehot = buf.dz, buf.onehot
    m = z.max(axis=1, keepdims=True)  # (K, 1, N)
    n_correct = (z.argmax(axis=1) == y).sum(axis=-1)  # a sum of booleans: count_nonzero(axis=) costs more
    np.subtract(z, m, out=dz)  # z - max
    np.equal(buf.classes, y[..., None, :], out=onehot)  # one-hot^T, as 0/1 in the float dtype
    picked = _rowdot(dz.reshape(dz.shape[0], -1), onehot.reshape(dz.shape[0], -1))  # sum of z_y - max
    np.exp(dz, out=dz)
    s = dz.sum(axis=1, keepdims=True)  # (K, 1, N)
    loss = (np.log(s[:, 0]).sum(axis=-1) - picked) / n  # mean of log s - (z_y - max)
    np.divide(dz, s, out=dz)  # softmax
    dz -= onehot
    dz *= buf.inv_n  # (softmax - onehot) / N
    return loss, n_correct


# -- stacked optimisers ------------------------------------------------------------------------
class _StackedSGD:
    """:class:`~perceptrons.core.optim.SGD` over the rows of a stack, each with its own lr, momentum, Nesterov."""

    def __init__(self, lr: Array, momentum: Array, nesterov: Array, dtype: Any) -> None:
        # in the parameters' dtype, as SGD's Python floats are cast (a float32 network steps in float32)
        self.lr, self.mu = lr[:, None].astype(dtype), momentum[:, None].astype(dtype)
        self.nesterov = nesterov[:, None] > 0
        self.v: Array | None = None

    def step(self, theta: Array, g: Array) -> None:
        """Row by row, as :class:`~perceptrons.core.optim.SGD` rounds each network's update (one BLAS axpy
        per term: a product and a sum rounded once, which no whole-stack NumPy expression reproduces)."""
        if self.v is None and self.mu.any():
            self.v = np.zeros_like(theta)
        for k in range(theta.shape[0]):
            v = None if self.v is None else self.v[k]
            sgd_update(theta[k], g[k], v, float(self.lr[k, 0]), float(self.mu[k, 0]), bool(self.nesterov[k, 0]))

    def keep(self, rows: Array) -> None:
        self.lr, self.mu, self.nesterov = self.lr[rows], self.mu[rows], self.nesterov[rows]
        self.v = None if self.v is None else self.v[rows]


class _StackedAdam:
    """:class:`~perceptrons.core.optim.Adam` (its default betas and eps) over the rows of a stack, each
    with its own learning rate."""

    def __init__(self, lr: Array, dtype: Any) -> None:
        defaults = Adam()
        self.beta1, self.beta2, self.eps = defaults.beta1, defaults.beta2, defaults.eps
        self.lr_rows, self.dtype = lr[:, None], dtype
        self.t = 0
        self.state: tuple[Array, Array, Array] | None = None  # m, s and a scratch array, as Adam's

    def step(self, theta: Array, g: Array) -> None:
        if self.state is None:
            self.state = (np.zeros_like(theta), np.zeros_like(theta), np.empty_like(theta))
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = (self.lr_rows * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)).astype(self.dtype)
        adam_update(theta, g, *self.state, lr_t, b1, b2, self.eps)

    def keep(self, rows: Array) -> None:
        self.lr_rows = self.lr_rows[rows]
        if self.state is not None:
            m, s, tmp = self.state
            self.state = (m[rows], s[rows], tmp[rows])


# -- the stack and its trainer -----------------------------------------------------------------
class NetworkStack:
    """K networks of the same sizes, trained together; each keeps its own optimiser state between calls.

    Parameters
    ----------
    nets : K :class:`MLP` of the same sizes, activation, head and dtype (their weights are read now and
        written back after each :meth:`train`)
    optimizer : ``"sgd"`` or ``"adam"`` (one for the stack)
    lr, momentum, alpha, l1 : one value for every network, or a list of K (``momentum`` and
        ``nesterov`` for SGD)
    nesterov : bool or a list of K bools

    ``active`` lists the networks (indices into ``nets``) still trained: :meth:`drop` takes networks out
    (the study stops each at its own loss plateau), and a network whose loss stops being finite leaves
    by itself (see :meth:`train`).
    """

    def __init__(self, nets: Sequence[MLP], *, optimizer: str = "sgd", lr: Any = 0.01, momentum: Any = 0.0,
                 nesterov: Any = False, alpha: Any = 0.0, l1: Any = 0.0) -> None:  # fmt: skip
        self.nets = check_stackable(nets)
        k = len(self.nets)
        check_choice("optimizer", optimizer, ("sgd", "adam"))
        self.lr = per_network("lr", lr, k, _rate)
        self.alpha = per_network("alpha", alpha, k, _strength)
        self.l1 = per_network("l1", l1, k, _strength)
        mu = per_network("momentum", momentum, k, _momentum)
        nest = per_network("nesterov", nesterov, k, _flag)
        dtype = self.nets[0].dtype
        self.opt: _StackedSGD | _StackedAdam = (
            _StackedSGD(self.lr, mu, nest, dtype) if optimizer == "sgd" else _StackedAdam(self.lr, dtype)
        )
        self.active = np.arange(k)
        self.theta = np.stack([net.flat_params for net in self.nets])  # (K, n_params)
        self._rebuild()

    def _rebuild(self) -> None:
        """The gradient rows and the engine for the rows of ``theta`` (after a change of rows)."""
        net = self.nets[0]
        self.grads = np.empty_like(self.theta)
        rows = self.active
        self.engine = StackedBackprop(net.sizes, net.activation, net.output, self.theta, self.grads,
                                      self.alpha[rows], self.l1[rows])  # fmt: skip

    def drop(self, which: Sequence[int]) -> None:
        """Stop training the networks ``which`` (indices into ``nets``); their weights stay as they are."""
        which = [int(j) for j in which]
        bad = [j for j in which if not 0 <= j < len(self.nets)]
        if bad:
            raise ValueError(f"drop takes indices into nets (0 to {len(self.nets) - 1}), got {bad}.")
        self._write_back()
        keep = ~np.isin(self.active, np.asarray(which, dtype=np.intp))
        self._keep_rows(np.flatnonzero(keep))

    def _keep_rows(self, rows: Array) -> None:
        self.active = self.active[rows]
        self.theta = self.theta[rows]
        self.opt.keep(rows)
        self._rebuild()

    def _write_back(self) -> None:
        for row, j in enumerate(self.active):
            self.nets[j].flat_params[...] = self.theta[row]

    def train(self, X: Any, y: Any, *, batch_size: int | None = 1, sampling: str | Sequence[int] | Array = "replacement",
              steps: int | None = None, epochs: int | None = None, sample_weight: Any = None,
              eval_data: tuple[Any, Any] | None = None, eval_every: int = 10,
              seed: Seed | Sequence[Seed] = None) -> list[History]:  # fmt: skip
        """Train the active networks on (X, y) as :func:`train` would each; return their Histories (in the
        order of ``active`` at the call) and write their weights back into the networks.

        ``seed``: one int/Generator whose sample order every network shares, or one per active network.
        A network whose loss stops being finite at some step leaves the stack there, as ``train`` would
        stop: it keeps the weights of its last finite loss, and its History ends at that step with the
        message in ``History.diverged`` (no exception: the other networks train on).
        """
        net = self.nets[0]
        data = _Data.checked(net, X, y, sample_weight)
        if sp.issparse(data.X):
            raise TypeError("train_many takes dense X only (the stacked products are dense); use train for sparse X.")
        n = data.X.shape[0]
        batch_size = n if batch_size is None else min(int(check_positive("batch_size", batch_size, integer=True)), n)
        check_positive("eval_every", eval_every, integer=True)
        test = _checked_eval(net, eval_data)
        run = _StackRun(self, data, test, batch_size, sampling, steps, epochs, seed, eval_every)
        t0 = time.perf_counter()
        with (
            blas_threads_for(batch_size * len(self.active), net.sizes, net.dtype),
            np.errstate(over="ignore", invalid="ignore"),
        ):
            run.loop()
        self._write_back()
        return run.histories(time.perf_counter() - t0)


def _checked_eval(net: MLP, eval_data: Any) -> _Data | None:
    if eval_data is None:
        return None
    if not isinstance(eval_data, (tuple, list)) or len(eval_data) != 2:
        raise TypeError("eval_data must be a pair (X_test, y_test).")
    test = _Data.checked(net, eval_data[0], eval_data[1], name="X_test")
    if sp.issparse(test.X):
        raise TypeError("train_many takes dense eval_data only; use train for sparse inputs.")
    return test


def _seeds(seed: Any, k: int) -> list[np.random.Generator] | None:
    """One Generator per network for a list of K seeds; None for one shared seed."""
    if not isinstance(seed, (list, tuple)):
        return None
    if len(seed) != k:
        raise ValueError(f"seed must be one seed (a shared sample order) or one per network ({k}), got {len(seed)}.")
    return [as_generator(s) for s in seed]


class _StackRun:
    """One :meth:`NetworkStack.train` call: the schedule(s), the records, the loop and its named steps."""

    def __init__(self, stack: NetworkStack, data: _Data, test: _Data | None, batch_size: int, sampling: Any,
                 steps: int | None, epochs: int | None, seed: Any, eval_every: int) -> None:  # fmt: skip
        self.stack, self.data, self.test, self.batch_size, self.eval_every = stack, data, test, batch_size, eval_every
        n, k = data.X.shape[0], len(stack.active)
        rngs = _seeds(seed, k)
        if rngs is not None and not isinstance(sampling, str):
            raise ValueError("explicit sampling indices are one order for all networks; pass one seed, not a list.")
        gens = rngs if rngs is not None else [as_generator(seed)]
        self.schedules = [make_schedule(sampling, n, batch_size, steps, epochs, g) for g in gens]
        self.shared = rngs is None
        self.total = self.schedules[0][0]
        self.per_epoch = math.ceil(n / batch_size) if isinstance(sampling, str) and sampling == "epochs" else 0
        self.X1 = stack.engine.prepare(data.X)
        self.test_X1 = None if test is None else stack.engine.prepare(test.X)
        self.ids = stack.active.copy()  # the networks of this call, in the order of the returned Histories
        self.loss = np.full((self.total, k), np.nan)
        self.n_correct = np.zeros((self.total, k), dtype=np.int64)
        self.sizes = np.zeros(self.total, dtype=np.int64)
        self.stop = np.full(k, self.total)  # the step at which each network stopped (diverged) or total
        self.messages = [""] * k
        self.test_steps: list[list[int]] = [[] for _ in range(k)]
        self.test_values: list[list[float]] = [[] for _ in range(k)]
        self.epoch_rows: tuple[Array, Array, Array | None] | None = None
        self.backup = np.empty_like(stack.theta)  # the weights before the last update (for a divergence)

    @property
    def cols(self) -> Array | slice:
        """The columns of the records (networks of this call) of the stack's current rows."""
        if len(self.stack.active) == len(self.ids):
            return slice(None)
        return np.searchsorted(self.ids, self.stack.active)

    def batch(self, s: int) -> tuple[Array, Array, Array | None, int]:
        """The rows of step ``s``: shared (B, D + 1) or per network (K, B, D + 1); targets, weights, B."""
        idx = [b(s) for _, b, _ in self.schedules]  # each schedule draws its order as train's would
        X1, y, w = self.X1, self.data.y, self.data.w
        if self.per_epoch:  # the epoch's rows permuted once, then each batch is a view
            lo = (s % self.per_epoch) * self.batch_size
            if lo == 0 or self.epoch_rows is None:
                p = self.schedules[0][2][0] if self.shared else np.stack([sch[2][0] for sch in self.schedules])
                self.epoch_rows = (X1[p], y[p], None if w is None else w[p])
            Xp, yp, wp = self.epoch_rows
            rows = slice(lo, lo + self.batch_size)
            if self.shared:
                return Xp[rows], yp[rows], None if wp is None else wp[rows], idx[0].shape[0]
            return Xp[:, rows], yp[:, rows], None if wp is None else wp[:, rows], idx[0].shape[0]
        i = idx[0] if self.shared else np.stack(idx)
        return X1[i], y[i], None if w is None else w[i], idx[0].shape[0]

    def loop(self) -> None:
        stack = self.stack
        for s in range(self.total):
            if not len(stack.active):
                break
            Xb, yb, wb, size = self.batch(s)
            loss, n_correct = stack.engine(Xb, yb, wb)
            if not np.isfinite(loss).all():
                self.diverged(s, loss)
                if not len(stack.active):
                    break
                loss, n_correct = loss[np.isfinite(loss)], n_correct[np.isfinite(loss)]
            cols = self.cols
            self.loss[s, cols], self.n_correct[s, cols], self.sizes[s] = loss, n_correct, size
            if self.backup.shape != stack.theta.shape:
                self.backup = np.empty_like(stack.theta)
            np.copyto(self.backup, stack.theta)
            stack.opt.step(stack.theta, stack.grads)
            if s % self.eval_every == 0 or s == self.total - 1:
                self.evaluate(s + 1)

    def diverged(self, s: int, loss: Array) -> None:
        """Networks whose loss at step ``s`` is not finite: back to their last finite weights, out of the stack."""
        stack = self.stack
        bad = ~np.isfinite(loss)
        cols = np.arange(len(self.ids))[self.cols]
        for row in np.flatnonzero(bad):
            c, j = cols[row], stack.active[row]
            if s:
                stack.theta[row] = self.backup[row]  # the update of step s - 1 undone, as train does
            stack.nets[j].flat_params[...] = stack.theta[row]
            self.stop[c] = s
            self.messages[c] = divergence_message(s, float(loss[row]), float(stack.lr[j]))
            kept = [i for i, step in enumerate(self.test_steps[c]) if step < s]
            self.test_steps[c] = [self.test_steps[c][i] for i in kept]
            self.test_values[c] = [self.test_values[c][i] for i in kept]
        grads = stack.grads[~bad]
        stack._keep_rows(np.flatnonzero(~bad))
        stack.grads[...] = grads
        if not self.shared:
            self.epoch_rows = None if self.epoch_rows is None else _rows_of(self.epoch_rows, ~bad)
            self.schedules = [sch for sch, b in zip(self.schedules, bad) if not b]

    def evaluate(self, step: int) -> None:
        """Accuracy (classification) or loss (regression) of every active network on the evaluation data."""
        test, X1 = self.test, self.test_X1
        if test is None or X1 is None:
            return
        z = self.stack.engine.logits(X1)  # (K, N_test, C): one forward pass over the stack
        head = self.stack.engine.head
        if head.correct is not None:
            values = np.count_nonzero(head.correct(z, test.y), axis=-1) / test.y.shape[0]
        else:
            values = weighted_mean(head.sample_loss(z, test.y), test.w)
        for c, v in zip(np.arange(len(self.ids))[self.cols], values.tolist()):
            self.test_steps[c].append(step)
            self.test_values[c].append(v)

    def histories(self, time_s: float) -> list[History]:
        """One History per network of the call, shaped as :func:`train` returns it (or its exception holds)."""
        task = "classification" if self.stack.engine.head.is_classifier else "regression"
        out = []
        for c in range(len(self.ids)):
            s = int(self.stop[c])
            hist = History(self.loss[:s, c].copy(), self.n_correct[:s, c].copy(), self.sizes[:s].copy(),
                           test_steps=self.test_steps[c], time_s=time_s, task=task, diverged=self.messages[c])  # fmt: skip
            if task == "classification":
                hist.test_accuracy = self.test_values[c]
            else:
                hist.test_loss = self.test_values[c]
            out.append(hist)
        return out


def _rows_of(rows: tuple[Array, Array, Array | None], keep: Array) -> tuple[Array, Array, Array | None]:
    X, y, w = rows
    return X[keep], y[keep], None if w is None else w[keep]


def train_many(nets: Sequence[MLP], X: Any, y: Any, *, optimizer: str = "sgd", lr: Any = 0.01, momentum: Any = 0.0,
               nesterov: Any = False, alpha: Any = 0.0, l1: Any = 0.0, batch_size: int | None = 1,
               sampling: str | Sequence[int] | Array = "replacement", steps: int | None = None,
               epochs: int | None = None, sample_weight: Any = None, eval_data: tuple[Any, Any] | None = None,
               eval_every: int = 10, seed: Seed | Sequence[Seed] = None) -> list[History]:  # fmt: skip
    """Train K networks of the same sizes at once, in place; return their Histories (in the order of ``nets``).

    Network k ends with the numbers (weights, History) of ``train(nets[k], X, y, ...)`` with the same
    settings (its entry of each list) and the same sample order, to rounding (1e-12 in float64).

    Parameters
    ----------
    nets : K :class:`MLP` of the same sizes, activation, head and dtype
    X : (N, D) dense array; y : targets of the head, as for :func:`train`
    lr, momentum, alpha, l1 : a value for every network, or a list of K; ``nesterov`` likewise
    optimizer, batch_size, sampling, steps, epochs, sample_weight, eval_data, eval_every : as :func:`train`
    seed : the sample order. One int or Generator: **one shuffle Generator shared by every network**,
        so each sees the batches ``train(..., seed=seed)`` would draw. A list of K: each network its own.

    A network whose loss becomes NaN or infinite stops there and keeps the weights of its last finite
    loss; its History ends at that step and ``History.diverged`` holds the message that ``train``'s
    :class:`TrainingDiverged` would carry. The other networks train on; nothing is raised.
    ``History.time_s`` is the wall time of the whole stack (shared by all K Histories).

    Not here (use :func:`train`): sparse X, gradient checks, ``on_step`` callbacks, resuming an optimiser
    object (:class:`NetworkStack` keeps its optimiser state from one ``train`` call to the next).
    """
    stack = NetworkStack(nets, optimizer=optimizer, lr=lr, momentum=momentum, nesterov=nesterov, alpha=alpha, l1=l1)
    return stack.train(X, y, batch_size=batch_size, sampling=sampling, steps=steps, epochs=epochs,
                       sample_weight=sample_weight, eval_data=eval_data, eval_every=eval_every, seed=seed)  # fmt: skip


__all__ = ["NetworkStack", "StackedBackprop", "train_many"]
