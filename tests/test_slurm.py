"""The job scripts in jobs/ under a real single-node Slurm (tests/slurm_harness.py).

The module fixture starts munged + slurmctld + slurmd from a configuration in a temporary directory
(2 CPUs, node "localhost") and stops them by PID afterwards. When that scheduler cannot start (no
slurm-wlm/munge packages, not root, ...) every test here FAILS with the reason, so that a green
`make check` means the job scripts ran; a caller without Slurm sets QRBM_SKIP_SLURM=1 explicitly to
skip them instead (README, Testing).

The chain logic is exercised with a stand-in solver (a bash script that behaves like bin/qrbm's
checkpoint interface: exit 75 after -max_walltime seconds or on SIGUSR1/SIGTERM, -restart counts
links) so that it is tested independently of the solver; test_chain_real_solver_matches_uninterrupted
runs the real solver through a chain and compares with an uninterrupted run.
"""
import os
import re
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import ROOT, mpi_env, qrbm_command, read_output
from slurm_harness import SlurmCluster, SlurmUnavailable

JOBS = ROOT / "jobs"
JOB_TIMEOUT = 120  # seconds for any one job or chain in these tests


@pytest.fixture(scope="module")
def slurm(qrbm_binary):
    try:
        cluster = SlurmCluster(cpus=2).start()
    except SlurmUnavailable as e:
        if os.environ.get("QRBM_SKIP_SLURM") == "1":
            pytest.skip(f"QRBM_SKIP_SLURM=1 and single-node Slurm cannot start here: {e}")
        pytest.fail(f"single-node Slurm cannot start here: {e} (set QRBM_SKIP_SLURM=1 to skip the Slurm tests explicitly)")
    try:
        yield cluster
    finally:
        cluster.stop()


def job_env(**kw):
    """Environment for sbatch: the test's environment without QRBM_* settings, plus kw."""
    env = {k: v for k, v in mpi_env().items() if not k.startswith("QRBM_")}
    env.update({k: str(v) for k, v in kw.items()})
    return env


def submit(slurm, args, cwd, wait=False, **env):
    """sbatch --chdir=cwd ARGS with QRBM_* environment kw (sbatch's default --export=ALL passes the
    submitting environment on to the job); returns the job id, with wait=True once it has ended."""
    jid = slurm.sbatch([f"--chdir={cwd}"] + [str(a) for a in args], cwd=cwd, env=job_env(**env))
    if wait:
        slurm.wait_job(jid, timeout=JOB_TIMEOUT)
    return jid


def wait_for(cond, timeout=JOB_TIMEOUT, poll=0.3, slurm=None, release=False):
    """Poll cond() until true; with release=True also lift Slurm's 2-minute hold on requeued jobs
    (Reason=BeginTime) so that requeue chains run at test speed. The hold is lifted only 2 s after it
    was first seen: slurmd refuses a job credential issued in the same second as the revocation of
    the requeued run's ("Job credential revoked")."""
    t0 = time.monotonic()
    held = {}
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        if release and slurm is not None:
            r = slurm.run(["squeue", "-h", "-t", "PD", "-o", "%i %r"], check=False)
            now = time.monotonic()
            for line in r.stdout.splitlines():
                jid, _, reason = line.partition(" ")
                if reason.strip() != "BeginTime":
                    continue
                held.setdefault(jid, now)
                if now - held[jid] >= 2.0:
                    slurm.run(["scontrol", "update", f"JobId={jid}", "StartTime=now"], check=False)
                    del held[jid]
        time.sleep(poll)
    return False


def job_log(path):
    return Path(path).read_text(errors="replace") if Path(path).exists() else f"(no {path})"


def diagnostics(slurm, workdir):
    out = [f"queue: {slurm.queue()}"]
    for f in sorted(Path(workdir).glob("*.out")) + sorted(Path(workdir).glob("*.chain.log")):
        out.append(f"--- {f.name}\n{job_log(f)}")
    out.append(slurm.logs("slurmctld"))
    return "\n".join(out)


# ------------------------------------------------------------------------------------- single
def test_single_job_completes(slurm, tmp_path):
    jid = submit(slurm, ["--ntasks=2", JOBS / "single.sbatch", "-t_final", "0.1"], tmp_path, wait=True,
                 QRBM_OUTPUT="single.h5")
    info = slurm.job_info(jid)
    out = tmp_path / f"qrbm-{jid}.out"
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", info
    log = job_log(out)
    assert "mpirun --oversubscribe -np 2" in log and "finished: single.h5" in log, log
    data = read_output(tmp_path / "single.h5")
    assert data["attrs"]["mpi_ranks"] == 2
    assert data["attrs"]["grid"] == 32 and data["attrs"]["particles"] == 2  # inputs/tiny.opts
    assert np.isclose(data["observables/time"][-1], 0.1)
    assert abs(data["observables/norm"][-1] - 1) < 1e-12


def test_single_job_reports_solver_error(slurm, tmp_path):
    jid = submit(slurm, [JOBS / "single.sbatch", "-grid", "1"], tmp_path, wait=True)  # grid < 2: refused
    info = slurm.job_info(jid)
    assert info["JobState"] == "FAILED" and info["ExitCode"] == "1:0", info
    assert "solver failed with exit code 1" in job_log(tmp_path / f"qrbm-{jid}.out")


# -------------------------------------------------------------------------------------- sweep
def _sweep_rows(table):
    rows = [ln.split("\t") for ln in Path(table).read_text().splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]
    return rows[0], rows[1:]


def test_sweep_array_runs_every_row(slurm, tmp_path):
    table = ROOT / "inputs" / "sweep.tsv"
    header, rows = _sweep_rows(table)
    # run directly, the script submits itself as an array over all rows
    r = slurm.run([str(JOBS / "sweep.sbatch"), str(table), "-t_final", "0.05"], cwd=tmp_path,
                  env=job_env(QRBM_SWEEP_DIR="out"))
    jid = int(r.stdout.strip().split(";")[0])
    assert wait_for(lambda: not slurm.queue()), diagnostics(slurm, tmp_path)
    tasks = slurm.jobs_info(jid)
    assert len(tasks) == len(rows) >= 2
    assert sorted(int(t["ArrayTaskId"]) for t in tasks) == list(range(len(rows)))
    assert all(t["JobState"] == "COMPLETED" for t in tasks), diagnostics(slurm, tmp_path)
    for row in rows:
        cells = dict(zip(header, row))
        data = read_output(tmp_path / "out" / f"{cells['name']}.h5")
        a = data["attrs"]
        assert np.isclose(a["potential_strength"], float(cells["potential_strength"]))
        assert np.isclose(a["trap_omega"], float(cells["trap_omega"]))
        assert a["scheme"] == (cells["scheme"] if cells["scheme"] != "-" else "strang")
        assert np.isclose(data["observables/time"][-1], 0.05)
    # a task id past the table is an error (exit 2) without running anything
    jid = submit(slurm, [f"--array={len(rows)}", JOBS / "sweep.sbatch", table], tmp_path, wait=True)
    assert slurm.jobs_info(jid)[0]["ExitCode"] == "2:0"


# -------------------------------------------------------------------------------- scaling
def test_strong_scaling_submitter_and_analysis(slurm, tmp_path):
    out = tmp_path / "strong"
    r = slurm.run([str(JOBS / "strong_scaling.sh"), "-r", "1 2", "-w", "-a", "-o", str(out), "--", "-t_final", "0.05"],
                  cwd=tmp_path, env=job_env(QRBM_SCALING_POLL="0.3"), timeout=JOB_TIMEOUT, check=False)
    assert r.returncode == 0, r.stdout + r.stderr + diagnostics(slurm, out)
    runs = [ln.split("\t") for ln in (out / "runs.tsv").read_text().splitlines()[1:]]
    assert [(x[1], x[2]) for x in runs] == [("1", "1"), ("2", "1")] and all(x[0].isdigit() for x in runs)
    for tag in ("r1_t1", "r2_t1"):
        assert "Summary of Stages" in (out / f"{tag}.log_view").read_text()
    rows = (out / "scaling.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("ranks,threads,cores,problem,time,speedup,efficiency")
    assert (out / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    assert "strong scaling, 2 runs" in job_log(out / "analysis.out")


def test_weak_scaling_problem_sizes(tmp_path):
    """weak_scaling.sh -n prints the sbatch commands: the problem grows with ranks x threads."""
    env = job_env()
    r = subprocess.run([str(JOBS / "weak_scaling.sh"), "-n", "-r", "1 2 4", "-t", "1 2", "-R", "3", "-o", str(tmp_path / "e")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    got = re.findall(r"--ntasks=(\d+) --cpus-per-task=(\d+).*-realizations (\d+) -ranks_per_realization 1", r.stdout)
    assert [(int(a), int(b), int(c)) for a, b, c in got] == [(n, t, 3 * n * t) for n in (1, 2, 4) for t in (1, 2)]
    # grid mode: M = 32 * p^(1/(N d)) for inputs/tiny.opts (N = 2, d = 1), rounded to even
    r = subprocess.run([str(JOBS / "weak_scaling.sh"), "-n", "-m", "grid", "-r", "1 2 4", "-o", str(tmp_path / "g")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.findall(r"-grid (\d+)", r.stdout) == ["32", "46", "64"]


# --------------------------------------------------------------------------- chain (stand-in)
MOCK = r"""#!/bin/bash
# stand-in for bin/qrbm's checkpoint interface: the run needs MOCK_LINKS links; each link "works"
# for -max_walltime seconds (or until SIGUSR1/SIGTERM), then writes the checkpoint and exits 75
out= ck= restart= wall=
while [ $# -gt 0 ]; do
  case $1 in
    -output) out=$2; shift ;;
    -checkpoint_file) ck=$2; shift ;;
    -restart) restart=$2; shift ;;
    -max_walltime) wall=$2; shift ;;
  esac
  shift
done
n=0
[ -n "$restart" ] && n=$(cat "$restart")
n=$((n + 1))
echo "mock link $n: restart=${restart:-none} max_walltime=${wall:-none}"
echo "$n ${restart:-none}" >> "$out.links"
[ "${MOCK_FAIL_AT:-0}" = "$n" ] && { echo "mock: failing"; exit 1; }
[ "$n" -ge "${MOCK_LINKS:-3}" ] && { echo "finished after $n links" > "$out"; exit 0; }
checkpoint() { echo "mock: $1"; echo "$n" > "$ck"; exit 75; }
trap 'checkpoint SIGUSR1' USR1
trap 'checkpoint SIGTERM' TERM
sleep "${wall:-1000}" &
wait $!
checkpoint max_walltime
"""


@pytest.fixture
def mock_solver(tmp_path):
    p = tmp_path / "mock-qrbm"
    p.write_text(MOCK)
    p.chmod(0o755)
    return p


def _chain_jobs(slurm):
    r = slurm.run(["scontrol", "show", "job", "-o"], check=False)
    recs = []
    for line in r.stdout.splitlines():
        rec = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
        if rec.get("JobName") == "qrbm-chain":
            recs.append(rec)
    return sorted(recs, key=lambda rec: int(rec["JobId"]))


def _links(out):
    p = Path(str(out) + ".links")
    return [ln.split() for ln in p.read_text().splitlines()] if p.exists() else []


def _chain_job_ids(slurm):
    """Ids of the chain jobs so far (scontrol lists finished jobs for MinJobAge)."""
    return {rec["JobId"] for rec in _chain_jobs(slurm)}


def test_chain_resubmits_until_done(slurm, tmp_path, mock_solver):
    before = _chain_job_ids(slurm)
    out = tmp_path / "run.h5"
    submit(slurm, [JOBS / "chain.sbatch"], tmp_path, QRBM_BIN=mock_solver, QRBM_OUTPUT=out,
           QRBM_MAX_WALLTIME=1, MOCK_LINKS=3)
    done = Path(str(out) + ".DONE")
    assert wait_for(lambda: done.exists() and not slurm.queue()), diagnostics(slurm, tmp_path)
    ck = str(tmp_path / "run.ck.h5")
    assert _links(out) == [["1", "none"], ["2", ck], ["3", ck]]
    jobs = [j for j in _chain_jobs(slurm) if j["JobId"] not in before]
    assert len(jobs) == 3 and all(j["JobState"] == "COMPLETED" and j["ExitCode"] == "0:0" for j in jobs), jobs
    # links 2 and 3 waited for their predecessor and kept its resources
    log = job_log(str(out) + ".chain.log")
    assert re.search(rf"job={jobs[0]['JobId']} link=1 checkpointed: submitted link 2 as job {jobs[1]['JobId']}", log), log
    assert f"job={jobs[2]['JobId']} link=3 finished" in log, log
    assert all(j["NumTasks"] == "1" for j in jobs) and jobs[1]["TimeLimit"] == jobs[0]["TimeLimit"]
    # a chain whose DONE marker exists does nothing
    jid = submit(slurm, [JOBS / "chain.sbatch"], tmp_path, wait=True, QRBM_BIN=mock_solver,
                 QRBM_OUTPUT=out, MOCK_LINKS=3)
    assert slurm.job_info(jid)["ExitCode"] == "0:0" and len(_links(out)) == 3


def test_chain_requeue_mode(slurm, tmp_path, mock_solver):
    out = tmp_path / "rq.h5"
    jid = submit(slurm, [JOBS / "chain.sbatch"], tmp_path, QRBM_BIN=mock_solver, QRBM_OUTPUT=out,
                 QRBM_MAX_WALLTIME=1, QRBM_CHAIN_MODE="requeue", MOCK_LINKS=3)
    done = Path(str(out) + ".DONE")
    assert wait_for(lambda: done.exists() and not slurm.queue(), slurm=slurm, release=True), \
        diagnostics(slurm, tmp_path)
    info = slurm.job_info(jid)
    assert info["JobState"] == "COMPLETED" and info["Restarts"] == "2", info
    assert [link[0] for link in _links(out)] == ["1", "2", "3"]
    log = job_log(tmp_path / f"qrbm-chain-{jid}.out")  # --open-mode=append keeps every link's output
    assert log.count("mock link") == 3 and "requeueing job" in log, log


def test_chain_stops_on_solver_error(slurm, tmp_path, mock_solver):
    before = _chain_job_ids(slurm)
    out = tmp_path / "err.h5"
    submit(slurm, [JOBS / "chain.sbatch"], tmp_path, QRBM_BIN=mock_solver, QRBM_OUTPUT=out,
           QRBM_MAX_WALLTIME=1, MOCK_LINKS=5, MOCK_FAIL_AT=2)
    failed = Path(str(out) + ".FAILED")
    assert wait_for(lambda: failed.exists() and not slurm.queue()), diagnostics(slurm, tmp_path)
    time.sleep(1)
    assert not slurm.queue() and not Path(str(out) + ".DONE").exists()
    assert [link[0] for link in _links(out)] == ["1", "2"]
    jobs = [j for j in _chain_jobs(slurm) if j["JobId"] not in before]
    assert [j["ExitCode"] for j in jobs] == ["0:0", "1:0"], jobs
    # the chain refuses to start again until FAILED is removed
    jid = submit(slurm, [JOBS / "chain.sbatch"], tmp_path, wait=True, QRBM_BIN=mock_solver, QRBM_OUTPUT=out)
    assert slurm.job_info(jid)["ExitCode"] == "1:0" and len(_links(out)) == 2


def test_chain_stops_after_max_links(slurm, tmp_path, mock_solver):
    before = _chain_job_ids(slurm)
    out = tmp_path / "max.h5"
    submit(slurm, [JOBS / "chain.sbatch"], tmp_path, QRBM_BIN=mock_solver, QRBM_OUTPUT=out,
           QRBM_MAX_WALLTIME=1, MOCK_LINKS=10, QRBM_CHAIN_MAX_LINKS=2)
    assert wait_for(lambda: len(_links(out)) == 2 and not slurm.queue()), diagnostics(slurm, tmp_path)
    jobs = [j for j in _chain_jobs(slurm) if j["JobId"] not in before]
    assert [j["ExitCode"] for j in jobs] == ["0:0", "3:0"], jobs
    assert "QRBM_CHAIN_MAX_LINKS=2 links reached" in job_log(str(out) + ".chain.log")
    assert not Path(str(out) + ".DONE").exists() and (tmp_path / "max.ck.h5").exists()


def test_chain_forwards_usr1_and_stops_on_cancel(slurm, tmp_path, mock_solver):
    """SIGUSR1 to the batch shell (what --signal=B:USR1@T sends) reaches the solver through mpirun:
    the link checkpoints and the next one restarts. scancel (SIGTERM) ends the chain without a
    FAILED marker and without resubmitting."""
    before = _chain_job_ids(slurm)
    out = tmp_path / "sig.h5"
    jid = submit(slurm, [JOBS / "chain.sbatch"], tmp_path, QRBM_BIN=mock_solver, QRBM_OUTPUT=out,
                 QRBM_MAX_WALLTIME="none", MOCK_LINKS=10)
    assert wait_for(lambda: len(_links(out)) == 1), diagnostics(slurm, tmp_path)
    slurm.run(["scancel", "--signal=USR1", "--batch", str(jid)])
    assert wait_for(lambda: len(_links(out)) == 2), diagnostics(slurm, tmp_path)
    log1 = job_log(tmp_path / f"qrbm-chain-{jid}.out")
    assert "received SIGUSR1" in log1 and "mock: SIGUSR1" in log1, log1
    jobs = [j for j in _chain_jobs(slurm) if j["JobId"] not in before]
    second = jobs[-1]["JobId"]
    assert second != str(jid)
    time.sleep(0.5)
    slurm.run(["scancel", second])
    assert wait_for(lambda: not slurm.queue()), diagnostics(slurm, tmp_path)
    log = job_log(str(out) + ".chain.log")
    assert f"job={second} link=2 terminated by SIGTERM" in log, log
    assert len(_links(out)) == 2 and not Path(str(out) + ".FAILED").exists()
    assert not Path(str(out) + ".DONE").exists()


def test_chain_signal_before_time_limit(slurm, tmp_path, mock_solver):
    """The #SBATCH --signal=B:USR1@T mechanism itself: a 2-minute job signalled 110 s before its
    limit (slurmctld checks about every 30 s) gets SIGUSR1 in its batch shell, link 1 checkpoints,
    and the chain finishes in link 2. On a loaded machine Slurm may signal while mpirun is still
    launching the solver, which loses the signal (docs/jobs.md); -max_walltime 60, the second line
    of defence, then ends link 1 instead, still within the test's 100 s."""
    out = tmp_path / "tl.h5"
    t0 = time.monotonic()
    jid = submit(slurm, ["--time=2", "--signal=B:USR1@110", JOBS / "chain.sbatch"], tmp_path, QRBM_BIN=mock_solver,
                 QRBM_OUTPUT=out, QRBM_MAX_WALLTIME=60, MOCK_LINKS=2)
    done = Path(str(out) + ".DONE")
    assert wait_for(lambda: done.exists() and not slurm.queue(), timeout=100), diagnostics(slurm, tmp_path)
    assert time.monotonic() - t0 < 100
    assert "received SIGUSR1" in job_log(tmp_path / f"qrbm-chain-{jid}.out"), diagnostics(slurm, tmp_path)
    log = job_log(str(out) + ".chain.log")
    assert "link=1 checkpointed: submitted link 2" in log and "link=2 finished" in log, log


# ----------------------------------------------------------------------------- chain (solver)
def _has_checkpointing():
    r = subprocess.run([str(ROOT / "bin" / "qrbm"), "-help"], capture_output=True, text=True,
                       env=mpi_env(), timeout=60)
    return "-checkpoint_file" in r.stdout + r.stderr


CHAIN_OPTS = """-dim 1
-particles 4
-grid 32
-box 16
-t_final {t_final}
-dt 0.01
-potential gaussian
-trap_omega 0.5
-init coherent
-init_q 1.0
-init_p 0.5
-output_interval 5
-fftw_planner estimate
"""


def _compare_h5(a, b, rtol=1e-12):
    """Every dataset of a equals b's (same names, shapes; floats to rtol relative to the dataset's scale)."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names_a, names_b = [], []
        fa.visititems(lambda n, o: names_a.append(n) if isinstance(o, h5py.Dataset) else None)
        fb.visititems(lambda n, o: names_b.append(n) if isinstance(o, h5py.Dataset) else None)
        assert sorted(names_a) == sorted(names_b)
        for n in names_a:
            x, y = fa[n][()], fb[n][()]
            assert x.shape == y.shape, n
            if np.issubdtype(np.asarray(y).dtype, np.inexact):
                scale = max(float(np.max(np.abs(y))), 1e-300) if y.size else 1.0
                np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=n)
            else:
                np.testing.assert_array_equal(x, y, err_msg=n)


def _seconds_per_step(opts, np=2, steps=20):
    """Wall seconds per step of the options file's problem, from the solver's summary line (the
    faster of two short runs: the machine may be busy)."""
    best = float("inf")
    for i in range(2):
        cmd = qrbm_command(["-options_file", str(opts), "-t_final", str(steps * 0.01)], np=np, quiet=False,
                           output=Path(opts).parent / f"calib{i}.h5")
        res = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
        m = re.search(r"(\d+) steps, .*, ([0-9.]+) s\s*$", res.stdout, re.M)
        assert m, res.stdout
        best = min(best, float(m.group(2)) / int(m.group(1)))
    return best


def test_chain_real_solver_matches_uninterrupted(slurm, tmp_path):
    """The real solver through jobs/chain.sbatch with -max_walltime 4 s: the input is sized (from a
    short calibration run) to need about 15 s of time steps, so the chain checkpoints and
    resubmits itself at least twice; the result must equal an uninterrupted run's."""
    assert _has_checkpointing(), "bin/qrbm -help lists no -checkpoint_file"
    opts = tmp_path / "chain.opts"
    opts.write_text(CHAIN_OPTS.format(t_final=0.2))
    per_step = _seconds_per_step(opts)
    # the solver stops when elapsed + margin >= -max_walltime, margin = 2 (slowest step +
    # checkpoint write) + 1 s: a 4 s link does at most about 3 s of time steps
    wall = 4.0
    nsteps = int(min(3000, max(100, round(15.0 / per_step / 10) * 10)))
    t_final = nsteps * 0.01
    opts.write_text(CHAIN_OPTS.format(t_final=f"{t_final:.2f}"))
    # uninterrupted reference at the same rank count, outside Slurm
    ref = tmp_path / "ref.h5"
    t0 = time.monotonic()
    cmd = qrbm_command(["-options_file", str(opts)], np=2, output=ref)
    res = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=300)
    t_ref = time.monotonic() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    before = _chain_job_ids(slurm)
    out = tmp_path / "chain.h5"
    submit(slurm, ["--ntasks=2", JOBS / "chain.sbatch"], tmp_path, QRBM_OPTIONS=opts, QRBM_OUTPUT=out,
           QRBM_MAX_WALLTIME=wall, QRBM_CHECKPOINT_INTERVAL=25, QRBM_CHAIN_MAX_LINKS=40)
    done = Path(str(out) + ".DONE")
    assert wait_for(lambda: (done.exists() or Path(str(out) + ".FAILED").exists()) and not slurm.queue(),
                    timeout=300), diagnostics(slurm, tmp_path)
    assert done.exists(), diagnostics(slurm, tmp_path)
    jobs = [j for j in _chain_jobs(slurm) if j["JobId"] not in before]
    assert len(jobs) >= 3, (f"only {len(jobs)} links with -max_walltime {wall}: {nsteps} steps, reference run "
                            f"{t_ref:.1f} s, calibration {per_step:.3f} s/step\n" + diagnostics(slurm, tmp_path))
    assert all(j["ExitCode"] == "0:0" for j in jobs), jobs
    log = job_log(str(out) + ".chain.log")
    assert log.count("checkpointed: submitted link") == len(jobs) - 1, log
    _compare_h5(out, ref)
    d = read_output(out)
    assert np.isclose(d["observables/time"][-1], t_final) and len(d["observables/time"]) == nsteps // 5 + 1
