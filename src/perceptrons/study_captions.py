"""The figures' captions and alt texts, written from the measured numbers (``Study.metrics``).

A caption says what to look at; every claim in it about what the figure shows (a corner, a rise, a
point where three boundaries meet) is chosen by the numbers that decide it, so the caption stays true
for any seed. Each function takes the metrics dict and returns ``(caption, alt text)`` or one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .study_model import SHOWN_WIDTHS, WIDTHS

Metrics = dict[str, Any]


def blobs_gradcheck(m: Metrics) -> tuple[str, str]:
    b = m["blobs"]
    below = b["gradcheck_max_norm_error"] < 1e-6
    rises = b["gradcheck_norm_error_last100"] > b["gradcheck_norm_error_first100"]
    falls = b["grad_norm_last100"] < b["grad_norm_first100"]
    caption = (
        "The gradient check at every step of training on blobs (log scale). Look at the purple error against the "
        "dashed tolerance (top): "
        + ("it stays below it at every step" if below else "it goes ABOVE it somewhere")
        + "; and at the error (top) against the gradient norm (bottom). "
    )
    if rises and falls:
        caption += ("The error rises as the norm falls: the finite-difference roundoff stays the same size while "
                    "the gradient it is compared with shrinks.")  # fmt: skip
    else:
        caption += (f"Here the error {'rises' if rises else 'does not rise'} from the first 100 steps to the last 100 "
                    f"while the norm {'falls' if falls else 'does not fall'}.")  # fmt: skip
    alt = (f"Line chart over {b['steps']} steps: the relative gradient error (purple, log scale) "
           f"{'stays below' if below else 'crosses'} the dashed 1e-6 tolerance "
           f"{'and rises as' if rises and falls else 'while'} the gradient norm (lower panel) "
           f"{'falls' if falls else 'does not fall'}.")  # fmt: skip
    return caption, alt


def blobs_curves(m: Metrics) -> tuple[str, str]:
    b = m["blobs"]
    decades = b["sample_loss_decades"]
    spread = (f"scatters over {decades:.0f} orders of magnitude" if decades >= 1.5
              else f"varies by a factor of {10**decades:.0f}")  # fmt: skip
    caption = (
        f"Training the single layer on blobs. Left: the loss of each sample (dots, log scale) {spread} (1st to 99th "
        "percentile); the 50-step average (red) and the loss on the whole training set (black) show the trend. "
        "Right: accuracy on the whole training set and on the test set, measured after the same steps."
    )
    alt = (f"Two line charts over {b['steps']} steps: the loss falling from {b['first_loss_ma50']:.2f} to "
           f"{b['final_loss_ma50']:.3f} (50-step average) on a log scale, and training and test accuracy ending at "
           f"{b['train_accuracy']:.3f} and {b['test_accuracy']:.3f}.")  # fmt: skip
    return caption, alt


def blobs_boundary(m: Metrics) -> tuple[str, str]:
    b = m["blobs"]
    if b["classes_in_view"] == 3 and b["junction_in_view"]:
        shape = "three straight boundaries meeting at one point"
    elif b["classes_in_view"] == 3:
        shape = "straight boundaries (the point where all three meet lies outside the view)"
    else:
        shape = f"straight boundaries between the {b['classes_in_view']} classes that win somewhere in view"
    caption = (f"The trained single layer's decision regions over the test points: {shape}, each class's colour "
               "fading to white where the model is unsure.")  # fmt: skip
    alt = (f"{b['classes_in_view']} coloured regions separated by {shape}, with the three blobs of test points; "
           f"test accuracy {b['test_accuracy']:.3f}.")  # fmt: skip
    return caption, alt


def moons_boundary(m: Metrics, key: str, label: str) -> tuple[str, str]:
    """``key`` "moons_linear" or "moons_relu16": the shown (first-seed) run's boundary."""
    d = m[key]
    s = d["shown"]
    wrong0, wrong1 = s["wrong_class0"], s["wrong_class1"]
    if key == "moons_linear":
        what = "one straight line"
        if wrong0 and wrong1:
            what += (f": points of both moons lie on the wrong side of it ({wrong0} of class 0 and {wrong1} of "
                     "class 1)")  # fmt: skip
        elif wrong0 or wrong1:
            what += f": {wrong0 + wrong1} points of class {0 if wrong0 else 1} lie on the wrong side of it"
        else:
            what += ", with every test point on its own side"
    else:
        pieces, corners = int(s["pieces"]), int(s["corners"])
        what = (f"{int(s['curves'])} curve{'s' if s['curves'] != 1 else ''} of {pieces} straight "
                f"piece{'s' if pieces != 1 else ''} meeting at {corners} corner{'s' if corners != 1 else ''}; "
                f"{wrong0 + wrong1} test points lie on the wrong side")  # fmt: skip
    caption = (f"{label} on moons (seed {s['seed']}), trained with the notebook's protocol at learning rate "
               f"{d['lr']:g}: the boundary is {what}.")  # fmt: skip
    alt = (f"Two interleaved half-moons of test points and the {label} network's boundary: {what}; test accuracy "
           f"{s['test_accuracy']:.3f}.")  # fmt: skip
    return caption, alt


def boundary_shape(counts: dict[str, float], show: Callable[[str], str] = lambda name: "") -> str:
    """A ReLU boundary in words from its measured ``curves``, ``pieces`` and ``corners``; ``show(name)``
    writes each number (the report's text marks it with its metrics key; by default the plain count)."""
    curves, pieces, corners = (int(counts[k]) for k in ("curves", "pieces", "corners"))

    def num(name: str) -> str:
        return show(name) or str(int(counts[name]))

    if curves == 0:
        return "no boundary in view"
    if corners == 0 and pieces == curves:
        return "a straight line" if curves == 1 else f"{num('curves')} straight lines"
    return (f"{num('curves')} curve{'s' if curves > 1 else ''} of {num('pieces')} straight piece{'s' if pieces > 1 else ''} "
            f"with {num('corners')} corner{'s' if corners != 1 else ''}")  # fmt: skip


def _shape(m: Metrics, w: int) -> str:
    """The first seed's ReLU boundary at width ``w`` (plain text)."""
    d = m["circles_relu"][str(w)]
    return boundary_shape({k: d[k]["values"][0] for k in ("curves", "pieces", "corners")})


def relu_grid(m: Metrics, seed: int) -> tuple[str, str]:
    shapes = [f"{w} units: {_shape(m, w)}" for w in WIDTHS]
    pieces = [m["circles_relu"][str(w)]["pieces"]["values"][0] for w in WIDTHS]
    more = all(b >= a for a, b in zip(pieces, pieces[1:])) and pieces[-1] > pieces[0]
    caption = (
        f"ReLU networks of {WIDTHS[0]} to {WIDTHS[-1]} hidden units on circles, one seed ({seed}). Look at the black "
        "p = 0.5 boundary, traced exactly: it is straight between corners ("
        + "; ".join(shapes)
        + ("), with more and shorter pieces as units are added." if more
           else "); the number of pieces does not grow steadily with the width here.")
    )  # fmt: skip
    alt = ("Six panels of two concentric rings of test points with each ReLU network's boundary: "
           + "; ".join(shapes) + ".")  # fmt: skip
    return caption, alt


def plateau(m: Metrics, seed: int) -> tuple[str, str]:
    cap = m["circles"]["max_epochs"]
    shown_at_cap = sum(int(m[f"circles_{a}"][str(w)]["at_cap"]["values"][0]) for a in ("relu", "tanh") for w in WIDTHS)
    marks = (f"a red cross marks a run stopped by the epoch cap ({cap}, dotted line) instead: {shown_at_cap} of the "
             f"{2 * len(WIDTHS)} shown" if shown_at_cap
             else f"none of the {2 * len(WIDTHS)} shown runs reached the epoch cap ({cap}, dotted line)")  # fmt: skip
    caption = (f"Training the circles networks to a plateau (seed {seed}, Adam, batch 32). Each curve stops when the "
               f"whole-training-set loss fell by less than 2 % over 50 epochs; {marks}. Over all seeds, "
               f"{m['circles']['runs_at_cap']} of {m['circles']['runs']} runs stopped at the cap.")  # fmt: skip
    alt = (f"Two charts of training loss against epoch on a log scale, one line per width, for ReLU and tanh; "
           f"{shown_at_cap} runs end at the cap.")  # fmt: skip
    return caption, alt


def relu_tanh(m: Metrics, seed: int) -> tuple[str, str]:
    w = SHOWN_WIDTHS[1]
    relu_corners = int(m["circles_relu"][str(w)]["corners"]["values"][0])
    tanh_corners = int(m["circles_tanh"][str(w)]["corners"]["values"][0])
    relu_seen = (f"the ReLU boundary is straight segments meeting at corners ({relu_corners} in all, the largest of "
                 f"{m['circles_relu'][str(w)]['largest_corner_deg']['values'][0]:.0f}°)" if relu_corners
                 else "the ReLU boundary has no measured corner here")  # fmt: skip
    tanh_seen = ("the tanh boundary bends continuously (no measured corner)" if tanh_corners == 0
                 else f"the tanh boundary has {tanh_corners} measured corner{'s' if tanh_corners > 1 else ''}")  # fmt: skip
    caption = (f"ReLU (top row) against tanh (bottom row) at {', '.join(map(str, SHOWN_WIDTHS))} hidden units (seed "
               f"{seed}), and a zoom (right) on the box where the {w}-unit ReLU boundary turns most. Look at the zoom: "
               f"{relu_seen}; {tanh_seen}.")  # fmt: skip
    alt = (f"Eight panels of ring-shaped test data with decision boundaries; in the zoomed panels {relu_seen} and "
           f"{tanh_seen}.")  # fmt: skip
    return caption, alt


def measures_alt(m: Metrics) -> str:
    hi = str(WIDTHS[-1])
    r, t = m["circles_relu"][hi], m["circles_tanh"][hi]
    return (
        "Four line charts against hidden units for ReLU and tanh: test accuracy; turning per length; corner share "
        f"(at {hi} units {r['corner_share']['mean']:.2f} for ReLU, {t['corner_share']['mean']:.2f} for tanh); and "
        f"linear regions ({r['regions']['mean']:.0f} at {hi} units) with their bound "
        f"{int(r['region_bound']['mean'])}."
    )


def error_vs_h(m: Metrics) -> tuple[str, str]:
    p = m["planted_bug"]
    rtol = p["rtol"]
    caught = p["buggy"]["min_central_error"] > rtol
    right = p["correct"]["min_central_error"] < rtol
    look = (
        "Look at the V of the correct code (truncation on the right, roundoff on the left)"
        + (" and at the flat floor of the planted mistake: no step h makes the wrong gradient agree"
           if caught else "; here the planted mistake comes within the tolerance at some h")
        + ("." if right else "; the correct code never comes within the tolerance here.")
    )  # fmt: skip
    caption = ("Error of finite differences against the step h, for the correct tanh gradient and for the planted "
               f"mistake (its forward and central curves lie on top of each other). {look}")  # fmt: skip
    alt = (
        "Log-log plot of the relative error of forward and central differences against h from 1e-13 to 0.1. "
        f"For the correct gradient the central differences are best at h = {p['correct']['best_h_central']:.0e} "
        f"(error {p['correct']['min_central_error']:.0e}); for the planted mistake the curves never fall below "
        f"{p['buggy']['min_central_error']:.0e}."
    )
    return caption, alt
