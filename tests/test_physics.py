"""Physics tests of the exact solver bin/qrbm against analytic solutions and an independent
grid reference.

Every tolerance below is derived from the numerics (stated next to it), not fitted to the output:
* spectral space discretisation: for a smooth packet resolved by the grid, far from the box edge
  and below the Nyquist momentum, grid errors are exponentially small (Poisson summation / box
  tails / aliasing, each estimated where used); what remains is rounding, ~ nsteps * eps * O(1);
* the free kinetic step is exact in time; Strang's error is O(dt^2), Yoshida-4's O(dt^4);
* for a quadratic Hamiltonian (harmonic trap, no interaction) the split step maps first and
  second moments exactly by the classical drift-kick-drift (leapfrog) matrix.
"""
import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.sparse.linalg import expm_multiply

from conftest import run_qrbm

EPS = np.finfo(float).eps



def qrbm_args(**kw):
    """Command line from keyword options; lists become comma lists."""
    return {"-" + k: v for k, v in kw.items()}


def min_image(r, L):
    return r - L * np.floor(r / L + 0.5)


def packet(x, q, p, hbar, L):
    """The solver's coherent packet (pi hbar)^(-1/4) exp(-(x-q)^2/(2 hbar) + i p (x-q)/hbar) with
    minimum-image x - q, one axis."""
    dx = min_image(x - q, L)
    return (np.pi * hbar) ** -0.25 * np.exp(-dx**2 / (2 * hbar) + 1j * p * dx / hbar)


def pair_potential(kind, r2, rc, lam, sigma):
    """V(r) as documented: r2 = |r|^2, rc = list of the d components (minimum image)."""
    if kind == "gaussian":
        return lam * np.exp(-r2 / (2 * sigma**2))
    if kind == "softcoulomb":
        return lam / np.sqrt(r2 + sigma**2)
    if kind == "cosine":
        return lam / len(rc) * sum(np.cos(2 * np.pi * c / sigma) for c in rc)
    if kind == "none":
        return np.zeros_like(r2)
    raise ValueError(kind)


class GridReference:
    """Independent implementation of H_N on the solver's grid: N*d axes of M points, particle 0's
    axes outermost and, within a particle, component 0 outermost (as in the solver). Kinetic =
    per-axis Fourier matrix (dense M x M) Kronecker-summed as a sparse matrix; pair potential at the
    minimum-image separation with coupling 1/(N-1); trap w^2 |x|^2/2. States are normalised so that
    sum |psi|^2 h^(N d) = 1."""

    def __init__(self, N, M, L, hbar=1.0, potential="gaussian", lam=1.0, sigma=1.0, omega=0.0, d=1):
        self.N, self.d, self.M, self.L, self.hbar = N, d, M, L, hbar
        self.D = N * d
        self.h = L / M
        self.x = -L / 2 + self.h * np.arange(M)
        self.k = 2 * np.pi * np.fft.fftfreq(M, self.h)
        F = np.fft.fft(np.eye(M), axis=0)
        T1 = np.fft.ifft(0.5 * hbar**2 * self.k[:, None] ** 2 * F, axis=0)
        assert abs(T1.imag).max() < 1e-12 * abs(T1.real).max()  # k^2 even in k: real symmetric
        T1 = sp.csr_matrix(T1.real)
        eye = sp.identity(M, format="csr")
        D = self.D
        H = sp.csr_matrix((M**D, M**D))
        for a in range(D):
            op = T1 if a == 0 else eye
            for b in range(1, D):
                op = sp.kron(op, T1 if b == a else eye, format="csr")
            H = H + op
        X = np.meshgrid(*[self.x] * D, indexing="ij", sparse=True)
        coord = lambda m, c: X[m * d + c]  # noqa: E731
        V = np.zeros([M] * D)
        for l in range(N):
            for n in range(l + 1, N):
                rc = [min_image(coord(l, c) - coord(n, c), L) for c in range(d)]
                r2 = sum(c**2 for c in rc)
                V = V + pair_potential(potential, r2, rc, lam, sigma) / (N - 1)
        U = np.zeros([M] * D)
        for m in range(N):
            U = U + 0.5 * omega**2 * sum(coord(m, c) ** 2 for c in range(d))
        self.Vint = np.broadcast_to(V, [M] * D).ravel()
        self.Utrap = np.broadcast_to(U, [M] * D).ravel()
        self.T = H.tocsr()
        self.H = (H + sp.diags(self.Vint + self.Utrap)).tocsr()

    def normalise(self, psi):
        return psi / math.sqrt(np.sum(abs(psi) ** 2) * self.h**self.D)

    def one_packet(self, q, p):
        q, p = np.atleast_1d(q), np.atleast_1d(p)
        phi = packet(self.x, q[0], p[0], self.hbar, self.L)
        for c in range(1, self.d):
            phi = np.multiply.outer(phi, packet(self.x, q[c], p[c], self.hbar, self.L))
        return phi

    def product(self, q, p):
        phi = self.one_packet(q, p)
        psi = phi
        for _ in range(self.N - 1):
            psi = np.multiply.outer(psi, phi)
        return self.normalise(psi.ravel())

    def symmetrized(self, qs, ps):
        """Permanent of [phi_k(x_m)]: sum over all permutations, written out explicitly
        (qs, ps: N*d numbers, one packet per particle)."""
        import itertools

        d = self.d
        phis = [self.one_packet(qs[i * d:(i + 1) * d], ps[i * d:(i + 1) * d]) for i in range(self.N)]
        psi = np.zeros([self.M] * self.D, complex)
        for perm in itertools.permutations(range(self.N)):
            term = phis[perm[0]]
            for k in perm[1:]:
                term = np.multiply.outer(term, phis[k])
            psi += term
        return self.normalise(psi.ravel())

    def evolve(self, psi, t):
        return expm_multiply(-1j * t / self.hbar * self.H, psi)

    def _one_body(self, P):
        """Particle-averaged one-body marginal of an N*d-axis array."""
        N, d = self.N, self.d
        out = 0
        for m in range(N):
            keep = range(m * d, (m + 1) * d)
            out = out + P.sum(axis=tuple(a for a in range(self.D) if a not in keep))
        return out / N

    def observables(self, psi):
        M, h, hbar, d = self.M, self.h, self.hbar, self.d
        P = (abs(psi) ** 2).reshape([M] * self.D)
        dv = h**self.D
        w = self._one_body(P) * dv  # probability of each one-particle grid point
        psik = np.fft.fftn(psi.reshape([M] * self.D))
        wk = self._one_body(abs(psik) ** 2 * dv / M**self.D)
        dp = 2 * np.pi * hbar / self.L
        xs = np.meshgrid(*[self.x] * d, indexing="ij")
        ps = np.meshgrid(*[hbar * self.k] * d, indexing="ij")
        res = {
            "norm": np.sum(P) * dv,
            "rho": w / h**d,
            "rho_p": np.fft.fftshift(wk) / dp**d,
            "x": np.array([np.sum(w * xs[c]) for c in range(d)]),
            "p": np.array([np.sum(wk * ps[c]) for c in range(d)]),
            "x2_axes": np.array([np.sum(w * xs[c] ** 2) for c in range(d)]),
            "p2_axes": np.array([np.sum(wk * ps[c] ** 2) for c in range(d)]),
            "energy": np.vdot(psi, self.H @ psi).real * dv,
            "energy_kinetic": np.vdot(psi, self.T @ psi).real * dv,
            "energy_interaction": np.sum(abs(psi) ** 2 * self.Vint) * dv,
            "energy_trap": np.sum(abs(psi) ** 2 * self.Utrap) * dv,
        }
        res["x2"], res["p2"] = res["x2_axes"].sum(), res["p2_axes"].sum()
        return res


REF_KEYS = ("norm", "energy", "energy_kinetic", "energy_interaction", "energy_trap", "x2", "p2", "x", "p", "x2_axes", "p2_axes")


def _get(out, key, row):
    return out[("density/" if key.startswith("rho") else "observables/") + key][row]


def compare_to_reference(out, ref, row=-1):
    """Largest absolute deviation of the solver output at a row from reference observables."""
    return {key: float(np.max(abs(_get(out, key, row) - ref[key]))) for key in ("rho", "rho_p") + REF_KEYS}


def richardson_estimate(coarse, fine, key, order=4):
    """Error of `fine` (step dt/2) estimated from the solver alone: |u(dt) - u(dt/2)| / (2^p - 1)."""
    return float(np.max(abs(_get(coarse, key, -1) - _get(fine, key, -1)))) / (2**order - 1)


# ---------------------------------------------------------------------------------------------
# 1. Free particles: coherent packet vs the analytic spreading Gaussian.
# ---------------------------------------------------------------------------------------------
FREE_L, FREE_T, FREE_Q, FREE_P = 40.0, 2.0, 0.5, 1.0


def free_density(x, t, q, p, hbar):
    """|psi(x,t)|^2 of the free coherent packet (mass 1): centre q + p t, variance hbar/2 (1+t^2)."""
    var = hbar / 2 * (1 + t**2)
    return np.exp(-((x - q - p * t) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)


@pytest.mark.parametrize(
    "N,hbar,M",
    [pytest.param(1, 1.0, 128, id="N1-hbar1"), pytest.param(2, 1.0, 128, id="N2-hbar1"), pytest.param(2, 0.5, 256, id="N2-hbar0.5")],
)
def test_free_packet_matches_analytic_gaussian(tmp_path, N, hbar, M):
    # Grid: L = 40, h = L/M. Exponentially small terms (the rest is rounding):
    #  aliasing: the sampled packet's spectrum has amplitude exp(-(P_N - p)^2/(2 hbar)) at the
    #   Nyquist momentum P_N = hbar pi/h; those modes evolve with the wrong phase, which perturbs
    #   psi everywhere: hbar = 1, M = 128: P_N = 10 -> exp(-40); hbar = 0.5, M = 256: P_N = 10 -> exp(-81);
    #  periodic images at t = 2 (variance s2 = hbar/2 (1+t^2) <= 2.5): density cross term
    #   exp(-L^2/(8 s2)) = exp(-80); density beyond the box edge exp(-17.5^2/(2 s2)) ~ exp(-61);
    #  Poisson summation of the sampled Gaussian density: exp(-2 pi^2 s2/h^2) <= exp(-50).
    # Free kinetic steps are exact in time, so dt plays no role: 40 steps of 0.05.
    # Rounding: ~40 steps x 2 FFTs x log2(M) stages x eps ~ 1e-13 relative; tolerance 1e-11
    # absolute on O(1..10) quantities.
    tol = 1e-11
    out = run_qrbm(qrbm_args(particles=N, dim=1, grid=M, box=FREE_L, hbar=hbar, t_final=FREE_T, dt=0.05, potential="none",
                             init_q=FREE_Q, init_p=FREE_P, output_interval=8), tmp_path=tmp_path)
    t = out["observables/time"]
    np.testing.assert_allclose(t, np.linspace(0, FREE_T, 6), rtol=0, atol=1e-14)
    q, p = FREE_Q, FREE_P
    var = hbar / 2 * (1 + t**2)
    np.testing.assert_allclose(out["observables/norm"], 1.0, rtol=0, atol=tol)
    np.testing.assert_allclose(out["observables/x"][:, 0], q + p * t, rtol=0, atol=tol)
    np.testing.assert_allclose(out["observables/x2"], (q + p * t) ** 2 + var, rtol=0, atol=tol)
    np.testing.assert_allclose(out["observables/x2"] - out["observables/x"][:, 0] ** 2, var, rtol=0, atol=tol)
    np.testing.assert_allclose(out["observables/p"][:, 0], p, rtol=0, atol=tol)
    np.testing.assert_allclose(out["observables/p2"], p**2 + hbar / 2, rtol=0, atol=tol)
    E = N * (p**2 / 2 + hbar / 4)  # N * <p^2>/2 with Var p = hbar/2
    np.testing.assert_allclose(out["observables/energy"], E, rtol=0, atol=tol)
    np.testing.assert_allclose(out["observables/energy_kinetic"], E, rtol=0, atol=tol)
    assert np.all(out["observables/energy_interaction"] == 0) and np.all(out["observables/energy_trap"] == 0)
    # densities on the grid vs the analytic ones
    x, pg = out["density/x"], out["density/p"]
    np.testing.assert_allclose(x, -FREE_L / 2 + FREE_L / M * np.arange(M), rtol=0, atol=1e-13)
    for i, ti in enumerate(t):
        np.testing.assert_allclose(out["density/rho"][i], free_density(x, ti, q, p, hbar), rtol=0, atol=tol)
        # momentum density exp(-(p-p0)^2/hbar)/sqrt(pi hbar), constant in time
        np.testing.assert_allclose(out["density/rho_p"][i], np.exp(-((pg - p) ** 2) / hbar) / np.sqrt(np.pi * hbar), rtol=0, atol=tol)


# ---------------------------------------------------------------------------------------------
# 2. Harmonic trap, no interaction.
# ---------------------------------------------------------------------------------------------
def leapfrog_moments(q, p, w, dt, hbar, steps):
    """Exact moments of the Strang (drift dt/2, kick dt, drift dt/2) split step for
    H = p^2/2 + w^2 x^2/2: first moments m -> S m, covariance C -> S C S^T, coherent start
    C = diag(hbar/2, hbar/2). Returns <x>, <p>, <x^2>, <p^2> at the given step numbers."""
    D = np.array([[1, dt / 2], [0, 1]])
    K = np.array([[1, 0], [-(w**2) * dt, 1]])
    S = D @ K @ D
    m, C = np.array([q, p], float), np.diag([hbar / 2, hbar / 2])
    res, Sn, n = [], np.eye(2), 0
    for target in steps:
        while n < target:
            Sn, n = S @ Sn, n + 1
        mm, CC = Sn @ m, Sn @ C @ Sn.T
        res.append([mm[0], mm[1], mm[0] ** 2 + CC[0, 0], mm[1] ** 2 + CC[1, 1]])
    return np.array(res).T


TRAP_W, TRAP_DT, TRAP_T = 1.5, 0.05, 4.0


@pytest.mark.parametrize(
    "N,d,qs,ps",
    [
        pytest.param(1, 1, [1.0], [0.5], id="N1-d1"),
        pytest.param(3, 1, [1.0], [0.5], id="N3-d1"),
        pytest.param(1, 2, [1.0, -0.6], [0.5, 0.8], id="N1-d2"),
    ],
)
def test_harmonic_trap_centre_and_energy(tmp_path, N, d, qs, ps):
    w, dt, hbar, L, M = TRAP_W, TRAP_DT, 1.0, 14.0, 64
    # Grid: h = 0.219, Nyquist momentum P_N = 14.4. The packet stays within |<x>| <= 1.2 with
    # Var x <= hbar/2 and |<p>| <= 1.6 with Var p <= hbar w^2/2 = 1.125 (w = 1.5 squeezes it):
    # aliasing amplitude exp(-(14.4-1.6)^2/(4*1.125)) ~ 2e-16; density at the box edge (where
    # the periodic trap jumps) exp(-(7-1.2)^2/(2*0.5)) ~ 2e-15. Rounding ~ 80 steps x FFT ~ 1e-13.
    out = run_qrbm(qrbm_args(particles=N, dim=d, grid=M, box=L, t_final=TRAP_T, dt=dt, potential="none", trap_omega=w,
                             init_q=qs, init_p=ps, output_interval=2), tmp_path=tmp_path)
    t, steps = out["observables/time"], out["observables/step"].astype(int)
    assert steps[-1] == round(TRAP_T / dt)
    x, p = out["observables/x"], out["observables/p"]
    x2a, p2a = out["observables/x2_axes"], out["observables/p2_axes"]
    E_exact, E_pred = 0.0, np.zeros_like(t)
    eps = (w * dt / 2) ** 2
    for c in range(d):
        q0, p0 = qs[c], ps[c]
        mx, mp, mx2, mp2 = leapfrog_moments(q0, p0, w, dt, hbar, steps)
        # (a) the split step acts on moments exactly as the leapfrog map (quadratic H): only
        #     rounding and the exponentially small grid terms remain -> 1e-11.
        np.testing.assert_allclose(x[:, c], mx, rtol=0, atol=1e-11)
        np.testing.assert_allclose(p[:, c], mp, rtol=0, atol=1e-11)
        np.testing.assert_allclose(x2a[:, c], mx2, rtol=0, atol=1e-11)
        np.testing.assert_allclose(p2a[:, c], mp2, rtol=0, atol=1e-11)
        # (b) the centre follows the classical orbit q cos wt + p/w sin wt up to the leapfrog
        #     error: frequency error w (w dt)^2/24 (phase drift over w t) plus an O((w dt)^2/4)
        #     distortion of the invariant ellipse, times the amplitude A.
        A = math.hypot(q0, p0 / w)
        bound = A * (w * dt) ** 2 * (w * t / 24 + 0.25)
        xc = q0 * np.cos(w * t) + p0 / w * np.sin(w * t)
        assert np.all(abs(x[:, c] - xc) <= bound), abs(x[:, c] - xc) / bound
        E_exact += p0**2 / 2 + w**2 * q0**2 / 2 + hbar / 4 * (1 + w**2)
        E_pred += mp2 / 2 + w**2 * mx2 / 2
    E_exact *= N  # per axis: <p^2>/2 + w^2 <x^2>/2 with Var x = Var p = hbar/2
    E_pred *= N
    E = out["observables/energy"]
    np.testing.assert_allclose(out["observables/norm"], 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(E[0], E_exact, rtol=1e-12)  # t = 0: exact up to grid/rounding
    np.testing.assert_allclose(E, E_pred, rtol=1e-12)
    np.testing.assert_allclose(out["observables/energy_kinetic"] + out["observables/energy_trap"], E, rtol=1e-13)
    assert np.all(out["observables/energy_interaction"] == 0)
    # (c) Strang energy error bound. The drift-kick-drift map S preserves the quadratic form
    #     H~ = V + (1 - eps) T with eps = (w dt/2)^2 (also for the quantum expectation, since the
    #     covariance transforms as S C S^T). Hence E_n - E_0 = eps (T_n - T_0) and, as
    #     0 <= T_n <= H~/(1-eps) <= E_0/(1-eps): |E_n - E_0| <= eps/(1-eps) E_0 = O(dt^2).
    assert np.all(abs(E - E_exact) <= eps / (1 - eps) * E_exact * (1 + 1e-10))
    assert abs(E - E_exact).max() > 0.1 * eps * E_exact / 4  # the O(dt^2) error is really there (not a frozen state)


# ---------------------------------------------------------------------------------------------
# 3. Norm and energy over 1000 steps (interacting N = 3).
# ---------------------------------------------------------------------------------------------
LONG = qrbm_args(particles=3, grid=16, box=12.0, t_final=10.0, init_q=0.5, init_p=0.3, potential="gaussian")


@pytest.fixture(scope="module")
def long_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("long")
    # output every 0.02 time units in both runs, so the two series sample the same times
    fine = run_qrbm({**LONG, "-dt": 0.01, "-output_interval": 2}, tmp_path=tmp)
    coarse = run_qrbm({**LONG, "-dt": 0.02, "-output_interval": 1}, tmp_path=tmp)
    return fine, coarse


def test_norm_conserved_over_1000_steps(long_runs):
    fine, coarse = long_runs
    assert fine["attrs"]["nsteps"] == 1000
    # Each step is unitary; rounding of ~2 FFT pairs and one phase multiply per step adds up to
    # ~1000 x O(eps) at worst: 1e-12 relative.
    for out in (fine, coarse):
        assert abs(out["observables/norm"] - 1).max() <= 1e-12
        np.testing.assert_allclose(out["density/rho"].sum(axis=1) * 12.0 / 16, out["observables/norm"], rtol=1e-13)


def test_energy_error_is_bounded_dt2_without_drift(long_runs):
    fine, coarse = long_runs
    t = fine["observables/time"]
    np.testing.assert_allclose(coarse["observables/time"], t, rtol=0, atol=1e-9)
    dev_f = fine["observables/energy"] - fine["observables/energy"][0]
    dev_c = coarse["observables/energy"] - coarse["observables/energy"][0]
    # Strang: E_dt(t) - E_0 = dt^2 g(t) + O(dt^4) with g bounded (modified-energy argument), so the
    # whole error curve collapses under dt^2 scaling. The relative O(dt^2) correction is ~(dt E)^2
    # ~ 1e-3 for energies E ~ 2; a drift (non-unitary or first-order error) would break it.
    # Tolerance 5% of the curve's size.
    C = abs(dev_c).max() / 0.02**2
    assert C > 0
    assert abs(dev_c - 4 * dev_f).max() <= 0.05 * abs(dev_c).max()
    assert abs(dev_f).max() <= 1.05 * C * 0.01**2
    # No secular drift: over the whole run (T = 10) the least-squares trend must stay below the
    # bounded O(dt^2) fluctuation (for any |f| <= A a fit can give |slope| T up to 3A).
    for dev, dt in ((dev_f, 0.01), (dev_c, 0.02)):
        slope = np.polyfit(t, dev, 1)[0]
        assert abs(slope) * t[-1] <= C * dt**2, (slope * t[-1], C * dt**2)


# ---------------------------------------------------------------------------------------------
# 4. Convergence order and the high-accuracy comparison (N = 3, d = 1, M = 16, L = 12).
# ---------------------------------------------------------------------------------------------
REF_ARGS = qrbm_args(particles=3, dim=1, grid=16, box=12.0, hbar=1.0, potential="gaussian", potential_strength=1.0, potential_width=1.0,
                     t_final=0.5, init_q=0.5, init_p=0.3)
REF_T = 0.5


@pytest.fixture(scope="module")
def ref3():
    """4096-dimensional grid reference, psi(0) and psi(0.5) by expm_multiply (Al-Mohy-Higham,
    accurate to ~1e-15 here; checked by composing two half-steps)."""
    g = GridReference(N=3, M=16, L=12.0, hbar=1.0, potential="gaussian", lam=1.0, sigma=1.0)
    psi0 = g.product(0.5, 0.3)
    psiT = g.evolve(psi0, REF_T)
    half = g.evolve(g.evolve(psi0, REF_T / 2), REF_T / 2)
    assert abs(psiT - half).max() < 1e-12
    return g, g.observables(psi0), g.observables(psiT)


@pytest.fixture(scope="module")
def order_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("order")
    runs = {}
    for scheme in ("strang", "yoshida4"):
        for dt in (0.1, 0.05, 0.025, 0.0125):
            if scheme == "strang" and dt == 0.0125:
                continue
            runs[scheme, dt] = run_qrbm({**REF_ARGS, "-scheme": scheme, "-dt": dt, "-output_interval": 1000}, tmp_path=tmp)
    return runs


def test_initial_state_and_energy_match_reference(ref3, order_runs):
    g, r0, _ = ref3
    out = order_runs["strang", 0.1]
    errs = compare_to_reference(out, r0, row=0)
    # same discrete state (minimum-image packet, discrete normalisation) and the same H: rounding only
    for key, err in errs.items():
        assert err <= 1e-13, (key, err, errs)


@pytest.mark.parametrize("scheme,order,ratio_tol", [("strang", 2, 0.10), ("yoshida4", 4, 0.20)])
def test_measured_order(ref3, order_runs, scheme, order, ratio_tol):
    _, _, rT = ref3
    dts = (0.1, 0.05, 0.025)
    errs = [abs(order_runs[scheme, dt]["density/rho"][-1] - rT["rho"]).max() for dt in dts]
    # error = C dt^p (1 + O(dt^2)): each halving divides it by 2^p, within 10% (Strang) / 20% (Yoshida-4)
    for e1, e2 in zip(errs, errs[1:]):
        assert e2 > 0
        assert abs(e1 / e2 / 2**order - 1) <= ratio_tol, (scheme, errs, [a / b for a, b in zip(errs, errs[1:])])
    # the same for the energy error (energy is exactly conserved by the reference)
    if scheme == "strang":
        eerr = [abs(order_runs[scheme, dt]["observables/energy"][-1] - rT["energy"]) for dt in dts]
        for e1, e2 in zip(eerr, eerr[1:]):
            assert abs(e1 / e2 / 4 - 1) <= ratio_tol, eerr


def test_yoshida4_matches_independent_reference(ref3, order_runs):
    """Interacting N = 3, d = 1 against an independent high-accuracy solution on the same grid."""
    _, _, rT = ref3
    fine, coarse = order_runs["yoshida4", 0.0125], order_runs["yoshida4", 0.025]
    # Error of the fine run, estimated from the solver alone (Richardson, 4th order):
    # |u(dt/2) - u_exact| ~ |u(dt) - u(dt/2)| / 15. The reference must agree within twice that
    # estimate; a priori size: 4.5e-7 at dt = 0.1 / 16^3 ~ 1.1e-10, so also below 1e-9.
    for key, err in compare_to_reference(fine, rT).items():
        est = richardson_estimate(coarse, fine, key)
        assert err <= max(2 * est, 1e-13), (key, err, est)
        assert err <= 1e-9, (key, err)


REF_CASES = {
    # name: (N, d, M, L, potential, lambda, width, trap omega, q, p[, hbar])
    "N3-d1-M12-softcoulomb-trap": (3, 1, 12, 10.0, "softcoulomb", 0.7, 0.5, 0.8, [0.4], [0.3]),
    "N3-d1-M12-cosine": (3, 1, 12, 12.0, "cosine", 0.8, 4.0, 0.0, [0.4], [-0.5]),
    "N3-d1-M15-gaussian-oddM": (3, 1, 15, 10.0, "gaussian", 1.0, 1.0, 0.0, [0.4], [0.6]),
    "N4-d1-M8-gaussian": (4, 1, 8, 8.0, "gaussian", 1.5, 1.0, 0.5, [0.3], [0.4]),
    "N2-d2-M8-gaussian-trap": (2, 2, 8, 8.0, "gaussian", 1.0, 1.0, 0.7, [0.4, -0.3], [0.3, 0.5]),
    "N2-d2-M8-cosine": (2, 2, 8, 8.0, "cosine", 0.8, 4.0, 0.0, [0.4, -0.3], [0.3, 0.5]),
    "N2-d3-M4-gaussian-trap": (2, 3, 4, 6.0, "gaussian", 1.0, 1.5, 0.5, [0.4, -0.3, 0.2], [0.3, 0.5, -0.2]),
    "N3-d1-M12-gaussian-trap-hbar0.5": (3, 1, 12, 6.0, "gaussian", 1.0, 1.0, 1.0, [0.4], [0.3], 0.5),
}


@pytest.mark.parametrize("case", sorted(REF_CASES))
def test_potentials_and_dimensions_match_reference(tmp_path, case):
    """Every pair potential, the trap, d = 1, 2, 3, N up to 4 and an odd M against the independent
    grid reference (same grid, so the grid's resolution does not matter): the initial state and
    <H> exactly, the state at t = 0.4 via Yoshida-4 within its Richardson error estimate."""
    N, d, M, L, pot, lam, width, w, q, p, *rest = REF_CASES[case]
    hbar = rest[0] if rest else 1.0
    g = GridReference(N=N, d=d, M=M, L=L, hbar=hbar, potential=pot, lam=lam, sigma=width, omega=w)
    psi0 = g.product(q, p)
    args = qrbm_args(particles=N, dim=d, grid=M, box=L, hbar=hbar, potential=pot, potential_strength=lam, potential_width=width,
                     trap_omega=w, init_q=q, init_p=p, t_final=0.4, scheme="yoshida4", output_interval=1000)
    fine = run_qrbm({**args, "-dt": 0.02}, tmp_path=tmp_path)
    coarse = run_qrbm({**args, "-dt": 0.04}, tmp_path=tmp_path)
    # t = 0: same discrete state and operator; rounding of O(1) sums only -> 1e-13
    for key, err in compare_to_reference(fine, g.observables(psi0), row=0).items():
        assert err <= 1e-13, (key, err)
    assert abs(fine["observables/energy_interaction"][0]) > 1e-3 or pot == "none"
    # t = 0.4: 4th-order error, estimated from the solver alone by Richardson (|u(dt)-u(dt/2)|/15);
    # the reference must agree within twice that, or within rounding (~20 steps x 3 sub-steps x
    # eps x O(1) -> 1e-12).
    rT = g.observables(g.evolve(psi0, 0.4))
    for key, err in compare_to_reference(fine, rT).items():
        est = richardson_estimate(coarse, fine, key)
        assert err <= max(2 * est, 1e-12), (key, err, est)
        assert err <= 1e-6, (key, err)


# ---------------------------------------------------------------------------------------------
# 6. Two dimensions.
# ---------------------------------------------------------------------------------------------
def test_free_packet_2d(tmp_path):
    q, p, hbar, L, M, T = np.array([0.5, -1.0]), np.array([1.0, -0.5]), 1.0, 20.0, 64, 1.0
    # h = 0.3125: aliasing amplitude exp(-(P_N - |p|)^2/(2 hbar)) with P_N = 10: exp(-40); periodic
    # images at t = 1 (variance 1): density cross term exp(-L^2/8) = exp(-50), density beyond the
    # edge (distance 8.5) exp(-36) x x^2 ~ 1e-14; Poisson summation exp(-2 pi^2/h^2 * 0.5) ~ exp(-100).
    # Free steps are exact in time; rounding ~1e-14. Tolerance 1e-11.
    tol = 1e-11
    out = run_qrbm(qrbm_args(particles=1, dim=2, grid=M, box=L, hbar=hbar, t_final=T, dt=0.1, potential="none",
                             init_q=list(q), init_p=list(p), output_interval=5), tmp_path=tmp_path)
    t = out["observables/time"]
    var = hbar / 2 * (1 + t**2)
    np.testing.assert_allclose(out["observables/norm"], 1, rtol=0, atol=1e-12)
    for c in range(2):
        np.testing.assert_allclose(out["observables/x"][:, c], q[c] + p[c] * t, rtol=0, atol=tol)
        np.testing.assert_allclose(out["observables/x2_axes"][:, c], (q[c] + p[c] * t) ** 2 + var, rtol=0, atol=tol)
        np.testing.assert_allclose(out["observables/p"][:, c], p[c], rtol=0, atol=tol)
        np.testing.assert_allclose(out["observables/p2_axes"][:, c], p[c] ** 2 + hbar / 2, rtol=0, atol=tol)
    np.testing.assert_allclose(out["observables/x2"], out["observables/x2_axes"].sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(out["observables/energy"], np.sum(p**2) / 2 + 2 * hbar / 4, rtol=0, atol=tol)
    x = out["density/x"]
    rho = out["density/rho"]
    assert rho.shape == (len(t), M, M)
    for i, ti in enumerate(t):  # axis 0 of the one-particle grid is component 0
        expect = np.outer(free_density(x, ti, q[0], p[0], hbar), free_density(x, ti, q[1], p[1], hbar))
        np.testing.assert_allclose(rho[i], expect, rtol=0, atol=tol)


def test_interacting_2d_two_particles(tmp_path):
    base = qrbm_args(particles=2, dim=2, grid=16, box=10.0, t_final=0.5, potential="gaussian", init_q=[0.3, -0.2], init_p=[0.4, 0.1])
    runs = {dt: run_qrbm({**base, "-dt": dt, "-output_interval": round(0.05 / dt)}, tmp_path=tmp_path) for dt in (0.05, 0.025)}
    for out in runs.values():
        assert abs(out["observables/norm"] - 1).max() <= 1e-12  # unitary steps: rounding only
        np.testing.assert_allclose(out["density/rho"].sum(axis=(1, 2)) * (10.0 / 16) ** 2, out["observables/norm"], rtol=1e-13)
        assert out["observables/energy_interaction"][0] > 0
        np.testing.assert_allclose(out["observables/energy"],
                                   out["observables/energy_kinetic"] + out["observables/energy_interaction"] + out["observables/energy_trap"], rtol=1e-13)
    dev = {dt: out["observables/energy"] - out["observables/energy"][0] for dt, out in runs.items()}
    # Strang: the energy error curve is dt^2 g(t) + O(dt^4): halving dt divides it by 4 (+-10%)
    assert abs(dev[0.05]).max() > 0
    assert abs(dev[0.05] - 4 * dev[0.025]).max() <= 0.1 * abs(dev[0.05]).max()


# ---------------------------------------------------------------------------------------------
# 7. Symmetrised and ground-state initial data.
# ---------------------------------------------------------------------------------------------
def test_symmetrized_two_packets(tmp_path):
    qs, ps = [-2.0, 2.0], [0.5, -0.5]
    g = GridReference(N=2, M=32, L=12.0, potential="gaussian")
    psi0 = g.symmetrized(qs, ps)
    args = qrbm_args(particles=2, grid=32, box=12.0, t_final=1.0, potential="gaussian", init="symmetrized", init_q=qs, init_p=ps,
                     scheme="yoshida4", output_interval=1000)
    fine = run_qrbm({**args, "-dt": 0.025}, tmp_path=tmp_path)
    coarse = run_qrbm({**args, "-dt": 0.05}, tmp_path=tmp_path)
    # t = 0: the permanent of the two packets, normalised: identical up to rounding
    for key, err in compare_to_reference(fine, g.observables(psi0), row=0).items():
        assert err <= 1e-13, (key, err)
    rho0 = fine["density/rho"][0]
    # Both packets are present with equal weight: the packets are mirror images (q -> -q, p -> -p),
    # so the symmetric state's one-body density is even: rho(x_j) = rho(-x_j) = rho(x_{M-j}).
    np.testing.assert_allclose(rho0[1:], rho0[1:][::-1], rtol=0, atol=1e-14)
    x = fine["density/x"]
    near = lambda c: rho0[abs(x - c) < g.h].min()  # noqa: E731
    assert near(-2.0) > 0.2 and near(2.0) > 0.2  # peak 1/(2 sqrt(pi hbar)) = 0.28 at q = +-2
    # The particle-averaged density alone cannot tell the permanent from the plain product
    # phi_1 x phi_2; the exchange term 2 Re(<phi_2|phi_1> phi_1* phi_2) with overlap
    # exp(-(dq^2 + dp^2)/(4 hbar)) = 0.014 does, at ~1e-4 >> the 1e-13 agreement above.
    phis = [packet(g.x, qq, pp, 1.0, g.L) for qq, pp in zip(qs, ps)]
    prod = g.observables(g.normalise(np.multiply.outer(*phis).ravel()))["rho"]
    assert abs(rho0 - prod).max() > 1e-5
    assert abs(fine["observables/norm"][0] - 1) < 1e-13
    # evolution under the (symmetric) interaction vs the reference propagation of the same state
    rT = g.observables(g.evolve(psi0, 1.0))
    for key, err in compare_to_reference(fine, rT).items():
        est = richardson_estimate(coarse, fine, key)
        assert err <= max(2 * est, 1e-13), (key, err, est)  # 4th order: Richardson estimate


def test_symmetrized_three_packets_is_the_permanent(ref3, tmp_path):
    g, _, _ = ref3
    qs, ps = [-2.5, 0.0, 2.5], [0.3, -0.2, 0.0]
    out = run_qrbm({**REF_ARGS, "-init": "symmetrized", "-init_q": qs, "-init_p": ps, "-dt": 0.0125, "-scheme": "yoshida4",
                    "-output_interval": 1000}, tmp_path=tmp_path)
    psi0 = g.symmetrized(qs, ps)
    for key, err in compare_to_reference(out, g.observables(psi0), row=0).items():
        assert err <= 1e-13, (key, err)
    # after t = 0.5 with Yoshida-4 at dt = 0.0125: error ~ 1e-10 (see the coherent case); 1e-8
    for key, err in compare_to_reference(out, g.observables(g.evolve(psi0, REF_T))).items():
        assert err <= 1e-8, (key, err)


def strang_ground_width(w, tau):
    """Gaussian exp(-a x^2/(2 hbar)) fixed by one imaginary-time Strang step:
    1/a -> 1/a + tau/2 (half kinetic), a -> a + tau w^2 (trap), 1/a -> 1/a + tau/2."""

    def step(a):
        a1 = 1 / (1 / a + tau / 2)
        return 1 / (1 / (a1 + tau * w * w) + tau / 2)

    return brentq(lambda a: step(a) - a, 1e-6 * w, 1e6 * w, xtol=1e-15, rtol=4 * EPS)


@pytest.mark.parametrize(
    "N,d,w,q,dtau,M",
    [
        pytest.param(1, 1, 1.0, [0.8], 0.05, 32, id="N1-d1-w1"),
        pytest.param(2, 1, 1.0, [0.8], 0.05, 32, id="N2-d1-w1"),
        pytest.param(1, 2, 1.0, [0.8, -0.5], 0.1, 32, id="N1-d2-w1"),
        pytest.param(2, 1, 2.0, [0.5], 0.05, 48, id="N2-d1-w2"),
    ],
)
def test_ground_state_energy(tmp_path, N, d, w, q, dtau, M):
    hbar, L = 1.0, 12.0
    # Ground state exp(-a x^2/(2 hbar)), a ~ w. Exponentially small grid terms: aliasing amplitude
    # exp(-P_N^2/(2 hbar a)) with P_N = hbar pi/h: w = 1, h = 0.375: exp(-35); w = 2, h = 0.25: exp(-39);
    # density at the box edge exp(-a 36/hbar) <= 2e-16; Poisson summation exp(-pi^2/(a h^2)) tiny.
    out = run_qrbm(qrbm_args(particles=N, dim=d, grid=M, box=L, hbar=hbar, t_final=0.1, dt=0.05, potential="none", trap_omega=w,
                             init="ground", init_q=q, ground_dtau=dtau, ground_tol=1e-13), tmp_path=tmp_path)
    E0 = out["observables/energy"][0]
    # The Strang fixed point in the Gaussian family is exact for the harmonic trap: a = w (1 - (w tau)^2/8 + ..),
    # energy per axis hbar/4 (a + w^2/a) = hbar w/2 (1 + (w tau)^4/128 + ...) -- O(tau^2) in the state,
    # O(tau^4) in the (variational) energy. Convergence to ground_tol 1e-13 leaves ~1e-13 relative.
    a = strang_ground_width(w, dtau)
    E_pred = N * d * hbar / 4 * (a + w * w / a)
    np.testing.assert_allclose(E0, E_pred, rtol=1e-11)
    E_ho = N * d * hbar * w / 2
    assert abs(E0 / E_ho - 1) <= (w * dtau) ** 4 / 128 * 1.1 + 1e-11
    assert abs(E0 / E_ho - 1) <= (w * dtau) ** 2  # the brief's O(dtau^2) splitting-error bound
    # The stop criterion bounds the energy, which is quadratic in the residual excited amplitudes c_j:
    # c_j^2 j hbar w (1 - exp(-20 j w tau)) <= ground_tol E_particle after the last 10 steps, so the
    # state (and moments linear in it) carries c ~ sqrt(ground_tol) ~ 3e-7: <x> = 2 c1 <0|x|1> with
    # <0|x|1> = sqrt(hbar/(2w)); <x^2>, <p^2> move by 2 c2 <0|x^2|2> = 2 c2 sqrt(2) hbar/(2w) (resp. w hbar/2).
    c = [math.sqrt(1e-13 * d * hbar * w / 2 / (j * hbar * w * (1 - math.exp(-20 * j * w * dtau)))) for j in (1, 2)]
    np.testing.assert_allclose(out["observables/x"][0], 0, rtol=0, atol=2 * 2 * c[0] * math.sqrt(hbar / (2 * w)))
    np.testing.assert_allclose(out["observables/x2_axes"][0], hbar / (2 * a), rtol=2 * 2 * math.sqrt(2) * c[1])
    np.testing.assert_allclose(out["observables/p2_axes"][0], hbar * a / 2, rtol=2 * 2 * math.sqrt(2) * c[1])
    np.testing.assert_allclose(out["observables/norm"], 1, atol=1e-13)
