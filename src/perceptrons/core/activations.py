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


class Scratch:
    """Arrays of one layer's shape for the in-place derivatives: ``f`` (floats, the layer's dtype),
    ``mask`` (booleans) and ``zero`` (zeros), made once by the caller and reused every step."""

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.f = np.empty(shape, dtype=dtype)
        self.mask = np.empty(shape, dtype=bool)
        self.zero = np.zeros(shape, dtype=dtype)


#: up to this many numbers, ReLU's mask is taken as ``sign(h)`` in floats (measured here, 16-256
#: numbers: 1.3 against 2.8 us per step); above it, as booleans (``greater`` then a multiplication
#: by the booleans), which runs faster on large arrays (64 x 256: 6.6 against 12.3 us).
TINY = 512


@dataclass(frozen=True)
class Activation:
    """One activation: its function, its derivative from the output, and in-place forms.

    ``forward_into(z, out, zero)`` writes ``f(z)`` into ``out``; ``backward_into(d, h, scratch)``
    multiplies ``d`` in place by ``f'(z)`` read from ``h = f(z)``, with no new array. ``zero`` is an
    array of zeros of ``z``'s shape owned by the caller (NumPy's maximum of two arrays runs several
    times faster than its maximum with a scalar); ``out`` may be ``z`` itself, and ``zero`` may be the
    scalar 0 (what the prediction path passes: it allocates nothing). ``scratch`` (a :class:`Scratch`)
    holds the arrays of ``h``'s shape the derivatives are written into.
    """

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array], Array]
    forward_into: Callable[[Array, Array, Array | float], None]
    backward_into: Callable[[Array, Array, Scratch], None]
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


def _relu_backward_into(d: Array, h: Array, scratch: Scratch) -> None:
    if d.size <= TINY:
        d *= np.sign(h, out=scratch.f)  # h >= 0, so sign(h) = 1[h > 0]
    else:
        np.multiply(d, np.greater(h, scratch.zero, out=scratch.mask), out=d)


def _leaky_relu_backward_into(d: Array, h: Array, scratch: Scratch) -> None:
    np.multiply(d, LEAKY_SLOPE, out=d, where=np.less_equal(h, scratch.zero, out=scratch.mask))


def _sigmoid_backward_into(d: Array, h: Array, scratch: Scratch) -> None:
    df = np.subtract(1.0, h, out=scratch.f)
    df *= h  # h (1 - h)
    d *= df


def _tanh_backward_into(d: Array, h: Array, scratch: Scratch) -> None:
    df = np.multiply(h, h, out=scratch.f)
    np.subtract(1.0, df, out=df)  # 1 - h^2
    d *= df


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
            backward_into=lambda d, h, scratch: None,
        ),
    )
}
