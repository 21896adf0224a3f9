"""Output heads: what the last layer's logits ``z`` (N, K) mean, one record each.

A head is an output function, a loss on it and a prediction rule. Each loss is a *weighted mean
over samples* of a per-sample loss ``l_n``, with weights ``w_n`` (all 1 without ``sample_weight``)
and ``S = sum_n w_n``:

    L = (1/S) sum_n w_n l_n            dL/dz_n = (w_n / S) dl_n/dz_n

==========  =====================  ===============================================  ======================  =====================
head        output                 per-sample loss l_n                              dl_n/dz_n               prediction
==========  =====================  ===============================================  ======================  =====================
softmax     p = softmax(z)         logsumexp(z_n) - z_{n,y_n}  (cross-entropy)      p_n - onehot(y_n)       argmax_k z_nk
logistic    p = sigmoid(z)         sum_k log(1 + e^{z_nk}) - y_nk z_nk  (binary CE)  sigmoid(z_n) - y_n      1[z_nk > 0]
identity    z                      (1 / 2K) sum_k (z_nk - y_nk)^2  (squared error)  (z_n - y_n) / K        z_n
exp         mu = exp(z)            sum_k e^{z_nk} - y_nk z_nk + y_nk log y_nk - y_nk  exp(z_n) - y_n    exp(z_n)
                                   (half Poisson deviance; 0 log 0 = 0)
==========  =====================  ===============================================  ======================  =====================

Targets ``y``: integer labels (N,) for softmax; a 0/1 indicator matrix (N, K) for logistic (K = 1
is a binary problem with one output unit, K > 1 multilabel); real values (N, K) for identity;
non-negative values (N, K) (counts, rates) for exp.

These are scikit-learn's losses: ``log_loss`` and ``binary_log_loss`` (mean over samples, summed
over outputs), ``squared_loss`` (half the mean over samples *and* outputs) and ``poisson_loss``
(``mean_n sum_k y log(y / mu) - y + mu`` with ``mu = exp(z)``: the log link, so ``y log y - y`` is a
constant of the targets that makes the loss of a perfect fit 0, and the gradient is ``mu - y``). Each gradient has the
simple form ``output - target`` because each output function is the canonical link of its loss; it
holds only for these pairs. (scikit-learn's ``MLPRegressor`` back-propagates ``z - y`` without the
``1/K`` of its own loss; here the gradient is the exact gradient of the loss stated above.)

Softmax and its cross-entropy are fused and stable: ``log softmax(z) = z - logsumexp(z)`` with the
row maximum subtracted first; ``log(1 + e^z)`` is ``logaddexp(0, z)``. No ``exp`` of a raw logit
(except in the exp head, whose output *is* ``exp(z)``, as in scikit-learn), no ``log`` of a probability.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import xlogy

from .activations import sigmoid
from .devices import NUMPY, device_of, namespace_of

Array = NDArray[Any]


def _max_last(z: Array) -> Array:
    """The maximum over the last axis, kept as an axis of length 1 (NumPy's method form: on the per-sample
    paths its call costs a microsecond less than the function form, which other libraries need)."""
    if type(z) is np.ndarray:
        return z.max(axis=-1, keepdims=True)
    return namespace_of(z).max(z, axis=-1, keepdims=True)  # type: ignore[no-any-return]


def _sum_last(z: Array, keepdims: bool = True) -> Array:
    """The sum over the last axis (NumPy's method form, as in :func:`_max_last`)."""
    if type(z) is np.ndarray:
        return z.sum(axis=-1, keepdims=keepdims)
    return namespace_of(z).sum(z, axis=-1, keepdims=keepdims)  # type: ignore[no-any-return]


def logsumexp(z: Array) -> Array:
    """``log sum_k exp(z_k)`` over the last axis of ``z`` (..., K) -> (...,), with the maximum taken out first."""
    xp = namespace_of(z)
    m = _max_last(z)
    return (m + xp.log(_sum_last(xp.exp(z - m))))[..., 0]  # type: ignore[no-any-return]


def log_softmax(z: Array) -> Array:
    """Log-softmax over the last axis of ``z`` (..., K); finite for any finite logits."""
    xp = namespace_of(z)
    shifted = z - _max_last(z)
    return shifted - xp.log(_sum_last(xp.exp(shifted)))  # type: ignore[no-any-return]


def softmax(z: Array) -> Array:
    """Softmax over the last axis of ``z`` (..., K); rows sum to 1, no overflow for large logits."""
    e = namespace_of(z).exp(z - _max_last(z))
    return e / _sum_last(e)  # type: ignore[no-any-return]


def _pick(z: Array, y: Array) -> Array:
    """``z[..., n, y_n]``: the logit of each sample's label (``y`` broadcasts against ``z[..., 0]``)."""
    xp = namespace_of(z, y)
    labels = xp.broadcast_to(y, z.shape[:-1])[..., None]
    return xp.take_along_axis(z, labels, axis=-1)[..., 0]  # type: ignore[no-any-return]


def _onehot(y: Array, k: int, dtype: Any) -> Array:
    xp = namespace_of(y)
    return xp.astype(y[..., None] == xp.arange(k, device=device_of(y)), dtype)  # type: ignore[no-any-return]


def _xlogy(y: Array) -> Array:
    """``y log y`` with ``0 log 0 = 0`` (scipy's ``xlogy`` on NumPy arrays, its formula elsewhere)."""
    xp = namespace_of(y)
    if xp is NUMPY:
        return xlogy(y, y)  # type: ignore[no-any-return]
    positive = y > 0
    return xp.where(positive, y * xp.log(xp.where(positive, y, xp.ones_like(y))), xp.zeros_like(y))  # type: ignore[no-any-return]


def _logistic_loss(z: Array, y: Array) -> Array:
    return _sum_last(namespace_of(z).logaddexp(0.0, z) - y * z, keepdims=False)


def _exp_loss(z: Array, y: Array) -> Array:
    return _sum_last(namespace_of(z).exp(z) - y * z + _xlogy(y) - y, keepdims=False)


def _exp(z: Array) -> Array:
    return namespace_of(z).exp(z)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Head:
    """One output head. Every function works on the last two axes (N, K) and keeps any leading ones.

    ``sample_loss(z, y)`` -> (..., N) per-sample losses; ``sample_grad(z, y)`` -> (..., N, K) their
    gradients; ``output(z)`` the probabilities (classification) or values; ``predict(z)`` the rule;
    ``correct(z, y)`` -> (..., N) booleans, whether each sample is predicted right (classification).
    """

    name: str
    sample_loss: Callable[[Array, Array], Array]
    sample_grad: Callable[[Array, Array], Array]
    output: Callable[[Array], Array]
    predict: Callable[[Array], Array]
    correct: Callable[[Array, Array], Array] | None
    min_outputs: int

    @property
    def is_classifier(self) -> bool:
        return self.correct is not None


HEADS: dict[str, Head] = {
    h.name: h
    for h in (
        Head(
            "softmax",
            sample_loss=lambda z, y: logsumexp(z) - _pick(z, y),
            sample_grad=lambda z, y: softmax(z) - _onehot(y, z.shape[-1], z.dtype),
            output=softmax,
            predict=lambda z: namespace_of(z).argmax(z, axis=-1),
            correct=lambda z, y: namespace_of(z).argmax(z, axis=-1) == y,
            min_outputs=2,
        ),
        Head(
            "logistic",
            sample_loss=_logistic_loss,
            sample_grad=lambda z, y: sigmoid(z) - y,
            output=sigmoid,
            predict=lambda z: namespace_of(z).astype(z > 0, namespace_of(z).int64),
            correct=lambda z, y: namespace_of(z).all((z > 0) == (y > 0.5), axis=-1),
            min_outputs=1,
        ),
        Head(
            "identity",
            sample_loss=lambda z, y: _sum_last((z - y) ** 2, keepdims=False) / (2 * z.shape[-1]),
            sample_grad=lambda z, y: (z - y) / z.shape[-1],
            output=lambda z: z,
            predict=lambda z: z,
            correct=None,
            min_outputs=1,
        ),
        Head(
            "exp",
            sample_loss=_exp_loss,
            sample_grad=lambda z, y: _exp(z) - y,
            output=_exp,
            predict=_exp,
            correct=None,
            min_outputs=1,
        ),
    )
}


def mean_weights(n: int, sample_weight: Array | None, dtype: Any, like: Array | None = None) -> Array:
    """``w_n / S`` over the last axis: the factors of the weighted mean (``1/N`` without weights). A batch
    whose weights are all zero carries no data, and its factors are all zero. ``like`` gives the
    namespace and device of the factors when there are no weights (NumPy if None)."""
    if sample_weight is None:
        xp = NUMPY if like is None else namespace_of(like)
        return xp.full(n, 1.0 / n, dtype=dtype, device=None if like is None else device_of(like))  # type: ignore[no-any-return]
    if type(sample_weight) is np.ndarray:
        total = sample_weight.sum(axis=-1, keepdims=True)
        return np.divide(sample_weight, total, out=np.zeros(sample_weight.shape, dtype=dtype), where=total > 0)
    xp = namespace_of(sample_weight)
    total = xp.sum(sample_weight, axis=-1, keepdims=True)
    safe = xp.where(total > 0, total, xp.ones_like(total))
    return xp.where(total > 0, sample_weight / safe, xp.zeros_like(sample_weight))  # type: ignore[no-any-return]


def weighted_mean(values: Array, sample_weight: Array | None) -> Array:
    """``sum_n w_n v_n / sum_n w_n`` over the last axis (the plain mean when ``sample_weight`` is None)."""
    xp = namespace_of(values)
    if sample_weight is None:
        return xp.mean(values, axis=-1)  # type: ignore[no-any-return]
    return xp.sum(values * mean_weights(values.shape[-1], sample_weight, values.dtype), axis=-1)  # type: ignore[no-any-return]


def loss_and_dz_lazy(head: Head, z: Array, y: Array, sample_weight: Array | None = None) -> tuple[Array, Array]:
    """The head's loss ``L`` on logits ``z`` (N, K), as a 0-d array of ``z``'s namespace (no host sync),
    and ``dL/dz`` (N, K): the start of backpropagation."""
    factors = mean_weights(z.shape[0], sample_weight, z.dtype, like=z)  # w_n / S
    return head.sample_loss(z, y) @ factors, head.sample_grad(z, y) * factors[:, None]


def loss_and_dz(head: Head, z: Array, y: Array, sample_weight: Array | None = None) -> tuple[float, Array]:
    """The head's loss ``L`` on logits ``z`` (N, K) as a float, and ``dL/dz`` (N, K)."""
    loss, dz = loss_and_dz_lazy(head, z, y, sample_weight)
    return float(loss), dz
