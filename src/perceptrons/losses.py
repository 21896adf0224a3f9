"""Softmax and cross-entropy, fused and numerically stable.

For logits ``z`` of shape (N, C) and labels ``y`` (N,):

    log_softmax(z)_j = z_j - max(z) - log(sum_k exp(z_k - max(z)))      (log-sum-exp)
    loss = -(1/N) sum_n log_softmax(z_n)_{y_n}                            (mean over samples)
    dloss/dz = (softmax(z) - onehot(y)) / N

The fused gradient holds because softmax is followed by the cross-entropy of the *same*
probabilities; it is not valid for any other loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]


def log_softmax(z: Array) -> Array:
    """Row-wise log-softmax of logits ``z`` (N, C); finite for any finite logits."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: Array) -> Array:
    """Row-wise softmax of logits ``z`` (N, C); rows sum to 1, no overflow for large logits."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def cross_entropy_and_grad(z: Array, y: NDArray[np.intp]) -> tuple[float, Array, Array]:
    """Mean cross-entropy of logits ``z`` (N, C) against labels ``y`` (N,).

    Returns ``(loss, dz, p)`` with ``dz = (softmax(z) - onehot(y)) / N`` of shape (N, C) and the
    probabilities ``p`` (N, C) (``dz`` is computed in a separate buffer, ``p`` stays intact).
    """
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.log(s[:, 0]).sum() - shifted[rows, y].sum()) / n
    p = e / s
    dz = p.copy()
    dz[rows, y] -= 1.0
    dz /= n
    return loss, dz, p
