"""Bad inputs to bin/qrbm: every case must fail cleanly. The one harness for refused inputs:
option values (CASES), random batch settings on test_rbm's tiny input (RBM_BAD) and
checkpoint/restart inputs prepared from stopped runs of test_checkpoint's inputs (CHECKPOINT_BAD).

For each case the solver is run under ``mpirun --oversubscribe -np R`` (R = 1, 2 or 4) with
``-fftw_planner estimate`` in a fresh directory, and the test requires
  * exit code 1 (not a signal / crash: no "Caught signal" report) and no hang (every run has a
    timeout; a hang fails the test),
  * the intended message in stdout+stderr: the option name and its valid range (the texts of
    src/config.c, src/grid.c, src/output.c, src/ensemble.c),
  * a collective error reported once: at -np > 1 the "qrbm: ERROR: <message>" line appears exactly
    once (rank 0 reports, every rank returns the error and cleans up),
  * no output file and no OUTPUT.part left behind (in the run directory or at the -output path);
    a refused restart leaves the checkpoint and the stopped run's output as they were.

Runtime: a failing run costs ~2.5 s (mpirun's teardown after a non-zero exit), at any rank count
(the error is returned on every rank; nothing sleeps). The runs are independent and mostly idle, so
the table is executed once, concurrently (QRBM_BAD_INPUT_JOBS, default 4), on first use; each test
then checks its own result.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import h5py
import numpy as np

import test_checkpoint as ckpt
import test_rbm as rbm
from conftest import QRBM, _argv, mpi_env, qrbm_command

TIMEOUT = 60  # seconds per run; every case takes a few seconds
JOBS = int(os.environ.get("QRBM_BAD_INPUT_JOBS", "4"))
OUT = "out.h5"
# Small, fast, valid base run; the case's own options come later and override these.
BASE = ["-grid", "16", "-t_final", "0.02", "-dt", "0.01", "-fftw_planner", "estimate", "-output", OUT]

def _dt_suggestions_valid(out, case):
    """The whole-step message must suggest two -dt values, each giving an integer t_final/dt, one
    on each side of the given dt."""
    m = re.search(r"use -dt ([0-9.eE+-]+) or ([0-9.eE+-]+)", out)
    assert m, "no '-dt' suggestions in the message"
    t_final, dt = 0.02, 0.003
    vals = sorted(float(v.rstrip(".")) for v in m.groups())
    for v in vals:
        n = t_final / v
        assert abs(n - round(n)) < 1e-9 * n, f"suggested -dt {v} gives t_final/dt = {n!r}, not whole"
    assert vals[0] < dt < vals[1], f"suggestions {vals} do not bracket -dt {dt}"


UNUSED = r"unknown or unused option\(s\) on the command line or in -options_file"
# QrbmEnsembleSplit (src/ensemble.c): more rank groups than realisations (or first-interval pairings)
# (the count is a double printed by PETSc's %g: "1." for 1)
GROUPS = (r"{np} ranks in groups of {g} make {G} groups but there are only {R}\.? {what} to share: a grid of -grid {M} "
          r"uses at most {M} ranks; run with fewer ranks, use -threads, or raise -realizations")


def unreadable(opt):
    """config.c's message for a value PETSc cannot parse."""
    return re.escape(f"option {opt} ") + r"\S+" + re.escape(": the value given cannot be read (see bin/qrbm -help")


# id: (ranks, extra options, [regexes that must match stdout+stderr], extra check or None, marks)
# Numbers are printed by PETSc's %g, which appends '.' to integral reals ("-box -1.").
CASES = {
    # unknown / unused options
    "unknown_option":          (1, ["-gird", "32"], [r"unknown or unused option: -gird\b", UNUSED], None, []),
    "unused_petsc_option":     (1, ["-ksp_rtol", "1e-3"], [r"unknown or unused option: -ksp_rtol\b", UNUSED], None, []),
    "unknown_in_options_file": (1, ["-options_file", "{dir}/bad.opts"], [r"unknown or unused option: -partikles\b", UNUSED], None, []),
    "unknown_option_np2":      (2, ["-gird", "32"], [r"unknown or unused option: -gird\b", UNUSED], None, []),
    "options_file_missing":    (1, ["-options_file", "/nonexistent/qrbm.opts"], [r"/nonexistent/qrbm\.opts"], None, []),
    "options_file_missing_np2": (2, ["-options_file", "/nonexistent/qrbm.opts"], [r"/nonexistent/qrbm\.opts"], None, []),
    # grid, dimension, particles
    "grid_negative":           (1, ["-grid", "-4"], [r"-grid -4: valid range is 2\.\.65536"], None, []),
    "grid_1":                  (1, ["-grid", "1"], [r"-grid 1: valid range is 2\.\.65536"], None, []),
    "grid_too_large":          (1, ["-grid", "70000"], [r"-grid 70000: valid range is 2\.\.65536"], None, []),
    "grid_not_a_number":       (1, ["-grid", "abc"], [unreadable("-grid"), r"\babc\b"], None, []),
    "grid_not_an_integer":     (1, ["-grid", "3.5"], [unreadable("-grid")], None, []),
    "dt_not_a_number":         (1, ["-dt", "abc"], [unreadable("-dt"), r"\babc\b"], None, []),
    "realizations_not_a_number_np2": (2, ["-method", "rbm", "-realizations", "many"], [unreadable("-realizations")], None, []),
    "unreadable_reported_once_np2": (2, ["-method", "rbm", "-realizations", "many"], [unreadable("-realizations")],
                                     lambda out, c: _single_report(out), []),
    "dim_4":                   (1, ["-dim", "4"], [r"-dim 4: valid range is 1\.\.3"], None, []),
    "dim_0":                   (1, ["-dim", "0"], [r"-dim 0: valid range is 1\.\.3"], None, []),
    "dim_4_np2":               (2, ["-dim", "4"], [r"-dim 4: valid range is 1\.\.3"], None, []),
    "particles_0":             (1, ["-particles", "0"], [r"-particles 0: valid range is 1\.\.16"], None, []),
    "particles_17":            (1, ["-particles", "17"], [r"-particles 17: valid range is 1\.\.16"], None, []),
    # time stepping
    "dt_exceeds_t_final":      (1, ["-dt", "0.1"], [r"-dt 0\.1 exceeds -t_final 0\.02: need 0 < dt <= t_final"], None, []),
    "dt_not_whole_steps":      (1, ["-dt", "0.003"], [r"-t_final / -dt = 6\.666\d* is not a whole number of steps: use -dt"], _dt_suggestions_valid, []),
    "dt_negative":             (1, ["-dt", "-0.01"], [r"-dt -0\.01: must be finite and > 0"], None, []),
    "dt_nan":                  (1, ["-dt", "nan"], [r"-dt nan\.?: must be finite and > 0"], None, []),
    "t_final_0":               (1, ["-t_final", "0"], [r"-t_final 0\.?: must be finite and > 0"], None, []),
    "too_many_steps":          (1, ["-t_final", "1", "-dt", "1e-17"],
                                [r"-t_final / -dt = 1e\+17 steps: at most 9007199254740992 steps are supported \(2\^53: step numbers stay exact in the float64 output\), increase -dt"], lambda out, c: _not_whole_claim(out), []),
    # physics parameters
    "hbar_0":                  (1, ["-hbar", "0"], [r"-hbar 0\.?: must be finite and > 0"], None, []),
    "box_negative":            (1, ["-box", "-1"], [r"-box -1\.?: must be a finite length > 0"], None, []),
    "potential_width_0":       (1, ["-potential_width", "0"], [r"-potential_width 0\.?: must be finite and > 0"], None, []),
    "trap_omega_negative":     (1, ["-trap_omega", "-1"], [r"-trap_omega -1\.?: must be finite and >= 0"], None, []),
    "cosine_width_not_dividing_box": (1, ["-potential", "cosine", "-potential_width", "3"],
                                      [r"-potential_width 3\.?: the cosine wavelength must divide -box 16\.? \(L/width integer\)"], None, []),
    # enumerated options
    "scheme_bogus":            (1, ["-scheme", "bogus"], [r"-scheme bogus: valid values are strang yoshida4 chin4 bm6 bm11$"], None, []),
    "potential_bogus":         (1, ["-potential", "bogus"], [r"-potential bogus: valid values are none gaussian softcoulomb cosine$"], None, []),
    "init_bogus":              (1, ["-init", "bogus"], [r"-init bogus: valid values are coherent symmetrized ground$"], None, []),
    "planner_bogus":           (1, ["-fftw_planner", "bogus"], [r"-fftw_planner bogus: valid values are estimate measure patient$"], None, []),
    "method_bogus_np2":        (2, ["-method", "bogus"], [r"-method bogus: valid values are exact rbm$"], None, []),
    # initial packets
    "init_q_count_coherent":   (1, ["-init_q", "1,2"], [r"-init_q: coherent needs 1 numbers \(d, shared by all particles\), got 2"], None, []),
    "init_q_count_symmetrized": (1, ["-init", "symmetrized", "-particles", "2", "-init_q", "1,2,3"],
                                 [r"-init_q: symmetrized needs 2 numbers \(N\*d, one packet per particle\), got 3"], None, []),
    "init_q_outside_box":      (1, ["-init_q", "9"], [r"-init_q entry 0 = 9\.? lies outside the box \(-L/2, L/2\) = \(-8\.?, 8\.?\)"], None, []),
    "init_p_infinite":         (1, ["-init_p", "inf"], [r"-init_p entry 0 is not finite"], None, []),
    "ground_tol_2":            (1, ["-init", "ground", "-ground_tol", "2"], [r"-ground_tol 2\.?: valid range is \(0, 1\)"], None, []),
    "ground_maxiter_5":        (1, ["-init", "ground", "-ground_maxiter", "5"], [r"-ground_maxiter 5: must be >= 10"], None, []),
    # output and run control
    "output_unwritable":       (1, ["-output", "/nonexistent/dir/x.h5"], [r"-output /nonexistent/dir/x\.h5: directory /nonexistent/dir: No such file or directory"], None, []),
    "output_unwritable_np2":   (2, ["-output", "/nonexistent/dir/x.h5"], [r"-output /nonexistent/dir/x\.h5: directory /nonexistent/dir: No such file or directory"], None, []),
    "output_empty":            (1, ["-output", ""], [r"-output: file name must not be empty"], None, []),
    "output_interval_0":       (1, ["-output_interval", "0"], [r"-output_interval 0: must be >= 1 step"], None, []),
    "progress_interval_negative": (1, ["-progress_interval", "-1"], [r"-progress_interval -1: must be >= 0 steps"], None, []),
    # checkpoint options (validated before anything is written)
    "checkpoint_keep_0":       (1, ["-checkpoint_keep", "0"], [r"-checkpoint_keep 0: valid range is 1\.\.32"], None, []),
    "max_walltime_negative":   (1, ["-max_walltime", "-1"], [r"-max_walltime -1\.?: must be >= 0 seconds"], None, []),
    "checkpoint_interval_without_file": (1, ["-checkpoint_interval", "1"], [r"-checkpoint_interval needs -checkpoint_file"], None, []),
    "checkpoint_interval_bogus": (1, ["-checkpoint_file", "ck.h5", "-checkpoint_interval", "2x"],
                                  [r"-checkpoint_interval 2x: expected <n> \(steps\), <x>t \(simulated time\) or <x>s \(wall seconds\)"], None, []),
    "checkpoint_interval_not_whole": (1, ["-checkpoint_file", "ck.h5", "-checkpoint_interval", "0.015t"],
                                      [r"-checkpoint_interval 0\.015t: must be a whole number >= 1 of steps"], None, []),
    "restart_missing_np2":     (2, ["-restart", "/nonexistent/ck.h5"], [r"-restart /nonexistent/ck\.h5: file not found or not readable"], None, []),
    "threads_0":               (1, ["-threads", "0"], [r"-threads 0: valid range is 1\.\.256"], None, []),
    "threads_300":             (1, ["-threads", "300"], [r"-threads 300: valid range is 1\.\.256"], None, []),
    # memory and parallel layout
    "memory_limit_1mb":        (1, ["-grid", "256", "-particles", "3", "-memory_limit_mb", "1"],
                                [r"the run needs 5\d\d\.\d MiB per rank but only 1\.0 MiB are available \(-memory_limit_mb"], None, []),
    "memory_above_memavailable": (1, ["-grid", "4096", "-particles", "3"],
                                  [r"the run needs \d+\.\d MiB per rank but only \d+\.\d MiB are available \(-memory_limit_mb or MemAvailable"], None, []),
    "memory_limit_negative":   (1, ["-memory_limit_mb", "-5"], [r"-memory_limit_mb -5\.?: must be >= 0"], None, []),
    "grid_exceeds_64bit":      (1, ["-grid", "65536", "-particles", "16"], [r"does not fit in 64-bit indices: reduce -grid or -particles"], None, []),
    # exact runs (one realisation): more ranks than M would make idle groups -> refused
    "ranks_exceed_grid":       (4, ["-grid", "2"], [GROUPS.format(np=4, g=2, G=2, R=1, what="realisations", M=2)], None, []),
    "ranks_exceed_grid_np3":   (3, ["-grid", "2", "-ranks_per_realization", "1"], [GROUPS.format(np=3, g=1, G=3, R=1, what="realisations", M=2)], None, []),
    "ranks_exceed_grid_one_group": (4, ["-grid", "2", "-ranks_per_realization", "4"], [r"4 MPI ranks but -grid 2: .*run with <= 2 ranks"], None, []),
    "ranks_per_realization_not_divisor": (4, ["-grid", "2", "-ranks_per_realization", "3"], [r"-ranks_per_realization 3 must divide the rank count 4"], None, []),
    # random batch options
    "rbm_one_particle":        (1, ["-method", "rbm", "-particles", "1"], [r"-method rbm needs -particles >= 2 \(got 1\)"], None, []),
    "rbm_batch_not_dividing":  (1, ["-method", "rbm", "-particles", "4", "-batch_size", "3"],
                                [r"-batch_size 3: P must divide -particles 4 with 2 <= P <= N"], None, []),
    "rb_dt_not_multiple":      (1, ["-method", "rbm", "-rb_dt", "0.015"],
                                [r"-rb_dt 0\.015 is not a whole multiple of -dt 0\.01: nearest valid values are 0\.01 and 0\.02"], None, []),
    "realizations_with_exact": (1, ["-realizations", "2"], [r"-realizations 2 with -method exact: .*use -realizations 1"], None, []),
    "realizations_0":          (1, ["-method", "rbm", "-realizations", "0"], [r"-realizations 0: must be >= 1"], None, []),
    "seed_negative":           (1, ["-method", "rbm", "-seed", "-1"], [r"-seed -1: valid range is 0\.\.4294967295"], None, []),
    "seed_2_pow_32":           (1, ["-method", "rbm", "-seed", "4294967296"], [r"-seed 4294967296: valid range is 0\.\.4294967295"], None, []),
    "seed_not_a_number":       (1, ["-method", "rbm", "-seed", "12x"], [r"-seed 12x: valid range is 0\.\.4294967295"], None, []),
    "groups_exceed_realizations": (4, ["-method", "rbm", "-particles", "4", "-realizations", "2", "-ranks_per_realization", "1"],
                                   [GROUPS.format(np=4, g=1, G=4, R=2, what="realisations", M=16)], None, []),
    "groups_exceed_enumeration": (4, ["-method", "rbm", "-particles", "4", "-t_final", "0.03", "-rb_expectation", "enumerate", "-ranks_per_realization", "1"],
                                  [GROUPS.format(np=4, g=1, G=4, R=3, what="first-interval pairings", M=16)], None, []),
    "couple_level_negative":   (1, ["-method", "rbm", "-particles", "4", "-rb_couple_level", "-1"], [r"-rb_couple_level -1: valid range is 0\.\.62"], None, []),
    "couple_level_enumerate":  (1, ["-method", "rbm", "-particles", "4", "-rb_expectation", "enumerate", "-rb_couple_level", "1"],
                                [r"-rb_couple_level 1 couples sampled pairings: it needs -method rbm and -rb_expectation sample"], None, []),
    "couple_level_exact":      (1, ["-rb_couple_level", "2"], [r"-rb_couple_level 2 couples sampled pairings"], None, []),
    "enumerate_limit":         (1, ["-method", "rbm", "-particles", "4", "-t_final", "0.03", "-rb_expectation", "enumerate", "-rb_enumerate_limit", "10"],
                                [r"-rb_expectation enumerate: 27\.? pairing sequences exceed -rb_enumerate_limit 10"], None, []),
    # reduced density matrices, the exact reference, the upper coupled level (src/config.c)
    "rdm_interval_negative":   (1, ["-rdm_interval", "-1"], [r"-rdm_interval -1: must be >= 0 output times \(0 = never\)"], None, []),
    "rdm_batches_1":           (1, ["-rdm_batches", "1"], [r"-rdm_batches 1: must be >= 2"], None, []),
    "rdm_max_mb_exceeded":     (1, ["-rdm_interval", "1", "-rdm_max_mb", "0.001"],
                                [r"-rdm_interval: R_1 of M\^d x M\^d = 16\.? x 16\.? complex numbers needs 0\.0 MiB > -rdm_max_mb 0\.001"], None, []),
    "reference_with_exact":    (1, ["-reference", "exact", "-rdm_interval", "1"], [r"-reference exact compares a random batch run with the exact one: it needs -method rbm"], None, []),
    "rb_couple_level_63":      (1, ["-method", "rbm", "-particles", "4", "-rb_couple_level", "63"], [r"-rb_couple_level 63: valid range is 0\.\.62"], None, []),
    "enumerate_limit_np2":     (2, ["-method", "rbm", "-particles", "4", "-t_final", "0.03", "-rb_expectation", "enumerate", "-rb_enumerate_limit", "10"],
                                [r"-rb_expectation enumerate: 27\.? pairing sequences exceed -rb_enumerate_limit 10"], None, []),
}


def _single_report(out):
    n = out.count("qrbm: ERROR:")
    assert n == 1, f"{n} 'qrbm: ERROR:' reports for one collective error"


def _not_whole_claim(out):
    assert "not a whole number" not in out, "t_final/dt = 1e13 is whole, but the message claims it is not"


OPTIONS_FILE = "# a typo in an options file must not silently run the defaults\n-partikles 3\n"


# Random batch settings on test_rbm's tiny input (words of the message, matched literally)
RBM_BAD = [
    ("P-not-dividing-N", rbm.opts(method="rbm", batch_size=3), 1, ["-batch_size"]),
    ("P=1", rbm.opts(method="rbm", batch_size=1), 1, ["-batch_size"]),
    ("P>N", rbm.opts(method="rbm", batch_size=8), 1, ["-batch_size"]),
    ("rb_dt-not-multiple", rbm.opts(method="rbm", dt=0.01, rb_dt=0.025), 1, ["-rb_dt", "0.02", "0.03"]),
    ("realizations<1", rbm.opts(method="rbm", realizations=0), 1, ["-realizations"]),
    ("seed-negative", rbm.opts(method="rbm", seed=-1), 1, ["-seed -1: valid range is 0..4294967295"]),
    ("seed-above-2^32", rbm.opts(method="rbm", seed=4294967297), 1,
     ["-seed 4294967297: valid range is 0..4294967295"]),  # must not wrap to 1
    ("seed-2^32", rbm.opts(method="rbm", seed=4294967296), 2, ["-seed 4294967296: valid range is 0..4294967295"]),
    ("realizations-with-exact", rbm.opts(realizations=2), 1, ["-realizations", "exact"]),
    ("enumerate-over-limit", rbm.opts(method="rbm", rb_dt=0.1, rb_expectation="enumerate", rb_enumerate_limit=80),
     1, ["-rb_enumerate_limit"]),
    # raised after the output file is created: FILE.part must go on every rank count
    ("enumerate-over-limit-2ranks", rbm.opts(method="rbm", rb_dt=0.1, rb_expectation="enumerate",
                                         rb_enumerate_limit=80), 2, ["-rb_enumerate_limit"]),
    ("ranks_per_realization-not-dividing", rbm.opts(method="rbm", realizations=4, ranks_per_realization=2), 3,
     ["-ranks_per_realization"]),
    # more rank groups than realisations: groups would idle
    ("groups-exceed-realizations", rbm.opts(method="rbm", realizations=2, ranks_per_realization=1), 4,
     ["4 ranks in groups of 1 make 4 groups but there are only 2", "realisations to share"]),
    ("groups-exceed-enumeration", rbm.opts(method="rbm", rb_dt=0.1, rb_expectation="enumerate", ranks_per_realization=1), 4,
     ["4 ranks in groups of 1 make 4 groups but there are only 3", "first-interval pairings to share"]),
]


# Checkpoint/restart inputs: name, stopped base run (None: a fresh run), changed options, edit of
# the checkpoint copy, remove the output copy, words of the message
def _truncate(ck):
    data = ck.read_bytes()
    ck.write_bytes(data[: len(data) // 2])


def _garbage(ck):
    ck.write_text("this is not an HDF5 file\n" * 100)


def _format(ck):
    with h5py.File(ck, "r+") as f:
        f.attrs.modify("checkpoint_format", np.int64(1))


def _no_psi(ck):
    with h5py.File(ck, "r+") as f:
        del f["items_psi"]


CHECKPOINT_BAD = [
    ("missing-file", "exact", {"restart": "nonexistent.ck"}, None, False,
     ["-restart", "nonexistent.ck: file not found or not readable"]),
    ("truncated", "exact", {}, _truncate, False, ["cannot open as HDF5 (truncated or corrupt checkpoint?)"]),
    ("not-hdf5", "exact", {}, _garbage, False, ["cannot open as HDF5"]),
    ("changed-grid", "exact", {"grid": 16}, None, False,
     ["physics options differ from the checkpointed run", "-grid: checkpoint 8, now 16"]),
    ("changed-hbar", "exact", {"hbar": 0.5}, None, False, ["-hbar: checkpoint 1, now 0.5"]),
    ("changed-grid-and-hbar", "exact", {"grid": 16, "hbar": 0.5}, None, False,
     ["-grid: checkpoint 8, now 16", "-hbar: checkpoint 1, now 0.5"]),
    ("changed-seed", "rb", {"seed": 8}, None, False, ["-seed: checkpoint 7, now 8"]),
    ("changed-particles", "exact", {"particles": 2, "init_q": [-1, 1], "init_p": [0, 0]}, None, False,
     ["-particles: checkpoint 3, now 2"]),
    ("changed-dt", "exact", {"dt": 0.025}, None, False, ["-dt: checkpoint 0.050000000000000003, now 0.025000000000000001"]),
    ("wrong-format", "exact", {}, _format, False, ["checkpoint format 1, this qrbm reads format 3 only (an older format: 1 has no run identity and checksums"]),
    ("missing-dataset", "exact", {}, _no_psi, False, ["dataset /items_psi missing: incomplete or corrupt checkpoint"]),
    ("output-missing", "exact", {}, None, True,
     ["of the checkpointed run not found: restart needs the same -output"]),
    ("extend-ensemble", "rb", {"t_final": 0.4}, None, False,
     ["-t_final changed (4 -> 8 steps): only single-trajectory runs (-realizations 1) can be extended"]),
    # options outside the physics list that change what the checkpoint holds (R_1 records,
    # jackknife sums, the exact reference item): a restart must refuse them, naming the option
    ("changed-rdm_interval", "exact_rdm", {"rdm_interval": 2}, None, False, ["-rdm_interval: checkpoint 1, now 2"]),
    ("dropped-rdm_interval", "exact_rdm", {"rdm_interval": 0}, None, False, ["-rdm_interval: checkpoint 1, now 0"]),
    ("changed-rdm_batches", "rb_rdm", {"rdm_batches": 4}, None, False, ["-rdm_batches: checkpoint 2, now 4"]),
    ("added-reference", "rb_rdm", {"reference": "exact"}, None, False, ["-reference: checkpoint none, now exact"]),
    ("interval-abc", None, {"checkpoint_interval": "abc"}, None, False,
     ["-checkpoint_interval abc: expected <n> (steps), <x>t (simulated time) or <x>s (wall seconds)"]),
    ("interval-0", None, {"checkpoint_interval": "0"}, None, False, ["-checkpoint_interval 0: expected <n>"]),
    ("interval-negative", None, {"checkpoint_interval": "-5"}, None, False, ["-checkpoint_interval -5: expected <n>"]),
    ("interval-fraction", None, {"checkpoint_interval": "1.5"}, None, False,
     ["-checkpoint_interval 1.5: must be a whole number >= 1 of steps"]),
    ("interval-unit", None, {"checkpoint_interval": "5m"}, None, False, ["-checkpoint_interval 5m: expected <n>"]),
    ("interval-no-file", None, {"checkpoint_interval": "2", "checkpoint_file": False}, None, False,
     ["-checkpoint_interval needs -checkpoint_file"]),
    ("keep-0", None, {"checkpoint_keep": 0}, None, False, ["-checkpoint_keep 0: valid range is 1..32"]),
]



# ranks; argv (with {dir}) or None; regexes; extra check; marks; prepare(dir) -> (argv, output,
# files that legitimately remain) or None; base options put first; environment
Case = namedtuple("Case", "ranks args patterns check marks prepare base env")
ALL = {c: Case(*CASES[c], None, BASE, mpi_env()) for c in CASES}
for _name, _args, _np, _words in RBM_BAD:
    ALL["rbm-" + _name] = Case(_np, _argv(_args), [re.escape(w) for w in _words], None, [], None,
                               ["-fftw_planner", "estimate", "-output", OUT], mpi_env())

_stopped = {}


def _checkpoint_prepare(base, change, edit, drop_output):
    """Private copies of the stopped base run's checkpoint and output (or a fresh run's options)."""

    def prepare(d):
        if base is None:
            args, out, keep = ckpt.opts(ckpt.opts(ckpt.EXACT, checkpoint_file=d / "ck.h5"), **change), d / OUT, set()
        else:
            args0, out0, ck0 = _stopped[base]
            out, ck = d / out0.name, d / ck0.name
            shutil.copy(ck0, ck)
            keep = {str(ck)}
            if not drop_output:
                shutil.copy(out0, out)
                keep.add(str(out))
            if edit:
                edit(ck)
            args = ckpt.opts(args0, checkpoint_file=ck, restart=ck)
            args.update(change)
            if isinstance(args["restart"], str):
                args["restart"] = str(d / args["restart"])
        return _argv(args) + ["-quiet", "-fftw_planner", "estimate", "-output", str(out)], out, keep

    return prepare


def _stopped_output_kept(out, case):
    """A refused restart leaves the checkpointed run's output as it was."""
    name = case[len("checkpoint-"):]
    base, drop_output = next((b[1], b[4]) for b in CHECKPOINT_BAD if b[0] == name)
    if base is not None and not drop_output:
        kept = [ln for ln in out.splitlines() if ln.startswith("kept: ")]
        assert kept == ["kept: checkpointed"], f"output of the stopped run lost or changed: {kept}"


for _name, _base, _change, _edit, _drop, _words in CHECKPOINT_BAD:
    ALL["checkpoint-" + _name] = Case(2, None, [re.escape(w) for w in _words], _stopped_output_kept, [],
                                      _checkpoint_prepare(_base, _change, _edit, _drop), [], ckpt.fast_env())


def _status(path):
    with h5py.File(path, "r") as f:
        s = f.attrs["status"]
    return s.decode() if isinstance(s, bytes) else str(s)


def _run(case_id):
    """Run one case in a fresh directory; return a dict with the exit code, output, leftovers."""
    case = ALL[case_id]
    d = Path(tempfile.mkdtemp(prefix=f"qrbm-bad-{case_id}-"))
    (d / "bad.opts").write_text(OPTIONS_FILE)
    if case.prepare:
        args, out, keep = case.prepare(d)
    else:
        args, keep = [a.replace("{dir}", str(d)) for a in case.args], set()
    cmd = ["mpirun", "--oversubscribe", "-np", str(case.ranks), str(QRBM)] + case.base + args
    p = subprocess.Popen(cmd, cwd=d, env=case.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = p.communicate(timeout=TIMEOUT)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # mpirun and its ranks share the new session's group
        stdout, stderr = p.communicate()
        rc = None
    outputs = [OUT]
    if "-output" in args:
        outputs.append(args[args.index("-output") + 1])
    left = sorted(str(f) for f in d.iterdir() if f.name != "bad.opts" and str(f) not in keep)
    for o in outputs:
        if o:
            path = o if os.path.isabs(o) else str(d / o)
            left += [f for f in (path, path + ".part") if os.path.exists(f) and f not in left and f not in keep]
    text = stdout + "\n" + stderr
    if case.prepare and os.path.exists(str(out)):
        text += f"\nkept: {_status(out)}\n"
    shutil.rmtree(d)
    return {"cmd": " ".join(cmd), "rc": rc, "out": text, "left": left}


_results = {}
_lock = threading.Lock()


def result(case_id):
    """All cases run concurrently on first use (they are independent and mostly wait); the stopped
    runs the restart cases start from are made first."""
    with _lock:
        if not _results:
            tmp = Path(tempfile.mkdtemp(prefix="qrbm-bad-stopped-"))
            try:
                _stopped.update(ckpt.stopped_runs(tmp))
                with ThreadPoolExecutor(max_workers=JOBS) as ex:
                    # slowest (multi-rank) cases first so that they overlap with the rest
                    order = sorted(ALL, key=lambda c: -ALL[c].ranks)
                    for c, r in zip(order, ex.map(_run, order)):
                        _results[c] = r
            finally:
                shutil.rmtree(tmp)
    return _results[case_id]


@pytest.mark.parametrize("case_id", [pytest.param(c, marks=ALL[c].marks) for c in ALL])
def test_bad_input(case_id):
    ranks, _, patterns, check = ALL[case_id][:4]
    r = result(case_id)
    where = f"\n$ {r['cmd']}\n--- output (exit {r['rc']})\n{r['out'][-4000:]}"
    assert r["rc"] is not None, f"no exit within {TIMEOUT} s (hang){where}"
    assert r["rc"] != 0, f"exit code 0 for a bad input{where}"
    assert "Caught signal" not in r["out"] and "Segmentation" not in r["out"], f"crash instead of a clean error{where}"
    assert r["rc"] == 1, f"exit code {r['rc']}, want 1{where}"
    for pat in patterns:
        n = len(re.findall(pat, r["out"], re.M))
        assert n, f"message /{pat}/ not found{where}"
        # a collective error is reported once (by rank 0), not once per rank
        assert ranks == 1 or n == 1, f"message /{pat}/ printed {n} times at -np {ranks}{where}"
    if check:
        check(r["out"], case_id)
    assert not r["left"], f"output left behind: {r['left']}{where}"


# README options without a refused-value case here or in tests/unit/test_config.c, and why.
NO_BAD_VALUE = {
    "-quiet": "flag", "-record_pairings": "flag", "-save_realizations": "flag",
    "-checkpoint_test_delay": "test hook (tests/test_checkpoint.py)",
    "-lock_takeover": "flag (its use: tests/test_faults.py)",
    "-fftw_wisdom": "any path: an unusable wisdom file is a warning, not an error (tests/test_wisdom.py)",
}
def test_enough_cases():
    """Every option of the README table has a refused-value case (here or in test_config.c's
    test_invalid_refused) or is a flag/free value listed in NO_BAD_VALUE."""
    root = Path(__file__).resolve().parent.parent
    documented = set(re.findall(r"^\| `(-[a-z_0-9]+)`", (root / "README.md").read_text(), re.M))
    assert len(documented) >= 40, "README option table not found"
    unit = (root / "tests" / "unit" / "test_config.c").read_text()
    unit = unit[unit.index("test_invalid_refused(void"):]
    covered = set(re.findall(r"(-[a-z_0-9]+)", " ".join(re.findall(r'\{"([^"]*)", PETSC_ERR', unit))))
    for case in ALL.values():
        covered |= {a for a in case.args or [] if a.startswith("-")}
    covered |= {"-" + k for b in CHECKPOINT_BAD for k in b[2]}
    missing = documented - covered - set(NO_BAD_VALUE)
    assert not missing, f"options without a bad-input case: {sorted(missing)}"
    assert set(NO_BAD_VALUE) <= documented, "stale entries: not in the README table"
    assert sum(1 for c in ALL.values() if c.ranks > 1) >= 3  # collective errors at several ranks


def test_record_pairings_in_memory_estimate(tmp_path):
    """-record_pairings keeps one realisation's pairings (intervals x N ints) in memory: the memory
    check must count them. Both runs are refused by -memory_limit_mb 1e-6 at set-up; the needs
    they state differ by exactly 4 bytes x 1e6 intervals x 2 labels (printed to 0.1 MiB)."""
    base = ["-grid", "8", "-t_final", "1", "-dt", "1e-6", "-method", "rbm", "-memory_limit_mb", "1e-6"]
    need = []
    for extra in ([], ["-record_pairings"]):
        res = subprocess.run(qrbm_command(base + extra, output=tmp_path / f"o{len(extra)}.h5"),
                             capture_output=True, text=True, env=mpi_env(), timeout=TIMEOUT, cwd=tmp_path)
        assert res.returncode == 1, res.stdout + res.stderr
        m = re.search(r"the run needs ([0-9.]+) MiB per rank", res.stdout + res.stderr)
        assert m, res.stdout + res.stderr
        need.append(float(m.group(1)))
    assert abs((need[1] - need[0]) - 4 * 1e6 * 2 / 2**20) <= 0.1 + 1e-9
