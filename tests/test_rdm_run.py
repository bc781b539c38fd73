"""One-particle reduced density matrix R_1 in runs (-rdm_interval), its Wigner function, and the
error of the random batch mean against the exact dynamics (-reference exact, bin/qrbm-compare).

Covered:
* R_1 of exact and RB runs at 1, 2 and 4 ranks (d = 1) and of a d = 2 exact run at 1 and 2 ranks:
  Hermitian, trace 1, positive semidefinite to rounding, /rdm/time every -rdm_interval output
  times, /rdm/eigenvalues, purity and entropy consistent with R_1, the diagonal / h^d equal to
  /density/rho, /wigner/W equal to an independent NumPy Wigner transform of the stored R_1 and its
  x-marginal equal to rho; everything equal across rank counts to 1e-12;
* a product state without interaction stays a product: R_1 of rank 1, purity 1, entropy 0;
* the exact dynamics keeps the state symmetric: one label's R_1 equals the label average (the RB
  code path with P = N);
* the Wigner function of a coherent state against the analytic Gaussian at t = 0 and after free
  flight (W(x, xi, t) = W_0(x - xi t, xi)), its integral and x-marginal;
* -reference exact: /error equals bin/qrbm-compare on the separate exact and RB files, zero
  distances at t = 0, jackknife errors, bound above the weak norm, the printed and the
  OUTPUT.error.txt tables; qrbm-compare of a file with itself gives zeros;
* the error of the exact expectation (-rb_expectation enumerate) against the exact R_1 falls by
  about 2 per halving of Dt (first order) in trace and weak norm.

Tolerances: "equal to 1e-12" is max|a - b| <= 1e-12 * max|b| per dataset (X_stderr: 1e-12 *
max|X|, a standard error of nearly identical realisations being a difference of nearly equal
numbers). NumPy recomputations of sums of O(M^2) terms: 1e-10 relative. Runtime about 1 minute on
2 cores.
"""
import subprocess

import h5py
import numpy as np
import pytest

import conftest
from conftest import TIMEOUT, mpi_env, qrbm_command, read_output, run_qrbm, with_options
from test_rdm_metrics import wigner  # the independent NumPy Wigner transform

RTOL = 1e-12

EXACT = {
    "dim": 1, "particles": 3, "grid": 8, "box": 8, "t_final": 0.4, "dt": 0.05,
    "potential_strength": 2, "init": "symmetrized", "init_q": [-1.5, 0, 1.5],
    "init_p": [0.5, -0.3, 0.2], "output_interval": 2, "rdm_interval": 2,
}
RB = {
    "dim": 1, "particles": 4, "grid": 8, "box": 8, "t_final": 0.4, "dt": 0.05,
    "potential_strength": 2, "init": "symmetrized", "init_q": [-1.5, -0.5, 0.5, 1.5],
    "init_p": [0.5, -0.5, 0.3, -0.3], "output_interval": 2, "rdm_interval": 1,
    "method": "rbm", "batch_size": 2, "rb_dt": 0.1, "realizations": 4, "seed": 5, "rdm_batches": 2,
}
EXACT2D = {
    "dim": 2, "particles": 2, "grid": 8, "box": 8, "t_final": 0.2, "dt": 0.05,
    "potential_strength": 2, "init": "symmetrized", "init_q": [-1, 0.5, 1, -0.5],
    "init_p": [0.3, 0, -0.3, 0.2], "output_interval": 2, "rdm_interval": 1,
}


opts = with_options


def compare_bin():
    return conftest.QRBM.parent / "qrbm-compare"


def run_compare(ref, rb, out):
    res = subprocess.run([str(compare_bin()), str(ref), str(rb), "-output", str(out)], capture_output=True, text=True,
                         env=mpi_env(), timeout=TIMEOUT)
    assert res.returncode == 0, f"qrbm-compare {ref} {rb} failed:\n{res.stdout}\n{res.stderr}"
    return read_output(out)


def assert_close(a, b, what, rtol=RTOL, scale=None):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    scale = np.abs(b).max() if scale is None else scale
    err = np.abs(a - b).max() if a.size else 0.0
    assert err <= rtol * scale + 1e-300, f"{what}: max difference {err:.3e} > {rtol:.0e} * {scale:.3e}"


def rdm_keys(d):
    return sorted(k for k in d if k.startswith(("rdm/", "wigner/", "density/rho", "error/")))


def assert_same_rdm(a, b, what):
    keys = rdm_keys(b)
    assert rdm_keys(a) == keys, f"{what}: dataset lists differ"
    for k in keys:
        scale = np.abs(b[k]).max()
        if k.endswith("_stderr"):
            scale = max(scale, np.abs(b[k[:-7]]).max())
        assert_close(a[k], b[k], f"{what}: {k}", scale=scale)


# ---------------------------------------------------------------------------------------------
# Independent NumPy Wigner transform (docs/wigner.md; as in test_rdm_metrics.py)


# ---------------------------------------------------------------------------------------------
# R_1 at several rank counts


CASES = {"exact": (EXACT, [1, 2, 4]), "rb": (RB, [1, 2, 4]), "exact2d": (EXACT2D, [1, 2])}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rdm")
    return {(case, n): run_qrbm(args, np=n, tmp_path=tmp, name=f"{case}-{n}.h5")
            for case, (args, nps) in CASES.items() for n in nps}


@pytest.mark.parametrize("case,np_", [(c, n) for c, (_, nps) in CASES.items() for n in nps])
def test_rdm_properties(runs, case, np_):
    args = CASES[case][0]
    d = runs[(case, np_)]
    M, dim, L = args["grid"], args["dim"], args["box"]
    h, Md = L / M, M ** dim
    R = d["rdm/R1"]
    T = R.shape[0]
    assert R.dtype == complex and R.shape == (T, Md, Md), R.shape
    # R_1 every rdm_interval output times
    assert np.array_equal(d["rdm/time"], d["observables/time"][::args["rdm_interval"]])
    assert d["rdm/R1_stderr"].shape == R.shape
    if args.get("method") != "rbm":
        assert np.all(d["rdm/R1_stderr"] == 0), "exact run: R1_stderr must be 0"
    for t in range(T):
        A = R[t]
        herm = np.abs(A - A.conj().T).max()
        assert herm <= 1e-15, f"t={d['rdm/time'][t]}: not Hermitian ({herm:.2e})"
        tr = np.trace(A)
        assert abs(tr - 1) <= 1e-12, f"t={d['rdm/time'][t]}: trace {tr}"
        ev = np.linalg.eigvalsh(A)[::-1]
        assert ev.min() >= -1e-14, f"t={d['rdm/time'][t]}: negative eigenvalue {ev.min():.2e}"
        assert_close(d["rdm/eigenvalues"][t], ev, f"t={d['rdm/time'][t]}: eigenvalues", rtol=1e-12, scale=1)
        assert abs(d["rdm/purity"][t] - np.sum(ev ** 2)) <= 1e-12
        assert abs(d["rdm/purity"][t] - np.vdot(A, A).real) <= 1e-12
        evp = ev[ev > 0]
        assert abs(d["rdm/entropy"][t] + np.sum(evp * np.log(evp))) <= 1e-12
        # diagonal / h^d is the one-body density at the same output time
        i = int(np.flatnonzero(np.isclose(d["observables/time"], d["rdm/time"][t], rtol=0, atol=1e-12))[0])
        rho = d["density/rho"][i]
        assert_close(np.diag(A).real.reshape(rho.shape) / h ** dim, rho, f"t={d['rdm/time'][t]}: diag R1 / h^d vs rho")
        assert np.abs(np.diag(A).imag).max() <= 1e-15
        # Wigner function of the (mean) R_1 and its x-marginal
        W = d["wigner/W"][t]
        assert W.shape == (2 * M, 2 * M)
        assert_close(W, wigner(A, M, dim, L, args.get("hbar", 1.0)), f"t={d['rdm/time'][t]}: W vs NumPy", rtol=1e-10)
        dxi = np.pi * args.get("hbar", 1.0) / L
        rho_x = rho.reshape(M, -1).sum(axis=1) * h ** (dim - 1)  # marginal over x_2.. for d > 1
        assert_close(W[::2].sum(axis=1) * dxi, rho_x, f"t={d['rdm/time'][t]}: x-marginal of W vs rho", rtol=1e-12)
    if case == "rb":
        assert d["rdm/R1_batches"].shape == (T, 2, Md, Md)
        assert np.array_equal(d["rdm/batch_counts"], [2, 2])
        # the pooled batch means are the mean
        pooled = (d["rdm/R1_batches"] * d["rdm/batch_counts"][None, :, None, None]).sum(1) / 4
        assert_close(pooled, R, "pooled R1_batches vs R1")
        assert np.abs(d["rdm/R1_stderr"][-1]).max() > 1e-6, "RB realisations should differ"
    # the interaction entangles: the final state is not a product (the test is not vacuous)
    assert d["rdm/purity"][-1] < 1 - 1e-4, f"purity {d['rdm/purity'][-1]}"


@pytest.mark.parametrize("case,np_", [(c, n) for c, (_, nps) in CASES.items() for n in nps[1:]])
def test_rdm_rank_invariance(runs, case, np_):
    assert_same_rdm(runs[(case, np_)], runs[(case, 1)], f"{case}: {np_} ranks vs 1")


# ---------------------------------------------------------------------------------------------
# Special states


@pytest.mark.parametrize("method", ["exact", "rbm"])
def test_product_state_stays_pure(tmp_path, method):
    """Without interaction (-potential none) a product of identical packets stays a product in a
    trap: R_1 = |phi><phi| at all times (also for the RB mean: every realisation is exact)."""
    args = {"dim": 1, "particles": 3, "grid": 16, "box": 10, "t_final": 0.5, "dt": 0.05, "potential": "none",
            "trap_omega": 1, "init": "coherent", "init_q": [1.0], "init_p": [0.7], "output_interval": 2,
            "rdm_interval": 1}
    if method == "rbm":
        args.update(method="rbm", batch_size=3, realizations=2, rb_dt=0.1, rdm_batches=2)
        args["particles"] = 3
    d = run_qrbm(args, np=2, tmp_path=tmp_path)
    ev = d["rdm/eigenvalues"]
    assert len(d["rdm/time"]) == 6
    assert np.abs(ev[:, 0] - 1).max() <= 1e-12, f"largest occupation {ev[:, 0]}"
    assert np.abs(ev[:, 1:]).max() <= 1e-12, f"other occupations up to {np.abs(ev[:, 1:]).max():.2e}"
    assert np.abs(d["rdm/purity"] - 1).max() <= 1e-12
    assert np.abs(d["rdm/entropy"]).max() <= 1e-12
    for t, A in enumerate(d["rdm/R1"]):
        w, V = np.linalg.eigh(A)
        phi = V[:, -1]
        assert_close(A, np.outer(phi, phi.conj()), f"t={d['rdm/time'][t]}: R1 = |phi><phi|")
    # the state moves: R_1 changes in time
    assert np.abs(d["rdm/R1"][-1] - d["rdm/R1"][0]).max() > 1e-2


def test_exact_single_label_equals_label_average(tmp_path):
    """The exact run records R_1 of one label (the state stays symmetric); -method rbm with
    P = N is the exact dynamics but records the label average (eq. 13)."""
    ex = run_qrbm(opts(EXACT, rdm_interval=1), np=2, tmp_path=tmp_path)
    avg = run_qrbm(opts(EXACT, rdm_interval=1, method="rbm", batch_size=3, realizations=1, rb_dt=0.1), np=2,
                   tmp_path=tmp_path)
    assert_close(avg["rdm/R1"], ex["rdm/R1"], "label average (rbm, P = N) vs one label (exact)")
    assert_close(avg["wigner/W"], ex["wigner/W"], "W")
    assert np.abs(ex["rdm/R1"][-1] - ex["rdm/R1"][0]).max() > 1e-2


# ---------------------------------------------------------------------------------------------
# Wigner function of a coherent state


def test_wigner_coherent_state(tmp_path):
    """One particle (pi hbar)^-1/4 exp(-(x-q)^2/(2 hbar) + i p (x-q)/hbar) on M = 64, L = 16:
    W = (pi hbar)^-1 exp(-((x-q)^2 + (xi-p)^2)/hbar) at t = 0 and, free flight with mass 1,
    W(x, xi, t) = W_0(x - xi t, xi) at t = 0.25, 0.5 (the split-step kinetic propagator is exact);
    integral 1 and x-marginal = rho (exact identities of the discrete transform). The spreading
    packet is cut more and more by the minimum-image window |s| < L/2 of docs/wigner.md: at t = 1
    the error is 2e-5 for L = 16 (6e-10 for L = 24), a property of the box, not of the code."""
    q, p, hbar, L, M = 1.0, 0.5, 1.0, 16.0, 64
    args = {"dim": 1, "particles": 1, "grid": M, "box": L, "hbar": hbar, "t_final": 0.5, "dt": 0.05,
            "potential": "none", "init": "coherent", "init_q": [q], "init_p": [p], "output_interval": 5,
            "rdm_interval": 1}
    d = run_qrbm(args, np=1, tmp_path=tmp_path)  # one particle in 1-D runs on one rank per grid
    x, xi = d["wigner/x"], d["wigner/xi"]
    h = L / M
    assert_close(x, -L / 2 + h / 2 * np.arange(2 * M), "wigner/x")
    assert_close(xi, np.pi * hbar * (np.arange(2 * M) - M) / L, "wigner/xi")
    dx, dxi = h / 2, np.pi * hbar / L
    assert np.allclose(d["rdm/time"], [0, 0.25, 0.5])
    for t, time in enumerate(d["rdm/time"]):
        W = d["wigner/W"][t]
        X = x[:, None] - xi[None, :] * time
        ana = np.exp(-((X - q) ** 2 + (xi[None, :] - p) ** 2) / hbar) / (np.pi * hbar)
        err = np.abs(W - ana).max()
        print(f"t = {time}: max |W - analytic| = {err:.2e}")
        assert err <= 1e-6, f"t = {time}: max |W - analytic| = {err:.2e}"
        assert abs(W.sum() * dx * dxi - 1) <= 1e-12, f"t = {time}: integral {W.sum() * dx * dxi}"
        assert_close(W[::2].sum(axis=1) * dxi, d["density/rho"][d["observables/time"] == time][0], "x-marginal vs rho")
    assert d["rdm/purity"].min() > 1 - 1e-12


# ---------------------------------------------------------------------------------------------
# -reference exact against bin/qrbm-compare

REF_RB = opts(RB, t_final=0.4, dt=0.025, output_interval=4, realizations=8, rdm_batches=4, seed=3)


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    exact_args = {k: v for k, v in REF_RB.items()
                  if k not in ("method", "batch_size", "rb_dt", "realizations", "seed", "rdm_batches")}
    ex = run_qrbm(exact_args, np=2, tmp_path=tmp, name="exact.h5")
    rb = run_qrbm(REF_RB, np=2, tmp_path=tmp, name="rb.h5")
    out = tmp / "rbref.h5"
    res = subprocess.run(qrbm_command(opts(REF_RB, reference="exact"), np=2, output=out, quiet=False),
                         capture_output=True, text=True, env=mpi_env(), timeout=TIMEOUT)
    assert res.returncode == 0, res.stdout + res.stderr
    cmp = run_compare(ex["_path"], rb["_path"], tmp / "cmp.h5")
    return dict(ex=ex, rb=rb, ref=read_output(out), stdout=res.stdout, cmp=cmp, tmp=tmp)


def test_reference_error_equals_compare(reference_runs):
    ref, cmp = reference_runs["ref"], reference_runs["cmp"]
    keys = sorted(k for k in cmp if k.startswith("error/"))
    assert keys == sorted(k for k in ref if k.startswith("error/")), "different /error datasets"
    for k in ("error/trace_stderr", "error/hs_stderr", "error/weak_stderr", "error/sobolev_stderr",
              "error/x2_stderr", "error/bound"):
        assert k in keys, f"{k} missing"
    weak = cmp["error/weak"]
    resolved = weak > 1e-8 * weak.max()
    for k in keys:
        a, b = ref[k], cmp[k]
        if k in ("error/weak_k", "error/weak_omega"):  # the argmax is arbitrary at rounding level
            a, b = np.abs(a[resolved]), np.abs(b[resolved])
        assert_close(a, b, f"in-run vs qrbm-compare {k}", rtol=1e-10)
    with h5py.File(ref["_path"], "r") as f, h5py.File(cmp["_path"], "r") as g:
        for a in ("Lambda", "L", "gamma_d", "K", "rb_dt"):
            assert a in f["error"].attrs, f"attribute {a} missing"
            assert abs(f["error"].attrs[a] - g["error"].attrs[a]) <= 1e-12 * abs(g["error"].attrs[a]), a
        assert f["error"].attrs["gamma_d"] == 1 and f["error"].attrs["K"] == 3  # K = [d/2] + 3
    # the reference does not change the RB ensemble, and W_reference is the exact run's W
    assert_close(ref["rdm/R1"], reference_runs["rb"]["rdm/R1"], "RB mean R1 with and without -reference")
    assert_close(ref["wigner/W_reference"], reference_runs["ex"]["wigner/W"], "W_reference vs the exact run's W")


def test_reference_error_values(reference_runs):
    ref = reference_runs["ref"]
    e = {k[6:]: v for k, v in ref.items() if k.startswith("error/")}
    assert np.allclose(e["time"], ref["rdm/time"])
    for k in ("trace", "hs", "weak", "sobolev"):
        assert abs(e[k][0]) <= 1e-13, f"{k} at t = 0: {e[k][0]}"
        assert np.all(np.isfinite(e[k + "_stderr"])) and np.all(e[k + "_stderr"] >= 0), f"{k}_stderr"
        assert e[k + "_stderr"][-1] > 0, f"{k}_stderr at the final time"
        assert e[k][-1] > 1e-4, f"{k}: the RB error should be measurable ({e[k][-1]})"
    for k in ("x2", "p2", "energy"):
        assert abs(e[k][0]) <= 1e-13, f"{k} error at t = 0"
    assert np.all(e["bound"] > e["weak"]), f"bound {e['bound']} vs weak {e['weak']}"
    # the printed table and OUTPUT.error.txt
    assert "# qrbm error table" in reference_runs["stdout"]
    txt = reference_runs["tmp"] / "rbref.h5.error.txt"
    tab = np.loadtxt(txt)
    cols = ["time", "trace", "trace_stderr", "hs", "hs_stderr", "weak", "weak_stderr", "weak_k", "weak_omega",
            "sobolev", "sobolev_stderr", "x2", "x2_stderr", "p2", "p2_stderr", "energy", "energy_stderr", "bound"]
    assert tab.shape == (len(e["time"]), len(cols))
    for j, c in enumerate(cols):
        assert np.allclose(tab[:, j], e[c], rtol=1e-6, atol=1e-20, equal_nan=True), f"error.txt column {c}"


def test_compare_file_with_itself(reference_runs, tmp_path):
    for name, tol in (("ex", 0.0), ("rb", 1e-13)):
        path = reference_runs[name]["_path"]
        c = run_compare(path, path, tmp_path / f"self-{name}.h5")
        for k in ("trace", "hs", "weak", "sobolev", "x2", "p2", "energy"):
            v = np.abs(c["error/" + k])
            # RB: the pooled mean of the jackknife groups vs the Welford mean, equal to rounding
            assert v.max() <= tol, f"{name} vs itself: {k} = {v.max():.2e}"


# ---------------------------------------------------------------------------------------------
# First-order convergence in Dt of the error of the mean

CONV = {
    "particles": 4, "grid": 8, "box": 8, "t_final": 0.4, "dt": 0.025, "potential_strength": 2,
    "init": "symmetrized", "init_q": [-1.5, -0.5, 0.5, 1.5], "init_p": [0.5, -0.5, 0.3, -0.3],
    "output_interval": 4, "rdm_interval": 1,
}
DTS = [0.2, 0.1, 0.05]  # 2, 4, 8 intervals: 9, 81, 6561 pairing sequences


@pytest.fixture(scope="module")
def enumerated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conv")
    ex = run_qrbm(CONV, np=2, tmp_path=tmp, name="exact.h5", read=False)
    en = {Dt: run_qrbm(opts(CONV, method="rbm", rb_dt=Dt, rb_expectation="enumerate", ranks_per_realization=1), np=2,
                       tmp_path=tmp, name=f"enum-{Dt}.h5", read=False) for Dt in DTS}
    return tmp, ex, en


def test_enumerate_file_compares(enumerated):
    """An enumerated expectation has no realisation groups: its file must be usable by
    qrbm-compare (it must not carry empty jackknife groups)."""
    tmp, ex, en = enumerated
    with h5py.File(en[DTS[0]], "r") as f:
        if "rdm/batch_counts" in f:
            counts = f["rdm/batch_counts"][()]
            assert np.all(counts > 0), f"enumerate run writes /rdm/R1_batches with batch_counts {counts}"
    run_compare(ex, en[DTS[0]], tmp / "enum-compare.h5")


def test_error_of_mean_first_order_in_Dt(enumerated):
    """Trace and weak norm of E R~_1 - R_1 (max over the output times) fall by a factor in
    [1.5, 2.6] per halving of Dt. Measured on copies without /rdm/R1_batches, /rdm/batch_counts
    (see test_enumerate_file_compares): an exact expectation has no jackknife groups."""
    tmp, ex, en = enumerated
    errs = {"trace": [], "weak": [], "hs": []}
    for Dt in DTS:
        copy = tmp / f"enum-{Dt}-nobatches.h5"
        copy.write_bytes(en[Dt].read_bytes())
        with h5py.File(copy, "r+") as f:
            for k in ("rdm/R1_batches", "rdm/batch_counts"):
                if k in f:
                    del f[k]
        c = run_compare(ex, copy, tmp / f"err-{Dt}.h5")
        assert abs(c["error/trace"][0]) <= 1e-13
        for k in errs:
            errs[k].append(c["error/" + k].max())
    for k, e in errs.items():
        ratios = [e[i] / e[i + 1] for i in range(len(e) - 1)]
        print(f"{k}: max errors {e}, ratios per halving {ratios}")
        assert e[-1] > 1e-4, f"{k}: error {e[-1]} too small to measure a rate"
        for r in ratios:
            assert 1.5 <= r <= 2.6, f"{k}: error ratio {r:.3f} per halving of Dt (errors {e}) is not first order"
