"""The command line: help everywhere, one-line errors without tracebacks, train/gradcheck output."""

import subprocess
import sys

import numpy as np
import pytest

import perceptrons


def run(*args, check=False):
    return subprocess.run([sys.executable, "-m", "perceptrons", *args], capture_output=True, text=True, check=check)


@pytest.mark.parametrize("cmd", [[], ["report"], ["train"], ["gradcheck"]])
def test_help(cmd):
    proc = run(*cmd, "--help")
    assert proc.returncode == 0 and "usage: perceptrons" in proc.stdout


def test_train_prints_metrics_plots_and_saves(tmp_path):
    png, model = tmp_path / "run.png", tmp_path / "m.npz"
    proc = run(
        "train",
        "--data",
        "moons",
        "--hidden",
        "8",
        "--epochs",
        "30",
        "--batch-size",
        "16",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--plot",
        str(png),
        "--save",
        str(model),
        check=True,
    )
    acc = float(proc.stdout.split("test accuracy ")[1].split()[0])
    assert acc > 0.8
    assert png.stat().st_size > 10000
    net = perceptrons.load(model)
    assert net.sizes == [2, 8, 2]


def test_gradcheck_prints_the_table():
    proc = run("gradcheck", "--data", "blobs", "--classes", "4", "--hidden", "5,3", "--activation", "tanh", check=True)
    assert "W2" in proc.stdout and "PASSED" in proc.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--lr", "-1"], "learning rate must be > 0"),
        (["train", "--hidden", "0"], "got 0"),
        (["train", "--csv", "/nonexistent.csv"], "does not exist"),
        (["train", "--n", "1"], "too small"),
        (["report", "--format", "docx"], "--format"),
        (["report", "--seed", "-3"], "non-negative"),
        (["report", "--jobs", "0"], "number of jobs >= 1, or -1"),
        (["report", "--jobs", "two"], "number of jobs >= 1, or -1"),
        (["train", "--activation", "swish"], "invalid choice"),
    ],
)
def test_user_mistakes_give_one_line_and_nonzero_exit(args, words):
    proc = run(*args)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert words in proc.stderr


def test_csv_with_a_bad_cell(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    proc = run("train", "--csv", str(p), "--label", "label")
    assert proc.returncode == 2 and "line 3, column 2" in proc.stderr and "Traceback" not in proc.stderr


def test_report_refuses_a_file_as_out_dir(tmp_path):
    f = tmp_path / "x"
    f.write_text("keep me")
    proc = run("report", "--quick", "--out", str(f))
    assert proc.returncode == 2 and f.read_text() == "keep me"


def test_csv_training_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    p = tmp_path / "d.csv"
    p.write_text("f1,f2,f3,answer\n" + "\n".join(f"{a},{b},{c},{lab}" for (a, b, c), lab in zip(X, labels)))
    proc = run("train", "--csv", str(p), "--label", "answer", "--hidden", "", "--epochs", "50", check=True)
    assert "MLP(3 -> 2" in proc.stdout
    assert float(proc.stdout.split("test accuracy ")[1].split()[0]) > 0.85


def test_evaluate_a_saved_model(tmp_path):
    model = tmp_path / "m.npz"
    run(
        "train",
        "--data",
        "circles",
        "--hidden",
        "16",
        "--epochs",
        "40",
        "--batch-size",
        "8",
        "--save",
        str(model),
        check=True,
    )
    proc = run("evaluate", str(model), "--data", "circles", "--seed", "5", check=True)
    assert float(proc.stdout.split("accuracy ")[1].split(",")[0]) > 0.8


CATALOGUE = [
    (["train", "--batch-size", "0"], "batch_size"),
    (["train", "--momentum", "1.5"], "momentum"),
    (["train", "--alpha", "-1"], "alpha"),
    (["train", "--n", "0"], "n must be > 0"),
    (["train", "--noise", "-0.5"], "noise"),
    (["train", "--epochs", "0"], "epochs"),
    (["train", "--test-size", "1.5"], "test_size"),
    (["train", "--data", "blobs", "--classes", "1", "--hidden", ""], "at least"),
    (["gradcheck", "--h", "0"], "h must be in [1e-06, 3e-05]"),
    (["evaluate", "/nonexistent.npz"], "does not exist"),
]


@pytest.mark.parametrize("args, words", CATALOGUE)
def test_catalogue_of_bad_arguments(args, words):
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert words in proc.stderr


@pytest.mark.parametrize(
    "content, words",
    [
        ("a,b,y\n1,2,0\n,3,1\n", "line 3, column 1"),
        ("a,b,y\n1,2,0\n3,1\n", "ragged"),
        ("a,b,y\n1,2,0\n3,inf,1\n", "finite"),
        ("a,b,y\n1,2,0\n1,2,0\n", "single class"),
        ("", "at least one data row"),
    ],
)
def test_catalogue_of_bad_csv_files(tmp_path, content, words):
    p = tmp_path / "d.csv"
    p.write_text(content)
    proc = run("train", "--csv", str(p), "--label", "y")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and words in proc.stderr, proc.stderr


def test_bad_model_files_on_the_cli(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    proc = run("evaluate", str(bad))
    assert proc.returncode == 2 and "bad.npz" in proc.stderr and "Traceback" not in proc.stderr
    model = tmp_path / "m.npz"
    perceptrons.MLP([3, 4, 2], seed=0).save(model)
    before = model.read_bytes()
    proc = run("evaluate", str(model), "--data", "moons")
    assert proc.returncode == 2 and "2 features, but the model" in proc.stderr
    assert model.read_bytes() == before
