"""Measures of a 2-D decision function, for the study: linear regions and how the boundary bends.

- :func:`linear_regions` counts the activation patterns of a ReLU network that occur on a fine
  grid over a window. Each pattern is one region where the network is affine, so this counts the
  regions of at least about a grid cell in size. :func:`region_bound` is the most that H lines can
  cut the plane into (``1 + H + H(H-1)/2``), what a one-hidden-layer network can reach.
- :func:`trace_boundary` traces the decision boundary of a binary network, the zero level of the
  margin ``m(x) = z_1 - z_0`` (the p = 0.5 contour): exactly, region by region, for piecewise-linear
  networks (ReLU: the vertices are the true corners), and for smooth ones from a grid contour whose
  vertices are moved onto the boundary by Newton steps; at every vertex it gives the exact unit
  normal ``grad m / |grad m|`` (by backpropagation to the input).
- :func:`boundary_measures` measures the traced boundary with quantities that converge as the grid
  is refined, because they use the exact normals rather than the polyline's own angles:

  * ``turning_per_length_deg``: total turning of the normal divided by the length ("is curved").
    For a smooth curve it tends to the mean absolute curvature, for a polygon to the sum of its
    corner angles over its perimeter.
  * ``corner_share``: the fraction of that turning done in jumps at corners ("has corners"). On an
    exact piecewise-linear trace every turn of more than 0.1 degree is a corner; on a smooth trace, a
    jump between neighbouring vertices whose turning per length is at least 5 times the second smallest
    of its 6 neighbours' (:func:`corner_mask`). A smooth curve's normal turns by curvature x spacing between vertices,
    alike from one vertex to the next, so its share is 0; a polygon's normal is constant along each
    piece and jumps by the corner's angle however fine the grid, so its share is 1.
  * ``corners`` (how many such jumps), ``largest_corner_deg``, ``mean_corner_deg``;
  * ``pieces`` (ReLU): straight pieces, i.e. linear regions the boundary crosses; ``curves``:
    connected pieces of the boundary inside the window;
  * ``length`` and ``sharpest_turn_deg`` (the polyline's largest single turn: kept for reference;
    on a smooth curve's trace it depends on the grid, so it is not used as a smoothness measure; on an
    exact piecewise-linear trace it is the largest corner).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import contourpy
import numpy as np
from numpy.typing import NDArray

from .core.activations import ACTIVATIONS, LEAKY_SLOPE

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


class Curve(NamedTuple):
    """One connected piece of a decision boundary inside a window, class 1 on its left.

    ``vertices`` (V, 2) lie on the boundary in order; ``normals`` (V, 2) are unit normals
    ``grad m / |grad m|`` pointing to class 1. A smooth curve (``straight_pieces`` False) carries the
    normal at each vertex; an exactly traced piecewise-linear one (True) has its corners and its two
    ends as vertices and carries at vertex i the normal of the straight piece that starts there (the
    last vertex of an open curve: of the piece that ends there).
    """

    vertices: Array
    normals: Array
    closed: bool
    straight_pieces: bool


# the slope of each piecewise-linear activation where its input is negative
_SLOPE_BELOW = {"relu": 0.0, "leaky_relu": LEAKY_SLOPE, "identity": 1.0}
_MAX_PIECES = 100_000  # a guard: no network of the study has a boundary of more than a few hundred pieces


def _margin_vector(net: Any) -> Array:
    """``e`` with ``m(x) = z(x) . e``: the logit whose sign is the binary decision."""
    if net.sizes[0] == 2 and net.sizes[-1] == 2 and net.output == "softmax":
        return np.array([-1.0, 1.0])
    if net.sizes[0] == 2 and net.sizes[-1] == 1 and net.output == "logistic":
        return np.array([1.0])
    raise ValueError(
        "a boundary is traced for a network with 2 inputs and 2 classes (softmax with 2 outputs or logistic "
        f"with 1), got sizes {net.sizes} and output {net.output!r}; draw other models' boundaries from a grid."
    )


def traceable(model: Any) -> bool:
    """Whether :func:`trace_boundary` can trace ``model``'s boundary (a binary MLP on 2-D inputs)."""
    try:
        _margin_vector(model)
    except (AttributeError, ValueError):
        return False
    return hasattr(model, "params") and getattr(model, "activation", None) in ACTIVATIONS


def _margin_and_gradient(net: Any, pts: Array, E: Array) -> tuple[Array, Array]:
    """``m = z . E`` row by row at ``pts`` (M, 2), ``E`` (M, C) or (C,), and its gradient (M, 2),
    backpropagated to the input (``f'`` from each layer's output)."""
    act = ACTIVATIONS[net.activation]
    hs = [np.asarray(pts, dtype=float)]
    for i in range(net.n_layers):
        z = hs[-1] @ net.params[f"W{i}"] + net.params[f"b{i}"]
        hs.append(act.f(z) if i < net.n_layers - 1 else z)
    dz = np.broadcast_to(E, hs[-1].shape).astype(float)
    for i in range(net.n_layers - 1, -1, -1):
        dh = dz @ net.params[f"W{i}"].T
        dz = dh * act.df(hs[i]) if i > 0 else dh
    return (hs[-1] * E).sum(axis=1), dz


def margin_and_normal(net: Any, pts: Array) -> tuple[Array, Array]:
    """The decision margin ``m`` (for softmax ``z_1 - z_0``, for logistic ``z``) at ``pts`` (M, 2) and
    its unit gradient (M, 2): the boundary's normal wherever the network is differentiable."""
    m, g = _margin_and_gradient(net, pts, _margin_vector(net))
    return m, g / np.maximum(np.hypot(g[:, 0], g[:, 1]), 1e-300)[:, None]


def project_onto_boundary(
    net: Any, pts: Array, e: Array, max_step: float, along: Array | None = None, iterations: int = 4
) -> Array:
    """``pts`` (M, 2) moved onto the zero level of ``m = z . e`` by Newton steps, each along the
    gradient (``x <- x - m grad m / |grad m|^2``) or along the unit directions ``along`` (M, 2) where
    given and not zero (``x <- x - m u / (grad m . u)``: a point on the window's edge stays on it).
    A point whose step would exceed ``max_step`` (a grid spacing: no zero nearby) stays where it is.
    Near a smooth boundary each step squares the error."""
    x = np.array(pts, dtype=float)
    u = np.zeros_like(x) if along is None else np.asarray(along, dtype=float)
    for _ in range(iterations):
        m, g = _margin_and_gradient(net, x, e)
        free = np.all(u == 0.0, axis=1)
        dirs = np.where(free[:, None], g / np.maximum(np.hypot(g[:, 0], g[:, 1]), 1e-300)[:, None], u)
        slope = (g * dirs).sum(axis=1)
        t = -m / np.where(slope == 0.0, np.inf, slope)
        ok = (np.abs(t) <= max_step) & (slope != 0.0)
        x[ok] += t[ok, None] * dirs[ok]
    return x


@dataclass
class _Region:
    """One linear region of a piecewise-linear network, read off at a point inside it: the activation
    pattern ``key``; ``G`` (U, 2), ``g`` (U,) with ``G x + g >= 0`` exactly inside (every hidden unit's
    pre-activation, signed by its state); the margin there, ``m(x) = a . x + a0``."""

    key: bytes
    G: Array
    g: Array
    a: Array
    a0: float


def _region_at(net: Any, x: Array, e: Array) -> _Region:
    below = _SLOPE_BELOW[net.activation]
    M, v = np.eye(2), np.zeros(2)  # the current layer's input is x @ M + v inside the region
    rows, offsets, bits = [np.zeros((0, 2))], [np.zeros(0)], [np.zeros(0, dtype=bool)]
    for i in range(net.n_layers - 1):
        Mz, vz = M @ net.params[f"W{i}"], v @ net.params[f"W{i}"] + net.params[f"b{i}"]
        on = x @ Mz + vz > 0
        if below != 1.0:  # an identity layer has no switching lines
            sign = np.where(on, 1.0, -1.0)
            rows.append(Mz.T * sign[:, None])
            offsets.append(vz * sign)
            bits.append(on)
        slope = np.where(on, 1.0, below)
        M, v = Mz * slope, vz * slope
    last = net.n_layers - 1
    Mz, vz = M @ net.params[f"W{last}"], v @ net.params[f"W{last}"] + net.params[f"b{last}"]
    return _Region(np.packbits(np.concatenate(bits)).tobytes(), np.vstack(rows), np.concatenate(offsets),
                   Mz @ e, float(vz @ e))  # fmt: skip


def _distance_out(region: _Region, x: Array, d: Array, tiny: float) -> float:
    """How far from ``x`` along the unit direction ``d`` the region ends (inf if never)."""
    rate = region.G @ d
    leaving = rate < 0
    if not leaving.any():
        return float("inf")
    t = np.maximum(region.G[leaving] @ x + region.g[leaving], 0.0) / -rate[leaving]
    t = t[t > tiny]  # a switching line through x itself (the one just crossed, at a corner) is not an exit
    return float(t.min()) if t.size else float("inf")


def _distance_to_window(window: Window, x: Array, d: Array) -> float:
    t = float("inf")
    for k in range(2):
        if d[k] > 0:
            t = min(t, (window[2 * k + 1] - x[k]) / d[k])
        elif d[k] < 0:
            t = min(t, (window[2 * k] - x[k]) / d[k])
    return max(t, 0.0)


def _walk(
    net: Any, e: Array, start: _Region, x0: Array, sign: float, window: Window, seen: set[bytes]
) -> tuple[list[Array], list[Array], bool]:
    """Follow the boundary from ``x0`` (on it, in ``start``) forwards (``sign`` 1: class 1 on the left)
    or backwards, one linear region at a time: inside a region the boundary is the straight line
    ``a . x + a0 = 0``; it ends where the first switching line crosses it, and goes on in the region
    beyond. Returns the points (``x0``, then each corner, then the window exit), the normal of the
    piece starting at each point, and whether the walk came back to ``start`` (a closed curve)."""
    scale = max(window[1] - window[0], window[3] - window[2])
    region, x = start, x0
    points, normals = [x0], []
    for _ in range(_MAX_PIECES):
        n = region.a / np.hypot(*region.a)
        d = sign * np.array([n[1], -n[0]])
        normals.append(n)
        t_out, t_win = _distance_out(region, x, d, 1e-12 * scale), _distance_to_window(window, x, d)
        if t_win <= t_out:
            points.append(x + t_win * d)
            return points, normals, False
        x = x + t_out * d
        points.append(x)
        region = _region_at(net, x + 1e-9 * scale * d, e)
        if region.key == start.key:
            return points, normals, True
        if region.key in seen or np.hypot(*region.a) == 0.0:
            return points, normals, False
        seen.add(region.key)
    return points, normals, False


def _trace_exact(net: Any, window: Window, lines: list[Array], e: Array) -> list[Curve]:
    """The boundary of a piecewise-linear network, exactly: one walk per connected piece, started from a
    point of the grid's contour projected onto its region's line. Each linear region is convex, so the
    boundary crosses it in at most one segment: a region already walked means a piece already traced."""
    seen: set[bytes] = set()
    tol = 1e-9 * max(window[1] - window[0], window[3] - window[2])
    curves = []
    for line in lines:
        for s in line:
            region = _region_at(net, s, e)
            a2 = float(region.a @ region.a)
            if a2 == 0.0:
                continue
            x0 = s - (region.a @ s + region.a0) / a2 * region.a
            inside = (region.G @ x0 + region.g >= -tol).all()
            inside &= window[0] <= x0[0] <= window[1] and window[2] <= x0[1] <= window[3]
            if inside:
                break
        else:
            continue
        if region.key in seen:
            continue
        seen.add(region.key)
        fwd, fwd_n, closed = _walk(net, e, region, x0, 1.0, window, seen)
        if closed:  # the start point lies inside the start region's piece: the corners are the vertices
            curves.append(Curve(np.array(fwd[1:]), np.array(fwd_n[1:] + fwd_n[:1]), True, True))
            continue
        back, back_n, _ = _walk(net, e, region, x0, -1.0, window, seen)
        vertices = back[:0:-1] + fwd[1:]
        normals = back_n[:0:-1] + fwd_n + fwd_n[-1:]
        curves.append(Curve(np.array(vertices), np.array(normals), False, True))
    return curves


def trace_boundary(net: Any, window: Window, resolution: int = 400) -> list[Curve]:
    """The p = 0.5 boundary of a 2-input, 2-class network inside ``window``, one :class:`Curve` per
    connected piece.

    A ``resolution`` x ``resolution`` grid of the margin finds the pieces (its zero contour, linearly
    interpolated by contourpy; a piece smaller than a grid cell can be missed). Then:

    - piecewise-linear networks (ReLU, leaky ReLU, identity) are traced exactly, region by region
      (:func:`_walk`): the vertices are the true corners, the pieces exactly straight;
    - smooth ones (tanh, sigmoid) keep the contour's vertices, each moved onto the boundary by Newton
      steps along the exact gradient (:func:`project_onto_boundary`), with the exact normal there.
    """
    e = _margin_vector(net)
    gx, gy, pts = _grid(window, resolution)
    margin = (net.forward(pts) @ e).reshape(gx.shape)
    lines = [np.asarray(line, dtype=float) for line in contourpy.contour_generator(gx, gy, margin).lines(0.0)]
    if net.activation in _SLOPE_BELOW:
        return _trace_exact(net, window, lines, e)
    spacing = max(window[1] - window[0], window[3] - window[2]) / (resolution - 1)
    curves = []
    for v in lines:
        closed = v.shape[0] > 2 and bool(np.allclose(v[0], v[-1]))
        v = v[np.r_[True, np.hypot(*np.diff(v, axis=0).T) > 1e-12]]
        if closed and v.shape[0] > 1 and np.allclose(v[0], v[-1]):
            v = v[:-1]
        if v.shape[0] < 2:
            continue
        along = np.zeros_like(v)
        if not closed:  # an open curve ends on the window's edge: its ends move along that edge
            for i in (0, -1):
                on_x_edge = min(abs(v[i, 0] - window[0]), abs(v[i, 0] - window[1])) < 1e-9 * spacing
                along[i] = (0.0, 1.0) if on_x_edge else (1.0, 0.0)
        v = project_onto_boundary(net, v, e, spacing, along)
        curves.append(Curve(v, margin_and_normal(net, v)[1], closed, False))
    return curves


def refine_class_boundaries(net: Any, lines: list[Array], max_step: float) -> list[Array]:
    """Polylines (V, 2) of a grid contour of a network's class-boundary set (any number of classes),
    each vertex moved onto the boundary between the two classes most likely there by Newton steps on
    ``z_c - z_k`` (:func:`project_onto_boundary`); where three classes meet, the chord across the
    last grid cell stays a chord."""
    out = []
    for v in lines:
        z = net.forward(v)
        top = np.argsort(z, axis=1)[:, -2:]
        E = np.zeros_like(z)
        rows = np.arange(v.shape[0])
        E[rows, top[:, 1]], E[rows, top[:, 0]] = 1.0, -1.0
        out.append(project_onto_boundary(net, v, E, max_step))
    return out


def _angles(a: Array, b: Array) -> Array:
    """Unsigned angle (radians) between rows of ``a`` and ``b``."""
    return np.abs(np.arctan2(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0], (a * b).sum(axis=1)))


def normal_jumps(curve: Curve) -> tuple[Array, Array]:
    """Turn of the normal from each vertex of ``curve`` to the next (radians, wrapping round a closed
    curve), and where each turn happens: the midpoint of the two vertices on a smooth curve, the
    corner itself (the second vertex) on an exactly traced piecewise-linear one."""
    v, n = curve.vertices, curve.normals
    nxt = np.roll(np.arange(v.shape[0]), -1) if curve.closed else np.arange(1, v.shape[0])
    cur = np.arange(nxt.shape[0])
    where = v[nxt] if curve.straight_pieces else 0.5 * (v[cur] + v[nxt])
    return _angles(n[cur], n[nxt]), where


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
    """Length, curvature and corners of the p = 0.5 boundary of a binary network inside ``window``,
    traced by :func:`trace_boundary` (see the module docstring for each key)."""
    curves = trace_boundary(net, window, resolution)
    is_relu = net.activation == "relu" and net.n_layers >= 2
    length = turning = corner_turn = sharpest = 0.0
    corners = pieces = 0
    largest = 0.0
    for curve in curves:
        v, closed = curve.vertices, curve.closed
        d = np.diff(np.vstack([v, v[:1]]) if closed else v, axis=0)
        spacing = np.hypot(d[:, 0], d[:, 1])
        length += float(spacing.sum())
        a, b = (d, np.roll(d, -1, axis=0)) if closed else (d[:-1], d[1:])
        if a.shape[0]:
            sharpest = max(sharpest, float(_angles(a, b).max()))
        jumps, _ = normal_jumps(curve)
        if curve.straight_pieces:  # exact: the normal is constant along each piece and turns only at corners
            big = jumps > np.radians(0.1)
        else:
            big = corner_mask(jumps, spacing[: jumps.size], closed) if jumps.size else np.zeros(0, dtype=bool)
        turning += float(jumps.sum())
        corner_turn += float(jumps[big].sum())
        corners += int(big.sum())
        if big.any():
            largest = max(largest, float(jumps[big].max()))
        if is_relu:  # an exact trace: every vertex but an open curve's two ends is a change of region
            pieces += v.shape[0] if closed else v.shape[0] - 1
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
