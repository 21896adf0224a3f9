"""The course study as experiments that return numbers, figures and sentences (no I/O; see report.py).

Every number the report's text quotes is stored in ``Study.metrics`` under a dotted key, and every
sentence of commentary is generated from those numbers. :func:`run_study` is a list of named steps:
one experiment each (:func:`_blobs`, :func:`_moons`, :func:`_gradient_checks`,
:func:`_learning_rates`, :func:`_circles`), then the sections (:mod:`perceptrons.study_text`).
The data types (:class:`Study`, :class:`Section`, ...) live in :mod:`perceptrons.study_model`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

from . import study_captions as captions
from .core import MLP, Adam, History, NetworkStack, StepInfo, TrainingDiverged, gradcheck, train
from .core.network import loss_and_grads
from .datasets import blobs, circles, moons, train_test_split
from .exercises import planted_bug_demo
from .measures import boundary_measures, linear_regions, normal_jumps, region_bound, region_ids, trace_boundary
from .plotting import (
    COLORS,
    TrainEval,
    figure_legend_below,
    plot_boundary_grid,
    plot_decision_boundary,
    plot_error_vs_h,
    plot_history,
    plot_linear_regions,
    window_of,
)
from .study_model import (
    LAST,
    LEARNING_RATES,
    REGION_WIDTHS,
    RESOLUTION,
    SHOWN_WIDTHS,
    WIDTHS,
    Section,
    Study,
    StudyConfig,
)
from .study_text import build_sections
from .sweep import run_jobs


@dataclass
class _Run:
    """One course-protocol run: the network, its history and the whole training set evaluated on
    the test set's steps."""

    net: MLP
    hist: History
    train_eval: TrainEval
    grad_norms: list[float] = field(default_factory=list)
    diverged_at: int = 0


def _mean_sd(values: list[float]) -> dict[str, Any]:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if a.size > 1 else 0.0, "values": a.tolist()}


def _course_run(
    sizes: list[int],
    activation: str,
    data: tuple[Any, ...],
    lr: float,
    steps: int,
    seed: int,
    gradcheck_every: int = 0,
    eval_every: int = 10,
    record_norms: bool = False,
) -> _Run:
    """The notebook's protocol (N(0, 1) init, per-sample SGD, indices drawn with replacement), with
    the whole training set evaluated after the same steps as the test set (1, 1 + eval_every, ...,
    and the last), and (``record_norms``) the gradient norm at every step."""
    Xtr, Xte, ytr, yte = data
    net = MLP(sizes, activation=activation, init="normal", seed=seed)
    rec = TrainEval()
    norms: list[float] = []

    rows = np.arange(len(ytr))

    def record(s: int) -> None:  # one forward pass gives both the loss and the accuracy
        P = net.predict_proba(Xtr)
        rec.steps.append(s)
        rec.accuracy.append(float(np.mean(P.argmax(axis=1) == ytr)))
        rec.loss.append(float(-np.mean(np.log(np.maximum(P[rows, ytr], 1e-300)))))

    def on_step(info: StepInfo) -> None:
        if record_norms:
            norms.append(float(np.sqrt(sum(float((g * g).sum()) for g in info.grads.values()))))
        if info.step >= 2 and (info.step - 2) % eval_every == 0:  # weights after step info.step - 1
            record(info.step - 1)

    diverged_at = 0
    try:
        hist = train(
            net, Xtr, ytr, lr=lr, batch_size=1, sampling="replacement", steps=steps, eval_data=(Xte, yte),
            eval_every=eval_every, gradcheck_every=gradcheck_every, seed=seed + 1, on_step=on_step,
        )  # fmt: skip
    except TrainingDiverged as exc:
        hist = exc.history
        diverged_at = hist.steps + 1
    if not rec.steps or rec.steps[-1] != hist.steps:
        record(hist.steps)
    return _Run(net, hist, rec, norms, diverged_at)


def _last(values: list[float]) -> float:
    return float(np.mean(values[-LAST:]))


def _decades(loss: Any) -> float:
    """How many orders of magnitude the per-sample losses span, 1st to 99th percentile."""
    pos = np.asarray(loss, dtype=float)
    pos = pos[pos > 0]
    return float(np.log10(np.percentile(pos, 99) / np.percentile(pos, 1))) if pos.size else 0.0


def _blobs_view(net: MLP, X: Any) -> dict[str, Any]:
    """How many classes win somewhere in the figure's window (``window_of(X)``), and whether the point
    where all three of a single layer's class scores are equal, z_0 = z_1 = z_2, lies in it."""
    window = window_of(X)
    xs, ys = np.linspace(window[0], window[1], 200), np.linspace(window[2], window[3], 200)
    gx, gy = np.meshgrid(xs, ys)
    classes = int(np.unique(net.predict(np.column_stack([gx.ravel(), gy.ravel()]))).size)
    W, b = net.params["W0"], net.params["b0"]
    A = np.array([W[:, 0] - W[:, 1], W[:, 1] - W[:, 2]])
    inside = False
    if abs(np.linalg.det(A)) > 1e-12:
        p = np.linalg.solve(A, [b[1] - b[0], b[2] - b[1]])
        inside = bool(window[0] <= p[0] <= window[1] and window[2] <= p[1] <= window[3])
    return {"classes_in_view": classes, "junction_in_view": inside}


def _shown_run(net: MLP, data: tuple[Any, ...], seed: int) -> dict[str, Any]:
    """The first seed's network, as its figure shows it: test points on the wrong side per class and,
    for a hidden layer, its boundary's pieces and corners over the figure's window."""
    Xte, yte = data[1], data[3]
    pred = net.predict(Xte)
    out: dict[str, Any] = {
        "seed": seed,
        "test_accuracy": float(np.mean(pred == yte)),
        "wrong_class0": int(np.sum((yte == 0) & (pred != 0))),
        "wrong_class1": int(np.sum((yte == 1) & (pred != 1))),
    }
    if net.n_layers > 1 and net.activation == "relu":
        bm = boundary_measures(net, window_of(Xte), RESOLUTION)
        out.update({k: bm[k] for k in ("curves", "pieces", "corners")})
    return out


def train_to_plateau(
    net: MLP,
    Xtr: Any,
    ytr: Any,
    seed: int,
    max_epochs: int,
    lr: float = 0.01,
    batch_size: int = 32,
    check_every: int = 10,
    window: int = 50,
    rel_tol: float = 0.02,
) -> tuple[int, list[float]]:
    """Adam, mini-batches in a seeded order, until the full training loss stops falling.

    "Plateau": the loss fell by less than ``rel_tol`` (relative) over the last ``window`` epochs,
    checked every ``check_every`` epochs; or ``max_epochs`` reached. Returns (epochs, the full
    training loss at epochs 0, check_every, 2 check_every, ...).
    """
    rng = np.random.default_rng(seed)
    opt = Adam(lr)
    losses = [net.loss(Xtr, ytr)]
    epochs = 0
    lag = window // check_every
    while epochs < max_epochs:
        train(net, Xtr, ytr, opt=opt, batch_size=batch_size, sampling="epochs", epochs=check_every, seed=rng)
        epochs += check_every
        losses.append(net.loss(Xtr, ytr))
        if len(losses) > lag and losses[-1 - lag] - losses[-1] < rel_tol * losses[-1 - lag]:
            break
    return epochs, losses


# ----------------------------------------------------------------------------------------------
# the experiments, one named step each


def _blobs(study: Study) -> tuple[_Run, tuple[Any, ...]]:
    """Tasks 1-4: the single layer on blobs, gradient-checked at every step."""
    s0 = study.config.seed
    Xb, yb = blobs(300, k=3, noise=1.0, seed=s0)
    data = train_test_split(Xb, yb, test_size=0.25, seed=s0)
    run = _course_run([2, 3], "identity", data, 0.01, 1000, s0, gradcheck_every=1, record_norms=True)
    h = run.hist
    err = np.asarray(h.gradcheck_norm_error)
    norms = np.asarray(run.grad_norms[: err.size])
    rho = spearmanr(err, norms).statistic if err.size > 2 else 0.0
    study.metrics["blobs"] = {
        "n_train": len(data[2]),
        "n_test": len(data[3]),
        "steps": h.steps,
        "test_accuracy": _last(h.test_accuracy),
        "train_accuracy": _last(run.train_eval.accuracy),
        "final_loss_ma50": float(h.loss[-50:].mean()),
        "first_loss_ma50": float(h.loss[:50].mean()),
        "gradcheck_max_rel_error": float(max(h.gradcheck_error)),
        "gradcheck_max_norm_error": float(err.max()),
        "gradcheck_norm_error_first100": float(err[:100].mean()),
        "gradcheck_norm_error_last100": float(err[-100:].mean()),
        "grad_norm_first100": float(norms[:100].mean()),
        "grad_norm_last100": float(norms[-100:].mean()),
        "error_vs_grad_norm_spearman": float(rho),
        "sample_loss_decades": _decades(h.loss),
        **_blobs_view(run.net, data[1]),
        "time_s": h.time_s,
    }
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 4.6), sharex=True, height_ratios=(3, 2))
    ax.semilogy(h.gradcheck_steps, np.maximum(err, 1e-17), lw=0.6, color="C4",
                label="normwise relative error ||a - n|| / (||a|| + ||n||)")  # fmt: skip
    ax.axhline(1e-6, color="k", ls="--", lw=0.8, label="tolerance 1e-6")
    ax.set_ylim(top=max(3e-6, 3 * float(err.max())))  # the tolerance in view, and any error above it
    ax.set_ylabel("relative error")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    ax2.semilogy(np.arange(1, norms.size + 1), norms, lw=0.6, color="C7")
    ax2.set_ylabel("gradient norm ||a||")
    ax2.set_xlabel("step (checked before the update, at the step's weights)")
    fig.tight_layout()
    study.add_figure("blobs_gradcheck", fig, *captions.blobs_gradcheck(study.metrics))
    study.add_figure(
        "blobs_curves", plot_history(h, title="Single layer, blobs", train_eval=run.train_eval),
        *captions.blobs_curves(study.metrics),
    )  # fmt: skip
    fig, ax = plt.subplots(figsize=(5.2, 5.4))
    plot_decision_boundary(run.net, data[1], data[3], ax=ax,
                           title=f"Single layer on blobs (test points), accuracy {h.test_accuracy[-1]:.3f}")  # fmt: skip
    fig.tight_layout()
    study.add_figure("blobs_boundary", fig, *captions.blobs_boundary(study.metrics))
    return run, data


def _moons(study: Study) -> tuple[dict[str, _Run], tuple[Any, ...]]:
    """Tasks 5-6: one layer against two on moons, same learning rate, several seeds."""
    cfg = study.config
    s0 = cfg.seed
    Xm, ym = moons(1000, noise=0.2, seed=s0)
    data = train_test_split(Xm, ym, test_size=0.25, seed=s0)
    steps, lr = cfg.moons_steps, 0.1
    seeds = [s0 + i for i in range(cfg.n_seeds)]
    models = {"moons_linear": ([2, 2], "identity"), "moons_relu16": ([2, 16, 2], "relu"),
              "moons_tanh16": ([2, 16, 2], "tanh")}  # fmt: skip
    shown: dict[str, _Run] = {}
    for key, (sizes, act) in models.items():
        tests, trains = [], []
        for seed in seeds:
            run = _course_run(sizes, act, data, lr, steps, seed)
            tests.append(_last(run.hist.test_accuracy))
            trains.append(_last(run.train_eval.accuracy))
            if seed == s0:
                shown[key] = run
        study.metrics[key] = {
            "steps": steps, "lr": lr, "seeds": seeds,
            "test_accuracy": float(np.mean(tests)), "test_accuracy_sd": _mean_sd(tests)["sd"],
            "train_accuracy": float(np.mean(trains)), "train_accuracy_sd": _mean_sd(trains)["sd"],
            "test_minus_train": float(np.mean(tests) - np.mean(trains)),
            "test_se": float(np.sqrt(np.mean(tests) * (1 - np.mean(tests)) / len(data[3]))),
        }  # fmt: skip
    m = study.metrics
    m["moons_relu16"]["gain_over_linear"] = m["moons_relu16"]["test_accuracy"] - m["moons_linear"]["test_accuracy"]
    m["moons_tanh16"]["gain_over_linear"] = m["moons_tanh16"]["test_accuracy"] - m["moons_linear"]["test_accuracy"]
    m["moons"] = {"n_train": len(data[2]), "n_test": len(data[3]), "seeds": seeds}
    lin, relu = shown["moons_linear"], shown["moons_relu16"]
    for key, run in (("moons_linear", lin), ("moons_relu16", relu)):
        m[key]["shown"] = _shown_run(run.net, data, s0)
    for name, key, run, label in (("moons_linear", "moons_linear", lin, "Single layer"),
                                  ("moons_relu", "moons_relu16", relu, "2-16-2 ReLU")):  # fmt: skip
        fig, ax = plt.subplots(figsize=(5.2, 5.4))
        plot_decision_boundary(run.net, data[1], data[3], ax=ax,
                               title=f"{label} on moons (test points), seed {s0}, accuracy {run.hist.test_accuracy[-1]:.3f}")  # fmt: skip
        fig.tight_layout()
        study.add_figure(f"{name}_boundary", fig, *captions.moons_boundary(m, key, label))
        study.add_figure(
            f"{name}_curves",
            plot_history(run.hist, title=f"{label}, moons", train_eval=run.train_eval),
            f"{label} on moons, seed {s0}: per-sample loss (dots, log scale) with its 50-step average and "
            "the whole-training-set loss; accuracy on the whole training set and on the test set after the "
            "same steps. Look at where the accuracy curves level off and how far apart they are.",
            f"Loss and accuracy curves of the {label} network over {steps} steps.",
        )
    return shown, data


def _gradient_checks(
    study: Study, blob_run: _Run, blob_data: tuple[Any, ...], moon_runs: dict[str, _Run], moon_data: tuple[Any, ...]
) -> None:
    """Question 2 / Task 3: per-parameter checks of three trained networks (20 test samples)."""
    m = study.metrics.setdefault("gradcheck", {})
    for name, net, data in (
        ("blobs_linear", blob_run.net, blob_data),
        ("moons_relu16", moon_runs["moons_relu16"].net, moon_data),
        ("moons_tanh16", moon_runs["moons_tanh16"].net, moon_data),
    ):
        res = gradcheck(net, data[1][:20], data[3][:20])
        study.checks[name] = res
        m[name] = {
            "max_rel_error": res.max_rel_error,
            "norm_rel_error": res.norm_rel_error,
            "kinks": res.n_kinks,
            "passed": res.passed,
            "per_param": {k: v[0] for k, v in res.per_param.items()},
        }
    m["max_abs_error"] = max(c.max_abs_error for r in study.checks.values() for c in r.checks.values())


def gradcheck_extras(study: Study, section: Section) -> None:
    """Question 2, continued: the check catching a planted mistake, and why the step h matters.

    The course's tanh network is checked twice at one random point with :func:`perceptrons.gradcheck`
    in its functional form: once with tanh' = 1 - h^2 read from the output h, once with the mistake a
    student makes, tanh' taken of the output again (1 - tanh(h)^2). The error-versus-h curves of both
    show the V of truncation against roundoff for the correct code and a floor at the bug's size.
    """
    demo = planted_bug_demo(seed=study.config.seed)
    m = study.metrics.setdefault("planted_bug", {})
    for name, res, curve in (("correct", demo.correct, demo.correct_curve), ("buggy", demo.buggy, demo.buggy_curve)):
        m[name] = {
            "passed": res.passed,
            "max_rel_error": res.max_rel_error,
            "norm_rel_error": res.norm_rel_error,
            "best_h_central": curve.best_h["central"],
            "min_central_error": float(np.min(curve.central)),
        }
    m["h"] = demo.correct.h
    m["rtol"] = demo.correct.rtol
    fig, ax = plt.subplots(figsize=(7, 4.2))
    plot_error_vs_h(
        [demo.correct_curve, demo.buggy_curve], ax=ax, labels=["correct: 1 - h^2", "planted: 1 - tanh(h)^2"]
    )
    study.add_figure("gradcheck_error_vs_h", fig, *captions.error_vs_h(study.metrics))
    q = study.q
    verdict = {True: "passes", False: "FAILS"}
    section.p(
        "Does the check catch a real mistake? The course's tanh network, checked at one random point with the "
        f"gradient written two ways (central differences, h = {q('planted_bug.h', '.0e')}, tolerance "
        f"{q('planted_bug.rtol', '.0e')}): with tanh' = 1 - h^2 read from the output, the check "
        f"{verdict[bool(m['correct']['passed'])]} (largest relative error "
        f"{q('planted_bug.correct.max_rel_error', '.1e')}); with the planted mistake, tanh' taken of the "
        f"output again (1 - tanh(h)^2), it {verdict[bool(m['buggy']['passed'])]} (largest relative error "
        f"{q('planted_bug.buggy.max_rel_error', '.1e')})."
    )
    section.fig("gradcheck_error_vs_h")
    section.p(
        "Why the step h matters: a forward difference errs by O(h) and a central one by O(h^2) (truncation, the "
        "right arm of the V), while the rounding of the two losses, divided by h, grows as h shrinks (the left "
        f"arm). For the correct code the central difference is best at h = "
        f"{q('planted_bug.correct.best_h_central', '.0e')} (error "
        f"{q('planted_bug.correct.min_central_error', '.1e')}); for the planted mistake no h brings the "
        f"error below {q('planted_bug.buggy.min_central_error', '.1e')}."
    )


def _learning_rates(study: Study, data: tuple[Any, ...]) -> None:
    """Beyond the notebook: the learning rate, and the noise of per-sample SGD (2-16-2 ReLU, moons)."""
    s0 = study.config.seed
    steps = study.config.moons_steps
    out: list[dict[str, Any]] = []  # a list: "0.001" cannot be part of a dotted key
    curves: dict[float, _Run] = {}
    for lr in LEARNING_RATES:
        run = _course_run([2, 16, 2], "relu", data, lr, steps, s0)
        curves[lr] = run
        te = run.train_eval
        half = len(te.loss) // 2
        tail = np.asarray(te.loss[-50:])
        out.append(
            {
                "lr": lr,
                "diverged": bool(run.diverged_at),
                "diverged_at": run.diverged_at,
                "initial_loss": te.loss[0],
                "final_loss": _last(te.loss),
                "mid_loss": float(np.mean(te.loss[max(0, half - LAST) : half])) if half else te.loss[0],
                "final_train_accuracy": _last(te.accuracy),
                # ReLU units off for every training sample: they pass no gradient and never recover
                "dead_units": int(np.all(data[0] @ run.net.params["W0"] + run.net.params["b0"] <= 0, axis=0).sum()),
                "fluctuation": float(tail.std() / tail.mean()) if tail.size > 1 and np.isfinite(tail).all() else 0.0,
            }
        )
    best = min((v for v in out if not v["diverged"]), key=lambda v: v["final_loss"])["lr"]
    # gradient noise of per-sample SGD at the trained weights of the learning rate 0.1 run
    net = curves[0.1].net
    Xtr, ytr = data[0], data[2]
    _, g_full = loss_and_grads(net.params, Xtr, ytr, net.activation)
    full = np.concatenate([g.ravel() for g in g_full.values()])
    dev = []
    for i in range(min(300, len(ytr))):
        _, gi = loss_and_grads(net.params, Xtr[i : i + 1], ytr[i : i + 1], net.activation)
        dev.append(float(np.sum((np.concatenate([g.ravel() for g in gi.values()]) - full) ** 2)))
    study.metrics["learning_rate"] = {
        "rates": out,
        "best": best,
        "steps": steps,
        "grad_noise_ratio": float(np.mean(dev) / max(float(full @ full), 1e-300)),
        "full_grad_norm": float(np.sqrt(full @ full)),
        "per_sample_grad_rms": float(np.sqrt(np.mean(dev))),
    }
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (lr, run) in enumerate(curves.items()):
        te = run.train_eval
        colour = ["#999999", "#56B4E9", "#009E73", "#E69F00", "#D55E00"][i]
        label = f"lr {lr:g}" + (f" (diverged at step {run.diverged_at})" if run.diverged_at else "")
        axs[0].plot(te.steps, te.loss, color=colour, lw=1.2, label=label)
        axs[1].plot(te.steps, te.accuracy, color=colour, lw=1.2, label=label)
    axs[0].set_yscale("log")
    axs[0].set_ylabel("loss on the whole training set (log scale)")
    axs[1].set_ylabel("accuracy on the whole training set")
    for ax in axs:
        ax.set_xlabel("step (per-sample SGD update)")
    axs[0].legend(loc="upper center", bbox_to_anchor=(1.1, -0.2), ncol=5, fontsize=8, frameon=False)
    fig.tight_layout()
    study.add_figure(
        "learning_rates", fig,
        f"The same 2-16-2 ReLU network, initial weights and sample order, trained on moons at five learning "
        f"rates (seed {s0}). Compare how fast and how smoothly each rate's loss falls, and which curves "
        "stall or stop (divergence).",
        "Two line charts of whole-training-set loss (log scale) and accuracy against step, one line per "
        "learning rate from 0.001 to 10.",
    )  # fmt: skip


def train_many_to_plateau(
    nets: list[MLP],
    Xtr: Any,
    ytr: Any,
    seeds: list[int],
    max_epochs: int,
    lr: float = 0.01,
    batch_size: int = 32,
    check_every: int = 10,
    window: int = 50,
    rel_tol: float = 0.02,
) -> list[tuple[int, list[float]]]:
    """:func:`train_to_plateau` for networks of the same sizes at once (one stack, :class:`NetworkStack`):
    network k gets seed ``seeds[k]`` for its own sample order and its own Adam, and leaves the stack at its
    own plateau, so each ends as ``train_to_plateau(nets[k], ..., seeds[k], ...)`` would (to rounding)."""
    rngs = [np.random.default_rng(seed) for seed in seeds]
    stack = NetworkStack(nets, optimizer="adam", lr=lr)
    losses = [[net.loss(Xtr, ytr)] for net in nets]
    epochs = [0] * len(nets)
    lag = window // check_every
    while len(stack.active):
        active = [int(k) for k in stack.active]
        stack.train(Xtr, ytr, batch_size=batch_size, sampling="epochs", epochs=check_every,
                    seed=[rngs[k] for k in active])  # fmt: skip
        done = []
        for k in active:
            epochs[k] += check_every
            losses[k].append(nets[k].loss(Xtr, ytr))
            fell = len(losses[k]) > lag and losses[k][-1 - lag] - losses[k][-1] < rel_tol * losses[k][-1 - lag]
            if fell or epochs[k] >= max_epochs:
                done.append(k)
        stack.drop(done)
    return list(zip(epochs, losses))


def _width_values(
    net: MLP, epochs: int, losses: list[float], circ: tuple[Any, ...], window: Any, max_epochs: int
) -> dict[str, float]:
    """The measures of one trained circles network (accuracies, loss, epochs, boundary, linear regions)."""
    vals = {
        "train_accuracy": net.accuracy(circ[0], circ[2]),
        "test_accuracy": net.accuracy(circ[1], circ[3]),
        "final_loss": losses[-1],
        "epochs": float(epochs),
        "at_cap": float(epochs >= max_epochs),
        **boundary_measures(net, window, RESOLUTION),
    }
    if net.activation == "relu":
        width = net.sizes[1]
        vals["regions"] = float(linear_regions(net, window, RESOLUTION))
        vals["region_bound"] = float(region_bound(width))
    return vals


def _train_widths(
    act: str, w: int, seeds: list[int], circ: tuple[Any, ...], window: Any, max_epochs: int
) -> list[tuple[MLP, dict[str, float], list[float]]]:
    """One cell of the width x seed grid: the 2-w-2 networks of every seed trained as one stack, measured."""
    nets = [MLP([2, w, 2], activation=act, seed=seed) for seed in seeds]
    runs = train_many_to_plateau(nets, circ[0], circ[2], seeds, max_epochs)
    return [(net, _width_values(net, epochs, losses, circ, window, max_epochs), losses)
            for net, (epochs, losses) in zip(nets, runs)]  # fmt: skip


def _circles(study: Study, say: Callable[[str, float], None]) -> None:
    """Tasks 7-8: 2-H-2 networks on circles, ReLU and tanh, trained to a plateau, several seeds."""
    cfg = study.config
    s0 = cfg.seed
    Xc, yc = circles(500, noise=0.15, seed=s0)
    circ = train_test_split(Xc, yc, test_size=0.25, seed=s0)
    window = window_of(Xc)
    seeds = [s0 + 100 + i for i in range(cfg.n_seeds)]
    m = study.metrics
    m["circles"] = {"n_train": len(circ[2]), "n_test": len(circ[3]), "seeds": seeds, "widths": list(WIDTHS),
                    "max_epochs": cfg.max_epochs, "resolution": RESOLUTION}  # fmt: skip
    shown: dict[str, dict[int, MLP]] = {"relu": {}, "tanh": {}}
    curves: dict[str, dict[int, list[float]]] = {"relu": {}, "tanh": {}}
    runs = len(WIDTHS) * len(seeds) * 2
    cells = [(act, w) for act in ("relu", "tanh") for w in WIDTHS]
    say(f"circles: {len(cells)} cells of {len(seeds)} seeds ({cfg.jobs} jobs)", 0.45)
    results = run_jobs(_train_widths, [(act, w, seeds, circ, window, cfg.max_epochs) for act, w in cells], cfg.jobs)
    for i, ((act, w), cell) in enumerate(zip(cells, results)):
        say(f"circles: {act}, {w} hidden units", 0.45 + 0.4 * (i + 1) / len(cells))
        rec: dict[str, list[float]] = {}
        for _, vals, _ in cell:
            for k, v in vals.items():
                rec.setdefault(k, []).append(float(v))
        shown[act][w], curves[act][w] = cell[0][0], cell[0][2]
        m.setdefault(f"circles_{act}", {})[str(w)] = {k: _mean_sd(v) for k, v in rec.items()}
    m["circles"]["runs_at_cap"] = int(
        sum(sum(m[f"circles_{a}"][str(w)]["at_cap"]["values"]) for a in ("relu", "tanh") for w in WIDTHS)
    )
    m["circles"]["runs"] = runs
    say("circles: figures", 0.86)
    _circle_figures(study, shown, curves, circ, window, seeds[0])


def _circle_figures(
    study: Study, shown: dict[str, dict[int, MLP]], curves: dict[str, dict[int, list[float]]], circ: tuple[Any, ...],
    window: Any, seed: int,
) -> None:  # fmt: skip
    Xte, yte = circ[1], circ[3]
    relu = [shown["relu"][w] for w in WIDTHS]
    capped = any(study.metrics["circles_relu"][str(w)]["at_cap"]["values"][0] for w in WIDTHS)
    title = f"2-H-2 ReLU networks on circles (test points), seed {seed}, trained to a loss plateau" + (
        " or the epoch cap" if capped else ""
    )
    study.add_figure(
        "circles_relu_grid",
        plot_boundary_grid(relu, Xte, yte, [f"ReLU, {w} units, test acc. {n.accuracy(Xte, yte):.3f}" for w, n in zip(WIDTHS, relu)],
                           resolution=RESOLUTION, window=window, suptitle=title),  # fmt: skip
        *captions.relu_grid(study.metrics, seed),
    )  # fmt: skip
    _regions_figure(study, shown["relu"], circ, window, seed)
    _plateau_figure(study, curves, seed)
    _relu_tanh_figure(study, shown, circ, window, seed)
    _measures_figure(study)


def _regions_figure(study: Study, nets: dict[int, MLP], circ: tuple[Any, ...], window: Any, seed: int) -> None:
    res = 300
    xs, ys = np.linspace(window[0], window[1], res), np.linspace(window[2], window[3], res)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    fig, axs = plt.subplots(1, len(REGION_WIDTHS), figsize=(5 * len(REGION_WIDTHS), 5))
    for ax, w in zip(axs, REGION_WIDTHS):
        net = nets[w]
        ids = region_ids(net, pts).reshape(res, res)
        n = int(ids.max()) + 1
        plot_linear_regions(ax, ids, net.params["W0"], net.params["b0"], circ[0], circ[2], window,
                            title=f"{w} ReLU units: {n} regions in view (at most {region_bound(w)} in the plane)")  # fmt: skip
    fig.tight_layout()
    study.add_figure(
        "linear_regions", fig,
        f"Linear regions of the {REGION_WIDTHS[0]}- and {REGION_WIDTHS[1]}-unit ReLU networks (seed {seed}), over the "
        "training points. Each black line is one hidden unit's switching line w_j . x + b_j = 0; each coloured cell is "
        "a region where the network is one affine function. Compare the count with 1 + H + H(H-1)/2, the most H lines "
        "can make (crossings of the lines outside the view make regions that are not counted).",
        "The plane cut by straight lines into coloured polygonal cells, with the circles data drawn on top.",
    )  # fmt: skip


def _plateau_figure(study: Study, curves: dict[str, dict[int, list[float]]], seed: int) -> None:
    cap = study.config.max_epochs
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    colours = ["#999999", "#56B4E9", "#009E73", "#E69F00", "#D55E00", "#000000"]
    for ax, act in zip(axs, ("relu", "tanh")):
        for colour, w in zip(colours, WIDTHS):
            loss = curves[act][w]
            ep = np.arange(len(loss)) * 10
            ax.plot(ep, loss, color=colour, lw=1.2, label=f"{w} units")
            if ep[-1] >= cap:
                ax.plot(ep[-1], loss[-1], marker="x", color="r", ms=8, mew=2)
        ax.axvline(cap, color="r", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("epoch (loss measured every 10)")
        ax.set_title(f"{'ReLU' if act == 'relu' else 'tanh'}, seed {seed}", fontsize=10)
    axs[0].set_ylabel("loss on the whole training set (log)")
    fig.legend(*axs[0].get_legend_handles_labels(), loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    study.add_figure("circles_curves", fig, *captions.plateau(study.metrics, seed))


def _largest_corner(net: MLP, window: Any) -> tuple[float, float]:
    """Where the boundary of ``net`` turns most between two neighbouring traced vertices."""
    best, where = -1.0, (0.5 * (window[0] + window[1]), 0.5 * (window[2] + window[3]))
    for curve in trace_boundary(net, window, RESOLUTION):
        jumps, mids = normal_jumps(curve)
        if jumps.size and jumps.max() > best:
            best, where = float(jumps.max()), (float(mids[jumps.argmax(), 0]), float(mids[jumps.argmax(), 1]))
    return where


def _relu_tanh_figure(
    study: Study, shown: dict[str, dict[int, MLP]], circ: tuple[Any, ...], window: Any, seed: int
) -> None:
    Xte, yte = circ[1], circ[3]
    k = len(SHOWN_WIDTHS)
    fig, axs = plt.subplots(2, k + 1, figsize=(3.4 * (k + 1), 7.4))
    zoom_net = shown["relu"][SHOWN_WIDTHS[1]]
    cx, cy = _largest_corner(zoom_net, window)
    half = 0.12 * (window[1] - window[0])
    zoom = (cx - half, cx + half, cy - half, cy + half)
    for row, act in enumerate(("relu", "tanh")):
        name = "ReLU" if act == "relu" else "tanh"
        for col, w in enumerate(SHOWN_WIDTHS):
            net = shown[act][w]
            plot_decision_boundary(net, Xte, yte, ax=axs[row, col], resolution=RESOLUTION, window=window,
                                   title=f"{name}, {w} units, test acc. {net.accuracy(Xte, yte):.3f}",
                                   legend=row == 1 and col == 0)  # fmt: skip
            if w == SHOWN_WIDTHS[1]:
                axs[row, col].add_patch(
                    plt.Rectangle((zoom[0], zoom[2]), 2 * half, 2 * half, fill=False, ec="r", lw=1.2)
                )
        plot_decision_boundary(shown[act][SHOWN_WIDTHS[1]], Xte, yte, ax=axs[row, k], resolution=RESOLUTION,
                               window=zoom, title=f"{name}, {SHOWN_WIDTHS[1]} units: zoom on the red box", legend=False)  # fmt: skip
    fig.suptitle(f"ReLU (top) against tanh (bottom) on circles: same data, initial-weight seed {seed}, sample order "
                 "and stopping rule")  # fmt: skip
    figure_legend_below(fig, axs[1, 0])
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    study.add_figure("relu_vs_tanh", fig, *captions.relu_tanh(study.metrics, seed))


def _measures_figure(study: Study) -> None:
    m = study.metrics
    panels = (
        ("test_accuracy", "test accuracy", False),
        ("turning_per_length_deg", "turning per unit length (°)", False),
        ("corner_share", "share of the turning done at corners", False),
        ("regions", "linear regions in view (ReLU)", True),
    )
    fig, grid = plt.subplots(2, 2, figsize=(9, 6.6))
    axs = grid.ravel()
    for act, colour, marker in (("relu", COLORS[0], "o"), ("tanh", COLORS[1], "^")):
        d = m[f"circles_{act}"]
        for ax, (key, label, log) in zip(axs, panels):
            if key not in d[str(WIDTHS[0])]:
                continue
            mean = [d[str(w)][key]["mean"] for w in WIDTHS]
            sd = [d[str(w)][key]["sd"] for w in WIDTHS]
            ax.errorbar(
                WIDTHS, mean, yerr=sd, marker=marker, capsize=3, color=colour, label="ReLU" if act == "relu" else "tanh"
            )
            ax.set_ylabel(label)
            if log:
                ax.set_yscale("log")
            if key == "corner_share":  # a share: the sd bars of a 0-or-1 mixture would leave [0, 1]
                ax.set_ylim(-0.05, 1.05)
    axs[3].plot(WIDTHS, [region_bound(w) for w in WIDTHS], color="k", ls="--", lw=0.9, label="bound 1 + H + H(H-1)/2")
    for ax in axs:
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(WIDTHS, [str(w) for w in WIDTHS])
        ax.set_xlabel("hidden units H")
    axs[0].legend(fontsize=8, loc="lower right")
    axs[3].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Circles: mean and standard deviation over {len(m['circles']['seeds'])} seeds")
    fig.tight_layout()
    study.add_figure(
        "circles_measures", fig,
        "The circles networks measured (mean ± sd over seeds). Top: test accuracy; how much the boundary's normal "
        "turns per unit length (is it curved?). Bottom: the share of that turning done in jumps at corners (does it "
        "have corners? a boundary that is one straight line does not turn and counts 0); the number of linear regions "
        "in view against the bound for H lines (log scale).",
        captions.measures_alt(m),
    )  # fmt: skip


def run_study(config: StudyConfig, progress: Callable[[str, float], None] | None = None) -> Study:
    """Run every experiment of the course study; return numbers, figures and section texts."""
    study = Study(config)
    t_start = time.perf_counter()
    say = progress or (lambda msg, frac: None)
    study.metrics["config"] = {"seed": config.seed, "quick": config.quick, "n_seeds": config.n_seeds}
    say("single layer on blobs", 0.0)
    blob_run, blob_data = _blobs(study)
    say("moons: one layer against two", 0.1)
    moon_runs, moon_data = _moons(study)
    say("gradient checks", 0.25)
    _gradient_checks(study, blob_run, blob_data, moon_runs, moon_data)
    say("learning rates", 0.3)
    _learning_rates(study, moon_data)
    _circles(study, say)
    study.metrics["total_time_s"] = time.perf_counter() - t_start
    say("sections", 0.9)
    build_sections(study)
    gradcheck_extras(study, next(sec for sec in study.sections if sec.key == "q2"))
    return study
