"""Bad inputs to bin/qrbm: every case must fail cleanly.

For each case the solver is run under ``mpirun --oversubscribe -np R`` (R = 1, 2 or 4) with
``-fftw_planner estimate`` in a fresh directory, and the test requires
  * exit code 1 (not a signal / crash: no "Caught signal" report) and no hang (every run has a
    timeout; a hang fails the test),
  * the intended message in stdout+stderr: the option name and its valid range (the texts of
    src/config.c, src/grid.c, src/output.c, src/ensemble.c),
  * a collective error reported once: at -np > 1 the "qrbm: ERROR: <message>" line appears exactly
    once (rank 0 reports, every rank returns the error and cleans up),
  * no output file and no OUTPUT.part left behind (in the run directory or at the -output path).

Runtime: a failing run costs ~2.5 s (mpirun's teardown after a non-zero exit), at any rank count
(the error is returned on every rank; nothing sleeps). The runs are independent and mostly idle, so
the table is executed once, concurrently (QRBM_BAD_INPUT_JOBS, default 4), on first use; each test
then checks its own result.
"""
import os
import re
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import QRBM, mpi_env

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
    "too_many_steps":          (1, ["-t_final", "1", "-dt", "1e-13"],
                                [r"-t_final / -dt = 1e\+13 steps: at most 1e12 steps are supported, increase -dt"], lambda out, c: _not_whole_claim(out), []),
    # physics parameters
    "hbar_0":                  (1, ["-hbar", "0"], [r"-hbar 0\.?: must be finite and > 0"], None, []),
    "box_negative":            (1, ["-box", "-1"], [r"-box -1\.?: must be a finite length > 0"], None, []),
    "potential_width_0":       (1, ["-potential_width", "0"], [r"-potential_width 0\.?: must be finite and > 0"], None, []),
    "trap_omega_negative":     (1, ["-trap_omega", "-1"], [r"-trap_omega -1\.?: must be finite and >= 0"], None, []),
    "cosine_width_not_dividing_box": (1, ["-potential", "cosine", "-potential_width", "3"],
                                      [r"-potential_width 3\.?: the cosine wavelength must divide -box 16\.? \(L/width integer\)"], None, []),
    # enumerated options
    "scheme_bogus":            (1, ["-scheme", "bogus"], [r"-scheme bogus: valid values are strang yoshida4$"], None, []),
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
    "output_unwritable":       (1, ["-output", "/nonexistent/dir/x.h5"], [r"-output /nonexistent/dir/x\.h5: cannot create /nonexistent/dir/x\.h5\.part"], None, []),
    "output_unwritable_np2":   (2, ["-output", "/nonexistent/dir/x.h5"], [r"-output /nonexistent/dir/x\.h5: cannot create /nonexistent/dir/x\.h5\.part"], None, []),
    "output_empty":            (1, ["-output", ""], [r"-output: file name must not be empty"], None, []),
    "output_interval_0":       (1, ["-output_interval", "0"], [r"-output_interval 0: must be >= 1 step"], None, []),
    "progress_interval_negative": (1, ["-progress_interval", "-1"], [r"-progress_interval -1: must be >= 0 steps"], None, []),
    # checkpoint options (validated before anything is written)
    "checkpoint_keep_0":       (1, ["-checkpoint_keep", "0"], [r"-checkpoint_keep 0: must be >= 1"], None, []),
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
    "enumerate_limit_np2":     (2, ["-method", "rbm", "-particles", "4", "-t_final", "0.03", "-rb_expectation", "enumerate", "-rb_enumerate_limit", "10"],
                                [r"-rb_expectation enumerate: 27\.? pairing sequences exceed -rb_enumerate_limit 10"], None, []),
}


def _single_report(out):
    n = out.count("qrbm: ERROR:")
    assert n == 1, f"{n} 'qrbm: ERROR:' reports for one collective error"


def _not_whole_claim(out):
    assert "not a whole number" not in out, "t_final/dt = 1e13 is whole, but the message claims it is not"


OPTIONS_FILE = "# a typo in an options file must not silently run the defaults\n-partikles 3\n"


def _run(case_id):
    """Run one case in a fresh directory; return a dict with the exit code, output, leftovers."""
    ranks, extra, _, _, _ = CASES[case_id]
    d = Path(tempfile.mkdtemp(prefix=f"qrbm-bad-{case_id}-"))
    (d / "bad.opts").write_text(OPTIONS_FILE)
    args = [a.replace("{dir}", str(d)) for a in extra]
    cmd = ["mpirun", "--oversubscribe", "-np", str(ranks), str(QRBM)] + BASE + args
    p = subprocess.Popen(cmd, cwd=d, env=mpi_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
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
    left = sorted(str(f) for f in d.iterdir() if f.name != "bad.opts")
    for o in outputs:
        if o:
            path = o if os.path.isabs(o) else str(d / o)
            left += [f for f in (path, path + ".part") if os.path.exists(f) and f not in left]
    for f in d.iterdir():
        f.unlink()
    d.rmdir()
    return {"cmd": " ".join(cmd), "rc": rc, "out": stdout + "\n" + stderr, "left": left}


_results = {}
_lock = threading.Lock()


def result(case_id):
    """All cases run concurrently on first use (they are independent and mostly wait)."""
    with _lock:
        if not _results:
            with ThreadPoolExecutor(max_workers=JOBS) as ex:
                # slowest (multi-rank) cases first so that they overlap with the rest
                order = sorted(CASES, key=lambda c: -CASES[c][0])
                for c, r in zip(order, ex.map(_run, order)):
                    _results[c] = r
    return _results[case_id]


@pytest.mark.parametrize("case_id", [pytest.param(c, marks=CASES[c][4]) for c in CASES])
def test_bad_input(case_id):
    ranks, extra, patterns, check, _ = CASES[case_id]
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
    "-fftw_wisdom": "any path: an unusable wisdom file is a warning, not an error (tests/test_wisdom.py)",
}
# Options whose bad values are not yet in either table (known gap, to be covered): the list may
# only shrink.
UNCOVERED = {"-rdm_batches", "-rdm_interval", "-rdm_max_mb", "-reference"}


def test_enough_cases():
    """Every option of the README table has a refused-value case (here or in test_config.c's
    test_invalid_refused), is a flag/free value listed in NO_BAD_VALUE, or is a known gap."""
    root = Path(__file__).resolve().parent.parent
    documented = set(re.findall(r"^\| `(-[a-z_0-9]+)`", (root / "README.md").read_text(), re.M))
    assert len(documented) >= 40, "README option table not found"
    unit = (root / "tests" / "unit" / "test_config.c").read_text()
    unit = unit[unit.index("test_invalid_refused(void"):]
    covered = set(re.findall(r"(-[a-z_0-9]+)", " ".join(re.findall(r'\{"([^"]*)", PETSC_ERR', unit))))
    for case in CASES.values():
        covered |= {a for a in case[1] if isinstance(a, str) and a.startswith("-")}
    missing = documented - covered - set(NO_BAD_VALUE) - UNCOVERED
    assert not missing, f"options without a bad-input case: {sorted(missing)}"
    assert not (UNCOVERED & covered), f"now covered, remove from UNCOVERED: {sorted(UNCOVERED & covered)}"
    assert (set(NO_BAD_VALUE) | UNCOVERED) <= documented, "stale entries: not in the README table"
    assert sum(1 for c in CASES.values() if c[0] > 1) >= 3  # collective errors at several ranks
