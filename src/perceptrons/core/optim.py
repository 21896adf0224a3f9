"""Optimisers, written as their formulas. One contract for all of them:

    opt.step(params, grads)   # updates every array of ``params`` in place, from ``grads``

``params`` and ``grads`` are mappings with the same keys (the trainer passes one key, the flat
parameter vector, so each step is one update of every layer). The optimiser keeps its state
(velocities, moments) keyed the same way and allocates it on the first step.

- SGD:       theta <- theta - lr g
- momentum:  v <- mu v - lr g;   theta <- theta + v
- Nesterov:  v <- mu v - lr g;   theta <- theta + mu v - lr g      (the form scikit-learn uses)
- Adam:      m <- b1 m + (1 - b1) g;   s <- b2 s + (1 - b2) g^2;
             theta <- theta - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(s) + eps)
             (Kingma & Ba 2015, bias corrections folded into the step size, as scikit-learn)

NumPy arrays are updated in place: each ``y <- y + a x`` of up to :data:`AXPY_MAX` numbers is one BLAS
``axpy`` (:func:`axpy`: one pass, no temporary; for the course's 2-16-2 network 0.2 us against 0.8 us for
``theta -= lr * g``), larger ones NumPy's in-place operators; the rest through ``out=`` into a scratch array; arrays of other Array API libraries
(PyTorch, CuPy, ...) with the standard's in-place operators (``theta -= ...``), on their device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import array_api_compat as aac
import numpy as np
from numpy.typing import NDArray
from scipy.linalg.blas import get_blas_funcs

from .devices import namespace_of
from .validation import check_positive

Array = NDArray[Any]


def _check_fraction(name: str, value: float, allow_one: bool = False) -> float:
    check_positive(name, value, allow_zero=True)
    if value > 1 or (value == 1 and not allow_one):
        raise ValueError(f"{name} must be in [0, {'1]' if allow_one else '1)'}, got {value}.")
    return float(value)


#: the largest ``axpy`` given to BLAS. SciPy's BLAS is its own OpenBLAS, beside NumPy's: up to 10,000
#: numbers its axpy runs on the calling thread; above, it wakes its own thread pool, whose threads then
#: spin on the cores NumPy's matrix products use. Measured here (2 cores, float32): a 512 x 785 x 512
#: product 1.65 ms alone or beside axpy calls of 10,000 numbers, 8-12.6 ms beside calls of 10,001 to
#: 670,000 (the optimiser of a 784-512-512-10 network made its training 3x slower). Above the limit
#: NumPy's operators are one temporary and two passes, a cost that large networks do not notice.
AXPY_MAX = 10_000


def axpy(a: float, x: Array, y: Array) -> None:
    """``y <- y + a x`` in place (NumPy arrays of one dtype): BLAS ``axpy`` where ``y`` and ``x`` are
    contiguous float32/float64 arrays of at most :data:`AXPY_MAX` numbers, NumPy's in-place operators
    otherwise. Which one runs depends on the size alone, so equal calls round alike."""
    blas_axpy = _AXPY.get(y.dtype) if y.size <= AXPY_MAX else None
    if blas_axpy is not None and x.dtype == y.dtype and y.flags.c_contiguous and x.flags.c_contiguous:
        if y.ndim != 1:
            x, y = x.reshape(-1), y.reshape(-1)  # contiguous: views
        blas_axpy(x, y, a=a)
    else:
        y += a * x


_AXPY = {np.dtype(t): get_blas_funcs("axpy", dtype=np.dtype(t)) for t in ("float32", "float64")}


class _State:
    """Per-key arrays an optimiser keeps (velocities, moments) and one scratch array per key, made on
    the first step: each update is then a few in-place NumPy calls, with no new array per step (a
    fresh array of a large network's size costs more than the update itself)."""

    def __init__(self) -> None:
        self.arrays: dict[str, dict[str, Array]] = {}

    def get(self, key: str, like: Array, names: tuple[str, ...]) -> dict[str, Array]:
        arrays = self.arrays.get(key)
        if arrays is None or arrays["scratch"].shape != like.shape or arrays["scratch"].dtype != like.dtype:
            zeros_like = np.zeros_like if isinstance(like, np.ndarray) else namespace_of(like).zeros_like
            arrays = self.arrays[key] = {name: zeros_like(like) for name in (*names, "scratch")}
        return arrays


def sgd_update(theta: Array, g: Array, v: Array | None, lr: float, mu: float, nesterov: bool) -> None:
    """One SGD update of NumPy arrays in place (``v``: the velocity, None without momentum)."""
    if v is None or mu == 0.0:
        axpy(-lr, g, theta)  # theta <- theta - lr g
        return
    v *= mu
    axpy(-lr, g, v)  # v <- mu v - lr g
    if nesterov:
        axpy(-lr, g, theta)
        axpy(mu, v, theta)  # theta <- theta + mu v - lr g
    else:
        theta += v  # theta <- theta + v


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.lr = float(check_positive("learning rate", lr))
        self.momentum = _check_fraction("momentum", momentum, allow_one=True)
        self.nesterov = bool(nesterov)
        self.state = _State()

    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        lr, mu = self.lr, self.momentum
        for k, theta in params.items():
            if not isinstance(theta, np.ndarray):
                self._step_any(k, theta, grads[k])
                continue
            v = self.state.get(k, theta, ("velocity",))["velocity"] if mu else None
            sgd_update(theta, grads[k], v, lr, mu, self.nesterov)

    def _step_any(self, k: str, theta: Array, g: Array) -> None:
        """The same update with the standard's in-place operators (one pass on PyTorch without momentum)."""
        lr, mu = self.lr, self.momentum
        if mu == 0.0:
            if aac.is_torch_array(theta):  # theta - lr g in one pass, no temporary
                theta.sub_(g, alpha=lr)
            else:
                theta -= lr * g
            return
        v = self.state.get(k, theta, ("velocity",))["velocity"]
        v *= mu
        v -= lr * g  # v <- mu v - lr g
        if self.nesterov:
            theta += mu * v - lr * g  # theta <- theta + mu v - lr g
        else:
            theta += v

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov})"


def adam_update(
    theta: Array, g: Array, m: Array, s: Array, tmp: Array, lr_t: Any, b1: float, b2: float, eps: float
) -> None:
    """One Adam update of NumPy arrays in place, through the scratch array ``tmp`` (no new array);
    ``lr_t`` is the bias-corrected step size (a number, or one per row: the stack of ``train_many``)."""
    m *= b1
    axpy(1 - b1, g, m)  # m <- b1 m + (1 - b1) g
    s *= b2
    axpy(1 - b2, np.square(g, out=tmp), s)  # s <- b2 s + (1 - b2) g^2
    np.sqrt(s, out=tmp)
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= lr_t  # (lr_t per row in a stack: not an axpy, and the same rounding for one network and a stack)
    theta -= tmp  # theta <- theta - lr_t m / (sqrt(s) + eps)


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction folded into the step size."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.lr = float(check_positive("learning rate", lr))
        self.beta1 = _check_fraction("beta1", beta1)
        self.beta2 = _check_fraction("beta2", beta2)
        self.eps = float(check_positive("eps", eps))
        self.t = 0
        self.state = _State()

    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for k, theta in params.items():
            g = grads[k]
            st = self.state.get(k, theta, ("m", "s"))
            if not isinstance(theta, np.ndarray):  # the same formulas with the standard's in-place operators
                m, s = st["m"], st["s"]
                m *= b1
                m += (1 - b1) * g
                s *= b2
                s += (1 - b2) * (g * g)
                theta -= lr_t * (m / (namespace_of(s).sqrt(s) + self.eps))
                continue
            adam_update(theta, g, st["m"], st["s"], st["scratch"], lr_t, b1, b2, self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
