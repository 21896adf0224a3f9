"""Gradient checking by central differences, vectorised and honest about ReLU kinks.

For every entry ``theta`` of every parameter the numerical derivative is

    n = (L(theta + h) - L(theta - h)) / (2 h)          (error O(h^2), in float64)

and it is compared with the analytic ``a`` from :func:`perceptrons.network.loss_and_grads` by the
cs231n relative error ``|a - n| / max(1e-8, |a| + |n|)``, with one refinement: the numerical
derivative cannot resolve differences below its roundoff floor ``atol = 100 eps max(1, |L|) / h``
(a few ulps of the loss, divided by 2h), so that floor is subtracted from ``|a - n|`` first.
Without it, every entry whose gradient is ~1e-7 would show a "relative error" of 1e-4 that is pure
roundoff, and a real 1 % bug would be no louder than noise.

Speed: a perturbation of layer ``k`` leaves layers ``< k`` unchanged, and only moves one column of
that layer's pre-activation (by ``h * x_i`` for a weight, by ``h`` for a bias). So the forward pass
is run once up to layer ``k`` and the remaining layers are evaluated for many perturbations in one
batched matrix product, instead of two full forward passes per entry.

Kinks: with ReLU-like activations, if some pre-activation changes sign between ``theta + h`` and
``theta - h`` the loss is not differentiable inside the interval and the two derivatives may
rightly disagree; such entries are flagged (``kink``) and left out of ``max_rel_error``/``passed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._validation import check_positive
from .activations import ACTIVATIONS, KINKED
from .network import Params, loss_and_grads

Array = NDArray[Any]
_CHUNK_ELEMENTS = 1 << 22  # cap on the batched perturbation tensor (E * N * width), 32 MiB


@dataclass
class ParamCheck:
    """The comparison for one parameter array (all arrays have the parameter's shape)."""

    name: str
    analytic: Array
    numeric: Array
    rel_error: Array
    kink: Array

    @property
    def max_rel_error(self) -> float:
        ok = ~self.kink
        return float(self.rel_error[ok].max()) if ok.any() else 0.0

    @property
    def worst_index(self) -> tuple[int, ...]:
        err = np.where(self.kink, -1.0, self.rel_error)
        return tuple(int(i) for i in np.unravel_index(int(err.argmax()), err.shape))

    @property
    def norm_rel_error(self) -> float:
        """``||a - n|| / max(1e-8, ||a|| + ||n||)`` over the entries not at a kink."""
        a, n = self.analytic[~self.kink], self.numeric[~self.kink]
        return float(np.linalg.norm(a - n) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(n)))

    @property
    def max_abs_error(self) -> float:
        d = np.abs(self.analytic - self.numeric)[~self.kink]
        return float(d.max()) if d.size else 0.0


@dataclass
class GradCheckResult:
    """Outcome of :func:`gradcheck`. Print it for a per-parameter table."""

    loss: float
    h: float
    rtol: float
    atol: float
    checks: dict[str, ParamCheck] = field(default_factory=dict)

    @property
    def max_rel_error(self) -> float:
        """Largest relative error over all entries that are not flagged as kinks."""
        return max((c.max_rel_error for c in self.checks.values()), default=0.0)

    @property
    def norm_rel_error(self) -> float:
        """Normwise relative error ``||a - n|| / max(1e-8, ||a|| + ||n||)`` over all non-kink entries."""
        a = np.concatenate([c.analytic[~c.kink] for c in self.checks.values()])
        n = np.concatenate([c.numeric[~c.kink] for c in self.checks.values()])
        return float(np.linalg.norm(a - n) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(n)))

    @property
    def per_param(self) -> dict[str, tuple[float, tuple[int, ...]]]:
        """name -> (max relative error, index of the worst entry), kinks excluded."""
        return {k: (c.max_rel_error, c.worst_index) for k, c in self.checks.items()}

    @property
    def n_kinks(self) -> int:
        return int(sum(c.kink.sum() for c in self.checks.values()))

    @property
    def passed(self) -> bool:
        """Every entry not at a kink agrees: relative error <= rtol."""
        return self.max_rel_error <= self.rtol

    def __str__(self) -> str:
        lines = [
            f"gradient check: central differences, h={self.h:g}, float64, loss={self.loss:.6g}",
            f"{'param':<6} {'shape':<10} {'max rel err':>12} {'worst':>9} {'max abs err':>12} {'norm rel err':>13} "
            f"{'kinks':>6}",
        ]
        for c in self.checks.values():
            lines.append(
                f"{c.name:<6} {str(c.analytic.shape):<10} {c.max_rel_error:>12.3e} "
                f"{str(c.worst_index):>9} {c.max_abs_error:>12.3e} {c.norm_rel_error:>13.3e} {int(c.kink.sum()):>6}"
            )
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(
            f"{verdict}: max relative error {self.max_rel_error:.3e} (tolerance {self.rtol:g}; "
            f"differences under {self.atol:.1e} are roundoff and not counted); {self.n_kinks} entries flagged at a kink"
        )
        return "\n".join(lines)

    __repr__ = __str__


def _rel_error(a: Array, n: Array, atol: float) -> Array:
    return np.maximum(np.abs(a - n) - atol, 0.0) / np.maximum(1e-8, np.abs(a) + np.abs(n))


def numeric_grads(
    params: Params, X: Array, y: NDArray[np.intp], activation: str, alpha: float = 0.0, h: float = 1e-5
) -> tuple[Params, dict[str, Array]]:
    """Central-difference gradient of the loss for every entry of every parameter (float64).

    Returns ``(numeric, kink)``: dicts keyed like ``params``; ``kink`` marks entries where a
    ReLU-like unit changes sign between ``theta - h`` and ``theta + h``.
    """
    P = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    X = np.asarray(X, dtype=np.float64)
    n_layers = len(P) // 2
    f = ACTIVATIONS[activation]
    kinked = activation in KINKED
    n = X.shape[0]
    hs = [X]
    zs = []
    for i in range(n_layers):
        z = hs[-1] @ P[f"W{i}"] + P[f"b{i}"]
        zs.append(z)
        if i < n_layers - 1:
            hs.append(f(z.copy()))
    rows = np.arange(n)
    numeric: Params = {}
    kinks: dict[str, Array] = {}
    for k in range(n_layers):
        width = max(P[f"W{m}"].shape[1] for m in range(k, n_layers))
        for name in (f"W{k}", f"b{k}"):
            shape = P[name].shape
            size = int(np.prod(shape))
            num = np.empty(size)
            kink = np.zeros(size, dtype=bool)
            chunk = max(1, _CHUNK_ELEMENTS // (2 * n * width))
            for start in range(0, size, chunk):
                e = np.arange(start, min(size, start + chunk))
                if name[0] == "W":
                    i_in, j_out = np.divmod(e, shape[1])
                    delta = h * hs[k][:, i_in].T  # (E, N)
                else:
                    j_out = e
                    delta = np.full((e.size, n), h)
                E = e.size
                Z = np.repeat(zs[k][None], 2 * E, axis=0)  # (2E, N, out): +h then -h
                cols = np.concatenate([j_out, j_out])[:, None]
                Z[np.arange(2 * E)[:, None], rows[None, :], cols] += np.concatenate([delta, -delta])
                crossed = np.zeros(E, dtype=bool)
                for m in range(k, n_layers - 1):
                    if kinked:
                        pos = Z > 0
                        crossed |= (pos[:E] != pos[E:]).any(axis=(1, 2))
                    Z = f(Z) @ P[f"W{m + 1}"] + P[f"b{m + 1}"]
                shifted = Z - Z.max(axis=2, keepdims=True)
                lse = np.log(np.exp(shifted).sum(axis=2))
                losses = (lse - shifted[:, rows, y]).mean(axis=1)  # (2E,)
                diff = losses[:E] - losses[E:]
                if alpha and name[0] == "W":
                    w = P[name].ravel()[e]
                    diff = diff + 0.5 * alpha * ((w + h) ** 2 - (w - h) ** 2)
                num[e] = diff / (2 * h)
                kink[e] = crossed
            numeric[name] = num.reshape(shape)
            kinks[name] = kink.reshape(shape)
    return numeric, kinks


def gradcheck(
    net: Any,
    X: Any,
    y: Any,
    h: float = 1e-5,
    alpha: float = 0.0,
    rtol: float = 1e-6,
) -> GradCheckResult:
    """Compare ``net``'s analytic gradients with central differences on (X, y), in float64.

    Parameters
    ----------
    net : MLP
    X : array of shape (N, D); y : labels (N,) or one-hot rows (N, C)
    h : step of the central differences
    alpha : the L2 strength of the loss being checked
    rtol : tolerance on the relative error for ``passed``

    Returns
    -------
    GradCheckResult with ``max_rel_error``, ``passed``, ``per_param`` and a printable table.
    """
    check_positive("h", h)
    check_positive("rtol", rtol)
    Xa, ya = net._check_Xy(X, y)
    return _gradcheck(net.params, Xa.astype(np.float64), ya, net.activation, alpha, h, rtol)


def _gradcheck(
    params: Params, X: Array, y: NDArray[np.intp], activation: str, alpha: float, h: float, rtol: float = 1e-6
) -> GradCheckResult:
    P = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    loss, grads, _ = loss_and_grads(P, X, y, activation, alpha)
    numeric, kinks = numeric_grads(P, X, y, activation, alpha, h)
    # Roundoff in a loss difference is a few ulps of the loss; divided by 2h it is the floor below
    # which an absolute disagreement carries no information.
    atol = 100 * np.finfo(np.float64).eps * max(1.0, abs(loss)) / h
    result = GradCheckResult(loss=loss, h=h, rtol=rtol, atol=atol)
    for k in P:
        result.checks[k] = ParamCheck(k, grads[k], numeric[k], _rel_error(grads[k], numeric[k], atol), kinks[k])
    return result
