"""perceptrons.exercises: a catalogue of learners' mistakes, each failing its own function only and
named by a hint; correct solutions in other styles passing everything; missing and raising functions."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from perceptrons import course
from perceptrons.exercises import EXERCISES, check, planted_bug_demo

SOLUTIONS = Path(__file__).parent / "solutions"
LOOPS = (SOLUTIONS / "loops_relu.py").read_text()
TANH_LOOPS = LOOPS.replace("hidden = relu(Wh.T @ x + bh)", "hidden = tanh(Wh.T @ x + bh)").replace(
    "aux = d_relu(hidden)", "aux = d_tanh_hidden(hidden)"
)


def function_source(source, name):
    start = source.index(f"\ndef {name}(")
    end = source.find("\ndef ", start + 1)
    return start, len(source) if end < 0 else end


def mutate(source, name, old, new):
    """The solution with one mistake, made inside the function ``name`` only."""
    start, end = function_source(source, name)
    body = source[start:end]
    assert old in body, (name, old)
    return source[:start] + body.replace(old, new) + source[end:]


def namespace(source):
    ns = {"__name__": "solution"}
    exec(compile(source, "solution.py", "exec"), ns)
    return ns


# (function, activation, text to replace, replacement, words the hint must contain)
CATALOGUE = [
    ("softmax", "relu", "np.exp(aux - aux.max())", "np.exp(aux)", "overflow"),
    ("softmax", "relu", "(aux / aux.sum())", "aux", "not normalised"),
    ("forward_one_layer", "relu", "W.T @ x", "W @ x", "transposed"),
    ("forward_one_layer", "relu", "softmax(W.T @ x + b)", "softmax(W.T @ x)", "bias"),
    ("compute_grads_one_layer", "relu", "d_W = x @ (softmaxed - y).T", "d_W = (softmaxed - y) @ x.T", "transposed"),
    ("compute_grads_one_layer", "relu", "d_b = softmaxed - y", "d_b = y - softmaxed", "sign flipped"),
    ("compute_grads_one_layer", "relu", "d_b = softmaxed - y", "d_b = (softmaxed - y).ravel()", "columns"),
    (
        "compute_grads_one_layer",
        "relu",
        "d_W = x @ (softmaxed - y).T",
        "d_W = 2 * x @ (softmaxed - y).T",
        "factor of 2",
    ),
    ("compute_loss", "relu", "float(-np.log(", "float(np.log(", "minus sign"),
    ("compute_loss", "relu", "(softmaxed.T @ y).item()", "softmaxed.max()", "largest probability"),
    ("approx_grad_W", "relu", "- base) / h", "- base) / (2 * h)", "1/2"),
    ("approx_grad_W", "relu", "W_h = W.copy()", "W_h = W", "in place"),
    ("train_one_layer", "relu", "_test[k, :]", "_train[k, :]", "training set"),
    (
        "train_one_layer",
        "relu",
        "approx_grads.append(approx_grad_W(W, b, x, y))\n        W -= lr * d_W\n        b -= lr * d_b\n",
        "W -= lr * d_W\n        b -= lr * d_b\n        approx_grads.append(approx_grad_W(W, b, x, y))\n",
        "after the update",
    ),
    ("train_one_layer", "relu", "np.random.seed(random_seed)", "pass", "random_seed"),
    ("relu", "relu", "max(0, aux[i])", "min(0, aux[i])", "min(0, x)"),
    ("d_relu", "relu", "if aux[i] > 0:\n            result[i] = 1", "result[i] = 1", "mask is missing"),
    ("forward_two_layers", "relu", "relu(Wh.T @ x + bh)", "(Wh.T @ x + bh)", "activation is not applied"),
    ("forward_two_layers", "relu", "relu(Wh.T @ x + bh)", "relu(Wh @ x + bh)", "transposed"),
    ("compute_grads_two_layers", "relu", "aux = d_relu(hidden)", "aux = np.ones_like(hidden)", "mask is missing"),
    ("compute_grads_two_layers", "relu", "d_Wh = np.outer(x, d_bh)", "d_Wh = np.outer(d_bh, x)", "transposed"),
    ("compute_grads_two_layers", "relu", "aux[i, 0] * (Wo", "2 * aux[i, 0] * (Wo", "factor of 2"),
    ("train_two_layer", "relu", "_test[k, :]", "_train[k, :]", "training set"),
    ("train_two_layer", "relu", "-= lr", "+= lr", "does not go down"),
    ("tanh", "relu", "return np.tanh(x)", "return 1 - np.tanh(x) ** 2", "derivative"),
    ("d_tanh_hidden", "tanh", "1 - hidden**2", "1 - np.tanh(hidden) ** 2", "twice"),
    ("compute_grads_two_layers", "tanh", "aux = d_tanh_hidden(hidden)", "aux = 1 - np.tanh(hidden) ** 2", "twice"),
    ("forward_two_layers", "tanh", "hidden = tanh(", "hidden = relu(", "hidden uses relu"),
]


@pytest.mark.parametrize(
    ("name", "activation", "old", "new", "hint"), CATALOGUE, ids=[f"{c[0]}-{c[4]}" for c in CATALOGUE]
)
def test_each_mistake_fails_its_function_only_and_is_named(name, activation, old, new, hint):
    base = TANH_LOOPS if activation == "tanh" else LOOPS
    report = check(namespace(mutate(base, name, old, new)), activation=activation)
    failed = [k for k, r in report.results.items() if r.passed is False]
    assert failed == [name], str(report)
    assert not report.passed
    message = report.results[name].message
    assert hint in message, message
    assert "FAILED" in str(report) and hint in str(report)


@pytest.mark.parametrize(
    ("solution", "activation"),
    [(LOOPS, "relu"), (TANH_LOOPS, "tanh"), ((SOLUTIONS / "vectorised_tanh.py").read_text(), "tanh")],
    ids=["loops-relu", "loops-tanh", "einsum-scipy-heaviside-tanh"],
)
def test_correct_solutions_in_other_styles_pass_every_function(solution, activation):
    report = check(namespace(solution), activation=activation)
    assert report.passed, str(report)
    assert set(report.checked) == set(EXERCISES)


def test_the_library_reference_passes_as_a_module():
    assert check(course).passed


def test_a_missing_function_is_missing_and_a_raising_one_is_reported():
    ns = namespace(LOOPS)
    del ns["approx_grad_W"]
    ns["relu"] = lambda x: 1 / 0
    ns["tanh"] = lambda x: (_ for _ in ()).throw(NotImplementedError)
    report = check(ns)
    assert report.results["approx_grad_W"].status == "missing" and report.results["approx_grad_W"].passed is None
    assert report.results["relu"].passed is False and "ZeroDivisionError" in report.results["relu"].message
    assert "NotImplementedError" in report.results["tanh"].message
    assert report.results["softmax"].passed  # the others are still checked
    assert "missing" in str(report)


def test_the_smallest_failing_input_and_expected_against_got_are_shown():
    report = check(namespace(mutate(LOOPS, "d_relu", "if aux[i] > 0:\n            result[i] = 1", "result[i] = 1")))
    message = report.results["d_relu"].message
    assert "x = [[0.]]" in message or "x = [[" in message
    assert "expected" in message and "got" in message


def test_only_restricts_the_check_and_bad_arguments_say_what_is_expected():
    report = check(namespace(LOOPS), only="softmax")
    assert list(report.results) == ["softmax"] and report.passed
    with pytest.raises(ValueError, match="'relu' or 'tanh'"):
        check({}, activation="sigmoid")
    with pytest.raises(ValueError, match="unknown exercise"):
        check({}, only="softmaxx")
    with pytest.raises(TypeError, match="globals"):
        check(42)
    assert not check({}).passed


def test_the_command_line_check(tmp_path):
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(LOOPS)
    bad.write_text(mutate(LOOPS, "compute_loss", "float(-np.log(", "float(np.log("))
    cli = [sys.executable, "-m", "perceptrons", "check"]
    ok = subprocess.run([*cli, str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and "PASSED" in ok.stdout
    ko = subprocess.run([*cli, str(bad)], capture_output=True, text=True)
    assert ko.returncode == 1 and "minus sign" in ko.stdout
    tanh_file = tmp_path / "tanh.py"
    tanh_file.write_text(TANH_LOOPS)
    assert subprocess.run([*cli, str(tanh_file), "--activation", "tanh"], capture_output=True).returncode == 0
    assert subprocess.run([*cli, str(tanh_file)], capture_output=True).returncode == 1
    for args in ([str(tmp_path / "none.py")], [str(good), "--activation", "sigmoid"]):
        usage = subprocess.run([*cli, *args], capture_output=True, text=True)
        assert usage.returncode == 2 and re.search(r"error", usage.stderr)


def test_planted_bug_demo_catches_the_tanh_derivative_taken_twice():
    demo = planted_bug_demo()
    assert demo.correct.passed and not demo.buggy.passed
    worst = max(demo.buggy.checks.values(), key=lambda c: c.max_rel_error)
    assert worst.name in ("Wh", "bh") and worst.max_rel_error > 1e-3
    # the correct gradient's central-difference error reaches ~1e-9 at its best step; the bug's stays flat
    assert demo.correct_curve.central.min() < 1e-8 < 1e-3 < demo.buggy_curve.central.min()
    np.testing.assert_allclose(demo.correct_curve.h, demo.buggy_curve.h)
