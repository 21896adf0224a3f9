"""Activation functions and their derivatives, as name -> function registries.

Derivatives are taken from the layer's *output* ``h`` (not its input), as the course does:
``tanh' = 1 - h**2``, ``sigmoid' = h (1 - h)``, ``relu' = 1[h > 0]``. This works because each of
these activations is monotone, so the output determines the slope. At a ReLU kink (input exactly 0)
we use the right-hand slope 0, like every mainstream library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]
LEAKY_SLOPE = 0.01


def _relu(z: Array) -> Array:
    return np.maximum(z, 0.0, out=z)


def _leaky_relu(z: Array) -> Array:
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _sigmoid(z: Array) -> Array:
    # 1 / (1 + exp(-z)) overflows in exp for z << 0; tanh form is stable everywhere.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _tanh(z: Array) -> Array:
    return np.tanh(z, out=z)


def _identity(z: Array) -> Array:
    return z


#: name -> h = f(z). Functions may overwrite ``z`` in place (the caller owns it).
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "identity": _identity,
}

#: name -> f'(z) written as a function of the output h = f(z).
DERIVATIVES: dict[str, Callable[[Array], Array | float]] = {  # f'(z) from h = f(z)
    # h >= 0, so sign(h) is 1[h > 0]: on a few numbers np.sign is 3x cheaper than a boolean mask,
    # on large arrays the mask is 1.7x cheaper to make and multiply by
    "relu": lambda h: np.sign(h) if h.size <= 256 else h > 0,
    "leaky_relu": lambda h: np.where(h > 0, 1.0, LEAKY_SLOPE).astype(h.dtype),
    "sigmoid": lambda h: h * (1.0 - h),
    "tanh": lambda h: 1.0 - h * h,
    "identity": lambda h: 1.0,
}

#: activations whose derivative jumps at z = 0 (finite differences across it disagree, rightly).
KINKED = frozenset({"relu", "leaky_relu"})
