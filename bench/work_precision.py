#!/usr/bin/python3
"""Work-precision diagram: qrbm's splitting schemes against XMDS2's RK4IP and ARK45IP (`make bench-wp`).

Problem (the same grid in both codes, bench/wp_4p.xmds): 4 particles in 1-D, M = 64 on [-8, 8),
Gaussian pair potential 2 exp(-r^2/2) (minimum image, coupling 1/3), coherent product start
q = 0.3, p = 0.2, hbar = 1, t = 1, no trap. Measured at t = 1: the relative error of the
particle-averaged <x^2> and the relative L2 error of the one-body density.

Rules: one run of this script makes every number (ratios only within it); both codes use the same
thread count (-threads / <fftw threads>) on one process; FFTW wisdom is warm for both (one unmeasured
warm-up run per code before the measured ones: qrbm caches its wisdom per user, XMDS2 in
~/.xmds/wisdom); XMDS2 compile time is excluded (each variant is compiled before any timing);
the measured runs are interleaved (one run of each method in turn), so that load changes on a
shared machine fall on both codes alike, and the load average before and after is printed.
The table also lists each code's own elapsed time (qrbm: its summary line; XMDS2: its <benchmark/>
"Time elapsed for simulation"); both include setting up the potential and the initial
state; the ratios use the process wall time of each run (launch to exit: start-up, FFTW planning
from warm wisdom, the set-up, the time loop and the output). Reference: qrbm bm11 at dt = 1/16 and
bm6 at dt = 1/32 must agree to 1e-10 in both errors (else the script fails); bm11's result is
the reference (its own error is far below: sixth order, 176 FFT pairs).

Output: bench/wp.png (time against error, one panel per error) and a table on stdout and in
bench/wp.txt with, for each target error (1e-6, 1e-8), the time each method needs (log-log
interpolation between its measured points; "<=" when qrbm's coarsest run already beat the target, an
upper bound; n/a when no point reached it) and the ratios of qrbm's best scheme to XMDS2's best
integrator and to qrbm-yoshida4.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QRBM = ROOT / "bin" / "qrbm"
TEMPLATE = ROOT / "bench" / "wp_4p.xmds"
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
PROBLEM = ["-particles", "4", "-dim", "1", "-box", "16", "-potential", "gaussian", "-potential_strength", "2",
           "-potential_width", "1", "-init", "coherent", "-init_q", "0.3", "-init_p", "0.2", "-t_final", "1"]
# steps per unit time (t = 1) for each qrbm scheme, chosen to bracket the targets 1e-6 and 1e-8
# (one run costs ~0.3-2 s per FFT pair of 16.7M points on the 2-core machine, depending on load)
QRBM_STEPS = {"strang": [64], "yoshida4": [8, 16, 32, 64], "chin4": [4, 8, 16, 32], "bm6": [2, 4, 8], "bm11": [1, 2, 4, 8]}
RK4IP_STEPS = [16, 32, 64, 128]
ARK45_TOLS = [1e-4, 1e-5, 1e-7]
TARGETS = [1e-6, 1e-8]


def qrbm_run(scheme, nsteps, threads, work, M):
    out = work / f"q_{scheme}_{nsteps}.h5"
    cmd = ["mpirun", "--oversubscribe", "-np", "1", str(QRBM)] + PROBLEM + ["-grid", str(M),
        "-scheme", scheme, "-dt", repr(1.0 / nsteps), "-output_interval", str(nsteps), "-threads", str(threads),
        "-fftw_planner", "measure", "-output", str(out)]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    if res.returncode:
        sys.exit(f"qrbm failed: {' '.join(cmd)}\n{res.stdout}\n{res.stderr}")
    m = re.search(r"threads, ([0-9.]+) s", res.stdout)  # the summary line: wall time of the run
    with h5py.File(out) as f:
        x2, rho = f["observables/x2"][-1], f["density/rho"][-1]
    out.unlink()
    return wall, (float(m.group(1)) if m else float("nan")), x2, np.ravel(rho)


def xmds_build(name, algorithm, stepping, threads, work, M):
    src = TEMPLATE.read_text().replace("@NAME@", name).replace("@ALGORITHM@", algorithm).replace("@STEPPING@", stepping)
    src = src.replace("@THREADS@", str(threads)).replace("@M@", str(M))
    (work / f"{name}.xmds").write_text(src)
    res = subprocess.run(["xmds2", f"{name}.xmds"], cwd=work, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"xmds2 {name}.xmds failed:\n{res.stdout}\n{res.stderr}")
    return work / name


def xmds_run(exe, threads):
    t0 = time.perf_counter()
    res = subprocess.run([str(exe)], cwd=exe.parent, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    wall = time.perf_counter() - t0
    if res.returncode:
        sys.exit(f"{exe} failed:\n{res.stdout}\n{res.stderr}")
    m = re.search(r"Time elapsed for simulation is:\s*([0-9.eE+-]+)", res.stdout)
    with h5py.File(exe.parent / f"{exe.name}.h5") as f:
        dens = np.ravel(f["1/dens"][...])
        xx, nrm = float(np.ravel(f["2/xx"][...])[0]), float(np.ravel(f["2/nrm"][...])[0])
    return wall, float(m.group(1)), xx / nrm, dens


def errors(x2, rho, ref):
    x2r, rhor = ref
    rho = rho / rho.sum()
    return abs(x2 - x2r) / abs(x2r), np.linalg.norm(rho - rhor) / np.linalg.norm(rhor)


def time_at(points, target, k):
    """Time to reach error `target` (index k: 0 = <x^2>, 1 = density) by log-log interpolation
    between consecutive measured points, and whether it is only an upper bound: when no pair of
    points brackets the target but a measured point is already below it, its time bounds the time
    needed from above. nan when every point is above the target."""
    pts = sorted((p[1 + k], p[0]) for p in points if p[1 + k] > 0)
    for (e1, t1), (e2, t2) in zip(pts, pts[1:]):
        if e1 <= target <= e2:
            s = (np.log(target) - np.log(e1)) / (np.log(e2) - np.log(e1))
            return float(np.exp(np.log(t1) + s * (np.log(t2) - np.log(t1)))), False
    below = [t for e, t in pts if e <= target]
    return (min(below), True) if below else (float("nan"), False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=str(ROOT / "bench" / "wp-work"))
    ap.add_argument("--no-xmds", action="store_true", help="qrbm only (no XMDS2 installed)")
    ap.add_argument("--grid", type=int, default=64, help="M (64 is the problem of the targets; smaller for a quick check)")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    use_xmds = not a.no_xmds
    if use_xmds and not shutil.which("xmds2"):
        sys.exit("xmds2 not found: make bench-wp installs the Debian package xmds2 (or pass --no-xmds)")

    exes = {}
    if use_xmds:  # compile everything first: compile time is not measured
        # XMDS2 names the interaction-picture integrators RK4 and ARK45 when an "ip" operator is used
        for n in RK4IP_STEPS:
            exes["xmds-RK4IP", n] = xmds_build(f"wp_rk4ip_{n}", "RK4", f'steps="{n}"', a.threads, work, a.grid)
        for tol in ARK45_TOLS:
            exes["xmds-ARK45IP", tol] = xmds_build(f"wp_ark45ip_{tol:g}".replace("-", "m"), "ARK45", f'steps="16" tolerance="{tol:g}"', a.threads, work, a.grid)

    # warm-up (wisdom), then the reference from two schemes that must agree
    qrbm_run("chin4", 4, a.threads, work, a.grid)
    if use_xmds:
        xmds_run(exes["xmds-RK4IP", RK4IP_STEPS[0]], a.threads)
    _, _, x2r, rhor = qrbm_run("bm11", 16, a.threads, work, a.grid)
    _, _, x2c, rhoc = qrbm_run("bm6", 32, a.threads, work, a.grid)
    ref = (x2r, rhor / rhor.sum())
    agree = errors(x2c, rhoc, ref)
    print(f"reference: bm11 dt=1/16 vs bm6 dt=1/32: {agree[0]:.2e} (<x^2>), {agree[1]:.2e} (density)", flush=True)
    if max(agree) > 1e-10:
        sys.exit("reference: the two methods disagree by more than 1e-10")

    # Interleaved: one run of each method in turn (coarsest first), so that a change of the load on
    # a shared machine during the minutes of the benchmark falls on both codes alike.
    queues = [[("qrbm-" + s, n) for n in steps] for s, steps in QRBM_STEPS.items()]
    queues += [[(name, par) for (name, par) in exes if name == kind] for kind in ("xmds-RK4IP", "xmds-ARK45IP")]
    results, load0 = {}, os.getloadavg()[0]
    while any(queues):
        for q in queues:
            if not q:
                continue
            name, par = q.pop(0)
            if name.startswith("qrbm"):
                t, own, x2, rho = qrbm_run(name[5:], par, a.threads, work, a.grid)
                add(results, name, (t, *errors(x2, rho, ref), f"dt=1/{par}", own))
            else:
                t, own, x2, rho = xmds_run(exes[name, par], a.threads)
                add(results, name, (t, *errors(x2, rho, ref), f"steps={par}" if name.endswith("RK4IP") else f"tol={par:g}", own))
    a.load = (load0, os.getloadavg()[0])
    report(results, agree, a)


def add(results, name, row):
    results.setdefault(name, []).append(row)
    t, e1, e2, s, own = row
    print(f"{name:16s} {s:12s} {t:9.2f} {own:9.2f} {e1:10.2e} {e2:10.2e}", flush=True)


def report(results, agree, a):
    lines = [f"# work-precision: N=4 d=1 M={a.grid} t=1, {a.threads} threads; reference bm11 dt=1/16 vs bm6 dt=1/32: "
             f"{agree[0]:.1e} (<x^2>), {agree[1]:.1e} (density); load average {a.load[0]:.1f} at the start, "
             f"{a.load[1]:.1f} at the end of the measured runs (interleaved)",
             f"{'method':16s} {'setting':12s} {'wall [s]':>9s} {'own [s]':>9s} {'err <x^2>':>10s} {'err rho':>10s}"]
    for name, pts in results.items():
        for t, e1, e2, s, own in pts:
            lines.append(f"{name:16s} {s:12s} {t:9.2f} {own:9.2f} {e1:10.2e} {e2:10.2e}")
    # qrbm's time may be an upper bound (its coarsest run already beat the target): the ratios are
    # then upper bounds too, which is the safe direction for "at most"; XMDS2's times must be
    # interpolated (an upper bound on the denominator would flatter qrbm).
    for k, what in enumerate(["<x^2>", "density"]):
        for target in TARGETS:
            times = {name: time_at(pts, target, k) for name, pts in results.items()}
            q = {n: t for n, (t, _) in times.items() if n.startswith("qrbm") and np.isfinite(t)}
            best = min(q, key=q.get) if q else None
            row = "  ".join(f"{n}={'<=' if b else ''}{t:.3g}s" if np.isfinite(t) else f"{n}=n/a" for n, (t, b) in times.items())
            lines.append(f"time to {what} error {target:g}: {row}")
            if best:
                x = [t for n, (t, b) in times.items() if n.startswith("xmds") and np.isfinite(t) and not b]
                ty, by = times["qrbm-yoshida4"]
                ratio_x = q[best] / min(x) if x else float("nan")
                ratio_y = q[best] / ty if np.isfinite(ty) and not by else float("nan")
                lines.append(f"  best qrbm {best}: {q[best]:.3g} s; / XMDS2 best = {ratio_x:.3f} (target <= 0.25); "
                             f"/ qrbm-yoshida4 = {ratio_y:.3f} (target <= 0.4)")
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "wp.txt").write_text(text + "\n")
    plot(results, a.grid)


def plot(results, M):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 2, figsize=(11, 4.5))
    for k, (ax, what) in enumerate(zip(axs, ["relative error of <x^2>(t=1)", "relative L2 error of the density"])):
        for name, pts in results.items():
            pts = sorted(pts, key=lambda p: p[0])
            ax.loglog([p[1 + k] for p in pts], [p[0] for p in pts], "o-" if name.startswith("qrbm") else "s--", label=name)
        for target in TARGETS:
            ax.axvline(target, color="grey", lw=0.5)
        ax.set_xlabel(what)
        ax.set_ylabel("wall time [s]")
        ax.invert_xaxis()
    axs[0].legend(fontsize=8)
    fig.suptitle(f"4 particles, 1-D, M = {M}, t = 1 (bench/work_precision.py)")
    fig.tight_layout()
    fig.savefig(ROOT / "bench" / "wp.png", dpi=120)


if __name__ == "__main__":
    main()
