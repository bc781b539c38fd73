"""Tests of the reduced density matrix, Wigner and metrics modules and of bin/qrbm-compare.

* The cmocka binary build/tests/test_rdm (RDM labels against their definition, Wigner transform
  of coherent states, potential constants) is run on 2 and 4 MPI ranks: label 0's ring exchange
  with even and uneven slabs (M = 6 on 4 ranks: 2, 2, 2, 0 rows).
* bin/qrbm-compare on files written here with h5py in the run-output schema (docs/errors.md):
  trace and Hilbert-Schmidt norms against numpy.linalg.eigvalsh / norm, the weak and Sobolev norms
  against an independent NumPy implementation of the documented formulas (the Wigner function by
  an explicit Dirichlet-kernel interpolation matrix and explicit Fourier sums instead of FFTs),
  the jackknife, the observable errors, Lambda and L of the Gaussian against their closed forms,
  the bound of eq. (14); identical files give zeros; bad inputs fail with a clear message and leave
  no output behind.
Tolerances: the C code and NumPy evaluate the same finite sums in different orders, 1e-10
relative covers the rounding of O(M^2) sums of O(1) terms. Lambda of the Gaussian differs from
(2/pi)^(1/2) lambda d / sigma by the trapezoid error dw^2 sigma^2 / 12 (dw = 2 pi / (8 L); 8e-4 for
L = 8): rtol 2e-3.
"""
import subprocess

import h5py
import numpy as np
import pytest

from conftest import ROOT, mpi_env

COMPARE = ROOT / "bin" / "qrbm-compare"
UNIT = ROOT / "build" / "tests" / "test_rdm"
OBS = ("x2", "p2", "energy")


@pytest.fixture(scope="module", autouse=True)
def binaries():
    res = subprocess.run(["make", "-C", str(ROOT), "bin/qrbm-compare", "build/tests/test_rdm"], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("np_", [2, 4])
def test_unit_binary_parallel(np_):
    res = subprocess.run(["mpirun", "--oversubscribe", "-np", str(np_), str(UNIT)], capture_output=True, text=True, env=mpi_env(), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout + res.stderr  # cmocka prints the summary on stderr
    assert out.count("PASSED") == np_ and "FAILED" not in out, out


# ---------------------------------------------------------------------------------------------
# Independent NumPy implementation of docs/wigner.md and docs/errors.md


def interpolation_matrix(M):
    """T[n, a]: trigonometric interpolation (Nyquist split) from the M-point grid to the 2M points
    y_n = x_0 + n h / 2, as an explicit Dirichlet kernel."""
    k = np.arange(-(M // 2), M // 2 + 1)
    w = np.where(2 * np.abs(k) == M, 0.5, 1.0)
    u = np.arange(2 * M)[:, None] / 2 - np.arange(M)[None, :]
    return (w[None, None, :] * np.exp(2j * np.pi * k[None, None, :] * u[:, :, None] / M)).sum(-1).real / M


def first_component(R, M, d):
    """Partial trace over components 2..d (row-major one-particle index, component 0 slowest)."""
    Mr = M ** (d - 1)
    return np.einsum("arbr->ab", R.reshape(M, Mr, M, Mr))


def wigner(R, M, d, L, hbar):
    h = L / M
    R1 = first_component(R, M, d)
    T = interpolation_matrix(M)
    rt = T @ R1 @ T.T / h
    n = np.arange(2 * M)
    xi = np.pi * hbar * (n - M) / L
    W = np.zeros((2 * M, 2 * M))
    for m in range(-(M // 2), M // 2 + 1):
        wm = 0.5 if 2 * abs(m) == M else 1.0
        f = wm * rt[(n + m) % (2 * M), (n - m) % (2 * M)]
        W += (f[:, None] * np.exp(-1j * xi[None, :] * m * h / hbar)).real
    return W * h / (2 * np.pi * hbar)


def weak_norms(dW, M, d, L, hbar):
    h = L / M
    K = d // 2 + 3
    dx, dxi = h / 2, np.pi * hbar / L
    x = -L / 2 + dx * np.arange(2 * M)
    xi = dxi * (np.arange(2 * M) - M)
    j = np.arange(-M, M)
    k = 2 * np.pi * j / L
    om = 2 * np.pi * j / (2 * M * dxi)
    Ex = np.exp(1j * k[:, None] * x[None, :])
    Exi = np.exp(1j * om[:, None] * xi[None, :])
    I = Ex @ dW @ Exi.T * dx * dxi  # I[k, omega] = int dW exp(i (k x + omega xi))
    C = np.zeros(I.shape)
    for a in range(K + 1):
        for b in range(K + 1):
            if a + b:
                C = np.maximum(C, np.abs(k)[:, None] ** a * np.abs(om)[None, :] ** b)
    ratio = np.where(C > 0, np.abs(I) / np.where(C > 0, C, 1), 0)
    weak = ratio.max()
    sob = np.sqrt((np.abs(I) ** 2 * (1 + k[:, None] ** 2 + om[None, :] ** 2) ** (-K)).sum() * (2 * np.pi / L) * (om[1] - om[0]) / (4 * np.pi**2))
    return dict(weak=weak, sobolev=sob, I=I, C=C, k=k, om=om)


def distances(A, B, M, d, L, hbar):
    D = A - B
    out = dict(trace=np.abs(np.linalg.eigvalsh(D)).sum(), hs=np.linalg.norm(D))
    out.update(weak_norms(wigner(D, M, d, L, hbar), M, d, L, hbar))
    return out


def bound(t, Dt, d, Lam, Lip):
    return 2 * Dt * np.exp(6 * t * max(1, np.sqrt(d) * Lip)) * Lam * (2 + 3 * t * Lam * max(1, Dt) + 4 * np.sqrt(d) * Lip * t * Dt)


# ---------------------------------------------------------------------------------------------
# Files in the run-output schema


def random_rdm(rng, n, rank=3):
    G = rng.normal(size=(n, rank)) + 1j * rng.normal(size=(n, rank))
    A = G @ G.conj().T
    return A / np.trace(A).real


def write_run(path, M, times, R1, d=1, L=8.0, hbar=1.0, obs_time=None, obs=None, obs_stderr=None, batches=None, counts=None, fixed_strings=False, skip=(), **attrs):
    a = dict(dim=d, grid=M, box=L, hbar=hbar, particles=2, potential="gaussian", potential_strength=1.0, potential_width=1.0, rb_dt=0.1)
    a.update(attrs)
    with h5py.File(path, "w") as f:
        for key, v in a.items():
            f.attrs[key] = np.bytes_(v) if fixed_strings and isinstance(v, str) else v
        data = {"rdm/time": np.asarray(times, float), "rdm/R1": np.asarray(R1, complex)}
        if batches is not None:
            data["rdm/R1_batches"] = np.asarray(batches, complex)
            data["rdm/batch_counts"] = np.asarray(counts, float)
        data["observables/time"] = np.asarray(times if obs_time is None else obs_time, float)
        for o in OBS:
            data["observables/" + o] = obs[o]
            if obs_stderr is not None:
                data["observables/" + o + "_stderr"] = obs_stderr[o]
        for key, v in data.items():
            if key not in skip:
                f[key] = v


def run_compare(ref, rb, out, table=None):
    cmd = [str(COMPARE), str(ref), str(rb), "-output", str(out)] + (["-table", str(table)] if table else [])
    return subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=120)


def read_error(path):
    with h5py.File(path, "r") as f:
        g = f["error"]
        return {k: g[k][()] for k in g}, dict(g.attrs)


def random_obs(rng, n):
    return {o: rng.normal(size=n) for o in OBS}


# ---------------------------------------------------------------------------------------------


def test_compare_matches_numpy(tmp_path):
    rng = np.random.default_rng(11)
    M, L, hbar = 8, 8.0, 0.8
    tref, trb = [0.0, 0.1, 0.2, 0.3], [0.1 * (1 + 1e-12), 0.2, 0.3, 0.4]  # common: 0.1, 0.2, 0.3
    Rref, Rrb = [random_rdm(rng, M) for _ in tref], [random_rdm(rng, M) for _ in trb]
    oref, orb, serb = random_obs(rng, 4), random_obs(rng, 2), {o: np.abs(rng.normal(size=2)) for o in OBS}
    write_run(tmp_path / "ref.h5", M, tref, Rref, L=L, hbar=hbar, obs=oref)
    write_run(tmp_path / "rb.h5", M, trb, Rrb, L=L, hbar=hbar, obs_time=[0.1, 0.3], obs=orb, obs_stderr=serb, rb_dt=0.05, fixed_strings=True)
    res = run_compare(tmp_path / "ref.h5", tmp_path / "rb.h5", tmp_path / "err.h5", tmp_path / "table.txt")
    assert res.returncode == 0, res.stdout + res.stderr
    err, attrs = read_error(tmp_path / "err.h5")
    np.testing.assert_allclose(err["time"], [0.1, 0.2, 0.3], rtol=1e-15)
    assert attrs["K"] == 3 and attrs["gamma_d"] == 1
    np.testing.assert_allclose(attrs["Lambda"], np.sqrt(2 / np.pi), rtol=2e-3)
    np.testing.assert_allclose(attrs["L"], 1.0, rtol=1e-6)
    for i, (iref, irb) in enumerate([(1, 0), (2, 1), (3, 2)]):
        want = distances(Rrb[irb], Rref[iref], M, 1, L, hbar)
        for key in ("trace", "hs", "weak", "sobolev"):
            np.testing.assert_allclose(err[key][i], want[key], rtol=1e-10, err_msg=key)
        j = np.argmin(np.abs(want["k"] - err["weak_k"][i]))
        l = np.argmin(np.abs(want["om"] - err["weak_omega"][i]))
        assert abs(want["k"][j] - err["weak_k"][i]) < 1e-12 and abs(want["om"][l] - err["weak_omega"][i]) < 1e-12
        np.testing.assert_allclose(abs(want["I"][j, l]) / want["C"][j, l], want["weak"], rtol=1e-10)  # the recorded maximiser
        np.testing.assert_allclose(err["bound"][i], bound(err["time"][i], 0.05, 1, attrs["Lambda"], attrs["L"]), rtol=1e-14)
    for o in OBS:  # observables at 0.1 and 0.3 only
        np.testing.assert_allclose(err[o][[0, 2]], orb[o] - oref[o][[1, 3]], rtol=1e-14)
        np.testing.assert_array_equal(err[o + "_stderr"][[0, 2]], serb[o])
        assert np.isnan(err[o][1]) and np.isnan(err[o + "_stderr"][1])
    assert "trace_stderr" not in err  # no realisation groups, no jackknife
    table = np.loadtxt(tmp_path / "table.txt")
    assert table.shape == (3, 18)
    np.testing.assert_allclose(table[:, 1], err["trace"], rtol=1e-6)
    assert "# " in res.stdout and len(res.stdout.strip().splitlines()) == 5 + 3
    assert not (tmp_path / "err.h5.part").exists()


def test_compare_jackknife(tmp_path):
    rng = np.random.default_rng(5)
    M, L, hbar, K = 8, 8.0, 1.0, 4
    times = [0.0, 0.5]
    counts = np.array([3.0, 2.0, 4.0, 3.0])
    Rref = [random_rdm(rng, M) for _ in times]
    base = [random_rdm(rng, M) for _ in times]
    batches = np.array([[0.8 * base[t] + 0.2 * random_rdm(rng, M) for _ in range(K)] for t in range(2)])
    pooled = np.einsum("b,tbij->tij", counts, batches) / counts.sum()
    obs = random_obs(rng, 2)
    write_run(tmp_path / "ref.h5", M, times, Rref, obs=obs)
    write_run(tmp_path / "rb.h5", M, times, pooled, batches=batches, counts=counts, obs=obs, obs_stderr=obs)
    res = run_compare(tmp_path / "ref.h5", tmp_path / "rb.h5", tmp_path / "err.h5")
    assert res.returncode == 0, res.stdout + res.stderr
    err, _ = read_error(tmp_path / "err.h5")
    for t in range(2):
        full = distances(pooled[t], Rref[t], M, 1, L, hbar)
        loo = []
        for b in range(K):
            keep = np.arange(K) != b
            mean = np.einsum("b,bij->ij", counts[keep], batches[t][keep]) / counts[keep].sum()
            loo.append(distances(mean, Rref[t], M, 1, L, hbar))
        for key in ("trace", "hs", "weak", "sobolev"):
            d = np.array([x[key] for x in loo])
            np.testing.assert_allclose(err[key][t], full[key], rtol=1e-10, err_msg=key)
            np.testing.assert_allclose(err[key + "_stderr"][t], np.sqrt((K - 1) / K * ((d - d.mean()) ** 2).sum()), rtol=1e-8, err_msg=key)
        for o in OBS:
            assert err[o][t] == 0


def test_compare_d2_marginal(tmp_path):
    rng = np.random.default_rng(3)
    M, L, hbar, d = 8, 6.0, 1.0, 2
    A, B = random_rdm(rng, M * M, 5), random_rdm(rng, M * M, 5)
    obs = random_obs(rng, 1)
    write_run(tmp_path / "ref.h5", M, [0.0], [A], d=d, L=L, obs=obs)
    write_run(tmp_path / "rb.h5", M, [0.0], [B], d=d, L=L, obs=obs)
    res = run_compare(tmp_path / "ref.h5", tmp_path / "rb.h5", tmp_path / "err.h5")
    assert res.returncode == 0, res.stdout + res.stderr
    err, attrs = read_error(tmp_path / "err.h5")
    want = distances(B, A, M, d, L, hbar)
    assert attrs["K"] == 4
    for key in ("trace", "hs", "weak", "sobolev"):
        np.testing.assert_allclose(err[key][0], want[key], rtol=1e-10, err_msg=key)
    np.testing.assert_allclose(attrs["Lambda"], 2 * np.sqrt(2 / np.pi), rtol=2e-3)
    np.testing.assert_allclose(attrs["L"], 2.0, rtol=1e-6)


def test_identical_files_give_zeros(tmp_path):
    rng = np.random.default_rng(7)
    M = 8
    write_run(tmp_path / "a.h5", M, [0.0, 0.25], [random_rdm(rng, M), random_rdm(rng, M)], obs=random_obs(rng, 2))
    res = run_compare(tmp_path / "a.h5", tmp_path / "a.h5", tmp_path / "err.h5")
    assert res.returncode == 0, res.stdout + res.stderr
    err, _ = read_error(tmp_path / "err.h5")
    for key in ("trace", "hs", "weak", "sobolev", "weak_k", "weak_omega") + OBS:
        np.testing.assert_array_equal(err[key], 0.0, err_msg=key)


@pytest.mark.parametrize("field,value", [("box", 9.0), ("grid", 16), ("hbar", 0.5), ("dim", 2)])
def test_mismatched_grids_fail(tmp_path, field, value):
    rng = np.random.default_rng(1)
    M = 8
    write_run(tmp_path / "ref.h5", M, [0.0], [random_rdm(rng, M)], obs=random_obs(rng, 1))
    write_run(tmp_path / "rb.h5", M, [0.0], [random_rdm(rng, M)], obs=random_obs(rng, 1), **{field: value})
    res = run_compare(tmp_path / "ref.h5", tmp_path / "rb.h5", tmp_path / "err.h5")
    assert res.returncode != 0
    msg = res.stdout + res.stderr
    assert f"attribute '{field}'" in msg and "ref.h5" in msg and "rb.h5" in msg and "different grids" in msg, msg
    assert not (tmp_path / "err.h5").exists() and not (tmp_path / "err.h5.part").exists()


@pytest.mark.parametrize("missing", ["rdm/R1", "rdm/time", "observables/energy"])
def test_missing_dataset_fails(tmp_path, missing):
    rng = np.random.default_rng(2)
    M = 8
    write_run(tmp_path / "ref.h5", M, [0.0], [random_rdm(rng, M)], obs=random_obs(rng, 1))
    write_run(tmp_path / "rb.h5", M, [0.0], [random_rdm(rng, M)], obs=random_obs(rng, 1), skip=(missing,))
    res = run_compare(tmp_path / "ref.h5", tmp_path / "rb.h5", tmp_path / "err.h5")
    assert res.returncode != 0
    assert f"rb.h5: dataset /{missing} is missing" in res.stdout + res.stderr, res.stdout + res.stderr
    assert not (tmp_path / "err.h5").exists() and not (tmp_path / "err.h5.part").exists()


def test_no_common_times_fails(tmp_path):
    rng = np.random.default_rng(4)
    M = 8
    write_run(tmp_path / "ref.h5", M, [0.0, 0.1], [random_rdm(rng, M)] * 2, obs=random_obs(rng, 2))
    write_run(tmp_path / "rb.h5", M, [0.05, 0.15], [random_rdm(rng, M)] * 2, obs=random_obs(rng, 2))
    res = run_compare(tmp_path / "ref.h5", tmp_path / "rb.h5", tmp_path / "err.h5")
    assert res.returncode != 0
    assert "no common RDM output time" in res.stdout + res.stderr, res.stdout + res.stderr
    assert not (tmp_path / "err.h5").exists() and not (tmp_path / "err.h5.part").exists()


def test_usage_errors(tmp_path):
    res = subprocess.run([str(COMPARE)], capture_output=True, text=True, env=mpi_env(), timeout=60)
    assert res.returncode != 0 and "usage: qrbm-compare REF.h5 RB.h5" in res.stdout + res.stderr
    res = subprocess.run([str(COMPARE), str(tmp_path / "nope.h5"), str(tmp_path / "nope2.h5")], capture_output=True, text=True, env=mpi_env(), timeout=60)
    assert res.returncode != 0 and "cannot open" in res.stdout + res.stderr
    res = subprocess.run([str(COMPARE), "a.h5", "b.h5", "-bogus", "1"], capture_output=True, text=True, env=mpi_env(), timeout=60, cwd=tmp_path)
    assert res.returncode != 0 and "-bogus" in res.stdout + res.stderr
