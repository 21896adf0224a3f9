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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .validation import check_positive

Array = NDArray[Any]


def _check_fraction(name: str, value: float, allow_one: bool = False) -> float:
    check_positive(name, value, allow_zero=True)
    if value > 1 or (value == 1 and not allow_one):
        raise ValueError(f"{name} must be in [0, {'1]' if allow_one else '1)'}, got {value}.")
    return float(value)


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.lr = float(check_positive("learning rate", lr))
        self.momentum = _check_fraction("momentum", momentum, allow_one=True)
        self.nesterov = bool(nesterov)
        self.velocity: dict[str, Array] = {}

    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        lr, mu = self.lr, self.momentum
        for k, theta in params.items():
            g = grads[k]
            if mu == 0.0:
                theta -= lr * g  # theta <- theta - lr g
                continue
            v = self.velocity.get(k)
            if v is None:
                v = self.velocity[k] = np.zeros_like(theta)
            v *= mu
            v -= lr * g  # v <- mu v - lr g
            if self.nesterov:
                theta += mu * v - lr * g  # theta <- theta + mu v - lr g
            else:
                theta += v  # theta <- theta + v

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov})"


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction folded into the step size."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.lr = float(check_positive("learning rate", lr))
        self.beta1 = _check_fraction("beta1", beta1)
        self.beta2 = _check_fraction("beta2", beta2)
        self.eps = float(check_positive("eps", eps))
        self.t = 0
        self.m: dict[str, Array] = {}
        self.s: dict[str, Array] = {}

    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for k, theta in params.items():
            g = grads[k]
            if k not in self.m:
                self.m[k], self.s[k] = np.zeros_like(theta), np.zeros_like(theta)
            m, s = self.m[k], self.s[k]
            m *= b1
            m += (1 - b1) * g  # m <- b1 m + (1 - b1) g
            s *= b2
            s += (1 - b2) * (g * g)  # s <- b2 s + (1 - b2) g^2
            theta -= lr_t * m / (np.sqrt(s) + self.eps)  # theta <- theta - lr_t m / (sqrt(s) + eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
