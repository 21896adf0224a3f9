"""Plots for notebooks and the report. matplotlib is imported here and nowhere below this layer.

- :func:`decision_grid` evaluates a model on a grid in one batched call;
- :func:`plot_decision_boundary` draws probabilities as class colours faded to white where the
  model is unsure, the class boundary (:func:`boundary_lines`: traced or refined, not just a grid
  contour) and the points (one marker per class);
- :func:`plot_history` draws loss (with a moving average) and running train / test accuracy;
- :func:`plot_gradcheck` draws the gradient-check error per step on a log scale;
- :func:`plot_error_vs_h` draws the error of forward and central differences against the step h;
- :func:`plot_boundary_grid` draws several models' boundaries side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import contourpy
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import NDArray

from .measures import refine_class_boundaries, trace_boundary, traceable

Array = NDArray[Any]
#: class colours (colour-blind friendly, Okabe-Ito) and markers, in class order
COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "^", "s", "D", "v", "P", "X", "*"]


def _proba_fn(model: Any) -> Callable[[Array], Array]:
    if hasattr(model, "predict_proba"):
        return model.predict_proba  # type: ignore[no-any-return]
    if callable(model):
        return model  # type: ignore[no-any-return]
    raise TypeError(f"expected a model with predict_proba or a function (M, 2) -> (M, C), got {type(model).__name__}.")


def window_of(X: Array, margin: float = 0.1) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1): the bounding box of ``X``'s first two columns, widened by ``margin``."""
    lo, hi = X[:, :2].min(axis=0), X[:, :2].max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-9)
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def decision_grid(
    model: Any, window: tuple[float, float, float, float], resolution: int = 200
) -> tuple[Array, Array, Array]:
    """Evaluate ``model`` on a ``resolution`` x ``resolution`` grid over ``window`` in one call.

    Returns ``(xs, ys, P)`` with ``P`` of shape (resolution, resolution, C), ``P[i, j]`` the
    probabilities at ``(xs[j], ys[i])``.
    """
    x0, x1, y0, y1 = window
    xs = np.linspace(x0, x1, resolution)
    ys = np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    P = np.asarray(_proba_fn(model)(pts))
    return xs, ys, P.reshape(resolution, resolution, -1)


def class_margins(P: Array) -> Array:
    """(R, R, C) ``log p_c - max_{k != c} log p_k``: positive where class c wins. The zero level
    of each is the class-boundary set (for two classes, the p = 0.5 contour)."""
    logp = np.log(np.clip(P, 1e-300, None))
    out = np.empty_like(logp)
    for c in range(P.shape[2]):
        others = np.delete(logp, c, axis=2)
        out[..., c] = logp[..., c] - others.max(axis=2)
    return out


def confidence_colours(P: Array, strength: float = 0.55) -> Array:
    """(R, R, 3): the winning class's colour, faded to white where the model is unsure.

    The fade is ``(p_max - 1/C) / (1 - 1/C)``: 0 where every class is equally likely, 1 where one
    class has all the probability; uncertain regions are white, not a muddy blend of colours.
    """
    C = P.shape[2]
    cols = np.array([to_rgb(COLORS[c % len(COLORS)]) for c in range(C)])
    win = P.argmax(axis=2)
    sure = (P.max(axis=2) - 1.0 / C) / max(1.0 - 1.0 / C, 1e-12)
    return np.asarray(1.0 - strength * sure[..., None] * (1.0 - cols[win]))


def boundary_lines(
    model: Any, window: tuple[float, float, float, float], resolution: int, xs: Array, ys: Array, P: Array
) -> list[Array]:
    """The class-boundary set of ``model`` over ``window`` as polylines (V, 2), as exact as the model
    allows: a binary MLP's boundary traced (exactly for ReLU, Newton-refined for smooth activations,
    :func:`~perceptrons.measures.trace_boundary`); another MLP's grid contour moved onto the boundary
    (:func:`~perceptrons.measures.refine_class_boundaries`); any other model's grid contour of ``P``
    (R, R, C) on ``xs`` x ``ys``, linearly interpolated."""
    if traceable(model):
        curves = trace_boundary(model, window, resolution)
        return [np.vstack([c.vertices, c.vertices[:1]]) if c.closed else c.vertices for c in curves]
    margins = class_margins(P)
    lines: list[Array] = []
    for c in range(P.shape[2] if P.shape[2] > 2 else 1):
        if margins[..., c].min() < 0 < margins[..., c].max():
            gen = contourpy.contour_generator(xs, ys, margins[..., c])
            lines += [np.asarray(line, dtype=float) for line in gen.lines(0.0)]
    sizes = getattr(model, "sizes", None)
    if getattr(model, "output", None) == "softmax" and sizes is not None and sizes[0] == 2 and sizes[-1] == P.shape[2]:
        spacing = max(window[1] - window[0], window[3] - window[2]) / (resolution - 1)
        lines = refine_class_boundaries(model, lines, spacing)
    return lines


def plot_points(ax: Axes, X: Array, y: Array, size: float = 16) -> list[Line2D]:
    """Scatter the points with one colour and marker per class; returns legend handles."""
    handles = []
    for c in np.unique(y).astype(int):
        m = y == c
        colour, marker = COLORS[c % len(COLORS)], MARKERS[c % len(MARKERS)]
        ax.scatter(X[m, 0], X[m, 1], s=size, c=colour, marker=marker, edgecolors="k", linewidths=0.4)
        handles.append(Line2D([], [], ls="", marker=marker, mfc=colour, mec="k", label=f"class {c}"))
    return handles


def plot_decision_boundary(
    model: Any,
    X: Array,
    y: Array,
    ax: Axes | None = None,
    resolution: int = 400,
    title: str | None = None,
    window: tuple[float, float, float, float] | None = None,
    class_names: Sequence[str] | None = None,
    legend: bool = True,
) -> Axes:
    """Decision function of ``model`` over 2-D data, any number of classes.

    The background is the winning class's colour faded to white where the model is unsure; the
    black line is the class-boundary set, the zero level of ``log p_c - max_{k != c} log p_k``
    (the p = 0.5 contour for two classes), found on a ``resolution``^2 grid and refined
    (:func:`boundary_lines`: a binary ReLU network's boundary traced exactly, corners included, a
    smooth one's moved onto the boundary by Newton steps); points are
    drawn with one marker and colour per class. The legend goes under the axes, off the data.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision boundaries are drawn for 2-D inputs, got X of shape {X.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    window = window or window_of(X)
    xs, ys, P = decision_grid(model, window, resolution)
    C = P.shape[2]
    ax.imshow(confidence_colours(P), extent=window, origin="lower", aspect="auto", interpolation="bilinear")
    for line in boundary_lines(model, window, resolution, xs, ys, P):
        ax.plot(line[:, 0], line[:, 1], color="k", lw=1.1)
    handles = plot_points(ax, X, y)
    if class_names is not None:
        for h, name in zip(handles, class_names):
            h.set_label(name)
    handles.append(Line2D([], [], color="k", lw=1.1, label="decision boundary (p = 0.5)" if C == 2 else "boundary"))
    ax.set_xlim(window[0], window[1])
    ax.set_ylim(window[2], window[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=len(handles),
            fontsize=7,
            frameon=False,
        )
    return ax


def moving_average(values: Array, window: int) -> Array:
    """Trailing moving average; the first ``window - 1`` points average what is available."""
    v = np.asarray(values, dtype=float)
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


@dataclass
class TrainEval:
    """The full training set evaluated during training, on the same steps as the test set:
    ``steps`` (after whose update), ``accuracy`` and ``loss`` there."""

    steps: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)


def _legend_below(ax: Axes, ncol: int = 2) -> None:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, fontsize=7.5, frameon=False)


def plot_history(
    hist: Any,
    axes: Sequence[Axes] | None = None,
    window: int = 50,
    title: str = "",
    train_eval: TrainEval | None = None,
) -> Figure:
    """Loss and accuracy during training.

    Left: each step's batch loss as faint dots on a log axis (so spikes do not flatten the rest),
    its trailing moving average drawn from step ``window`` on (a full window, not an expanding one),
    and the full training-set loss if ``train_eval`` is given. Right: the full training-set accuracy
    (``train_eval``) and the test accuracy, both measured after the same steps; without
    ``train_eval`` the running accuracy over all steps so far, labelled as such. Legends go under
    the axes, off the data.
    """
    if axes is None:
        fig, axs = plt.subplots(1, 2, figsize=(10, 3.8))
    else:
        axs = list(axes)
        fig = axs[0].figure
    steps = np.arange(1, hist.steps + 1)
    a0, a1 = axs[0], axs[1]
    loss = np.asarray(hist.loss, dtype=float)
    floor = max(1e-4, float(np.percentile(loss, 1)) / 2) if loss.size else 1e-4
    a0.plot(
        steps,
        np.maximum(loss, floor),
        ls="",
        marker=".",
        ms=1.5,
        alpha=0.25,
        color="C0",
        label=f"loss of each step's batch (clipped at {floor:.0e})",
    )
    if hist.steps >= window:
        a0.plot(
            steps[window - 1 :],
            moving_average(loss, window)[window - 1 :],
            lw=1.8,
            color="C3",
            label=f"moving average of the last {window} steps",
        )
    if train_eval is not None and train_eval.steps:
        a0.plot(train_eval.steps, train_eval.loss, lw=1.2, color="k", label="loss on the whole training set")
    a0.set_yscale("log")
    a0.set_ylim(bottom=floor)
    a0.set_xlabel("step (SGD update)")
    a0.set_ylabel("cross-entropy loss (log scale)")
    a0.set_title(f"{title}: loss" if title else "loss", fontsize=10)
    _legend_below(a0, 2)
    if train_eval is not None and train_eval.steps:
        a1.plot(train_eval.steps, train_eval.accuracy, color="k", lw=1.2, label="accuracy on the whole training set")
    else:
        a1.plot(steps, hist.running_accuracy, color="C0", label="running train accuracy (all steps so far)")
    if hist.test_accuracy:
        a1.plot(hist.test_steps, hist.test_accuracy, color="C2", lw=1.2, label="test accuracy")
    a1.set_ylim(-0.02, 1.02)
    a1.set_xlabel("step (SGD update)")
    a1.set_ylabel("accuracy")
    a1.set_title(f"{title}: accuracy" if title else "accuracy", fontsize=10)
    _legend_below(a1, 2)
    fig.tight_layout()
    return fig  # type: ignore[no-any-return]


def plot_gradcheck(hist: Any, ax: Axes | None = None, title: str = "gradient check during training") -> Axes:
    """Max relative error between analytic and central-difference gradients per step (log scale)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    err = np.maximum(np.asarray(hist.gradcheck_error, dtype=float), 1e-16)
    ax.semilogy(hist.gradcheck_steps, err, lw=0.7, color="C4", label="max relative error (all parameters)")
    ax.axhline(1e-6, color="k", ls="--", lw=0.8, label="tolerance 1e-6")
    ax.set_xlabel("step (checked before the update, at the step's weights)")
    ax.set_ylabel("relative error |a-n| / max(|a|+|n|, atol/rtol)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_error_vs_h(
    curves: Any,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    title: str = "finite differences: error against the step h",
) -> Axes:
    """The V of truncation against roundoff: ``||n - a|| / ||a||`` of forward and central differences
    over h (log-log), for one or several :class:`~perceptrons.core.gradcheck.ErrorVsH` (e.g. a correct
    and a wrong gradient), with the steps ``gradcheck`` accepts shaded and eps/h for reference."""
    many: list[Any] = list(curves) if isinstance(curves, (list, tuple)) else [curves]
    names = list(labels) if labels is not None else [c.source for c in many]
    if len(names) != len(many):
        raise ValueError(f"labels must name each of the {len(many)} curves, got {len(names)} labels.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    first = many[0]
    ax.axvspan(*first.h_range, color="0.9", label="steps gradcheck accepts")
    ax.axvline(first.default_h, color="0.5", lw=0.8, ls=":", label=f"default h = {first.default_h:g}")
    eps = np.finfo(np.float64).eps
    ax.loglog(first.h, eps / first.h, color="0.6", lw=0.8, ls="--", label="eps / h (roundoff)")
    for i, (c, name) in enumerate(zip(many, names)):
        tiny = np.finfo(np.float64).tiny
        ax.loglog(c.h, np.maximum(c.forward, tiny), color=COLORS[i], ls="--", marker=".", label=f"{name}: forward")
        ax.loglog(c.h, np.maximum(c.central, tiny), color=COLORS[i], marker="o", ms=3, label=f"{name}: central")
    ax.set_ylim(max(1e-13, 0.3 * min(float(c.central.min()) for c in many)), None)
    ax.set_xlabel("step h")
    ax.set_ylabel("||numerical - analytic|| / ||analytic||")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax


def figure_legend_below(fig: Figure, ax: Axes) -> None:
    """Move ``ax``'s legend to the bottom of ``fig``, one row, under every panel (an axes' legend under
    the axes would cover the next row's title or its own x label)."""
    leg = ax.get_legend()
    if leg is None:
        return
    handles = [h for h in leg.legend_handles if h is not None]
    labels = [t.get_text() for t in leg.get_texts()]
    leg.remove()
    fig.legend(handles=handles, labels=labels, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)


def plot_boundary_grid(
    models: Sequence[Any],
    X: Array,
    y: Array,
    titles: Sequence[str],
    ncols: int = 3,
    resolution: int = 300,
    suptitle: str = "",
    window: tuple[float, float, float, float] | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Decision boundaries of several models on the same data and window, in a grid."""
    n = len(models)
    nrows = -(-n // ncols)
    fig, axs = plt.subplots(nrows, ncols, figsize=figsize or (3.6 * ncols, 3.5 * nrows + 0.4), squeeze=False)
    window = window or window_of(np.asarray(X, dtype=float))
    for i, ax in enumerate(axs.flat):
        if i < n:
            plot_decision_boundary(
                models[i], X, y, ax=ax, resolution=resolution, title=titles[i], window=window, legend=i == 0
            )
        else:
            ax.axis("off")
    figure_legend_below(fig, axs.flat[0])
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight(), 1, 1))
    return fig  # type: ignore[no-any-return]


def plot_linear_regions(
    ax: Axes,
    ids: Array,
    W: Array,
    b: Array,
    X: Array,
    y: Array,
    window: tuple[float, float, float, float],
    title: str = "",
) -> None:
    """The linear regions of a one-hidden-layer ReLU network and the lines that cut them.

    ``ids`` (R, R): each grid point's region id over ``window`` (row i at the i-th y); ``W`` (2, H),
    ``b`` (H,): the hidden layer, whose unit j switches on the line ``W[:, j] . x + b[j] = 0``.
    """
    n = int(ids.max()) + 1
    rng = np.random.default_rng(0)  # fixed colours: a region's colour carries no meaning
    palette = 0.55 + 0.45 * rng.random((n, 3))
    ax.imshow(palette[ids], extent=window, origin="lower", aspect="auto", interpolation="nearest")
    xs = np.linspace(window[0], window[1], 2)
    for j in range(W.shape[1]):
        w0, w1 = W[0, j], W[1, j]
        if abs(w1) > abs(w0):
            ax.plot(xs, -(w0 * xs + b[j]) / w1, color="k", lw=0.8)
        else:
            ys = np.array(window[2:])
            ax.plot(-(w1 * ys + b[j]) / w0, ys, color="k", lw=0.8)
    plot_points(ax, X, y, size=9)
    ax.set_xlim(window[0], window[1])
    ax.set_ylim(window[2], window[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title, fontsize=9)
