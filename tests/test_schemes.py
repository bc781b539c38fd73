"""The schemes of the scheme table beyond Strang and Yoshida-4 (which tests/test_physics.py measures):
chin4, bm6, bm11 and any row added later (docs/numerics.md). The list of schemes, their orders and
FFT pairs per step are read from the binary (bin/qrbm -help, made from the table), so a new row is
measured here once it has step sizes in DTS (test_every_scheme_has_step_sizes fails until then).

* Orders against the independent grid reference of test_physics (expm_multiply of the grid
  Hamiltonian): exact dynamics with and without a trap, d = 1 (N = 2: pair tables; N = 3:
  three-body terms per point) and d = 2, and random batches with a fixed pairing (-rb_dt =
  t_final, N = 4, P = 2: two independent pairs, so the density of identical packets is that of the
  N = 2 exact dynamics). The error of the one-body density is C dt^p (1 + O(dt^2)), so
  log(e1/e2)/log(dt1/dt2) of successive step sizes estimates p; asserted within 4 +- 0.3 (chin4, bm6) and 6 +- 0.5 (bm11) at step sizes in
  the asymptotic range and above rounding (errors >= 2e-13).
  The grids resolve the Gaussian pair potential (h = L/M = 0.5: its Fourier content at the Nyquist
  wave number is exp(-(pi/h)^2/2) ~ 3e-9) and the boxes keep the state away from the kinks of the
  periodic potentials (trap at the box edge, minimum-image V' at |r| = L/2): force-gradient terms
  use the analytic |grad Phi|^2 and the RKN schemes assume [V,[V,[V,T]]] = 0, both exact for the
  continuous Laplacian and accurate on the grid to that level; on under-resolved grids or small
  boxes the schemes fall back to second order with a small constant (measured: chin4 at M = 16,
  L = 12 has order 2 at errors ~1e-7).
* Error at equal FFT count at least 10x below Yoshida-4's.
* Rank and thread invariance (1e-12 relative, as test_parallel).
* Checkpoint/restart stopped at every step is bit-identical, for exact dynamics (three-body cache)
  and random batches with reshuffles (a potential-first scheme merges stages across steps only
  inside a reshuffle interval).
* Imaginary time uses Strang whatever -scheme: the ground state is the same as with -scheme strang.
"""
import re
import subprocess

import numpy as np
import pytest

import test_checkpoint as tc
from conftest import build_qrbm, mpi_env, read_output, run_qrbm, run_qrbm_raw
from test_parallel import assert_same_output
from test_physics import GridReference, qrbm_args


def binary_schemes():
    """-scheme value -> (order, FFT pairs per step), from the -help text the scheme table makes."""
    res = subprocess.run([str(build_qrbm()), "-help"], capture_output=True, text=True, env=mpi_env(), timeout=60)
    m = re.search(r"-scheme <[^>]*>: splitting scheme; per value its order and FFT pairs per step: (.*?) \(one of: ([^)]*)\)", res.stdout)
    assert m, "bin/qrbm -help must show QrbmSchemeHelp's text for -scheme (each value with its order and FFT pairs):\n" + res.stdout + res.stderr
    table = {name: (int(order), int(pairs)) for name, order, pairs in re.findall(r"(\w+) (\d+) (\d+)", m.group(1))}
    assert sorted(table) == sorted(m.group(2).split()), m.group(0)
    return table


SCHEMES = binary_schemes()
# orders measured here (strang and yoshida4: test_physics), with the tolerance of the order
ORDER = {s: (o, 0.3 if o <= 4 else 0.5) for s, (o, _) in SCHEMES.items() if s not in ("strang", "yoshida4")}
# FFT pairs per step (docs/numerics.md): kinetic stages of a step after merging
PAIRS = {s: p for s, (_, p) in SCHEMES.items() if s != "strang"}
T = 0.5


def case_args(N, d, M, L, omega):
    q = 0.5 if d == 1 else [0.5, -0.25]
    p = 0.3 if d == 1 else [0.3, 0.2]
    return qrbm_args(particles=N, dim=d, grid=M, box=L, potential="gaussian", potential_strength=1.0, potential_width=1.0,
                     t_final=T, init_q=q, init_p=p, trap_omega=omega, output_interval=100000)


def reference_density(N, d, M, L, omega):
    g = GridReference(N=N, M=M, L=L, hbar=1.0, potential="gaussian", lam=1.0, sigma=1.0, omega=omega, d=d)
    q, p = ((0.5,), (0.3,)) if d == 1 else ((0.5, -0.25), (0.3, 0.2))
    psi0 = g.product(q if d > 1 else q[0], p if d > 1 else p[0])
    return g.observables(g.evolve(psi0, T))["rho"]


# (N, d, M, L, omega, method): dts per scheme chosen in the asymptotic range
CASES = {
    "exact-N2-d1": (2, 1, 24, 12.0, 0.0, "exact"),
    "exact-N2-d1-trap": (2, 1, 24, 12.0, 0.7, "exact"),
    "exact-N3-d1-trap": (3, 1, 24, 12.0, 0.7, "exact"),
    "exact-N2-d2-trap": (2, 2, 20, 10.0, 0.5, "exact"),
    "rb-fixed-N4-d1-trap": (4, 1, 24, 12.0, 0.7, "rbm"),
}
DTS = {"chin4": (0.1, 0.05, 0.025), "bm6": (0.125, 0.0625, 0.03125), "bm11": (T / 2, T / 3, T / 4)}


def test_every_scheme_has_step_sizes():
    """The binary's schemes are the documented ones, and each new one has step sizes here."""
    assert {"strang": (2, 1), "yoshida4": (4, 3), "chin4": (4, 2), "bm6": (4, 6), "bm11": (6, 11)}.items() <= SCHEMES.items(), SCHEMES
    assert set(ORDER) <= set(DTS), f"add step sizes in the asymptotic range for {sorted(set(ORDER) - set(DTS))} to DTS"


@pytest.fixture(scope="module")
def references():
    cache = {}

    def get(name):
        N, d, M, L, omega, method = CASES[name]
        key = (2 if method == "rbm" else N, d, M, L, omega)
        if key not in cache:
            cache[key] = reference_density(*key)
        return cache[key]
    return get


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("scheme", sorted(set(ORDER) & set(DTS)))
def test_measured_order(tmp_path, references, case, scheme):
    N, d, M, L, omega, method = CASES[case]
    args = case_args(N, d, M, L, omega)
    if method == "rbm":
        args.update({"-method": "rbm", "-batch_size": 2, "-rb_dt": T, "-seed": 3})
    rho = references(case)
    errs = []
    for dt in DTS[scheme]:
        out = run_qrbm({**args, "-scheme": scheme, "-dt": dt}, tmp_path=tmp_path)
        errs.append(abs(out["density/rho"][-1] - rho).max())
    p, tol = ORDER[scheme]
    dts = DTS[scheme]
    orders = [np.log(errs[i] / errs[i + 1]) / np.log(dts[i] / dts[i + 1]) for i in range(len(dts) - 1)]
    assert min(errs) >= 2e-13, (scheme, case, errs)  # above rounding (~nsteps x stages x eps ~ 3e-14)
    assert all(abs(o - p) <= tol for o in orders), (scheme, case, errs, orders)


def test_error_at_equal_fft_count(tmp_path, references):
    """About 66 FFT pairs over t = 0.5 for every scheme (N = 3, trap): each scheme of order 4 or
    more besides Yoshida-4 at least 10x more accurate than Yoshida-4 (issue 10's target)."""
    case = "exact-N3-d1-trap"
    args = case_args(*CASES[case][:5])
    rho = references(case)
    err = {}
    for scheme, pairs in PAIRS.items():
        nsteps = 66 // pairs
        out = run_qrbm({**args, "-scheme": scheme, "-dt": repr(T / nsteps)}, tmp_path=tmp_path)
        err[scheme] = abs(out["density/rho"][-1] - rho).max()
    for scheme, (order, _) in ORDER.items():
        if order >= 4:
            assert err[scheme] * 10 <= err["yoshida4"], err


INVARIANCE = {
    "chin4-exact-N3-trap": dict(particles=3, dim=1, grid=12, box=8.0, trap_omega=0.5, init_q=0.5, init_p=0.3, t_final=0.2, dt=0.02,
                                output_interval=3, scheme="chin4"),
    "chin4-N2-d2": dict(particles=2, dim=2, grid=12, box=8.0, init_q=[0.3, -0.2], init_p=[0.4, 0.1], t_final=0.1, dt=0.02,
                        output_interval=2, scheme="chin4"),
    "bm6-rb-N4": dict(particles=4, dim=1, grid=10, box=8.0, trap_omega=0.5, init_q=0.5, init_p=0.3, t_final=0.2, dt=0.05,
                      output_interval=2, scheme="bm6", method="rbm", batch_size=2, rb_dt=0.1, seed=5),
    "bm11-exact-N3": dict(particles=3, dim=1, grid=12, box=8.0, init_q=0.5, init_p=0.3, t_final=0.2, dt=0.05, output_interval=3,
                          scheme="bm11"),
}


@pytest.mark.parametrize("case", list(INVARIANCE))
def test_rank_thread_invariance(tmp_path, case):
    args = qrbm_args(**INVARIANCE[case])
    ref = run_qrbm(args, np=1, tmp_path=tmp_path)
    for np_, threads in ((2, 1), (3, 1), (1, 2)):
        assert_same_output(ref, run_qrbm(args, np=np_, threads=threads, tmp_path=tmp_path), f"{case} np={np_} threads={threads}")


@pytest.mark.parametrize("scheme", ["chin4", "bm6"])
@pytest.mark.parametrize("case", ["exact", "rb"])
def test_restart_every_step_bit_identical(tmp_path, scheme, case):
    args = {**(tc.EXACT if case == "exact" else tc.RB), "scheme": scheme}
    layout = [(2, None)] if case == "exact" else [(2, 1)]
    ref = run_qrbm(tc.opts(args, ranks_per_realization=1) if case == "rb" else args, np=2, tmp_path=tmp_path, name="ref.h5")
    out = tmp_path / "out.h5"
    n = tc.stepwise(args, out, tmp_path / "ck.h5", layout)
    assert n >= round(args["t_final"] / args["dt"])
    tc.assert_identical(read_output(out), ref, f"{scheme} {case}: {n} restarts vs uninterrupted")


def test_rb_reshuffles_converge_to_fine_yoshida(tmp_path):
    """Random batches reshuffled every 2 steps of 0.05 (fixed pairing sequence, same seed): the
    potential-first schemes split the merged stage at interval starts. Their result must match
    Yoshida-4 at dt/4 (error ~ 2^-8 of Yoshida-4 at dt) within the fourth-order error expected at
    dt: |chin4(dt) - yoshida(dt/4)| <= 2 |yoshida(dt) - yoshida(dt/4)| (C_chin <= C_yoshida
    measured above, test_measured_order); a wrong pairing in a split stage is a first-order error."""
    base = qrbm_args(particles=4, dim=1, grid=16, box=8.0, trap_omega=0.5, init_q=0.5, init_p=0.3, t_final=0.4, output_interval=100000,
                     method="rbm", batch_size=2, rb_dt=0.1, seed=11)
    fine = run_qrbm({**base, "-scheme": "yoshida4", "-dt": 0.0125}, tmp_path=tmp_path)["density/rho"][-1]
    coarse = run_qrbm({**base, "-scheme": "yoshida4", "-dt": 0.05}, tmp_path=tmp_path)["density/rho"][-1]
    bound = 2 * abs(coarse - fine).max()
    for scheme in ("chin4", "bm6"):
        rho = run_qrbm({**base, "-scheme": scheme, "-dt": 0.05}, tmp_path=tmp_path)["density/rho"][-1]
        assert abs(rho - fine).max() <= bound, (scheme, abs(rho - fine).max(), bound)


@pytest.mark.parametrize("scheme", ["chin4", "bm11"])
def test_ground_state_uses_strang(tmp_path, scheme):
    """Imaginary time ignores -scheme: the initial (ground) state equals -scheme strang's to rounding."""
    args = qrbm_args(particles=2, dim=1, grid=16, box=8.0, trap_omega=1.0, init="ground", init_q=0.2, t_final=0.05, dt=0.05,
                     ground_dtau=0.05, output_interval=1)
    ref = run_qrbm({**args, "-scheme": "strang"}, tmp_path=tmp_path)
    out = run_qrbm({**args, "-scheme": scheme}, tmp_path=tmp_path)
    assert abs(out["density/rho"][0] - ref["density/rho"][0]).max() <= 1e-13


def test_modified_potential_without_cache_is_identical(tmp_path):
    """Exact N = 3 (three-body terms): with the per-point phase cached (default) and, under a
    memory limit that leaves no room for that state-sized array, recomputed at every stage. Both
    evaluate the same exponent and complex exponential per point: the outputs are bit-identical."""
    args = qrbm_args(particles=3, dim=1, grid=32, box=12.0, trap_omega=0.5, init_q=0.5, init_p=0.3, t_final=0.1, dt=0.02,
                     output_interval=2, scheme="chin4")
    res = run_qrbm_raw(args, tmp_path=tmp_path, quiet=False)
    assert res.returncode == 0, res.stderr
    need = float(re.search(r"memory: ([0-9.]+) MiB per rank needed .* 1 saved copies", res.stdout).group(1))
    state_mib = 32**3 * 16 / 2**20  # 0.5 MiB; the estimate is printed to 0.05 MiB
    low = run_qrbm_raw({**args, "-memory_limit_mb": need - state_mib / 2}, tmp_path=tmp_path, quiet=False)
    assert low.returncode == 0, low.stderr
    assert "is recomputed per point at every force-gradient stage" in low.stdout
    assert "0 saved copies" in low.stdout
    tc.assert_identical(read_output(low.output), read_output(res.output), "uncached vs cached modified potential")
