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
import scipy.sparse as sp
from numpy.typing import NDArray

from .activations import ACTIVATIONS
from .heads import HEADS, weighted_mean
from .network import Params, loss_and_grads, penalty_terms
from .validation import check_positive, check_sample_weight, check_targets, check_X

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
    params: Params,
    X: Array,
    y: Array,
    activation: str,
    output: str = "softmax",
    alpha: float = 0.0,
    h: float = 1e-5,
    l1: float = 0.0,
    sample_weight: Array | None = None,
) -> tuple[dict[str, Array], dict[str, Array]]:
    """Central-difference gradient of the loss for every entry of every parameter (float64).

    Returns ``(numeric, kink)``: dicts keyed like ``params``; ``kink`` marks entries where a
    ReLU-like unit changes sign between ``theta - h`` and ``theta + h``.
    """
    P = {k: np.asarray(v, dtype=np.float64)[None] for k, v in params.items()}
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)[None]
    X64 = np.asarray(X, dtype=np.float64)[None]
    num, kinks = numeric_grads_batched(P, X64, np.asarray(y)[None], activation, output, alpha, h, l1, w)
    return {k: v[0] for k, v in num.items()}, {k: v[0] for k, v in kinks.items()}


def numeric_grads_batched(
    params: Params,
    X: Array,
    y: Array,
    activation: str,
    output: str = "softmax",
    alpha: float = 0.0,
    h: float = 1e-5,
    l1: float = 0.0,
    sample_weight: Array | None = None,
) -> tuple[dict[str, Array], dict[str, Array]]:
    """:func:`numeric_grads` for T independent checks at once (T weights, T batches).

    ``params[k]`` has shape (T, *shape), ``X`` (T, N, D), ``y`` (T, N) or (T, N, K), ``sample_weight``
    (T, N). The trainer records each checked step's weights and batch and checks a chunk of steps
    in one batched evaluation.
    """
    n_layers = len(params) // 2
    f = ACTIVATIONS[activation].f
    kinked = ACTIVATIONS[activation].kinked
    head = HEADS[output]
    y_b = np.asarray(y)[:, None]  # (T, 1, N) or (T, 1, N, K): broadcasts over the 2E perturbations
    w_b = None if sample_weight is None else np.asarray(sample_weight)[:, None, :]  # (T, 1, N)
    T, n = X.shape[0], X.shape[1]
    W = [params[f"W{i}"] for i in range(n_layers)]
    B = [params[f"b{i}"][:, None, :] for i in range(n_layers)]
    hs = [X]
    zs = []
    for i in range(n_layers):
        z = hs[-1] @ W[i] + B[i]  # (T, N, out)
        zs.append(z)
        if i < n_layers - 1:
            hs.append(f(z))
    numeric: dict[str, Array] = {}
    kinks: dict[str, Array] = {}
    for k in range(n_layers):
        fan_in, fan_out = W[k].shape[1], W[k].shape[2]
        width = max(W[m].shape[2] for m in range(k, n_layers))
        A1 = np.concatenate([hs[k], np.ones((T, n, 1))], axis=2)  # (T, N, fan_in + 1): bias = input 1
        size = (fan_in + 1) * fan_out  # the W entries (row-major), then the b entries
        num = np.empty((T, size))
        kink = np.zeros((T, size), dtype=bool)
        chunk = max(1, _CHUNK_ELEMENTS // (2 * T * n * width))
        for start in range(0, size, chunk):
            e = np.arange(start, min(size, start + chunk))
            i_in, j_out = np.divmod(e, fan_out)
            E = e.size
            delta = h * A1[:, :, i_in].transpose(0, 2, 1)  # (T, E, N)
            Z = np.repeat(zs[k][:, None], 2 * E, axis=1)  # (T, 2E, N, out): +h then -h
            cols = np.concatenate([j_out, j_out])[:, None]
            Z[:, np.arange(2 * E)[:, None], np.arange(n)[None, :], cols] += np.concatenate([delta, -delta], axis=1)
            crossed = np.zeros((T, E), dtype=bool)
            for m in range(k, n_layers - 1):
                if kinked:
                    pos = Z > 0
                    crossed |= (pos[:, :E] != pos[:, E:]).any(axis=(2, 3))
                Z = f(Z) @ W[m + 1][:, None] + B[m + 1][:, None]
            losses = weighted_mean(head.sample_loss(Z, y_b), w_b)  # (T, 2E)
            diff = losses[:, :E] - losses[:, E:]
            if alpha or l1:  # the penalty changes only through the perturbed weight itself
                is_w = i_in < fan_in
                w = W[k].reshape(T, -1)[:, e[is_w]]
                diff[:, is_w] += penalty_terms(w + h, alpha, l1) - penalty_terms(w - h, alpha, l1)
            num[:, e] = diff / (2 * h)
            kink[:, e] = crossed
        numeric[f"W{k}"] = num[:, : fan_in * fan_out].reshape(T, fan_in, fan_out)
        numeric[f"b{k}"] = num[:, fan_in * fan_out :]
        kinks[f"W{k}"] = kink[:, : fan_in * fan_out].reshape(T, fan_in, fan_out)
        kinks[f"b{k}"] = kink[:, fan_in * fan_out :]
    return {k: numeric[k] for k in params}, {k: kinks[k] for k in params}


def step_errors(analytic: Params, numeric: Params, kinks: dict[str, Array], atol: Array) -> tuple[Array, Array]:
    """Per-check (max entrywise relative error, normwise relative error), kinks excluded.

    All arrays carry a leading axis T; ``atol`` (T,) is each check's roundoff floor.
    """
    T = atol.shape[0]
    a = np.concatenate([analytic[k].reshape(T, -1) for k in analytic], axis=1)
    nm = np.concatenate([numeric[k].reshape(T, -1) for k in analytic], axis=1)
    ok = ~np.concatenate([kinks[k].reshape(T, -1) for k in analytic], axis=1)
    d = np.abs(a - nm)
    rel = np.maximum(d - atol[:, None], 0.0) / np.maximum(1e-8, np.abs(a) + np.abs(nm))
    max_rel = np.where(ok, rel, 0.0).max(axis=1)
    a, nm = np.where(ok, a, 0.0), np.where(ok, nm, 0.0)
    norm = np.linalg.norm(a - nm, axis=1) / np.maximum(1e-8, np.linalg.norm(a, axis=1) + np.linalg.norm(nm, axis=1))
    return max_rel, norm


def roundoff_floor(loss: Array | float, h: float) -> Array:
    """The smallest gradient difference central differences resolve: 100 ulps of the loss, divided by h."""
    return 100 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(loss)) / h


def gradcheck(
    net: Any,
    X: Any,
    y: Any,
    h: float = 1e-5,
    alpha: float = 0.0,
    rtol: float = 1e-6,
    l1: float = 0.0,
    sample_weight: Any = None,
) -> GradCheckResult:
    """Compare ``net``'s analytic gradients with central differences on (X, y), in float64.

    Parameters
    ----------
    net : MLP (any head; a float32 network is checked on a float64 copy of its weights)
    X : array of shape (N, D); y : targets for the network's head (labels or one-hot rows for softmax)
    h : step of the central differences
    alpha, l1 : the L2 and L1 strengths of the loss being checked
    rtol : tolerance on the relative error for ``passed``
    sample_weight : optional (N,) weights of the loss

    Returns
    -------
    GradCheckResult with ``max_rel_error``, ``passed``, ``per_param`` and a printable table.
    """
    check_positive("h", h)
    check_positive("rtol", rtol)
    X64 = check_X(X, net.sizes[0], np.float64)
    if sp.issparse(X64):
        X64 = X64.toarray()  # the perturbation tensors are dense anyway
    t = check_targets(y, X64.shape[0], net.output, net.sizes[-1])
    w = check_sample_weight(sample_weight, X64.shape[0])
    P = {k: np.asarray(v, dtype=np.float64) for k, v in net.params.items()}
    loss, grads = loss_and_grads(P, X64, t, net.activation, net.output, alpha, l1, w)
    numeric, kinks = numeric_grads(P, X64, t, net.activation, net.output, alpha, h, l1, w)
    # Roundoff in a loss difference is a few ulps of the loss; divided by 2h it is the floor below
    # which an absolute disagreement carries no information.
    atol = float(roundoff_floor(loss, h))
    result = GradCheckResult(loss=loss, h=h, rtol=rtol, atol=atol)
    for k in P:
        result.checks[k] = ParamCheck(k, grads[k], numeric[k], _rel_error(grads[k], numeric[k], atol), kinks[k])
    return result
