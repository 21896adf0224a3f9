"""The multi-layer perceptron: its parameters, its forward pass and the plain backward pass.

This file is the reference: it reads like the course's equations, and everything else (the fused
engine of :mod:`perceptrons.core.fused`, the gradient checker, the tests) is measured against it.

Conventions, stated once:

- Rows are samples. ``X`` is (N, D); layer ``i`` has ``W_i`` (fan_in, fan_out) and ``b_i``
  (fan_out,); the logits ``z`` are (N, K). The course's column vectors are the case N = 1.
- Forward::

      h_0 = X
      h_{i+1} = f(h_i W_i + b_i)            hidden layers, f from perceptrons.core.activations
      z = h_L W_L + b_L                     the last layer is linear; the head reads z

- Loss: the head's weighted mean loss (see :mod:`perceptrons.core.heads`) plus penalties on the
  weights, never on the biases::

      L = loss_head(z, y) + (alpha / 2) sum_i ||W_i||_F^2 + l1 sum_i |W_i|

  ``alpha`` is *not* divided by N (scikit-learn's ``alpha`` is: its ``alpha`` is ours times the
  sum of the batch's sample weights; the estimators convert).
- Backward, from ``dz = dL/dz`` given by the head, for each layer from the last::

      dW_i = h_i^T dz_i + alpha W_i + l1 sign(W_i)
      db_i = sum_n dz_i
      dz_{i-1} = (dz_i W_i^T) * f'(h_i)     f' read from the layer's output h_i
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import io as model_files  # the file format: it imports nothing from the package
from . import memory
from .activations import ACTIVATIONS
from .devices import (
    NUMPY,
    check_sample_weight_in,
    check_targets_in,
    check_X_in,
    device_of,
    is_numpy,
    namespace,
    namespace_of,
    to_namespace,
    to_numpy,
)
from .heads import HEADS, log_softmax, loss_and_dz
from .threads import blas_threads_for
from .validation import (
    as_generator,
    check_choice,
    check_positive,
    check_sample_weight,
    check_targets,
    check_X,
)

Array = NDArray[Any]
Params = Mapping[str, Array]
INITS = ("auto", "normal", "he", "glorot")


def forward(params: Params, X: Any, activation: str) -> Array:
    """Logits ``z`` (N, K) of the network ``params`` on ``X`` (N, D) (dense or sparse); nothing else is kept.

    Computed as units x samples, ``z^T = W^T h^T + b``, as the fused engine does: each layer's
    element-wise work and the head's reductions over the K outputs then run along contiguous rows.
    The result is the transposed view of that (K, N) array. Parameters of another Array API
    library (PyTorch, CuPy, ...) take the plain form ``h = f(h W + b)`` in their own namespace.
    """
    act = ACTIVATIONS[activation]
    n_layers = len(params) // 2
    if type(params["W0"]) is not np.ndarray:
        h = X
        for i in range(n_layers):
            z = h @ params[f"W{i}"] + params[f"b{i}"]
            h = act.f(z) if i < n_layers - 1 else z
        return h  # type: ignore[no-any-return]
    hT = None
    for i in range(n_layers):
        W, b = params[f"W{i}"], params[f"b{i}"]
        zT: Array = np.asarray(X @ W).T if i == 0 else W.T @ hT  # (fan_out, N)
        zT += b[:, None]
        if i < n_layers - 1:
            act.forward_into(zT, zT, 0.0)  # in place: a new array per layer costs more than the layer
        hT = zT
    return hT.T  # type: ignore[union-attr]


#: a prediction runs :func:`forward` on blocks of rows whose widest layer holds about this many bytes:
#: each block's activations stay in the processor's cache instead of making and faulting in a fresh
#: (N, width) array per layer (measured here, 50,000 rows through 2-64-64-2 in float64: 42 ms in one
#: pass against 10 ms in blocks of 8,192 rows; `benchmarks/run.py --only W5a`).
BLOCK_BYTES = 4 << 20


def forward_in_blocks(params: Params, X: Any, activation: str) -> Array:
    """:func:`forward` of NumPy parameters, a block of rows at a time (rows are independent: the same
    logits, with a working set bounded by :data:`BLOCK_BYTES` instead of growing with N)."""
    n_layers = len(params) // 2
    widest = max(params[f"b{i}"].shape[0] for i in range(n_layers))
    rows = max(1024, BLOCK_BYTES // (widest * params["W0"].dtype.itemsize))
    n = X.shape[0]
    if n <= rows:
        return forward(params, X, activation)
    first = forward(params, X[:rows], activation)
    outT = np.empty((first.shape[1], n), dtype=first.dtype)  # (K, N), as forward's: the heads' reductions
    outT[:, :rows] = first.T  # over K then run along contiguous rows (a (N, K) array made them 3x slower)
    for lo in range(rows, n, rows):
        outT[:, lo : lo + rows] = forward(params, X[lo : lo + rows], activation).T
    return outT.T


def penalty_terms(W: Array, alpha: float, l1: float) -> Array:
    """The penalty of each weight: ``(alpha / 2) w^2 + l1 |w|`` (a term whose strength is 0 is not computed)."""
    if not l1:
        return 0.5 * alpha * W * W  # type: ignore[no-any-return]
    return 0.5 * alpha * W * W + l1 * namespace_of(W).abs(W)  # type: ignore[no-any-return]


def penalty_grad(W: Array, alpha: float, l1: float) -> Array:
    """Its derivative: ``alpha w + l1 sign(w)`` (sign(0) = 0; a term whose strength is 0 is not computed)."""
    if not l1:
        return alpha * W  # type: ignore[no-any-return]
    return alpha * W + l1 * namespace_of(W).sign(W)  # type: ignore[no-any-return]


def penalty(weights: Sequence[Array], alpha: float, l1: float) -> float:
    """``(alpha / 2) sum ||W||^2 + l1 sum |W|`` over the weight matrices (0 without penalties)."""
    if not (alpha or l1):
        return 0.0
    return sum(float(namespace_of(W).sum(penalty_terms(W, alpha, l1))) for W in weights)


def loss_and_grads(
    params: Params,
    X: Any,
    y: Array,
    activation: str = "relu",
    output: str = "softmax",
    alpha: float = 0.0,
    l1: float = 0.0,
    sample_weight: Array | None = None,
) -> tuple[float, dict[str, Array]]:
    """The loss of ``params`` on (X, y) and its gradient, by backpropagation.

    Parameters
    ----------
    params : mapping ``W0, b0, W1, ...``; ``W_i`` (fan_in, fan_out), ``b_i`` (fan_out,)
    X : ndarray (N, D) or scipy.sparse matrix (N, D) (used only in products: never densified), or an
        array of the parameters' Array API namespace (PyTorch, CuPy, ...): everything is computed there
    y : targets in the head's encoding: int labels (N,) for softmax, (N, K) floats otherwise
    activation : a key of ``ACTIVATIONS`` (hidden layers); output : a key of ``HEADS``
    alpha, l1 : penalty strengths (see the module docstring)
    sample_weight : (N,) non-negative weights of the mean, or None

    Returns
    -------
    loss : float
    grads : dict with the keys and shapes of ``params``
    """
    act = ACTIVATIONS[activation]
    n_layers = len(params) // 2
    W = [params[f"W{i}"] for i in range(n_layers)]
    b = [params[f"b{i}"] for i in range(n_layers)]

    xp = namespace_of(W[0])

    hs = [X]  # h_0 .. h_L, kept for the backward pass
    for i in range(n_layers - 1):
        hs.append(act.f(hs[i] @ W[i] + b[i]))  # h_{i+1} = f(h_i W_i + b_i)
    z = hs[-1] @ W[-1] + b[-1]  # logits (N, K)

    loss, dz = loss_and_dz(HEADS[output], z, y, sample_weight)  # dz = dL/dz (N, K)
    loss += penalty(W, alpha, l1)

    grads: dict[str, Array] = {}
    for i in range(n_layers - 1, -1, -1):
        grads[f"W{i}"] = hs[i].T @ dz + penalty_grad(W[i], alpha, l1)  # (fan_in, fan_out)
        grads[f"b{i}"] = xp.sum(dz, axis=0)  # (fan_out,)
        if i:
            dz = (dz @ W[i].T) * act.df(hs[i])  # dz_{i-1} (N, fan_in)
    return loss, {k: grads[k] for k in params}


def check_sizes(sizes: Any, min_outputs: int = 1) -> list[int]:
    """``[n_inputs, hidden..., n_outputs]`` as a list of positive ints, or a helpful error."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a list of ints like [2, 16, 3] (inputs, hidden..., outputs), got {sizes!r}.")
    out = []
    for s in sizes:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"sizes must hold ints, got {s!r} in {list(sizes)!r}.")
        if s < 1:
            raise ValueError(
                f"every layer size must be >= 1, got {int(s)} in {[int(v) for v in sizes]}; "
                f"a layer needs at least one unit."
            )
        out.append(int(s))
    if len(out) < 2:
        raise ValueError(f"sizes needs at least [n_inputs, n_outputs], got {out}.")
    if out[-1] < min_outputs:
        raise ValueError(
            f"the last size is the number of outputs; a softmax output needs >= {min_outputs} (one per class), "
            f"got {out[-1]}. For a binary problem with one output unit use output='logistic'."
        )
    return out


def param_shapes(sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of the parameters, in the order of the flat vector: W0, b0, W1, b1, ..."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes[f"W{i}"] = (fan_in, fan_out)
        shapes[f"b{i}"] = (fan_out,)
    return shapes


class ParamViews(MutableMapping[str, Array]):
    """``{"W0": ..., "b0": ...}`` as views into one flat vector (of any Array API namespace). Assigning an
    entry copies the new values into the vector (so the network, its optimiser and its views stay one)."""

    def __init__(self, flat: Array, shapes: dict[str, tuple[int, ...]]) -> None:
        self._views: dict[str, Array] = {}
        xp = namespace_of(flat)
        offset = 0
        for k, shape in shapes.items():
            size = math.prod(shape)
            part = flat[offset : offset + size]
            self._views[k] = part.reshape(shape) if xp is NUMPY else xp.reshape(part, shape)
            offset += size

    def __getitem__(self, key: str) -> Array:
        return self._views[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._views:
            raise KeyError(f"{key!r} is not a parameter of this network; its parameters are {list(self._views)}.")
        view = self._views[key]
        arr = to_numpy(value) if not is_numpy(value) else np.asarray(value)
        if arr.shape != tuple(view.shape):
            raise ValueError(f"params[{key!r}] must have shape {tuple(view.shape)}, got {arr.shape}.")
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"params[{key!r}] must hold real numbers, got dtype {arr.dtype}.")
        dtype = np.dtype(view.dtype) if isinstance(view, np.ndarray) else np.dtype(str(view.dtype).split(".")[-1])
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported just below
            cast = arr.astype(dtype, copy=False)  # no copy when it has the dtype: it is copied into the view
        if not np.isfinite(cast).all():  # checked after the cast: 1e39 is inf in float32
            raise ValueError(f"params[{key!r}] must hold finite numbers (in {dtype}).")
        if isinstance(view, np.ndarray):
            view[...] = cast
        else:  # checked on the host, written once to the view's device
            view[...] = to_namespace(cast, namespace_of(view), device_of(view))

    def __delitem__(self, key: str) -> None:
        raise TypeError("the parameters of a network cannot be deleted; assign new values instead.")

    def __iter__(self) -> Iterator[str]:
        return iter(self._views)

    def __len__(self) -> int:
        return len(self._views)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: array{tuple(v.shape)}" for k, v in self._views.items()) + "}"


class MLP:
    """A multi-layer perceptron.

    Parameters
    ----------
    sizes : list of int, ``[n_inputs, hidden..., n_outputs]``; ``[2, 3]`` is a single-layer
        perceptron, ``[2, 16, 2]`` a two-layer one.
    activation : ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"identity"`` or ``"leaky_relu"``
        (slope 0.01), used by every hidden layer.
    output : the head (:mod:`perceptrons.core.heads`): ``"softmax"`` (classes, the default and the
        course's), ``"logistic"`` (one unit per binary label) or ``"identity"`` (regression).
    init : ``"normal"`` (N(0, 1) weights and biases, the course), ``"he"`` (N(0, 2/fan_in),
        zero biases), ``"glorot"`` (U(+-sqrt(6/(fan_in+fan_out))), zero biases) or ``"auto"``
        (He for ReLU-like activations, Glorot otherwise).
    seed : int, Generator or None; the weights are drawn layer by layer, W before b.
    dtype : float64 (default) or float32; a float32 network computes and trains in float32.

    The parameters live in one contiguous vector, ``flat_params``; ``params`` maps ``W0, b0, ...``
    to views of it. Copies (``copy()``, ``copy.deepcopy``, pickle, joblib) rebuild the views of
    their own vector.

    A network is made with NumPy parameters; ``net.to(torch, device="cuda")`` (or ``cupy``,
    ``array_api_strict``, any Array API library) returns a copy whose vector is an array of that
    library on that device, which then computes, trains and predicts there.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        output: str = "softmax",
        init: str = "auto",
        seed: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        self._allocate(sizes, activation, output, init, dtype)
        rng = as_generator(seed)
        kind = init if init != "auto" else ("he" if activation in ("relu", "leaky_relu") else "glorot")
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            if kind == "normal":
                self._params[f"W{i}"] = rng.standard_normal((fan_in, fan_out))
                self._params[f"b{i}"] = rng.standard_normal(fan_out)
            elif kind == "he":
                self._params[f"W{i}"] = rng.standard_normal((fan_in, fan_out)) * math.sqrt(2.0 / fan_in)
                self._params[f"b{i}"] = np.zeros(fan_out)
            else:
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                self._params[f"W{i}"] = rng.uniform(-bound, bound, (fan_in, fan_out))
                self._params[f"b{i}"] = np.zeros(fan_out)

    def _allocate(self, sizes: Sequence[int], activation: str, output: str, init: str, dtype: Any) -> None:
        """Check the settings and make the (uninitialised) parameter vector and its views."""
        self.output = check_choice("output", output, HEADS)
        self.sizes = check_sizes(sizes, HEADS[output].min_outputs)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.init = check_choice("init", init, INITS)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}.")
        shapes = param_shapes(self.sizes)
        n = memory.n_params(self.sizes)
        memory.check(f"MLP({self.sizes}) with {n:,} parameters", n * self.dtype.itemsize)  # before allocating
        self._theta = np.empty(sum(math.prod(s) for s in shapes.values()), dtype=self.dtype)
        self._params = ParamViews(self._theta, shapes)

    # -- parameters and copies ----------------------------------------------------------------
    @property
    def params(self) -> ParamViews:
        """``{"W0": (fan_in, fan_out), "b0": (fan_out,), ...}``, views into ``flat_params``.
        Assign a dict (or one entry) to replace values; they are copied into the one buffer."""
        return self._params

    @params.setter
    def params(self, new: Mapping[str, Any]) -> None:
        if not isinstance(new, Mapping) or set(new) != set(self._params):
            got = sorted(new) if isinstance(new, Mapping) else type(new).__name__
            raise ValueError(f"params must be a dict with keys {sorted(self._params)}, got {got}.")
        staged = to_numpy(self._theta).copy()  # staged on the host, whatever the network's device
        views = ParamViews(staged, param_shapes(self.sizes))
        for k in self._params:  # every entry checked before any is written: a bad one changes nothing
            views[k] = new[k]
        if isinstance(self._theta, np.ndarray):
            self._theta[...] = staged
        else:
            self._theta[...] = to_namespace(staged, self.xp, self.device)

    @property
    def flat_params(self) -> Array:
        """All parameters as one contiguous vector (W0, b0, W1, ... each row-major)."""
        return self._theta

    @property
    def xp(self) -> Any:
        """The Array API namespace of the parameters (``array_api_compat``'s wrapper of NumPy, PyTorch, ...)."""
        return namespace_of(self._theta)

    @property
    def device(self) -> Any:
        """The device of the parameters (``"cpu"`` for NumPy)."""
        return device_of(self._theta)

    def to(self, xp: Any, device: Any = None) -> MLP:
        """A copy of this network whose parameters are arrays of the library ``xp`` (the module: ``numpy``,
        ``torch``, ``cupy``, ``array_api_strict``, ...) on ``device`` (the library's default if None).

        Always a copy, even to the same library and device: training it leaves this network as it is.
        """
        ns = namespace(xp)
        theta = to_namespace(self._theta, ns, device, copy=True)
        state = {k: copy.deepcopy(v) for k, v in self.__getstate__().items() if k != "_theta"}
        twin = object.__new__(type(self))
        twin.__setstate__({**state, "_theta": theta})
        return twin

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_params"]  # views are rebuilt from the vector, never stored
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._params = ParamViews(self._theta, param_shapes(self.sizes))

    def copy(self) -> MLP:
        """An independent copy (same sizes, activation, head and weights)."""
        return copy.deepcopy(self)

    __copy__ = copy  # copy.copy too: a network whose weights another one shares would train both

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        return math.prod(self._theta.shape)

    def __repr__(self) -> str:
        layers = " -> ".join(str(s) for s in self.sizes)
        return (
            f"MLP({layers}, activation={self.activation!r}, output={self.output!r}, init={self.init!r}, "
            f"params={self.n_params}, dtype={self.dtype.name}{self._where()})"
        )

    def _where(self) -> str:
        if isinstance(self._theta, np.ndarray):
            return ""
        return f", xp={self.xp.__name__.split('.')[-1]}, device={self.device}"

    # -- computation --------------------------------------------------------------------------
    def check_X(self, X: Any, name: str = "X") -> Any:
        """``X`` validated for this network: (N, n_inputs) in its dtype (CSR if sparse), in its namespace
        and on its device (data of another library is moved there once)."""
        if isinstance(self._theta, np.ndarray):
            return check_X(X if is_numpy(X) else to_numpy(X), self.sizes[0], self.dtype, name=name)
        return check_X_in(X, self.sizes[0], self.dtype, self.xp, self.device, name=name)

    def check_targets(self, y: Any, n_samples: int, name: str = "y") -> Array:
        """``y`` in the encoding of this network's head (int labels, or (N, K) in its dtype), in its namespace."""
        if not isinstance(self._theta, np.ndarray):
            return check_targets_in(
                y, n_samples, self.output, self.sizes[-1], self.dtype, self.xp, self.device, name=name
            )
        t = check_targets(y if is_numpy(y) else to_numpy(y), n_samples, self.output, self.sizes[-1], name=name)
        return t if self.output == "softmax" else t.astype(self.dtype)

    def check_sample_weight(self, sample_weight: Any, n_samples: int) -> Array | None:
        """``None`` or the weights (N,) in this network's dtype, namespace and device."""
        if not isinstance(self._theta, np.ndarray):
            return check_sample_weight_in(sample_weight, n_samples, self.dtype, self.xp, self.device)
        w = check_sample_weight(sample_weight if is_numpy(sample_weight) else to_numpy(sample_weight), n_samples)
        return None if w is None else w.astype(self.dtype)

    def _check_Xyw(self, X: Any, y: Any, sample_weight: Any) -> tuple[Any, Array, Array | None]:
        Xc = self.check_X(X)
        return Xc, self.check_targets(y, Xc.shape[0]), self.check_sample_weight(sample_weight, Xc.shape[0])

    def _logits(self, Xc: Any) -> Array:
        if not isinstance(self._theta, np.ndarray):
            return forward(self._params, Xc, self.activation)
        with blas_threads_for(Xc.shape[0], self.sizes, self.dtype):
            return forward_in_blocks(self._params, Xc, self.activation)

    def _like_input(self, out: Array, X: Any) -> Array:
        """``out`` (computed in the network's namespace) in the namespace and on the device of the input ``X``."""
        if is_numpy(X):
            return out if isinstance(out, np.ndarray) else to_numpy(out)
        return to_namespace(out, namespace_of(X), device_of(X))

    def forward(self, X: Any) -> Array:
        """Logits ``z`` of shape (N, K) for ``X`` (N, D), in ``X``'s namespace and on its device."""
        return self._like_input(self._logits(self.check_X(X)), X)

    def predict_proba(self, X: Any) -> Array:
        """Probabilities (N, K): softmax over classes, or one sigmoid per logistic output (``X``'s namespace)."""
        if not HEADS[self.output].is_classifier:
            raise ValueError(f"predict_proba needs a classification head; this network has output={self.output!r}.")
        return self._like_input(HEADS[self.output].output(self._logits(self.check_X(X))), X)

    def predict_log_proba(self, X: Any) -> Array:
        """Log-probabilities (N, K), computed stably (log-sum-exp; ``-log(1 + e^-z)`` for logistic)."""
        if not HEADS[self.output].is_classifier:
            raise ValueError(f"predict_log_proba needs a classification head; this network has output={self.output!r}.")
        z = self._logits(self.check_X(X))
        logp = log_softmax(z) if self.output == "softmax" else -namespace_of(z).logaddexp(0.0, -z)
        return self._like_input(logp, X)

    def predict(self, X: Any) -> Array:
        """The head's prediction: class labels (N,) for softmax; 0/1 per output for logistic; values for
        identity. With one logistic or identity output the result is a vector (N,). In ``X``'s namespace."""
        pred = HEADS[self.output].predict(self._logits(self.check_X(X)))
        return self._like_input(pred[:, 0] if self.output != "softmax" and self.sizes[-1] == 1 else pred, X)

    def loss(self, X: Any, y: Any, alpha: float = 0.0, l1: float = 0.0, sample_weight: Any = None) -> float:
        """The head's loss (+ ``alpha/2 * sum ||W||^2 + l1 * sum |W|``) on (X, y)."""
        return self.loss_and_grads(X, y, alpha, l1, sample_weight)[0]

    def loss_and_grads(
        self, X: Any, y: Any, alpha: float = 0.0, l1: float = 0.0, sample_weight: Any = None
    ) -> tuple[float, dict[str, Array]]:
        """``(loss, grads)``: :meth:`loss` and its gradient, keyed like ``params`` (the reference pass)."""
        Xc, t, w = self._check_Xyw(X, y, sample_weight)
        check_positive("alpha", alpha, allow_zero=True)
        check_positive("l1", l1, allow_zero=True)
        if not isinstance(self._theta, np.ndarray):
            return loss_and_grads(self._params, Xc, t, self.activation, self.output, alpha, l1, w)
        with blas_threads_for(Xc.shape[0], self.sizes, self.dtype):
            return loss_and_grads(self._params, Xc, t, self.activation, self.output, alpha, l1, w)

    def accuracy(self, X: Any, y: Any) -> float:
        """Fraction of samples predicted right (for logistic outputs: every label of the row right)."""
        head = HEADS[self.output]
        if head.correct is None:
            raise ValueError(f"accuracy needs a classification head; this network has output={self.output!r}.")
        Xc = self.check_X(X)
        t = self.check_targets(y, Xc.shape[0])
        right = head.correct(self._logits(Xc), t)
        xp = namespace_of(right)
        return int(xp.sum(xp.astype(right, xp.int64))) / right.shape[0]  # count / N, exactly as a mean of booleans

    # -- files ----------------------------------------------------------------------------------
    def to_file(self) -> tuple[dict[str, Array], dict[str, Any]]:
        """The arrays and JSON metadata of this network's model file (see :mod:`perceptrons.io`)."""
        meta = {
            "kind": "MLP",
            "sizes": self.sizes,
            "activation": self.activation,
            "output": self.output,
            "init": self.init,
            "dtype": self.dtype.name,
        }
        return {k: to_numpy(v) for k, v in self._params.items()}, meta

    @staticmethod
    def file_layout(meta: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """``{name: (shape, dtype)}`` of the arrays a model file with this metadata must hold.

        Read from the metadata alone (``perceptrons.io`` checks the file against it before reading
        any data); raises ValueError/TypeError for malformed metadata.
        """
        if not isinstance(meta, Mapping):
            raise TypeError(f"the network's metadata must be an object, got {type(meta).__name__}")
        dtype = meta.get("dtype", "float64")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {str(dtype)[:40]!r}")
        sizes = check_sizes(meta["sizes"])
        return {k: (shape, np.dtype(dtype)) for k, shape in param_shapes(sizes).items()}

    @classmethod
    def from_file(cls, arrays: Mapping[str, Array], meta: Mapping[str, Any], xp: Any = None, device: Any = None) -> MLP:
        """Rebuild a network from :meth:`to_file`'s arrays and metadata (raises ValueError if inconsistent),
        onto the library ``xp`` and ``device`` if given (see :meth:`to`)."""
        net = cls.__new__(cls)  # no random weights drawn only to be overwritten: a load holds the file's
        net._allocate(  # arrays and the network's vector, never more
            meta["sizes"],
            meta["activation"],
            meta.get("output", "softmax"),
            meta.get("init", "auto"),
            meta.get("dtype", "float64"),
        )
        if set(arrays) != set(net._params):
            raise ValueError(f"the arrays must be {sorted(net._params)}, got {sorted(arrays)[:20]}.")
        for k in net._params:  # each checked (shape, finite after the cast) as it is written
            net._params[k] = arrays[k]
        return net if xp is None else net.to(xp, device)

    @classmethod
    def load(cls, path: Any, xp: Any = None, device: Any = None) -> MLP:
        """Load a network saved with :meth:`save`, onto the library ``xp`` and ``device`` if given."""
        net = model_files.load(path)
        if not isinstance(net, cls):
            raise ValueError(
                f"{path} holds a {type(net).__name__}, not an {cls.__name__}; read it with perceptrons.load."
            )
        return net if xp is None else net.to(xp, device)

    def save(self, path: Any) -> None:
        """Save to ``path`` (``.npz`` with JSON metadata, written atomically); read back with ``perceptrons.load``."""
        model_files.save_arrays(path, *self.to_file())


model_files.READERS["MLP"] = MLP.from_file
model_files.LAYOUTS["MLP"] = MLP.file_layout
