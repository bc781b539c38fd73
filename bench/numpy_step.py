#!/usr/bin/env python3
"""NumPy reference of qrbm's Strang step, for the benchmark (bench/run_bench.py).

Same physics and grid as bin/qrbm (Gaussian pair potential lambda exp(-r^2/(2 sigma^2)) with
minimum-image separations, weight 1/(N-1) per pair, harmonic trap w^2|x|^2/2, box [-L/2, L/2)^d,
M points per axis, N*d axes, particle 0 outermost). The kinetic half-steps of consecutive Strang
steps are merged as in qrbm, so one steady-state step is

    psi <- ifftn(expK * fftn(psi));  psi *= expV

with expK = exp(-i dt hbar |k|^2 / 2) and expV = exp(-i dt V_total / hbar) precomputed on the full
grid (V_total = trap + pair sum). Prints one line of key=value pairs; step_s is the best of the
timed steps (seconds), after one untimed warm-up step.
"""
import argparse
import sys
import time

import numpy as np


def min_image(r, L):
    return r - L * np.floor(r / L + 0.5)


def build(N, M, d, L, hbar, dt, strength, width, trap):
    D = N * d
    shape = (M,) * D
    h = L / M
    x = -0.5 * L + h * np.arange(M)
    k = 2 * np.pi / L * np.fft.fftfreq(M, d=1.0 / M)

    def along(v, axis):  # v as a broadcastable array along one axis of the D-dim grid
        s = [1] * D
        s[axis] = M
        return v.reshape(s)

    vtot = np.zeros(shape)
    for m in range(N):
        for c in range(d):
            vtot += along(0.5 * trap**2 * x**2, m * d + c)
    w = 1.0 / (N - 1) if N > 1 else 0.0
    for l in range(N):
        for n in range(l + 1, N):
            r2 = 0.0
            for c in range(d):
                r2 = r2 + min_image(along(x, l * d + c) - along(x, n * d + c), L) ** 2
            vtot += w * strength * np.exp(-r2 / (2 * width**2))
    expv = np.exp((-1j * dt / hbar) * vtot)
    del vtot
    k2 = np.zeros(shape)
    for a in range(D):
        k2 += along(k**2, a)
    expk = np.exp((-1j * dt * hbar / 2) * k2)
    del k2
    # initial state: coherent packet at the origin for every particle (qrbm's default -init coherent)
    phi = (np.pi * hbar) ** (-0.25) * np.exp(-min_image(x, L) ** 2 / (2 * hbar))
    psi = np.ones(shape, dtype=complex)
    for a in range(D):
        psi *= along(phi, a)
    psi /= np.sqrt(np.sum(np.abs(psi) ** 2) * h**D)
    return psi, expk, expv, h ** D


def step(psi, expk, expv):
    psi = np.fft.fftn(psi)
    psi *= expk
    psi = np.fft.ifftn(psi)
    psi *= expv
    return psi


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--particles", type=int, default=4)
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--dim", type=int, default=1)
    ap.add_argument("--box", type=float, default=16.0)
    ap.add_argument("--hbar", type=float, default=1.0)
    ap.add_argument("--dt", type=float, default=0.01)
    ap.add_argument("--strength", type=float, default=1.0)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--trap", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=2, help="timed steps (after one warm-up step)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    psi, expk, expv, vol = build(a.particles, a.grid, a.dim, a.box, a.hbar, a.dt, a.strength, a.width, a.trap)
    t_setup = time.perf_counter() - t0
    psi = step(psi, expk, expv)  # warm-up: first touch of the transform temporaries
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        psi = step(psi, expk, expv)
        times.append(time.perf_counter() - t)
    norm = float(np.sum(np.abs(psi) ** 2) * vol)
    print(f"numpy_step N={a.particles} M={a.grid} d={a.dim} points={psi.size} numpy={np.__version__} "
          f"setup_s={t_setup:.3f} step_s={min(times):.6e} step_mean_s={sum(times) / len(times):.6e} norm={norm:.15f}")
    return 0 if abs(norm - 1) < 1e-10 else 1


if __name__ == "__main__":
    sys.exit(main())
