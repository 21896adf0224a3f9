"""The report's sections, written from the measured numbers: every sentence that states a result is
chosen by the numbers it quotes (``Study.q`` marks each with its metrics key).

The sections follow the notebook's own numbering (Question 1, Tasks 1-2, ...), then add one it lacks
(the learning rate), the answers at a glance and the notebook's own mistakes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .study_captions import boundary_shape
from .study_model import LEARNING_RATES, WIDTHS, Section, Study, Table


def build_sections(study: Study) -> None:
    """Fill ``study.sections`` in reading order."""
    for build in (_q1, _q2, _t4, _t5, _q3, _lr, _t7, _t8, _answers, _mistakes):
        study.sections.append(build(study))


def _q1(study: Study) -> Section:
    s = Section(
        "q1",
        "Task 1, Question 1 and Task 2: the single layer and its gradient",
        "Notation used in the whole report: x is one input (a column, D x 1), y its class, e_y the one-hot "
        "column of y, W (D x C) and b (C x 1) the weights and biases, z = W^T x + b the logits (C x 1), p = "
        "softmax(z) the probabilities, L = -log p_y the loss of one sample, [k = j] is 1 if k = j and 0 otherwise.",
    )
    s.p("Task 1, the forward pass: the logits, the softmax and the loss. (The package subtracts max z before "
        "the exponentials; the result is the same, without overflow.)")  # fmt: skip
    s.eq("z = W^top x + b, quad p_k = e^(z_k) / (sum_(j=1)^C e^(z_j)), quad L = -log p_y = log sum_j e^(z_j) - z_y",
         "z = W transpose x + b; p_k = exp(z_k) / sum_j exp(z_j); L = -log p_y = log sum_j exp(z_j) - z_y")  # fmt: skip
    s.p("Question 1, step 1: the Jacobian of the softmax. Differentiating p_k = e^(z_k) / S with S = sum_j e^(z_j):")
    s.eq("(partial p_k) / (partial z_j) = p_k ([k = j] - p_j), quad "
         "\"i.e.\" quad (partial p) / (partial z) = \"diag\"(p) - p p^top quad (C times C)",
         "d p_k / d z_j = p_k ([k = j] - p_j), i.e. the C x C matrix diag(p) - p p^T")  # fmt: skip
    s.p("Step 2: the loss depends on p only through p_y, so dL/dp_k = -[k = y] / p_y. Step 3, the chain rule "
        "through the softmax (sum over k):")  # fmt: skip
    s.eq("(partial L) / (partial z_j) = sum_k (partial L) / (partial p_k) (partial p_k) / (partial z_j) "
         "= -1/p_y dot p_y ([y = j] - p_j) = p_j - [j = y], quad delta := (partial L) / (partial z) = p - e_y quad (C times 1)",
         "dL/dz_j = sum_k dL/dp_k dp_k/dz_j = p_j - [j = y]; delta = dL/dz = p - e_y, a C x 1 column")  # fmt: skip
    s.p("Step 4: z_k = sum_i W_ik x_i + b_k, so dz_k/dW_ij = x_i [k = j] and dz_k/db_j = [k = j]. Step 5, the chain "
        "rule again: dL/dW_ij = x_i delta_j, which is one outer product (shapes multiply as D x 1 times 1 x C = D x C, "
        "the shape of W):")  # fmt: skip
    s.eq("nabla_W L = x delta^top = x (p - e_y)^top quad (D times C), quad nabla_b L = delta = p - e_y quad (C times 1)",
         "grad_W L = x delta^T = x (p - e_y)^T (D x C); grad_b L = delta = p - e_y (C x 1)")  # fmt: skip
    s.p("Task 2 implements exactly these two lines (perceptrons.course.compute_grads_one_layer). For a batch of N "
        "rows X (N x D) with probabilities P and one-hot labels Y (N x C), the mean loss has the same gradient "
        "averaged over rows:")  # fmt: skip
    s.eq("nabla_W L = 1/N X^top (P - Y), quad nabla_b L = 1/N (P - Y)^top bold(1)",
         "grad_W L = (1/N) X^T (P - Y); grad_b L = (1/N) column sums of (P - Y)")  # fmt: skip
    return s


def _q2(study: Study) -> Section:
    q = study.q
    s = Section(
        "q2",
        "Question 2 and Task 3: checking a gradient",
        "The per-parameter gradient check of three trained networks (20 test samples each, at their final "
        "weights, float64), computed by perceptrons.gradcheck.",
    )
    s.p("Question 2: compare the analytic gradient a with a numerical one n computed from the loss alone. Perturb one "
        "parameter theta_i by a small step epsilon (the `h` argument of perceptrons.gradcheck) in both directions:")  # fmt: skip
    s.eq("n_i = (L(theta + epsilon e_i) - L(theta - epsilon e_i)) / (2 epsilon) = (partial L) / (partial theta_i) "
         "+ epsilon^2 / 6 (partial^3 L) / (partial theta_i^3) + O(u abs(L) / epsilon)",
         "n_i = (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps) = dL/dtheta_i + eps^2/6 times the third "
         "derivative + roundoff of order u |L| / eps, with u the unit roundoff")  # fmt: skip
    s.p("Why central differences: the one-sided difference (L(theta + epsilon e_i) - L(theta)) / epsilon that the "
        "notebook uses is off by epsilon/2 times the second derivative, an error of order epsilon (1e-5 at "
        "epsilon = 1e-5); the symmetric one cancels that term and is off by order epsilon^2 (1e-10), so a "
        "disagreement at the 1e-6 level can only mean a wrong gradient. The two are compared by a relative "
        "error, so that large and small gradients are judged alike:")  # fmt: skip
    s.eq("e_\"entry\" = abs(a_i - n_i) / (abs(a_i) + abs(n_i)), quad e_\"norm\" = norm(a - n) / (norm(a) + norm(n))",
         "entrywise relative error |a_i - n_i| / (|a_i| + |n_i|); normwise ||a - n|| / (||a|| + ||n||)")  # fmt: skip
    s.p("Two more precautions: the check is made at the weights the gradient was computed at (before the update; the "
        "notebook checks after it), and for ReLU an entry whose +-epsilon interval crosses a unit's kink at 0 is "
        "flagged and left out, because there the loss has no derivative and the two rightly disagree.")  # fmt: skip
    for name, title in (("blobs_linear", "single layer, blobs"), ("moons_relu16", "2-16-2 ReLU, moons"),
                        ("moons_tanh16", "2-16-2 tanh, moons")):  # fmt: skip
        res = study.checks[name]
        rows = [
            [k, "x".join(map(str, c.analytic.shape)), f"{c.max_abs_error:.1e}", f"{c.norm_rel_error:.1e}",
             f"{c.max_rel_error:.1e}", str(c.worst_index) if c.max_rel_error > 0 else "-", str(int(c.kink.sum()))]
            for k, c in res.checks.items()
        ]  # fmt: skip
        s.table(Table(
            f"Gradient check, {title}: {'passed' if res.passed else 'FAILED'} (tolerance {res.rtol:g})",
            ["parameter", "shape", "max |a - n|", "normwise rel.", "max entrywise rel.", "worst entry", "kinks"],
            rows,
        ))  # fmt: skip
    m = study.metrics["gradcheck"]
    verdict = (
        "all three pass, so the analytic gradients agree with the finite differences to within what the differences resolve"
        if all(m[k]["passed"] for k in ("blobs_linear", "moons_relu16", "moons_tanh16"))
        else "at least one FAILS: a gradient (or the check) is wrong"
    )
    s.p(f"The normwise relative errors are {q('gradcheck.blobs_linear.norm_rel_error', '.1e')} (single layer), "
        f"{q('gradcheck.moons_relu16.norm_rel_error', '.1e')} (ReLU, {q('gradcheck.moons_relu16.kinks', 'd')} entries at "
        f"a kink left out) and {q('gradcheck.moons_tanh16.norm_rel_error', '.1e')} (tanh); the largest absolute "
        f"disagreement of any entry is {q('gradcheck.max_abs_error', '.1e')}: {verdict}. The entrywise column is "
        "the relative error as perceptrons.gradcheck defines it (see its documentation).")  # fmt: skip
    return s


def _t4(study: Study) -> Section:
    q = study.q
    b = study.metrics["blobs"]
    s = Section(
        "t4",
        "Task 4: training the single layer on blobs, checked",
        f"Data: 3 Gaussian blobs, 300 points, noise 1.0, {b['n_train']} train / {b['n_test']} test (stratified). "
        "Network 2-3 (softmax), weights and biases from N(0, 1). The notebook's protocol: per-sample SGD, learning "
        "rate 0.01, 1000 steps with indices drawn with replacement, test set and whole training set evaluated after "
        "steps 1, 11, 21, ... and the last; a gradient check (central differences, epsilon = 1e-5, float64) at every "
        "step, before the update. 'Accuracy' below is always the mean of the last 10 evaluations.",
    )
    s.fig("blobs_curves")
    s.p(f"After {q('blobs.steps', 'd')} steps the test accuracy is {q('blobs.test_accuracy')} and the training "
        f"accuracy {q('blobs.train_accuracy')}; the 50-step average of the per-sample loss fell from "
        f"{q('blobs.first_loss_ma50')} (first 50 steps) to {q('blobs.final_loss_ma50')} (last 50).")  # fmt: skip
    s.fig("blobs_gradcheck")
    ok = b["gradcheck_max_norm_error"] < 1e-6
    rises = b["gradcheck_norm_error_last100"] > b["gradcheck_norm_error_first100"]
    falls = b["grad_norm_last100"] < b["grad_norm_first100"]
    s.p(
        f"The largest normwise error over all steps is {q('blobs.gradcheck_max_norm_error', '.1e')}, "
        + ("below the 1e-6 tolerance at every step: the analytic gradient is right along the whole run. "
           if ok else "ABOVE the 1e-6 tolerance: the check fails. ")
        + f"The error {'rises' if rises else 'does not rise'} during training (mean {q('blobs.gradcheck_norm_error_first100', '.1e')} "
        f"over the first 100 steps, {q('blobs.gradcheck_norm_error_last100', '.1e')} over the last 100) while the "
        f"gradient norm {'falls' if falls else 'does not fall'} ({q('blobs.grad_norm_first100', '.2g')} to "
        f"{q('blobs.grad_norm_last100', '.2g')}; rank correlation of error and norm "
        f"{q('blobs.error_vs_grad_norm_spearman', '.2f')}). "
        + ("This is expected, not a bug: as training goes on p approaches the one-hot label, so the gradient p - e_y "
           "shrinks, while the roundoff in the finite differences (order u |L| / epsilon) does not; the same "
           "absolute disagreement becomes a larger relative one."
           if rises and falls else "")
    )  # fmt: skip
    s.fig("blobs_boundary")
    return s


def _t5(study: Study) -> Section:
    q = study.q
    m = study.metrics
    s = Section(
        "t5",
        "Task 5: a single layer on data that is not linearly separable",
        f"Data: two moons, 1000 points, noise 0.2, {m['moons']['n_train']} train / {m['moons']['n_test']} test. "
        f"Network 2-2, N(0, 1) init, the notebook's protocol for {m['moons_linear']['steps']} steps at learning rate "
        f"{m['moons_linear']['lr']:g} (the same rate as the two-layer networks of the next section; the notebook used "
        f"0.01 here), {len(m['moons']['seeds'])} seeds (initial weights and sample order). Accuracies are the mean over "
        "seeds of the mean of each run's last 10 evaluations.",
    )
    s.fig("moons_linear_boundary")
    lin = m["moons_linear"]
    shown = lin["shown"]
    if shown["wrong_class0"] and shown["wrong_class1"]:
        why = (f"; in the figure (seed {shown['seed']}) {q('moons_linear.shown.wrong_class0', 'd')} test points of class 0 "
               f"and {q('moons_linear.shown.wrong_class1', 'd')} of class 1 lie on the wrong side of it")  # fmt: skip
    else:
        why = f"; in the figure (seed {shown['seed']}) only one class has test points on the wrong side"
    s.p(f"The single layer reaches a test accuracy of {q('moons_linear.test_accuracy')} ± "
        f"{q('moons_linear.test_accuracy_sd')} and a training accuracy of {q('moons_linear.train_accuracy')}: its "
        "boundary is the set where two affine functions are equal, a straight line"
        + (", and the one training found does not separate the interleaved moons" if lin["train_accuracy"] < 1.0
           else ", and here the one training found separates the training set")
        + why + ".")  # fmt: skip
    s.fig("moons_linear_curves")
    return s


def _test_vs_train(study: Study, key: str) -> str:
    d = study.metrics[key]
    q = study.q
    if d["test_minus_train"] <= 0:
        return ""
    if d["test_minus_train"] < 0.0005:  # "above by 0.000" would read as a contradiction
        return "; its test and training accuracies are equal to three decimals"
    noise = (
        "less than the test accuracy's standard error"
        if d["test_minus_train"] < d["test_se"]
        else "more than the test accuracy's standard error"
    )
    return (f"; its test accuracy is above its training accuracy, by {q(key + '.test_minus_train')}, {noise} "
            f"({q(key + '.test_se')} = sqrt(a (1 - a) / n) for {study.metrics['moons']['n_test']} test points): "
            "a test set this small can be a little easier than the training set by chance")  # fmt: skip


def _q3(study: Study) -> Section:
    q = study.q
    m = study.metrics
    s = Section(
        "q3",
        "Question 3 and Task 6: two layers (the notebook numbers this task 5 again)",
        "Notation: x (D x 1), W_h (D x H) and b_h (H x 1) the hidden layer, a = W_h^T x + b_h its pre-activations "
        "(H x 1), h = f(a) its outputs (H x 1; f = ReLU or tanh, element by element), W_o (H x C) and b_o (C x 1) the "
        "output layer, z = W_o^T h + b_o, p = softmax(z), L = -log p_y as before, [.] the indicator, ⊙ the "
        "element-wise product.",
    )
    s.p("Question 3. Step 1, the output layer is a single layer whose input is h, so by Question 1:")
    s.eq("delta_o := (partial L) / (partial z) = p - e_y quad (C times 1), quad nabla_(W_o) L = h delta_o^top "
         "quad (H times C), quad nabla_(b_o) L = delta_o",
         "delta_o = dL/dz = p - e_y (C x 1); grad_Wo L = h delta_o^T (H x C); grad_bo L = delta_o")  # fmt: skip
    s.p("Step 2, back through z = W_o^T h + b_o: dz_k/dh_j = (W_o)_jk, so dL/dh = W_o delta_o (H x C times C x 1 = "
        "H x 1). Step 3, through h = f(a): h_j depends only on a_j, so the Jacobian is diagonal and the chain rule is "
        "an element-wise product:")  # fmt: skip
    s.eq("delta_h := (partial L) / (partial a) = (W_o delta_o) dot.o f'(a) quad (H times 1)",
         "delta_h = dL/da = (W_o delta_o) element-wise times f'(a), an H x 1 column")  # fmt: skip
    s.p("Step 4, a = W_h^T x + b_h is a single layer again:")
    s.eq("nabla_(W_h) L = x delta_h^top quad (D times H), quad nabla_(b_h) L = delta_h quad (H times 1)",
         "grad_Wh L = x delta_h^T (D x H); grad_bh L = delta_h (H x 1)")  # fmt: skip
    s.p("ReLU: f(a) = max(a, 0), so f'(a) = [a > 0] = [h > 0] (computable from the output). At a = 0 ReLU has no "
        "derivative; the package, like the notebook, uses 0 there (a valid subgradient), and the gradient check "
        "flags the entries where it matters. tanh: with h_j = tanh(a_j) the unit's output, tanh'(a_j) = 1 - "
        "tanh(a_j)^2 = 1 - h_j^2:")  # fmt: skip
    s.eq("delta_h = (W_o delta_o) dot.o [h > 0] quad \"(ReLU)\", quad delta_h = (W_o delta_o) dot.o (1 - h dot.o h) quad \"(tanh)\"",
         "ReLU: delta_h = (W_o delta_o) times [h > 0]; tanh: delta_h = (W_o delta_o) times (1 - h squared), element-wise")  # fmt: skip
    s.p(f"Task 6: 2-16-2 networks on the same moons, N(0, 1) init, the notebook's protocol at learning rate "
        f"{m['moons_relu16']['lr']:g} (the same for the single layer above), {m['moons_relu16']['steps']} steps, "
        f"{len(m['moons']['seeds'])} seeds. With 16 ReLU units the test accuracy is {q('moons_relu16.test_accuracy')} "
        f"± {q('moons_relu16.test_accuracy_sd')} (training {q('moons_relu16.train_accuracy')})"
        + _test_vs_train(study, "moons_relu16")
        + (f"; that is {q('moons_relu16.gain_over_linear')} above the single layer's"
           if m["moons_relu16"]["gain_over_linear"] > 0
           else f"; that is no better than the single layer's (difference {q('moons_relu16.gain_over_linear')})")
        + f". With tanh units: {q('moons_tanh16.test_accuracy')} ± {q('moons_tanh16.test_accuracy_sd')}.")  # fmt: skip
    s.fig("moons_relu_boundary")
    s.fig("moons_relu_curves")
    return s


def _lr(study: Study) -> Section:
    q = study.q
    d = study.metrics["learning_rate"]
    s = Section(
        "lr",
        "Beyond the notebook: the learning rate and the noise of per-sample SGD",
        f"The 2-16-2 ReLU network of Task 6 (seed {study.config.seed}), the same initial weights and sample order, "
        f"trained for {d['steps']} per-sample SGD steps at learning rates {', '.join(f'{r:g}' for r in LEARNING_RATES)}. "
        "The loss and accuracy are on the whole training set, every 10 steps; 'final' is the mean of the last 10 "
        "evaluations; 'fluctuation' is the standard deviation of the last 50 evaluations over their mean.",
    )
    s.fig("learning_rates")
    rows = []
    phrases = []
    best_loss = min(v["final_loss"] for v in d["rates"] if not v["diverged"])
    for i, r in enumerate(LEARNING_RATES):
        k = f"learning_rate.rates.{i}"
        v = d["rates"][i]
        rows.append([f"{r:g}", f"{v['initial_loss']:.3g}", f"{v['mid_loss']:.3g}", f"{v['final_loss']:.3g}",
                     f"{v['final_train_accuracy']:.3f}", f"{v['fluctuation']:.2f}", str(v["dead_units"]),
                     f"at step {v['diverged_at']}" if v["diverged"] else "no"])  # fmt: skip
        if v["diverged"]:
            phrases.append(f"at {r:g} the loss overflowed and training stopped at step {q(k + '.diverged_at', 'd')}")
        elif v["final_loss"] < 0.9 * v["mid_loss"] and r == min(LEARNING_RATES):
            phrases.append(f"at {r:g} the loss is still falling at the end (from {q(k + '.mid_loss')} half-way to "
                           f"{q(k + '.final_loss')}): too small for this budget")  # fmt: skip
        elif v["final_loss"] > v["initial_loss"]:
            phrases.append(f"at {r:g} the loss ends above where it started ({q(k + '.initial_loss')} to "
                           f"{q(k + '.final_loss')}): too large")  # fmt: skip
        elif r > d["best"] and v["dead_units"] > 0 and v["fluctuation"] < 0.01:
            phrases.append(f"at {r:g} training stalls: the loss stays at {q(k + '.final_loss')} and the accuracy at "
                           f"{q(k + '.final_train_accuracy')}, with {q(k + '.dead_units', 'd')} of the 16 ReLU units off for "
                           "every training sample (an off unit passes no gradient, so it stays off): too large")  # fmt: skip
        elif r > d["best"] and v["final_loss"] > 1.5 * best_loss:
            phrases.append(f"at {r:g} the final loss is {q(k + '.final_loss')}, more than 1.5 times the best, with "
                           f"fluctuation {q(k + '.fluctuation', '.2f')}: too large, the steps overshoot")  # fmt: skip
        else:
            phrases.append(
                f"at {r:g} the final loss is {q(k + '.final_loss')} with fluctuation {q(k + '.fluctuation', '.2f')}"
            )
    s.table(Table("Learning rates (whole training set)", ["learning rate", "initial loss", "loss half-way",
                  "final loss", "final accuracy", "fluctuation", "dead units", "diverged"], rows))  # fmt: skip
    best = d["best"]
    s.p(f"The lowest final loss is reached at learning rate {best:g}. " + _sentence("; ".join(phrases)))
    s.p(f"Why per-sample SGD is noisy: each step follows one sample's gradient, an unbiased but noisy estimate of the "
        f"full gradient. At the weights trained with rate 0.1 the full gradient's norm is "
        f"{q('learning_rate.full_grad_norm', '.3g')}, while one sample's gradient differs from it by "
        f"{q('learning_rate.per_sample_grad_rms', '.3g')} (root mean square over the first 300 training samples): the "
        f"mean squared deviation is {q('learning_rate.grad_noise_ratio', '.3g')} times the squared norm of the full gradient. Each step moves the "
        "weights by the learning rate times one sample's gradient, so this deviation, times the rate, is the noise "
        "of a step; the fluctuation column shows what it does to the whole-training-set loss, and the loss of each "
        "step's sample (the dots in the training figures) says little about the trend.")  # fmt: skip
    return s


def _sentence(text: str) -> str:
    """``text`` with its first letter capitalised (str.capitalize would lower-case "ReLU") and a full stop."""
    return text[:1].upper() + text[1:] + "."


def _curve_shape(study: Study, act: str, key: str, what: str, fmt: str = ".3f") -> str:
    """Describe how the mean of ``key`` varies with the width: where it comes within the seed-to-seed
    spread of its peak, and whether it stays there or falls after the peak."""
    d = study.metrics[f"circles_{act}"]
    means = np.array([d[str(w)][key]["mean"] for w in WIDTHS])
    sds = np.array([d[str(w)][key]["sd"] for w in WIDTHS])
    q = study.q
    ip, last = int(means.argmax()), len(WIDTHS) - 1
    tol = max(float(sds.max()), 0.005)
    near = np.flatnonzero(means >= means[ip] - tol)
    first = int(near[0])

    def k(i: int) -> str:
        return f"circles_{act}.{WIDTHS[i]}.{key}.mean"

    text = f"{what} is {q(k(0), fmt)} at {WIDTHS[0]} units"
    if first == last:
        return text + f" and is still rising at {WIDTHS[last]} units ({q(k(last), fmt)})"
    if first > 0:
        text += f" and comes within {tol:.3f} (the largest seed-to-seed sd) of its peak at {WIDTHS[first]} units ({q(k(first), fmt)})"
    if np.all(means[first:] >= means[ip] - tol):
        return (
            text
            + f"; from there to {WIDTHS[last]} units it stays within that spread (peak {q(k(ip), fmt)} at {WIDTHS[ip]})"
        )
    return text + f"; it peaks at {WIDTHS[ip]} units ({q(k(ip), fmt)}) and falls to {q(k(last), fmt)} at {WIDTHS[last]}"


def _shape_of_boundary(study: Study, w: int) -> str:
    """The shown (first-seed) ReLU boundary at width ``w`` in words, from its measures."""
    k = f"circles_relu.{w}"
    counts = {name: study.get(f"{k}.{name}.values.0") for name in ("curves", "pieces", "corners")}
    return f"at {w} units, " + boundary_shape(counts, lambda name: study.q(f"{k}.{name}.values.0", ".0f"))


def _t7(study: Study) -> Section:
    q = study.q
    m = study.metrics
    c = m["circles"]
    s = Section(
        "t7",
        "Task 7: hidden units and the shape of the boundary (ReLU)",
        f"Data: two concentric circles, 500 points, noise 0.15, factor 0.5, {c['n_train']} train / {c['n_test']} test. "
        f"Networks 2-H-2 for H in {list(WIDTHS)}, He init, Adam (learning rate 0.01), batch 32, trained to a plateau: "
        "every 10 epochs the whole training loss is measured, and training stops once it fell by less than 2 % over "
        f"the last 50 epochs (at most {c['max_epochs']} epochs). {len(c['seeds'])} seeds; every width gets the same "
        "data, initial-weight seed and sample order. The p = 0.5 boundary is traced exactly, one linear region at "
        f"a time (its pieces found on a {c['resolution']} x {c['resolution']} grid), so its corners are the true "
        "corners; linear regions are the distinct ReLU activation patterns on that grid.",
    )
    s.fig("circles_relu_grid")
    s.fig("circles_curves")
    cap_runs = c["runs_at_cap"]
    s.p(f"{q('circles.runs_at_cap', 'd')} of the {q('circles.runs', 'd')} runs "
        + ("stopped at the epoch cap instead of a plateau (marked in the table's 'at cap' column)."
           if cap_runs else "reached the cap: every run stopped at a plateau."))  # fmt: skip
    s.p(_curve_shape(study, "relu", "test_accuracy", "The mean test accuracy") + ".")
    s.p("The boundaries of the first seed, from the measures: "
        + "; ".join(_shape_of_boundary(study, w) for w in WIDTHS) + ".")  # fmt: skip
    s.fig("linear_regions")
    lo, hi = WIDTHS[0], WIDTHS[-1]
    s.p(f"A one-hidden-layer ReLU network is affine inside each cell cut out by its H switching lines, so it has at "
        f"most 1 + H + H(H-1)/2 linear regions. In view there are {q(f'circles_relu.{lo}.regions.mean', '.1f')} regions at "
        f"{lo} units (bound {q(f'circles_relu.{lo}.region_bound.mean', '.0f')}) and "
        f"{q(f'circles_relu.{hi}.regions.mean', '.1f')} at {hi} (bound {q(f'circles_relu.{hi}.region_bound.mean', '.0f')}): "
        + _regions_verdict(m) + ".")  # fmt: skip
    s.fig("circles_measures")
    s.table(_width_table(m, "relu"))
    s.p(_corners_paragraph(study))
    return s


def _means(m: dict[str, Any], key: str) -> np.ndarray:
    return np.array([m["circles_relu"][str(w)][key]["mean"] for w in WIDTHS])


def _regions_verdict(m: dict[str, Any]) -> str:
    """Whether the region count grows with H and stays within the bound, as measured."""
    regions = _means(m, "regions")
    values = [(v, m["circles_relu"][str(w)]["region_bound"]["mean"]) for w in WIDTHS
              for v in m["circles_relu"][str(w)]["regions"]["values"]]  # fmt: skip
    grows = bool(np.all(np.diff(regions) > 0))
    within = all(v <= bound for v, bound in values)
    first = "the count grows with every step in H" if grows else "the count does not grow at every step in H"
    if within:
        return (first + " and stays within the bound, which counts every crossing of the H lines in the whole plane, "
                "while only part of the plane is in view")  # fmt: skip
    return first + " and some runs count MORE regions in view than the bound allows: the count is wrong"


def _more_units(m: dict[str, Any]) -> str:
    """What adding units did to the regions and the corners, from the means at each width."""
    regions, pieces = _means(m, "regions"), _means(m, "pieces")
    corner = _means(m, "mean_corner_deg")[1:]  # from the second width: the first is often one straight line
    parts = [
        "more units give " + ("more" if regions[-1] > regions[0] else "no more") + " linear regions in view",
        ("more" if pieces[-1] > pieces[1] else "no more") + " straight pieces",
        ("smaller" if corner[-1] < corner[0] else "no smaller") + " corners",
    ]
    return f"{parts[0]}, {parts[1]} and {parts[2]}"


def _corners_paragraph(study: Study) -> str:
    """Is the ReLU boundary smoother with more units? Answered from the corner share, the mean corner
    angle and the number of pieces, between the second width and the last."""
    q = study.q
    m = study.metrics
    mid, hi = WIDTHS[1], WIDTHS[-1]
    share = m["circles_relu"][str(hi)]["corner_share"]["mean"]
    r_mid, r_hi = m["circles_relu"][str(mid)], m["circles_relu"][str(hi)]
    smaller = r_hi["mean_corner_deg"]["mean"] < r_mid["mean_corner_deg"]["mean"]
    more = r_hi["pieces"]["mean"] > r_mid["pieces"]["mean"]
    text = "Is the boundary smoother with more units? "
    if share > 0.5:
        text += (f"Not in the sense of losing its corners: even at {hi} units "
                 f"{'essentially all' if share > 0.95 else 'most'} of the ReLU boundary's turning happens at "
                 f"corners ({q(f'circles_relu.{hi}.corner_share.mean', '.2f')}). ")  # fmt: skip
    else:
        text += (f"At {hi} units only {q(f'circles_relu.{hi}.corner_share.mean', '.2f')} of the ReLU boundary's "
                 "turning happens at measured corners. ")  # fmt: skip
    text += (f"The mean corner angle goes from {q(f'circles_relu.{mid}.mean_corner_deg.mean', '.1f')}° at {mid} units to "
             f"{q(f'circles_relu.{hi}.mean_corner_deg.mean', '.1f')}° at {hi}, over "
             f"{q(f'circles_relu.{mid}.pieces.mean', '.1f')} and {q(f'circles_relu.{hi}.pieces.mean', '.1f')} straight "
             "pieces: ")  # fmt: skip
    if smaller and more:
        return text + "more, smaller corners, a polygon that looks rounder from a distance."
    return text + (f"{'more' if more else 'no more'} pieces and {'smaller' if smaller else 'no smaller'} corners, so "
                   "by these measures the boundary does not get rounder with width here.")  # fmt: skip


def _t8(study: Study) -> Section:
    q = study.q
    m = study.metrics
    s = Section(
        "t8",
        "Task 8: ReLU against tanh",
        "The same widths, data, seeds, initial-weight seeds, sample orders and stopping rule, with tanh hidden units "
        "(Glorot init).",
    )
    s.fig("relu_vs_tanh")
    s.table(_width_table(m, "tanh"))
    hi, mid = WIDTHS[-1], WIDTHS[1]
    r, t = m["circles_relu"][str(hi)], m["circles_tanh"][str(hi)]
    smoother = t["corner_share"]["mean"] < 0.05 < 0.5 <= r["corner_share"]["mean"]
    more_curved = t["turning_per_length_deg"]["mean"] > r["turning_per_length_deg"]["mean"]
    no_corners = all(m["circles_tanh"][str(w)]["corner_share"]["mean"] < 0.05 for w in WIDTHS)
    s.p(
        "Does tanh give a smooth boundary? "
        + ("Yes: it has no corners. " if smoother else "Not measurably here. ")
        + f"At {hi} units {q(f'circles_tanh.{hi}.corner_share.mean', '.2f')} of the tanh boundary's turning happens at "
        f"corners (on the exact ReLU trace every turn of more than 0.1°; on the tanh trace a turn per unit length at least 5 "
        f"times as fast as at the neighbouring traced points) against "
        f"{q(f'circles_relu.{hi}.corner_share.mean', '.2f')} for ReLU; at {mid} units "
        f"{q(f'circles_tanh.{mid}.corner_share.mean', '.2f')} against {q(f'circles_relu.{mid}.corner_share.mean', '.2f')}. "
        "tanh is smooth everywhere, so its boundary's direction changes continuously; a ReLU network is affine in each "
        "region, so its boundary is straight between corners. "
        f"Smooth is not the same as less curved: the tanh boundary turns {q(f'circles_tanh.{hi}.turning_per_length_deg.mean', '.0f')}° "
        f"per unit length against {q(f'circles_relu.{hi}.turning_per_length_deg.mean', '.0f')}° for ReLU, "
        + ("about as much, " if abs(t["turning_per_length_deg"]["mean"] / max(r["turning_per_length_deg"]["mean"], 1e-12) - 1) < 0.05
           else "more, " if more_curved else "less, ")
        + ("spread along the curve instead of concentrated at corners. " if smoother
           else "with corner shares too close to tell where the turning happens. ")
        + (
            "Both the corner share and the corner angles (tables) say that tanh has no corners; the polyline's "
            "sharpest single turn (in the tables for reference) is not a smoothness measure: it depends on the grid. "
            if no_corners
            else "Some tanh boundaries have a measured corner share above 0.05 here (see the table), so the answer "
            "holds only for the widths where it is 0. "
        )
        + _curve_shape(study, "tanh", "test_accuracy", "The tanh networks' mean test accuracy")
        + "."
    )  # fmt: skip
    return s


def _answers(study: Study) -> Section:
    q = study.q
    m = study.metrics
    hi = WIDTHS[-1]
    s = Section("answers", "Answers at a glance, in the notebook's numbering",
                "Each line points to the section that shows the work.")  # fmt: skip
    s.items([
        "Task 1: softmax (max-shifted) and the forward pass z = W^T x + b (section 1).",
        "Question 1: grad_W L = x (p - e_y)^T, grad_b L = p - e_y, derived through the softmax Jacobian (section 1).",
        "Task 2: those two lines, batched as (1/N) X^T (P - Y) (section 1).",
        "Question 2: compare with central differences (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps) by a "
        "relative error, at the same weights, kinks excluded (section 2).",
        "Task 3: the vectorised central-difference check, per parameter (section 2).",
        f"Task 4: the single layer reaches {q('blobs.test_accuracy')} test accuracy on blobs and its gradient error "
        f"never exceeds {q('blobs.gradcheck_max_norm_error', '.1e')} (section 3).",
        f"Task 5: on moons one straight line reaches {q('moons_linear.test_accuracy')}, "
        + (f"{q('moons_relu16.gain_over_linear')} below 16 ReLU units" if m["moons_relu16"]["gain_over_linear"] > 0
           else "no less than 16 ReLU units")
        + " (section 4).",
        "Question 3: delta_h = (W_o delta_o) ⊙ f'(a), grad_Wh L = x delta_h^T, grad_bh L = delta_h, with "
        "f' = [h > 0] for ReLU and 1 - h^2 for tanh (section 5).",
        f"Task 6 (the notebook's second 'Task 5'): 16 ReLU units reach {q('moons_relu16.test_accuracy')} on moons "
        "at the same learning rate as the single layer (section 5).",
        f"Task 7: {_more_units(m)}; at {hi} units {q(f'circles_relu.{hi}.corner_share.mean', '.2f')} of the ReLU "
        "boundary's turning is at measured corners (section 7).",
        f"Task 8: at {hi} units {q(f'circles_tanh.{hi}.corner_share.mean', '.2f')} of the tanh boundary's turning is at "
        f"corners, and it turns {q(f'circles_tanh.{hi}.turning_per_length_deg.mean', '.0f')}° per unit length against "
        f"{q(f'circles_relu.{hi}.turning_per_length_deg.mean', '.0f')}° for ReLU (section 8).",
    ])  # fmt: skip
    return s


def _mistakes(study: Study) -> Section:
    s = Section("mistakes", "The notebook's own mistakes, and what the package does instead",
                "What a careful reader of the course notebook finds, and how perceptrons avoids each.")  # fmt: skip
    s.items([
        "The test loops evaluate X_train[i], not X_test[i], so the 'test accuracy' is a training accuracy on the first "
        "rows: the package evaluates the test set it is given.",
        "The gradient check is made after the update, at other weights than the gradient's, and with a one-sided "
        "difference (error of order h): the package checks before the update, with central differences.",
        "The check's error is a sum of squared differences, which depends on the gradient's scale: the package "
        "reports relative errors (entrywise and normwise) against a stated tolerance.",
        "softmax exponentiates the raw logits (the notebook's run shows an overflow warning): the package subtracts "
        "the maximum first.",
        "'Running train accuracy' (correct so far / steps so far) lags the model by hundreds of steps: the report "
        "measures the whole training set after the same steps as the test set.",
        "The dimensions are stated as W_o in M_(C,H) while the code uses H x C; the derivation writes "
        "ReLU'(x) = ReLU'(ReLU(x)), which holds only because [x > 0] = [ReLU(x) > 0]; and Task 5 appears twice: "
        "the report states every shape and numbers the second 'Task 5' as Task 6.",
        "The global NumPy seed is set inside the training functions: the package passes explicit seeds and "
        "Generators, so the same seed gives the same result bit for bit.",
    ])  # fmt: skip
    return s


def _width_table(m: dict[str, Any], act: str) -> Table:
    d = m[f"circles_{act}"]
    cols = ["train_accuracy", "test_accuracy", "final_loss", "epochs", "turning_per_length_deg", "corner_share",
            "mean_corner_deg", "sharpest_turn_deg"]  # fmt: skip
    heads = ["H", "train acc.", "test acc.", "final loss", "epochs", "turn/length (°)", "corner share",
             "mean corner (°)", "sharpest polyline turn (°)"]  # fmt: skip
    if act == "relu":
        cols += ["pieces", "regions"]
        heads += ["pieces", "regions"]
    heads.append("at cap")
    rows = []
    for w in WIDTHS:
        rows.append([str(w)] + [f"{d[str(w)][c]['mean']:.3g} ± {d[str(w)][c]['sd']:.2g}" for c in cols]
                    + [str(int(sum(d[str(w)]["at_cap"]["values"])))])  # fmt: skip
    name = "ReLU" if act == "relu" else "tanh"
    return Table(f"{name}: mean ± standard deviation over seeds", heads, rows)
