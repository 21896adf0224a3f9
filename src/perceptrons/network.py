"""The multi-layer perceptron: parameters, forward pass, and the whole backward pass.

Conventions (stated once, used everywhere):

- Rows are samples. ``X`` is (N, D); layer ``i`` has ``W{i}`` of shape (fan_in, fan_out) and
  ``b{i}`` of shape (fan_out,); the logits are (N, C). The course's column vectors are N = 1.
- Hidden layers: ``h_{i+1} = f(h_i @ W_i + b_i)``; the last layer is linear and feeds a softmax.
- The loss is the *mean* softmax cross-entropy over the N samples plus an optional L2 term on the
  weights (not the biases)::

      L = -(1/N) sum_n log softmax(z_n)_{y_n}  +  (alpha / 2) sum_i ||W_i||_F^2

  so ``dL/dW_i`` gains ``alpha * W_i``. An optional L1 term ``l1 * sum_i |W_i|`` adds ``l1 * sign(W_i)``. ``alpha`` is *not* divided by N (scikit-learn's ``alpha``
  is; ``PerceptronClassifier`` converts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._validation import as_generator, check_choice, check_labels, check_positive, check_X
from .activations import ACTIVATIONS, DERIVATIVES, LEAKY_SLOPE
from .losses import cross_entropy_and_grad, log_softmax, softmax

Array = NDArray[Any]
Params = dict[str, Array]
INITS = ("auto", "normal", "he", "glorot")


def forward(params: Params, X: Array, activation: str) -> Array:
    """Logits (N, C) of the network ``params`` on ``X`` (N, D); the fast path, no caches kept."""
    n_layers = len(params) // 2
    f = ACTIVATIONS[activation]
    h = X
    for i in range(n_layers):
        z: Array = np.dot(h, params[f"W{i}"])  # (N, H_i); the last layer gives the logits (N, C)
        z += params[f"b{i}"]
        h = f(z) if i < n_layers - 1 else z
    return h


def loss_and_grads(
    params: Params,
    X: Array,
    y: NDArray[np.intp],
    activation: str,
    alpha: float = 0.0,
    out: Params | None = None,
    l1: float = 0.0,
) -> tuple[float, Params, int]:
    """Mean cross-entropy (+ L2) of ``params`` on (X, y) and its gradient, by backpropagation.

    Parameters
    ----------
    params : dict with ``W0, b0, ...``; ``W_i`` (fan_in, fan_out), ``b_i`` (fan_out,)
    X : ndarray of shape (N, D), already validated
    y : ndarray of shape (N,), integer labels in [0, C)
    activation : a key of ``ACTIVATIONS`` for the hidden layers
    alpha : L2 strength, see the module docstring
    l1 : L1 strength: adds ``l1 * sum |W|`` to the loss and ``l1 * sign(W)`` to the gradient
    out : optional dict of preallocated arrays (same keys and shapes) to write the gradients into;
        the training loop passes views of one flat buffer so the optimiser updates it in one call

    Returns
    -------
    loss : float
    grads : dict with the same keys and shapes as ``params`` (``out`` itself when given)
    n_correct : how many samples have their label's logit largest (free by-product, for accuracy)

    Notes
    -----
    With ``dz_L = (softmax(z) - onehot(y)) / N``, for each layer from the last:
    ``dW_i = h_i^T dz_i + alpha W_i``, ``db_i = sum_n dz_i``, ``dz_{i-1} = (dz_i W_i^T) * f'(h_i)``.
    """
    n_layers = len(params) // 2
    f = ACTIVATIONS[activation]
    df = DERIVATIVES[activation]
    if out is None:
        out = {k: np.empty_like(v) for k, v in params.items()}
    hs = [X]
    for i in range(n_layers - 1):
        z = np.dot(hs[-1], params[f"W{i}"])  # (N, H_i)
        z += params[f"b{i}"]
        hs.append(f(z))
    z = np.dot(hs[-1], params[f"W{n_layers - 1}"])  # (N, C)
    z += params[f"b{n_layers - 1}"]
    loss, dz, n_correct = cross_entropy_and_grad(z, y)
    ones: Array | None = None
    for i in range(n_layers - 1, -1, -1):
        W = params[f"W{i}"]
        gW = out[f"W{i}"]
        np.dot(hs[i].T, dz, out=gW)  # (fan_in, fan_out)
        if dz.shape[0] == 1:
            out[f"b{i}"][...] = dz[0]
        else:  # column sums as a vector-matrix product (BLAS)
            if ones is None:
                ones = np.ones(dz.shape[0], dtype=dz.dtype)
            np.dot(ones, dz, out=out[f"b{i}"])  # (fan_out,)
        if alpha:
            gW += alpha * W
        if l1:
            gW += l1 * np.sign(W)
        if i:
            dz = np.dot(dz, W.T)
            dz *= df(hs[i])  # (N, fan_in)
    if alpha:
        loss += 0.5 * alpha * sum(float(np.vdot(params[f"W{i}"], params[f"W{i}"])) for i in range(n_layers))
    if l1:
        loss += l1 * sum(float(np.abs(params[f"W{i}"]).sum()) for i in range(n_layers))
    return loss, out, n_correct


class Backprop:
    """The training loop's fast path of :func:`loss_and_grads`, for one network and its flat buffers.

    - **One product per layer.** The flat parameter vector stores each layer as ``W_i`` (fan_in,
      fan_out) followed by ``b_i`` (fan_out,), which is exactly the augmented matrix ``[W_i; b_i]``
      of shape (fan_in + 1, fan_out). With inputs augmented by ones, ``[h, 1] @ [W; b] = h @ W + b``,
      and the backward product ``[h, 1]^T dz`` writes ``dW`` and ``db`` at once.
    - **Contiguous hidden layers.** Hidden activations are kept transposed, ``[h, 1]^T`` of shape
      (fan_out + 1, N) with a row of ones, so the activation and its derivative run on contiguous
      memory (element-wise NumPy is ~1.5x slower on the strided columns of an (N, fan_out + 1) block).
    - **No allocation per step.** Buffers are made once per batch size and reused; ReLU takes the
      maximum with a zero array (NumPy's array-array maximum is 2-3x faster than array-scalar).
    - One sample (the course's per-sample SGD) reduces its softmax on Python floats.

    The numbers are those of :func:`loss_and_grads` up to the rounding of a reordered sum (tests
    compare the two to 1e-12 in float64). Gradients go into ``grads`` (the flat gradient vector, laid
    out like ``theta``); ``prepare(X)`` makes the augmented copy of the training inputs whose rows
    ``__call__`` takes.
    """

    def __init__(
        self, sizes: Sequence[int], activation: str, theta: Array, grads: Array, alpha: float = 0.0, l1: float = 0.0
    ) -> None:
        self.sizes = list(sizes)
        self.activation = activation
        self.dtype = theta.dtype
        self.alpha, self.l1 = float(alpha), float(l1)
        self.WaT: list[Array] = []  # [W_i; b_i]^T, views of theta
        self.W: list[Array] = []  # W_i views
        self.Ga: list[Array] = []  # [dW_i; db_i], views of the gradient
        off = 0
        for a, b in zip(self.sizes[:-1], self.sizes[1:]):
            n = (a + 1) * b
            Wa = theta[off : off + n].reshape(a + 1, b)
            self.WaT.append(Wa.T)
            self.W.append(Wa[:a])
            self.Ga.append(grads[off : off + n].reshape(a + 1, b))
            off += n
        if off != theta.size or grads.shape != theta.shape:
            raise ValueError(f"the flat buffers hold {theta.size} and {grads.size} numbers, the sizes need {off}.")
        self._f = _ACTIVATIONS_INTO[activation]
        self._df = _DERIVATIVE_TIMES[activation]
        self._bufs: dict[int, _Buffers] = {}

    def prepare(self, X: Array) -> Array:
        """``[X, 1]``: the inputs with a column of ones, in the network's dtype."""
        Xa = np.empty((X.shape[0], X.shape[1] + 1), dtype=self.dtype)
        Xa[:, :-1] = X
        Xa[:, -1] = 1.0
        return Xa

    def _buffers(self, n: int) -> _Buffers:
        b = self._bufs.get(n)
        if b is None:
            b = self._bufs[n] = _Buffers(self.sizes, n, self.dtype)
        return b

    def _forward(self, xa: Array, b: _Buffers) -> Array:
        """Logits^T (C, N) of the rows ``xa``, every layer's [h, 1]^T kept in ``b``."""
        WaT, hT, zT, f = self.WaT, b.hT, b.zT, self._f
        inp = xa.T  # [x, 1]^T, (D + 1, N)
        for i in range(len(WaT) - 1):  # z^T = [W; b]^T [h, 1]^T
            np.dot(WaT[i], inp, out=zT[i])
            inp = hT[i]
            f(zT[i], inp[:-1], b.zero[i])
        np.dot(WaT[-1], inp, out=b.z)
        return b.z

    def count_correct(self, xa: Array, y: NDArray[np.intp]) -> int:
        """How many rows of ``xa`` (from ``prepare``) the network classifies as ``y``: the forward pass
        of ``__call__`` (buffers kept per size, so evaluating a fixed test set allocates nothing)."""
        return _count_correct(self._forward(xa, self._buffers(xa.shape[0])), y)

    def __call__(self, xa: Array, y: NDArray[np.intp]) -> tuple[float, int]:
        """Loss and number of correct rows of the batch ``xa`` (rows of ``prepare``'s output), labels ``y``;
        the gradient is written into ``grads``."""
        n = xa.shape[0]
        b = self._buffers(n)
        z = self._forward(xa, b)  # logits^T (C, N)
        W, Ga, df, hT, dT, mask, zero = self.W, self.Ga, self._df, b.hT, b.dT, b.mask, b.zero
        L = len(W)
        g = b.dz  # dL/dz^T of the current layer
        if n == 1:
            loss, n_correct = _one_sample_ce(z, int(y[0]), g)
        else:
            loss, n_correct = _batch_ce(z, y, g, b)
        for i in range(L - 1, -1, -1):
            h = hT[i - 1] if i else xa.T
            np.dot(h, g.T, out=Ga[i])  # [dW_i; db_i] = [h, 1]^T dz in one product
            if i:
                d = dT[i - 1]
                np.dot(W[i], g, out=d)  # (dz W^T)^T
                df(d, h[:-1], mask[i - 1], zero[i - 1])
                g = d
        if self.alpha or self.l1:
            for Wi, G in zip(W, Ga):
                gW = G[: Wi.shape[0]]
                if self.alpha:
                    gW += self.alpha * Wi
                    loss += 0.5 * self.alpha * float(np.vdot(Wi, Wi))
                if self.l1:
                    gW += self.l1 * np.sign(Wi)
                    loss += self.l1 * float(np.abs(Wi).sum())
        return loss, n_correct


class _Buffers:
    """Preallocated arrays of :class:`Backprop` for one batch size ``n``; everything is transposed
    (units x samples), so row-wise reductions of the softmax run along contiguous rows too."""

    def __init__(self, sizes: list[int], n: int, dt: Any) -> None:
        hidden = sizes[1:-1]
        c = sizes[-1]
        self.hT = [np.empty((h + 1, n), dtype=dt) for h in hidden]  # [h_i, 1]^T
        for h in self.hT:
            h[-1] = 1.0
        self.zT = [np.empty((h, n), dtype=dt) for h in hidden]  # pre-activations^T
        self.dT = [np.empty((h, n), dtype=dt) for h in hidden]  # dL/dz^T
        self.mask = [np.empty((h, n), dtype=bool) for h in hidden]
        self.zero = [np.zeros((h, n), dtype=dt) for h in hidden]
        self.z = np.empty((c, n), dtype=dt)  # logits^T
        self.dz = np.empty((c, n), dtype=dt)
        self.onehot = np.empty((c, n), dtype=dt)
        self.classes = np.arange(c)[:, None]
        self.m = np.empty(n, dtype=dt)
        self.s = np.empty(n, dtype=dt)
        self.ls = np.empty(n, dtype=dt)
        self.ones_c = np.ones(c, dtype=dt)
        self.ones_n = np.ones(n, dtype=dt)
        self.inv_n = np.array(1.0 / n, dtype=dt)


def _one_sample_ce(z: Array, label: int, dz: Array) -> tuple[float, int]:
    """Cross-entropy of one column of logits (C, 1) on Python floats; ``dz`` gets softmax - onehot."""
    row = z.ravel().tolist()
    m = max(row)
    e = [math.exp(v - m) for v in row]
    s = math.fsum(e)
    p = [v / s for v in e]
    p[label] -= 1.0
    dz[:, 0] = p
    return math.log(s) - (row[label] - m), int(row.index(m) == label)


def _count_correct(z: Array, y: NDArray[np.intp]) -> int:
    """Columns of logits ``z`` (C, N) whose largest entry (the first of ties) is at row ``y``."""
    return int(np.count_nonzero(z.argmax(axis=0) == y))


def _batch_ce(z: Array, y: NDArray[np.intp], dz: Array, b: _Buffers) -> tuple[float, int]:
    """Mean cross-entropy of logits ``z`` (C, N); ``dz`` gets (softmax - onehot)^T / N. The formulas of
    :func:`perceptrons.losses.cross_entropy_and_grad`, transposed, into preallocated buffers, with the
    one-hot matrix made by one comparison (no fancy indexing)."""
    n = z.shape[1]
    m, s, ls, oh = b.m, b.s, b.ls, b.onehot
    np.maximum.reduce(z, axis=0, out=m)
    n_correct = int(np.count_nonzero(z.argmax(axis=0) == y))
    np.subtract(z, m, out=dz)  # z - max
    np.equal(b.classes, y, out=oh)  # one-hot^T (C, N), as 0/1 in the float dtype
    picked = float(np.vdot(dz, oh))  # sum of z_y - max: small numbers, no digits lost
    np.exp(dz, out=dz)
    np.dot(b.ones_c, dz, out=s)  # column sums as a vector-matrix product
    np.log(s, out=ls)
    loss = (float(np.dot(ls, b.ones_n)) - picked) / n  # mean of log s - (z_y - max)
    np.divide(b.inv_n, s, out=s)  # 1 / (N s)
    dz *= s  # softmax / N ...
    oh *= b.inv_n
    dz -= oh  # ... - onehot / N
    return loss, n_correct


def _relu_into(z: Array, out: Array, zero: Array) -> None:
    np.maximum(z, zero, out=out)


def _leaky_relu_into(z: Array, out: Array, zero: Array) -> None:
    np.multiply(z, LEAKY_SLOPE, out=out)
    np.maximum(out, z, out=out)  # max(z, 0.01 z) is z for z > 0 and 0.01 z otherwise


def _sigmoid_into(z: Array, out: Array, zero: Array) -> None:
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5


def _tanh_into(z: Array, out: Array, zero: Array) -> None:
    np.tanh(z, out=out)


def _identity_into(z: Array, out: Array, zero: Array) -> None:
    np.copyto(out, z)


def _relu_times(d: Array, h: Array, mask: Array, zero: Array) -> None:
    np.greater(h, zero, out=mask)  # measured: faster than np.sign(h) (not vectorised for float32 here)
    np.multiply(d, mask, out=d)


def _leaky_relu_times(d: Array, h: Array, mask: Array, zero: Array) -> None:
    d *= np.where(h > 0, 1.0, LEAKY_SLOPE).astype(h.dtype)


def _sigmoid_times(d: Array, h: Array, mask: Array, zero: Array) -> None:
    d *= h * (1.0 - h)


def _tanh_times(d: Array, h: Array, mask: Array, zero: Array) -> None:
    d *= 1.0 - h * h


def _identity_times(d: Array, h: Array, mask: Array, zero: Array) -> None:
    pass


#: h = f(z) written into ``out``, and d *= f'(z) from h = f(z): the activations of ``activations.py``
#: in the form the fast path needs (no new arrays)
_ACTIVATIONS_INTO = {
    "relu": _relu_into,
    "leaky_relu": _leaky_relu_into,
    "sigmoid": _sigmoid_into,
    "tanh": _tanh_into,
    "identity": _identity_into,
}
_DERIVATIVE_TIMES = {
    "relu": _relu_times,
    "leaky_relu": _leaky_relu_times,
    "sigmoid": _sigmoid_times,
    "tanh": _tanh_times,
    "identity": _identity_times,
}


def _check_sizes(sizes: Any) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a list of ints like [2, 16, 3] (inputs, hidden..., classes), got {sizes!r}.")
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
        raise ValueError(f"sizes needs at least [n_inputs, n_classes], got {out}.")
    if out[-1] < 2:
        raise ValueError(f"the last size is the number of classes and must be >= 2, got {out[-1]}.")
    return out


def _views(flat: Array, like: Params) -> Params:
    """Views into ``flat`` with the keys, shapes and order of ``like`` (one contiguous buffer)."""
    out = {}
    offset = 0
    for k, v in like.items():
        out[k] = flat[offset : offset + v.size].reshape(v.shape)
        offset += v.size
    return out


class MLP:
    """A multi-layer perceptron classifier with softmax output.

    Parameters
    ----------
    sizes : list of int, ``[n_inputs, hidden..., n_classes]``; ``[2, 3]`` is a single-layer
        perceptron, ``[2, 16, 2]`` a two-layer one.
    activation : ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"identity"`` or ``"leaky_relu"``
        (slope 0.01), used by every hidden layer.
    init : ``"normal"`` (N(0, 1) weights and biases, the course), ``"he"`` (N(0, 2/fan_in),
        zero biases), ``"glorot"`` (U(+-sqrt(6/(fan_in+fan_out))), zero biases) or ``"auto"``
        (He for ReLU-like activations, Glorot otherwise).
    seed : int, Generator or None; the weights are drawn layer by layer, W before b.
    dtype : float64 (default) or float32.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        init: str = "auto",
        seed: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
    ) -> None:
        self.sizes = _check_sizes(sizes)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.init = check_choice("init", init, INITS)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}.")
        rng = as_generator(seed)
        kind = init if init != "auto" else ("he" if activation in ("relu", "leaky_relu") else "glorot")
        params: Params = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            if kind == "normal":
                W = rng.standard_normal((fan_in, fan_out))
                b = rng.standard_normal(fan_out)
            elif kind == "he":
                W = rng.standard_normal((fan_in, fan_out)) * math.sqrt(2.0 / fan_in)
                b = np.zeros(fan_out)
            else:
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                W = rng.uniform(-bound, bound, (fan_in, fan_out))
                b = np.zeros(fan_out)
            params[f"W{i}"] = W.astype(self.dtype)
            params[f"b{i}"] = b.astype(self.dtype)
        self._theta = np.empty(sum(a.size for a in params.values()), dtype=self.dtype)
        self._params = _views(self._theta, params)
        for k, v in params.items():
            self._params[k][...] = v

    # -- parameters ---------------------------------------------------------------------------
    @property
    def params(self) -> Params:
        """``{"W0": (fan_in, fan_out), "b0": (fan_out,), ...}``; assign a new dict to replace them.

        The arrays are views into one contiguous buffer (``flat_params``), so an optimiser updates
        every parameter with one NumPy call.
        """
        return self._params

    @params.setter
    def params(self, new: Params) -> None:
        expected: dict[str, tuple[int, ...]] = {}
        for i, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            expected[f"W{i}"] = (a, b)
            expected[f"b{i}"] = (b,)
        if not isinstance(new, dict) or set(new) != set(expected):
            got = sorted(new) if isinstance(new, dict) else type(new).__name__
            raise ValueError(f"params must be a dict with keys {sorted(expected)}, got {got}.")
        checked = {}
        for k, shape in expected.items():
            arr = np.asarray(new[k])
            if arr.shape != shape:
                raise ValueError(f"params[{k!r}] must have shape {shape}, got {arr.shape}.")
            if arr.dtype.kind not in "biuf" or not np.isfinite(arr).all():
                raise ValueError(f"params[{k!r}] must hold finite real numbers.")
            checked[k] = arr
        for k, arr in checked.items():  # copy into the one flat buffer; existing views see the change
            self._params[k][...] = arr

    @property
    def flat_params(self) -> Array:
        """All parameters as one contiguous vector (W0, b0, W1, ...; the arrays of ``params`` view it)."""
        return self._theta

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        return sum(a.size for a in self._params.values())

    def __repr__(self) -> str:
        layers = " -> ".join(str(s) for s in self.sizes)
        return (
            f"MLP({layers}, activation={self.activation!r}, init={self.init!r}, "
            f"params={self.n_params}, dtype={self.dtype.name})"
        )

    # -- computation --------------------------------------------------------------------------
    def _check_X(self, X: Any) -> Array:
        return check_X(X, self.sizes[0], self.dtype)

    def forward(self, X: Any) -> Array:
        """Logits of shape (N, C) for ``X`` (N, D)."""
        return forward(self._params, self._check_X(X), self.activation)

    def predict_proba(self, X: Any) -> Array:
        """Softmax probabilities of shape (N, C)."""
        return softmax(self.forward(X))

    def predict_log_proba(self, X: Any) -> Array:
        """Log-probabilities of shape (N, C), computed stably by log-sum-exp."""
        return log_softmax(self.forward(X))

    def predict(self, X: Any) -> NDArray[np.intp]:
        """Most probable class (N,) (argmax of the logits, the same as of the probabilities)."""
        return np.asarray(self.forward(X).argmax(axis=1), dtype=np.intp)

    def _check_Xy(self, X: Any, y: Any) -> tuple[Array, NDArray[np.intp]]:
        Xa = self._check_X(X)
        return Xa, check_labels(y, Xa.shape[0], self.sizes[-1])

    def loss(self, X: Any, y: Any, alpha: float = 0.0, l1: float = 0.0) -> float:
        """Mean cross-entropy (+ ``alpha/2 * sum ||W||^2 + l1 * sum |W|``) on (X, y); y labels or one-hot."""
        return self.loss_and_grads(X, y, alpha, l1)[0]

    def loss_and_grads(self, X: Any, y: Any, alpha: float = 0.0, l1: float = 0.0) -> tuple[float, Params]:
        """``(loss, grads)``: the loss of :meth:`loss` and its gradient, keyed like ``params``."""
        Xa, ya = self._check_Xy(X, y)
        check_positive("alpha", alpha, allow_zero=True)
        check_positive("l1", l1, allow_zero=True)
        loss, grads, _ = loss_and_grads(self._params, Xa, ya, self.activation, alpha, l1=l1)
        return loss, grads

    def accuracy(self, X: Any, y: Any) -> float:
        """Fraction of samples whose predicted class equals the label."""
        Xa, ya = self._check_Xy(X, y)
        return float(np.mean(forward(self._params, Xa, self.activation).argmax(axis=1) == ya))

    def save(self, path: Any) -> None:
        """Save to ``path`` (``.npz`` with JSON metadata, written atomically); read back with ``perceptrons.load``."""
        from .io import save_arrays

        meta = {
            "kind": "MLP",
            "sizes": self.sizes,
            "activation": self.activation,
            "init": self.init,
            "dtype": self.dtype.name,
        }
        save_arrays(path, self._params, meta)

    def copy(self) -> MLP:
        """An independent copy (same sizes, activation and weights)."""
        new = object.__new__(MLP)
        new.__dict__.update(self.__dict__)
        new._theta = self._theta.copy()
        new._params = _views(new._theta, self._params)
        return new
