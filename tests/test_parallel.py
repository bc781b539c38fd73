"""Rank- and thread-count invariance of the exact solver.

The same input run on 1, 2, 3, 4 (and 5) MPI ranks and with -threads 1 and 2 must give the same
output up to rounding. Different slab decompositions change FFTW's plans and the order of the
partial sums (the observables are reduced in long double), so the results differ by a few
rounding errors per step: ~nsteps x log2(M^(N d)) x eps ~ 1e-14 here. The bound is 1e-12
relative to the size of each dataset (its largest absolute value), on every dataset of
/observables and /density.
"""
import subprocess

import numpy as np
import pytest

from conftest import run_qrbm

RTOL = 1e-12


def datasets(out):
    return sorted(k for k in out if k.startswith(("observables/", "density/")))


def assert_same_output(ref, out, label):
    assert datasets(ref) == datasets(out), label
    for key in datasets(ref):
        a, b = ref[key], out[key]
        assert a.shape == b.shape, (label, key, a.shape, b.shape)
        scale = abs(a).max()
        if scale == 0:
            assert np.all(b == 0), (label, key, abs(b).max())
            continue
        err = abs(a - b).max()
        assert err <= RTOL * scale, f"{label}: {key} differs by {err:.3g} (scale {scale:.3g}, relative {err / scale:.3g})"


# (np, threads): the first entry is the baseline. Uneven slabs: FFTW's default block is ceil(M/np),
# so M = 16 on 3 ranks gives 6/6/4 rows, M = 12 on 5 ranks gives 3/3/3/3/0 (a rank without rows),
# M = 8 on 3 ranks 3/3/2; the transposed (momentum) layout of the second axis is split the same way.
CASES = {
    "N3-d1-M16-gaussian-trap-strang": (
        dict(particles=3, dim=1, grid=16, box=12.0, potential="gaussian", trap_omega=0.5, init_q=0.5, init_p=0.3, t_final=0.2, dt=0.01,
             output_interval=5),
        [(1, 1), (2, 1), (3, 1), (4, 1), (1, 2), (2, 2)],
    ),
    "N2-d1-M12-softcoulomb-yoshida4": (
        dict(particles=2, dim=1, grid=12, box=10.0, potential="softcoulomb", potential_strength=0.7, potential_width=0.5, scheme="yoshida4",
             init_q=-0.4, init_p=0.6, t_final=0.2, dt=0.02, output_interval=3),
        [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (1, 2)],
    ),
    "N2-d2-M16-gaussian-yoshida4": (
        dict(particles=2, dim=2, grid=16, box=10.0, potential="gaussian", scheme="yoshida4", init_q=[0.3, -0.2], init_p=[0.4, 0.1],
             t_final=0.1, dt=0.02, output_interval=2),
        [(1, 1), (2, 1), (3, 1), (4, 1), (1, 2), (2, 2)],
    ),
    "N1-d2-M16-trap": (
        dict(particles=1, dim=2, grid=16, box=10.0, potential="none", trap_omega=1.2, init_q=[1.0, -0.5], init_p=[0.2, 0.7], t_final=0.5,
             dt=0.05, output_interval=3),
        [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2)],
    ),
    "N1-d3-M8-trap": (
        dict(particles=1, dim=3, grid=8, box=8.0, potential="none", trap_omega=1.0, init_q=[0.5, -0.5, 0.2], init_p=[0.2, 0.1, -0.3],
             t_final=0.2, dt=0.05, output_interval=2),
        [(1, 1), (2, 1), (3, 1), (4, 1), (1, 2)],
    ),
    "N4-d1-M8-cosine": (
        dict(particles=4, dim=1, grid=8, box=8.0, potential="cosine", potential_strength=0.8, potential_width=4.0, init_q=0.3, init_p=-0.2,
             t_final=0.2, dt=0.02, output_interval=4),
        [(1, 1), (2, 1), (3, 1), (4, 1), (1, 2), (2, 2)],
    ),
    "N3-d1-M12-symmetrized": (
        dict(particles=3, dim=1, grid=12, box=12.0, potential="gaussian", init="symmetrized", init_q=[-2.5, 0.0, 2.0], init_p=[0.3, -0.2, 0.0],
             t_final=0.2, dt=0.02, output_interval=5),
        [(1, 1), (2, 1), (4, 1), (5, 1), (1, 2)],
    ),
    "N2-d1-M16-ground-trap": (
        dict(particles=2, dim=1, grid=16, box=10.0, potential="gaussian", trap_omega=1.0, init="ground", init_q=0.5, t_final=0.1, dt=0.05,
             ground_tol=1e-10, output_interval=1),
        [(1, 1), (2, 1), (3, 1), (1, 2)],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rank_and_thread_invariance(tmp_path, case):
    opts, configs = CASES[case]
    args = {"-" + k: v for k, v in opts.items()}
    ref = None
    for np_, threads in configs:
        out = run_qrbm(args, np=np_, threads=threads, tmp_path=tmp_path)
        assert out["attrs"]["mpi_ranks"] == np_ and out["attrs"]["threads"] == threads
        assert abs(out["observables/norm"] - 1).max() < 1e-12
        if ref is None:
            ref = out
        else:
            assert_same_output(ref, out, f"{case}: np={np_} threads={threads} vs np={configs[0][0]} threads={configs[0][1]}")


# N*d = 1 (one particle in 1-D): the transform is padded to M x 1 and, without a transposed FFTW-MPI
# plan for that shape, momentum space keeps the position slabs. FFTW-MPI's untransposed M x 1 plan
# (which it runs as a distributed 1-D transform) works only for some (M, ranks): M = 31 on 2 ranks
# gets no plan ("FFTW planning failed", exit 1); M = 32 on 3 ranks writes past the slab allocation
# and aborts (deterministic); M = 33 on 3 ranks also writes out of bounds (valgrind: invalid writes
# inside fftw_execute) but whether that crashes depends on the heap layout, so it cannot be a strict
# xfail. M = 32 on 2 and 4 ranks is valgrind-clean.
_N1D1_REASON = ("solver bug: N*d = 1 at > 1 rank uses FFTW-MPI's untransposed 2-D plan of the padded M x 1 array, "
                "which returns NULL ('FFTW planning failed') or overflows the slab allocation (abort/SIGSEGV, "
                "valgrind: invalid writes in fftw_execute) for many (M, ranks), e.g. M=31/2, M=32/3, M=33/3, M=30/3 ranks")
N1D1_FFTW_BUG = pytest.mark.xfail(strict=True, raises=AssertionError, reason=_N1D1_REASON)
N1D1_FFTW_BUG_HEAP = pytest.mark.xfail(strict=False, raises=(AssertionError, subprocess.TimeoutExpired), reason=_N1D1_REASON + " (crash depends on the heap layout)")
N1D1 = {"-particles": 1, "-dim": 1, "-box": 12.0, "-potential": "none", "-trap_omega": 1.0, "-init_q": 0.5, "-init_p": 0.2,
        "-t_final": 0.2, "-dt": 0.05}


@pytest.mark.parametrize("M,np_,threads", [
    pytest.param(32, 2, 1, id="M32-np2"),
    pytest.param(32, 4, 1, id="M32-np4"),
    pytest.param(32, 1, 2, id="M32-threads2"),
    pytest.param(32, 2, 2, id="M32-np2-threads2"),
    pytest.param(33, 3, 1, marks=N1D1_FFTW_BUG_HEAP, id="M33-np3-heap-overflow"),
    pytest.param(32, 3, 1, marks=N1D1_FFTW_BUG, id="M32-np3-uneven"),
    pytest.param(31, 2, 1, marks=N1D1_FFTW_BUG, id="M31-np2-uneven"),
])
def test_rank_invariance_one_particle_1d(tmp_path, M, np_, threads):
    """N*d = 1 on several ranks/threads equals the 1-rank run."""
    args = dict(N1D1, **{"-grid": M})
    ref = run_qrbm(args, np=1, tmp_path=tmp_path)
    out = run_qrbm(args, np=np_, threads=threads, tmp_path=tmp_path, timeout=60)  # a corrupted heap may hang
    assert out["attrs"]["mpi_ranks"] == np_
    assert_same_output(ref, out, f"N*d=1 M={M}: np={np_} threads={threads} vs np=1")


def test_output_schema_and_time_axis(tmp_path):
    """Output times: t = 0, every output_interval steps, and the final step (also when nsteps is
    not a multiple of output_interval); densities normalised as documented."""
    out = run_qrbm({"-particles": 2, "-grid": 16, "-box": 12.0, "-t_final": 0.35, "-dt": 0.05, "-output_interval": 3, "-init_q": 0.5, "-init_p": 0.3},
                   np=2, tmp_path=tmp_path)
    np.testing.assert_array_equal(out["observables/step"], [0, 3, 6, 7])
    np.testing.assert_allclose(out["observables/time"], [0, 0.15, 0.3, 0.35], rtol=0, atol=1e-14)
    T, M, L, hbar = 4, 16, 12.0, 1.0
    for key, shape in (("observables/x", (T, 1)), ("observables/p", (T, 1)), ("observables/x2_axes", (T, 1)), ("observables/p2_axes", (T, 1)),
                       ("density/rho", (T, M)), ("density/rho_p", (T, M)), ("density/x", (M,)), ("density/p", (M,))):
        assert out[key].shape == shape, key
    for key in ("time", "step", "norm", "energy", "energy_kinetic", "energy_trap", "energy_interaction", "x2", "p2"):
        assert out["observables/" + key].shape == (T,), key
    np.testing.assert_allclose(out["density/rho"].sum(axis=1) * L / M, out["observables/norm"], rtol=1e-13)
    np.testing.assert_allclose(out["density/rho_p"].sum(axis=1) * 2 * np.pi * hbar / L, out["observables/norm"], rtol=1e-13)
    p = out["density/p"]
    assert np.all(np.diff(p) > 0)
    np.testing.assert_allclose(np.sort(p), hbar * np.sort(2 * np.pi * np.fft.fftfreq(M, L / M)), rtol=0, atol=1e-13)
    assert out["attrs"]["nsteps"] == 7 and out["attrs"]["mpi_ranks"] == 2
