"""Saving and loading: exact round trip, atomic writes, clear errors for bad files."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import perceptrons
from perceptrons import MLP


def test_round_trip_is_exact(tmp_path):
    net = MLP([3, 7, 5, 4], activation="tanh", seed=1, dtype=np.float32)
    net.save(tmp_path / "m.npz")
    back = perceptrons.load(tmp_path / "m.npz")
    assert back.sizes == net.sizes and back.activation == "tanh" and back.dtype == np.float32
    for k in net.params:
        np.testing.assert_array_equal(back.params[k], net.params[k])
        assert back.params[k].dtype == net.params[k].dtype


def test_no_pickle_inside(tmp_path):
    MLP([2, 3], seed=0).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as d:
        meta = json.loads(str(d["__meta__"]))
    assert meta["format"] == "perceptrons-model" and meta["version"] == 1


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p.write_bytes(b"PK\x03\x04garbage"), "truncated or corrupted"),
        (lambda p: p.write_text("hello"), "not"),
        (lambda p: np.savez(p, a=np.ones(3)), "no __meta__"),
        (
            lambda p: np.savez(
                p, __meta__=np.array(json.dumps({"format": "perceptrons-model", "version": 99, "kind": "MLP"}))
            ),
            "newer",
        ),
        (lambda p: np.savez(p, __meta__=np.array(json.dumps({"format": "other"}))), "format 'other'"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, make, words):
    p = tmp_path / "bad.npz"
    make(p)
    with pytest.raises(ValueError, match=words) as err:
        perceptrons.load(p)
    assert "bad.npz" in str(err.value)


def test_truncated_file(tmp_path):
    p = tmp_path / "m.npz"
    MLP([2, 30, 2], seed=0).save(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="m.npz"):
        perceptrons.load(p)


KILLER = """
import os, signal, sys, numpy as np
import perceptrons.io as io
real = np.savez
def slow(fh, **arrays):
    real(fh, **arrays)
    os.kill(os.getpid(), signal.SIGKILL)  # die mid-save, after writing the temporary file
np.savez = slow
from perceptrons import MLP
MLP([2, 50, 2], seed=1).save(sys.argv[1])
"""


def test_killed_save_leaves_previous_file_loadable(tmp_path):
    p = tmp_path / "m.npz"
    MLP([2, 4, 2], seed=0).save(p)
    before = p.read_bytes()
    proc = subprocess.run([sys.executable, "-c", KILLER, str(p)])
    assert proc.returncode != 0
    assert p.read_bytes() == before
    assert perceptrons.load(p).sizes == [2, 4, 2]
    assert zipfile.is_zipfile(p)
