"""Measures of a 2-D decision function, for the study: linear regions and how the boundary bends.

- :func:`linear_regions` counts the activation patterns of a one-hidden-layer ReLU network that
  occur on a fine grid over a window. Each pattern is one region where the network is affine, so
  this counts the regions of at least about a grid cell in size.
- :func:`boundary_measures` traces the decision boundary of a binary classifier as the zero
  contour of the logit difference ``z_1 - z_0`` (the 0.5-probability contour; for a ReLU network
  that function is piecewise affine, so the traced pieces are exactly straight) and measures its
  length, total absolute turning angle, turning per unit length, the sharpest turn at a single
  vertex, and, for a ReLU network, the number of straight pieces (changes of linear region along it).
"""

from __future__ import annotations

from typing import Any

import contourpy
import numpy as np
from numpy.typing import NDArray

from .core.activations import ACTIVATIONS

Array = NDArray[Any]


def _grid(window: tuple[float, float, float, float], resolution: int) -> tuple[Array, Array, Array]:
    xs = np.linspace(window[0], window[1], resolution)
    ys = np.linspace(window[2], window[3], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.column_stack([gx.ravel(), gy.ravel()])


def _patterns(net: Any, pts: Array) -> Array:
    """Activation pattern (one byte-packed row per point) of every hidden layer of a ReLU net."""
    h = pts
    bits = []
    for i in range(net.n_layers - 1):
        z = h @ net.params[f"W{i}"] + net.params[f"b{i}"]
        bits.append(z > 0)
        h = ACTIVATIONS[net.activation].f(z)
    return np.packbits(np.concatenate(bits, axis=1), axis=1)


def linear_regions(net: Any, window: tuple[float, float, float, float], resolution: int = 400) -> int:
    """Number of distinct ReLU activation patterns on a ``resolution``^2 grid over ``window``."""
    if net.activation != "relu" or net.n_layers < 2:
        raise ValueError("linear regions are counted for ReLU networks with at least one hidden layer.")
    _, _, pts = _grid(window, resolution)
    return int(np.unique(_patterns(net, pts), axis=0).shape[0])


def boundary_measures(net: Any, window: tuple[float, float, float, float], resolution: int = 400) -> dict[str, float]:
    """Length and bending of the 0.5-probability contour of a binary network inside ``window``."""
    if net.sizes[-1] != 2 or net.sizes[0] != 2:
        raise ValueError("boundary measures need a network with 2 inputs and 2 classes.")
    gx, gy, pts = _grid(window, resolution)
    z = net.forward(pts)
    margin = (z[:, 1] - z[:, 0]).reshape(gx.shape)
    lines = contourpy.contour_generator(gx, gy, margin).lines(0.0)
    length = turning = sharpest = 0.0
    pieces = 0
    for line in lines:
        v = np.asarray(line, dtype=float)
        d = np.diff(v, axis=0)
        seg = np.hypot(d[:, 0], d[:, 1])
        d = d[seg > 1e-12]
        seg = seg[seg > 1e-12]
        if d.shape[0] == 0:
            continue
        closed = bool(np.allclose(v[0], v[-1]))
        length += float(seg.sum())
        a, b = (d, np.roll(d, -1, axis=0)) if closed else (d[:-1], d[1:])
        ang = np.abs(np.arctan2(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0], (a * b).sum(axis=1)))
        if ang.size:
            turning += float(ang.sum())
            sharpest = max(sharpest, float(ang.max()))
        if net.activation == "relu" and net.n_layers >= 2:
            mids = 0.5 * (v[:-1] + v[1:])
            p = _patterns(net, mids)
            changes = int(np.any(p[1:] != p[:-1], axis=1).sum())
            if closed and np.any(p[0] != p[-1]):
                changes += 1
            pieces += max(changes, 1) if closed else changes + 1
    out = {
        "length": length,
        "total_turning_deg": float(np.degrees(turning)),
        "turning_per_length_deg": float(np.degrees(turning) / length) if length else 0.0,
        "sharpest_turn_deg": float(np.degrees(sharpest)),
    }
    if net.activation == "relu" and net.n_layers >= 2:
        out["pieces"] = float(pieces)
    return out
