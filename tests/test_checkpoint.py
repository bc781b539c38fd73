"""Checkpoint/restart of bin/qrbm (-checkpoint_file, -checkpoint_interval, -checkpoint_keep,
-restart, -max_walltime, SIGUSR1/SIGTERM stops with exit code 75).

Covered:
* stop at every step (-max_walltime 0.0001 stops at the first check) and restart until done, at the
  same rank count and split: every dataset bit-identical to the uninterrupted run, for an exact
  run and for an RB ensemble with two rank groups, -save_realizations, -record_pairings,
  -rdm_interval 1 and -reference exact; output status 'checkpointed' after each stop and
  'complete' at the end;
* the same at alternating rank counts (1, 2, 4) and -ranks_per_realization splits: equal to
  1e-12 (stderr datasets: atol = 1e-12 * max|mean| of the same observable);
* -checkpoint_interval in steps, <x>t and <x>s forms, -checkpoint_keep rotation, the final
  checkpoint of single-trajectory runs;
* kill -9 inside a checkpoint write (-checkpoint_test_delay): the previous checkpoint is intact and
  the restart from it reproduces the uninterrupted run bit for bit;
* SIGUSR1 to mpirun, SIGTERM to the ranks (as a batch system sends it) and SIGTERM to mpirun
  during a run: checkpoint at the next step boundary, exit 75, restart bit-identical to the
  uninterrupted run. mpirun forwards SIGUSR1; SIGTERM it does not forward but kills the job (it
  signals the ranks itself, then exits 1 whatever their exit codes: `man mpirun`, "Signal
  Propagation"), so that case accepts mpirun's exit code 1 and checks the ranks' stop message;
* -t_final extension of a single trajectory from its final checkpoint;
* rejected checkpoint/restart inputs are cases of the one bad-input harness, tests/test_bad_inputs.py
  (built on stopped_runs here): message and exit code 1, the stopped run's output kept.

Every run goes through conftest.qrbm_command (mpirun --oversubscribe, -quiet, -fftw_planner
estimate). Runtime about 1.5-2 minutes on 2 cores.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import TIMEOUT, mpi_env, qrbm_command, read_output, run_qrbm, with_options

# Exact dynamics: 3 particles on 8 points (512 grid points), 8 steps, output every 2 steps.
EXACT = {
    "dim": 1, "particles": 3, "grid": 8, "box": 8, "t_final": 0.4, "dt": 0.05,
    "potential_strength": 2, "init": "symmetrized", "init_q": [-1.5, 0, 1.5],
    "init_p": [0.5, -0.3, 0.2], "output_interval": 2,
}
# RB ensemble: 4 particles on 8 points, 4 steps, 2 reshuffle intervals, 3 realisations, R_1 at every
# output time with the exact reference and 2 jackknife groups.
RB = {
    "dim": 1, "particles": 4, "grid": 8, "box": 8, "t_final": 0.2, "dt": 0.05,
    "potential_strength": 2, "init": "symmetrized", "init_q": [-1.5, -0.5, 0.5, 1.5],
    "init_p": [0.5, -0.5, 0.3, -0.3], "output_interval": 2,
    "method": "rbm", "batch_size": 2, "rb_dt": 0.1, "realizations": 3, "seed": 7,
    "save_realizations": None, "record_pairings": None,
    "rdm_interval": 1, "rdm_batches": 2, "reference": "exact",
}
RTOL = 1e-12
STOP_NOW = {"max_walltime": 0.0001}  # the margin (>= 1 s) exceeds it: stop at the first check


opts = with_options


def fast_env():
    """mpirun environment in which a non-zero exit (75 after every stop) does not cost Open MPI's
    abort delay: odls_base_sigkill_timeout (1 s) is the wait between the SIGTERM and the SIGKILL it
    sends the other processes of a job with a failed process; without it a stopped run costs
    2-3 s instead of 0.6 s. Every file operation of qrbm ends before MPI_Finalize, which all ranks
    pass before any exits. Not used where mpirun is sent SIGTERM (that needs the grace time)."""
    env = mpi_env()
    env["OMPI_MCA_odls_base_sigkill_timeout"] = "0"
    return env


def launch(args, np_, out, quiet=True, timeout=TIMEOUT):
    cmd = qrbm_command(args, np=np_, output=out, quiet=quiet)
    return subprocess.run(cmd, capture_output=True, text=True, env=fast_env(), timeout=timeout)


def status(path):
    with h5py.File(path, "r") as f:
        s = f.attrs["status"]
    return s.decode() if isinstance(s, bytes) else str(s)


def ck_items(path):
    """(k, step, pending) of every item saved in a checkpoint."""
    with h5py.File(path, "r") as f:
        return f["items_k"][()].reshape(-1, 3)


def datasets(d):
    return sorted(k for k in d if k not in ("attrs", "_path"))


def as_array(v):
    if v.dtype.names:  # compound {r, i}
        return v["r"] + 1j * v["i"]
    return v


def assert_identical(a, b, what):
    ka, kb = datasets(a), datasets(b)
    assert ka == kb, f"{what}: dataset lists differ: {sorted(set(ka) ^ set(kb))}"
    for k in kb:
        x, y = as_array(a[k]), as_array(b[k])
        assert x.shape == y.shape, f"{what}: {k} shape {x.shape} != {y.shape}"
        assert np.array_equal(x, y, equal_nan=True), \
            f"{what}: {k} not bit-identical (max difference {np.nanmax(np.abs(x - y)):.3e})"


def assert_close_outputs(a, b, what, rtol=RTOL):
    """Every dataset equal to rtol * max|b| (per dataset). X_stderr: atol = rtol * max|X| (a
    standard error of nearly identical realisations is a difference of nearly equal numbers);
    likewise error/X (E[X] - X_ref): atol = rtol * max|X| (the one-rank kinetic path rounds
    differently from the distributed one, docs/architecture.md).
    /error/weak_k, weak_omega (the maximising plane wave) only where the weak distance is
    resolved (> 1e-8 of its maximum): at rounding level (t = 0) the argmax is arbitrary."""
    ka, kb = datasets(a), datasets(b)
    assert ka == kb, f"{what}: dataset lists differ: {sorted(set(ka) ^ set(kb))}"
    for k in kb:
        x, y = as_array(a[k]).astype(complex), as_array(b[k]).astype(complex)
        assert x.shape == y.shape, f"{what}: {k} shape {x.shape} != {y.shape}"
        scale = np.nanmax(np.abs(y)) if y.size else 0.0
        if k.endswith("_stderr") and k[:-7] in b:
            scale = max(scale, np.nanmax(np.abs(as_array(b[k[:-7]]))))
        obs = "observables/" + k[len("error/"):]
        if k.startswith("error/") and obs in b:  # E[X] - X_ref: rounding of X, not of the difference
            scale = max(scale, np.nanmax(np.abs(as_array(b[obs]))))
        if k in ("error/weak_k", "error/weak_omega"):
            w = b["error/weak"]
            sel = w > 1e-8 * w.max()
            x, y = np.abs(x[sel]), np.abs(y[sel])  # only |k|, |omega| are meaningful (docs/errors.md)
        nan = np.isnan(y)
        assert np.array_equal(nan, np.isnan(x)), f"{what}: {k}: NaN pattern differs"
        err = np.abs(x[~nan] - y[~nan]).max() if (~nan).any() else 0.0
        tol = rtol * scale + 1e-300
        assert err <= tol, f"{what}: {k} differs by {err:.3e} > {tol:.3e}"


def stepwise(args, out, ck, layouts, max_runs=80):
    """First run plus restarts until exit 0, each stopped at its first check; run i uses
    layouts[i % len(layouts)] = (ranks, ranks_per_realization or None). Returns the number of
    runs. After every stop the output must be OUTPUT (not .part) with status 'checkpointed'."""
    for i in range(max_runs):
        np_, g = layouts[i % len(layouts)]
        a = opts(args, checkpoint_file=ck, **STOP_NOW)
        if i > 0:
            a["restart"] = ck
        if g is not None:
            a["ranks_per_realization"] = g
        res = launch(a, np_, out)
        if res.returncode == 0:
            assert status(out) == "complete"
            assert not Path(str(out) + ".part").exists()
            return i + 1
        assert res.returncode == 75, f"run {i} ({np_} ranks, g={g}): exit {res.returncode}\n{res.stdout}\n{res.stderr}"
        assert out.exists() and not Path(str(out) + ".part").exists(), f"run {i}: output not renamed back"
        assert status(out) == "checkpointed", f"run {i}: status {status(out)!r}"
        assert Path(ck).exists()
    raise AssertionError(f"no completion after {max_runs} runs")


# --------------------------------------------------------------------------------------------
# Stop at every step, restart at the same layout: bit-identical


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    return {
        "exact": run_qrbm(EXACT, np=2, tmp_path=tmp, name="exact.h5"),
        "rb": run_qrbm(opts(RB, ranks_per_realization=1), np=2, tmp_path=tmp, name="rb.h5"),
    }


@pytest.mark.parametrize("case", ["exact", "rb"])
def test_restart_every_step_bit_identical(tmp_path, uninterrupted, case):
    args = EXACT if case == "exact" else RB
    layout = [(2, None)] if case == "exact" else [(2, 1)]
    out = tmp_path / "out.h5"
    n = stepwise(args, out, tmp_path / "ck.h5", layout)
    nsteps = round(args["t_final"] / args["dt"])
    assert n >= nsteps, f"only {n} runs for {nsteps} steps: did every run stop at its first check?"
    d = read_output(out)
    assert d["attrs"]["status"] == "complete"
    assert_identical(d, uninterrupted[case], f"{case}: {n} restarts vs uninterrupted")
    if case == "rb":
        for k in ("rdm/R1", "rdm/R1_batches", "error/trace", "wigner/W_reference", "realizations/x2", "pairings/2"):
            assert k in d, f"{k} missing"


@pytest.mark.parametrize("case", ["exact", "rb"])
def test_restart_every_step_other_layouts(tmp_path, uninterrupted, case):
    """Alternating rank counts and splits between restarts: equal to 1e-12."""
    if case == "exact":
        layouts = [(1, None), (2, None), (4, None)]
    else:
        layouts = [(1, None), (2, 1), (4, 4), (2, 2), (4, 2)]
    out = tmp_path / "out.h5"
    n = stepwise(EXACT if case == "exact" else RB, out, tmp_path / "ck.h5", layouts)
    assert n > len(layouts), f"only {n} runs: not every layout took part"
    d = read_output(out)
    assert_close_outputs(d, uninterrupted[case], f"{case}: restarts over {layouts}")


# --------------------------------------------------------------------------------------------
# -checkpoint_interval and -checkpoint_keep


def ckpt_lines(res):
    return [l for l in res.stdout.splitlines() if l.startswith("checkpoint: ")]


@pytest.mark.parametrize("interval,expect", [("2", 4), ("0.1t", 4), ("1e-6s", 8)])
def test_checkpoint_interval_and_keep(tmp_path, interval, expect):
    """8 steps; checkpoints every 2 steps (4 by interval) or at every check (wall interval of
    1 us: at least 8) plus the final checkpoint of a single trajectory; -checkpoint_keep 3 keeps
    CK, CK.1, CK.2 (newest first) and nothing else."""
    ck = tmp_path / "ck.h5"
    out = tmp_path / "out.h5"
    res = launch(opts(EXACT, checkpoint_file=ck, checkpoint_interval=interval, checkpoint_keep=3), 2, out, quiet=False)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = ckpt_lines(res)
    assert len(lines) >= expect + 1, f"{len(lines)} checkpoints written, want >= {expect} + final:\n{res.stdout}"
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["ck.h5", "ck.h5.1", "ck.h5.2", "out.h5"], files
    steps = [int(ck_items(tmp_path / n)[0, 1]) for n in ("ck.h5", "ck.h5.1", "ck.h5.2")]
    assert steps[0] == 8, f"final checkpoint at step {steps[0]}, want 8"
    assert steps[0] >= steps[1] >= steps[2], f"rotation order: steps {steps}"
    if interval != "1e-6s":
        # the final checkpoint follows the one at step 8 (interval) immediately; the one before is at 6
        assert steps[2] == 6, f"checkpoint steps {steps}"


@pytest.mark.parametrize("extra", [{}, {"rdm_interval": 1}], ids=["plain", "with-rdm"])
def test_restart_from_older_kept_checkpoint(tmp_path, extra):
    """After a completed run, -restart from the oldest kept checkpoint (CK.2, step 6) cuts the
    output back to that step and recomputes the tail: the result equals the uninterrupted run
    bit for bit (with R_1 records the end-of-run /rdm spectra and /wigner are rewritten)."""
    args = opts(EXACT, **extra)
    ref = run_qrbm(args, np=2, tmp_path=tmp_path, name="ref.h5")
    ck = tmp_path / "ck.h5"
    out = tmp_path / "out.h5"
    res = launch(opts(args, checkpoint_file=ck, checkpoint_interval=2, checkpoint_keep=3), 2, out)
    assert res.returncode == 0, res.stderr
    old = Path(str(ck) + ".2")
    assert ck_items(old)[0, 1] == 6
    res = launch(opts(args, restart=old), 2, out)
    assert res.returncode == 0, f"restart from {old.name} failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}"
    d = read_output(out)
    assert d["attrs"]["status"] == "complete"
    assert_identical(d, ref, f"restart from {old.name} of a completed run vs uninterrupted")


def test_checkpoint_keep_default_is_two(tmp_path):
    ck = tmp_path / "ck.h5"
    res = launch(opts(EXACT, checkpoint_file=ck, checkpoint_interval=1), 1, tmp_path / "out.h5")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.h5", "ck.h5.1", "out.h5"]


def test_ensemble_interval_checkpoints_and_no_final(tmp_path):
    """An ensemble checkpoints by interval but writes no final checkpoint; the intermediate one
    restarts (from the middle of the ensemble) to the uninterrupted result."""
    args = opts(RB, reference=False, rdm_interval=False, rdm_batches=False, realizations=2)
    ref = run_qrbm(args, np=1, tmp_path=tmp_path, name="ref.h5")
    ck = tmp_path / "ck.h5"
    out = tmp_path / "out.h5"
    res = launch(opts(args, checkpoint_file=ck, checkpoint_interval=3), 1, out, quiet=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(ckpt_lines(res)) >= 2, res.stdout
    items = ck_items(ck)
    assert items.shape[0] >= 1 and items[0, 1] < 4, f"last checkpoint holds {items}: not a mid-run state"
    res = launch(opts(args, restart=ck), 1, out)
    assert res.returncode == 0, res.stderr
    assert_identical(read_output(out), ref, "restart from an interval checkpoint")


# --------------------------------------------------------------------------------------------
# kill -9 inside a checkpoint write


def descendants(pid):
    """Pids of all descendants of pid (from /proc/*/stat parent links)."""
    children = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def qrbm_ranks(proc):
    return [p for p in descendants(proc.pid) if _exe_is_qrbm(p)]


def _exe_is_qrbm(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "qrbm"
    except OSError:
        return False


def wait_for(cond, timeout, what):
    t0 = time.time()
    while not cond():
        if time.time() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def start_background(args, np_, out, log, quiet=True, env=None):
    cmd = qrbm_command(args, np=np_, output=out, quiet=quiet)
    fh = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env or fast_env(), start_new_session=True)
    proc.log = fh
    return proc


def test_kill9_during_checkpoint_write(tmp_path, uninterrupted):
    ck = tmp_path / "ck.h5"
    tmp = Path(str(ck) + ".tmp")
    out = tmp_path / "out.h5"
    proc = start_background(opts(EXACT, checkpoint_file=ck, checkpoint_interval=2, checkpoint_test_delay=3), 2, out,
                            tmp_path / "log")
    try:
        # the first write (step 2) completes after 3 s; the second (step 4) is then in progress
        wait_for(lambda: ck.exists() and tmp.exists() or proc.poll() is not None, 60, "the second checkpoint write")
        assert proc.poll() is None, "run ended before the second checkpoint write"
        victims = qrbm_ranks(proc)
        os.killpg(proc.pid, signal.SIGKILL)  # mpirun's own session (start_new_session)
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=30)
        wait_for(lambda: not any(os.path.exists(f"/proc/{p}") and _exe_is_qrbm(p) for p in victims), 30, "the ranks to die")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.log.close()
    assert proc.returncode == -signal.SIGKILL
    # the previous checkpoint is intact: a complete HDF5 file at step 2
    with h5py.File(ck, "r") as f:
        assert f.attrs["checkpoint_format"] == 3
        items = f["items_k"][()].reshape(-1, 3)
        assert f["items_psi"].shape[0] == 1 and "slots_mean" in f
    assert items[:, :2].tolist() == [[0, 2]], f"previous checkpoint holds items {items.tolist()}"
    assert Path(str(out) + ".part").exists(), "the killed run's output should still be OUTPUT.part"
    res = launch(opts(EXACT, restart=ck), 2, out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert_identical(read_output(out), uninterrupted["exact"], "restart from the checkpoint before kill -9")


# --------------------------------------------------------------------------------------------
# Signals

# 5000 steps of 0.3-1 ms (2 ranks): even on an idle machine more than a second of stepping remains
# after the first progress line (step 50), which SIGTERM to mpirun needs (see below).
LONG = {
    "dim": 1, "particles": 3, "grid": 32, "box": 16, "t_final": 5.0, "dt": 0.001,
    "potential_strength": 2, "init": "symmetrized", "init_q": [-3, 0, 3], "init_p": [0.5, -0.3, 0.2],
    "output_interval": 100, "progress_interval": 50,
}


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory):
    return run_qrbm(LONG, np=2, tmp_path=tmp_path_factory.mktemp("long"), name="long.h5")


@pytest.mark.parametrize("sig,target", [("SIGUSR1", "mpirun"), ("SIGTERM", "ranks"), ("SIGTERM", "mpirun")])
def test_signal_stops_with_checkpoint(tmp_path, long_reference, sig, target):
    ck = tmp_path / "ck.h5"
    out = tmp_path / "out.h5"
    log = tmp_path / "log"
    # SIGTERM to mpirun (Open MPI 4.1, measured): mpirun does not forward it but kills the job; the
    # ranks receive SIGTERM about odls_base_sigkill_timeout (default 1 s) later and SIGKILL another
    # timeout after that. The default leaves them a second to write the checkpoint (milliseconds
    # here); a longer timeout only delays the SIGTERM (with 3 s the run had already finished).
    term_mpirun = (sig, target) == ("SIGTERM", "mpirun")
    env = mpi_env() if term_mpirun else None
    # that delay must not outlast the run on a fast machine: 20 times longer (~20 s unstopped)
    args = opts(LONG, checkpoint_file=ck, t_final=LONG["t_final"] * (20 if term_mpirun else 1))
    proc = start_background(args, 2, out, log, quiet=False, env=env)
    try:
        wait_for(lambda: "step " in log.read_text() or proc.poll() is not None, 60, "the first progress line")
        assert proc.poll() is None, "run ended before the signal\n" + log.read_text()
        t0 = time.time()
        if target == "mpirun":
            os.kill(proc.pid, getattr(signal, sig))
        else:  # as a batch system does: every task of the job
            ranks = qrbm_ranks(proc)
            assert len(ranks) == 2, f"rank processes {ranks}"
            for p in ranks:
                os.kill(p, getattr(signal, sig))
        rc = proc.wait(timeout=60)
        elapsed = time.time() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.log.close()
    text = log.read_text()
    # Open MPI's mpirun answers SIGTERM itself: it signals the ranks and exits 1 (man mpirun)
    want = (1, 75) if (sig, target) == ("SIGTERM", "mpirun") else (75,)
    assert rc in want, f"exit code {rc}, want {want}\n{text}"
    assert "stopping with exit code 75" in text, text
    # a step takes ~1 ms; the rest is mpirun's teardown and, for SIGTERM to mpirun, its 1 s delay
    assert elapsed < 10, f"stop took {elapsed:.1f} s"
    items = ck_items(ck)
    nsteps = round(args["t_final"] / args["dt"])
    assert items.shape == (1, 3) and 0 < items[0, 1] < nsteps, f"checkpoint items {items.tolist()}"
    assert status(out) == "checkpointed"
    assert not Path(str(out) + ".part").exists()
    if term_mpirun:  # the longer input has no uninterrupted reference; the other cases check that
        return
    res = launch(opts(LONG, checkpoint_file=ck, restart=ck), 2, out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert_identical(read_output(out), long_reference, f"{sig} to {target}: restart vs uninterrupted")


def test_stop_without_checkpoint_file_goes_to_output_ckpt(tmp_path, uninterrupted):
    out = tmp_path / "out.h5"
    res = launch(opts(EXACT, **STOP_NOW), 2, out)
    assert res.returncode == 75, res.stdout + res.stderr
    ck = tmp_path / "out.h5.ckpt"
    assert ck.exists(), sorted(p.name for p in tmp_path.iterdir())
    assert status(out) == "checkpointed"
    res = launch(opts(EXACT, restart=ck), 2, out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert_identical(read_output(out), uninterrupted["exact"], "restart from OUTPUT.ckpt")


# --------------------------------------------------------------------------------------------
# -t_final extension


@pytest.mark.parametrize("t1,extra", [(0.4, {}), (0.35, {}), (0.4, {"rdm_interval": 1})],
                         ids=["on-output-time", "off-output-time", "with-rdm"])
def test_t_final_extension(tmp_path, t1, extra):
    """Run to t1 with -checkpoint_file (final checkpoint), then -restart with -t_final 0.8,
    against a run straight to 0.8.
    * t1 on the output grid: the output times coincide, the state at t1 was completed in both runs
      (an output time ends the merged-kinetic chain): bit-identical.
    * t1 = 0.35 (step 7) between output times: the extended run has the extra time 0.35 (kept
      from the first run), and at step 7 its chain was closed while the direct run merged the
      kinetic half-steps of steps 7 and 8: bit-identical before t1, equal to 1e-12 after it
      (measured differences ~1e-15: rounding of the other operation order).
    * with R_1 records (-rdm_interval): the end-of-run /rdm spectra and /wigner must be rewritten
      for all times."""
    base = opts(EXACT, **extra)
    direct = run_qrbm(opts(base, t_final=0.8), np=2, tmp_path=tmp_path, name="direct.h5")
    ck = tmp_path / "ck.h5"
    out = tmp_path / "out.h5"
    res = launch(opts(base, t_final=t1, checkpoint_file=ck), 2, out)
    assert res.returncode == 0, res.stderr
    assert ck_items(ck)[0, 1] == round(t1 / 0.05)
    res = launch(opts(base, t_final=0.8, checkpoint_file=ck, restart=ck), 2, out)
    assert res.returncode == 0, f"extension failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}"
    d = read_output(out)
    assert d["attrs"]["status"] == "complete"
    assert ck_items(ck)[0, 1] == 16, "final checkpoint of the extended run"
    if t1 == 0.4:
        assert_identical(d, direct, "extension vs direct run")
        return
    t = d["observables/time"]
    assert np.allclose(t, [0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8]), t
    common = np.isin(np.round(t, 9), np.round(direct["observables/time"], 9))
    before = direct["observables/time"] < t1
    for k in datasets(direct):
        if k.startswith(("observables/", "density/rho")):
            x, y = d[k][common], direct[k]
            # up to t1 the same computation (the first run's rows): bit-identical
            assert np.array_equal(x[before], y[before]), f"{k}: rows before t1 differ"
            # after t1 rounding differences (measured ~1e-15)
            tol = RTOL * max(np.abs(y).max(), 1e-300)
            assert np.abs(x - y).max() <= tol, f"{k}: {np.abs(x - y).max():.3e} > {tol:.3e}"


# --------------------------------------------------------------------------------------------
# Rejected inputs


def stopped_runs(tmp):
    """Checkpoints of a stopped exact run and of a stopped RB ensemble (2 ranks), with outputs, in
    the directory tmp: the bases of the rejected restart cases in tests/test_bad_inputs.py."""
    res = {}
    rb = opts(RB, reference=False, rdm_interval=False, rdm_batches=False, save_realizations=False, record_pairings=False)
    for name, args in (("exact", EXACT), ("rb", rb), ("exact_rdm", opts(EXACT, rdm_interval=1)),
                       ("rb_rdm", opts(rb, rdm_interval=1, rdm_batches=2))):
        out, ck = tmp / f"{name}.h5", tmp / f"{name}.ck"
        r = launch(opts(args, checkpoint_file=ck, **STOP_NOW), 2, out)
        assert r.returncode == 75, r.stdout + r.stderr
        res[name] = (args, out, ck)
    return res


