"""Gradient checking: the gradient a piece of code returns against finite differences of its own loss.

Two forms, one result type:

- ``gradcheck(net, X, y)`` calls *that object's* ``net.loss_and_grads(X, y, alpha, l1, sample_weight)``
  for the analytic gradient, so a subclass with a hand-written backward pass is what gets checked.
  The finite differences are those of the same object's loss: for a plain :class:`MLP` they come
  from the batched evaluation below (the reference loss, fast); when a subclass overrides
  ``loss_and_grads`` they are taken from that override, one perturbed entry at a time.
- ``gradcheck(fn, params)`` checks any ``fn(params) -> (loss, grads)`` over a dict (or list/tuple)
  of arrays of any shapes, the course's column vectors included.

For every entry ``theta`` the numerical derivative is the central difference

    n = (L(theta + h) - L(theta - h)) / (2 h)          (truncation error O(h^2), in float64)

and it is compared with the analytic ``a`` by the relative error

    e = |a - n| / max(|a| + |n|, atol / rtol)

where ``atol = roundoff_floor(L, h)`` (100 ulps of the loss, divided by h) is the smallest
difference these finite differences resolve. The check passes when every entry has ``e <= rtol``,
which is ``|a - n| <= max(rtol (|a| + |n|), atol)``: agreement to ``rtol`` relative, or to the
resolution of the differences where the gradient is too small to be resolved relatively. The error
is never floored to 0: a correct gradient shows its true (tiny) disagreement, a bug its size.

The step is validated: ``H_RANGE`` = [1e-6, 3e-5], measured (tests/test_gradcheck.py) on
tanh, sigmoid and ReLU networks of 2 to 4 layers. Below it the roundoff of the loss difference
grows like eps/h (at h = 1e-12 it is ~1e-2, and a 5 % bug hides in it; at 1e-7 some entries'
1 % errors already do); above it the O(h^2) truncation error of a correct gradient approaches the
tolerance (5e-7 of the 1e-6 at h = 1e-4). Inside it a 1 % error in any one entry fails whenever
that entry's gradient is above the resolution, ``100 atol`` (2e-7 at h = 1e-5 for a loss ~1; no
step tells a smaller gradient's 1 % from roundoff).
:func:`error_vs_h` measures the V shape behind this choice, for forward and central differences.

Speed: a perturbation of layer ``k`` leaves layers ``< k`` unchanged, and only moves one column of
that layer's pre-activation (by ``h * x_i`` for a weight, by ``h`` for a bias). So the forward pass
is run once up to layer ``k`` and the remaining layers are evaluated for many perturbations in one
batched matrix product, instead of two full forward passes per entry.

Kinks: with ReLU-like activations, if some pre-activation changes sign between ``theta + h`` and
``theta - h`` the loss is not differentiable inside the interval and the two derivatives may
rightly disagree; such entries are flagged (``kink``) and left out of ``max_rel_error``/``passed``.
The functional form knows nothing of the function's insides and flags none.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .activations import ACTIVATIONS
from .devices import is_numpy, namespace_of, to_numpy
from .heads import HEADS, weighted_mean
from .network import MLP, Params, ParamViews, param_shapes, penalty_terms
from .validation import as_generator, check_positive, check_sample_weight, check_targets, check_X

Array = NDArray[Any]
_CHUNK_ELEMENTS = 1 << 22  # cap on the batched perturbation tensor (E * N * width), 32 MiB
#: the accepted steps of the central differences, and the default (see the module docstring)
H_RANGE = (1e-6, 3e-5)
DEFAULT_H = 1e-5
DEFAULT_RTOL = 1e-6
#: roundoff of one loss difference, in ulps of the loss (measured worst case ~10, see tests)
ROUNDOFF_ULPS = 100


def check_h(h: Any, name: str = "h") -> float:
    """``h`` as a float inside :data:`H_RANGE`, or an error that says why the range is what it is."""
    if isinstance(h, (bool, np.bool_)) or not isinstance(h, numbers.Real) or not math.isfinite(float(h)):
        raise TypeError(f"{name} must be a finite real number in [{H_RANGE[0]:g}, {H_RANGE[1]:g}], got {h!r}.")
    lo, hi = H_RANGE
    if not lo <= float(h) <= hi:
        why = (
            "below it, roundoff in the loss difference (~eps/h) is larger than a 1 % error of a typical gradient"
            if float(h) < lo
            else "above it, the O(h^2) truncation error of central differences approaches the tolerance"
        )
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}], got {h!r}: {why}. The default {DEFAULT_H:g} is sound.")
    return float(h)


def norm_rel_error(a: Array, n: Array, axis: int | None = None) -> Array:
    """``||a - n|| / max(1e-8, ||a|| + ||n||)`` (over ``axis``, or the whole arrays)."""
    norm = np.linalg.norm
    return norm(a - n, axis=axis) / np.maximum(1e-8, norm(a, axis=axis) + norm(n, axis=axis))  # type: ignore[no-any-return]


@dataclass
class ParamCheck:
    """The comparison for one parameter array (all arrays have the parameter's shape)."""

    name: str
    analytic: Array
    numeric: Array
    rel_error: Array
    kink: Array
    checked: Array | None = None  # the differenced entries (a sampled check); None: every entry

    @property
    def ok(self) -> Array:
        """The entries that count: differenced, and not at a kink."""
        return ~self.kink if self.checked is None else self.checked & ~self.kink

    @property
    def n_checked(self) -> int:
        return int(self.analytic.size if self.checked is None else self.checked.sum())

    @property
    def max_rel_error(self) -> float:
        ok = self.ok
        return float(self.rel_error[ok].max()) if ok.any() else 0.0

    @property
    def worst_index(self) -> tuple[int, ...]:
        err = np.where(self.ok, self.rel_error, -1.0)
        return tuple(int(i) for i in np.unravel_index(int(err.argmax()), err.shape))

    @property
    def norm_rel_error(self) -> float:
        """``||a - n|| / max(1e-8, ||a|| + ||n||)`` over the entries that count (:attr:`ok`)."""
        a, n = self.analytic[self.ok], self.numeric[self.ok]
        return float(norm_rel_error(a, n))

    @property
    def max_abs_error(self) -> float:
        d = np.abs(self.analytic - self.numeric)[self.ok]
        return float(d.max()) if d.size else 0.0


@dataclass
class GradCheckResult:
    """Outcome of :func:`gradcheck`. Print it for a per-parameter table.

    ``atol`` is the resolution of the finite differences (:func:`roundoff_floor`); an entry passes
    when ``|a - n| <= max(rtol (|a| + |n|), atol)``, i.e. when its ``rel_error <= rtol``.
    """

    loss: float
    h: float
    rtol: float
    atol: float
    checks: dict[str, ParamCheck] = field(default_factory=dict)
    source: str = "loss_and_grads"

    @property
    def max_rel_error(self) -> float:
        """Largest relative error over all entries that are not flagged as kinks."""
        return max((c.max_rel_error for c in self.checks.values()), default=0.0)

    @property
    def norm_rel_error(self) -> float:
        """Normwise relative error ``||a - n|| / max(1e-8, ||a|| + ||n||)`` over all entries that count."""
        a = np.concatenate([c.analytic[c.ok] for c in self.checks.values()])
        n = np.concatenate([c.numeric[c.ok] for c in self.checks.values()])
        return float(norm_rel_error(a, n))

    @property
    def n_checked(self) -> int:
        """How many entries were differenced (all of them unless the check was sampled)."""
        return sum(c.n_checked for c in self.checks.values())

    @property
    def n_entries(self) -> int:
        return sum(c.analytic.size for c in self.checks.values())

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
        width = max([6, *(len(k) for k in self.checks)])
        lines = [
            f"gradient check of {self.source}: central differences, h={self.h:g}, float64, loss={self.loss:.6g}",
            f"{'param':<{width}} {'shape':<10} {'max rel err':>12} {'worst':>9} {'max abs err':>12} "
            f"{'norm rel err':>13} {'kinks':>6}",
        ]
        for c in self.checks.values():
            lines.append(
                f"{c.name:<{width}} {str(c.analytic.shape):<10} {c.max_rel_error:>12.3e} "
                f"{str(c.worst_index):>9} {c.max_abs_error:>12.3e} {c.norm_rel_error:>13.3e} {int(c.kink.sum()):>6}"
            )
        verdict = "PASSED" if self.passed else "FAILED"
        worst = max(self.checks.values(), key=lambda c: c.max_rel_error, default=None)
        where = ""
        if worst is not None and not self.passed:
            i = worst.worst_index
            where = (
                f"; worst entry {worst.name}{list(i)}: analytic {worst.analytic[i]:.6g}, "
                f"numerical {worst.numeric[i]:.6g}"
            )
        lines.append(
            f"{verdict}: max relative error {self.max_rel_error:.3e} (tolerance {self.rtol:g}; the differences "
            f"resolve {self.atol:.1e} absolute){where}; {self.n_kinks} entries flagged at a kink"
        )
        if self.n_checked < self.n_entries:
            lines.append(f"sampled: {self.n_checked} of {self.n_entries} entries differenced, drawn at random")
        return "\n".join(lines)

    __repr__ = __str__


def rel_error(a: Array, n: Array, atol: Any, rtol: float) -> Array:
    """``|a - n| / max(|a| + |n|, atol / rtol)`` entrywise (``atol`` a scalar or broadcastable)."""
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), np.asarray(atol) / rtol)  # type: ignore[no-any-return]


def numeric_grads(
    params: Params,
    X: Array,
    y: Array,
    activation: str,
    output: str = "softmax",
    alpha: float = 0.0,
    h: float = DEFAULT_H,
    l1: float = 0.0,
    sample_weight: Array | None = None,
    entries: Mapping[str, Array] | None = None,
) -> tuple[dict[str, Array], dict[str, Array]]:
    """Central-difference gradient of the loss for every entry of every parameter (float64), or only
    for ``entries`` (name -> flat indices into that parameter; the others are NaN).

    Returns ``(numeric, kink)``: dicts keyed like ``params``; ``kink`` marks entries where a
    ReLU-like unit changes sign between ``theta - h`` and ``theta + h``.
    """
    P = {k: np.asarray(v, dtype=np.float64)[None] for k, v in params.items()}
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)[None]
    X64 = np.asarray(X, dtype=np.float64)[None]
    num, kinks = numeric_grads_batched(P, X64, np.asarray(y)[None], activation, output, alpha, h, l1, w, entries)
    return {k: v[0] for k, v in num.items()}, {k: v[0] for k, v in kinks.items()}


def numeric_grads_batched(
    params: Params,
    X: Array,
    y: Array,
    activation: str,
    output: str = "softmax",
    alpha: float = 0.0,
    h: float = DEFAULT_H,
    l1: float = 0.0,
    sample_weight: Array | None = None,
    entries: Mapping[str, Array] | None = None,
) -> tuple[dict[str, Array], dict[str, Array]]:
    """:func:`numeric_grads` for T independent checks at once (T weights, T batches).

    ``params[k]`` has shape (T, *shape), ``X`` (T, N, D), ``y`` (T, N) or (T, N, K), ``sample_weight``
    (T, N). The trainer records each checked step's weights and batch and checks a chunk of steps
    in one batched evaluation. ``entries`` (name -> flat indices into one parameter, the same for
    all T) restricts the differences to those entries: the rest are NaN, and never a kink.
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
        chosen = _layer_entries(entries, k, fan_in, fan_out)
        num = np.full((T, size), np.nan)
        kink = np.zeros((T, size), dtype=bool)
        chunk = max(1, _CHUNK_ELEMENTS // (2 * T * n * width))
        for start in range(0, chosen.size, chunk):
            e = chosen[start : start + chunk]
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


def _layer_entries(entries: Mapping[str, Array] | None, k: int, fan_in: int, fan_out: int) -> Array:
    """Layer ``k``'s entries to difference, as indices into its W entries (row-major) then its b entries."""
    if entries is None:
        return np.arange((fan_in + 1) * fan_out)
    w = np.asarray(entries.get(f"W{k}", []), dtype=np.intp)
    b = np.asarray(entries.get(f"b{k}", []), dtype=np.intp)
    return np.unique(np.concatenate([w, fan_in * fan_out + b]))


def sample_entries(
    shapes: Mapping[str, tuple[int, ...]], n: int, rng: np.random.Generator, per_array: int = 4
) -> dict[str, Array]:
    """About ``n`` entries drawn at random without replacement, as flat indices per parameter.

    Each parameter gets a share in proportion to its size, and at least ``per_array`` entries (or all
    of its entries, if fewer), so that a bug confined to one small array (a bias) is still sampled.
    """
    total = sum(math.prod(s) for s in shapes.values())
    out = {}
    for k, shape in shapes.items():
        size = math.prod(shape)
        m = min(size, max(per_array, round(n * size / total)))
        out[k] = np.sort(rng.choice(size, m, replace=False))
    return out


def step_errors(
    analytic: Params, numeric: Params, kinks: dict[str, Array], atol: Array, rtol: float = DEFAULT_RTOL
) -> tuple[Array, Array]:
    """Per-check (max entrywise relative error, normwise relative error), kinks excluded.

    All arrays carry a leading axis T; ``atol`` (T,) is each check's resolution (:func:`roundoff_floor`).
    The entrywise error is :func:`rel_error`, the same as :func:`gradcheck`'s.
    """
    T = atol.shape[0]
    a = np.concatenate([analytic[k].reshape(T, -1) for k in analytic], axis=1)
    nm = np.concatenate([numeric[k].reshape(T, -1) for k in analytic], axis=1)
    ok = ~np.concatenate([kinks[k].reshape(T, -1) for k in analytic], axis=1)
    rel = rel_error(a, nm, atol[:, None], rtol)
    max_rel = np.where(ok, rel, 0.0).max(axis=1)
    a, nm = np.where(ok, a, 0.0), np.where(ok, nm, 0.0)
    return max_rel, norm_rel_error(a, nm, axis=1)


def roundoff_floor(loss: Array | float, h: float) -> Array:
    """The resolution of central differences: ``ROUNDOFF_ULPS`` ulps of the loss (at least of 1), over h.

    A loss is a sum of rounded terms; its difference at theta +- h carries a few ulps of the loss
    of roundoff (tests measure at most ~10), which the division by 2h amplifies.
    """
    return ROUNDOFF_ULPS * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(loss)) / h


# -- the functional form ------------------------------------------------------------------------
def _as_named(params: Any) -> tuple[dict[str, Array], Callable[[dict[str, Array]], Any]]:
    """``params`` (a mapping or a list/tuple of arrays) as named float64 copies, and the function
    that turns such a dict back into the caller's container."""
    if isinstance(params, (Mapping, list, tuple)) and len(params) == 0:  # nothing checked must not read as PASSED
        raise ValueError(
            f"params is an empty {type(params).__name__}: there is nothing to check; pass the parameters fn takes, "
            "e.g. gradcheck(fn, {'W': W, 'b': b})."
        )
    if isinstance(params, Mapping):
        keys = list(params)
        named = {str(k): _float_array(v, f"params[{k!r}]") for k, v in params.items()}
        return named, lambda d: dict(zip(keys, d.values()))
    if isinstance(params, (list, tuple)):
        named = {f"params[{i}]": _float_array(v, f"params[{i}]") for i, v in enumerate(params)}
        kind = type(params)
        return named, lambda d: kind(d.values()) if kind in (list, tuple) else list(d.values())
    raise TypeError(
        f"params must be a dict (or a list/tuple) of arrays, got {type(params).__name__}; "
        f"e.g. gradcheck(fn, {{'W': W, 'b': b}}) with fn(params) -> (loss, grads)."
    )


def _float_array(v: Any, name: str) -> Array:
    arr = np.array(v, dtype=np.float64)  # a copy: the caller's arrays are never perturbed
    if arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a non-empty array of finite numbers, got {np.asarray(v)!r}.")
    return arr


def _as_loss(value: Any, what: str) -> float:
    arr = np.asarray(value, dtype=np.float64) if not isinstance(value, (str, bytes)) else np.asarray([np.nan])
    if arr.size != 1 or not np.isfinite(arr).all():
        raise ValueError(f"{what} must be one finite number (the loss), got {value!r}.")
    return float(arr.reshape(()))


def _grads_like(grads: Any, named: dict[str, Array], params: Any) -> dict[str, Array]:
    """The analytic gradient returned by ``fn``, keyed like ``named``, each of its parameter's shape."""
    if isinstance(params, Mapping):
        if not isinstance(grads, Mapping) or set(map(str, grads)) != set(named):
            got = sorted(map(str, grads)) if isinstance(grads, Mapping) else type(grads).__name__
            raise ValueError(f"fn must return grads with the keys of params {sorted(named)}, got {got}.")
        items = {str(k): v for k, v in grads.items()}
    else:
        if not isinstance(grads, (list, tuple)) or len(grads) != len(named):
            got = f"{type(grads).__name__} of length {len(grads)}" if hasattr(grads, "__len__") else repr(grads)
            raise ValueError(f"fn must return one gradient per parameter ({len(named)}), got {got}.")
        items = dict(zip(named, grads))
    out = {}
    for k, p in named.items():
        g = np.asarray(items[k], dtype=np.float64)
        if g.shape != p.shape:
            raise ValueError(
                f"the gradient of {k} has shape {g.shape}, but {k} has shape {p.shape}; a gradient has the "
                f"shape of its parameter (e.g. a column (C, 1), not (C,))."
            )
        out[k] = g
    return out


def numeric_grads_loop(
    loss_fn: Callable[[dict[str, Array]], float],
    named: dict[str, Array],
    h: float,
    scheme: str = "central",
    entries: Mapping[str, Array] | None = None,
) -> dict[str, Array]:
    """Finite differences of ``loss_fn`` for every entry of every array of ``named`` (perturbed in place
    and restored): ``"central"`` (L(+h) - L(-h)) / 2h or ``"forward"`` (L(+h) - L) / h. With
    ``entries`` (name -> flat indices) only those entries; the others are NaN."""
    base = loss_fn(named) if scheme == "forward" else 0.0
    out = {}
    for k, p in named.items():
        g = np.full_like(p, np.nan)
        flat = range(p.size) if entries is None else np.asarray(entries.get(k, []), dtype=np.intp)
        for idx in (tuple(int(i) for i in np.unravel_index(e, p.shape)) for e in flat):
            old = p[idx]
            p[idx] = old + h
            up = loss_fn(named)
            if scheme == "forward":
                g[idx] = (up - base) / h
            else:
                p[idx] = old - h
                g[idx] = (up - loss_fn(named)) / (2 * h)
            p[idx] = old
        out[k] = g
    return out


def _call(fn: Callable[[Any], Any], arg: Any) -> tuple[float, Any]:
    out = fn(arg)
    if not isinstance(out, tuple) or len(out) != 2:
        raise ValueError(f"fn(params) must return a pair (loss, grads), got {type(out).__name__} {out!r:.80}.")
    return _as_loss(out[0], "the loss returned by fn"), out[1]


def _result(
    loss: float,
    h: float,
    rtol: float,
    analytic: Mapping[str, Array],
    numeric: Mapping[str, Array],
    kinks: Mapping[str, Array],
    source: str,
    entries: Mapping[str, Array] | None = None,
) -> GradCheckResult:
    atol = float(roundoff_floor(loss, h))
    res = GradCheckResult(loss=loss, h=h, rtol=rtol, atol=atol, source=source)
    for k in analytic:
        checked = None
        if entries is not None:
            checked = np.zeros(analytic[k].shape, dtype=bool)
            checked.flat[np.asarray(entries.get(k, []), dtype=np.intp)] = True
        with np.errstate(invalid="ignore"):  # NaN (not differenced) entries stay NaN
            err = rel_error(analytic[k], numeric[k], atol, rtol)
        res.checks[k] = ParamCheck(k, analytic[k], numeric[k], err, kinks[k], checked)
    return res


# -- the network form -----------------------------------------------------------------------------
def _float64_twin(net: MLP) -> MLP:
    """A deep copy of ``net`` (its own class, any overrides kept) whose parameters are float64."""
    twin = copy.deepcopy(net)
    if twin.dtype != np.float64:
        xp = namespace_of(twin._theta)
        twin._theta = xp.astype(twin._theta, xp.float64)
        twin.dtype = np.dtype(np.float64)
        twin._params = ParamViews(twin._theta, param_shapes(twin.sizes))
    return twin


def overrides_loss(net: Any) -> bool:
    """Whether ``net``'s class computes its loss or gradient with code of its own (not the reference)."""
    cls = type(net)
    return cls.loss_and_grads is not MLP.loss_and_grads or cls.loss is not MLP.loss  # type: ignore[comparison-overlap]


@dataclass
class _Problem:
    """A loss to check: its value and analytic gradient at ``named``, and the loss at other points."""

    loss: float
    analytic: dict[str, Array]
    named: dict[str, Array]
    loss_of: Callable[[dict[str, Array]], float]
    source: str


def _fn_problem(fn: Callable[[Any], Any], params: Any) -> _Problem:
    named, rebuild = _as_named(params)
    loss, grads = _call(fn, rebuild(named))

    def loss_of(d: dict[str, Array]) -> float:
        return _as_loss(_call(fn, rebuild(d))[0], "the loss returned by fn at a perturbed point")

    name = getattr(fn, "__qualname__", type(fn).__name__)
    return _Problem(loss, _grads_like(grads, named, params), named, loss_of, name)


def _net_problem(net: MLP, X64: Array, t: Array, alpha: float, l1: float, w: Array | None) -> _Problem:
    twin = _float64_twin(net)
    loss, grads = twin.loss_and_grads(X64, t, alpha, l1, w)  # the object's own code: a subclass is checked
    grads = {k: to_numpy(v) for k, v in grads.items()}  # computed in the network's namespace, compared on the host
    source = f"{type(net).__name__}.loss_and_grads"
    named = {k: np.array(to_numpy(v)) for k, v in twin.params.items()}

    def loss_of(d: dict[str, Array]) -> float:
        twin.params = d
        return _as_loss(twin.loss_and_grads(X64, t, alpha, l1, w)[0], "the loss at a perturbed point")

    return _Problem(_as_loss(loss, f"the loss of {source}"), _grads_like(grads, named, named), named, loss_of, source)


def _checked_data(net: MLP, X: Any, y: Any, sample_weight: Any) -> tuple[Array, Array, Array | None]:
    """The data in float64 on the host, where the differences are taken (arrays of other libraries are copied)."""
    X, y, sample_weight = (v if is_numpy(v) else to_numpy(v) for v in (X, y, sample_weight))
    X64 = check_X(X, net.sizes[0], np.float64)
    if sp.issparse(X64):
        X64 = X64.toarray()  # the perturbation tensors are dense anyway
    t = check_targets(y, X64.shape[0], net.output, net.sizes[-1])
    return X64, t, check_sample_weight(sample_weight, X64.shape[0])


def _check_net(
    net: MLP,
    X: Any,
    y: Any,
    h: float,
    alpha: float,
    rtol: float,
    l1: float,
    sample_weight: Any,
    entries: Mapping[str, Array] | None,
) -> GradCheckResult:
    X64, t, w = _checked_data(net, X, y, sample_weight)
    prob = _net_problem(net, X64, t, alpha, l1, w)
    # the batched differences of the reference loss locate the kinks; they are the numbers too unless
    # the class computes its loss with code of its own, whose differences are then taken entry by entry
    numeric, kinks = numeric_grads(prob.named, X64, t, net.activation, net.output, alpha, h, l1, w, entries)
    if overrides_loss(net):
        numeric = numeric_grads_loop(prob.loss_of, prob.named, h, entries=entries)
    return _result(prob.loss, h, rtol, prob.analytic, numeric, kinks, prob.source, entries)


def _problem(target: Any, X: Any, y: Any, alpha: float, l1: float, sample_weight: Any) -> _Problem:
    """The network form or the functional form, validated (shared by gradcheck and error_vs_h)."""
    if isinstance(target, MLP):
        if X is None or y is None:
            raise TypeError("the network form needs the data X and the targets y: gradcheck(net, X, y).")
        check_positive("alpha", alpha, allow_zero=True)
        check_positive("l1", l1, allow_zero=True)
        X64, t, w = _checked_data(target, X, y, sample_weight)
        return _net_problem(target, X64, t, alpha, l1, w)
    if callable(target):
        if X is None:
            raise TypeError("the functional form needs the parameters at which to check: gradcheck(fn, params).")
        if y is not None or alpha or l1 or sample_weight is not None:
            raise TypeError(
                "gradcheck(fn, params) takes no y, alpha, l1 or sample_weight: fn computes its own loss "
                "(pass h= and rtol= by keyword)."
            )
        return _fn_problem(target, X)
    raise TypeError(
        f"gradcheck expects an MLP (gradcheck(net, X, y)) or a function fn(params) -> (loss, grads) "
        f"(gradcheck(fn, params)), got {type(target).__name__}."
    )


def gradcheck(
    target: Any,
    X: Any = None,
    y: Any = None,
    h: float = DEFAULT_H,
    alpha: float = 0.0,
    rtol: float = DEFAULT_RTOL,
    l1: float = 0.0,
    sample_weight: Any = None,
    sample: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> GradCheckResult:
    """Compare analytic gradients with central differences of the same loss, in float64.

    Two forms:

    - ``gradcheck(net, X, y, ...)``: ``net`` an :class:`MLP` (or a subclass: its own
      ``loss_and_grads(X, y, alpha, l1, sample_weight)`` is what gets checked; a float32 network is
      checked on a float64 copy); ``X`` (N, D); ``y`` targets for the network's head.
    - ``gradcheck(fn, params, h=...)``: ``fn(params) -> (loss, grads)`` with ``params`` a dict (or
      a list/tuple) of arrays of any shapes and ``grads`` the same container of the same shapes.

    Parameters
    ----------
    h : step of the central differences, in :data:`H_RANGE` (default :data:`DEFAULT_H`)
    alpha, l1 : the L2 and L1 strengths of the loss being checked (network form)
    rtol : tolerance on the relative error for ``passed``
    sample_weight : optional (N,) weights of the loss (network form)
    sample : check about this many entries, drawn at random (:func:`sample_entries`: each parameter
        in proportion to its size, at least 4 of each), instead of all of them: two loss evaluations
        per entry make a full check of a large network slow. The result's ``n_checked`` says how many;
        the other entries are NaN in ``numeric`` and count nowhere.
    seed : int or Generator drawing the sampled entries (same seed, same entries)

    Returns
    -------
    GradCheckResult with ``max_rel_error``, ``passed``, ``per_param`` and a printable table.
    """
    h = check_h(h)
    check_positive("rtol", rtol)
    if sample is not None:
        check_positive("sample", sample, integer=True)
    if isinstance(target, MLP) and X is not None and y is not None:
        check_positive("alpha", alpha, allow_zero=True)
        check_positive("l1", l1, allow_zero=True)
        entries = None if sample is None else sample_entries(param_shapes(target.sizes), sample, as_generator(seed))
        return _check_net(target, X, y, h, alpha, rtol, l1, sample_weight, entries)
    prob = _problem(target, X, y, alpha, l1, sample_weight)  # the functional form, or the error for a bad call
    shapes = {k: v.shape for k, v in prob.named.items()}
    entries = None if sample is None else sample_entries(shapes, sample, as_generator(seed))
    numeric = numeric_grads_loop(prob.loss_of, prob.named, h, entries=entries)
    kinks = {k: np.zeros(v.shape, dtype=bool) for k, v in prob.named.items()}
    return _result(prob.loss, h, rtol, prob.analytic, numeric, kinks, prob.source, entries)


@dataclass
class ErrorVsH:
    """Normwise relative error ``||n - a|| / ||a||`` of finite differences against the analytic gradient.

    ``h`` (H,) the steps; ``forward`` and ``central`` (H,) the errors of ``(L(+h) - L) / h`` and
    ``(L(+h) - L(-h)) / 2h``; ``h_range`` the steps :func:`gradcheck` accepts. For a correct gradient
    both curves are V-shaped: truncation error (slope 1 forward, 2 central) on the right, roundoff
    (slope -1) on the left. A wrong gradient flattens the bottom of the V at the size of the bug.
    """

    h: Array
    forward: Array
    central: Array
    source: str
    h_range: tuple[float, float] = H_RANGE
    default_h: float = DEFAULT_H

    @property
    def best_h(self) -> dict[str, float]:
        """The step of least error for each scheme."""
        return {"forward": float(self.h[self.forward.argmin()]), "central": float(self.h[self.central.argmin()])}


def error_vs_h(
    target: Any,
    X: Any = None,
    y: Any = None,
    hs: Sequence[float] | Array | None = None,
    alpha: float = 0.0,
    l1: float = 0.0,
    sample_weight: Any = None,
) -> ErrorVsH:
    """The error of forward and central differences over a range of steps (default 1e-14 .. 1e-1).

    ``target`` and its arguments as in :func:`gradcheck` (a network with ``X, y``, or ``fn`` with
    ``params`` passed as ``X``). Every entry is perturbed once per step and scheme, by the loss of the
    object itself (keep the problem small: the cost is 3 x n_params x len(hs) loss evaluations).
    """
    grid = np.logspace(-14, -1, 27) if hs is None else np.asarray(hs, dtype=np.float64).ravel()
    if grid.size == 0 or not (np.isfinite(grid).all() and (grid > 0).all()):
        raise ValueError(f"hs must be positive finite steps, got {grid!r}.")
    prob = _problem(target, X, y, alpha, l1, sample_weight)
    a = np.concatenate([g.ravel() for g in prob.analytic.values()])
    scale = max(float(np.linalg.norm(a)), 1e-300)
    errors = {"forward": np.empty(grid.size), "central": np.empty(grid.size)}
    for scheme, out in errors.items():
        for i, h in enumerate(grid):
            n = numeric_grads_loop(prob.loss_of, prob.named, float(h), scheme)
            out[i] = np.linalg.norm(np.concatenate([v.ravel() for v in n.values()]) - a) / scale
    return ErrorVsH(grid, errors["forward"], errors["central"], prob.source)
