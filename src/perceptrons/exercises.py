"""The course as checked exercises: tell a learner what is wrong with *their* functions.

``check(solution)`` takes a module, a dict or a notebook's ``globals()`` holding the learner's
functions under the course's names and signatures (column vectors, the course's argument order
and returns) and checks each one it finds against the library's reference (:mod:`perceptrons.course`):

- each function is checked *alone*: the other course functions it calls (``softmax`` inside
  ``forward_one_layer``, ...) are replaced by the reference for the duration of its check, so one
  mistake fails one function, not everything downstream of it;
- pure functions on many cases, smallest first: input size different from and equal to the hidden
  or class size (a transpose cannot hide), logits of 1e3 (a stable softmax is required), hidden
  pre-activations exactly at 0 (either ReLU'(0) convention passes);
- training functions by what they must do, not by our random draws: the returned tuple and each
  item's shape and length, the loss going down on separable data, the last test accuracy equal to
  the accuracy of the returned weights on the *test* set, the finite-difference gradient taken at
  the same weights as the analytic one, the same results for the same seed;
- a failure shows the smallest failing input, expected against got, and a hint when the numbers
  match a known mistake (transposed, sign, factor 2 or 1/N, tanh' applied twice, ReLU mask missing,
  overflow, test accuracy on the training set, gradient after the update, (C,) instead of (C, 1)).
"""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import course
from .core.gradcheck import ErrorVsH, GradCheckResult, error_vs_h, gradcheck

Array = NDArray[Any]
ONE_LAYER = (
    "softmax",
    "forward_one_layer",
    "compute_grads_one_layer",
    "compute_loss",
    "approx_grad_W",
    "train_one_layer",
)
TWO_LAYER = ("relu", "d_relu", "forward_two_layers", "compute_grads_two_layers", "train_two_layer")
TANH = ("tanh", "d_tanh_hidden")
EXERCISES = ONE_LAYER + TWO_LAYER + TANH


class _Fail(Exception):
    """One check of one function failed; the message is for the learner."""


@dataclass
class ExerciseResult:
    """The verdict on one function: ``status`` is ``"passed"``, ``"failed"`` or ``"missing"``.

    ``passed`` is True, False, or None for a missing function (not checked, not failed).
    """

    name: str
    status: str
    message: str = ""

    @property
    def passed(self) -> bool | None:
        return None if self.status == "missing" else self.status == "passed"


@dataclass
class CheckReport:
    """All verdicts; ``passed`` when at least one function was checked and every checked one passed."""

    activation: str
    results: dict[str, ExerciseResult] = field(default_factory=dict)

    @property
    def checked(self) -> list[str]:
        return [k for k, r in self.results.items() if r.status != "missing"]

    @property
    def passed(self) -> bool:
        return bool(self.checked) and all(self.results[k].passed for k in self.checked)

    def __str__(self) -> str:
        width = max(len(k) for k in self.results) if self.results else 8
        lines = [f"course exercises, two-layer functions checked with activation={self.activation!r}"]
        for k, r in self.results.items():
            lines.append(f"  {k:<{width}}  {r.status.upper() if r.status == 'failed' else r.status}")
        for k, r in self.results.items():
            if r.status == "failed":
                lines.append(f"\n{k}: " + r.message.replace("\n", "\n  "))
        n_fail = sum(r.status == "failed" for r in self.results.values())
        if not self.checked:
            lines.append("\nNo course function found: define e.g. softmax(y) in the checked module.")
        else:
            verdict = "PASSED" if self.passed else "FAILED"
            lines.append(f"\n{verdict}: {len(self.checked) - n_fail} of {len(self.checked)} checked functions pass.")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython prints the table, not a repr
        p.text(str(self))


# -- the references, with the course's signatures -------------------------------------------------
def references(activation: str = "relu") -> dict[str, Callable[..., Any]]:
    """The library's answer to every exercise, with the course's signatures, for ``activation``."""
    act = _activation(activation)

    def forward_two_layers(Wo: Array, bo: Array, Wh: Array, bh: Array, x: Array) -> tuple[Array, Array, Array]:
        return course.forward_two_layers(Wo, bo, Wh, bh, x, act)

    def compute_grads_two_layers(hidden: Array, softmaxed: Array, Wo: Array, x: Array, y: Array) -> Any:
        return course.compute_grads_two_layers(hidden, softmaxed, Wo, x, y, act)

    def train_two_layer(*args: Any, **kw: Any) -> Any:
        return course.train_two_layer(*args, **{**kw, "activation": act})

    refs: dict[str, Callable[..., Any]] = {k: getattr(course, k) for k in EXERCISES}
    refs.update(
        forward_two_layers=forward_two_layers,
        compute_grads_two_layers=compute_grads_two_layers,
        train_two_layer=train_two_layer,
    )
    return refs


def _activation(activation: str) -> str:
    if activation not in ("relu", "tanh"):
        raise ValueError(f"activation must be 'relu' or 'tanh' (the course's two networks), got {activation!r}.")
    return activation


def _alone(fn: Any, name: str, refs: Mapping[str, Callable[..., Any]]) -> Any:
    """``fn`` with the other course functions it calls bound to the references (a plain function is
    rebuilt over a copy of its globals; anything else, e.g. a partial or a ufunc, is used as is)."""
    if not isinstance(fn, types.FunctionType):
        return fn
    env = dict(fn.__globals__)
    env.update({k: v for k, v in refs.items() if k != name})
    alone = types.FunctionType(fn.__code__, env, fn.__name__, fn.__defaults__, fn.__closure__)
    alone.__kwdefaults__ = copy.copy(fn.__kwdefaults__)
    return alone


# -- comparing, and naming the mistake ----------------------------------------------------------
def _fmt(v: Any, depth: int = 0) -> str:
    """A short picture of what a learner's function returned, whatever it is (a list holding itself, an
    object whose repr fails or never ends): nested at most three deep, at most 200 characters of a repr."""
    if depth > 3:
        return "..."
    if isinstance(v, np.ndarray) and v.dtype != object:
        text = np.array2string(v, precision=4, suppress_small=False, max_line_width=10_000, threshold=40)
        return f"{text}  (shape {v.shape})".replace("\n", "")
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_fmt(x, depth + 1) for x in v[:6]) + (", ..." if len(v) > 6 else "")
        return f"{type(v).__name__} of {len(v)}: ({inner})"
    if isinstance(v, np.ndarray):
        return f"array of Python objects (shape {v.shape})"
    try:
        text = repr(v)
    except Exception as exc:  # the learner's own class
        return f"<a {type(v).__name__} whose repr raised {type(exc).__name__}>"
    return text if len(text) <= 200 else text[:200] + "..."


def _close(got: Any, expected: Array, rtol: float = 1e-7, atol: float | Array = 1e-10) -> bool:
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return g.shape == expected.shape and bool(np.all(np.abs(g - expected) <= atol + rtol * np.abs(expected)))


def _hint(
    got: Any,
    expected: Array,
    candidates: Iterable[tuple[str, Any]],
    sizes: Iterable[int] = (),
    rtol: float = 1e-6,
    atol: float | Array = 1e-9,
) -> str:
    """The first known mistake that the numbers show (to the check's own tolerance), or ''."""
    rtol, atol = max(rtol, 1e-6), np.maximum(atol, 1e-9)
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"it returned {type(got).__name__}, not an array of numbers"
    for text, value in candidates:
        if value is not None and _close(g, np.asarray(value, dtype=np.float64), rtol, atol):
            return text
    if g.shape != expected.shape:
        if expected.ndim == 2 and expected.shape[1] == 1 and g.shape == expected.shape[:1]:
            return (
                f"wrong shape {g.shape} instead of {expected.shape}: the course's vectors are columns; reshape(-1, 1)"
            )
        if g.shape == expected.shape[::-1] and _close(g.T, expected, 1e-6, 1e-9):
            return f"transposed: shape {g.shape} instead of {expected.shape}"
        return f"wrong shape {g.shape}, expected {expected.shape}"
    if not np.isfinite(g).all() and np.isfinite(expected).all():
        return "NaN or inf in the result: an overflow (exp of a large number?); compute it in a stable form"
    generic = [
        ("transposed (a square matrix hides the shape error)", expected.T if expected.ndim == 2 else None),
        ("sign flipped", -expected),
        ("a factor of 2 too large", 2 * expected),
        ("a factor of 2 too small (1/2 too many)", expected / 2),
    ]
    generic += [(f"a factor of 1/{n} too small (divided by {n})", expected / n) for n in sorted(set(sizes)) if n > 2]
    generic += [(f"a factor of {n} too large (missing a 1/{n})", expected * n) for n in sorted(set(sizes)) if n > 2]
    for text, value in generic:
        if value is not None and value.shape == g.shape and _close(g, value, rtol, atol):
            return text
    return ""


def _expect(
    call: str,
    inputs: Mapping[str, Any],
    got: Any,
    expected: Array,
    candidates: Iterable[tuple[str, Any]] = (),
    rtol: float = 1e-7,
    atol: float | Array = 1e-10,
    what: str = "",
    overflow: str = "",
) -> None:
    if _close(got, expected, rtol, atol):
        return
    sizes = [d for v in inputs.values() if isinstance(v, np.ndarray) for d in v.shape]
    hint = _hint(got, expected, candidates, sizes, rtol, atol)
    if overflow and hint.startswith("NaN or inf"):
        hint = overflow
    lines = [f"{call} {what}on the smallest failing input".replace("  ", " ")]
    lines += [f"  {k} = {_fmt(v)}" for k, v in inputs.items()]
    lines += [f"  expected {_fmt(expected)}", f"  got      {_fmt(got)}"]
    if hint:
        lines.append(f"  hint: {hint}")
    raise _Fail("\n".join(lines))


def _call(fn: Any, call: str, inputs: Mapping[str, Any], **kw: Any) -> Any:
    """Call the learner's function on copies of ``inputs`` (its positional arguments, in order); a raise
    or a modified argument is a failure."""
    args = {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()}
    try:
        with np.errstate(all="ignore"):
            out = fn(*args.values(), **kw)
    except NotImplementedError:
        raise _Fail("not written yet (it raises NotImplementedError)") from None
    except Exception as exc:
        shown = {k: v for k, v in inputs.items() if isinstance(v, np.ndarray) and v.size <= 40}
        text = f"{call} raised {type(exc).__name__}: {exc}\n" + "\n".join(
            f"  {k} = {_fmt(v)}" for k, v in shown.items()
        )
        if any(w in str(exc) for w in ("matmul", "shapes", "broadcast", "aligned")):
            text += "\n  hint: a shape mismatch: check which matrix is transposed (the layer computes W.T @ x + b)"
        raise _Fail(text) from None
    for k, v in inputs.items():
        if isinstance(v, np.ndarray) and not np.array_equal(args[k], v, equal_nan=True):
            raise _Fail(f"{call} modifies its argument {k} in place; work on a copy (e.g. {k}.copy()).")
    return out


def _tuple_of(out: Any, n: int, call: str, names: str) -> tuple[Any, ...]:
    if not isinstance(out, (tuple, list)) or len(out) != n:
        got = f"{type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list)) else type(out).__name__
        raise _Fail(f"{call} must return {n} values ({names}), got {got}.")
    return tuple(out)


# -- the cases, smallest first ----------------------------------------------------------------------
ONE_SHAPES = [(1, 2), (2, 2), (2, 3), (3, 3), (4, 2), (3, 5)]  # (inputs D, classes C): D == C and D != C
TWO_SHAPES = [(1, 2, 2), (2, 2, 2), (2, 3, 2), (3, 3, 3), (2, 4, 3), (4, 3, 2)]  # (D, hidden H, C)
OVERFLOW = "overflow: exp of a logit of 1e3 is inf; subtract the largest logit before exp (softmax is unchanged by it)"


def _rng() -> np.random.Generator:
    return np.random.default_rng(20191125)


def _label(rng: np.random.Generator, C: int) -> Array:
    y = np.zeros((C, 1))
    y[rng.integers(C)] = 1.0
    return y


def _one_layer_cases() -> list[dict[str, Array]]:
    rng = _rng()
    cases = []
    for D, C in ONE_SHAPES:
        cases.append({"W": rng.normal(size=(D, C)), "b": rng.normal(size=(C, 1)), "x": rng.normal(size=(D, 1))})
        cases[-1]["y"] = _label(rng, C)
    big = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=(3, 1)), "x": 500 * rng.normal(size=(2, 1))}
    return [*cases, {**big, "y": _label(rng, 3)}]  # logits ~1e3 last


def _two_layer_cases() -> list[dict[str, Any]]:
    """Dyadic hidden weights and inputs, so that a hidden unit's pre-activation is exactly 0."""
    rng = _rng()
    cases = []
    for scale, (D, H, C) in [(1.0, s) for s in TWO_SHAPES] + [(300.0, (2, 3, 3))]:
        Wh, x = rng.integers(-8, 9, (D, H)) / 4, rng.integers(-8, 9, (D, 1)) / 4
        x[0] = x[0] if x[0] else 1.0
        bh = rng.integers(-8, 9, (H, 1)) / 4
        bh[0] = -(Wh[:, 0] @ x[:, 0])  # exactly at the kink
        case = {"Wo": scale * rng.normal(size=(H, C)), "bo": rng.normal(size=(C, 1)), "Wh": Wh, "bh": bh, "x": x}
        cases.append({**case, "y": _label(rng, C), "at_zero": (Wh.T @ x + bh)[:, 0] == 0})
    return cases


def _softmax_cols(z: Array) -> Array:
    return course.softmax(z)


# -- the pure functions ----------------------------------------------------------------------------
def _check_softmax(fn: Any, act: str) -> None:
    rng = _rng()
    cases = [3 * rng.normal(size=(C, 1)) for C in (2, 3, 5)]
    cases += [np.array([[1000.0], [999.0], [-1000.0]]), np.array([[-1000.0], [-1001.0], [-999.5]])]
    for y in cases:
        got = _call(fn, "softmax(y)", {"y": y})
        expected = course.softmax(y)
        try:  # proportional to the softmax, but not summing to 1 (exp(y), exp(y - max y), ...)
            total = float(np.sum(np.asarray(got, dtype=float)))
        except (TypeError, ValueError):
            total = math.nan
        cands = [("not normalised: divide by the sum", expected * total if abs(total - 1) > 1e-6 else None)]
        _expect("softmax(y)", {"y": y}, got, expected, cands, overflow=OVERFLOW)


def _check_forward_one_layer(fn: Any, act: str) -> None:
    for c in _one_layer_cases():
        W, b, x = c["W"], c["b"], c["x"]
        inputs = {"W": W, "b": b, "x": x}
        got = _call(fn, "forward_one_layer(W, b, x)", inputs)
        cands = [
            ("the logits W.T @ x + b: softmax not applied", W.T @ x + b),
            ("the bias b is missing", _softmax_cols(W.T @ x)),
            ("transposed: W @ x instead of W.T @ x", _softmax_cols(W @ x + b) if W.shape[0] == W.shape[1] else None),
        ]
        _expect("forward_one_layer(W, b, x)", inputs, got, course.forward_one_layer(W, b, x), cands, overflow=OVERFLOW)


def _check_compute_grads_one_layer(fn: Any, act: str) -> None:
    for c in _one_layer_cases():
        s, x, y = course.forward_one_layer(c["W"], c["b"], c["x"]), c["x"], c["y"]
        inputs = {"softmaxed": s, "x": x, "y": y}
        call = "compute_grads_one_layer(softmaxed, x, y)"
        d_W, d_b = _tuple_of(_call(fn, call, inputs), 2, call, "d_W, d_b")
        exp_W, exp_b = course.compute_grads_one_layer(s, x, y)
        _expect(call, inputs, d_W, exp_W, [("y is not subtracted: x @ softmaxed.T", x @ s.T)], what="d_W ")
        _expect(call, inputs, d_b, exp_b, [("y is not subtracted", s)], what="d_b ")


def _check_compute_loss(fn: Any, act: str) -> None:
    for c in _one_layer_cases()[:-1]:
        s, y = course.forward_one_layer(c["W"], c["b"], c["x"]), c["y"]
        inputs = {"softmaxed": s, "y": y}
        got = _call(fn, "compute_loss(softmaxed, y)", inputs)
        arr = np.asarray(got, dtype=float) if isinstance(got, (float, int, np.ndarray, np.number)) else got
        value = arr.reshape(()) if isinstance(arr, np.ndarray) and arr.size == 1 else arr
        cands = [
            ("the minus sign is missing: log(p) instead of -log(p)", np.log(s.T @ y).reshape(())),
            ("-log of the largest probability, not of the true class's", -np.log(s.max())),
            ("-log(1 - p) instead of -log(p)", -np.log(1 - s.T @ y).reshape(())),
        ]
        _expect("compute_loss(softmaxed, y)", inputs, value, np.array(course.compute_loss(s, y)), cands, rtol=1e-9)


def _check_approx_grad_W(fn: Any, act: str) -> None:
    for c in _one_layer_cases()[:-1]:
        W, b, x, y = c["W"], c["b"], c["x"], c["y"]
        exact = course.compute_grads_one_layer(course.forward_one_layer(W, b, x), x, y)[0]
        for h in (1e-4, 1e-5):
            inputs = {"W": W, "b": b, "x": x, "y": y}
            call = f"approx_grad_W(W, b, x, y, h={h:g})"
            got = _call(fn, call, inputs, h=h)
            # a forward difference is off by at most h/2 max|d2L/dW_ij^2| <= h x_i^2 / 8; roundoff ~1e-10
            tol = h * x**2 / 4 + 1e-8
            cands = [("a forward difference divided by 2h: a factor 1/2", exact / 2)]
            _expect(call, inputs, got, exact, cands, rtol=0.0, atol=tol, what="(against the exact gradient) ")


def _check_relu(fn: Any, act: str) -> None:
    rng = _rng()
    for H in (1, 3, 6):
        x = rng.integers(-4, 5, (H, 1)) / 2
        x[0] = 0.0
        got = _call(fn, "relu(x)", {"x": x})
        cands = [
            ("the mask (x > 0), not max(0, x): relu and d_relu swapped", (x > 0) * 1.0),
            ("min(0, x) instead of max(0, x)", np.minimum(x, 0)),
            ("x unchanged: nothing is clipped at 0", x),
        ]
        _expect("relu(x)", {"x": x}, got, np.maximum(x, 0), cands, rtol=0.0, atol=0.0)


def _check_d_relu(fn: Any, act: str) -> None:
    rng = _rng()
    for H in (1, 3, 6):
        x = rng.integers(-4, 5, (H, 1)) / 2
        x[0], x[-1] = 0.0, -1.5 if H > 1 else x[-1]
        got = _call(fn, "d_relu(x)", {"x": x})
        expected = (x > 0) * 1.0
        g = np.asarray(got, dtype=float) if isinstance(got, np.ndarray) else None
        if g is not None and g.shape == x.shape:  # at exactly 0 any value in [0, 1] is a valid ReLU'(0)
            expected = np.where((x == 0) & (g >= 0) & (g <= 1), g, expected)
        cands = [
            ("max(0, x): that is relu itself, not its derivative", np.maximum(x, 0)),
            ("1 everywhere: the ReLU mask is missing (the derivative is 0 where x < 0)", np.ones_like(x)),
            ("1 where x <= 0: the mask is inverted", (x <= 0) * 1.0),
        ]
        _expect("d_relu(x)", {"x": x}, got, expected, cands, rtol=0.0, atol=0.0)


def _check_tanh(fn: Any, act: str) -> None:
    rng = _rng()
    for H in (1, 3, 6):
        x = 3 * rng.normal(size=(H, 1))
        x[0] = 0.0 if H > 1 else x[0]
        x[-1] = 15.0 if H > 3 else x[-1]
        got = _call(fn, "tanh(x)", {"x": x})
        cands = [
            ("1 - tanh(x)**2: that is the derivative of tanh", 1 - np.tanh(x) ** 2),
            ("the logistic sigmoid 1 / (1 + exp(-x)), not tanh", 1 / (1 + np.exp(-x))),
        ]
        _expect("tanh(x)", {"x": x}, got, np.tanh(x), cands, rtol=1e-9, atol=1e-12)


TANH_TWICE = "tanh' applied to the output twice: 1 - tanh(hidden)**2, but hidden is already tanh(z); use 1 - hidden**2"


def _check_d_tanh_hidden(fn: Any, act: str) -> None:
    rng = _rng()
    for H in (1, 3, 6):
        hidden = np.tanh(2 * rng.normal(size=(H, 1)))
        got = _call(fn, "d_tanh_hidden(hidden)", {"hidden": hidden})
        cands = [
            (TANH_TWICE, 1 - np.tanh(hidden) ** 2),
            ("1 - hidden: the square is missing", 1 - hidden),
            ("1 - hidden**2 was expected; hidden**2 alone misses the 1 -", hidden**2),
        ]
        _expect("d_tanh_hidden(hidden)", {"hidden": hidden}, got, 1 - hidden**2, cands, rtol=1e-9, atol=1e-12)


# -- the two-layer functions -----------------------------------------------------------------------
def _f(act: str) -> Callable[[Array], Array]:
    return course.relu if act == "relu" else course.tanh  # type: ignore[return-value]


def _check_forward_two_layers(fn: Any, act: str) -> None:
    other = "tanh" if act == "relu" else "relu"
    call = "forward_two_layers(Wo, bo, Wh, bh, x)"
    for c in _two_layer_cases():
        inputs = {k: c[k] for k in ("Wo", "bo", "Wh", "bh", "x")}
        Wo, bo, Wh, bh, x = inputs.values()
        s, hidden, out = course.forward_two_layers(Wo, bo, Wh, bh, x, act)
        got = _tuple_of(_call(fn, call, inputs), 3, call, "softmaxed, hidden, out")
        z = Wh.T @ x + bh
        square = Wh.shape[0] == Wh.shape[1]
        _expect(call, inputs, got[1], hidden, [
            ("hidden is the pre-activation Wh.T @ x + bh: the activation is not applied", z),
            (f"hidden uses {other}; with activation={act!r} the hidden layer is {act}", _f(other)(z)),
            ("transposed: Wh @ x instead of Wh.T @ x", _f(act)(Wh @ x + bh) if square else None),
            ("the order of the returned values is (softmaxed, hidden, out)", out if out.shape == hidden.shape else None),
        ], what="hidden ")  # fmt: skip
        _expect(call, inputs, got[2], out, [
            ("out computed from the pre-activation, not from hidden", Wo.T @ z + bo),
            ("the order of the returned values is (softmaxed, hidden, out)", s),
        ], what="out ", overflow=OVERFLOW)  # fmt: skip
        _expect(call, inputs, got[0], s, [
            ("the order of the returned values is (softmaxed, hidden, out)", out),
            ("softmax applied to hidden, not to out", _softmax_cols(hidden) if hidden.shape == s.shape else None),
        ], what="softmaxed ", overflow=OVERFLOW)  # fmt: skip


def _two_grads(hidden: Array, s: Array, Wo: Array, x: Array, y: Array, df: Array) -> tuple[Array, ...]:
    """The two-layer gradient with a given hidden derivative ``df`` (H, 1) (used for the mistakes too)."""
    d_bh = (Wo @ (s - y)) * df
    return hidden @ (s - y).T, s - y, x @ d_bh.T, d_bh


def _check_compute_grads_two_layers(fn: Any, act: str) -> None:
    call = "compute_grads_two_layers(hidden, softmaxed, Wo, x, y)"
    names = ("d_Wo", "d_bo", "d_Wh", "d_bh")
    for c in _two_layer_cases()[:-1]:
        s, hidden, _ = course.forward_two_layers(c["Wo"], c["bo"], c["Wh"], c["bh"], c["x"], act)
        Wo, x, y = c["Wo"], c["x"], c["y"]
        inputs = {"hidden": hidden, "softmaxed": s, "Wo": Wo, "x": x, "y": y}
        got = _tuple_of(_call(fn, call, inputs), 4, call, ", ".join(names))
        df = (hidden > 0) * 1.0 if act == "relu" else 1 - hidden**2
        expected = _two_grads(hidden, s, Wo, x, y, df)
        if act == "relu":  # a unit exactly at the kink may take ReLU'(0) = 1 (or anything in [0, 1])
            g = np.asarray(got[3], dtype=float) if isinstance(got[3], np.ndarray) else None
            if g is not None and g.shape == df.shape:
                full = _two_grads(hidden, s, Wo, x, y, np.ones_like(df))[3]
                t = np.divide(g, full, out=np.zeros_like(g), where=full != 0)
                df = np.where(c["at_zero"][:, None] & (t >= 0) & (t <= 1 + 1e-12), t, df)
                expected = _two_grads(hidden, s, Wo, x, y, df)
        wrong = {
            "relu": [("the ReLU mask is missing: d_relu(hidden) is not applied", np.ones_like(hidden)),
                     ("tanh's derivative used in the ReLU network", 1 - hidden**2)],
            "tanh": [(TANH_TWICE, 1 - np.tanh(hidden) ** 2), ("the derivative of tanh is missing", np.ones_like(hidden)),
                     ("ReLU's derivative used in the tanh network", (hidden > 0) * 1.0)],
        }[act]  # fmt: skip
        for i, name in enumerate(names):
            cands = [(text, _two_grads(hidden, s, Wo, x, y, d)[i]) for text, d in wrong]
            if name == "d_Wh" and x.shape[0] == hidden.shape[0]:
                cands.append(("d_Wh transposed: d_bh @ x.T instead of x @ d_bh.T", expected[3] @ x.T))
            _expect(call, inputs, got[i], expected[i], cands, what=f"{name} ")


# -- the training functions, by what they must do -----------------------------------------------------
N_IT, TEST_FREQ = 201, 10  # the last step (200) records a test accuracy: after it, of the returned weights


def _training_data() -> tuple[Array, Array, Array, Array]:
    """Three well separated blobs; a third of the *test* labels rotated, so that accuracy on the test set
    (about 2/3) cannot be mistaken for accuracy on the training set (about 1)."""
    rng = _rng()
    centres = np.array([[0.0, 4.0], [-4.0, -2.0], [4.0, -2.0]])
    lab_tr, lab_te = rng.permutation(90) % 3, np.arange(31) % 3
    X_tr = centres[lab_tr] + 0.5 * rng.normal(size=(90, 2))
    X_te = centres[lab_te] + 0.5 * rng.normal(size=(31, 2))
    lab_te = np.where(np.arange(31) % 3 == 0, (lab_te + 1) % 3, lab_te)
    return X_tr, np.eye(3)[lab_tr], X_te, np.eye(3)[lab_te]


def _accuracy(softmaxed: Array, Y: Array) -> float:
    return float(np.mean(softmaxed.argmax(axis=0) == Y.argmax(axis=1)))


def _named(args: tuple[Any, ...]) -> dict[str, Any]:
    names = ("X_train", "Y_train", "X_test", "Y_test", "lr", "n_hidden")
    return dict(zip(names, args))


def _check_run(
    call: str, out: tuple[Any, ...], shapes: Mapping[str, tuple[int, ...]], lengths: Mapping[str, int]
) -> None:
    for (name, shape), value in zip(shapes.items(), out):
        got = np.shape(value)
        if got != shape:
            hint = "; the course's vectors are columns, reshape(-1, 1)" if got == shape[:1] else ""
            raise _Fail(f"{call}: {name} has shape {got}, expected {shape}{hint}.")
    for i, (name, n) in enumerate(lengths.items(), start=len(shapes)):
        if len(out[i]) != n:
            raise _Fail(
                f"{call}: {name} has {len(out[i])} entries, expected {n}"
                + (" (one per step it % test_freq == 0, after that step's update)" if name == "test_acc" else "")
                + "."
            )
    for name, value in zip([*shapes, *lengths], out):
        if not np.isfinite(np.asarray(value, dtype=float)).all():
            why = " (the loss does not go down: it diverges; check the sign of the update, W -= lr * d_W)"
            raise _Fail(f"{call}: {name} holds NaN or inf{why if name == 'loss' else ''}.")


def _check_learning(
    call: str, loss: Any, test_acc: Any, final: Callable[[Array], Array], data: tuple[Array, ...]
) -> None:
    X_tr, Y_tr, X_te, Y_te = data
    loss = np.asarray(loss, dtype=float)
    if not loss[-50:].mean() < 0.5 * loss[:50].mean():
        raise _Fail(
            f"{call}: the loss does not go down on separable data (mean of the first 50 steps "
            f"{loss[:50].mean():.3g}, of the last 50 {loss[-50:].mean():.3g}); check the sign of the update "
            f"(W -= lr * d_W) and that the updated weights are used in the next step."
        )
    want = _accuracy(final(X_te.T), Y_te)
    if not math.isclose(float(test_acc[-1]), want, abs_tol=1e-12):
        on_train = _accuracy(final(X_tr[: len(X_te)].T), Y_tr[: len(X_te)])
        hint = (
            "\n  hint: test accuracy computed on the training set (X_train/Y_train inside the test loop)"
            if math.isclose(float(test_acc[-1]), on_train, abs_tol=1e-12)
            else ""
        )
        raise _Fail(
            f"{call}: the last test accuracy is {float(test_acc[-1]):.4g}, but the returned weights classify "
            f"X_test, Y_test with accuracy {want:.4g} (n_it={N_IT}, test_freq={TEST_FREQ}: the last step "
            f"records one, after its update){hint}"
        )


def _check_reproducible(fn: Any, call: str, first: tuple[Any, ...], args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    again = _call(fn, call, _named(args), **kw)
    if not all(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float)) for a, b in zip(first, again)):
        raise _Fail(
            f"{call}: two runs with the same random_seed differ; seed the draws with random_seed "
            f"(np.random.seed(random_seed) or a np.random.RandomState(random_seed)) before drawing."
        )


def _check_train_one_layer(fn: Any, act: str) -> None:
    data = _training_data()
    kw = {"n_it": N_IT, "test_freq": TEST_FREQ, "random_seed": 3}
    call = f"train_one_layer(X_train, Y_train, X_test, Y_test, lr=0.05, n_it={N_IT}, test_freq={TEST_FREQ})"
    args = (*data, 0.05)
    out = _tuple_of(_call(fn, call, _named(args), **kw), 7, call, "W, b, loss, acc, test_acc, grads, approx_grads")
    shapes = {"W": (2, 3), "b": (3, 1)}
    _check_run(call, out[:2] + out[2:5], shapes, {"loss": N_IT, "acc": N_IT, "test_acc": 21})
    for name, v in (("grads", out[5]), ("approx_grads", out[6])):
        if np.shape(v) != (2, 3, N_IT):
            raise _Fail(f"{call}: {name} has shape {np.shape(v)}, expected (2, 3, {N_IT}) (np.stack(..., -1)).")
    W, b = np.asarray(out[0], float), np.asarray(out[1], float)
    _check_learning(call, out[2], out[4], lambda X: course.forward_one_layer(W, b, X), data)
    _check_gradient_timing(fn)
    _check_reproducible(fn, call, out, args, kw)


def _check_gradient_timing(fn: Any) -> None:
    """One training point repeated: every step sees the same (x, y), so the gradient of step t+1 is the
    gradient at the weights after step t's update, whichever indices were drawn."""
    x = np.array([1.5, -1.0])
    X, Y = np.tile(x, (4, 1)), np.tile(np.eye(3)[[1]], (4, 1))
    call = "train_one_layer on one repeated point (lr=0.3, n_it=8)"
    out = _tuple_of(_call(fn, call, {"X": X, "Y": Y, "Xt": X, "Yt": Y, "lr": 0.3}, n_it=8, test_freq=1), 7, call, "...")
    grads, approx = np.asarray(out[5], float), np.asarray(out[6], float)
    err = [np.linalg.norm(approx[..., t] - grads[..., t]) / np.linalg.norm(grads[..., t]) for t in range(7)]
    if max(err) > 1e-3:
        t = int(np.argmax(err))
        after = np.linalg.norm(approx[..., t] - grads[..., t + 1]) / np.linalg.norm(grads[..., t + 1])
        hint = (
            "\n  hint: the numerical gradient is taken after the update (at the next step's weights); "
            "compute approx_grad_W(W, b, x, y) before W -= lr * d_W"
            if after < 1e-3
            else ""
        )
        raise _Fail(
            f"{call}: at step {t} approx_grads and grads differ by {err[t]:.2g} (relative); both must be "
            f"taken at the same weights{hint}"
        )
    d_b = np.einsum("ict,i->ct", grads, x) / (x @ x)  # d_W = x (p - y)^T, so p - y = d_W^T x / |x|^2
    loss = -np.log(d_b[1] + 1.0)
    if not np.allclose(np.asarray(out[2], float)[:8], loss, rtol=1e-6, atol=1e-9):
        raise _Fail(
            f"{call}: loss[t] is not -log(p_label) at the weights of grads[..., t]: expected "
            f"{_fmt(loss[:4])}, got {_fmt(np.asarray(out[2], float)[:4])}; record the loss of the forward pass "
            f"that the gradient came from."
        )


def _check_train_two_layer(fn: Any, act: str) -> None:
    data = _training_data()
    kw = {"n_it": N_IT, "test_freq": TEST_FREQ, "random_seed": 3}
    call = f"train_two_layer(X_train, Y_train, X_test, Y_test, lr=0.05, n_hidden=8, n_it={N_IT}, test_freq={TEST_FREQ})"
    args = (*data, 0.05, 8)
    out = _tuple_of(_call(fn, call, _named(args), **kw), 7, call, "Wo, bo, Wh, bh, loss, acc, test_acc")
    shapes = {"Wo": (8, 3), "bo": (3, 1), "Wh": (2, 8), "bh": (8, 1)}
    _check_run(call, out, shapes, {"loss": N_IT, "acc": N_IT, "test_acc": 21})
    Wo, bo, Wh, bh = (np.asarray(v, float) for v in out[:4])
    _check_learning(call, out[4], out[6], lambda X: course.forward_two_layers(Wo, bo, Wh, bh, X, act)[0], data)
    _check_reproducible(fn, call, out, args, kw)


CHECKS: dict[str, Callable[[Any, str], None]] = {
    "softmax": _check_softmax,
    "forward_one_layer": _check_forward_one_layer,
    "compute_grads_one_layer": _check_compute_grads_one_layer,
    "compute_loss": _check_compute_loss,
    "approx_grad_W": _check_approx_grad_W,
    "train_one_layer": _check_train_one_layer,
    "relu": _check_relu,
    "d_relu": _check_d_relu,
    "forward_two_layers": _check_forward_two_layers,
    "compute_grads_two_layers": _check_compute_grads_two_layers,
    "train_two_layer": _check_train_two_layer,
    "tanh": _check_tanh,
    "d_tanh_hidden": _check_d_tanh_hidden,
}


def _namespace(solution: Any) -> Mapping[str, Any]:
    if isinstance(solution, types.ModuleType):
        return vars(solution)
    if isinstance(solution, Mapping):
        return solution
    raise TypeError(
        f"check expects a module, a dict or a notebook's globals() holding the course functions, got "
        f"{type(solution).__name__}; e.g. check(globals()) in a notebook."
    )


def check(solution: Any, activation: str = "relu", only: str | Iterable[str] | None = None) -> CheckReport:
    """Check every course function found in ``solution`` (module, dict or ``globals()``).

    ``activation="tanh"`` checks the two-layer functions as the tanh versions; ``only`` restricts the
    check to some names (a notebook's check cell checks its own task). Returns a :class:`CheckReport`
    (``.passed``, ``.results[name].passed/.message``, printed as a table).
    """
    act = _activation(activation)
    ns = _namespace(solution)
    names = list(EXERCISES) if only is None else [only] if isinstance(only, str) else list(only)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown exercise name(s) {unknown}; the exercises are {list(EXERCISES)}.")
    refs = references(act)
    report = CheckReport(act)
    for name in names:
        fn = ns.get(name)
        if fn is None or not callable(fn):
            report.results[name] = ExerciseResult(name, "missing", f"missing: no function {name} was found")
            continue
        try:
            CHECKS[name](_alone(fn, name, refs), act)
        except _Fail as exc:
            report.results[name] = ExerciseResult(name, "failed", str(exc))
        else:
            report.results[name] = ExerciseResult(name, "passed", "passed")
    return report


# -- the planted-bug demonstration (for the report) -------------------------------------------------
CORRECT_LINE = "d_bh = (Wo @ (softmaxed - y)) * (1 - hidden**2)"
BUGGY_LINE = "d_bh = (Wo @ (softmaxed - y)) * (1 - np.tanh(hidden)**2)   # tanh' applied to the output twice"


@dataclass
class PlantedBugDemo:
    """The gradient check of the course's tanh network, correct and with tanh' taken of the output.

    ``correct``/``buggy``: :class:`GradCheckResult` of ``gradcheck(fn, params)`` at the same point;
    ``correct_curve``/``buggy_curve``: :class:`ErrorVsH` of both (the bug flattens the V);
    ``correct_line``/``buggy_line``: the one line of code that differs.
    """

    correct: GradCheckResult
    buggy: GradCheckResult
    correct_curve: ErrorVsH
    buggy_curve: ErrorVsH
    correct_line: str = CORRECT_LINE
    buggy_line: str = BUGGY_LINE


def tanh_two_layer_loss(params: Mapping[str, Array], x: Array, y: Array, buggy: bool = False) -> tuple[float, Any]:
    """The course's tanh network on one sample, written with its column-vector functions:
    ``(loss, {"Wo", "bo", "Wh", "bh"} gradients)``; ``buggy`` plants tanh' applied to the output twice."""
    Wo, bo, Wh, bh = (params[k] for k in ("Wo", "bo", "Wh", "bh"))
    s, hidden, _ = course.forward_two_layers(Wo, bo, Wh, bh, x, "tanh")
    df = 1 - np.tanh(hidden) ** 2 if buggy else 1 - hidden**2
    d_Wo, d_bo, d_Wh, d_bh = _two_grads(hidden, s, Wo, x, y, df)
    return course.compute_loss(s, y), {"Wo": d_Wo, "bo": d_bo, "Wh": d_Wh, "bh": d_bh}


def planted_bug_demo(seed: int = 0, sizes: tuple[int, int, int] = (2, 5, 3)) -> PlantedBugDemo:
    """Check the correct and the planted-bug tanh gradients at one random point (same draws for both).

    For the report: ``demo = planted_bug_demo()``; ``str(demo.correct)``, ``str(demo.buggy)`` are the
    two tables, ``perceptrons.plotting.plot_error_vs_h([demo.correct_curve, demo.buggy_curve],
    labels=["correct", "tanh' twice"])`` the figure. Takes well under a second.
    """
    D, H, C = sizes
    rng = np.random.default_rng(seed)
    params = {"Wo": rng.normal(size=(H, C)), "bo": rng.normal(size=(C, 1)),
              "Wh": rng.normal(size=(D, H)), "bh": rng.normal(size=(H, 1))}  # fmt: skip
    x, y = rng.normal(size=(D, 1)), _label(rng, C)

    def correct(p: Mapping[str, Array]) -> tuple[float, Any]:
        return tanh_two_layer_loss(p, x, y)

    def buggy(p: Mapping[str, Array]) -> tuple[float, Any]:
        return tanh_two_layer_loss(p, x, y, buggy=True)

    hs = np.logspace(-13, -1, 25)
    return PlantedBugDemo(
        gradcheck(correct, params),
        gradcheck(buggy, params),
        error_vs_h(correct, params, hs=hs),
        error_vs_h(buggy, params, hs=hs),
    )
