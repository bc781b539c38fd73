#!/usr/bin/python3
"""Scaling analysis of qrbm runs from PETSc -log_view text files.

    /usr/bin/python3 tools/scaling.py DIR_OR_FILES... [-o scaling.csv] [--plot scaling.png]
                                      [--kind auto|strong|weak] [--stage TimeLoop]

Reads every -log_view file given (a directory stands for its *.log_view files, as written by
jobs/strong_scaling.sh and jobs/weak_scaling.sh), and for each run takes
  ranks    from "... with N processors" (MPI ranks),
  threads  from -threads in PETSc's option table (default 1),
  problem  from the option table (-particles, -dim, -grid, -realizations, -t_final/-dt, -method,
           -scheme; defaults as bin/qrbm -help; options read from -options_file are listed there too),
  time     the average time of the stage --stage (default TimeLoop; total time if it is missing),
  per-stage times (stage_<name>, average over ranks), per-event times (event_<name>: max over
  ranks, summed over all stages; loop_<name>: the same inside the --stage stage only).
It writes one CSV row per run (sorted by problem and cores = ranks x threads) with speed-up and
parallel efficiency, and a PNG with speed-up, efficiency and per-event times against cores.

Strong scaling (same problem): speedup = c0 T(c0) / T(c) (ideal = c), efficiency = speedup / c,
relative to the run of the same problem with the fewest cores c0.
Weak scaling (problem grows with c): with work W = grid points x realisations x steps and work per
core w = W / c, efficiency = (T0 / w0) / (T / w) and scaled speed-up = efficiency x c, relative to
the run with the fewest cores (T(1)/T(p) when the work per core is exactly the same).
--kind auto: strong if all runs solve the same problem, weak otherwise.
"""
import argparse
import csv
import re
import sys
from pathlib import Path

DEFAULTS = {"dim": 1, "particles": 2, "grid": 64, "t_final": 1.0, "dt": 0.01, "realizations": 1,
            "method": "exact", "scheme": "strang", "threads": 1}
EVENT_ORDER = ["QrbmFFT", "QrbmKinetic", "QrbmPotential", "QrbmPotentialRB", "QrbmShuffleBcast",
               "QrbmObservables", "QrbmIO"]
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class LogViewError(ValueError):
    pass


def parse_log_view(text, name="<text>"):
    """Parse one PETSc -log_view text table. Returns a dict with keys ranks, total_time,
    stages {name: avg time}, events {name: summed max time}, events_by_stage {stage: {event: time}},
    event_counts {name: summed max count}, options {name: value or ''}."""
    lines = text.splitlines()
    res = {"ranks": None, "total_time": None, "stages": {}, "events": {}, "events_by_stage": {},
           "event_counts": {}, "options": {}}
    for ln in lines:
        m = re.search(r"\bwith (\d+) processors?\b", ln)
        if m:
            res["ranks"] = int(m.group(1))
            break
    for ln in lines:
        m = re.match(rf"^Time \(sec\):\s+({_NUM})\s+({_NUM})\s+({_NUM})", ln)
        if m:
            res["total_time"] = float(m.group(1))  # max over ranks
            break
    # Summary of Stages:  " 3:        TimeLoop: 1.7136e-01  47.0% ..."
    in_stages = False
    for ln in lines:
        if ln.startswith("Summary of Stages"):
            in_stages = True
            continue
        if in_stages:
            m = re.match(rf"^\s*(\d+):\s+(.*?):\s+({_NUM})\s+({_NUM})%", ln)
            if m:
                res["stages"][m.group(2).strip()] = float(m.group(3))
            elif ln.startswith("---") or (res["stages"] and not ln.strip()):
                in_stages = False
    # Event table: from the "Event  Count  Time (sec)" header to "Object Type" (or the end)
    start = next((i for i, ln in enumerate(lines) if re.match(r"^Event\s+Count\s+Time", ln)), None)
    if start is not None:
        stage = "Main Stage"
        ev_re = re.compile(rf"^(\S+)\s+(\d+)\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})")
        for ln in lines[start + 1:]:
            if ln.startswith("Object Type") or ln.startswith("====="):
                break
            m = re.match(r"^--- Event Stage \d+: (.*)$", ln)
            if m:
                stage = m.group(1).strip()
                continue
            m = ev_re.match(ln)
            if m:
                ev, count, t = m.group(1), int(m.group(2)), float(m.group(4))
                res["events_by_stage"].setdefault(stage, {})[ev] = t
                res["events"][ev] = res["events"].get(ev, 0.0) + t
                res["event_counts"][ev] = res["event_counts"].get(ev, 0) + count
    # option table
    in_opts = False
    for ln in lines:
        if ln.startswith("#PETSc Option Table entries"):
            in_opts = True
            continue
        if ln.startswith("#End of PETSc Option Table"):
            break
        if in_opts and ln.startswith("-"):
            parts = ln.split(None, 1)
            res["options"][parts[0][1:]] = parts[1].strip() if len(parts) > 1 else ""
    if res["ranks"] is None or not (res["stages"] or res["events"]):
        raise LogViewError(f"{name}: not a PETSc -log_view table (no processor count or stages)")
    return res


def _opt(options, key, conv):
    v = options.get(key)
    if v is None or v == "":
        return DEFAULTS[key]
    try:
        return conv(v)
    except ValueError:
        return DEFAULTS[key]


def run_record(path, stage="TimeLoop"):
    path = Path(path)
    lv = parse_log_view(path.read_text(errors="replace"), str(path))
    o = lv["options"]
    dim, particles, grid = _opt(o, "dim", int), _opt(o, "particles", int), _opt(o, "grid", int)
    t_final, dt = _opt(o, "t_final", float), _opt(o, "dt", float)
    method, scheme = _opt(o, "method", str), _opt(o, "scheme", str)
    realizations = _opt(o, "realizations", int) if method == "rbm" else 1
    threads = _opt(o, "threads", int)
    steps = int(round(t_final / dt)) if dt > 0 else 0
    points = float(grid) ** (particles * dim)
    time = lv["stages"].get(stage)
    if time is None:
        time = lv["total_time"]
    rec = {
        "file": str(path), "ranks": lv["ranks"], "threads": threads, "cores": lv["ranks"] * threads,
        "problem": f"{method} N={particles} d={dim} M={grid} R={realizations} steps={steps} {scheme}",
        "method": method, "scheme": scheme, "particles": particles, "dim": dim, "grid": grid,
        "realizations": realizations, "steps": steps, "points": points,
        "work": points * realizations * steps, "time": time, "total_time": lv["total_time"],
    }
    for s, t in lv["stages"].items():
        rec["stage_" + s.replace(" ", "")] = t
    for e, t in lv["events"].items():
        rec["event_" + e] = t
    rec["_stage_events"] = dict(lv["events_by_stage"].get(stage, {}))
    for e, t in rec["_stage_events"].items():
        rec["loop_" + e] = t
    return rec


def add_scaling(records, kind="auto"):
    """Add speedup and efficiency to the records (in place); returns the kind used."""
    if not records:
        return kind
    if kind == "auto":
        kind = "strong" if len({r["problem"] for r in records}) == 1 else "weak"
    if kind == "strong":
        groups = {}
        for r in records:
            groups.setdefault(r["problem"], []).append(r)
    else:
        groups = {"all": list(records)}
    for rs in groups.values():
        base = min(rs, key=lambda r: (r["cores"], r["ranks"], r["time"]))
        c0, t0 = base["cores"], base["time"]
        for r in rs:
            if not (r["time"] and r["time"] > 0 and t0 and t0 > 0):
                r["speedup"] = r["efficiency"] = float("nan")
                continue
            if kind == "strong":
                r["speedup"] = c0 * t0 / r["time"]
                r["efficiency"] = r["speedup"] / r["cores"]
            else:
                w0 = base["work"] / c0
                w = r["work"] / r["cores"]
                r["efficiency"] = (t0 / w0) / (r["time"] / w)
                r["speedup"] = r["efficiency"] * r["cores"]
    return kind


def collect(paths):
    files = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(set(p.glob("*.log_view")) | set(p.glob("*log_view*.txt")))
        else:
            files.append(p)
    return files


def write_csv(records, out):
    stage_cols = sorted({k for r in records for k in r if k.startswith("stage_")})
    ev = {k for r in records for k in r if k.startswith("event_")}
    event_cols = [f"event_{e}" for e in EVENT_ORDER if f"event_{e}" in ev] + sorted(
        ev - {f"event_{e}" for e in EVENT_ORDER})
    lp = {k for r in records for k in r if k.startswith("loop_")}
    loop_cols = [f"loop_{e}" for e in EVENT_ORDER if f"loop_{e}" in lp] + sorted(
        lp - {f"loop_{e}" for e in EVENT_ORDER})
    cols = ["ranks", "threads", "cores", "problem", "time", "speedup", "efficiency", "total_time",
            "method", "scheme", "particles", "dim", "grid", "realizations", "steps", "points", "work"] \
        + stage_cols + event_cols + loop_cols + ["file"]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow({c: (f"{r[c]:.6g}" if isinstance(r.get(c), float) else r.get(c, "")) for c in cols})
    return cols


def plot(records, out, kind):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    series = {}
    for r in records:
        key = (r["problem"] if kind == "strong" else "", r["threads"])
        series.setdefault(key, []).append(r)
    multi_problem = len({k[0] for k in series}) > 1
    cmax = max(r["cores"] for r in records)
    cmin = min(r["cores"] for r in records)
    for (prob, th), rs in sorted(series.items()):
        rs = sorted(rs, key=lambda r: r["cores"])
        label = f"{th} thread{'s' if th != 1 else ''}/rank" + (f", {prob}" if multi_problem else "")
        c = [r["cores"] for r in rs]
        axes[0].plot(c, [r["speedup"] for r in rs], "o-", label=label)
        axes[1].plot(c, [r["efficiency"] for r in rs], "o-", label=label)
    ideal = [cmin, cmax] if cmax > cmin else [cmin, cmin * 2]
    axes[0].plot(ideal, ideal, "k--", lw=1, label="ideal")
    axes[1].axhline(1.0, color="k", ls="--", lw=1)
    axes[0].set_ylabel("speed-up" if kind == "strong" else "scaled speed-up")
    axes[1].set_ylabel("parallel efficiency")
    axes[1].set_ylim(0, max(1.1, max((r["efficiency"] for r in records if r["efficiency"] == r["efficiency"]),
                                     default=1) * 1.1))
    # time per event inside the scaled stage: one stacked bar per run
    rs = sorted(records, key=lambda r: (r["problem"], r["cores"], r["ranks"]))
    evs = [e for e in EVENT_ORDER if any(e in r["_stage_events"] for r in rs)]
    evs += sorted({e for r in rs for e in r["_stage_events"]} - set(evs))
    xs = range(len(rs))
    bottom = [0.0] * len(rs)
    for e in evs:
        h = [r["_stage_events"].get(e, 0.0) for r in rs]
        axes[2].bar(xs, h, bottom=bottom, label=e)
        bottom = [b + v for b, v in zip(bottom, h)]
    axes[2].plot(xs, [r["time"] for r in rs], "k_", ms=20, mew=2, label="stage time")
    axes[2].set_xticks(list(xs))
    # name what differs between the problems under each bar (grid M, realisations R)
    vary = [(k, lab) for k, lab in (("grid", "M"), ("realizations", "R"), ("particles", "N"))
            if len({r[k] for r in rs}) > 1]
    axes[2].set_xticklabels([f"{r['ranks']}x{r['threads']}" + "".join(f"\n{lab}={r[k]}" for k, lab in vary)
                             for r in rs], fontsize=8)
    axes[2].set_xlabel("ranks x threads")
    axes[2].set_ylabel("time in stage (s, max over ranks)")
    from matplotlib.ticker import FixedLocator, NullLocator
    ticks = sorted({r["cores"] for r in records})
    for ax in axes[:2]:
        ax.set_xlabel("cores (ranks x threads)")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([str(t) for t in ticks])
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    title = f"qrbm {kind} scaling"
    if not multi_problem and kind == "strong":
        title += f": {records[0]['problem']}"
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("paths", nargs="+", help="-log_view files or directories holding *.log_view")
    ap.add_argument("-o", "--csv", help="CSV output [DIR/scaling.csv for one directory, else scaling.csv]")
    ap.add_argument("--plot", help="PNG output [next to the CSV, .png]")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--kind", choices=["auto", "strong", "weak"], default="auto")
    ap.add_argument("--stage", default="TimeLoop", help="stage whose time is scaled [TimeLoop]")
    a = ap.parse_args(argv)
    files = collect(a.paths)
    if not files:
        print("scaling.py: no -log_view files found", file=sys.stderr)
        return 1
    records, bad = [], 0
    for f in files:
        try:
            records.append(run_record(f, a.stage))
        except (OSError, LogViewError) as e:
            print(f"scaling.py: skipping {f}: {e}", file=sys.stderr)
            bad += 1
    if not records:
        return 1
    records.sort(key=lambda r: (r["problem"], r["cores"], r["ranks"]))
    kind = add_scaling(records, a.kind)
    if a.csv:
        out = Path(a.csv)
    elif len(a.paths) == 1 and Path(a.paths[0]).is_dir():
        out = Path(a.paths[0]) / "scaling.csv"
    else:
        out = Path("scaling.csv")
    write_csv(records, out)
    print(f"{kind} scaling, {len(records)} runs -> {out}")
    print(f"{'ranks':>5} {'thr':>3} {'cores':>5} {'time/s':>10} {'speedup':>8} {'eff':>6}  problem")
    for r in records:
        print(f"{r['ranks']:5d} {r['threads']:3d} {r['cores']:5d} {r['time']:10.4g} {r['speedup']:8.3f} "
              f"{r['efficiency']:6.3f}  {r['problem']}")
    if not a.no_plot:
        png = Path(a.plot) if a.plot else out.with_suffix(".png")
        plot(records, png, kind)
        print(f"plot -> {png}")
    return 0 if bad == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
