"""Activation functions of the hidden layers, one record each.

Derivatives are taken from the layer's *output* ``h = f(z)`` (not its input), as the course does:

    relu:       h = max(z, 0)                 f'(z) = 1[h > 0]
    leaky_relu: h = max(z, 0.01 z)            f'(z) = 1 if h > 0 else 0.01
    sigmoid:    h = 1 / (1 + exp(-z))         f'(z) = h (1 - h)
    tanh:       h = tanh(z)                   f'(z) = 1 - h^2
    identity:   h = z                         f'(z) = 1

This works because each of them is monotone, so the output determines the slope. At a ReLU kink
(z exactly 0) the left-hand slope is used (0 for ReLU, 0.01 for leaky ReLU), like every mainstream library.

Each record holds the plain forms (``f``, ``df``: new arrays of the input's namespace, NumPy, PyTorch or
any Array API library: what the reference backward pass in :mod:`perceptrons.core.network` calls) and
the in-place NumPy forms the fused engine
(:mod:`perceptrons.core.fused`) calls on buffers it owns (``forward_into``, ``backward_into``).
A new activation is one record here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .devices import namespace_of

Array = NDArray[Any]
LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """One activation: its function, its derivative from the output, and in-place forms.

    ``forward_into(z, out, zero)`` writes ``f(z)`` into ``out``; ``backward_into(d, h, mask, zero)``
    multiplies ``d`` in place by ``f'(z)`` read from ``h = f(z)``. ``zero`` is an array of zeros and
    ``mask`` a boolean array, both of ``z``'s shape, owned by the caller: NumPy's maximum of two
    arrays runs several times faster than its maximum with a scalar. ``out`` may be ``z`` itself,
    and ``zero`` may be the scalar 0 (what the prediction path passes: it allocates nothing).
    """

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array], Array]
    forward_into: Callable[[Array, Array, Array | float], None]
    backward_into: Callable[[Array, Array, Array, Array], None]
    kinked: bool = False  # the derivative jumps at z = 0 (finite differences across it rightly disagree)


def sigmoid(z: Array) -> Array:
    """``1 / (1 + exp(-z))`` element-wise."""
    # 1 / (1 + exp(-z)) overflows in exp for z << 0; the tanh form is stable everywhere.
    return 0.5 * (1.0 + namespace_of(z).tanh(0.5 * z))


def _leaky_relu_slope(h: Array) -> Array:
    xp = namespace_of(h)
    return xp.where(h > 0, xp.ones_like(h), xp.full_like(h, LEAKY_SLOPE))  # type: ignore[no-any-return]


def _relu_into(z: Array, out: Array, zero: Array | float) -> None:
    np.maximum(z, zero, out=out)


def _tanh_into(z: Array, out: Array, zero: Array | float) -> None:
    np.tanh(z, out=out)


def _sigmoid_into(z: Array, out: Array, zero: Array | float) -> None:
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5


def _leaky_relu_into(z: Array, out: Array, zero: Array | float) -> None:
    if out is not z:
        np.copyto(out, z)
    np.multiply(out, LEAKY_SLOPE, out=out, where=out < 0)


def _relu_backward_into(d: Array, h: Array, mask: Array, zero: Array) -> None:
    np.greater(h, zero, out=mask)
    np.multiply(d, mask, out=d)


def _leaky_relu_backward_into(d: Array, h: Array, mask: Array, zero: Array) -> None:
    np.greater(h, zero, out=mask)
    d *= np.where(mask, 1.0, LEAKY_SLOPE).astype(d.dtype)


def _sigmoid_backward_into(d: Array, h: Array, mask: Array, zero: Array) -> None:
    d *= h * (1.0 - h)


def _tanh_backward_into(d: Array, h: Array, mask: Array, zero: Array) -> None:
    d *= 1.0 - h * h


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "relu",
            f=lambda z: namespace_of(z).maximum(z, 0.0),
            df=lambda h: namespace_of(h).astype(h > 0, h.dtype),
            forward_into=_relu_into,
            backward_into=_relu_backward_into,
            kinked=True,
        ),
        Activation(
            "leaky_relu",
            f=lambda z: namespace_of(z).where(z > 0, z, LEAKY_SLOPE * z),
            df=_leaky_relu_slope,
            forward_into=_leaky_relu_into,
            backward_into=_leaky_relu_backward_into,
            kinked=True,
        ),
        Activation(
            "sigmoid",
            f=sigmoid,
            df=lambda h: h * (1.0 - h),
            forward_into=_sigmoid_into,
            backward_into=_sigmoid_backward_into,
        ),
        Activation(
            "tanh",
            f=lambda z: namespace_of(z).tanh(z),
            df=lambda h: 1.0 - h * h,
            forward_into=_tanh_into,
            backward_into=_tanh_backward_into,
        ),
        Activation(
            "identity",
            f=lambda z: namespace_of(z).asarray(z, copy=True),
            df=lambda h: namespace_of(h).ones_like(h),
            forward_into=lambda z, out, zero: np.copyto(out, z),
            backward_into=lambda d, h, mask, zero: None,
        ),
    )
}
