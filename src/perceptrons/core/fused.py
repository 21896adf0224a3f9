"""The fused backward pass: :func:`perceptrons.core.network.loss_and_grads`, arranged for speed.

Read the reference first (``network.loss_and_grads``): this module computes the same loss and the
same gradient with the same formulas, and ``tests/test_heads.py`` (every head, with penalties and
sample weights) and ``tests/test_fast_paths.py`` prove the two equal to 1e-12 in float64. The
trainer uses this engine for dense inputs; the reference serves everything else (sparse inputs,
the gradient checker, the course adapters).

What differs from the reference, and only this:

- **One product per layer.** The flat parameter vector stores each layer as ``W_i`` (fan_in,
  fan_out) followed by ``b_i`` (fan_out,), which is exactly the augmented matrix ``[W_i; b_i]``
  of shape (fan_in + 1, fan_out). With inputs augmented by a column of ones,
  ``[h, 1] @ [W; b] = h @ W + b``, and the backward product ``[h, 1]^T dz`` writes ``dW`` and
  ``db`` at once, straight into the flat gradient vector.
- **Transposed layers.** Every layer is kept as units x samples (``[h, 1]^T``, a row of ones at the
  bottom), so element-wise work and the softmax's reductions run along contiguous rows.
- **Buffers reused.** The products, the softmax and the activations' in-place forms
  (``Activation.forward_into``/``backward_into``) write into arrays made once per batch size: a
  step makes no new array.
- **Softmax cross-entropy without weights** (the common case) is written out for the transposed
  layout; one sample (the course's per-sample SGD) is reduced on Python floats. Other heads and
  weighted losses call the head's own functions (:mod:`perceptrons.core.heads`) on the transposed
  views.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .activations import ACTIVATIONS, Scratch
from .heads import HEADS, loss_and_dz

Array = NDArray[Any]


class FusedBackprop:
    """Loss and gradient of one network on batches of rows, into the flat gradient vector ``grads``.

    ``theta`` is the network's flat parameter vector (``MLP.flat_params``), read at every call, so
    an optimiser may update it in place between calls. ``prepare(X)`` makes the augmented copy
    ``[X, 1]`` of the inputs whose rows ``__call__`` takes.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str,
        output: str,
        theta: Array,
        grads: Array,
        alpha: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        self.sizes = list(sizes)
        self.act = ACTIVATIONS[activation]
        self.head = HEADS[output]
        self.fast_softmax = output == "softmax"
        self.dtype = theta.dtype
        self.alpha, self.l1 = float(alpha), float(l1)
        self.WbT: list[Array] = []  # [W_i; b_i]^T, views of theta
        self.W: list[Array] = []  # W_i, views of theta
        self.G: list[Array] = []  # [dW_i; db_i], views of the gradient
        offset = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            size = (fan_in + 1) * fan_out
            Wb = theta[offset : offset + size].reshape(fan_in + 1, fan_out)
            self.WbT.append(Wb.T)
            self.W.append(Wb[:fan_in])
            self.G.append(grads[offset : offset + size].reshape(fan_in + 1, fan_out))
            offset += size
        if offset != theta.size or grads.shape != theta.shape:
            raise ValueError(f"the flat buffers hold {theta.size} and {grads.size} numbers, the sizes need {offset}.")
        self.W_scratch = [np.empty_like(W) for W in self.W]  # for the penalty's gradient
        self._buffers_by_n: dict[int, _Buffers] = {}
        self._last: _Buffers | None = None

    def prepare(self, X: Array) -> Array:
        """``[X, 1]``: the inputs with a column of ones, in the network's dtype."""
        X1 = np.empty((X.shape[0], X.shape[1] + 1), dtype=self.dtype)
        X1[:, :-1] = X
        X1[:, -1] = 1.0
        return X1

    def _buffers(self, n: int) -> _Buffers:
        buf = self._last
        if buf is not None and buf.n == n:  # the common case: the batch size of the previous call
            return buf
        buf = self._buffers_by_n.get(n)
        if buf is None:
            buf = self._buffers_by_n[n] = _Buffers(self.sizes, n, self.dtype)
        self._last = buf
        return buf

    def _forward(self, x1: Array, buf: _Buffers) -> Array:
        """Logits^T (K, N) of the rows ``x1`` (from ``prepare``); every layer's ``[h, 1]^T`` kept in ``buf``."""
        h1T = x1.T  # [x, 1]^T (D + 1, N)
        for i in range(len(self.WbT) - 1):
            np.dot(self.WbT[i], h1T, out=buf.zT[i])  # z^T = [W; b]^T [h, 1]^T
            self.act.forward_into(buf.zT[i], buf.hT[i], buf.scratch[i].zero)
            h1T = buf.h1T[i]
        np.dot(self.WbT[-1], h1T, out=buf.z)
        return buf.z

    def logits(self, x1: Array) -> Array:
        """Logits (N, K) of the rows ``x1`` (from ``prepare``), through reused buffers (a view: copy to keep)."""
        return self._forward(x1, self._buffers(x1.shape[0])).T

    def __call__(self, x1: Array, y: Array, sample_weight: Array | None = None) -> tuple[float, int]:
        """Loss and number of rows predicted right (0 for regression) of the batch ``x1`` with targets
        ``y`` (and optional weights); the gradient is written into ``grads``."""
        n = x1.shape[0]
        buf = self._buffers(n)
        z = self._forward(x1, buf)  # logits^T (K, N)
        dz = buf.dz  # dL/dz^T of the current layer
        if self.fast_softmax and sample_weight is None:
            if n == 1:
                loss, n_correct = _one_sample_softmax_ce(z, int(y[0]), dz)
            else:
                loss, n_correct = _batch_softmax_ce(z, y, dz, buf)
        else:
            loss, dzT = loss_and_dz(self.head, z.T, y, sample_weight)
            dz[...] = dzT.T
            n_correct = 0 if self.head.correct is None else int(np.count_nonzero(self.head.correct(z.T, y)))
        for i in range(len(self.W) - 1, 0, -1):
            np.dot(buf.h1T[i - 1], buf.dT_T[i], out=self.G[i])  # [dW_i; db_i] = [h, 1]^T dz in one product
            d = buf.dT[i - 1]
            np.dot(self.W[i], dz, out=d)  # (dz W^T)^T
            self.act.backward_into(d, buf.hT[i - 1], buf.scratch[i - 1])
            dz = d
        np.dot(x1.T, buf.dT_T[0], out=self.G[0])
        if self.alpha or self.l1:
            loss += self._penalty_into_grads()
        return loss, n_correct

    def _penalty_into_grads(self) -> float:
        """The penalty ``(alpha / 2) sum w^2 + l1 sum |w|`` of the weights (the reference's
        ``network.penalty``), its gradient ``alpha w + l1 sign(w)`` added to the rows of dW, through
        one scratch array per layer."""
        total = 0.0
        for W, G, tmp in zip(self.W, self.G, self.W_scratch):
            dW = G[: W.shape[0]]
            if self.alpha:
                total += 0.5 * self.alpha * float(np.vdot(W, W))
                dW += np.multiply(W, self.alpha, out=tmp)
            if self.l1:
                total += self.l1 * float(np.abs(W, out=tmp).sum())
                dW += np.multiply(np.sign(W, out=tmp), self.l1, out=tmp)
        return total


class _Buffers:
    """Preallocated arrays of :class:`FusedBackprop` for one batch size ``n``, all units x samples."""

    def __init__(self, sizes: list[int], n: int, dtype: Any) -> None:
        hidden = sizes[1:-1]
        k = sizes[-1]
        self.n = n
        self.h1T = [np.empty((h + 1, n), dtype=dtype) for h in hidden]  # [h_i, 1]^T
        for h1T in self.h1T:
            h1T[-1] = 1.0
        self.hT = [h1T[:-1] for h1T in self.h1T]  # h_i^T: views, made once (a view costs as much as a small product)
        self.zT = [np.empty((h, n), dtype=dtype) for h in hidden]  # pre-activations^T
        self.dT = [np.empty((h, n), dtype=dtype) for h in hidden]  # dL/dz^T
        self.scratch = [Scratch((h, n), dtype) for h in hidden]  # for f'(z) in place
        self.z = np.empty((k, n), dtype=dtype)  # logits^T
        self.dz = np.empty((k, n), dtype=dtype)
        self.dT_T = [d.T for d in (*self.dT, self.dz)]  # dL/dz of layer i (N, fan_out): views of dT and dz
        self.onehot = np.empty((k, n), dtype=dtype)
        self.classes = np.arange(k)[:, None]
        self.m = np.empty(n, dtype=dtype)
        self.s = np.empty(n, dtype=dtype)
        self.log_s = np.empty(n, dtype=dtype)
        self.ones_k = np.ones(k, dtype=dtype)
        self.ones_n = np.ones(n, dtype=dtype)
        self.inv_n = np.array(1.0 / n, dtype=dtype)


def _one_sample_softmax_ce(z: Array, label: int, dz: Array) -> tuple[float, int]:
    """Softmax cross-entropy of one column of logits (K, 1) on Python floats; ``dz`` gets p - onehot."""
    row = z.ravel().tolist()
    m = max(row)
    e = [math.exp(v - m) for v in row]
    s = math.fsum(e)
    p = [v / s for v in e]
    p[label] -= 1.0
    dz[:, 0] = p
    return math.log(s) - (row[label] - m), int(row.index(m) == label)


def _batch_softmax_ce(z: Array, y: Array, dz: Array, buf: _Buffers) -> tuple[float, int]:
    """Mean softmax cross-entropy of logits ``z`` (K, N); ``dz`` gets (softmax - onehot)^T / N. The
    softmax head's formulas, transposed, into preallocated buffers (one-hot by one comparison)."""
    n = z.shape[1]
    m, s, log_s, onehot = buf.m, buf.s, buf.log_s, buf.onehot
    np.maximum.reduce(z, axis=0, out=m)
    n_correct = int(np.count_nonzero(z.argmax(axis=0) == y))
    np.subtract(z, m, out=dz)  # z - max
    np.equal(buf.classes, y, out=onehot)  # one-hot^T (K, N), as 0/1 in the float dtype
    picked = float(np.vdot(dz, onehot))  # sum of z_y - max: small numbers, no digits lost
    np.exp(dz, out=dz)
    np.dot(buf.ones_k, dz, out=s)  # column sums as a vector-matrix product
    np.log(s, out=log_s)
    loss = (float(np.dot(log_s, buf.ones_n)) - picked) / n  # mean of log s - (z_y - max)
    np.divide(dz, s, out=dz)  # softmax
    dz -= onehot
    dz *= buf.inv_n  # (softmax - onehot) / N
    return loss, n_correct
