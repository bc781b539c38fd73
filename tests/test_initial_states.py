"""Initial states that used to be silently wrong (issue 14): coherent packets are normalised on the
one-particle grid before the product, unusable packets are refused with a message naming the options,
and the imaginary-time ground state always uses Strang and is validated by its residual
||H psi - E psi|| (docs/numerics.md, "Initial states")."""
import re
import subprocess

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from conftest import QRBM, mpi_env, qrbm_command, read_output, run_qrbm, run_qrbm_raw
from test_physics import GridReference, strang_ground_width

ERROR = re.compile(r"qrbm: ERROR: (.*)")


def refusal(res):
    """The one error line of a refused run (exit 1, no traceback of a crash)."""
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    m = ERROR.search(res.stderr + res.stdout)
    assert m, res.stderr
    return m.group(1)


def observables_finite(out):
    return all(np.isfinite(v).all() for k, v in out.items() if k.startswith("observables/"))


def scheme_names():
    """Every -scheme value the binary accepts, read from its own refusal of a bogus name."""
    res = subprocess.run([str(QRBM), "-scheme", "bogus"], capture_output=True, text=True, env=mpi_env(), timeout=60)
    names = re.search(r"-scheme bogus: valid values are (.*)", res.stderr + res.stdout).group(1).split()
    assert "strang" in names and "yoshida4" in names
    return names


# --------------------------------------------------------------------------------------------
# 1. The coherent product state
# --------------------------------------------------------------------------------------------
def test_narrow_packet_is_normalised_not_nan(tmp_path):
    # hbar = 1e-4 on h = 0.75: |phi|^2 ~ exp(-0.09/hbar) = 1e-391 underflows (the old code wrote NaN
    # with exit 0). Normalised per packet, the grid state is the packet's interpolant: all weight on
    # the grid points nearest q = 0.3, i.e. x = 0 (next, x = 0.75: exp(-0.2025/1e-4) = 0 relative).
    out = run_qrbm({"-particles": 2, "-grid": 16, "-box": 12, "-hbar": 1e-4, "-init_q": 0.3, "-t_final": 0.1, "-dt": 0.01},
                   tmp_path=tmp_path)
    assert observables_finite(out)
    np.testing.assert_allclose(out["observables/norm"], 1, rtol=0, atol=1e-12)
    # x = 0 exactly at t = 0: <x^2> is zero up to rounding of the neighbours' exp(-..) = 0 weights
    assert abs(out["observables/x2"][0]) <= 1e-30


def test_many_particle_product_has_norm_one(tmp_path):
    # 16 factors of exp(-1/hbar) = 2e-21 underflow to subnormals in the product (old: norm 1.00669)
    out = run_qrbm({"-particles": 16, "-grid": 2, "-box": 4, "-hbar": 0.021, "-init_q": 1, "-t_final": 0.02, "-dt": 0.01},
                   tmp_path=tmp_path)
    assert observables_finite(out)
    np.testing.assert_allclose(out["observables/norm"], 1, rtol=0, atol=1e-12)
    # both grid points (x = -2, 0) are at distance 1 from q = 1: <x^2> = (4 + 0)/2 per particle
    np.testing.assert_allclose(out["observables/x2"][0], 2.0, rtol=1e-13)


@pytest.mark.parametrize("init", ["coherent", "symmetrized", "ground"])
def test_overflowing_momentum_is_refused(tmp_path, init):
    p = [3e307, -3e307] if init == "symmetrized" else [3e307]
    q = [0, 1] if init == "symmetrized" else [0]  # x - q = -6 at the box edge: p (x - q) overflows
    msg = refusal(run_qrbm_raw({"-particles": 2, "-grid": 16, "-box": 12, "-init": init, "-init_p": p, "-init_q": q,
                                "-t_final": 0.1, "-dt": 0.01}, tmp_path=tmp_path, timeout=60))
    assert "-init_p" in msg and "-hbar" in msg and "not finite" in msg, msg


@pytest.mark.parametrize("init", ["coherent", "symmetrized", "ground"])
def test_packet_vanishing_on_the_grid_is_refused(tmp_path, init):
    # width sqrt(1e-6) = 1e-3, nearest grid point 0.3 away: exp(-0.09/1e-6) = 0 in double
    q = [0.3, -0.3] if init == "symmetrized" else [0.3]
    msg = refusal(run_qrbm_raw({"-particles": 2, "-grid": 16, "-box": 12, "-hbar": 1e-6, "-init": init, "-init_q": q,
                                "-t_final": 0.1, "-dt": 0.01}, tmp_path=tmp_path, timeout=60))
    assert "vanishes on the grid" in msg and "-hbar" in msg and "-init_q" in msg and "-grid" in msg, msg


# --------------------------------------------------------------------------------------------
# 2. Ground states: Strang in imaginary time for every scheme, validated
# --------------------------------------------------------------------------------------------
def ground_run(tmp_path, args):
    res = run_qrbm_raw(args, tmp_path=tmp_path, quiet=False)
    assert res.returncode == 0, res.stderr
    assert re.search(r"ground state: imaginary time with strang \(positive coefficients\)", res.stdout)
    r = float(re.search(r"ground state check: \|\|H psi - E psi\|\| = (\S+) <=", res.stdout).group(1))
    return read_output(res.output), r


@pytest.mark.parametrize("scheme", scheme_names())
def test_harmonic_ground_state_every_scheme(tmp_path, scheme):
    # The input: M = 256, dtau = 0.05; Yoshida-4 in imaginary time gave E = 39.09. The Strang
    # fixed point is a Gaussian of width a (test_physics.strang_ground_width), E = hbar/4 (a + w^2/a):
    # exact for the harmonic trap; ground_tol 1e-13 leaves ~1e-13 relative.
    out, r = ground_run(tmp_path, {"-particles": 1, "-grid": 256, "-box": 16, "-potential": "none", "-trap_omega": 1,
                                   "-init": "ground", "-init_q": 1, "-t_final": 0.1, "-dt": 0.05, "-scheme": scheme,
                                   "-ground_tol": 1e-13})
    a = strang_ground_width(1.0, 0.05)
    np.testing.assert_allclose(out["observables/energy"][0], (a + 1 / a) / 4, rtol=1e-11)
    # residual of that Gaussian in H = p^2/2 + x^2/2: sqrt(Var H) = |a - 1/a| / sqrt(8) (Gaussian moments)
    np.testing.assert_allclose(r, abs(a - 1 / a) / np.sqrt(8), rtol=5e-3)  # r printed to 3 digits


@pytest.fixture(scope="module")
def pair_spectrum():
    """Two lowest eigenvalues of H_N (N = 2, Gaussian pair potential, trap w = 1) on the solver's
    grid M = 64, L = 16, by sparse exact diagonalisation of the independent grid Hamiltonian."""
    g = GridReference(N=2, M=64, L=16.0, potential="gaussian", omega=1.0)
    vals = spla.eigsh(g.H, k=2, which="SA", tol=1e-14)[0]
    return np.sort(vals)


@pytest.mark.parametrize("scheme", scheme_names())
def test_interacting_ground_state_every_scheme(tmp_path, pair_spectrum, scheme):
    # dtau = 0.5 on M = 64, L = 16: the old code's Yoshida-4 imaginary time stopped at E = 12.18.
    E0, E1 = pair_spectrum
    out, r = ground_run(tmp_path, {"-particles": 2, "-grid": 64, "-box": 16, "-potential": "gaussian", "-trap_omega": 1,
                                   "-init": "ground", "-init_q": 0.5, "-t_final": 1.0, "-dt": 0.5, "-scheme": scheme,
                                   "-ground_tol": 1e-13})
    E = out["observables/energy"][0]
    r *= 1 + 5e-3  # printed to 3 digits
    # variational: E >= E0; Temple's inequality for a normalised state with E < E1:
    # E - E0 <= Var(H) / (E1 - E) = r^2 / (E1 - E)
    assert E >= E0 - 1e-12 * abs(E0)
    assert E < E1
    assert E - E0 <= r**2 / (E1 - E), (E, E0, r)
    np.testing.assert_allclose(out["observables/norm"], 1, rtol=0, atol=1e-12)


def test_ground_step_outside_the_error_estimate_is_refused(tmp_path):
    # dtau = 2: the leading Strang term dtau^2 ||C psi|| is ~0.6 of the energy scale (> 0.1)
    msg = refusal(run_qrbm_raw({"-particles": 2, "-grid": 32, "-box": 12, "-potential": "gaussian", "-trap_omega": 1,
                                "-init": "ground", "-init_q": 1, "-t_final": 0.1, "-dt": 0.05, "-ground_dtau": 2},
                               tmp_path=tmp_path, timeout=60))
    assert "-ground_dtau 2" in msg and "Strang's error estimate" in msg, msg


# --------------------------------------------------------------------------------------------
# 3. Property: random valid inputs either are refused with a message or keep the norm at 1
# --------------------------------------------------------------------------------------------
def random_case(rng):
    N = int(rng.integers(1, 5))
    M = int(rng.choice([m for m in (2, 3, 4, 8, 12, 16, 32) if m**N <= 4096]))
    L = float(rng.uniform(1, 20))
    hbar = float(10 ** rng.uniform(-4, 0.5))
    init = str(rng.choice(["coherent", "symmetrized", "ground"]))
    k = N if init == "symmetrized" else 1
    q = [float(rng.uniform(-0.49, 0.49) * L) for _ in range(k)]
    p = [float(rng.choice([1, -1]) * 10 ** rng.uniform(-2, 3 if rng.random() < 0.8 else 308)) for _ in range(k)]
    args = {"-particles": N, "-grid": M, "-box": L, "-hbar": hbar, "-init": init, "-init_q": q, "-init_p": p,
            "-potential": str(rng.choice(["none", "gaussian", "softcoulomb"])), "-trap_omega": float(rng.uniform(0, 2)),
            "-t_final": 0.02, "-dt": 0.01, "-ground_maxiter": 2000}
    if N == 1:
        args["-potential"] = "none"
    return args


@pytest.mark.parametrize("seed", range(20))
def test_random_inputs_refuse_or_keep_norm(tmp_path, seed):
    args = random_case(np.random.default_rng(1400 + seed))
    # a singleton MPI start (no mpirun): a refused run ends at once instead of after mpirun's abort delay
    cmd = qrbm_command(args, output=tmp_path / "x.h5")[4:]
    res = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=120)
    res.output = tmp_path / "x.h5"
    if res.returncode != 0:
        msg = refusal(res)
        assert re.search(r"-[a-z_]+", msg), msg  # names an option
        assert "nan" not in msg.lower(), msg
        return
    out = read_output(res.output)
    assert out["attrs"]["status"] == "complete"
    assert observables_finite(out), args
    np.testing.assert_allclose(out["observables/norm"], 1, rtol=0, atol=1e-12, err_msg=str(args))
