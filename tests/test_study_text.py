"""The report's sentences and captions follow the numbers: study results built by hand, where the right
sentence is known, including the cases where a claim is reversed. Plus the blobs figure's junction
test against a single layer worked by hand."""

import re

import numpy as np
import pytest

from perceptrons import MLP
from perceptrons import study_captions as captions
from perceptrons.study import _blobs_view
from perceptrons.study_model import WIDTHS, Study, StudyConfig
from perceptrons.study_text import (
    _answers,
    _corners_paragraph,
    _curve_shape,
    _q3,
    _regions_verdict,
    _shape_of_boundary,
    _t5,
    _t8,
    _test_vs_train,
)


def _plain(text: str) -> str:
    """The sentence as printed: the metrics-key markup of Study.q removed."""
    return re.sub("\x00[^\x01]*\x01([^\x02]*)\x02", r"\1", text)


def _stat(*values: float) -> dict:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if a.size > 1 else 0.0, "values": a.tolist()}


def _width(w: int, **over: float) -> dict:
    """One width's measures for one seed: a polygon of w + 3 pieces with 360/(w + 3)-degree corners."""
    pieces = over.pop("pieces", w + 3.0)
    v = {
        "train_accuracy": 0.95, "test_accuracy": 0.95, "final_loss": 0.1, "epochs": 100.0, "at_cap": 0.0,
        "turning_per_length_deg": 70.0, "corner_share": 1.0, "corners": pieces, "pieces": pieces,
        "mean_corner_deg": 360.0 / pieces, "largest_corner_deg": 360.0 / pieces, "sharpest_turn_deg": 360.0 / pieces,
        "curves": 1.0, "regions": 1.0 + w + w * (w - 1) / 4, "region_bound": 1.0 + w + w * (w - 1) / 2,
    }  # fmt: skip
    v.update(over)
    return {k: _stat(x) for k, x in v.items()}


def _study(relu: dict | None = None, tanh: dict | None = None, **sections: dict) -> Study:
    """A study whose circles results are polygons at every width unless ``relu``/``tanh`` override
    a width's measures (``{width: {key: value}}``); other sections' metrics passed as keywords."""
    study = Study(StudyConfig())
    m = study.metrics
    for act, over in (("relu", relu or {}), ("tanh", tanh or {})):
        base = {} if act == "relu" else {"corner_share": 0.0, "corners": 0.0, "mean_corner_deg": 0.0}
        m[f"circles_{act}"] = {str(w): _width(w, **{**base, **over.get(w, {})}) for w in WIDTHS}
    m["circles"] = {"max_epochs": 400, "runs_at_cap": 0, "runs": 2 * len(WIDTHS)}
    m.update(_blobs())
    m.update(sections)
    return study


# -- Task 7: regions, corners, the curve of accuracy against width -------------------------------------------


def test_regions_grow_and_stay_within_the_bound_or_the_text_says_otherwise():
    assert _regions_verdict(_study().metrics).startswith("the count grows with every step in H and stays within")
    fewer = _study(relu={10: {"regions": 5.0}})  # 10 units: fewer regions than at 5
    assert "does not grow at every step" in _regions_verdict(fewer.metrics)
    over = _study(relu={5: {"regions": 17.0}})  # the bound for 5 lines is 16
    assert "MORE regions in view than the bound allows" in _regions_verdict(over.metrics)


def test_first_seed_boundaries_in_words_with_their_keys():
    study = _study(relu={2: {"pieces": 1.0, "corners": 0.0}, 5: {"curves": 2.0, "pieces": 9.0, "corners": 7.0}})
    assert _plain(_shape_of_boundary(study, 2)) == "at 2 units, a straight line"
    five = _shape_of_boundary(study, 5)
    assert _plain(five) == "at 5 units, 2 curves of 9 straight pieces with 7 corners"
    assert "\x00circles_relu.5.pieces.values.0\x019\x02" in five  # quoted with its metrics key
    one = _study(relu={10: {"pieces": 3.0, "corners": 1.0}})
    assert _plain(_shape_of_boundary(one, 10)) == "at 10 units, 1 curve of 3 straight pieces with 1 corner"


def test_more_smaller_corners_only_when_measured():
    text = _plain(_corners_paragraph(_study()))
    assert "Not in the sense of losing its corners" in text and "more, smaller corners" in text
    # pieces falling and corners growing from 5 to 50 units: the opposite, and said so
    reversed_ = _study(relu={50: {"pieces": 4.0, "corners": 4.0, "mean_corner_deg": 90.0}})
    text = _plain(_corners_paragraph(reversed_))
    assert "more, smaller" not in text and "no more pieces and no smaller corners" in text
    assert "does not get rounder" in text
    smooth = _study(relu={50: {"corner_share": 0.2}})
    text = _plain(_corners_paragraph(smooth))
    assert "Not in the sense" not in text and "only 0.20 of the ReLU boundary's turning" in text


def test_answer_to_task_7_follows_regions_pieces_and_corners():
    m = {"moons_relu16": {"gain_over_linear": 0.1, "test_accuracy": 0.95}, "moons_linear": {"test_accuracy": 0.85}}
    items = _plain(" ".join(_answers(_study(**m)).blocks[0][1]))
    assert "more units give more linear regions in view, more straight pieces and smaller corners" in items
    flat = _study(relu={50: {"regions": 1.0, "pieces": 8.0, "mean_corner_deg": 90.0}}, **m)
    items = _plain(" ".join(_answers(flat).blocks[0][1]))
    assert "no more linear regions in view, no more straight pieces and no smaller corners" in items


def test_answer_to_task_5_says_below_only_when_two_layers_win():
    win = _study(moons_relu16={"gain_over_linear": 0.1, "test_accuracy": 0.95}, moons_linear={"test_accuracy": 0.85})
    assert "0.100 below 16 ReLU units" in _plain(" ".join(_answers(win).blocks[0][1]))
    lose = _study(moons_relu16={"gain_over_linear": -0.02, "test_accuracy": 0.83}, moons_linear={"test_accuracy": 0.85})
    assert "no less than 16 ReLU units" in _plain(" ".join(_answers(lose).blocks[0][1]))


@pytest.mark.parametrize(
    "accuracy, expected",
    [
        ((0.70, 0.95, 0.95, 0.95, 0.95, 0.95), "within 0.005 (the largest seed-to-seed sd) of its peak at 5 units"),
        ((0.70, 0.80, 0.95, 0.85, 0.80, 0.75), "it peaks at 10 units (0.950) and falls to 0.750 at 50"),
        ((0.60, 0.65, 0.70, 0.75, 0.80, 0.90), "is still rising at 50 units (0.900)"),
    ],
)
def test_the_accuracy_curve_is_described_by_its_shape(accuracy, expected):
    study = _study(relu={w: {"test_accuracy": a} for w, a in zip(WIDTHS, accuracy)})
    assert expected in _plain(_curve_shape(study, "relu", "test_accuracy", "The mean test accuracy"))


# -- Task 8 ---------------------------------------------------------------------------------------------------


def test_tanh_smooth_answer_is_yes_only_without_corners():
    assert "Does tanh give a smooth boundary? Yes: it has no corners." in _plain(_t8(_study()).blocks[2][1])
    cornered = _study(tanh={50: {"corner_share": 0.6, "corners": 3.0}})
    text = _plain(_t8(cornered).blocks[2][1])
    assert "Not measurably here." in text and "holds only for the widths where it is 0" in text


def test_tanh_more_or_less_curved_follows_turning_per_length():
    more = _study(tanh={50: {"turning_per_length_deg": 90.0}})
    less = _study(tanh={50: {"turning_per_length_deg": 50.0}})
    assert "90° per unit length against 70° for ReLU, more," in _plain(_t8(more).blocks[2][1])
    assert "50° per unit length against 70° for ReLU, less," in _plain(_t8(less).blocks[2][1])


# -- moons ----------------------------------------------------------------------------------------------------


def _moons(train_lin: float, wrong: tuple[int, int], test: float, train: float) -> Study:
    relu = {"test_accuracy": test, "train_accuracy": train, "test_minus_train": test - train, "test_se": 0.012}
    lin = {"test_accuracy": 0.85, "test_accuracy_sd": 0.0, "train_accuracy": train_lin, "steps": 100, "lr": 0.1,
           "shown": {"seed": 0, "wrong_class0": wrong[0], "wrong_class1": wrong[1], "test_accuracy": 0.85}}  # fmt: skip
    return _study(moons={"n_train": 750, "n_test": 250, "seeds": [0]}, moons_linear=lin, moons_relu16=relu)


def test_single_layer_sentence_follows_its_training_accuracy_and_errors():
    text = _plain(_t5(_moons(0.87, (28, 10), 0.95, 0.95)).blocks[1][1])
    assert "does not separate the interleaved moons" in text
    assert "28 test points of class 0 and 10 of class 1 lie on the wrong side" in text
    text = _plain(_t5(_moons(1.0, (0, 3), 0.95, 0.95)).blocks[1][1])
    assert "separates the training set" in text and "only one class has test points on the wrong side" in text


@pytest.mark.parametrize(
    "test, train, expected",
    [
        (0.960, 0.950, "above its training accuracy, by 0.010, less than the test accuracy's standard error"),
        (0.980, 0.950, "above its training accuracy, by 0.030, more than the test accuracy's standard error"),
        (0.9593, 0.9589, "its test and training accuracies are equal to three decimals"),
        (0.940, 0.950, None),
    ],
)
def test_test_above_train_is_said_only_when_it_is(test, train, expected):
    text = _plain(_test_vs_train(_moons(0.87, (1, 1), test, train), "moons_relu16"))
    assert (expected in text) if expected else text == ""


@pytest.mark.parametrize(
    "gain, expected",
    [
        (0.1, "that is 0.100 above the single layer's"),
        (-0.02, "that is no better than the single layer's (difference -0.020)"),
    ],
)
def test_two_layers_against_one_says_above_only_when_it_is(gain, expected):
    study = _moons(0.87, (1, 1), 0.95, 0.96)
    study.metrics["moons_relu16"].update(lr=0.1, steps=100, test_accuracy_sd=0.01, gain_over_linear=gain)
    study.metrics["moons_tanh16"] = {"test_accuracy": 0.95, "test_accuracy_sd": 0.01}
    task6 = next(_plain(b) for kind, b in _q3(study).blocks if kind == "p" and b.startswith("Task 6"))
    assert expected in task6


def test_moons_captions_follow_the_shown_runs():
    m = _moons(0.87, (28, 10), 0.95, 0.95).metrics
    assert (
        "points of both moons lie on the wrong side of it (28 of class 0 and 10 of class 1)"
        in captions.moons_boundary(m, "moons_linear", "Single layer")[0]
    )
    m["moons_linear"]["shown"].update(wrong_class0=0, wrong_class1=4)
    assert "4 points of class 1 lie on the wrong side" in captions.moons_boundary(m, "moons_linear", "Single layer")[0]
    m["moons_linear"]["shown"].update(wrong_class1=0)
    assert "every test point on its own side" in captions.moons_boundary(m, "moons_linear", "Single layer")[0]
    m["moons_relu16"].update(lr=0.1, shown={"seed": 0, "wrong_class0": 2, "wrong_class1": 1, "test_accuracy": 0.99,
                                            "curves": 1.0, "pieces": 1.0, "corners": 0.0})  # fmt: skip
    assert (
        "1 curve of 1 straight piece meeting at 0 corners; 3 test points"
        in captions.moons_boundary(m, "moons_relu16", "2-16-2 ReLU")[0]
    )


# -- captions of the circles figures ----------------------------------------------------------------------------


def test_relu_grid_caption_names_each_width_shape_and_says_whether_pieces_grow():
    cap, alt = captions.relu_grid(_study(relu={2: {"pieces": 1.0, "corners": 0.0}}).metrics, 100)
    assert "2 units: a straight line; 5 units: 1 curve of 8 straight pieces with 8 corners" in cap
    assert cap.endswith("with more and shorter pieces as units are added.") and "2 units: a straight line" in alt
    two_lines = _study(relu={2: {"pieces": 2.0, "corners": 0.0, "curves": 2.0}, 50: {"pieces": 10.0}})
    cap, _ = captions.relu_grid(two_lines.metrics, 100)
    assert "2 units: 2 straight lines" in cap and "does not grow steadily" in cap


def test_plateau_caption_counts_the_shown_runs_at_the_cap():
    cap, _ = captions.plateau(_study().metrics, 100)
    assert "none of the 12 shown runs reached the epoch cap (400" in cap
    capped = _study(tanh={5: {"at_cap": 1.0}}, relu={50: {"at_cap": 1.0}})
    capped.metrics["circles"].update(runs_at_cap=3, runs=36)
    cap, _ = captions.plateau(capped.metrics, 100)
    assert "a red cross marks a run stopped by the epoch cap (400, dotted line) instead: 2 of the 12 shown" in cap
    assert "3 of 36 runs stopped at the cap" in cap


def test_relu_tanh_caption_claims_corners_only_where_measured():
    cap, _ = captions.relu_tanh(_study().metrics, 100)
    assert "the ReLU boundary is straight segments meeting at corners (18 in all" in cap  # 15 + 3 pieces
    assert "the tanh boundary bends continuously (no measured corner)" in cap
    odd = _study(relu={15: {"corners": 0.0}}, tanh={15: {"corners": 2.0}})
    cap, _ = captions.relu_tanh(odd.metrics, 100)
    assert "the ReLU boundary has no measured corner here" in cap and "the tanh boundary has 2 measured corners" in cap


def test_measures_alt_quotes_the_corner_shares():
    alt = captions.measures_alt(_study(tanh={50: {"corner_share": 0.25}}).metrics)
    assert "1.00 for ReLU, 0.25 for tanh" in alt


# -- blobs and the gradient check --------------------------------------------------------------------------------


def _blobs(**over: float) -> dict:
    b = {"steps": 1000, "gradcheck_max_norm_error": 5e-8, "gradcheck_norm_error_first100": 1e-10,
         "gradcheck_norm_error_last100": 3e-9, "grad_norm_first100": 1.7, "grad_norm_last100": 0.09,
         "sample_loss_decades": 4.2, "first_loss_ma50": 0.6, "final_loss_ma50": 0.01, "train_accuracy": 0.99,
         "test_accuracy": 1.0, "classes_in_view": 3, "junction_in_view": True}  # fmt: skip
    b.update(over)
    return {"blobs": b}


def test_gradcheck_caption_says_rise_and_tolerance_as_measured():
    cap, alt = captions.blobs_gradcheck(_blobs())
    assert "stays below it at every step" in cap and "The error rises as the norm falls" in cap
    assert "stays below the dashed 1e-6 tolerance and rises as" in alt
    cap, alt = captions.blobs_gradcheck(_blobs(gradcheck_max_norm_error=2e-6, gradcheck_norm_error_last100=1e-11))
    assert "it goes ABOVE it somewhere" in cap
    assert "Here the error does not rise" in cap and "crosses the dashed 1e-6 tolerance while" in alt


def test_blobs_curves_caption_spread_from_the_losses():
    assert "scatters over 4 orders of magnitude" in captions.blobs_curves(_blobs())[0]
    assert "varies by a factor of 5" in captions.blobs_curves(_blobs(sample_loss_decades=np.log10(5)))[0]


def test_blobs_boundary_caption_and_the_junction_worked_by_hand():
    # z = (x1 + b0, -x1 + b1, x2 + b2): z_0 = z_1 at x1 = (b1 - b0) / 2, z_1 = z_2 at x2 = -x1 + b1 - b2
    net = MLP([2, 3], activation="identity", seed=0)
    net.params["W0"] = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    X = np.array([[-2.0, -2.0], [2.0, 2.0]])  # the figure's window: [-2.4, 2.4]^2
    net.params["b0"] = np.zeros(3)  # junction (0, 0)
    assert _blobs_view(net, X) == {"classes_in_view": 3, "junction_in_view": True}
    assert "three straight boundaries meeting at one point" in captions.blobs_boundary(_blobs())[0]
    net.params["b0"] = np.array([0.0, 0.0, 3.0])  # junction (0, -3); class 0 still wins at (2.4, -2.4)
    view = _blobs_view(net, X)
    assert view == {"classes_in_view": 3, "junction_in_view": False}
    assert "the point where all three meet lies outside the view" in captions.blobs_boundary(_blobs(**view))[0]
    net.params["b0"] = np.array([0.0, 10.0, 10.0])  # class 0 needs x1 > 5: only two classes in view
    view = _blobs_view(net, X)
    assert view == {"classes_in_view": 2, "junction_in_view": False}
    assert "between the 2 classes that win somewhere in view" in captions.blobs_boundary(_blobs(**view))[0]


def test_error_vs_h_caption_says_whether_the_mistake_is_caught():
    pb = {"rtol": 1e-6, "correct": {"best_h_central": 1e-5, "min_central_error": 5e-11},
          "buggy": {"best_h_central": 1e-5, "min_central_error": 0.13}}  # fmt: skip
    cap, _ = captions.error_vs_h({"planted_bug": pb})
    assert "no step h makes the wrong gradient agree" in cap and "never comes within" not in cap
    pb["buggy"]["min_central_error"] = 1e-8
    pb["correct"]["min_central_error"] = 1e-5
    cap, _ = captions.error_vs_h({"planted_bug": pb})
    assert "comes within the tolerance at some h" in cap and "the correct code never comes within" in cap
