"""The second catalogue of hostile probes: padded model files, special paths, a closed or full standard
output, crafted estimator files, unterminated CSV quotes, and arguments that could only be mistakes.

As in ``test_hostile.py``, each probe checks a fact the input settles (the bytes in the file, the path
given, the text of the label), never a number the code under test produced.
"""

import errno
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
from test_hostile import _cli, _mlp_meta, _npy, _one_error_line, _write_model, save_edited

import perceptrons
import perceptrons.io as model_files
from perceptrons import MLP, course
from perceptrons.datasets import make, parse_csv, train_test_split
from perceptrons.estimator import PerceptronRegressor
from perceptrons.playground.session import ConfigError, Session


# -- model files ----------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [b"\x00" * 8, b"\x00" * 200, -8])
def test_padded_or_truncated_array_entries_are_refused(tmp_path, extra):
    """An entry must hold its header and the declared data to the byte: bytes added after the header
    or taken from the data would shift where the numbers are read from."""
    W = np.arange(4.0).reshape(2, 2)
    member = _npy(W)
    header = member[: len(member) - W.nbytes]
    data = member[len(header) :]
    crafted = header + extra + data if isinstance(extra, bytes) else member[:extra]
    p = tmp_path / "m.npz"
    _write_model(p, _mlp_meta([2, 2]), {"W0": crafted, "b0": np.zeros(2)})
    with pytest.raises(ValueError, match="m.npz: array 'W0.npy' declares") as err:
        perceptrons.load(p)
    assert "\n" not in str(err.value)


def test_big_endian_arrays_are_named_by_their_byte_order(tmp_path):
    p = tmp_path / "m.npz"
    _write_model(p, _mlp_meta([2, 2]), {"W0": np.zeros((2, 2), ">f8"), "b0": np.zeros(2)})
    with pytest.raises(ValueError, match=r"big-endian, '>f8'.*little-endian, '<f8'"):
        perceptrons.load(p)


@pytest.mark.parametrize(
    "member, words",
    [
        (b"not an npy file at all", "'W0.npy' is not a readable array"),
        (b"\x93NUMPY\x01\x00", "'W0.npy' is not a readable array"),  # the magic, then nothing
        (b"\x93NUMPY\x07\x00" + b"x" * 20, "'W0.npy' is not a readable array"),
    ],
)
def test_broken_array_headers_name_the_file_not_numpy_internals(tmp_path, member, words):
    p = tmp_path / "m.npz"
    _write_model(p, _mlp_meta([2, 2]), {"W0": member, "b0": np.zeros(2)})
    with pytest.raises(ValueError, match=words) as err:
        perceptrons.load(p)
    assert str(err.value).startswith(str(p)) and "magic string" not in str(err.value)


def test_metadata_with_an_integer_past_pythons_digit_limit(tmp_path):
    p = tmp_path / "m.npz"
    _write_model(p, json.dumps(_mlp_meta([2, 2]))[:-1] + ', "x": ' + "9" * 5000 + "}", {})
    with pytest.raises(ValueError, match="m.npz: the metadata of this model file is corrupted"):
        perceptrons.load(p)


def test_loading_holds_little_more_than_the_model(tmp_path):
    """The file's arrays are read into the network's own vector: no random weights drawn to be thrown
    away, no second copy of each array."""
    net = MLP([400, 1000, 500, 10], seed=0)
    p = tmp_path / "big.npz"
    net.save(p)
    nbytes = net.flat_params.nbytes  # 4.5 MB
    tracemalloc.start()
    loaded = perceptrons.load(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(loaded.flat_params, net.flat_params)
    assert peak < 2.5 * nbytes, (peak, nbytes)


@pytest.fixture(scope="module")
def saved_regressor(tmp_path_factory):
    X = np.random.default_rng(0).standard_normal((20, 3))
    reg = PerceptronRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, X.sum(axis=1))
    p = tmp_path_factory.mktemp("reg") / "reg.npz"
    reg.save(p)
    return model_files.load_arrays(p)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda m: m.update(out_activation="exp"), "out_activation 'exp'"),  # exp output with squared_error
        (lambda m: m["params"].update(loss="poisson"), "out_activation 'identity'"),
        (lambda m: m["net"].update(output="softmax"), "out_activation|output"),
        (lambda m: m.update(kind="PerceptronClassifier"), "not those of a PerceptronClassifier"),
        (lambda m: m.update(n_features_in=True), "n_features_in"),
        (lambda m: m.update(t=-1), "t must be"),
    ],
)
def test_crafted_regressor_metadata_is_rejected(tmp_path, saved_regressor, edit, words):
    with pytest.raises(ValueError, match=words):
        perceptrons.load(save_edited(tmp_path, saved_regressor, edit))


# -- saving ---------------------------------------------------------------------------------------
def test_symlink_loop_and_folder_names_are_clear_errors(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    a.symlink_to(b)
    b.symlink_to(a)
    net = MLP([2, 2], seed=0)
    with pytest.raises(ValueError, match="symlink loop"):
        net.save(a)
    assert "symlink loop" in _one_error_line(_cli("train", "--epochs", "1", "--save", str(a)))
    with pytest.raises(ValueError, match="ends with a slash"):
        net.save(str(tmp_path / "newdir") + "/")
    assert not (tmp_path / "newdir").exists()


def test_a_failed_write_names_the_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "m.npz"
    target.write_bytes(b"previous")

    def full_disk(fh):
        fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as err:
        model_files.atomic_write(target, full_disk)
    assert err.value.filename == str(target) and err.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["m.npz"]
    with pytest.raises(OSError) as err:  # a folder where no file can be made: named as given
        MLP([2, 2], seed=0).save("/proc/m.npz")
    assert err.value.filename == "/proc/m.npz"


def test_save_and_plot_on_one_file_are_refused_before_training(tmp_path):
    target = tmp_path / "m.npz"
    target.write_bytes(b"previous")
    line = _one_error_line(_cli("train", "--epochs", "1", "--save", str(target), "--plot", str(target)))
    assert "the same file" in line and target.read_bytes() == b"previous"


@pytest.mark.parametrize("option", ["--save", "--plot", "--csv"])
def test_empty_paths_are_refused_not_ignored(option):
    proc = _cli("train", "--epochs", "1", option, "")
    assert proc.returncode == 2 and "the path is empty" in proc.stderr and "Traceback" not in proc.stderr


# -- the standard output --------------------------------------------------------------------------
def test_a_closed_stdout_still_saves_quietly(tmp_path):
    """``>&-``: the process starts with no file descriptor 1 at all (Python's sys.stdout is None)."""
    save = tmp_path / "m.npz"
    env = {**os.environ, "PYTHONPATH": os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src"))}
    code = "import sys; from perceptrons.cli import main; sys.exit(main())"
    proc = subprocess.run(
        ["sh", "-c", 'exec "$0" -c "$1" train --epochs 1 --save "$2" >&-', sys.executable, code, str(save)],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert perceptrons.load(save).sizes == [2, 16, 2]


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"]])
def test_help_into_a_full_disk_is_an_error(args):
    with open("/dev/full", "w") as full:
        proc = _cli(*args, stdout=full)
    assert "No space left" in _one_error_line(proc)


# -- CSV ------------------------------------------------------------------------------------------
def test_an_unterminated_quote_does_not_swallow_the_file():
    text = 'a,b,label\n1,2,"x\n3,4,y\n5,6,z\n'
    with pytest.raises(ValueError, match="never closed"):
        parse_csv(text)


@pytest.mark.parametrize(
    "text, kw, words",
    [
        ("a,b,\n1,2,x\n3,4,y\n", {}, "has no name in the header"),  # a trailing comma on the header
        ("a,label,label\n1,2,x\n", {"label": "label"}, "2 columns are named 'label'"),
        ("a,b\n1,x\n", {"label": True}, "column name \\(str\\) or a column index \\(int\\), got True"),
        ("a,b\n1,x\n", {"delimiter": 5}, "one character.*got 5"),
    ],
)
def test_csv_arguments_that_can_only_be_mistakes(text, kw, words):
    with pytest.raises(ValueError, match=words):
        parse_csv(text, **kw)


def test_the_delimiter_is_found_by_the_parser_not_by_counting_characters():
    X, y, classes = parse_csv('"a,b,c";d;label\n1;2;x\n3;4;y\n')  # three commas, all inside one quoted name
    assert X.tolist() == [[1.0, 2.0], [3.0, 4.0]] and classes.tolist() == ["x", "y"]


# -- arguments ------------------------------------------------------------------------------------
def test_gradcheck_of_nothing_is_refused():
    for empty in ({}, [], ()):
        with pytest.raises(ValueError, match="nothing to check"):
            perceptrons.gradcheck(lambda p: (0.0, p), empty)


def test_course_functions_check_h_and_memory():
    X = np.random.default_rng(0).standard_normal((10, 2))
    Y = np.eye(2)[np.arange(10) % 2]
    W, b, x, y = np.zeros((2, 2)), np.zeros((2, 1)), np.ones((2, 1)), np.array([[1.0], [0.0]])
    for h in (0.0, -1e-4, float("nan"), 5.0, 1e-12):
        with pytest.raises(ValueError, match="h must be"):
            course.approx_grad_W(W, b, x, y, h=h)
    with pytest.raises(MemoryError, match="n_it=1,000,000,000,000"):
        course.train_one_layer(X, Y, X, Y, 0.1, n_it=10**12)
    with pytest.raises(MemoryError, match="n_hidden=1,000,000,000"):
        course.train_two_layer(X, Y, X, Y, 0.1, n_hidden=10**9)


def test_data_that_overflows_or_leaves_no_test_set():
    with pytest.raises(ValueError, match="noise=1e\\+308 is too large"):
        make("moons", n=10, noise=1e308, seed=0)
    X, y = make("moons", n=3, seed=0)
    with pytest.raises(ValueError, match="leaves no test sample"):
        train_test_split(X, y, test_size=0.25, seed=0)
    assert "leaves no test sample" in _one_error_line(_cli("train", "--n", "3", "--epochs", "1"))


@pytest.mark.parametrize(
    "value, words",
    [(10**400, "about 401 digits"), (10**5000, "about 5001 digits"), (-1e308, "-1e\\+308")],
    ids=["1e400", "1e5000", "-1e308"],  # pytest cannot name a 5000-digit int itself
)
def test_playground_settings_out_of_any_range(value, words):
    with pytest.raises(ConfigError, match=words):
        Session({"lr": value})


def test_playground_host_must_be_an_address():
    assert "--host is empty" in _one_error_line(_cli("playground", "--host", "", "--no-browser"))


def test_check_of_a_function_returning_a_list_that_holds_itself(tmp_path):
    f = tmp_path / "solution.py"
    f.write_text("def softmax(y):\n    a = []\n    a.append(a)\n    return a\n")
    proc = _cli("check", str(f))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "softmax" in proc.stdout and "FAILED" in proc.stdout


def test_a_zip_with_the_metadata_only_is_not_a_model(tmp_path):
    p = tmp_path / "m.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("__meta__.npy", _npy(np.array(json.dumps(_mlp_meta([2, 2])))))
    with pytest.raises(ValueError, match="do not match its metadata"):
        perceptrons.load(p)


# -- the third round ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [["0", "-0", "1"], ["1", "1.0", "+1", "01"]],  # "-0" is not the spelling of 0, nor "1.0" of 1
)
def test_labels_that_read_alike_stay_distinct(labels):
    X, y, classes = parse_csv("x,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(labels)))
    assert len(set(classes.tolist())) == len(classes) == len(labels)
    assert [str(c) for c in classes[y]] == labels


@pytest.mark.parametrize("nul", ["a\x00", "a\x00b"])
def test_a_label_holding_nul_is_refused_not_merged(nul):
    """NumPy's strings drop trailing NULs ('a' and 'a\\0' would be one name for two classes): a NUL in a
    CSV is binary residue, refused wherever it sits."""
    with pytest.raises(ValueError, match="NUL"):
        parse_csv(f"x,label\n1,a\n2,{nul}\n")


def test_a_huge_cell_says_what_it_may_be():
    with pytest.raises(ValueError, match="field larger.*quote that is never closed"):
        parse_csv("x,y\n" + "1" * 200_000 + ",a\n2,b\n")


@pytest.mark.parametrize("label, column", [("²", "²"), ("١", "١"), ("--5", "--5")])
def test_a_label_option_in_other_digits_is_a_column_name(tmp_path, label, column):
    csv_file = tmp_path / "d.csv"
    csv_file.write_text(f"a,b,{column},x\n1,2,p,9\n3,4,q,8\n5,6,p,7\n7,8,q,6\n1,1,p,5\n2,2,q,4\n3,3,p,3\n4,4,q,2\n")
    proc = _cli("train", "--csv", str(csv_file), f"--label={label}", "--epochs", "1", "--test-size", "0.5")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("hidden", [",,,", "16,,8", "²", "-4"])
def test_hidden_sizes_with_empty_or_odd_items_are_refused(hidden):
    proc = _cli("train", "--hidden", hidden, "--epochs", "1")
    assert proc.returncode == 2 and "expected hidden sizes" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("where", ["/proc/report", "/sys/report", "afile/sub"])
def test_report_out_that_cannot_be_made_is_refused_before_the_study(tmp_path, where):
    (tmp_path / "afile").write_text("x")
    out = where if where.startswith("/") else str(tmp_path / where)
    line = _one_error_line(_cli("report", "--quick", "--format", "html", "--out", out))
    assert out in line and ".tmp" not in line


def test_evaluate_labels_that_do_not_fit_the_model(tmp_path):
    X = np.random.default_rng(0).random((20, 2))
    PerceptronRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, X.sum(axis=1)).save(tmp_path / "reg.npz")
    from perceptrons.estimator import PerceptronClassifier

    PerceptronClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, ["p", "q"] * 10).save(tmp_path / "clf.npz")
    csv_file = tmp_path / "d.csv"
    csv_file.write_text("x,y,c\n1,2,a\n3,4,b\n")
    assert "holds text ('a')" in _one_error_line(_cli("evaluate", str(tmp_path / "reg.npz"), "--csv", str(csv_file)))
    line = _one_error_line(_cli("evaluate", str(tmp_path / "clf.npz"), "--csv", str(csv_file)))
    assert "['a', 'b'], which are not classes of the model" in line
    proc = _cli("evaluate", str(tmp_path / "clf.npz"), "--hidden", "5")  # a new network's option: not evaluate's
    assert proc.returncode == 2 and "unrecognized arguments: --hidden" in proc.stderr


def test_playground_csv_far_values_and_lone_surrogates_get_specific_errors():
    far = "x,y,c\n" + "".join(f"{v},{v},{c}\n" for v, c in ((1e300, "a"), (-1e300, "b"), (1, "a"), (2, "b")))
    with pytest.raises(ConfigError, match="within \\+-1e\\+06; its data row 1"):
        Session({"dataset": "csv", "csv": far})
    with pytest.raises(ConfigError, match="lone surrogate"):
        Session({"dataset": "csv", "csv": "x,y,c\n1,2,\ud800\n3,4,b\n"})


def test_messages_say_finite_and_keep_their_quotes(tmp_path):
    assert "finite number > 0, got inf" in _one_error_line(_cli("train", "--lr", "inf"))
    X = np.random.default_rng(0).random((10, 2))
    Y = np.eye(2)[np.arange(10) % 2]
    with pytest.raises(ValueError, match="random_seed"):
        course.train_one_layer(X, Y, X, Y, 0.1, random_seed=-1)
    with pytest.raises(ValueError, match="random_seed"):
        course.train_two_layer(X, Y, X, Y, 0.1, n_hidden=2, random_seed=2**32)
    arrays, meta = model_files.load_arrays(_saved_mlp(tmp_path))
    p = tmp_path / "bad.npz"
    model_files.save_arrays(
        p, arrays, {**{k: v for k, v in meta.items() if k not in ("format", "version")}, "dtype": "x"}
    )
    with pytest.raises(ValueError, match="got 'x'\\.?$"):
        perceptrons.load(p)


def _saved_mlp(tmp_path):
    p = tmp_path / "m.npz"
    MLP([2, 2], seed=0).save(p)
    return p
