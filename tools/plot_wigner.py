#!/usr/bin/python3
"""Wigner functions of the exact R_1, of the random batch mean E[R~_1] and their difference.

Usage: tools/plot_wigner.py RUN.h5 [-o OUT.png] [--time T]
RUN.h5 is a qrbm output with /wigner/W (the ensemble mean) and, from -reference exact,
/wigner/W_reference. Without a reference only the mean is drawn. The time shown is the RDM time
closest to T (default: the last one)."""
import argparse

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("-o", "--output", default=None, help="PNG file (default: RUN-wigner.png)")
    ap.add_argument("--time", type=float, default=None)
    a = ap.parse_args()
    with h5py.File(a.run, "r") as f:
        if "/wigner/W" not in f:
            raise SystemExit(f"{a.run}: no /wigner/W (run qrbm with -rdm_interval >= 1)")
        times, x, xi = f["/rdm/time"][:], f["/wigner/x"][:], f["/wigner/xi"][:]
        i = len(times) - 1 if a.time is None else int(np.argmin(abs(times - a.time)))
        panels = [("E[R~_1] (random batch mean)", f["/wigner/W"][i])]
        if "/wigner/W_reference" in f:
            ref = f["/wigner/W_reference"][i]
            panels = [("R_1 (exact)", ref), panels[0], ("difference E[R~_1] - R_1", panels[0][1] - ref)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), squeeze=False)
    extent = [x[0], x[-1], xi[0], xi[-1]]
    for ax, (title, w) in zip(axes[0], panels):
        lim = np.max(abs(w)) or 1.0
        im = ax.imshow(w.T, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.set_ylabel("xi")
        fig.colorbar(im, ax=ax)
    fig.suptitle(f"Wigner functions at t = {times[i]:g}")
    fig.tight_layout()
    out = a.output or a.run.rsplit(".h5", 1)[0] + "-wigner.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
