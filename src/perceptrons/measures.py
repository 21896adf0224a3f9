"""Measures of a 2-D decision function, for the study: linear regions and how the boundary bends.

- :func:`linear_regions` counts the activation patterns of a ReLU network that occur on a fine
  grid over a window. Each pattern is one region where the network is affine, so this counts the
  regions of at least about a grid cell in size. :func:`region_bound` is the most that H lines can
  cut the plane into (``1 + H + H(H-1)/2``), what a one-hidden-layer network can reach.
- :func:`trace_boundary` traces the decision boundary of a binary network as the zero contour of
  the logit difference ``m(x) = z_1 - z_0`` (the p = 0.5 contour) and gives, at every traced vertex,
  the exact unit normal ``grad m / |grad m|`` (by backpropagation to the input).
- :func:`boundary_measures` measures the traced boundary with quantities that converge as the grid
  is refined, because they use the exact normals rather than the polyline's own angles:

  * ``turning_per_length_deg``: total turning of the normal divided by the length ("is curved").
    For a smooth curve it tends to the mean absolute curvature, for a polygon to the sum of its
    corner angles over its perimeter.
  * ``corner_share``: the fraction of that turning done in jumps at corners ("has corners"): a
    jump between neighbouring vertices whose turning per length is at least 5 times the second smallest
    of its 6 neighbours' (:func:`corner_mask`). A smooth curve's normal turns by curvature x spacing between vertices,
    alike from one vertex to the next, so its share is 0; a polygon's normal is constant along each
    piece and jumps by the corner's angle however fine the grid, so its share is 1.
  * ``corners`` (how many such jumps), ``largest_corner_deg``, ``mean_corner_deg``;
  * ``pieces`` (ReLU): straight pieces, i.e. changes of linear region along the boundary, plus one
    per open curve; ``curves``: connected pieces of the boundary inside the window;
  * ``length`` and ``sharpest_turn_deg`` (the polyline's largest single turn: kept for reference;
    it depends on the grid and is not used as a smoothness measure).
"""

from __future__ import annotations

from typing import Any

import contourpy
import numpy as np
from numpy.typing import NDArray

from .core.activations import ACTIVATIONS

Array = NDArray[Any]
Window = tuple[float, float, float, float]


def _grid(window: Window, resolution: int) -> tuple[Array, Array, Array]:
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


def region_bound(n_lines: int) -> int:
    """Most regions that ``n_lines`` lines cut the plane into: ``1 + H + H(H-1)/2`` (general position)."""
    return 1 + n_lines + n_lines * (n_lines - 1) // 2


def linear_regions(net: Any, window: Window, resolution: int = 400) -> int:
    """Number of distinct ReLU activation patterns on a ``resolution``^2 grid over ``window``."""
    if net.activation != "relu" or net.n_layers < 2:
        raise ValueError("linear regions are counted for ReLU networks with at least one hidden layer.")
    _, _, pts = _grid(window, resolution)
    return int(np.unique(_pattern_keys(_patterns(net, pts))).shape[0])


def _pattern_keys(packed: Array) -> Array:
    """One hashable scalar per packed pattern row (a 1-D unique is ~10x faster than ``axis=0``)."""
    rows = np.ascontiguousarray(packed)
    return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()


def region_ids(net: Any, pts: Array) -> Array:
    """(M,) integer id of each point's linear region (its ReLU activation pattern), ids 0, 1, ..."""
    _, ids = np.unique(_pattern_keys(_patterns(net, pts)), return_inverse=True)
    return np.asarray(ids).ravel()


def margin_and_normal(net: Any, pts: Array) -> tuple[Array, Array]:
    """The logit difference ``m = z_1 - z_0`` at ``pts`` (M, 2) and its unit gradient (M, 2).

    The gradient is backpropagated to the input exactly (``f'`` from each layer's output), so it is
    the boundary's normal wherever the network is differentiable.
    """
    act = ACTIVATIONS[net.activation]
    hs = [np.asarray(pts, dtype=float)]
    for i in range(net.n_layers):
        z = hs[-1] @ net.params[f"W{i}"] + net.params[f"b{i}"]
        hs.append(act.f(z) if i < net.n_layers - 1 else z)
    out = hs[-1]
    dz = np.zeros_like(out)
    dz[:, 1], dz[:, 0] = 1.0, -1.0
    for i in range(net.n_layers - 1, -1, -1):
        dh = dz @ net.params[f"W{i}"].T
        dz = dh * act.df(hs[i]) if i > 0 else dh
    norm = np.hypot(dz[:, 0], dz[:, 1])
    return out[:, 1] - out[:, 0], dz / np.maximum(norm, 1e-300)[:, None]


def trace_boundary(net: Any, window: Window, resolution: int = 400) -> list[tuple[Array, Array, bool]]:
    """The p = 0.5 contour of a 2-input, 2-class network inside ``window``.

    Returns one ``(vertices (V, 2), normals (V, 2), closed)`` per connected curve; consecutive
    duplicate vertices are dropped. The contour is the zero level of the logit difference on a
    ``resolution`` x ``resolution`` grid, linearly interpolated (contourpy).
    """
    if net.sizes[-1] != 2 or net.sizes[0] != 2:
        raise ValueError(f"boundary measures need a network with 2 inputs and 2 classes, got sizes {net.sizes}.")
    gx, gy, pts = _grid(window, resolution)
    margin = (net.forward(pts) @ np.array([-1.0, 1.0])).reshape(gx.shape)
    curves = []
    for line in contourpy.contour_generator(gx, gy, margin).lines(0.0):
        v = np.asarray(line, dtype=float)
        closed = v.shape[0] > 2 and bool(np.allclose(v[0], v[-1]))
        keep = np.r_[True, np.hypot(*np.diff(v, axis=0).T) > 1e-12]
        v = v[keep]
        if closed and v.shape[0] > 1 and np.allclose(v[0], v[-1]):
            v = v[:-1]
        if v.shape[0] < 2:
            continue
        curves.append((v, margin_and_normal(net, v)[1], closed))
    return curves


def _angles(a: Array, b: Array) -> Array:
    """Unsigned angle (radians) between rows of ``a`` and ``b``."""
    return np.abs(np.arctan2(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0], (a * b).sum(axis=1)))


def normal_jumps(curve: tuple[Array, Array, bool]) -> tuple[Array, Array]:
    """Turn of the normal between neighbouring vertices of one traced curve (radians), and the
    midpoints where each turn happens (wrapping round for a closed curve)."""
    v, n, closed = curve
    nxt = np.roll(np.arange(v.shape[0]), -1) if closed else np.arange(1, v.shape[0])
    cur = np.arange(nxt.shape[0])
    return _angles(n[cur], n[nxt]), 0.5 * (v[cur] + v[nxt])


def corner_mask(jumps: Array, spacing: Array, closed: bool, ratio: float = 5.0, floor_deg: float = 0.1) -> Array:
    """Which normal jumps are corners. ``jumps`` (radians) and ``spacing`` (distance between the two
    vertices) per neighbouring pair. A jump is a corner if its turning per length is at least
    ``ratio`` times the second smallest of its 6 neighbours' (and it exceeds ``floor_deg``, roundoff): along
    a smooth curve neighbouring turnings per length are alike (the curvature); along a
    piecewise-straight one they are 0 except at the corners."""
    k = 3
    rate = jumps / np.maximum(spacing, 1e-300)
    padded = np.pad(rate, k, mode="wrap" if closed else "edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1)
    # the second smallest of the 6 neighbours: alike along a smooth curve, and still 0 next to a
    # cluster of up to 4 corners along a polygon (the median would not be)
    neighbours = np.partition(np.delete(win, k, axis=1), 1, axis=1)[:, 1]
    return np.asarray((rate > ratio * neighbours) & (jumps > np.radians(floor_deg)))


def boundary_measures(net: Any, window: Window, resolution: int = 400) -> dict[str, float]:
    """Length, curvature and corners of the p = 0.5 contour of a binary network inside ``window``
    (see the module docstring for each key)."""
    curves = trace_boundary(net, window, resolution)
    is_relu = net.activation == "relu" and net.n_layers >= 2
    length = turning = corner_turn = sharpest = 0.0
    corners = pieces = 0
    largest = 0.0
    for curve in curves:
        v, _, closed = curve
        d = np.diff(np.vstack([v, v[:1]]) if closed else v, axis=0)
        length += float(np.hypot(d[:, 0], d[:, 1]).sum())
        a, b = (d, np.roll(d, -1, axis=0)) if closed else (d[:-1], d[1:])
        if a.shape[0]:
            sharpest = max(sharpest, float(_angles(a, b).max()))
        jumps, _ = normal_jumps(curve)
        spacing = np.hypot(d[:, 0], d[:, 1])[: jumps.size]
        big = corner_mask(jumps, spacing, closed) if jumps.size else np.zeros(0, dtype=bool)
        turning += float(jumps.sum())
        corner_turn += float(jumps[big].sum())
        corners += int(big.sum())
        if big.any():
            largest = max(largest, float(jumps[big].max()))
        if is_relu:
            p = _patterns(net, v)
            q = np.roll(p, -1, axis=0) if closed else p[1:]
            changes = int(np.any(p[: q.shape[0]] != q, axis=1).sum())
            pieces += max(changes, 1) if closed else changes + 1
    out = {
        "length": length,
        "curves": float(len(curves)),
        "total_turning_deg": float(np.degrees(turning)),
        "turning_per_length_deg": float(np.degrees(turning) / length) if length else 0.0,
        "corner_share": corner_turn / turning if turning > 0 else 0.0,
        "corners": float(corners),
        "largest_corner_deg": float(np.degrees(largest)),
        "mean_corner_deg": float(np.degrees(corner_turn) / corners) if corners else 0.0,
        "sharpest_turn_deg": float(np.degrees(sharpest)),
    }
    if is_relu:
        out["pieces"] = float(pieces)
    return out
