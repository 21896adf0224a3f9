"""The benchmark driver end to end on its smallest workload (no timing is asserted anywhere)."""

import json
import subprocess
import sys


def test_benchmark_runs_peers_side_by_side_and_they_compute_the_same_grid(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "perceptrons.benchmark", "--only", "W3a", "--rounds", "2", "--repeats", "2"]
    proc = subprocess.run([*cmd, "--budget", "0", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "ours faster by" in proc.stdout
    res = json.loads(out.read_text())
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


def test_benchmark_rejects_an_unknown_workload():
    proc = subprocess.run(
        [sys.executable, "-m", "perceptrons.benchmark", "--only", "W9"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "unknown workload" in proc.stderr and "W1" in proc.stderr
