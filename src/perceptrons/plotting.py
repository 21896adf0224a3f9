"""Plots for notebooks and the report. matplotlib is imported here and nowhere below this layer.

- :func:`decision_grid` evaluates a model on a grid in one batched call;
- :func:`plot_decision_boundary` draws probabilities as blended class colours, the argmax
  boundary and the points (one marker per class);
- :func:`plot_history` draws loss (with a moving average) and running train / test accuracy;
- :func:`plot_gradcheck` draws the gradient-check error per step on a log scale;
- :func:`plot_error_vs_h` draws the error of forward and central differences against the step h;
- :func:`plot_boundary_grid` draws several models' boundaries side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import NDArray

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


def plot_decision_boundary(
    model: Any,
    X: Array,
    y: Array,
    ax: Axes | None = None,
    resolution: int = 200,
    title: str | None = None,
    window: tuple[float, float, float, float] | None = None,
    class_names: Sequence[str] | None = None,
    legend: bool = True,
) -> Axes:
    """Decision function of ``model`` over 2-D data, any number of classes.

    Each pixel's colour is the probability-weighted blend of the class colours (pale where the
    model is unsure); a black line marks where the most probable class changes; points are drawn
    with one marker and colour per class. Returns the axes.
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
    cols = np.array([matplotlib_rgb(COLORS[c % len(COLORS)]) for c in range(C)])
    rgb = P @ cols  # (R, R, 3): blended colour
    rgb = 1.0 - 0.55 * (1.0 - rgb)  # lighten so the points stay visible
    ax.imshow(rgb, extent=window, origin="lower", aspect="auto", interpolation="bilinear")
    labels = P.argmax(axis=2)
    if C > 1 and labels.min() != labels.max():
        ax.contour(xs, ys, labels, levels=np.arange(C - 1) + 0.5, colors="k", linewidths=1.0)
    names = list(class_names) if class_names is not None else [f"class {c}" for c in range(C)]
    handles = []
    for c in range(C):
        m = y == c
        colour = COLORS[c % len(COLORS)]
        ax.scatter(X[m, 0], X[m, 1], s=18, c=colour, marker=MARKERS[c % len(MARKERS)], edgecolors="k", linewidths=0.4)
        handles.append(Line2D([], [], ls="", marker=MARKERS[c % len(MARKERS)], mfc=colour, mec="k", label=names[c]))
    handles.append(Line2D([], [], color="k", lw=1.0, label="decision boundary"))
    ax.set_xlim(window[0], window[1])
    ax.set_ylim(window[2], window[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.85)
    return ax


def matplotlib_rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


def moving_average(values: Array, window: int) -> Array:
    """Trailing moving average; the first ``window - 1`` points average what is available."""
    v = np.asarray(values, dtype=float)
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_history(hist: Any, axes: Sequence[Axes] | None = None, window: int = 50, title: str = "") -> Figure:
    """Loss per step with its moving average, and running train accuracy with test accuracy."""
    if axes is None:
        fig, axs = plt.subplots(1, 2, figsize=(10, 3.6))
    else:
        axs = list(axes)
        fig = axs[0].figure
    steps = np.arange(1, hist.steps + 1)
    a0, a1 = axs[0], axs[1]
    a0.plot(steps, hist.loss, lw=0.6, alpha=0.45, color="C0", label="loss of each step's batch")
    a0.plot(steps, moving_average(hist.loss, window), lw=1.8, color="C3", label=f"moving average ({window} steps)")
    a0.set_xlabel("step (SGD update)")
    a0.set_ylabel("cross-entropy loss")
    a0.set_title(f"{title}: training loss" if title else "training loss")
    a0.legend(fontsize=8)
    a1.plot(steps, hist.running_accuracy, color="C0", label="running train accuracy")
    if hist.test_accuracy:
        a1.plot(hist.test_steps, hist.test_accuracy, color="C2", marker=".", ms=3, label="test accuracy")
    a1.set_ylim(-0.02, 1.02)
    a1.set_xlabel("step (SGD update)")
    a1.set_ylabel("accuracy")
    a1.set_title(f"{title}: accuracy" if title else "accuracy")
    a1.legend(fontsize=8, loc="lower right")
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


def plot_boundary_grid(
    models: Sequence[Any],
    X: Array,
    y: Array,
    titles: Sequence[str],
    ncols: int = 3,
    resolution: int = 150,
    suptitle: str = "",
) -> Figure:
    """Decision boundaries of several models on the same data and window, in a grid."""
    n = len(models)
    nrows = -(-n // ncols)
    fig, axs = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.5 * nrows), squeeze=False)
    window = window_of(np.asarray(X, dtype=float))
    for i, ax in enumerate(axs.flat):
        if i < n:
            plot_decision_boundary(
                models[i], X, y, ax=ax, resolution=resolution, title=titles[i], window=window, legend=i == 0
            )
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig  # type: ignore[no-any-return]
