"""tools/qrbm-study (docs/study.md): a tiny study end to end (enumerated and coupled sampled
points, Richardson, CSV/HDF5 schema, figures), resume after a kill, restart of a checkpointed
point, fits on synthetic data with a known slope, the grid rule, study-file errors.
Runtime ~1 min on 2 busy cores (every point is a 4-particle run on 8 points).
"""
import csv
import importlib.machinery
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from conftest import ROOT, mpi_env

STUDY = ROOT / "tools" / "qrbm-study"
_loader = importlib.machinery.SourceFileLoader("qrbm_study", str(STUDY))
_spec = importlib.util.spec_from_loader("qrbm_study", _loader)
qs = importlib.util.module_from_spec(_spec)
_loader.exec_module(qs)

TINY = """
name = "tiny"
np = 1
fit_points = 2
[physics]
box = 8.0
t_final = 0.4
dt = 0.05
output_interval = 4
rdm_interval = 1
[grid]
table = {"1.0" = 8}
[estimator]
enumerate_limit = 10
realizations = 8
rdm_batches = 4
seed = 3
couple = true
checkpoint_interval = "2"
[[group]]
N = [4]
hbar = [1.0]
P = [2]
Dt = [0.4, 0.2, 0.1]
"""


def study_file(tmp_path, text=TINY):
    p = tmp_path / "study-tiny.toml"
    p.write_text(text)
    return p


def driver(*args, cwd, env=None):
    return subprocess.run([sys.executable, str(STUDY), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env or mpi_env(), timeout=600)


def test_tiny_study_end_to_end(tmp_path):
    """Plan: the exact reference, two enumerated points (3^1, 3^2 <= 10 sequences) and one sampled
    point (3^4 > 10); run; the CSV has one row per (point, time, metric) with the documented columns,
    Richardson rows for both consecutive pairs and the triple, the HDF5 table matches the CSV and
    holds the provenance of every point, the figures exist."""
    sf = study_file(tmp_path)
    plan = driver("plan", sf, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert [l.split()[2] for l in plan.stdout.splitlines()] == ["exact", "enumerate", "enumerate", "sample"]
    res = driver("run", sf, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ETA" in res.stdout and "slopes of error = C Dt^alpha" in res.stdout
    d = tmp_path / "study-tiny"
    with open(d / "study.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == qs.CSV_COLUMNS and qs.CSV_COLUMNS[1] == "family"
    assert {r["family"] for r in rows} == {""}  # no family: ids without prefix
    times = 3  # output times 0, 0.2, 0.4 (rdm_interval 1)
    assert len(rows) == (3 + 2 + 1) * times * len(qs.METRICS)
    kinds = {(r["kind"], float(r["Dt"])) for r in rows}
    assert kinds == {("raw", 0.4), ("raw", 0.2), ("raw", 0.1), ("richardson", 0.2), ("richardson", 0.1), ("richardson3", 0.1)}
    sampled = [r for r in rows if r["estimator"] == "sample" and r["kind"] == "raw" and r["metric"] == "weak" and float(r["time"]) > 0]
    assert all(float(r["stderr"]) > 0 and float(r["noise_floor"]) > 0 for r in sampled)
    assert all(float(r["stderr"]) == 0 for r in rows if r["estimator"] == "enumerate")
    with h5py.File(d / "study.h5") as f:
        assert np.allclose(f["table/value"][:], [float(r["value"]) for r in rows], rtol=1e-15)
        assert [x.decode() for x in f["table/point"][:]] == [r["point"] for r in rows]
        prov = json.loads(f["provenance"][()])
        assert f.attrs["git_commit"]
    assert set(prov) == {r["point"] for r in rows} | {"N4-hbar1-exact"}  # the exact reference: provenance, no rows
    assert prov["N4-hbar1-P2-Dt0.1"]["attrs"]["rb_couple_level"] == 2
    for png in ("error_vs_dt", "C_vs_N_hbar", "weak_vs_trace", "raw_vs_richardson", "error_vs_t", "error_vs_bound"):
        assert (d / "figures" / f"{png}.png").stat().st_size > 1000
    fits = json.loads((d / "fits.json").read_text())
    assert {f["kind"] for f in fits} == {"raw", "richardson"}  # one richardson3 point: nothing to fit
    again = driver("run", sf, cwd=tmp_path)  # everything finished: all points skipped
    assert again.returncode == 0 and again.stdout.count("skipped") == 4


def test_resume_after_kill(tmp_path):
    """Kill the driver (and its mpirun) during the study; the rerun skips the points that were
    complete, reruns or restarts the others, and ends with the same table as an uninterrupted
    study would (the enumerations are deterministic)."""
    sf = study_file(tmp_path, TINY.replace("Dt = [0.4, 0.2, 0.1]", "Dt = [0.4, 0.2]") + "[richardson]\nenabled = false\n")
    d = tmp_path / "study-tiny" / "points"
    p = subprocess.Popen([sys.executable, str(STUDY), "run", str(sf)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=mpi_env(), start_new_session=True, text=True)
    deadline = time.time() + 300
    while qs.status_of(d / "N4-hbar1-P2-Dt0.4.h5") != "complete" and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    done_before = {f.name: f.stat().st_mtime_ns for f in d.glob("*.h5") if qs.status_of(f) == "complete"}
    assert "N4-hbar1-exact.h5" in done_before and len(done_before) < 3
    res = driver("run", sf, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("skipped") >= len(done_before)
    for name, mtime in done_before.items():
        assert (d / name).stat().st_mtime_ns == mtime, name
    with open(tmp_path / "study-tiny" / "study.csv") as f:
        assert len(list(csv.DictReader(f))) == 2 * 3 * len(qs.METRICS)


def test_checkpointed_point_restarts(tmp_path):
    """A sampled point stopped with a checkpoint (-max_walltime) is continued with -restart."""
    sf = study_file(tmp_path)
    study = qs.load_study(sf)
    study["dir"] = tmp_path / "study-tiny"
    pt = qs.plan(study)[3]
    out, ckpt, log = qs.point_paths(study, pt)
    out.parent.mkdir(parents=True)
    cmd = ["mpirun", "--oversubscribe", "-np", "1", str(ROOT / "bin" / "qrbm"), *pt["opts"], "-output", str(out), "-quiet",
           "-checkpoint_file", str(ckpt), "-max_walltime", "1e-9"]
    assert subprocess.run(cmd, env=mpi_env(), capture_output=True, timeout=120).returncode == 75
    assert qs.status_of(out) == "checkpointed"
    res = driver("point", sf, 3, "--dir", study["dir"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "-restart" in log.read_text() and qs.status_of(out) == "complete"


def test_fit_recovers_known_slope():
    dts = np.array([1, 0.5, 0.25, 0.125])
    f = qs.fit_power(dts, 3.0 * dts ** 1.5, None)
    assert set(f) == {"alpha", "C", "alpha_se", "alpha_ci95", "C1"}
    assert abs(f["alpha"] - 1.5) < 1e-12 and abs(f["C"] - 3.0) < 1e-12
    # a wild point with a huge standard error barely moves the weighted fit; unweighted it does
    errs = 3.0 * dts ** 1.5
    errs[0] *= 4
    ses = np.array([1e3, 1e-6, 1e-6, 1e-6]) * errs
    assert abs(qs.fit_power(dts, errs, ses)["alpha"] - 1.5) < 1e-6
    assert abs(qs.fit_power(dts, errs, None)["alpha"] - 1.5) > 0.1
    assert np.allclose(qs.local_slopes(list(dts), list(3.0 * dts ** 1.5)), [1.5] * 3, rtol=1e-12)


def test_fits_use_smallest_dt():
    rows = [{"kind": "raw", "family": "", "N": 4, "hbar": 1.0, "P": 2, "metric": "weak", "time": 1.0, "Dt": dt, "value": v, "stderr": 0.0, "noise_floor": 0.0}
            for dt, v in [(1, 5.0), (0.5, 0.5 ** 2), (0.25, 0.25 ** 2)]]
    study = {"fit_points": 2, "dir": None}
    import tempfile
    with tempfile.TemporaryDirectory() as t:
        study["dir"] = __import__("pathlib").Path(t)
        (f,) = qs.fit_all(study, rows)
    assert f["fit_Dt"] == [0.5, 0.25] and abs(f["alpha"] - 2) < 1e-12 and abs(f["C"] - 1) < 1e-12
    assert abs(f["local"][0] - math.log2(5 / 0.25)) < 1e-12


def test_grid_rule():
    study = qs.load_study(ROOT / "inputs" / "study-quick.toml")
    assert [qs.grid_size(study, h) for h in (1.0, 0.5, 0.25)] == [16, 24, 48]
    assert [p["estimator"] for p in qs.plan(study)].count("enumerate") == 10


@pytest.mark.parametrize("text, words", [
    ("bogus = 1\n" + TINY, "unknown key 'bogus'"),
    (TINY + "\nbogus = 1\n", "group 1: needs the lists N, hbar, Dt, P, may have family, physics, state, grid, estimator (missing [], unknown ['bogus'])"),
    (TINY.replace("[grid]", "[grid]\nsafty = 2"), "tiny.toml.grid: unknown key 'safty'"),
    (TINY.replace("P = [2]", ""), "missing ['P']"),
    ("name = 'x'\n", "no [[group]] tables"),
    (TINY.replace("name = \"tiny\"", "name = "), "study-tiny.toml"),
])
def test_bad_study_files(tmp_path, text, words):
    res = driver("plan", study_file(tmp_path, text), cwd=tmp_path)
    assert res.returncode == 1 and words in res.stderr and res.stderr.startswith("qrbm-study: ERROR:"), res.stderr


def test_submit_builds_array_and_aggregation(tmp_path):
    """submit: memory per CPU from qrbm's own estimate, the array with its throttle over every point,
    and the aggregation job depending on the whole array (a stand-in sbatch records the calls)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sbatch").write_text('#!/bin/sh\necho "$@" >> "$SBATCH_LOG"\nn=$(wc -l < "$SBATCH_LOG")\necho "10$n;cluster"\n')
    (fake / "sbatch").chmod(0o755)
    env = {**mpi_env(), "PATH": f"{fake}:{os.environ['PATH']}", "SBATCH_LOG": str(tmp_path / "calls")}
    res = driver("submit", study_file(tmp_path), "--throttle", "2", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    arr, agg = (tmp_path / "calls").read_text().splitlines()
    mem = int(arr.split("--mem-per-cpu=")[1].split("M")[0])
    assert 256 < mem < 300  # 1.5 x qrbm's estimate (well under 1 MiB for 4^8 points) + 256 MiB
    assert "--array=0-3%2" in arr and "--ntasks=1" in arr and arr.split().count("point") == 1
    assert f"--dir {tmp_path / 'study-tiny'}" in arr
    assert "--dependency=afterany:101" in agg and " aggregate " in agg
    assert "submitted array 101" in res.stdout and "aggregation 102" in res.stdout


def test_study_sbatch_runs_a_point_outside_slurm(tmp_path):
    """jobs/study.sbatch as an array task (SLURM_ARRAY_TASK_ID set by hand): runs point 0."""
    sf = study_file(tmp_path)
    env = {**mpi_env(), "SLURM_ARRAY_TASK_ID": "0", "QRBM_ROOT": str(ROOT)}
    res = subprocess.run([str(ROOT / "jobs" / "study.sbatch"), "point", str(sf), "--np", "1"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "N4-hbar1-exact: done" in res.stdout
    assert qs.status_of(tmp_path / "study-tiny" / "points" / "N4-hbar1-exact.h5") == "complete"
    bad = subprocess.run([str(ROOT / "jobs" / "study.sbatch"), "bogus"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_initial_states(tmp_path):
    """packets: N symmetrised packets along the first axis, alternating momenta (d = 2: the second
    components 0); meanfield: the product of one packet in a trap. Both run."""
    study = qs.load_study(study_file(tmp_path))
    opts = qs.state_options(study, 4)
    assert opts == ["-init", "symmetrized", "-init_q", "-2.25,-0.75,0.75,2.25", "-init_p", "0.5,-0.5,0.5,-0.5"]
    study["physics"]["dim"] = 2
    assert qs.state_options(study, 2)[3] == "-0.75,0,0.75,0"
    mf = study_file(tmp_path, TINY.replace("[grid]", "[state]\nkind = \"meanfield\"\nwidth_trap = 0.5\n[grid]"))
    study = qs.load_study(mf)
    assert qs.state_options(study, 4) == ["-init", "coherent", "-init_q", "0", "-init_p", "0.5", "-trap_omega", "0.5"]
    res = driver("point", mf, 1, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    with h5py.File(tmp_path / "study-tiny" / "points" / "N4-hbar1-P2-Dt0.4.h5") as f:
        assert f.attrs["init"] == b"coherent" and f.attrs["trap_omega"] == 0.5 and f.attrs["rb_expectation"] == b"enumerate"
