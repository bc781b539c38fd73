"""tools/qrbm-study (docs/study.md): a tiny study end to end (enumerated and coupled sampled
points, Richardson, CSV/HDF5 schema, figures), the per-point tables and the `tables` rebuild from
them alone, the sampling table, cost records, stale outputs of a changed study file, aggregate
--partial, families with overrides, resume after a kill, restart of a checkpointed point, fits and
their intervals on synthetic data, the grid rule, study-file errors.
Runtime ~2 min on 2 busy cores (every point is a 4-particle run on 8 points).
"""
import csv
import importlib.machinery
import importlib.util
import json
import math
import os
import shutil
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


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The TINY study run once (plan and run output, its study file and directory); tests that
    change the directory work on a copy (copy_study)."""
    base = tmp_path_factory.mktemp("tiny")
    sf = study_file(base)
    plan = driver("plan", sf, cwd=base)
    res = driver("run", sf, cwd=base)
    assert res.returncode == 0, res.stdout + res.stderr
    return {"base": base, "sf": sf, "dir": base / "study-tiny", "plan": plan, "run": res}


def copy_study(tiny, tmp_path, text=TINY):
    """A copy of the tiny study's directory (modification times kept, so the comparisons are reused)
    with its study file, optionally edited."""
    shutil.copytree(tiny["dir"], tmp_path / "study-tiny")
    return study_file(tmp_path, text), tmp_path / "study-tiny"


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_tiny_study_end_to_end(tiny):
    """Plan: the exact reference, two enumerated points (3^1, 3^2 <= 10 sequences) and one sampled
    point (3^4 > 10); run; the CSV has one row per (point, time, metric) with the documented columns,
    Richardson rows for both consecutive pairs and the triple, the HDF5 table matches the CSV and
    holds the provenance of every point, the figures exist."""
    plan, res, d = tiny["plan"], tiny["run"], tiny["dir"]
    assert plan.returncode == 0, plan.stderr
    assert [l.split()[2] for l in plan.stdout.splitlines()] == ["exact", "enumerate", "enumerate", "sample"]
    assert "ETA" in res.stdout and "slopes of error = C Dt^alpha" in res.stdout
    rows = read_csv(d / "study.csv")
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
    again = driver("run", tiny["sf"], cwd=tiny["base"])  # everything finished: all points skipped
    assert again.returncode == 0 and again.stdout.count("skipped") == 4


def test_point_tables(tiny):
    """tables/<id>.txt: raw points and Richardson results with one row per output time, the exact
    reference with its metadata only; every row of the CSV is a number of a table."""
    t = tiny["dir"] / "tables"
    names = {"N4-hbar1-exact", "N4-hbar1-P2-Dt0.4", "N4-hbar1-P2-Dt0.2", "N4-hbar1-P2-Dt0.1", "N4-hbar1-P2-Dt0.2-richardson",
             "N4-hbar1-P2-Dt0.1-richardson", "N4-hbar1-P2-Dt0.1-richardson3"}
    assert {p.name[:-4] for p in t.glob("*.txt") if not p.name.endswith(".sampling.txt")} == names
    meta, data = qs.read_point_table(t / "N4-hbar1-exact.txt")
    assert data == [] and meta["kind"] == "exact" and meta["command"].startswith("bin/qrbm ") and meta["cost"]["segments"] == 1
    meta, data = qs.read_point_table(t / "N4-hbar1-P2-Dt0.1-richardson3.txt")
    assert meta["inputs"] == [f"points/N4-hbar1-P2-Dt{x}.h5" for x in ("0.4", "0.2", "0.1")] and meta["estimator"] == "mixed"
    assert [r["time"] for r in data] == pytest.approx([0, 0.2, 0.4], abs=1e-12)
    rows = read_csv(tiny["dir"] / "study.csv")
    meta, data = qs.read_point_table(t / "N4-hbar1-P2-Dt0.1.txt")
    weak = [float(r["value"]) for r in rows if r["point"] == "N4-hbar1-P2-Dt0.1" and r["metric"] == "weak"]
    assert weak == [r["weak"] for r in data] and meta["R"] == 8 and meta["coupled"] == 1
    with h5py.File(tiny["dir"] / "compare" / "N4-hbar1-P2-Dt0.1.err.h5") as f:
        assert np.array_equal(f["error/weak"][()], weak)  # full precision


def test_sampling_table(tiny):
    """tables/<id>.sampling.txt of the sampled point (R = 8 in K = 4 groups of 2): sub-ensembles of
    the first 1, 2, 4 groups, R their cumulative realisation counts, no floor for one group, and the
    whole ensemble gives the point's own errors at every time."""
    d = tiny["dir"]
    assert not (d / "tables" / "N4-hbar1-P2-Dt0.2.sampling.txt").exists()  # enumerated
    lines = (d / "tables" / "N4-hbar1-P2-Dt0.1.sampling.txt").read_text().splitlines()
    cols = lines[1].split()
    assert cols == ["R", "time"] + [f"{m}{s}" for m in qs.NORMS for s in ("", "_floor")]
    rows = [dict(zip(cols, map(float, l.split()))) for l in lines[2:]]
    with h5py.File(d / "points" / "N4-hbar1-P2-Dt0.1.h5") as f:
        counts = f["rdm/batch_counts"][()]
    assert list(counts) == [2, 2, 2, 2]
    assert [r["R"] for r in rows] == [c for c in np.cumsum(counts)[[0, 1, 3]] for _ in range(3)]
    assert all(math.isnan(r[f"{m}_floor"]) for r in rows if r["R"] == 2 for m in qs.NORMS)
    assert all(r[f"{m}_floor"] > 0 for r in rows if r["R"] > 2 and r["time"] > 0 for m in qs.NORMS)
    _, own = qs.read_point_table(d / "tables" / "N4-hbar1-P2-Dt0.1.txt")
    full = [r for r in rows if r["R"] == 8]
    assert [r["time"] for r in full] == [r["time"] for r in own]
    for r, o in zip(full, own):
        for m in qs.NORMS:
            assert r[m] == pytest.approx(o[m], rel=1e-12, abs=1e-15), (m, r["time"])
            assert r[m + "_floor"] == pytest.approx(o[m + "_floor"], rel=1e-12, abs=1e-15), (m, r["time"])


def test_tables_rebuild_from_tables_alone(tiny, tmp_path):
    """`tables` from a copy of tables/ only (no points, no comparisons) rebuilds study.csv,
    fits.json, slopes.txt, cost.csv, summary.json and report.md byte for byte."""
    shutil.copytree(tiny["dir"] / "tables", tmp_path / "copy" / "tables")
    res = driver("tables", tiny["sf"], "--dir", tmp_path / "copy", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["cost.csv", "figures", "fits.json", "report.md", "slopes.txt", "study.csv", "study.h5", "summary.json", "tables"]
    for name in ("study.csv", "fits.json", "slopes.txt", "cost.csv", "summary.json", "report.md"):
        assert (tmp_path / "copy" / name).read_bytes() == (tiny["dir"] / name).read_bytes(), name
    none = driver("tables", tiny["sf"], "--dir", tmp_path / "empty", cwd=tmp_path)
    assert none.returncode == 1 and "no point tables" in none.stderr


def test_cost_records(tiny):
    """points/<id>.cost.json per run (one segment each here, np = 1: core = wall seconds, qrbm's
    memory estimate); cost.csv: one row per run and a total of the wall and core times."""
    d, ids = tiny["dir"], ["N4-hbar1-exact", "N4-hbar1-P2-Dt0.4", "N4-hbar1-P2-Dt0.2", "N4-hbar1-P2-Dt0.1"]
    recs = {i: json.loads((d / "points" / f"{i}.cost.json").read_text()) for i in ids}
    for r in recs.values():
        assert r["segments"] == 1 and r["np"] == 1 and r["core_s"] == r["wall_s"] > 0 and 0 < r["memory_mb_per_rank"] < 1
    rows = read_csv(d / "cost.csv")
    assert list(rows[0]) == qs.COST_COLUMNS and [r["point"] for r in rows] == ids + ["total"]
    for r in rows[:-1]:
        assert float(r["wall_s"]) == recs[r["point"]]["wall_s"] and float(r["core_h"]) == recs[r["point"]]["core_s"] / 3600
        assert float(r["memory_mb"]) == recs[r["point"]]["memory_mb_per_rank"]
    assert [r["estimator"] for r in rows[:-1]] == ["exact", "enumerate", "enumerate", "sample"]
    assert float(rows[-1]["wall_s"]) == pytest.approx(sum(r["wall_s"] for r in recs.values()), rel=1e-12)
    assert float(rows[-1]["core_h"]) == pytest.approx(sum(r["core_s"] for r in recs.values()) / 3600, rel=1e-12)


def test_add_cost_accumulates(tmp_path):
    """Every segment adds its wall time, and wall time x ranks to the core time."""
    study = {"dir": tmp_path}
    (tmp_path / "points").mkdir()
    p = {"id": "x"}
    qs.add_cost(study, p, 3, 2.0, 5.0)
    qs.add_cost(study, p, 3, 0.5, 5.0)
    assert json.loads((tmp_path / "points" / "x.cost.json").read_text()) == {"wall_s": 2.5, "core_s": 7.5, "segments": 2, "np": 3, "memory_mb_per_rank": 5.0}


def test_stale_points_rerun(tiny, tmp_path):
    """The study file changed (realizations 8 -> 12 in 3 groups): the sampled point reruns with the new options,
    the enumerated point and the exact reference (options unchanged) are skipped. A changed seed is
    stale too."""
    sf, d = copy_study(tiny, tmp_path, TINY.replace("realizations = 8", "realizations = 12").replace("rdm_batches = 4", "rdm_batches = 3"))
    old = {i: (d / "points" / f"N4-hbar1-{i}.h5").stat().st_mtime_ns for i in ("exact", "P2-Dt0.2")}
    for idx, i in ((0, "exact"), (2, "P2-Dt0.2")):
        res = driver("point", sf, idx, "--dir", d, cwd=tmp_path)
        assert res.returncode == 0 and res.stdout.strip() == f"N4-hbar1-{i}: skipped", res.stdout + res.stderr
        assert (d / "points" / f"N4-hbar1-{i}.h5").stat().st_mtime_ns == old[i]
    agg = driver("aggregate", sf, "--dir", d, cwd=tmp_path)  # the old output does not count as the new point's
    assert agg.returncode == 1 and "1 points are not complete" in agg.stderr and "N4-hbar1-P2-Dt0.1" in agg.stderr, agg.stderr
    res = driver("point", sf, 3, "--dir", d, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "was run with other options" in res.stdout and res.stdout.strip().endswith("N4-hbar1-P2-Dt0.1: done")
    with h5py.File(d / "points" / "N4-hbar1-P2-Dt0.1.h5") as f:
        assert f.attrs["realizations"] == 12 and list(f["rdm/batch_counts"][()]) == [4, 4, 4]
    assert qs.status_of(d / "points" / "N4-hbar1-P2-Dt0.1.h5") == "complete"
    assert json.loads((d / "points" / "N4-hbar1-P2-Dt0.1.cost.json").read_text())["segments"] == 1  # the old record went with the old run
    again = driver("point", sf, 3, "--dir", d, cwd=tmp_path)
    assert again.stdout.strip() == "N4-hbar1-P2-Dt0.1: skipped"
    # K = 3 groups (not a power of 2): the sampling table still ends with the whole ensemble
    study = qs.load_study(sf)
    study["dir"] = d
    qs.sampling_table(study, qs.plan(study)[3], d / "points" / "N4-hbar1-exact.h5", d / "points" / "N4-hbar1-P2-Dt0.1.h5")
    lines = (d / "tables" / "N4-hbar1-P2-Dt0.1.sampling.txt").read_text().splitlines()[2:]
    assert [float(l.split()[0]) for l in lines] == [4.0] * 3 + [8.0] * 3 + [12.0] * 3
    seed = qs.load_study(study_file(tmp_path, TINY.replace("seed = 3", "seed = 4")))
    seed["dir"] = d
    pt = qs.plan(seed)
    assert not qs.ran_with(d / "points" / "N4-hbar1-P2-Dt0.1.h5", pt[3]) and qs.ran_with(d / "points" / "N4-hbar1-P2-Dt0.2.h5", pt[2])


def test_aggregate_partial_drops_missing_points(tiny, tmp_path):
    """One point's output gone: aggregate fails naming it; --partial aggregates the others, and
    neither the missing point nor a Richardson result that needs it stays in the tables."""
    sf, d = copy_study(tiny, tmp_path)
    (d / "points" / "N4-hbar1-P2-Dt0.1.h5").unlink()
    res = driver("aggregate", sf, "--dir", d, cwd=tmp_path)
    assert res.returncode == 1 and "1 points are not complete" in res.stderr and "N4-hbar1-P2-Dt0.1" in res.stderr, res.stderr
    res = driver("aggregate", sf, "--dir", d, "--partial", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "partial aggregation: 1 of 4 points are not complete: N4-hbar1-P2-Dt0.1" in res.stdout
    rows = read_csv(d / "study.csv")
    assert {(r["point"], r["kind"]) for r in rows} == {("N4-hbar1-P2-Dt0.4", "raw"), ("N4-hbar1-P2-Dt0.2", "raw"),
                                                       ("N4-hbar1-P2-Dt0.2-richardson", "richardson")}
    assert [r["point"] for r in read_csv(d / "cost.csv")] == ["N4-hbar1-exact", "N4-hbar1-P2-Dt0.4", "N4-hbar1-P2-Dt0.2", "total"]


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
    """A sampled point stopped with a checkpoint (here -max_walltime on its first segment) is
    continued with -restart; its cost record adds up both segments."""
    sf = study_file(tmp_path)
    study = qs.load_study(sf)
    study["dir"] = tmp_path / "study-tiny"
    pt = qs.plan(study)[3]
    out, ckpt, log = qs.point_paths(study, pt)
    with pytest.raises(qs.Checkpointed):
        qs.run_point(study, dict(pt, opts=pt["opts"] + ["-max_walltime", "1e-9"]), 1)
    assert qs.status_of(out) == "checkpointed"
    first = json.loads(qs.cost_path(study, pt).read_text())
    assert first["segments"] == 1 and first["np"] == 1 and first["wall_s"] > 0
    res = driver("point", sf, 3, "--dir", study["dir"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "-restart" in log.read_text() and qs.status_of(out) == "complete"
    both = json.loads(qs.cost_path(study, pt).read_text())
    assert both["segments"] == 2 and both["wall_s"] > first["wall_s"] and both["core_s"] == pytest.approx(both["wall_s"], rel=1e-12)


def test_fit_recovers_known_slope():
    dts = np.array([1, 0.5, 0.25, 0.125])
    f = qs.fit_power(dts, 3.0 * dts ** 1.5, None)
    assert set(f) == {"alpha", "C", "alpha_se", "alpha_ci95", "C1"}
    assert abs(f["alpha"] - 1.5) < 1e-12 and abs(f["C"] - 3.0) < 1e-12
    assert f["alpha_se"] < 1e-10 and f["alpha_ci95"] == pytest.approx([1.5, 1.5], abs=1e-9)
    # a wild point with a huge standard error barely moves the weighted fit; unweighted it does
    errs = 3.0 * dts ** 1.5
    errs[0] *= 4
    ses = np.array([1e3, 1e-6, 1e-6, 1e-6]) * errs
    assert abs(qs.fit_power(dts, errs, ses)["alpha"] - 1.5) < 1e-6
    assert abs(qs.fit_power(dts, errs, None)["alpha"] - 1.5) > 0.1
    assert np.allclose(qs.local_slopes(list(dts), list(3.0 * dts ** 1.5)), [1.5] * 3, rtol=1e-12)


def test_fit_first_order_C1():
    """alpha = 1 exactly: C1 (slope fixed at 1) is C; for a slope of 2, C1 is the weighted
    geometric mean of err / Dt."""
    dts = np.array([0.4, 0.2, 0.1])
    f = qs.fit_power(dts, 0.7 * dts, np.zeros(3))
    assert f["alpha"] == pytest.approx(1, abs=1e-12) and f["C"] == pytest.approx(0.7, rel=1e-12) and f["C1"] == pytest.approx(0.7, rel=1e-12)
    f = qs.fit_power(dts, 2.0 * dts ** 2, None)
    assert f["C1"] == pytest.approx(2.0 * math.prod(dts) ** (1 / 3), rel=1e-12)


def test_fit_interval_coverage_sampled():
    """Sampled series (positive standard errors): over 400 synthetic series with lognormal noise of
    known relative size, the 95% interval of alpha covers the true slope at close to 95%."""
    rng = np.random.default_rng(12345)
    dts = np.array([0.4, 0.2, 0.1, 0.05])
    r = np.array([0.05, 0.1, 0.15, 0.2])  # sd of log err = se / err
    hits = 0
    for _ in range(400):
        errs = 0.3 * dts * np.exp(r * rng.standard_normal(4))
        f = qs.fit_power(dts, errs, r * errs)
        assert f["alpha_ci95"][0] < f["alpha"] < f["alpha_ci95"][1]
        hits += f["alpha_ci95"][0] <= 1.0 <= f["alpha_ci95"][1]
    assert 0.90 <= hits / 400 <= 0.99, hits
    # a single fit: the interval is alpha -+ 1.96 se, se at least the weighted least-squares error
    errs = 0.3 * dts * np.exp(r * np.array([0.5, -1, 0.3, 1]))
    f = qs.fit_power(dts, errs, r * errs)
    w = 1 / r ** 2
    x = np.log(dts)
    se_w = math.sqrt(1 / (w.sum() * np.average((x - np.average(x, weights=w)) ** 2, weights=w)))
    assert f["alpha_se"] >= se_w * (1 - 1e-12)
    assert f["alpha_ci95"] == pytest.approx([f["alpha"] - 1.959963984540054 * f["alpha_se"], f["alpha"] + 1.959963984540054 * f["alpha_se"]], rel=1e-12)


def test_fit_interval_enumerations():
    """Enumerations only (standard errors 0): unweighted, the error from the residuals, Student t
    with n - 2 degrees of freedom (12.706 for 3 points); with 2 points there is no interval."""
    dts = np.array([0.4, 0.2, 0.1])
    errs = np.array([0.05, 0.02, 0.011])
    f = qs.fit_power(dts, errs, np.zeros(3))
    x, y = np.log(dts), np.log(errs)
    slope, icpt = np.polyfit(x, y, 1)
    ssr = float(np.sum((y - icpt - slope * x) ** 2))
    se = math.sqrt(ssr / 1 / np.sum((x - x.mean()) ** 2))
    assert f["alpha"] == pytest.approx(slope, rel=1e-12) and f["C"] == pytest.approx(math.exp(icpt), rel=1e-12)
    assert f["alpha_se"] == pytest.approx(se, rel=1e-10)
    half = 12.706204736174698 * se
    assert f["alpha_ci95"] == pytest.approx([slope - half, slope + half], rel=1e-10)
    two = qs.fit_power(dts[:2], errs[:2], np.zeros(2))
    assert two["alpha"] == pytest.approx(math.log(0.05 / 0.02) / math.log(2), rel=1e-12)
    assert math.isnan(two["alpha_se"]) and all(math.isnan(v) for v in two["alpha_ci95"])
    # an enumeration mixed with sampled points counts as unweighted too
    mixed = qs.fit_power(dts, errs, np.array([0.001, 0.0, 0.0005]))
    assert mixed["alpha_se"] == pytest.approx(se, rel=1e-10)


def test_local_slope_errors():
    dts, errs = [0.4, 0.2, 0.1], [0.04, 0.02, 0.01]
    got = qs.local_slope_errors(dts, errs, [0.004, 0.001, 0.0])
    assert got == pytest.approx([math.sqrt(0.1 ** 2 + 0.05 ** 2) / math.log(2), 0.05 / math.log(2)], rel=1e-12)
    assert qs.local_slope_errors(dts, errs, [0.0, 0.0, 0.0]) == [0.0, 0.0]
    nan = qs.local_slope_errors(dts, errs, [0.004, math.nan, 0.001])
    assert all(math.isnan(v) for v in nan)
    assert qs.local_slope_errors([0.4, 0.1], [0.04, 0.01], [0.004, 0.002]) == pytest.approx([math.sqrt(0.01 + 0.04) / math.log(4)], rel=1e-12)


def test_fits_use_smallest_dt():
    rows = [{"kind": "raw", "family": "", "N": 4, "hbar": 1.0, "P": 2, "metric": "weak", "time": 1.0, "Dt": dt, "value": v, "stderr": 0.0, "noise_floor": 0.0, "bound": 1.0}
            for dt, v in [(1, 5.0), (0.5, 0.5 ** 2), (0.25, 0.25 ** 2)]]
    study = {"fit_points": 2, "dir": None}
    import tempfile
    with tempfile.TemporaryDirectory() as t:
        study["dir"] = __import__("pathlib").Path(t)
        (f,) = qs.fit_all(study, rows)
    assert f["fit_Dt"] == [0.5, 0.25] and abs(f["alpha"] - 2) < 1e-12 and abs(f["C"] - 1) < 1e-12
    assert abs(f["local"][0] - math.log2(5 / 0.25)) < 1e-12 and f["local_se"] == [0.0, 0.0]
    assert f["family"] == "" and math.isnan(f["alpha_se"])  # two enumerated points


def test_grid_rule():
    study = qs.load_study(ROOT / "inputs" / "study-quick.toml")
    assert [qs.grid_size(study, h) for h in (1.0, 0.5, 0.25)] == [16, 24, 48]
    assert [p["estimator"] for p in qs.plan(study)].count("enumerate") == 10


@pytest.mark.parametrize("text, words", [
    ("bogus = 1\n" + TINY, "unknown key 'bogus'"),
    (TINY + "\nbogus = 1\n", "group 1: needs the lists N, hbar, Dt, P, may have family, physics, state, grid, estimator (missing [], unknown ['bogus'])"),
    (TINY + "[group.physics]\nbox = 10.0\n", "group 1: a group that overrides physics needs a family name"),
    (TINY + 'family = "a-b"\n', "group 1: family 'a-b' may only have letters, digits and _"),
    (TINY + 'family = "x"\n[group.estimator]\nrealisations = 4\n', "group 1.estimator: unknown key 'realisations'"),
    (TINY + 'family = "x"\n[group.state]\nkind = "cat"\n', "group 1: state.kind must be 'packets' or 'meanfield'"),
    (TINY + "[[group]]\nN = [4]\nhbar = [1.0]\nP = [2]\nDt = [0.05]\n[group.physics]\nbox = 9.0\n", "group 2: a group that overrides physics needs a family name"),
    (TINY.replace("[[group]]", '[[group]]\nfamily = "f"') + '[[group]]\nfamily = "f"\nN = [4]\nhbar = [1.0]\nP = [2]\nDt = [0.05]\n[group.physics]\nbox = 9.0\n',
     "family 'f', N = 4, hbar = 1: two groups set physics, state or grid differently"),
    (TINY.replace("[[group]]", '[[group]]\nfamily = "f"') + '[[group]]\nfamily = "f"\nN = [4]\nhbar = [1.0]\nP = [2]\nDt = [0.1]\n[group.estimator]\nrealizations = 16\n',
     "family 'f', N = 4, hbar = 1, P = 2, Dt = 0.1: two groups list it with different estimators"),
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


FAMILIES = TINY[:TINY.index("[[group]]")].replace('name = "tiny"', 'name = "fam"') + """
[[group]]
family = "pk"
N = [4]
hbar = [1.0]
P = [2]
Dt = [0.4]
[[group]]
family = "mf"
N = [4]
hbar = [1.0]
P = [2]
Dt = [0.4, 0.2]
[group.state]
kind = "meanfield"
width_trap = 0.5
[group.estimator]
enumerate_limit = 1
realizations = 12
rdm_batches = 2
seed = 9
"""


def test_families_plan(tmp_path):
    """Two families: an exact reference each (their own initial states), family-prefixed ids, the
    estimator override in the mean-field family's options only; a second group may share a
    family's (N, hbar) reference when it sets the same physics, state and grid."""
    study = qs.load_study(study_file(tmp_path, FAMILIES))
    pts = qs.plan(study)
    assert [p["id"] for p in pts] == ["pk-N4-hbar1-exact", "mf-N4-hbar1-exact", "pk-N4-hbar1-P2-Dt0.4", "mf-N4-hbar1-P2-Dt0.4", "mf-N4-hbar1-P2-Dt0.2"]
    assert [p["family"] for p in pts] == ["pk", "mf", "pk", "mf", "mf"]
    assert [p["estimator"] for p in pts] == ["exact", "exact", "enumerate", "sample", "sample"]
    pk, mf = pts[0]["opts"], pts[1]["opts"]
    assert pk[pk.index("-init") + 1] == "symmetrized" and mf[mf.index("-init") + 1] == "coherent" and "-trap_omega" not in pk
    assert mf[mf.index("-trap_omega") + 1] == "0.5"
    for p in pts[3:]:
        o = p["opts"]
        assert o[o.index("-realizations") + 1] == "12" and o[o.index("-seed") + 1] == "9" and o[o.index("-rdm_batches") + 1] == "2" and p["R"] == 12
    assert [p["opts"][p["opts"].index("-rb_couple_level") + 1] for p in pts[3:]] == ["0", "1"]  # couple from the study
    assert pts[2]["opts"][pts[2]["opts"].index("-rb_enumerate_limit") + 1] == "10"  # the study's limit for pk
    assert study["estimator"]["realizations"] == 8  # the override does not leak into the study
    # a further pk group with the same physics shares pk's reference; another family gets its own
    more = FAMILIES + '[[group]]\nfamily = "pk"\nN = [4]\nhbar = [1.0]\nP = [2]\nDt = [0.1]\n[[group]]\nfamily = "pk2"\nN = [4]\nhbar = [1.0]\nP = [2]\nDt = [0.1]\n'
    ids = [p["id"] for p in qs.plan(qs.load_study(study_file(tmp_path, more)))]
    assert [i for i in ids if i.endswith("exact")] == ["pk-N4-hbar1-exact", "mf-N4-hbar1-exact", "pk2-N4-hbar1-exact"]
    assert "pk-N4-hbar1-P2-Dt0.1" in ids and "pk2-N4-hbar1-P2-Dt0.1" in ids


def test_families_run_and_partial_aggregation(tmp_path):
    """The two-family study without its last point: aggregate refuses naming it, --partial
    aggregates the rest; every point is compared with its own family's reference, the CSV's family
    column, the estimator override in the run."""
    sf = study_file(tmp_path, FAMILIES)
    d = tmp_path / "study-fam"  # the default directory of the aggregate calls, run in tmp_path
    study = qs.load_study(sf)
    study["dir"] = d
    for p in qs.plan(study)[:4]:  # in process: the driver's own run_point, without a Python start per point
        assert qs.run_point(study, p, 1) == "done"
    with h5py.File(d / "points" / "mf-N4-hbar1-P2-Dt0.4.h5") as f:
        assert f.attrs["realizations"] == 12 and f.attrs["seed"] == 9 and f.attrs["trap_omega"] == 0.5
    res = driver("aggregate", sf, cwd=tmp_path)
    assert res.returncode == 1 and "1 points are not complete" in res.stderr and "mf-N4-hbar1-P2-Dt0.2" in res.stderr, res.stderr
    res = driver("aggregate", sf, "--partial", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "partial aggregation: 1 of 5 points are not complete: mf-N4-hbar1-P2-Dt0.2" in res.stdout
    rows = read_csv(d / "study.csv")
    assert {(r["family"], r["point"], r["estimator"], r["R"]) for r in rows} == {("pk", "pk-N4-hbar1-P2-Dt0.4", "enumerate", "0"),
                                                                                 ("mf", "mf-N4-hbar1-P2-Dt0.4", "sample", "12")}
    for fam in ("pk", "mf"):
        meta, data = qs.read_point_table(d / "tables" / f"{fam}-N4-hbar1-P2-Dt0.4.txt")
        assert meta["reference"] == f"points/{fam}-N4-hbar1-exact.h5" and meta["family"] == fam and len(data) == 3
    sampling = (d / "tables" / "mf-N4-hbar1-P2-Dt0.4.sampling.txt").read_text().splitlines()[2:]
    assert [float(l.split()[0]) for l in sampling] == [6.0] * 3 + [12.0] * 3  # 2 groups of 6, 3 times
    # the references differ (two states), so do the errors of the two families
    w = {r["family"]: float(r["value"]) for r in rows if r["metric"] == "weak" and float(r["time"]) == 0.4}
    assert w["pk"] != w["mf"]
    assert [r["point"] for r in read_csv(d / "cost.csv")] == ["pk-N4-hbar1-exact", "mf-N4-hbar1-exact", "pk-N4-hbar1-P2-Dt0.4", "mf-N4-hbar1-P2-Dt0.4", "total"]
