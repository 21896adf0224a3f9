"""The course study as experiments that return numbers and figures (no I/O here; see report.py).

Every number the report's text quotes is stored in ``Study.metrics`` under a dotted key, and every
sentence of commentary is generated from those numbers (:func:`commentary`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .core import MLP, Adam, GradCheckResult, History, gradcheck, train
from .datasets import blobs, circles, moons, train_test_split
from .measures import boundary_measures, linear_regions
from .plotting import (
    plot_boundary_grid,
    plot_decision_boundary,
    plot_history,
    window_of,
)

WIDTHS = (2, 5, 10, 15, 20, 50)


@dataclass
class StudyConfig:
    """Hyper-parameters of the study; ``quick`` shortens it for tests (same sections, fewer seeds)."""

    seed: int = 0
    quick: bool = False

    @property
    def n_seeds(self) -> int:
        return 2 if self.quick else 3

    @property
    def moons_steps(self) -> int:
        return 3000 if self.quick else 5000

    @property
    def max_epochs(self) -> int:
        return 200 if self.quick else 400


@dataclass
class Section:
    key: str
    title: str
    setup: str
    figures: list[str] = field(default_factory=list)
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


@dataclass
class Study:
    config: StudyConfig
    metrics: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    checks: dict[str, GradCheckResult] = field(default_factory=dict)

    def q(self, key: str, fmt: str = ".3f") -> str:
        """Quote metric ``key`` (dotted path) formatted with ``fmt``; marked up for the HTML."""
        value = self.metrics
        for part in key.split("."):
            value = value[part]
        return f"\x00{key}\x01{format(value, fmt)}\x02"


def _boundary_figure(net: MLP, data: tuple[Any, ...], title: str) -> Figure:
    """The decision function of ``net`` over the test points of ``data`` = (Xtr, Xte, ytr, yte)."""
    fig, ax = plt.subplots(figsize=(5.2, 5))
    plot_decision_boundary(net, data[1], data[3], ax=ax, title=title)
    return fig  # type: ignore[no-any-return]


def _mean_sd(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if a.size > 1 else 0.0, "values": a.tolist()}


def _course_run(
    sizes: list[int], activation: str, data: tuple[Any, ...], lr: float, steps: int, seed: int, gradcheck_every: int
) -> tuple[MLP, History]:
    Xtr, Xte, ytr, yte = data
    net = MLP(sizes, activation=activation, init="normal", seed=seed)
    hist = train(
        net,
        Xtr,
        ytr,
        lr=lr,
        batch_size=1,
        sampling="replacement",
        steps=steps,
        eval_data=(Xte, yte),
        eval_every=10,
        gradcheck_every=gradcheck_every,
        seed=seed + 1,
    )
    return net, hist


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
) -> tuple[int, float]:
    """Adam, mini-batches in a seeded order, until the full training loss stops falling.

    "Plateau": the loss fell by less than ``rel_tol`` (relative) over the last ``window`` epochs,
    checked every ``check_every`` epochs; or ``max_epochs`` reached. Returns (epochs, final loss).
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
    return epochs, losses[-1]


def run_study(config: StudyConfig, progress: Callable[[str, float], None] | None = None) -> Study:
    """Run every experiment of the course study; return numbers, figures and section texts."""
    study = Study(config)
    m = study.metrics
    s0 = config.seed
    t_start = time.perf_counter()
    say = progress or (lambda msg, frac: None)
    m["config"] = {"seed": s0, "quick": config.quick, "n_seeds": config.n_seeds}

    # 1. single-layer perceptron on blobs ------------------------------------------------------
    say("single-layer perceptron on blobs", 0.0)
    Xb, yb = blobs(300, k=3, noise=1.0, seed=s0)
    blob_data = train_test_split(Xb, yb, test_size=0.25, seed=s0)
    net_b, h_b = _course_run([2, 3], "identity", blob_data, 0.01, 1000, s0, 1)
    m["blobs"] = {
        "n_train": len(blob_data[2]),
        "n_test": len(blob_data[3]),
        "steps": h_b.steps,
        "test_accuracy": h_b.test_accuracy[-1],
        "train_running_accuracy": float(h_b.running_accuracy[-1]),
        "final_loss_ma50": float(h_b.loss[-50:].mean()),
        "first_loss_ma50": float(h_b.loss[:50].mean()),
        "gradcheck_max_rel_error": float(max(h_b.gradcheck_error)),
        "gradcheck_max_norm_error": float(max(h_b.gradcheck_norm_error)),
        "time_s": h_b.time_s,
    }
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.semilogy(
        h_b.gradcheck_steps,
        np.maximum(h_b.gradcheck_norm_error, 1e-17),
        lw=0.7,
        color="C4",
        label="normwise relative error ||a-n|| / (||a||+||n||)",
    )
    ax.axhline(1e-6, color="k", ls="--", lw=0.8, label="tolerance 1e-6")
    ax.set_xlabel("step (checked before the update, at the step's weights)")
    ax.set_ylabel("relative error")
    ax.set_title("Single-layer perceptron on blobs: analytic vs central-difference gradients")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    study.figures["blobs_gradcheck"] = fig
    study.figures["blobs_curves"] = plot_history(h_b, title="Single layer, blobs")
    study.figures["blobs_boundary"] = _boundary_figure(
        net_b, blob_data, f"Single layer on blobs (test points), acc {h_b.test_accuracy[-1]:.3f}"
    )

    # 2. moons: single layer vs two layers -----------------------------------------------------
    say("moons: one layer against two", 0.12)
    Xm, ym = moons(1000, noise=0.2, seed=s0)
    moon_data = train_test_split(Xm, ym, test_size=0.25, seed=s0)
    steps = config.moons_steps
    net_m1, h_m1 = _course_run([2, 2], "identity", moon_data, 0.01, steps, s0, 0)
    net_m2, h_m2 = _course_run([2, 16, 2], "relu", moon_data, 0.1, steps, s0, 0)
    net_m3, h_m3 = _course_run([2, 16, 2], "tanh", moon_data, 0.1, steps, s0, 0)
    m["moons_linear"] = {
        "steps": steps,
        "test_accuracy": h_m1.test_accuracy[-1],
        "train_accuracy": net_m1.accuracy(moon_data[0], moon_data[2]),
        "best_test_accuracy": float(max(h_m1.test_accuracy)),
    }
    m["moons_relu16"] = {
        "steps": steps,
        "test_accuracy": h_m2.test_accuracy[-1],
        "train_accuracy": net_m2.accuracy(moon_data[0], moon_data[2]),
        "gain_over_linear": h_m2.test_accuracy[-1] - h_m1.test_accuracy[-1],
    }
    m["moons_tanh16"] = {"steps": steps, "test_accuracy": h_m3.test_accuracy[-1]}
    study.figures["moons_linear_boundary"] = _boundary_figure(
        net_m1, moon_data, f"Single layer on moons (test points), acc {h_m1.test_accuracy[-1]:.3f}"
    )
    study.figures["moons_linear_curves"] = plot_history(h_m1, title="Single layer, moons")
    study.figures["moons_relu_curves"] = plot_history(h_m2, title="2-16-2 ReLU, moons")
    study.figures["moons_relu_boundary"] = _boundary_figure(
        net_m2, moon_data, f"2-16-2 ReLU on moons (test points), acc {h_m2.test_accuracy[-1]:.3f}"
    )

    # gradient checks of the trained networks (on 20 test samples, at the final weights)
    for name, net, data in (
        ("blobs_linear", net_b, blob_data),
        ("moons_relu16", net_m2, moon_data),
        ("moons_tanh16", net_m3, moon_data),
    ):
        res = gradcheck(net, data[1][:20], data[3][:20])
        study.checks[name] = res
        m.setdefault("gradcheck", {})[name] = {
            "max_rel_error": res.max_rel_error,
            "norm_rel_error": res.norm_rel_error,
            "kinks": res.n_kinks,
            "passed": res.passed,
            "per_param": {k: v[0] for k, v in res.per_param.items()},
        }
    m["gradcheck"]["max_abs_error"] = max(c.max_abs_error for r in study.checks.values() for c in r.checks.values())

    # 3. width study on circles, ReLU and tanh, several seeds -----------------------------------
    Xc, yc = circles(500, noise=0.15, seed=s0)
    circ = train_test_split(Xc, yc, test_size=0.25, seed=s0)
    window = window_of(Xc)
    seeds = [s0 + 100 + i for i in range(config.n_seeds)]
    m["circles"] = {"n_train": len(circ[2]), "n_test": len(circ[3]), "seeds": seeds, "widths": list(WIDTHS)}
    shown: dict[str, list[MLP]] = {"relu": [], "tanh": []}
    runs = len(WIDTHS) * len(seeds) * 2
    done = 0
    for act in ("relu", "tanh"):
        per_width: dict[str, Any] = {}
        for w in WIDTHS:
            rec: dict[str, list[float]] = {}
            for seed in seeds:
                say(f"circles: {act}, {w} hidden units, seed {seed}", 0.25 + 0.7 * done / runs)
                net = MLP([2, w, 2], activation=act, seed=seed)
                epochs, loss = train_to_plateau(net, circ[0], circ[2], seed, config.max_epochs)
                vals = {
                    "train_accuracy": net.accuracy(circ[0], circ[2]),
                    "test_accuracy": net.accuracy(circ[1], circ[3]),
                    "final_loss": loss,
                    "epochs": float(epochs),
                    **boundary_measures(net, window),
                }
                if act == "relu":
                    vals["regions"] = float(linear_regions(net, window))
                for k, v in vals.items():
                    rec.setdefault(k, []).append(float(v))
                if seed == seeds[0]:
                    shown[act].append(net)
                done += 1
            per_width[str(w)] = {k: _mean_sd(v) for k, v in rec.items()}
        m[f"circles_{act}"] = per_width
    Xte, yte = circ[1], circ[3]
    study.figures["circles_relu_grid"] = plot_boundary_grid(
        shown["relu"],
        Xte,
        yte,
        [f"ReLU, {w} hidden units" for w in WIDTHS],
        suptitle=f"2-H-2 ReLU networks on circles (test points), seed {seeds[0]}, trained to a loss plateau",
    )
    study.figures["relu_vs_tanh"] = plot_boundary_grid(
        shown["relu"] + shown["tanh"],
        Xte,
        yte,
        [f"ReLU, {w} units" for w in WIDTHS] + [f"tanh, {w} units" for w in WIDTHS],
        ncols=6,
        resolution=120,
        suptitle="ReLU (top) against tanh (bottom), same data, same initial seed, same sample order",
    )
    fig, axs = plt.subplots(1, 3, figsize=(12, 3.4))
    for act, colour in (("relu", "C0"), ("tanh", "C1")):
        d = m[f"circles_{act}"]
        for ax, key, label in zip(
            axs,
            ("test_accuracy", "sharpest_turn_deg", "regions"),
            ("test accuracy", "sharpest turn of the boundary (degrees)", "linear regions in window"),
        ):
            if key not in d[str(WIDTHS[0])]:
                continue
            mean = [d[str(w)][key]["mean"] for w in WIDTHS]
            sd = [d[str(w)][key]["sd"] for w in WIDTHS]
            ax.errorbar(WIDTHS, mean, yerr=sd, marker="o", capsize=3, color=colour, label=act)
            ax.set_xscale("log")
            ax.minorticks_off()  # only the widths themselves as ticks
            ax.set_xticks(WIDTHS, [str(w) for w in WIDTHS])
            ax.set_xlabel("hidden units")
            ax.set_ylabel(label)
            ax.legend(fontsize=8)
    axs[2].set_yscale("log")
    fig.suptitle(f"Circles: mean and standard deviation over {len(seeds)} seeds")
    fig.tight_layout()
    study.figures["circles_measures"] = fig
    m["total_time_s"] = time.perf_counter() - t_start
    say("writing", 0.96)
    _sections(study)
    return study


def _trend(study: Study, key_a: str, key_b: str, what: str, fmt: str = ".3f") -> str:
    """A verb for how a mean changed from a to b, judged against the seed-to-seed spread."""
    m = study.metrics

    def get(k: str) -> Any:
        v: Any = m
        for p in k.split("."):
            v = v[p]
        return v

    a, b = get(key_a), get(key_b)
    spread = max(a["sd"], b["sd"])
    diff = b["mean"] - a["mean"]
    if abs(diff) <= spread:
        verb = "stays within the seed-to-seed spread"
    else:
        verb = "rises" if diff > 0 else "falls"
    return (
        f"{what} {verb}: from {study.q(key_a + '.mean', fmt)} ± {study.q(key_a + '.sd', fmt)} to "
        f"{study.q(key_b + '.mean', fmt)} ± {study.q(key_b + '.sd', fmt)}"
    )


def _sections(study: Study) -> None:
    m = study.metrics
    q = study.q
    n_seeds = len(m["circles"]["seeds"])
    S = study.sections
    s1 = Section(
        "blobs",
        "Single-layer perceptron on blobs (3 classes)",
        f"Data: 3 Gaussian blobs, 300 points, noise 1.0, {m['blobs']['n_train']} train / {m['blobs']['n_test']} test "
        "(stratified). Network 2-3 (softmax), weights and biases from N(0, 1). Course protocol: per-sample SGD, "
        "learning rate 0.01, 1000 steps with indices drawn with replacement, test accuracy every 10 steps, "
        "gradient check (central differences, h = 1e-5, float64) at every step, before the update.",
        ["blobs_gradcheck", "blobs_curves", "blobs_boundary"],
    )
    s1.text.append(
        f"After {q('blobs.steps', 'd')} steps the test accuracy is {q('blobs.test_accuracy')} and the running train "
        f"accuracy {q('blobs.train_running_accuracy')}; the 50-step moving average of the loss fell from "
        f"{q('blobs.first_loss_ma50')} to {q('blobs.final_loss_ma50')}. Over all steps the largest normwise "
        f"relative gradient error is {q('blobs.gradcheck_max_norm_error', '.1e')} and the largest entrywise one "
        f"{q('blobs.gradcheck_max_rel_error', '.1e')} (roundoff-floored), so the analytic gradients are right."
    )
    S.append(s1)
    s2 = Section(
        "gradients",
        "Gradients",
        "The derivations the course asks for, and the per-parameter gradient check of three trained networks "
        "(20 test samples, at their final weights).",
    )
    for name, title in (
        ("blobs_linear", "single layer, blobs"),
        ("moons_relu16", "2-16-2 ReLU, moons"),
        ("moons_tanh16", "2-16-2 tanh, moons"),
    ):
        res = study.checks[name]
        rows = [
            [
                k,
                str(c.analytic.shape),
                f"{c.max_rel_error:.2e}",
                str(c.worst_index),
                f"{c.max_abs_error:.2e}",
                f"{c.norm_rel_error:.2e}",
                str(int(c.kink.sum())),
            ]
            for k, c in res.checks.items()
        ]
        s2.tables.append(
            (
                f"Gradient check, {title}: {'passed' if res.passed else 'FAILED'}",
                [
                    "parameter",
                    "shape",
                    "max rel. error*",
                    "worst entry",
                    "max abs. error",
                    "normwise rel. error",
                    "kinks",
                ],
                rows,
            )
        )
    s2.text.append(
        f"The normwise relative errors are {q('gradcheck.blobs_linear.norm_rel_error', '.1e')} (single layer), "
        f"{q('gradcheck.moons_relu16.norm_rel_error', '.1e')} (ReLU, with {q('gradcheck.moons_relu16.kinks', 'd')} "
        f"entries at a kink left out) and {q('gradcheck.moons_tanh16.norm_rel_error', '.1e')} (tanh); the largest "
        f"absolute disagreement of any entry is {q('gradcheck.max_abs_error', '.1e')}. *The entrywise relative "
        "error subtracts the roundoff floor of central differences (100 ulps of the loss divided by 2h) from "
        "|a - n| first, so 0 means the two agree to within what finite differences can resolve."
    )
    S.append(s2)
    s3 = Section(
        "moons_linear",
        "Single-layer perceptron on moons",
        f"Data: two moons, 1000 points, noise 0.2, 750 train / 250 test. Network 2-2, N(0, 1) init, per-sample SGD, "
        f"learning rate 0.01, {m['moons_linear']['steps']} steps.",
        ["moons_linear_boundary", "moons_linear_curves"],
    )
    s3.text.append(
        f"The single layer reaches a test accuracy of {q('moons_linear.test_accuracy')} (best seen during training "
        f"{q('moons_linear.best_test_accuracy')}) and a train accuracy of {q('moons_linear.train_accuracy')}: its "
        "boundary is a straight line (the argmax of two affine functions), and the interleaved moons leave points "
        "of both classes on each side of any line it found."
    )
    S.append(s3)
    s4 = Section(
        "moons_relu",
        "Two-layer perceptron (ReLU, 16 hidden units) on moons",
        f"Same data. Network 2-16-2, ReLU, N(0, 1) init, per-sample SGD, learning rate 0.1, "
        f"{m['moons_relu16']['steps']} steps.",
        ["moons_relu_curves", "moons_relu_boundary"],
    )
    gain = m["moons_relu16"]["gain_over_linear"]
    s4.text.append(
        f"With one hidden layer of 16 ReLU units the test accuracy is {q('moons_relu16.test_accuracy')} "
        f"(train {q('moons_relu16.train_accuracy')}), "
        f"{'higher' if gain > 0 else 'not higher'} than the single layer's by {q('moons_relu16.gain_over_linear')}; "
        f"the same network with tanh reaches {q('moons_tanh16.test_accuracy')}."
    )
    S.append(s4)
    s5 = Section(
        "widths",
        "Hidden units on circles (ReLU)",
        f"Data: two concentric circles, 500 points, noise 0.15, factor 0.5, {m['circles']['n_train']} train / "
        f"{m['circles']['n_test']} test. Networks 2-H-2 for H in {list(WIDTHS)}, He init, Adam (learning rate 0.01), "
        f"batch 32. 'Properly trained' means trained to a plateau: every 10 epochs the full training loss is "
        f"measured, and training stops once it fell by less than 2 % over the last 50 epochs (at most "
        f"{study.config.max_epochs} epochs). For each of {n_seeds} seeds, every width gets the same data, the same "
        "initial-weight seed and the same sample order. Linear regions are counted as distinct ReLU activation "
        "patterns on a 400 x 400 grid over the plotted window; the boundary is the 0.5-probability contour, traced "
        "on the same grid.",
        ["circles_relu_grid", "circles_measures"],
    )
    s5.tables.append(_width_table(m, "relu"))
    for w in WIDTHS:
        k = f"circles_relu.{w}"
        s5.text.append(
            f"With {w} hidden units the boundary has {q(k + '.pieces.mean', '.1f')} ± {q(k + '.pieces.sd', '.1f')} "
            f"linear pieces, the network has {q(k + '.regions.mean', '.1f')} ± {q(k + '.regions.sd', '.1f')} linear "
            f"regions in the window, and the test accuracy is {q(k + '.test_accuracy.mean')} ± "
            f"{q(k + '.test_accuracy.sd')}."
        )
    S.append(s5)
    s6 = Section(
        "relu_tanh",
        "ReLU against tanh",
        "The same widths, data, seeds, initial-weight seeds, sample orders and stopping rule, with tanh hidden units "
        "(Glorot init).",
        ["relu_vs_tanh"],
    )
    s6.tables.append(_width_table(m, "tanh"))
    for w in (WIDTHS[1], WIDTHS[-1]):
        s6.text.append(
            f"At {w} units the sharpest single turn of the boundary is {q(f'circles_relu.{w}.sharpest_turn_deg.mean', '.1f')}° "
            f"for ReLU and {q(f'circles_tanh.{w}.sharpest_turn_deg.mean', '.1f')}° for tanh; the test accuracies are "
            f"{q(f'circles_relu.{w}.test_accuracy.mean')} and {q(f'circles_tanh.{w}.test_accuracy.mean')}."
        )
    S.append(s6)
    lo, hi = WIDTHS[0], WIDTHS[-1]
    s7 = Section(
        "commentary", "Answers to the course's questions", f"Generated from the measured numbers ({n_seeds} seeds)."
    )
    s7.text.append(
        "Does the single-layer perceptron learn, and are its gradients right? "
        f"It reaches {q('blobs.test_accuracy')} test accuracy on blobs; the gradient check never exceeds "
        f"{q('blobs.gradcheck_max_norm_error', '.1e')} (normwise)."
    )
    s7.text.append(
        f"What happens when the data is not linearly separable? On moons the single layer stops at "
        f"{q('moons_linear.test_accuracy')}; one hidden layer of 16 ReLU units reaches {q('moons_relu16.test_accuracy')}."
    )
    s7.text.append(
        "How does the number of hidden units shape the boundary? "
        + _trend(
            study,
            f"circles_relu.{lo}.test_accuracy",
            f"circles_relu.{hi}.test_accuracy",
            f"Test accuracy from {lo} to {hi} ReLU units",
        )
        + "; "
        + _trend(
            study,
            f"circles_relu.{lo}.pieces",
            f"circles_relu.{hi}.pieces",
            "the number of straight pieces of the boundary",
            ".1f",
        )
        + "; "
        + _trend(
            study, f"circles_relu.{lo}.regions", f"circles_relu.{hi}.regions", "the number of linear regions", ".1f"
        )
        + "."
    )
    s7.text.append(
        "Is the boundary smoother with more units? A ReLU network's boundary is a polygon (straight pieces by "
        "construction); "
        + _trend(
            study,
            f"circles_relu.{WIDTHS[1]}.sharpest_turn_deg",
            f"circles_relu.{hi}.sharpest_turn_deg",
            f"its sharpest turn from {WIDTHS[1]} to {hi} units",
            ".1f",
        )
        + " (degrees)."
    )
    tanh_turn = m[f"circles_tanh.{hi}".split(".")[0]][str(hi)]["sharpest_turn_deg"]["mean"]
    relu_turn = m["circles_relu"][str(hi)]["sharpest_turn_deg"]["mean"]
    s7.text.append(
        f"Does tanh give a smoother boundary? At {hi} units the sharpest turn of the tanh boundary is "
        f"{q(f'circles_tanh.{hi}.sharpest_turn_deg.mean', '.1f')}° against "
        f"{q(f'circles_relu.{hi}.sharpest_turn_deg.mean', '.1f')}° for ReLU on the same 400 x 400 grid: "
        + (
            "tanh's boundary bends in smaller steps."
            if tanh_turn < relu_turn
            else "tanh's boundary is not smoother here."
        )
    )
    S.append(s7)


def _width_table(m: dict[str, Any], act: str) -> tuple[str, list[str], list[list[str]]]:
    d = m[f"circles_{act}"]
    cols = ["train_accuracy", "test_accuracy", "final_loss", "epochs", "turning_per_length_deg", "sharpest_turn_deg"]
    heads = [
        "hidden units",
        "train acc.",
        "test acc.",
        "final loss",
        "epochs",
        "turning / length (°)",
        "sharpest turn (°)",
    ]
    if act == "relu":
        cols += ["pieces", "regions"]
        heads += ["boundary pieces", "linear regions"]
    rows = []
    for w in WIDTHS:
        rows.append([str(w)] + [f"{d[str(w)][c]['mean']:.3g} ± {d[str(w)][c]['sd']:.2g}" for c in cols])
    return f"{act}: mean ± standard deviation over seeds", heads, rows
