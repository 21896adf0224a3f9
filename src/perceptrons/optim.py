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

    def step(self, params: Params, grads: Params) -> None:
        lr, mu = self.lr, self.momentum
        for k, p in params.items():
            g = grads[k]
            t = self._tmp.get(k)
            if t is None or t.shape != p.shape:
                t = self._tmp[k] = np.empty_like(p)
            np.multiply(g, lr, out=t)  # lr g, in a preallocated buffer: no temporaries per step
            if mu == 0.0:
                p -= t
                continue
            v = self._v.get(k)
            if v is None:
                v = self._v[k] = np.zeros_like(p)
            v *= mu
            v -= t
            if self.nesterov:
                t *= -1.0
                t += mu * v
                p += t
            else:
                p += v

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
            if t is None or t.shape != p.shape:
                t = self._tmp[k] = np.empty_like(p)
            m *= b1
            np.multiply(g, 1 - b1, out=t)
            m += t
            s *= b2
            np.multiply(g, g, out=t)
            t *= 1 - b2
            s += t
            np.sqrt(s, out=t)
            t += self.eps
            np.divide(m, t, out=t)
            t *= lr_t
            p -= t

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
