#!/usr/bin/env python3
"""qrbm benchmark suite (`make bench`): where the time of a step goes, and how it compares.

For each case (A: N=4, M=64, d=1; B: N=6, M=16, d=1; 16.7 M points, 268 MB each):
  * bin/qrbm at 1 rank x 1 thread, 1 rank x 2 threads and 2 ranks x 1 thread, a few exact Strang
    steps with -fftw_planner measure (wisdom cache in a temporary XDG_CACHE_HOME) and -log_view; from the
    TimeLoop stage: time of the leading-axes forward+backward FFT pair (event QrbmFFT, 2 calls per
    pair), of the fused trailing-axes transforms and phase (QrbmKinetic) and of the potential step
    (QrbmPotential). A steady-state step is pair + kinetic + potential (qrbm merges adjacent kinetic
    half-steps: n steps = n+1 pairs); TimeLoop/n (which also holds the extra pair and the final
    observables) is shown as well. Speed-ups of 2 threads and of 2 ranks, per phase, each next to
    the STREAM-like bound;
  * build/bench/bench_step, every scheme of `bin/qrbm -help` (the scheme table) at 1 rank x 1 thread:
    a steady-state step / (FFT pairs per step x one plain FFTW-MPI forward + backward pair of the
    whole array), both timed in the same process (--clock cpu: process CPU time, less disturbed by
    other jobs); it plans through the same wisdom cache, so only its first run plans;
  * build/bench/bench_stream: a STREAM-like in-place pass psi *= c over the same number of points at
    1 and 2 threads; the bandwidth ratio bounds the thread speed-up of memory-bound phases;
  * planning: QrbmFFTPlan of a first run with an empty wisdom cache and of a second identical run;
  * build/bench/bench_rdm: R_1 (QrbmRdmLabel of the last label, QrbmRdmLabelAverage) against one
    plain zgemm Gram product Z Z^H of the same shape, at 1 and 2 threads, on the loaded BLAS.
With --full also: build/bench/bench_potential (QrbmPotentialApply against a naive per-point pair sum
+ exp, one plain memory pass), bench/numpy_step.py (the same step in NumPy), the random batch step
(P = 2, Dt = dt: QrbmPotentialRB, QrbmShuffleBcast, ratio to the exact step) and the ensemble
throughput (realisation-steps per second) of 4 realisations of N=4, M=32 on 2 ranks as 1 group of 2
ranks and as 2 groups of 1 rank; and more repeats and steps (see DEFAULTS).

The default run should take about 10 minutes on a quiet 2-core machine (estimate), --full about 25. Prints one table
(every figure of issue 11 with its target); writes nothing into the repository. The machine has 2
cores: other jobs running at the same time distort every number (the table says how much CPU they
used). qrbm phases are the best of --repeat runs (per phase), i.e. the quietest; the script waits
(at most 60 s in all) for other processes to go quiet before each measurement.

Options: --full, --steps S, --repeat R, --cases A,B, --clock wall|cpu (step/pair ratios),
--keep DIR (keep logs, the wisdom cache and outputs in DIR).
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QRBM = os.path.join(ROOT, "bin", "qrbm")
BENCH_POT = os.path.join(ROOT, "build", "bench", "bench_potential")
BENCH_RDM = os.path.join(ROOT, "build", "bench", "bench_rdm")
BENCH_STREAM = os.path.join(ROOT, "build", "bench", "bench_stream")
BENCH_STEP = os.path.join(ROOT, "build", "bench", "bench_step")
NUMPY_STEP = os.path.join(ROOT, "bench", "numpy_step.py")
PY = "/usr/bin/python3"

CASES = {"A": dict(particles=4, grid=64, dim=1), "B": dict(particles=6, grid=16, dim=1)}
# (ranks, threads); threads > 1 need --bind-to none: Open MPI binds each rank to one core by default
# for <= 2 ranks, which would put both threads of a rank on the same core.
CONFIGS = [(1, 1), (1, 2), (2, 1)]
DT = 0.01
TARGET_STEP_OVER_PAIR = 1.10
TARGET_NUMPY = 10.0
TARGET_PLAN_RATIO = 0.05
TARGET_THREAD = {"A": 1.7, "B": 1.5}

MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle, sum(v[:8])


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


FOREIGN = []  # CPU seconds per wall second used by other processes during each measurement
GATE = {"waited": 0.0, "budget": 60.0}


def wait_quiet(limit=0.15):
    """Wait (within a total budget) until other processes use less than `limit` cores."""
    hz = os.sysconf("SC_CLK_TCK")
    while GATE["waited"] < GATE["budget"]:
        b0, _ = cpu_jiffies()
        time.sleep(0.5)
        b1, _ = cpu_jiffies()
        GATE["waited"] += 0.5
        if (b1 - b0) / hz / 0.5 < limit:
            return


def run(cmd, env=None, timeout=900):
    wait_quiet()
    hz = os.sysconf("SC_CLK_TCK")
    b0, c0, w0 = cpu_jiffies()[0], children_cpu(), time.time()
    p = subprocess.run(cmd, env=env or MPI_ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:])
        raise SystemExit(f"run_bench: command failed (exit {p.returncode}): {' '.join(cmd)}")
    foreign = ((cpu_jiffies()[0] - b0) / hz - (children_cpu() - c0)) / max(time.time() - w0, 1e-9)
    FOREIGN.append(max(foreign, 0.0))
    return p.stdout


def mpirun(ranks, threads):
    cmd = ["mpirun", "--oversubscribe", "-np", str(ranks)]
    if threads > 1:
        cmd += ["--bind-to", "none"]
    return cmd


def parse_log_view(text, stage="TimeLoop"):
    """Stage time and {event: (count, max time)} of one stage of PETSc's -log_view table."""
    m = re.search(r"^\s*\d+:\s+%s:\s+([0-9.eE+-]+)" % stage, text, re.M)
    if not m:
        raise SystemExit(f"run_bench: no stage {stage} in -log_view output")
    stage_time = float(m.group(1))
    sec = re.search(r"^--- Event Stage \d+: %s\s*$(.*?)(?=^--- Event Stage|^-{20,}|^={20,})" % stage, text, re.M | re.S)
    if not sec:
        raise SystemExit(f"run_bench: no event section for stage {stage}")
    events = {}
    for line in sec.group(1).splitlines():
        f = line.split()
        if len(f) >= 5 and f[0].startswith("Qrbm"):
            events[f[0]] = (int(f[1]), float(f[3]))
    return stage_time, events


def kv(line):
    return dict(x.split("=", 1) for x in line.split() if "=" in x)


def qrbm_env(work):
    """mpirun environment with the wisdom cache in the work directory."""
    return dict(MPI_ENV, XDG_CACHE_HOME=os.path.join(work, "xdg-cache"))


def schemes():
    """The splitting schemes bin/qrbm offers (from -help)."""
    out = subprocess.run([QRBM, "-help"], env=MPI_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    m = re.search(r"^\s*-scheme .*\(one of: ([^)]*)\)", out, re.M)
    if not m:
        raise SystemExit("run_bench: no -scheme line in bin/qrbm -help")
    return m.group(1).split()


def qrbm_case(case, ranks, threads, steps, work, scheme="strang"):
    c = CASES[case]
    out = run(mpirun(ranks, threads) + [
        QRBM, "-particles", str(c["particles"]), "-grid", str(c["grid"]), "-dim", str(c["dim"]),
        "-t_final", repr(round(steps * DT, 10)), "-dt", repr(DT), "-output_interval", "1000", "-quiet",
        "-threads", str(threads), "-fftw_planner", "measure", "-scheme", scheme,
        "-output", os.path.join(work, f"{case}.np{ranks}.t{threads}.h5"), "-log_view"], env=qrbm_env(work))
    with open(os.path.join(work, f"{case}.np{ranks}.t{threads}.{scheme}.log"), "w") as f:
        f.write(out)
    loop, ev = parse_log_view(out)
    if "QrbmKinetic" not in ev:
        raise SystemExit("run_bench: event QrbmKinetic missing from the TimeLoop stage")
    # A kinetic sub-step logs QrbmKinetic (the split sub-step's in-cache pass, with its distributed
    # transforms in QrbmFFT; on one rank the two in-cache passes; at the output time the phase) or,
    # on one rank with the next potential stage folded in, QrbmKineticPotential. n steps have one
    # kinetic sub-step more than pairs (merged ends): the last one, at the output time, is left out.
    n = lambda e: ev.get(e, (0, 0.0))[0]
    t = lambda e: ev.get(e, (0, 0.0))[1]
    avg = lambda e, c: t(e) / c if c else 0.0
    kin = (t("QrbmFFT") + t("QrbmKinetic")) / n("QrbmKinetic")
    total = t("QrbmFFT") + t("QrbmKinetic") + t("QrbmKineticPotential") + t("QrbmPotential")
    return dict(pair=avg("QrbmFFT", n("QrbmKinetic")), kin=kin, kp=avg("QrbmKineticPotential", n("QrbmKineticPotential")),
                pot=avg("QrbmPotential", n("QrbmPotential")), step=(total - kin) / steps, loop=loop / steps)


def plan_time(case, work, tag):
    """QrbmFFTPlan time (Setup stage) of one short run of a case at 1 rank, with the cache in work."""
    c = CASES[case]
    out = run(mpirun(1, 1) + [
        QRBM, "-particles", str(c["particles"]), "-grid", str(c["grid"]), "-dim", str(c["dim"]),
        "-t_final", repr(DT), "-dt", repr(DT), "-quiet", "-fftw_planner", "measure",
        "-output", os.path.join(work, f"{case}.plan{tag}.h5"), "-log_view"], env=qrbm_env(work))
    return parse_log_view(out, "Setup")[1]["QrbmFFTPlan"][1]


def stream(points):
    """In-place pass bandwidth (GB/s) at 1 and 2 threads."""
    out = run(mpirun(1, 2) + [BENCH_STREAM, "-points", str(points), "-threads", "2", "-reps", "5"])
    return {int(kv(ln)["threads"]): float(kv(ln)["scale_GBs"]) for ln in out.splitlines() if ln.startswith("bench_stream")}


def step_cost(case, scheme, clock, work, size):
    """bench_step at 1 rank x 1 thread with -fftw_planner measure, through the run's wisdom cache."""
    c = CASES[case]
    out = run(mpirun(1, 1) + [BENCH_STEP, "-particles", str(c["particles"]), "-grid", str(c["grid"]), "-dim", str(c["dim"]),
                               "-dt", repr(DT), "-scheme", scheme, "-fftw_planner", "measure", "-clock", clock,
                               "-reps", str(size["step_reps"]), "-nsteps", str(size["step_n"])], env=qrbm_env(work))
    return kv([ln for ln in out.splitlines() if ln.startswith("bench_step")][0])


def rdm(case, threads):
    c = CASES[case]
    out = run(mpirun(1, threads) + [BENCH_RDM, "-particles", str(c["particles"]), "-grid", str(c["grid"]),
                                     "-dim", str(c["dim"]), "-threads", str(threads), "-reps", "3"])
    return kv([ln for ln in out.splitlines() if ln.startswith("bench_rdm")][0])


def qrbm_rb(case, steps, work):
    """The random batch step (P = 2, a reshuffle every step) of a case at 1 rank x 1 thread."""
    c = CASES[case]
    out = run(mpirun(1, 1) + [
        QRBM, "-particles", str(c["particles"]), "-grid", str(c["grid"]), "-dim", str(c["dim"]),
        "-t_final", repr(round(steps * DT, 10)), "-dt", repr(DT), "-output_interval", "1000", "-quiet",
        "-method", "rbm", "-fftw_planner", "measure",
        "-output", os.path.join(work, f"{case}.rbm.h5"), "-log_view"], env=qrbm_env(work))
    _, ev = parse_log_view(out)
    t = lambda e: ev.get(e, (0, 0.0))[1]
    c = lambda e: max(ev.get(e, (0, 0.0))[0], 1)
    kin = (t("QrbmFFT") + t("QrbmKinetic")) / c("QrbmKinetic")
    total = t("QrbmFFT") + t("QrbmKinetic") + t("QrbmKineticPotential") + t("QrbmPotentialRB") + t("QrbmShuffleBcast")
    # on one rank the potential stage is folded into the kinetic pass (no QrbmPotentialRB: 0)
    return dict(pot=t("QrbmPotentialRB") / c("QrbmPotentialRB"), shuffle=t("QrbmShuffleBcast") / c("QrbmShuffleBcast"),
                step=(total - kin) / steps)


ENSEMBLE = dict(particles=4, grid=32, dim=1, realizations=4)  # 1 M points: 4 realisations on 2 ranks


def ensemble_throughput(groups, steps, work):
    """Realisation-steps per second of an ensemble on 2 ranks split into `groups` groups."""
    e = ENSEMBLE
    out = run(mpirun(2, 1) + [
        QRBM, "-particles", str(e["particles"]), "-grid", str(e["grid"]), "-dim", str(e["dim"]),
        "-t_final", repr(round(steps * DT, 10)), "-dt", repr(DT), "-output_interval", "1000", "-quiet",
        "-method", "rbm", "-realizations", str(e["realizations"]), "-ranks_per_realization", str(2 // groups),
        "-fftw_planner", "measure",
        "-output", os.path.join(work, f"ensemble.g{groups}.h5"), "-log_view"], env=qrbm_env(work))
    loop, _ = parse_log_view(out)
    return e["realizations"] * steps / loop


CASES_POINTS = 1 << 24  # both cases: M^(N d) = 16.7 M points
SCHEMES = []


def best_of(case, ranks, threads, steps, repeat, work, scheme):
    """Per phase the best (quietest) of `repeat` runs."""
    runs = [qrbm_case(case, ranks, threads, steps, work, scheme) for _ in range(repeat)]
    best = {k: min(x[k] for x in runs) for k in runs[0]}
    print(f"[bench]   qrbm {scheme} {ranks} rank(s) x {threads} thread(s): step {best['step']:.4f} s "
          f"(runs: {', '.join('%.4f' % x['step'] for x in runs)})", flush=True)
    return best


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return float("nan")


# What a run measures. bench_step's cost is (reps + 1) x (nsteps + 2) steps per scheme, i.e. for bm11
# (11 FFT pairs per step) 264 pairs at --full sizes: with two runs per scheme, two cases and a
# re-planning per run (before the wisdom cache was used) that section alone took over 20 minutes on
# the loaded machine, which looked like a stall after the first step/pair rows.
DEFAULTS = {False: dict(steps=6, repeat=2, step_reps=2, step_n=1, scheme_runs=1),
            True: dict(steps=10, repeat=2, step_reps=3, step_n=4, scheme_runs=2)}


def section(label, t0):
    print(f"[bench]   ({label}: {time.time() - t0:.0f} s)", flush=True)


def measure_threads(case, r, a, size, work):
    t0 = time.time()
    for ranks, threads in CONFIGS:
        r[(ranks, threads)] = best_of(case, ranks, threads, size["steps"], size["repeat"], work, "strang")
    r["stream"] = stream(CASES_POINTS)
    print(f"[bench]   in-place pass bandwidth: {r['stream'][1]:.2f} GB/s (1 thread), {r['stream'][2]:.2f} GB/s (2 threads)", flush=True)
    section("threads and ranks", t0)


def measure_schemes(case, r, a, size, work):
    t0 = time.time()
    r["schemes"] = {}
    for s in SCHEMES:
        print(f"[bench]   step / FFT pairs, {s} ...", flush=True)
        runs = [step_cost(case, s, a.clock, work, size) for _ in range(size["scheme_runs"])]
        r["schemes"][s] = min(runs, key=lambda x: float(x["step_over_pairs"]))  # the quietest
        print(f"[bench]   step / FFT pairs, {s}: {', '.join(x['step_over_pairs'] for x in runs)}", flush=True)
    section("schemes", t0)


def measure_plan_rdm(case, r, work):
    t0 = time.time()
    plan_dir = os.path.join(work, f"plan-{case}")
    os.makedirs(plan_dir, exist_ok=True)  # qrbm refuses an output in a missing directory
    r["plan"] = [plan_time(case, plan_dir, i) for i in (1, 2)]
    print(f"[bench]   planning: first run {r['plan'][0]:.3f} s, second run {r['plan'][1]:.4f} s", flush=True)
    r["rdm"] = {t: rdm(case, t) for t in (1, 2)}
    print(f"[bench]   R_1: {float(r['rdm'][1]['label_s']):.4f} s, plain Gram product {float(r['rdm'][1]['gram_s']):.4f} s "
          f"(OpenBLAS kernels: {r['rdm'][1]['openblas_core']})", flush=True)
    section("planning and R_1", t0)


def measure_full(case, r, size, work):
    """--full only: potential micro-benchmark, NumPy step, random batch step."""
    c = CASES[case]
    t0 = time.time()
    line = run(mpirun(1, 1) + [BENCH_POT, "-particles", str(c["particles"]), "-grid", str(c["grid"]),
                                "-dim", str(c["dim"]), "-dt", repr(DT), "-reps", "3", "-threads", "1"])
    r["pot"] = kv([ln for ln in line.splitlines() if ln.startswith("bench_potential")][0])
    print(f"[bench]   potential micro-benchmark: hoisted {float(r['pot']['hoisted_s']):.4f} s, naive {float(r['pot']['naive_s']):.4f} s", flush=True)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    line = run([PY, NUMPY_STEP, "--particles", str(c["particles"]), "--grid", str(c["grid"]), "--dim", str(c["dim"]),
                "--dt", repr(DT), "--steps", "2"], env=env)
    r["numpy"] = kv([ln for ln in line.splitlines() if ln.startswith("numpy_step")][0])
    print(f"[bench]   numpy step {float(r['numpy']['step_s']):.3f} s", flush=True)
    rb = [qrbm_rb(case, size["steps"], work) for _ in range(size["repeat"])]
    r["rb"] = {k: min(x[k] for x in rb) for k in rb[0]}
    print(f"[bench]   random batch step {r['rb']['step']:.4f} s", flush=True)
    section("--full extras", t0)


def ratio(a, b):
    return a / b if b > 0 else float("nan")


def ok(v, target, ge):
    return "ok" if (v >= target if ge else v <= target) else "MISS"


def thread_rows(res, cases, clock):
    """Per-configuration phases, then the 2-thread and 2-rank speed-ups, each next to its bound."""
    rows = []  # (label, [values per case], fmt, (target, ge) or None, note)
    for ranks, threads in CONFIGS:
        tag = f"{ranks}r x {threads}t"
        for key, name in (("pair", "kinetic sub-step: distributed FFTs (QrbmFFT)"), ("kin", "kinetic sub-step alone (QrbmFFT + QrbmKinetic)"),
                          ("kp", "kinetic + folded potential (QrbmKineticPotential)"), ("pot", "potential stage alone (QrbmPotential)"),
                          ("step", "step (phases; steady state)"), ("loop", "TimeLoop / steps")):
            rows.append((f"[{tag}] {name} [s]", [res[k][(ranks, threads)][key] for k in cases], "{:.4f}", None, ""))
    bound = [res[k]["stream"][2] / res[k]["stream"][1] for k in cases]
    note = "  (memory-bound limit: STREAM 2t/1t " + "/".join("%.2f" % b for b in bound) + ")"
    rows.append(("in-place pass bandwidth 1t / 2t [GB/s]", [f"{res[k]['stream'][1]:.2f} / {res[k]['stream'][2]:.2f}" for k in cases], "{}", None, ""))
    rows.append(("memory-bound speed-up limit (STREAM 2t/1t)", bound, "{:.3f}", None, ""))
    rows.append(("speed-up 1r x 2t vs 1r x 1t (step)", [ratio(res[k][(1, 1)]["step"], res[k][(1, 2)]["step"]) for k in cases], "{:.3f}",
                 ([TARGET_THREAD[k] for k in cases], True), note))
    for ph, name in (("kin", "kinetic sub-step"), ("kp", "kinetic + folded potential"), ("pot", "potential stage")):
        rows.append((f"speed-up 1r x 2t vs 1r x 1t ({name})", [ratio(res[k][(1, 1)][ph], res[k][(1, 2)][ph]) for k in cases], "{:.3f}", None, note))
    rows.append(("speed-up 2r x 1t vs 1r x 1t (step)", [ratio(res[k][(1, 1)]["step"], res[k][(2, 1)]["step"]) for k in cases], "{:.3f}", None, note))
    return rows


def scheme_rows(res, cases, clock):
    rows = []
    for s in SCHEMES:
        sc = {k: res[k]["schemes"][s] for k in cases}
        rows.append((f"[{clock}] {s}: FFT pairs per step", [int(sc[k]["pairs"]) for k in cases], "{:d}", None, ""))
        rows.append((f"[{clock}] {s}: plain FFTW pair / qrbm unfused pair [s]", [f"{float(sc[k]['fftw_pair_s']):.4f} / {float(sc[k]['pair_s']):.4f}" for k in cases], "{}", None, ""))
        rows.append((f"[{clock}] {s}: kinetic sub-step: qrbm / FFTW pair + phase [s]", [f"{float(sc[k]['kinetic_s']):.4f} / {float(sc[k]['plain_kinetic_s']):.4f}" for k in cases], "{}", None, ""))
        rows.append((f"[{clock}] {s}: potential stage [s]", [float(sc[k]["potential_s"]) for k in cases], "{:.4f}", None, ""))
        rows.append((f"[{clock}] {s}: step / (pairs x FFTW pair)", [float(sc[k]["step_over_pairs"]) for k in cases], "{:.3f}", (TARGET_STEP_OVER_PAIR, False), ""))
    return rows


def plan_rdm_rows(res, cases):
    rows = [("planning (measure): first run, empty cache [s]", [res[k]["plan"][0] for k in cases], "{:.3f}", None, ""),
            ("planning: second identical run [s]", [res[k]["plan"][1] for k in cases], "{:.4f}", None, ""),
            ("planning: second / first", [res[k]["plan"][1] / res[k]["plan"][0] for k in cases], "{:.4f}", (TARGET_PLAN_RATIO, False), "")]
    for t in (1, 2):
        rows.append((f"R_1 (last label, exact run), {t}t [s]", [float(res[k]["rdm"][t]["label_s"]) for k in cases], "{:.4f}", None, ""))
        rows.append((f"R_1 label average (RB run), {t}t [s]", [float(res[k]["rdm"][t]["average_s"]) for k in cases], "{:.4f}", None, ""))
        rows.append((f"plain zgemm Gram product, same shape, {t}t [s]", [float(res[k]["rdm"][t]["gram_s"]) for k in cases], "{:.4f}", None, ""))
        rows.append((f"R_1 / plain Gram product, {t}t", [float(res[k]["rdm"][t]["label_over_gram"]) for k in cases], "{:.3f}", None, ""))
    rows.append(("BLAS: OpenBLAS kernel set", [res[k]["rdm"][1]["openblas_core"] for k in cases], "{}", None, ""))
    return rows


def full_rows(res, cases):
    P = lambda k: res[k]["pot"]
    return [("potential: hoisted QrbmPotentialApply [s]", [float(P(k)["hoisted_s"]) for k in cases], "{:.4f}", None, ""),
            ("potential: naive per-point sum+exp [s]", [float(P(k)["naive_s"]) for k in cases], "{:.4f}", None, ""),
            ("potential: naive / hoisted (speed-up)", [float(P(k)["ratio_naive_over_hoisted"]) for k in cases], "{:.2f}", None, ""),
            ("potential: |hoisted-naive| / max|psi|", [float(P(k)["max_rel_diff"]) for k in cases], "{:.1e}", None, ""),
            ("one memory pass psi *= c (1t) [s]", [float(P(k)["mempass_s"]) for k in cases], "{:.4f}", None, ""),
            ("NumPy step (1 core) [s]", [float(res[k]["numpy"]["step_s"]) for k in cases], "{:.3f}", None, ""),
            ("NumPy step / qrbm step (1r x 1t)", [ratio(float(res[k]["numpy"]["step_s"]), res[k][(1, 1)]["step"]) for k in cases], "{:.2f}", (TARGET_NUMPY, True), ""),
            ("RB potential step (P=2) [s]", [res[k]["rb"]["pot"] for k in cases], "{:.4f}", None, ""),
            ("RB shuffle + broadcast [s]", [res[k]["rb"]["shuffle"] for k in cases], "{:.2e}", None, ""),
            ("RB potential / exact potential", [ratio(res[k]["rb"]["pot"], res[k][(1, 1)]["pot"]) for k in cases], "{:.3f}", None, ""),
            ("RB step / exact step (1r x 1t)", [ratio(res[k]["rb"]["step"], res[k][(1, 1)]["step"]) for k in cases], "{:.3f}", None, "")]


def print_table(rows, cases, title):
    width = max(len(r[0]) for r in rows) + 2
    head = "".join(f"{k + ': N=%d M=%d d=%d' % (CASES[k]['particles'], CASES[k]['grid'], CASES[k]['dim']):>20}" for k in cases)
    print()
    print(title)
    print(f"{'':{width}}{head}   target")
    for label, vals, fmt, tgt, note in rows:
        line = f"{label:{width}}" + "".join(f"{fmt.format(v):>20}" for v in vals)
        if tgt:
            per = tgt[0] if isinstance(tgt[0], list) else [tgt[0]] * len(vals)
            line += f"   {'>=' if tgt[1] else '<='} {'/'.join('%g' % x for x in per)}  " + " ".join(ok(v, x, tgt[1]) for v, x in zip(vals, per))
        print(line + note)


def main():
    ap = argparse.ArgumentParser(description="qrbm benchmark suite")
    ap.add_argument("--full", action="store_true", help="also the NumPy, random batch, ensemble and potential micro-benchmarks; more repeats")
    ap.add_argument("--steps", type=int, help="Strang steps per qrbm run (default 6, --full 10)")
    ap.add_argument("--cases", default="A,B")
    ap.add_argument("--repeat", type=int, help="runs of each qrbm configuration (best of, per phase; default 2)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="clock of the step / FFT pair ratios (bench_step -clock)")
    ap.add_argument("--keep", help="directory for logs, wisdom and outputs (default: a temporary one)")
    a = ap.parse_args()
    size = dict(DEFAULTS[a.full])
    size.update({k: v for k, v in (("steps", a.steps), ("repeat", a.repeat)) if v})
    cases = a.cases.split(",")
    SCHEMES.extend(schemes())
    for exe in (QRBM, BENCH_POT, BENCH_RDM, BENCH_STREAM, BENCH_STEP):
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"run_bench: {exe} missing: run `make bench`")
    t_start = time.time()
    load0 = loadavg()
    tmp = None
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        work = a.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="qrbm-bench-")
        work = tmp.name

    res = {}
    for case in cases:
        c = CASES[case]
        r = res[case] = {}
        n0 = len(FOREIGN)
        print(f"[bench] case {case}: N={c['particles']} M={c['grid']} d={c['dim']}", flush=True)
        measure_threads(case, r, a, size, work)
        measure_schemes(case, r, a, size, work)
        measure_plan_rdm(case, r, work)
        if a.full:
            measure_full(case, r, size, work)
        r["foreign"] = max(FOREIGN[n0:])
    if a.full:
        n0 = len(FOREIGN)
        print(f"[bench] ensemble: N={ENSEMBLE['particles']} M={ENSEMBLE['grid']}, {ENSEMBLE['realizations']} realisations on 2 ranks", flush=True)
        thr = {g: max(ensemble_throughput(g, size["steps"], work) for _ in range(size["repeat"])) for g in (1, 2)}
        foreign_ens = max(FOREIGN[n0:])
    load1 = loadavg()

    rows = thread_rows(res, cases, a.clock) + scheme_rows(res, cases, a.clock) + plan_rdm_rows(res, cases)
    if a.full:
        rows += full_rows(res, cases)
    rows.append(("other jobs' CPU during runs (cores, max)", [res[k]["foreign"] for k in cases], "{:.2f}", None, ""))
    print_table(rows, cases, f"qrbm benchmark{' (--full)' if a.full else ''}: {size['steps']} Strang steps per qrbm run (exact interaction, dt {DT}), "
                f"-fftw_planner measure, 16.7 M points per case, best of {size['repeat']}")
    if a.full:
        print(f"ensemble throughput, N={ENSEMBLE['particles']} M={ENSEMBLE['grid']} d=1, {ENSEMBLE['realizations']} realisations on 2 ranks "
              f"(other jobs' CPU {foreign_ens:.2f} cores):")
        print(f"  1 group x 2 ranks: {thr[1]:.1f} realisation-steps/s;  2 groups x 1 rank: {thr[2]:.1f} realisation-steps/s;  ratio {thr[2] / thr[1]:.2f}")
    print(f"load average {load0:.2f} before, {load1:.2f} after; waited {GATE['waited']:.0f} s for a quiet machine; total {time.time() - t_start:.0f} s")
    if max(res[k]["foreign"] for k in cases) > 0.2:
        print("WARNING: other processes used CPU during the measurements (2-core machine): the numbers are distorted, the wall-clock "
              "thread and rank speed-ups most; rerun on a quiet machine")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
