"""tools/scaling.py on -log_view tables of real short runs (1 and 2 ranks, 2 threads, a weak pair)."""
import csv
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, mpi_env, qrbm_command

sys.path.insert(0, str(ROOT / "tools"))
import scaling  # noqa: E402

PY = "/usr/bin/python3"
BASE = {"particles": 3, "grid": 32, "t_final": 0.05, "dt": 0.01, "output_interval": 5}


def _run(outdir, tag, args, np=1, threads=None):
    lv = outdir / f"{tag}.log_view"
    cmd = qrbm_command({**BASE, **args, "log_view": f":{lv}"}, np=np, threads=threads,
                       output=outdir / f"{tag}.h5")
    res = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=300)
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stdout}\n{res.stderr}"
    assert lv.exists(), f"no -log_view file {lv}"
    return lv


@pytest.fixture(scope="module")
def logs(tmp_path_factory, qrbm_binary):
    d = tmp_path_factory.mktemp("logview")
    strong, weak, threads = d / "strong", d / "weak", d / "threads"
    for p in (strong, weak, threads):
        p.mkdir()
    out = {
        "r1": _run(strong, "r1_t1", {}, np=1),
        "r2": _run(strong, "r2_t1", {}, np=2),
        "t2": _run(threads, "r1_t2", {}, np=1, threads=2),
    }
    rbm = {"method": "rbm", "batch_size": 3, "ranks_per_realization": 1}
    out["w1"] = _run(weak, "r1_t1", {**rbm, "realizations": 1}, np=1)
    out["w2"] = _run(weak, "r2_t1", {**rbm, "realizations": 2}, np=2)
    out.update(strong=strong, weak=weak, threads=threads)
    return out


def test_parse_real_log_view(logs):
    for key, ranks in (("r1", 1), ("r2", 2)):
        lv = scaling.parse_log_view(logs[key].read_text(), str(logs[key]))
        assert lv["ranks"] == ranks
        assert {"Setup", "InitialState", "TimeLoop"} <= set(lv["stages"])
        assert {"QrbmFFT", "QrbmKinetic", "QrbmObservables", "QrbmIO"} <= set(lv["events"])
        tl = lv["events_by_stage"]["TimeLoop"]
        assert "QrbmFFT" in tl and tl["QrbmFFT"] > 0
        assert 0 < lv["stages"]["TimeLoop"] <= lv["total_time"] * (1 + 1e-6)
        # 5 Strang steps = 6 kinetic sub-steps (merged ends): on 2 ranks each is a distributed
        # forward/backward pair (QrbmFFT) with the in-cache pass (QrbmKinetic); on 1 rank all but the
        # last (at the output time) are one-rank passes with the potential folded in
        # (QrbmKineticPotential, no QrbmPotential), the last a pair with the phase
        c = lv["event_counts"]
        if ranks == 2:
            assert c["QrbmFFT"] >= 12 and c["QrbmKinetic"] >= 6 and c["QrbmPotential"] >= 5
        else:
            assert c["QrbmKineticPotential"] == 5 and c["QrbmFFT"] >= 2 and c.get("QrbmPotential", 0) == 0
        assert lv["options"]["grid"] == "32" and lv["options"]["particles"] == "3"
        rec = scaling.run_record(logs[key])
        assert rec["ranks"] == ranks and rec["threads"] == 1 and rec["cores"] == ranks
        assert rec["steps"] == 5 and rec["points"] == 32.0 ** 3 and rec["time"] == lv["stages"]["TimeLoop"]


def test_threads_from_option_table(logs):
    rec = scaling.run_record(logs["t2"])
    assert rec["ranks"] == 1 and rec["threads"] == 2 and rec["cores"] == 2


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _check_png(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000


def test_strong_scaling_csv_and_plot(logs, tmp_path):
    out = tmp_path / "strong.csv"
    png = tmp_path / "strong.png"
    res = subprocess.run([PY, str(ROOT / "tools" / "scaling.py"), str(logs["strong"]), str(logs["t2"]),
                          "-o", str(out), "--plot", str(png)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "strong scaling, 3 runs" in res.stdout
    rows = _read_csv(out)
    assert [(int(r["ranks"]), int(r["threads"])) for r in rows] == [(1, 1), (1, 2), (2, 1)]
    times = {(int(r["ranks"]), int(r["threads"])): float(r["time"]) for r in rows}
    for r in rows:
        c, s, e = int(r["cores"]), float(r["speedup"]), float(r["efficiency"])
        assert c == int(r["ranks"]) * int(r["threads"])
        assert math.isclose(s, times[(1, 1)] / float(r["time"]), rel_tol=1e-4)
        assert math.isclose(e, s / c, rel_tol=1e-4)
        assert float(r["event_QrbmFFT"]) > 0 and float(r["stage_TimeLoop"]) == float(r["time"])
    _check_png(png)


def _with_stage_time(src, dst, seconds):
    """A copy of a real -log_view file whose TimeLoop stage takes the given (crafted) time."""
    text, n = re.subn(r"^(\s*\d+:\s+TimeLoop:\s+)\S+", lambda m: m.group(1) + f"{seconds:.4e}", src.read_text(), flags=re.M)
    assert n == 1, f"no TimeLoop stage line in {src}"
    dst.write_text(text)


def test_strong_scaling_of_known_timings(logs, tmp_path):
    # Real logs with crafted TimeLoop times 8, 5 and 2.5 s on 1 rank x 1 thread, 1 x 2 and 2 x 1:
    # speed-up T(1 core)/T = 1, 1.6, 3.2 and efficiency speed-up/cores = 1, 0.8, 1.6, computed here
    # by hand, not from the tool's own CSV columns.
    d = tmp_path / "known"
    d.mkdir()
    for key, seconds in (("r1", 8.0), ("t2", 5.0), ("r2", 2.5)):
        _with_stage_time(logs[key], d / logs[key].name.replace("r1_t1", f"{key}_r1_t1"), seconds)
    out = tmp_path / "known.csv"
    res = subprocess.run([PY, str(ROOT / "tools" / "scaling.py"), str(d), "-o", str(out), "--kind", "strong"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    got = {(int(r["ranks"]), int(r["threads"])): (float(r["time"]), float(r["speedup"]), float(r["efficiency"]))
           for r in _read_csv(out)}
    want = {(1, 1): (8.0, 1.0, 1.0), (1, 2): (5.0, 1.6, 0.8), (2, 1): (2.5, 3.2, 1.6)}
    assert got.keys() == want.keys()
    for k, w in want.items():
        assert all(math.isclose(a, b, rel_tol=1e-4) for a, b in zip(got[k], w)), (k, got[k], w)


def test_weak_scaling_auto_kind(logs, tmp_path):
    res = subprocess.run([PY, str(ROOT / "tools" / "scaling.py"), str(logs["weak"])], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "weak scaling, 2 runs" in res.stdout
    rows = _read_csv(logs["weak"] / "scaling.csv")  # default: next to the logs of one directory
    _check_png(logs["weak"] / "scaling.png")
    assert [int(r["realizations"]) for r in rows] == [1, 2]
    t1, t2 = float(rows[0]["time"]), float(rows[1]["time"])
    # equal work per core: efficiency = T(1)/T(2), scaled speed-up = 2 x efficiency
    assert math.isclose(float(rows[1]["efficiency"]), t1 / t2, rel_tol=1e-4)
    assert math.isclose(float(rows[1]["speedup"]), 2 * t1 / t2, rel_tol=1e-4)


def test_scaling_arithmetic():
    def rec(ranks, threads, time, work=1.0, problem="p"):
        return {"ranks": ranks, "threads": threads, "cores": ranks * threads, "time": time, "work": work,
                "problem": problem}

    rs = [rec(1, 1, 8.0), rec(2, 1, 4.0), rec(4, 1, 4.0)]
    assert scaling.add_scaling(rs) == "strong"
    assert [r["speedup"] for r in rs] == [1.0, 2.0, 2.0]
    assert [r["efficiency"] for r in rs] == [1.0, 1.0, 0.5]
    # weak with a grid that grew by 1.8 instead of 2: efficiency normalised by the work per core
    rs = [rec(1, 1, 2.0, 100.0, "a"), rec(2, 1, 2.0, 180.0, "b")]
    assert scaling.add_scaling(rs) == "weak"
    assert math.isclose(rs[1]["efficiency"], 0.9) and math.isclose(rs[1]["speedup"], 1.8)


def test_rejects_other_text(tmp_path):
    with pytest.raises(scaling.LogViewError):
        scaling.parse_log_view("hello\nworld\n")
    bad = tmp_path / "x.log_view"
    bad.write_text("not a log\n")
    res = subprocess.run([PY, str(ROOT / "tools" / "scaling.py"), str(bad), "--no-plot", "-o", str(tmp_path / "x.csv")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "skipping" in res.stderr
