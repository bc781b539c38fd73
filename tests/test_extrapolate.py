"""bin/qrbm-extrapolate (Richardson extrapolation, docs/study.md) and -rb_couple_level (common
random numbers, docs/rbm.md).

Synthetic inputs (written here with h5py) whose every dataset is linear (two runs) or quadratic
(three runs) in Dt must extrapolate to the Dt = 0 value to rounding (1e-12 relative): the weights
(-1, 2) and (1/3, -2, 8/3) cancel those terms exactly. Standard errors: independent inputs in
quadrature, coupled inputs from the per-realisation combinations (compared with NumPy's formula).
Real runs: coupled runs share the coarse pairings, and the extrapolated file is accepted by
qrbm-compare. Refusals: every mismatch named in the message, nothing written. Runtime ~10 s.
"""
import os
import subprocess

import h5py
import numpy as np
import pytest

from conftest import ROOT, mpi_env, run_qrbm

EXTRAP = ROOT / "bin" / "qrbm-extrapolate"
COMPARE = ROOT / "bin" / "qrbm-compare"
RTOL = 1e-12

PHYS = {"format_version": 1, "dim": 1, "particles": 4, "grid": 4, "box": 8.0, "hbar": 1.0, "t_final": 1.0, "dt": 0.125,
        "scheme": b"strang", "potential": b"gaussian", "potential_strength": 2.0, "potential_width": 1.0, "trap_omega": 0.0,
        "init": b"symmetrized", "init_q": np.array([-1.5, -0.5, 0.5, 1.5]), "init_p": np.zeros(4), "ground_tol": 1e-10,
        "ground_maxiter": 100000, "ground_dtau": 0.125, "method": b"rbm", "batch_size": 2, "output_interval": 2, "rdm_interval": 1}
T, M, K = 3, 4, 4


def extrapolate(*args):
    return subprocess.run([str(EXTRAP), *map(str, args)], capture_output=True, text=True, env=mpi_env(), timeout=60)


def coefficients(seed):
    """Dt^0, Dt^1, Dt^2 coefficients of every synthetic dataset."""
    rng = np.random.default_rng(seed)
    shapes = {"observables/x2": (T,), "observables/energy": (T,), "observables/x": (T, 1), "density/rho": (T, M), "density/rho_p": (T, M),
              "wigner/W": (T, 2 * M, 2 * M)}
    c = {k: rng.normal(size=(3,) + s) for k, s in shapes.items()}
    c["rdm/R1"] = rng.normal(size=(3, T, M, M)) + 1j * rng.normal(size=(3, T, M, M))
    return c


def write_run(path, dt, coef, expectation="enumerate", seed=1, level=0, R=1, samples=None, status=b"complete", **attrs):
    """A run file at Dt = dt whose means are coef[0] + coef[1] dt + coef[2] dt^2. samples: per-dataset
    (R, ...) realisation rows (their mean replaces the polynomial), also used for stderr and groups."""
    with h5py.File(path, "w") as f:
        for k, v in {**PHYS, "rb_dt": dt, "rb_expectation": expectation.encode(), "seed": seed, "rb_couple_level": level,
                     "realizations": R, "status": status, **attrs}.items():
            f.attrs[k] = v
        f["observables/time"] = np.arange(T) * 0.25
        f["observables/step"] = np.arange(T) * 2.0
        f["rdm/time"] = np.arange(T) * 0.25
        f["density/x"], f["density/p"] = np.linspace(-4, 2, M), np.linspace(-1, 1, M)
        f["wigner/x"], f["wigner/xi"] = np.linspace(-4, 3, 2 * M), np.linspace(-2, 2, 2 * M)
        for k, c in coef.items():
            if samples is not None:
                s = samples[k]
                mean, se = s.mean(0), s.std(0, ddof=1) / np.sqrt(R) if np.isrealobj(s) else (
                    s.real.std(0, ddof=1) + 1j * s.imag.std(0, ddof=1)) / np.sqrt(R)
                if k.startswith(("observables", "density")):
                    f["realizations/" + k.split("/")[1]] = s
            else:
                mean, se = c[0] + c[1] * dt + c[2] * dt * dt, np.zeros_like(c[0])
            f[k] = mean
            if k != "wigner/W":
                f[k + "_stderr"] = se
            if k == "rdm/R1" and samples is not None:
                g = np.stack([samples[k][b::K].mean(0) for b in range(K)], axis=1)
                f["rdm/R1_batches"] = g
                f["rdm/batch_counts"] = np.array([len(samples[k][b::K]) for b in range(K)], float)


def read(path):
    with h5py.File(path) as f:
        out = {}
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        return out, dict(f.attrs)


def close(a, b):
    return np.max(np.abs(a - b)) <= RTOL * max(np.max(np.abs(b)), 1.0)


@pytest.mark.parametrize("levels", [2, 3])
def test_exact_on_polynomial_data(tmp_path, levels):
    """Two runs cancel a linear term, three runs a linear and a quadratic one: the result is the
    Dt = 0 coefficient to rounding, for every dataset; eigenvalues, purity, entropy are absent."""
    coef = coefficients(1)
    if levels == 2:
        coef = {k: np.stack([c[0], c[1], 0 * c[2]]) for k, c in coef.items()}
    dts = [0.5, 0.25, 0.125][:levels]
    paths = []
    for dt in dts[::-1]:  # any order on the command line
        paths.append(tmp_path / f"r{dt}.h5")
        write_run(paths[-1], dt, coef)
    res = extrapolate(*paths, "-output", tmp_path / "x.h5")
    assert res.returncode == 0, res.stderr
    out, attrs = read(tmp_path / "x.h5")
    for k, c in coef.items():
        assert close(out[k], c[0]), k
        if k != "wigner/W":
            assert np.all(out[k + "_stderr"] == 0), k
    assert close(out["observables/time"], np.arange(T) * 0.25)
    assert not any(k in out for k in ("rdm/eigenvalues", "rdm/purity", "rdm/entropy", "rdm/R1_batches"))
    want = [-1, 2] if levels == 2 else [1 / 3, -2, 8 / 3]
    assert np.allclose(attrs["richardson_weights"], want, rtol=1e-14)
    assert attrs["richardson_rb_dt"][0] == dts[0] and attrs["rb_dt"] == dts[-1]
    assert attrs["status"] == b"complete" and attrs["richardson_coupled"] == 0


def sampled_pair(tmp_path, coupled, R=12):
    """Two sampled inputs at Dt = 0.5, 0.25 with per-realisation rows; coupled: realisation r of
    the fine run is correlated with realisation r of the coarse run (shared noise)."""
    rng = np.random.default_rng(7)
    coef = coefficients(2)
    runs = []
    shared = {k: rng.normal(size=(R,) + c.shape[1:]) for k, c in coef.items()}
    for i, dt in enumerate([0.5, 0.25]):
        s = {}
        for k, c in coef.items():
            own = rng.normal(size=(R,) + c.shape[1:])
            noise = 0.8 * shared[k] + 0.6 * own if coupled else own
            if k == "rdm/R1":
                noise = noise + 1j * rng.normal(size=noise.shape)
            s[k] = c[0] + c[1] * dt + 0.1 * noise
        path = tmp_path / f"s{i}.h5"
        write_run(path, dt, coef, expectation="sample", seed=5 if coupled else 5 + i, level=i if coupled else 0, R=R, samples=s)
        runs.append((path, s))
    return runs


def test_paired_error_propagation(tmp_path):
    """Coupled inputs: stderr of mean_r(2 X_fine,r - X_coarse,r); R1: from the K paired groups;
    the combined groups are written for qrbm-compare's jackknife."""
    R = 12
    (pc, sc), (pf, sf) = sampled_pair(tmp_path, coupled=True, R=R)
    res = extrapolate(pc, pf, "-output", tmp_path / "x.h5")
    assert res.returncode == 0, res.stderr
    assert "paired" in res.stdout
    out, attrs = read(tmp_path / "x.h5")
    assert attrs["richardson_coupled"] == 1
    for k in ("observables/x2", "observables/x", "density/rho"):
        comb = 2 * sf[k] - sc[k]
        assert close(out[k], comb.mean(0)), k
        assert close(out[k + "_stderr"], comb.std(0, ddof=1) / np.sqrt(R)), k
    g = 2 * np.stack([sf["rdm/R1"][b::K].mean(0) for b in range(K)], 1) - np.stack([sc["rdm/R1"][b::K].mean(0) for b in range(K)], 1)
    assert close(out["rdm/R1_batches"], g)
    n = R / K  # equal groups: (sum_b n (C_b - C)^2 / ((K-1) R))^(1/2) per real and imaginary part
    dev = g - g.mean(1, keepdims=True)
    want = np.sqrt(n * (dev.real ** 2).sum(1) / ((K - 1) * R)) + 1j * np.sqrt(n * (dev.imag ** 2).sum(1) / ((K - 1) * R))
    assert close(out["rdm/R1_stderr"], want)


def test_independent_error_propagation(tmp_path):
    (pc, sc), (pf, sf) = sampled_pair(tmp_path, coupled=False)
    res = extrapolate(pc, pf, "-output", tmp_path / "x.h5")
    assert res.returncode == 0, res.stderr
    out, _ = read(tmp_path / "x.h5")
    for k in ("observables/energy", "density/rho_p"):
        se = [s[k].std(0, ddof=1) / np.sqrt(s[k].shape[0]) for s in (sc, sf)]
        assert close(out[k + "_stderr"], np.sqrt(se[0] ** 2 + 4 * se[1] ** 2)), k


def refusal(tmp_path, name, words, **attrs):
    coef = coefficients(3)
    write_run(tmp_path / "a.h5", 0.5, coef)
    fine = attrs.pop("_fine_dt", 0.25)
    write_run(tmp_path / "b.h5", fine, coef, **attrs)
    out = tmp_path / name
    res = extrapolate(tmp_path / "a.h5", tmp_path / "b.h5", "-output", out)
    assert res.returncode == 1, res.stdout
    for w in words:
        assert w in res.stderr, (w, res.stderr)
    assert not out.exists() and not (tmp_path / (name + ".part")).exists()
    assert res.stderr.count("ERROR") == 1


@pytest.mark.parametrize("attrs, words", [
    ({"hbar": 0.5}, ["'hbar'", "1 vs 0.5"]),
    ({"grid": 8}, ["'grid'"]),
    ({"init_q": np.array([-1.5, -0.5, 0.5, 2.0])}, ["'init_q'"]),
    ({"t_final": 2.0}, ["'t_final'"]),
    ({"_fine_dt": 0.2}, ["rb_dt 0.5 and 0.2", "ratio 2.5"]),
    ({"status": b"checkpointed"}, ["status is 'checkpointed'"]),
    ({"method": b"exact"}, ["method is 'exact'"]),
])
def test_refuses_mismatched_inputs(tmp_path, attrs, words):
    refusal(tmp_path, "x.h5", words, **attrs)


def test_refuses_other_times(tmp_path):
    coef = coefficients(3)
    write_run(tmp_path / "a.h5", 0.5, coef)
    write_run(tmp_path / "b.h5", 0.25, coef)
    with h5py.File(tmp_path / "b.h5", "a") as f:
        f["rdm/time"][1] = 0.3
    res = extrapolate(tmp_path / "a.h5", tmp_path / "b.h5", "-output", tmp_path / "x.h5")
    assert res.returncode == 1 and "/rdm/time: entry 1 is 0.25" in res.stderr and "0.29999" in res.stderr


def test_refuses_shared_seed_without_coupling(tmp_path):
    coef = coefficients(3)
    for i, dt in enumerate([0.5, 0.25]):
        write_run(tmp_path / f"s{i}.h5", dt, coef, expectation="sample", seed=9, level=0, R=4)
    res = extrapolate(tmp_path / "s0.h5", tmp_path / "s1.h5", "-output", tmp_path / "x.h5")
    assert res.returncode == 1 and "share a seed but are not a common-random-number chain" in res.stderr


def test_refuses_output_that_is_an_input(tmp_path):
    coef = coefficients(3)
    write_run(tmp_path / "a.h5", 0.5, coef)
    write_run(tmp_path / "b.h5", 0.25, coef)
    before = (tmp_path / "b.h5").read_bytes()
    os.symlink(tmp_path / "b.h5", tmp_path / "link.h5")
    for out in (tmp_path / "b.h5", tmp_path / "link.h5", tmp_path / "." / "a.h5"):
        res = extrapolate(tmp_path / "a.h5", tmp_path / "b.h5", "-output", out)
        assert res.returncode == 1 and "is the input" in res.stderr, res.stderr
    assert (tmp_path / "b.h5").read_bytes() == before


def test_usage_errors(tmp_path):
    res = extrapolate(tmp_path / "a.h5", "-output", tmp_path / "x.h5")
    assert res.returncode == 1 and "2 or 3 run files" in res.stderr
    res = extrapolate(tmp_path / "a.h5", tmp_path / "b.h5", "-bogus", "1")
    assert res.returncode == 1 and "bogus" in res.stdout + res.stderr


TINY = {"particles": 4, "grid": 8, "box": 8, "t_final": 0.4, "dt": 0.05, "potential_strength": 2, "init": "symmetrized",
        "init_q": [-1.5, -0.5, 0.5, 1.5], "init_p": [0.5, -0.5, 0.3, -0.3], "output_interval": 2, "rdm_interval": 2}


def test_coupled_runs_share_coarse_pairings(tmp_path):
    """-rb_couple_level 1 at Dt/2: interval 2j has the pairing of interval j of the level-0 run at
    Dt (same seed, same realisation); the chain extrapolates, and qrbm-compare reads the result."""
    runs = []
    for lev, dt in enumerate([0.2, 0.1]):
        runs.append(run_qrbm({**TINY, "method": "rbm", "rb_dt": dt, "realizations": 4, "seed": 11, "rb_couple_level": lev,
                              "record_pairings": None, "save_realizations": None}, tmp_path=tmp_path, name=f"c{lev}.h5"))
    for r in range(4):
        coarse, fine = runs[0][f"pairings/{r}"], runs[1][f"pairings/{r}"]
        assert np.array_equal(fine[0::2], coarse[: len(fine[0::2])])
    assert runs[1]["attrs"]["rb_couple_level"] == 1
    ex = run_qrbm(TINY, tmp_path=tmp_path, name="ex.h5", read=False)
    res = extrapolate(tmp_path / "c0.h5", tmp_path / "c1.h5", "-output", tmp_path / "x.h5")
    assert res.returncode == 0 and "paired" in res.stdout, res.stderr
    cmp = subprocess.run([str(COMPARE), str(ex), str(tmp_path / "x.h5"), "-output", str(tmp_path / "e.h5")], capture_output=True, text=True,
                         env=mpi_env(), timeout=60)
    assert cmp.returncode == 0, cmp.stderr
    with h5py.File(tmp_path / "e.h5") as f:
        assert np.all(np.isfinite(f["error/trace_stderr"][1:]))


def test_couple_level_needs_sampling(tmp_path):
    from conftest import run_qrbm_raw
    res = run_qrbm_raw({**TINY, "method": "rbm", "rb_dt": 0.1, "rb_expectation": "enumerate", "rb_couple_level": 1}, tmp_path=tmp_path)
    assert res.returncode == 1 and "-rb_couple_level 1" in res.stdout + res.stderr
