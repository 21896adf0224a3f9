"""Optimisers. One contract for all of them:

    opt.step(params, grads)   # updates every array of ``params`` in place, from ``grads``

``params`` and ``grads`` are dicts with the same keys; the optimiser keeps its state (velocities,
moments) keyed the same way and allocates it on the first step.

- SGD:       theta <- theta - lr * g
- momentum:  v <- mu v - lr g;  theta <- theta + v
- Nesterov:  v <- mu v - lr g;  theta <- theta + mu v - lr g      (the form scikit-learn uses)
- Adam:      m <- b1 m + (1-b1) g;  s <- b2 s + (1-b2) g^2;
             theta <- theta - lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(s) + eps)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._validation import check_positive

Params = dict[str, NDArray[Any]]


def _const(cache: dict[tuple[float, Any], NDArray[Any]], x: float, dtype: Any) -> NDArray[Any]:
    """``x`` as a 0-d array of ``dtype``, cached: NumPy multiplies by a 0-d array ~1.6x faster than by a
    Python float (no scalar conversion per call), which matters on the few-number steps of small nets."""
    c = cache.get((x, dtype))
    if c is None:
        if len(cache) > 64:  # values change (a learning rate set from a slider): keep the cache small
            cache.clear()
        c = cache[(x, dtype)] = np.array(x, dtype=dtype)
    return c


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.lr = check_positive("learning rate", lr)
        check_positive("momentum", momentum, allow_zero=True)
        if momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self._v: Params = {}
        self._tmp: Params = {}
        self._c: dict[tuple[float, Any], NDArray[Any]] = {}

    def step(self, params: Params, grads: Params) -> None:
        for k, p in params.items():
            g = grads[k]
            t = self._tmp.get(k)
            if t is None or t.shape != p.shape or t.dtype != p.dtype:
                t = self._tmp[k] = np.empty_like(p)
            lr = _const(self._c, self.lr, p.dtype)
            np.multiply(g, lr, out=t)  # lr g, in a preallocated buffer: no temporaries per step
            if self.momentum == 0.0:
                np.subtract(p, t, out=p)
                continue
            mu = _const(self._c, self.momentum, p.dtype)
            v = self._v.get(k)
            if v is None:
                v = self._v[k] = np.zeros_like(p)
            np.multiply(v, mu, out=v)
            np.subtract(v, t, out=v)
            if self.nesterov:  # theta + mu v - lr g
                np.subtract(p, t, out=p)
                np.multiply(v, mu, out=t)
                np.add(p, t, out=p)
            else:
                np.add(p, v, out=p)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov})"


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction folded into the step size."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.lr = check_positive("learning rate", lr)
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            check_positive(name, b, allow_zero=True)
            if b >= 1:
                raise ValueError(f"{name} must be in [0, 1), got {b}.")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), check_positive("eps", eps)
        self.t = 0
        self._m: Params = {}
        self._s: Params = {}
        self._tmp: Params = {}
        self._c: dict[tuple[float, Any], NDArray[Any]] = {}

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for k, p in params.items():
            g = grads[k]
            if k not in self._m:
                self._m[k] = np.zeros_like(p)
                self._s[k] = np.zeros_like(p)
            m, s = self._m[k], self._s[k]
            t = self._tmp.get(k)
            if t is None or t.shape != p.shape or t.dtype != p.dtype:
                t = self._tmp[k] = np.empty_like(p)
            c = self._c
            dt = p.dtype
            np.multiply(m, _const(c, b1, dt), out=m)
            np.multiply(g, _const(c, 1 - b1, dt), out=t)
            np.add(m, t, out=m)
            np.multiply(s, _const(c, b2, dt), out=s)
            np.multiply(g, g, out=t)
            np.multiply(t, _const(c, 1 - b2, dt), out=t)
            np.add(s, t, out=s)
            np.sqrt(s, out=t)
            np.add(t, _const(c, self.eps, dt), out=t)
            np.divide(m, t, out=t)
            np.multiply(t, np.array(lr_t, dtype=dt), out=t)  # changes every step: not cached
            np.subtract(p, t, out=p)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
