"""The benchmark driver (``benchmarks/run.py``, outside the package) end to end on its smallest workload
(no timing is asserted anywhere). It is run from another folder, as the script must work from any cwd."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def _bench(*args, cwd, timeout):
    return subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def test_benchmark_runs_peers_side_by_side_and_they_compute_the_same_grid(tmp_path):
    out = tmp_path / "bench.json"
    args = ["--only", "W3a", "--rounds", "2", "--repeats", "2", "--budget", "0", "--out", str(out)]
    proc = _bench(*args, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "ours faster by" in proc.stdout
    res = json.loads(out.read_text())
    assert res["dtype"] == "float64" and res["workloads"]["W3a"]["dtype"] == "float64"  # the default
    peers = res["workloads"]["W3a"]["peers"]
    ran = {p: r for p, r in peers.items() if "skipped" not in r}
    assert {"ours", "naive"} <= set(ran)
    for p, r in ran.items():
        assert len(r["times"]) == 4  # 2 rounds x 2 runs, each after a warm-up
        # the same trained network's probabilities, summed over the grid: every peer computes the same numbers
        assert abs(r["checksum"] - ran["ours"]["checksum"]) < 1e-9 * ran["ours"]["checksum"]
        if p != "ours":
            assert r["speedup"] > 0 and r["speedup_of_medians"] > 0
    for r in peers.values():
        if "skipped" in r:
            assert "pip install" in r["skipped"]  # a missing optional peer says how to get it


def test_benchmark_runs_every_peer_in_float32_when_asked(tmp_path):
    out = tmp_path / "bench32.json"
    args = [*"--dtype float32 --only W3a --rounds 1 --repeats 1 --budget 0".split(), "--out", str(out)]
    proc = _bench(*args, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "dtype float32" in proc.stdout.splitlines()[0]  # the table says which precision it measured
    res = json.loads(out.read_text())
    assert res["dtype"] == "float32" and res["workloads"]["W3a"]["dtype"] == "float32"
    ran = {p: r for p, r in res["workloads"]["W3a"]["peers"].items() if "skipped" not in r}
    assert {"ours", "naive"} <= set(ran)
    mine = ran["ours"]["checksum"]
    assert float(np.float32(mine)) == mine  # ours computed in float32 (its sum is a float32 number)
    if "torch" in ran:
        assert float(np.float32(ran["torch"]["checksum"])) == ran["torch"]["checksum"]
    for p, r in ran.items():
        assert len(r["times"]) == 1
        # the same float32 network on the same float32 grid: every peer agrees to float32 rounding
        assert abs(r["checksum"] - mine) < 1e-5 * mine
        if p != "ours":
            assert r["speedup"] > 0


def test_benchmark_rejects_an_unknown_workload(tmp_path):
    proc = _bench("--only", "W99", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert "unknown workload" in proc.stderr and "W1" in proc.stderr


def test_benchmark_is_not_part_of_the_package_and_sets_no_threads():
    src = Path(__file__).resolve().parent.parent / "src" / "perceptrons"
    assert not (src / "benchmark.py").exists() and not list(src.glob("bench/*.py"))
    text = RUN.read_text()
    # every peer runs at its own defaults: no pinning in the harness
    for pin in ("threadpool_limits(", "set_num_threads(", "os.environ"):
        assert pin not in text


def test_many_networks_workload_trains_the_same_networks_both_ways(tmp_path):
    """W9: train_many (ours) and train one after another (serial) end with the same networks, so the same
    mean test accuracy to rounding (train_many equals train per network: tests/test_many.py)."""
    out = tmp_path / "bench9.json"
    args = [*"--only W9 --rounds 1 --repeats 1 --budget 0".split(), "--out", str(out)]
    proc = _bench(*args, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    peers = json.loads(out.read_text())["workloads"]["W9"]["peers"]
    assert set(peers) == {"ours", "serial"}
    assert abs(peers["ours"]["accuracy"] - peers["serial"]["accuracy"]) < 1e-12
    assert peers["serial"]["speedup"] > 0


GPU = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu.py"


def test_gpu_benchmark_runs_on_the_cpu_and_its_step_matches_numpy(tmp_path):
    """``benchmarks/gpu.py --device cpu --small``: both contenders run, and ``--check`` finds our step on
    torch tensors equal to the NumPy reference in float64 (no timing is asserted)."""
    pytest.importorskip("torch")
    out = tmp_path / "gpu.json"
    args = [
        "--device",
        "cpu",
        "--small",
        "--check",
        "--steps",
        "2",
        "--repeats",
        "1",
        "--warmup",
        "1",
        "--out",
        str(out),
    ]
    proc = subprocess.run([sys.executable, str(GPU), *args], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    assert res["check_max_abs_diff_float64"] < 1e-12
    assert set(res["workloads"]) == {"big", "small"}
    for row in res["workloads"].values():
        assert row["torch_eager"] > 0 and row["ours_torch"] > 0
        assert row["ratio_torch"] == pytest.approx(row["ours_torch"] / row["torch_eager"])
    assert "ratio = ours / PyTorch eager" in proc.stdout
