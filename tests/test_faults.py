"""Fault injection: restart and output never lose, mislabel or hang (issue 9).

Every case runs bin/qrbm under mpirun at 1, 2 or 3 ranks in a fresh directory and asserts
  * the exact exit code (0, 1 or 75) and that it came within the per-case timeout (a hang fails
    the case after TIMEOUT seconds instead of stalling CI),
  * the message: "qrbm: ERROR: ..." exactly once, naming the file and the cause,
  * that every file that existed before the run is byte-identical afterwards (unless the case says
    which file the run owns and may change).
Failures on one rank are injected with QRBM_TEST_FAULT=PHASE@RANK (src/agree.c): the rank fails
phase PHASE without running it, so the other ranks are left inside its collective calls, the
worst case; PHASE@RANK+ fails it after running it. At 3 ranks with -grid 4 (two particles) the
slabs hold 2, 2 and 0 rows: rank 1 is a middle rank, rank 2 holds no rows. A full disk is a real
size-limited tmpfs (mounting needs root, as in CI: the suite fails, never skips, without it).
"""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import QRBM, mpi_env

TIMEOUT = 30  # seconds per run: a failing run must end within seconds, never hang
FAILURE_TIMEOUT = "3"  # QRBM_FAILURE_TIMEOUT: how long a failed rank waits for the others
BASE = ["-particles", "2", "-grid", "4", "-box", "4", "-t_final", "0.06", "-dt", "0.01", "-quiet", "-fftw_planner", "estimate"]


def run(args, np_=2, cwd=None, env=None, timeout=TIMEOUT, base=BASE):
    e = mpi_env()
    e["QRBM_FAILURE_TIMEOUT"] = FAILURE_TIMEOUT
    e.pop("QRBM_TEST_FAULT", None)
    e.update(env or {})
    cmd = ["mpirun", "--oversubscribe", "-np", str(np_), str(QRBM)] + base + [str(a) for a in args]
    t0 = time.monotonic()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"hang: no exit within {timeout} s: {' '.join(cmd)}") from exc
    res.seconds = time.monotonic() - t0
    res.text = res.stdout + res.stderr
    return res


def snapshot(d):
    return {p: p.read_bytes() for p in Path(d).rglob("*") if p.is_file()}


def assert_unchanged(before, owned=()):
    for p, data in before.items():
        if p in owned:
            continue
        assert p.exists(), f"{p} existed before the run and is gone"
        assert p.read_bytes() == data, f"{p} existed before the run and was changed"


def assert_failed(res, *needles):
    assert res.returncode == 1, f"exit {res.returncode}, expected 1:\n{res.text}"
    assert res.text.count("qrbm: ERROR:") == 1, f"expected exactly one error message:\n{res.text}"
    assert "Caught signal" not in res.text and "buffer overflow" not in res.text, res.text
    for n in needles:
        assert n in res.text, f"message lacks {n!r}:\n{res.text}"


def status(path):
    with h5py.File(path, "r") as f:
        return f.attrs["status"].decode()


# ---------------------------------------------------------------- injected faults on one rank

# (phase text of src/*.c, extra options): every collective phase a run goes through
PHASES = {
    "create": ("creating the output", []),
    "append": ("appending to the output", ["-output_interval", "1"]),
    "flush": ("flushing the output", ["-output_interval", "1"]),
    "ckpt_write": ("writing the checkpoint", ["-checkpoint_file", "ck.h5", "-checkpoint_interval", "2"]),
    "ckpt_dataset": ("writing a checkpoint dataset", ["-checkpoint_file", "ck.h5", "-checkpoint_interval", "2"]),
    "ckpt_rotate": ("rotating the checkpoints", ["-checkpoint_file", "ck.h5", "-checkpoint_interval", "2"]),
    "close": ("closing the output", []),
    "rename": ("renaming the output", []),
}


# every phase at 3 ranks on the middle rank (skipped) and on the rank without rows (after), the
# append also at 1 and 2 ranks
FAULTS = [(ph, 3, 1, "") for ph in PHASES] + [(ph, 3, 2, "+") for ph in PHASES] + [("append", 1, 0, "+"), ("append", 2, 1, ""), ("ckpt_write", 2, 0, "")]


@pytest.mark.parametrize("phase,np_,rank,mode", FAULTS, ids=[f"{p}-np{n}-rank{r}{'-after' if m else ''}" for p, n, r, m in FAULTS])
def test_injected_fault_ends_every_rank(tmp_path, phase, np_, rank, mode):
    text, extra = PHASES[phase]
    keep = tmp_path / "keep.txt"
    keep.write_text("a file of the user\n")
    before = snapshot(tmp_path)
    res = run(["-output", "out.h5"] + extra, np_, cwd=tmp_path, env={"QRBM_TEST_FAULT": f"{text}@{rank}{mode}"})
    assert_failed(res, f'QRBM_TEST_FAULT: injected failure of "{text}', f"on rank {rank}")
    assert res.seconds < TIMEOUT - 5
    assert_unchanged(before)
    if phase != "rename":  # (rank 0 renames: a failure elsewhere can come after the rename)
        assert not (tmp_path / "out.h5").exists(), "a failed run must not leave a complete-looking output"
    part = tmp_path / "out.h5.part"
    if (tmp_path / "ck.h5").exists():  # a checkpoint exists: the output is kept for a restart
        assert part.exists() or phase == "rename"
    elif not (tmp_path / "ck.h5.tmp").exists():  # a fresh run's FILE.part is removed, also when a rank had to end the job
        assert not part.exists(), "FILE.part left without a checkpoint:\n" + res.text
    assert not list(tmp_path.glob("*.lock")), "locks are released"


def test_failure_after_checkpoint_keeps_part(tmp_path):
    """Class 4: a run that fails after writing a checkpoint keeps FILE.part (status
    checkpointed), and a restart from the checkpoint completes it."""
    ck = ["-checkpoint_file", "ck.h5", "-checkpoint_interval", "2", "-output_interval", "1"]
    res = run(["-output", "out.h5"] + ck, 2, cwd=tmp_path, env={"QRBM_TEST_FAULT": "finishing a realisation@1"})
    assert_failed(res, 'injected failure of "finishing a realisation"')
    part = tmp_path / "out.h5.part"
    assert part.exists() and (tmp_path / "ck.h5").exists()
    assert status(part) == "checkpointed"
    res = run(["-output", "out.h5", "-restart", "ck.h5"] + ck, 2, cwd=tmp_path)
    assert res.returncode == 0, res.text
    assert status(tmp_path / "out.h5") == "complete"


# ---------------------------------------------------------------- a full disk (real tmpfs)

@pytest.fixture
def full_disk(tmp_path):
    """A 4 MiB tmpfs: writes beyond it fail with ENOSPC."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"cannot mount a size-limited tmpfs for the disk-full cases (needs root, as in CI): {res.stderr}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(mnt, leave):
    """A file of the user that leaves about `leave` bytes free."""
    st = os.statvfs(mnt)
    (mnt / "filler").write_bytes(b"u" * (st.f_bavail * st.f_frsize - leave))


# 2 particles on 128 points: a state is 256 KiB, an output row about 4 KiB
BIG = ["-particles", "2", "-grid", "128", "-box", "16", "-t_final", "0.3", "-dt", "0.01", "-quiet", "-fftw_planner", "estimate"]


@pytest.mark.parametrize("np_", [1, 2, 3])
def test_disk_full_during_checkpoint(full_disk, np_):
    fill(full_disk, 700 * 1024)  # the output and one or two checkpoints fit, not three
    before = snapshot(full_disk)
    res = run(["-output", "out.h5", "-output_interval", "1", "-checkpoint_file", "ck.h5", "-checkpoint_interval", "3", "-checkpoint_keep", "3"], np_, cwd=full_disk, base=BIG)
    assert_failed(res, "ck.h5.tmp", "No space left on device")
    assert_unchanged(before)
    ck = full_disk / "ck.h5"
    if ck.exists():  # an earlier checkpoint fitted: it is intact and the output is kept
        with h5py.File(ck, "r") as f:
            assert "items_psi" in f
        assert status(full_disk / "out.h5.part") == "checkpointed"


def test_disk_full_at_lock_leaves_no_lock(full_disk):
    """The lock file is the first file a run creates: when the disk is full it is refused with the
    cause and the empty lock it created is removed (a rerun must not find a stale lock)."""
    fill(full_disk, 1024)
    before = snapshot(full_disk)
    res = run(["-output", "out.h5"], 3, cwd=full_disk)
    assert_failed(res, "cannot write the lock file", "out.h5.lock: No space left on device")
    assert_unchanged(before)
    assert set(snapshot(full_disk)) == set(before), "no file is left behind"


@pytest.mark.parametrize("np_", [1, 2, 3])
def test_disk_full_during_append(full_disk, np_):
    fill(full_disk, 120 * 1024)
    before = snapshot(full_disk)
    res = run(["-output", "out.h5", "-output_interval", "1"], np_, cwd=full_disk, base=BIG)
    assert_failed(res, "out.h5.part", "No space left on device")
    assert_unchanged(before)
    assert not (full_disk / "out.h5").exists() and not (full_disk / "out.h5.part").exists(), "no checkpoint: the partial output is removed"
    assert not (full_disk / "out.h5.lock").exists(), "the lock is released"


# ---------------------------------------------------------------- paths, checked at start-up

def test_refused_restart_leaves_other_output_untouched(tmp_path):
    """Class 1: restarting with the -output of another run must not delete or change it."""
    assert run(["-output_interval", "1", "-output", "a.h5", "-checkpoint_file", "a.ck"], cwd=tmp_path).returncode == 0
    assert run(["-output", "b.h5"], cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path)
    res = run(["-output_interval", "1", "-output", "b.h5", "-checkpoint_file", "a.ck", "-restart", "a.ck"], cwd=tmp_path)
    assert_failed(res, "b.h5")
    assert_unchanged(before)


@pytest.mark.parametrize("args,needle", [
    (["-output", "x.h5", "-checkpoint_file", "x.h5"], "-output and -checkpoint_file name the same file"),
    (["-output", "x.h5", "-checkpoint_file", "x.h5.part"], "-output (OUTPUT.part) and -checkpoint_file name the same file"),
    (["-output", "x.h5", "-checkpoint_file", "c.h5", "-checkpoint_keep", "2", "-log_view", ":c.h5.1"], "name the same file"),
    (["-output", "c.h5", "-restart", "c.h5"], "-output and -restart name the same file"),
    (["-output", "x.h5", "-log_view", ":x.h5"], "-output and -log_view name the same file"),
    (["-output", "nodir/x.h5"], "-output nodir/x.h5: directory nodir: No such file or directory"),
    (["-output", "y.h5", "-log_view", ":."], "-log_view .: exists and is not a writable regular file"),
], ids=["ckpt_is_output", "ckpt_is_part", "logview_is_rotated_ckpt", "restart_is_output", "logview_is_output", "missing_dir", "logview_is_directory"])
def test_paths_refused_at_startup(tmp_path, args, needle):
    (tmp_path / "c.h5").write_bytes(b"not a checkpoint")
    (tmp_path / "x.h5").write_bytes(b"some file")
    before = snapshot(tmp_path)
    res = run(args, 2, cwd=tmp_path)
    assert_failed(res, needle)
    assert_unchanged(before)
    assert set(snapshot(tmp_path)) == set(before), "a refused run creates no file"


def test_readonly_checkpoint_dir_refused_at_startup(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        # as root, access() ignores the mode bits: use a read-only bind mount instead
        ok = subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], capture_output=True).returncode == 0
        if not ok:
            pytest.fail("cannot create a read-only bind mount (needs root, as in CI)")
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True)
        res = run(["-output", "out.h5", "-checkpoint_file", str(ro / "ck.h5"), "-checkpoint_interval", "2"], 2, cwd=tmp_path)
        assert_failed(res, f"-checkpoint_file {ro}/ck.h5: directory {ro} is not writable")
        assert res.seconds < 15, "refused at start-up, not at the first checkpoint"
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


def test_long_output_name_refused_not_crashing(tmp_path):
    d = tmp_path / ("d" * 120) / ("e" * 100)
    d.mkdir(parents=True)
    res = run(["-output", str(d / "out.h5")], 2, cwd=tmp_path)
    assert_failed(res, "Open MPI 4.1's MPI-IO (OMPIO) crashes on names longer than 240", "OMPI_MCA_io=romio321")
    res = run(["-output", str(d / "out.h5")], 2, cwd=tmp_path, env={"OMPI_MCA_io": "romio321"})
    assert res.returncode == 0, res.text
    assert status(d / "out.h5") == "complete"


def test_unwritable_log_view_refused_at_startup(tmp_path):
    res = run(["-output", "out.h5", "-log_view", ":nodir/log.txt"], 2, cwd=tmp_path)
    assert_failed(res, "-log_view nodir/log.txt: directory nodir")


def test_recursive_options_file(tmp_path):
    (tmp_path / "a.opts").write_text("-grid 4\n-options_file b.opts\n")
    (tmp_path / "b.opts").write_text("-options_file a.opts\n")
    res = run(["-options_file", "a.opts", "-output", "out.h5"], 2, cwd=tmp_path)
    assert res.returncode == 1, res.text
    assert res.text.count("qrbm: ERROR:") == 1 and "includes itself" in res.text and "a.opts" in res.text, res.text
    assert "Caught signal" not in res.text


# ---------------------------------------------------------------- backups and locks

def test_same_command_twice_moves_output_aside(tmp_path):
    args = ["-output", "out.h5"]
    assert run(args, 2, cwd=tmp_path).returncode == 0
    first = (tmp_path / "out.h5").read_bytes()
    res = run(args, 2, cwd=tmp_path)
    assert res.returncode == 0, res.text
    assert "out.h5 existed: moved it aside to out.h5.~1~" in res.text, res.text
    assert (tmp_path / "out.h5.~1~").read_bytes() == first
    assert status(tmp_path / "out.h5") == "complete"


def test_backups_never_deleted(tmp_path):
    for k in range(1, 10):
        (tmp_path / f"out.h5.~{k}~").write_text(str(k))
    (tmp_path / "out.h5").write_text("old")
    before = snapshot(tmp_path)
    res = run(["-output", "out.h5"], 2, cwd=tmp_path)
    assert_failed(res, "out.h5 exists and so do its 9 backups")
    assert_unchanged(before)


def lock_text(host, pid, job="123", start="2026-01-01T00:00:00+0000"):
    return f"host={host}\npid={pid}\nslurm_job={job}\nstart={start}\n"


def test_concurrent_run_refused(tmp_path):
    long = ["-output", "out.h5", "-t_final", "6000", "-checkpoint_file", "ck.h5"]  # runs until killed
    env = mpi_env()
    env["QRBM_FAILURE_TIMEOUT"] = FAILURE_TIMEOUT
    first = subprocess.Popen(["mpirun", "--oversubscribe", "-np", "1", str(QRBM)] + BASE + long, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (tmp_path / "out.h5.part").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "out.h5.part").exists(), "the first run did not start"
        before = snapshot(tmp_path)
        res = run(["-output", "out.h5", "-checkpoint_file", "ck2.h5"], 2, cwd=tmp_path)
        assert_failed(res, "-output out.h5 is in use by another qrbm run", f"on this host {socket.gethostname()}", "out.h5.lock")
        for p in before:  # the first run's lock is untouched
            if p.suffix == ".lock":
                assert p.read_bytes() == before[p]
        res = run(["-output", "other.h5", "-checkpoint_file", "ck.h5"], 2, cwd=tmp_path)
        assert_failed(res, "-checkpoint_file ck.h5 is in use by another qrbm run")
    finally:
        os.killpg(first.pid, 9)
        first.wait()


def test_stale_lock_same_host_taken_over(tmp_path):
    (tmp_path / "out.h5.lock").write_text(lock_text(socket.gethostname(), 2 ** 22 + 7))
    res = run(["-output", "out.h5"], 2, cwd=tmp_path)
    assert res.returncode == 0, res.text
    assert "taking over the stale lock" in res.text and "that process is gone" in res.text, res.text
    assert not (tmp_path / "out.h5.lock").exists(), "the lock is released at the end"


def test_lock_of_other_host_refused_then_taken_over(tmp_path):
    lock = tmp_path / "out.h5.lock"
    lock.write_text(lock_text("node-elsewhere", 4242, "777"))
    before = snapshot(tmp_path)
    res = run(["-output", "out.h5"], 2, cwd=tmp_path)
    assert_failed(res, "locked by a run on another host: pid 4242 on host node-elsewhere, SLURM job 777", "-lock_takeover")
    assert_unchanged(before)
    res = run(["-output", "out.h5", "-lock_takeover"], 2, cwd=tmp_path)
    assert res.returncode == 0, res.text
    assert "-lock_takeover given" in res.text


# ---------------------------------------------------------------- counts and non-finite numbers

@pytest.mark.parametrize("args,needle", [
    (["-grid", "99999999999999999999"], "option -grid 99999999999999999999: out of the range of PETSc's integers"),
    (["-output_interval", "99999999999999999999"], "option -output_interval 99999999999999999999: the value given cannot be read"),
    (["-t_final", "3", "-dt", "1e-17"], "at most 9007199254740992 steps are supported"),
    (["-t_final", "3", "-dt", "1e-9", "-output_interval", "1"], "-output_interval 1: 3000000001 output times of 3000000000 steps exceed PETSc's integers"),
    (["-rb_dt", "1e300", "-method", "rbm"], "-rb_dt 1e+300: 1e+302 steps of -dt 0.01 exceed the 9007199254740992 steps a run may have"),
    (["-ground_dtau", "inf", "-init", "ground"], "must be finite and >= 0 (0 = dt)"),
    (["-checkpoint_file", "ck.h5", "-checkpoint_keep", "2147483647"], "-checkpoint_keep 2147483647: valid range is 1..32"),
    (["-checkpoint_file", "ck.h5", "-checkpoint_interval", "1e17"], "-checkpoint_interval 1e17: 1e+17 steps exceed the 9007199254740992 steps a run may have"),
], ids=["grid_overflow", "interval_overflow", "too_many_steps", "too_many_output_times", "rb_dt_overflow", "ground_dtau_inf", "checkpoint_keep_huge", "checkpoint_interval_overflow"])
def test_counts_refused(tmp_path, args, needle):
    res = run(["-output", "out.h5"] + args, 2, cwd=tmp_path)
    assert_failed(res, needle)
    assert not list(tmp_path.iterdir()), "a refused run creates no file"


def test_steps_beyond_32_bits(tmp_path):
    """1e12 steps (far beyond PETSc's 32-bit integers): the run starts, stops at -max_walltime with
    a checkpoint at a 64-bit step count, and the restart validates and continues it."""
    args = ["-output", "out.h5", "-t_final", "1e10", "-dt", "0.01", "-output_interval", "100000000000", "-checkpoint_file", "ck.h5", "-checkpoint_interval", "3000000000", "-max_walltime", "2"]
    res = run(args, 2, cwd=tmp_path)
    assert res.returncode == 75, res.text
    with h5py.File(tmp_path / "ck.h5", "r") as f:
        assert f.attrs["nsteps"] == 10 ** 12 and f["tsteps"][()].tolist() == [k * 10 ** 11 for k in range(11)]
    with h5py.File(tmp_path / "out.h5", "r") as f:
        assert f.attrs["nsteps"] == 10 ** 12 and f.attrs["output_interval"] == 10 ** 11
    res = run(args + ["-restart", "ck.h5"], 2, cwd=tmp_path)
    assert res.returncode == 75, res.text


def test_largest_output_interval(tmp_path):
    """-output_interval 2147483647: output times 0 and the final step (no overflow)."""
    res = run(["-output", "out.h5", "-output_interval", "2147483647"], 2, cwd=tmp_path)
    assert res.returncode == 0, res.text
    with h5py.File(tmp_path / "out.h5", "r") as f:
        assert f["observables/step"][()].tolist() == [0, 6]


@pytest.mark.parametrize("np_", [1, 3])
def test_non_finite_stops_the_run(tmp_path, np_):
    """Class 8: a trap so strong that U overflows gives NaN: exit 1 at the first output time."""
    res = run(["-output", "out.h5", "-trap_omega", "1e200"], np_, cwd=tmp_path)
    assert_failed(res, "non-finite result at step 6 (t = 0.06, realisation 0): norm nan", "Likely cause")
    assert not (tmp_path / "out.h5").exists() and not (tmp_path / "out.h5.part").exists()


# ---------------------------------------------------------------- identity, integrity, fallback

CK = ["-output_interval", "1", "-checkpoint_file", "ck.h5", "-checkpoint_interval", "2"]


def flip(name, index=0):
    def corrupt(ck):
        with h5py.File(ck, "r+") as f:
            d = f[name]
            v = d[()]
            flat = v.reshape(-1)
            if v.dtype.names:  # complex compound
                flat[index] = (flat[index][0] + 1e-3, flat[index][1])
            else:
                flat[index] = flat[index] + 1 if v.dtype.kind in "iu" else flat[index] * 1.5 + 1
            d[...] = v
    return corrupt


def zero_block(ck):
    with h5py.File(ck, "r+") as f:
        v = f["items_psi"][()]
        v.reshape(-1)[: v.size // 2] = np.zeros((), v.dtype)
        f["items_psi"][...] = v


def nan_state(ck):
    with h5py.File(ck, "r+") as f:
        v = f["items_psi"][()]
        v.reshape(-1)[3] = complex(np.nan, 0.0)
        f["items_psi"][...] = v


def reshape_1d(ck):
    with h5py.File(ck, "r+") as f:
        v, s = f["items_psi"][()], f["items_psi"].attrs["checksum"]
        del f["items_psi"]
        f["items_psi"] = v.reshape(-1)
        f["items_psi"].attrs["checksum"] = s


def reverse_tsteps(ck):
    with h5py.File(ck, "r+") as f:
        f["tsteps"][...] = f["tsteps"][()][::-1]


def header(ck):
    with h5py.File(ck, "r+") as f:
        f.attrs.modify("rows_written", np.int64(1))


CORRUPTIONS = {
    "psi_flip": (flip("items_psi", 5), "dataset /items_psi does not match its checksum"),
    "psi_zeroed": (zero_block, "dataset /items_psi does not match its checksum"),
    "psi_nan": (nan_state, "dataset /items_psi does not match its checksum"),
    "psi_1d": (reshape_1d, "dataset /items_psi has shape"),
    "items_k_step": (flip("items_k", 1), "dataset /items_k does not match its checksum"),
    "tsteps_reversed": (reverse_tsteps, "dataset /tsteps does not match its checksum"),
    "rows": (flip("items_rows", 7), "dataset /items_rows does not match its checksum"),
    "slots": (flip("slots_mean", 3), "dataset /slots_mean does not match its checksum"),
    "header": (header, "the root attributes (checkpoint_format, ...) do not match their checksum"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corrupt_checkpoint_refused(tmp_path, case):
    """Class 5: a corrupted checkpoint (only one kept) is refused; no file changes."""
    corrupt, needle = CORRUPTIONS[case]
    np_ = {"psi_flip": 3, "psi_zeroed": 1}.get(case, 2)
    res = run(["-output", "out.h5"] + CK + ["-checkpoint_keep", "1"], 2, cwd=tmp_path, env={"QRBM_TEST_FAULT": "checking the norm and energy@1+#5"})
    assert_failed(res, 'injected failure of "checking the norm and energy')
    corrupt(tmp_path / "ck.h5")
    before = snapshot(tmp_path)
    res = run(["-output", "out.h5", "-restart", "ck.h5"] + CK + ["-checkpoint_keep", "1"], np_, cwd=tmp_path)
    assert_failed(res, "-restart ck.h5: " + needle)
    assert_unchanged(before)


def test_corrupt_newest_falls_back_to_previous(tmp_path):
    """The newest checkpoint fails its checks: reported, FILE.1 is used, the run completes and
    equals an uninterrupted run to rounding (elastic: 2 ranks -> 3)."""
    ref = run(["-output", "ref.h5", "-output_interval", "1"], 2, cwd=tmp_path)
    assert ref.returncode == 0, ref.text
    res = run(["-output", "out.h5"] + CK, 2, cwd=tmp_path, env={"QRBM_TEST_FAULT": "checking the norm and energy@1+#5"})
    assert_failed(res, "injected failure")
    assert (tmp_path / "ck.h5.1").exists()
    flip("items_psi", 2)(tmp_path / "ck.h5")
    res = run(["-output", "out.h5", "-restart", "ck.h5"] + CK, 3, cwd=tmp_path)
    assert res.returncode == 0, res.text
    assert "the newest checkpoint failed its checks" in res.text and "dataset /items_psi does not match its checksum" in res.text, res.text
    assert "trying the previous checkpoint ck.h5.1" in res.text
    with h5py.File(tmp_path / "out.h5", "r") as a, h5py.File(tmp_path / "ref.h5", "r") as b:
        assert a.attrs["status"].decode() == "complete"
        np.testing.assert_allclose(a["observables/x2"][()], b["observables/x2"][()], rtol=1e-12)


def test_unreadable_newest_falls_back_to_previous(tmp_path):
    """A newest checkpoint cut short (not even HDF5 any more) is reported and FILE.1 is used."""
    res = run(["-output", "out.h5"] + CK, 2, cwd=tmp_path, env={"QRBM_TEST_FAULT": "checking the norm and energy@1+#5"})
    assert_failed(res, "injected failure")
    ck = tmp_path / "ck.h5"
    ck.write_bytes(ck.read_bytes()[:1000])
    res = run(["-output", "out.h5", "-restart", "ck.h5"] + CK, 2, cwd=tmp_path)
    assert res.returncode == 0, res.text
    assert "the newest checkpoint failed its checks" in res.text and "cannot open as HDF5" in res.text, res.text
    assert status(tmp_path / "out.h5") == "complete"


def test_crossed_runs_of_identical_physics_refused(tmp_path):
    """Class 2: two runs of identical physics; restarting run A's checkpoint with run B's output
    is refused naming both run ids, and B's output stays byte-identical."""
    for name in ("a", "b"):
        res = run(["-output", f"{name}.h5", "-output_interval", "1", "-checkpoint_file", f"{name}.ck", "-checkpoint_interval", "2"], 2, cwd=tmp_path,
                  env={"QRBM_TEST_FAULT": "checking the norm and energy@1+#5"})
        assert_failed(res, "injected failure")
    with h5py.File(tmp_path / "a.h5.part", "r") as f:
        id_a = f.attrs["run_id"].decode()
    with h5py.File(tmp_path / "b.h5.part", "r") as f:
        id_b = f.attrs["run_id"].decode()
    assert id_a != id_b and len(id_a) == 32
    before = snapshot(tmp_path)
    res = run(["-output", "b.h5", "-output_interval", "1", "-checkpoint_file", "a.ck", "-restart", "a.ck"], 2, cwd=tmp_path)
    assert_failed(res, f"belongs to run {id_b}, the checkpoint to run {id_a}")
    assert_unchanged(before)


def test_other_physics_output_refused(tmp_path):
    """Class 2: the complete output of a run with another -potential_strength is not continued."""
    res = run(["-output", "a.h5", "-output_interval", "1", "-checkpoint_file", "a.ck", "-checkpoint_interval", "2"], 2, cwd=tmp_path)
    assert res.returncode == 0, res.text
    assert run(["-output", "b.h5", "-output_interval", "1", "-potential_strength", "5"], 2, cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path)
    res = run(["-output", "b.h5", "-output_interval", "1", "-checkpoint_file", "a.ck", "-restart", "a.ck"], 2, cwd=tmp_path)
    assert_failed(res, "-restart a.ck: the output b.h5 belongs to run")
    assert_unchanged(before)


def test_provenance_attributes(tmp_path):
    res = run(["-output", "out.h5", "-checkpoint_file", "ck.h5", "-checkpoint_interval", "3"], 1, cwd=tmp_path)
    assert res.returncode == 0, res.text
    for name in ("out.h5", "ck.h5"):
        with h5py.File(tmp_path / name, "r") as f:
            a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            assert len(a["run_id"]) == 32 and len(a["physics_hash"]) == 16
            assert len(a["git_commit"]) == 40 or a["git_commit"] == "unknown"
            assert a["git_dirty"] in (0, 1)
            assert a["hdf5_version"].startswith("1.") and a["fftw_version"].startswith("fftw-") and "Petsc" in a["petsc_version"]
            assert "Open MPI" in a["mpi_version"] and "-output out.h5" in a["command_line"]
    with h5py.File(tmp_path / "out.h5", "r") as o, h5py.File(tmp_path / "ck.h5", "r") as c:
        assert o.attrs["run_id"] == c.attrs["run_id"] and o.attrs["format_version"] == 2 and c.attrs["checkpoint_format"] == 3


# ---------------------------------------------------------------- qrbm-compare

def compare(args, cwd):
    cmd = ["mpirun", "--oversubscribe", "-np", "1", str(QRBM.parent / "qrbm-compare")] + [str(a) for a in args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), cwd=cwd, timeout=TIMEOUT)
    res.text = res.stdout + res.stderr
    return res


def test_compare_refuses_inputs_as_outputs_and_mismatched_runs(tmp_path):
    rdm = ["-rdm_interval", "1", "-output_interval", "2"]
    assert run(["-output", "ref.h5"] + rdm, 1, cwd=tmp_path).returncode == 0
    assert run(["-output", "rb.h5", "-method", "rbm", "-realizations", "2"] + rdm, 1, cwd=tmp_path).returncode == 0
    assert run(["-output", "n3.h5", "-particles", "3"] + rdm, 1, cwd=tmp_path).returncode == 0
    shutil.copy(tmp_path / "ref.h5", tmp_path / "part.h5")
    with h5py.File(tmp_path / "part.h5", "r+") as f:
        del f.attrs["status"]
        f.attrs["status"] = np.bytes_("checkpointed")
    before = snapshot(tmp_path)
    for args, needle in [(["ref.h5", "rb.h5", "-output", "rb.h5"], "RB.h5 rb.h5 and -output rb.h5 are the same file"),
                         (["ref.h5", "rb.h5", "-table", "./ref.h5"], "REF.h5 ref.h5 and -table ./ref.h5 are the same file"),
                         (["ref.h5", "n3.h5", "-output", "e.h5"], "attribute 'particles' is 2"),
                         (["part.h5", "rb.h5", "-output", "e.h5"], "part.h5: status is 'checkpointed', not 'complete'")]:
        res = compare(args, tmp_path)
        assert res.returncode == 1 and needle in res.text and res.text.count("qrbm: ERROR:") == 1, res.text
        assert_unchanged(before)
        assert set(snapshot(tmp_path)) == set(before)
    res = compare(["ref.h5", "rb.h5", "-output", "e.h5"], tmp_path)
    assert res.returncode == 0, res.text


# ---------------------------------------------------------------- files of other runs are never rotated over

def test_fresh_run_moves_old_default_checkpoint_aside(tmp_path):
    """A stop without -checkpoint_file writes OUTPUT.ckpt: an old OUTPUT.ckpt (another run's) is
    moved aside to a numbered backup at start-up, never rotated to OUTPUT.ckpt.1."""
    old = tmp_path / "out.h5.ckpt"
    old.write_bytes(b"the checkpoint of another run")
    res = run(["-output", "out.h5", "-max_walltime", "1"], 2, cwd=tmp_path)
    assert res.returncode == 75, res.text
    assert "out.h5.ckpt existed: moved it aside to out.h5.ckpt.~1~" in res.text, res.text
    assert (tmp_path / "out.h5.ckpt.~1~").read_bytes() == b"the checkpoint of another run"
    assert not (tmp_path / "out.h5.ckpt.1").exists()
    with h5py.File(old, "r") as f:
        assert len(f.attrs["run_id"]) == 32


def test_restart_moves_foreign_rotated_checkpoint_aside(tmp_path):
    """A restart rotates only checkpoints of its own run: a CHECKPOINT.1 of another run (or no
    checkpoint at all) is moved aside to a numbered backup, byte-identical."""
    ck = ["-output", "out.h5", "-output_interval", "1", "-checkpoint_file", "ck.h5", "-checkpoint_keep", "2"]
    res = run(ck + ["-checkpoint_interval", "2", "-checkpoint_keep", "1"], 2, cwd=tmp_path, env={"QRBM_TEST_FAULT": "checking the norm and energy@1+#5"})
    assert_failed(res, "injected failure")
    foreign = tmp_path / "ck.h5.1"
    foreign.write_bytes(b"not this run's")
    res = run(ck + ["-restart", "ck.h5", "-checkpoint_interval", "1"], 2, cwd=tmp_path)
    assert res.returncode == 0, res.text
    assert "ck.h5.1 existed: moved it aside to " in res.text, res.text
    assert (tmp_path / "ck.h5.1.~1~").read_bytes() == b"not this run's"
    assert status(tmp_path / "out.h5") == "complete"


# ---------------------------------------------------------------- the output's kept rows are checksummed

ENSEMBLE = ["-method", "rbm", "-realizations", "4", "-save_realizations", "-record_pairings", "-output_interval", "2",
            "-checkpoint_file", "ck.h5", "-checkpoint_interval", "2", "-checkpoint_keep", "1"]


def change(name, index):
    def corrupt(path):
        with h5py.File(path, "r+") as f:
            v = f[name][()]
            v.reshape(-1)[index] = v.reshape(-1)[index] + 1
            f[name][...] = v
    return corrupt


# (run options, fault that stops it after checkpoints, change to OUTPUT.part, refused?)
OUTPUT_CHANGES = {
    "series_row": (CK, "checking the norm and energy@1+#5", change("observables/x2", 1), True),
    "stderr_row": (CK, "checking the norm and energy@1+#5", change("observables/energy_stderr", 0), True),
    "density_row": (CK, "checking the norm and energy@1+#5", change("density/rho", 3), True),
    "finished_realization": (ENSEMBLE, "finishing a realisation@1+#2", change("realizations/x2", 2), True),
    "finished_pairing": (ENSEMBLE, "finishing a realisation@1+#2", change("pairings/1", 0), True),
    "unfinished_realization": (ENSEMBLE, "finishing a realisation@1+#2", change("realizations/x2", 3 * 4 + 1), False),
}


@pytest.mark.parametrize("case", list(OUTPUT_CHANGES))
def test_changed_output_refused_by_checksum(tmp_path, case):
    """Class 5 for the output: a restart keeps the first rows of every time series and the rows of
    finished realisations; they are covered by a checksum recorded in the checkpoint (layout
    independent: verified at 3 ranks after a run at 2). Rows a restart rewrites are not."""
    opts, fault, corrupt, refused = OUTPUT_CHANGES[case]
    res = run(["-output", "out.h5"] + opts, 2, cwd=tmp_path, env={"QRBM_TEST_FAULT": fault})
    assert_failed(res, "injected failure")
    corrupt(tmp_path / "out.h5.part")
    before = snapshot(tmp_path)
    res = run(["-output", "out.h5", "-restart", "ck.h5"] + opts, 3, cwd=tmp_path)
    if not refused:
        assert res.returncode == 0, res.text
        assert status(tmp_path / "out.h5") == "complete"
        return
    assert_failed(res, "-restart ck.h5: the output out.h5.part does not match the checksum its checkpoint recorded")
    assert_unchanged(before)


# ---------------------------------------------------------------- a failure in every phase of set-up

SETUP_FRESH = ["checking the file names", "locking the output and checkpoint", "moving old files aside", "creating the output", "creating the per-realisation datasets"]
SETUP_RESTART = ["checking the checkpoint's physics", "verifying the checkpoint", "reading the checkpoint", "loading the checkpointed states", "validating the output for the restart", "reopening the output"]


@pytest.mark.parametrize("phase", SETUP_FRESH)
def test_setup_fault_fresh_leaves_old_files(tmp_path, phase):
    """A fresh run failing in any phase of set-up (on the middle of 3 ranks, which skips the
    phase) leaves every old file where and as it was (files moved aside are moved back), creates
    nothing and releases its locks."""
    (tmp_path / "out.h5").write_bytes(b"an old output")
    (tmp_path / "ck.h5").write_bytes(b"an old checkpoint")
    before = snapshot(tmp_path)
    res = run(["-output", "out.h5", "-checkpoint_file", "ck.h5", "-checkpoint_interval", "2"], 3, cwd=tmp_path, env={"QRBM_TEST_FAULT": f"{phase}@1"})
    assert_failed(res, f'injected failure of "{phase}')
    assert_unchanged(before)
    assert set(snapshot(tmp_path)) == set(before), "a failed set-up leaves no file behind"


@pytest.mark.parametrize("phase", SETUP_RESTART)
def test_setup_fault_restart_leaves_files(tmp_path, phase):
    """A restart failing in any phase of its set-up leaves checkpoint and output byte-identical."""
    opts = ["-output", "out.h5"] + CK + ["-checkpoint_keep", "1"]
    res = run(opts, 2, cwd=tmp_path, env={"QRBM_TEST_FAULT": "checking the norm and energy@1+#5"})
    assert_failed(res, "injected failure")
    before = snapshot(tmp_path)
    res = run(opts + ["-restart", "ck.h5"], 3, cwd=tmp_path, env={"QRBM_TEST_FAULT": f"{phase}@1"})
    assert_failed(res, f'injected failure of "{phase}')
    assert_unchanged(before)
    assert set(snapshot(tmp_path)) == set(before), "a failed restart leaves no file behind"


def test_refused_checkpoint_lock_releases_output_lock(tmp_path):
    """The output is locked before the checkpoint: when the checkpoint's lock is refused, the
    output's lock this run just created is removed again (the other run's lock is untouched)."""
    (tmp_path / "ck.h5.lock").write_text(lock_text("node-elsewhere", 4242, "777"))
    before = snapshot(tmp_path)
    res = run(["-output", "out.h5", "-checkpoint_file", "ck.h5"], 2, cwd=tmp_path)
    assert_failed(res, "-checkpoint_file ck.h5 is locked by a run on another host")
    assert_unchanged(before)
    assert set(snapshot(tmp_path)) == set(before), "no lock of the refused run is left"
