"""Integration tests of the random batch method (-method rbm; paper eq. 3-4).

Covered: P = N, N = 2 and -potential none reproduce the exact run; same seed -> identical
results at 1, 2 and 4 ranks and for every -ranks_per_realization split (means, standard errors,
/realizations and /pairings); different seeds/realisations -> different pairings and series; the
recorded pairings determine the dynamics (realisations whose pairing sequences agree up to a
relabelling of the particles have the same series, and the average over all distinct sequences
equals -rb_expectation enumerate); the sample mean agrees with the exact expectation within 4
standard errors; weak (first-order) convergence in Dt of the enumerated expectation; stderr
datasets; enumeration with
N = 12 (partition counts that are not exact in floating point).

Conventions: every run goes through conftest.run_qrbm (mpirun --oversubscribe, -quiet,
-fftw_planner estimate). "Agree to 1e-12" means max|a - b| <= 1e-12 * max|b| + 1e-14 per dataset
(the absolute part only matters for datasets that vanish by symmetry, e.g. <x> here).
Runtime about 1 minute on 2 idle cores. Rejected random batch inputs are cases of the one
bad-input harness, tests/test_bad_inputs.py.
"""
import itertools

import numpy as np
import pytest

from conftest import run_qrbm, with_options

# Tiny case: 4 particles on 8 points in 1d (4096 grid points), four distinct symmetrised packets.
TINY = {
    "dim": 1, "particles": 4, "grid": 8, "box": 8, "t_final": 0.4, "dt": 0.05,
    "potential_strength": 2, "init": "symmetrized",
    "init_q": [-1.5, -0.5, 0.5, 1.5], "init_p": [0.5, -0.5, 0.3, -0.3], "output_interval": 2,
}
RTOL, ATOL = 1e-12, 1e-14


def opts(base=TINY, **kw):
    return with_options(base, **kw)


def series_keys(d):
    """Time-series datasets X of /observables and /density that carry X_stderr."""
    return sorted(k for k in d if (k.startswith("observables/") or k.startswith("density/"))
                  and not k.endswith("_stderr") and k + "_stderr" in d)


def output_keys(d):
    return sorted(k for k in d if k.startswith(("observables/", "density/")))


def assert_close(a, b, what, rtol=RTOL, atol=ATOL):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    err = np.abs(a - b).max() if a.size else 0.0
    tol = rtol * (np.abs(b).max() if b.size else 0.0) + atol
    assert err <= tol, f"{what}: max difference {err:.3e} > {tol:.3e}"


def assert_same_output(a, b, what, keys=None):
    """Every /observables and /density dataset (and, if present in both, /realizations and
    /pairings) agrees to 1e-12."""
    if keys is None:
        keys = output_keys(b)
        assert output_keys(a) == keys, f"{what}: different dataset lists"
        keys = keys + [k for k in b if k.startswith(("realizations/", "pairings/")) and k in a]
    for k in keys:
        if k.startswith("pairings/"):
            assert np.array_equal(a[k], b[k]), f"{what}: {k} differs"
        elif k.endswith("_stderr") and k[:-len("_stderr")] in b:
            # The standard error is a difference of nearly equal numbers (sum of squares minus the
            # squared mean): for quantities whose realisations barely differ (norm_stderr ~ 1e-16)
            # it carries the absolute rounding of the mean, so different rank splits (other FFT
            # plans and reduction orders) agree only to ~1e-12 * max|mean| of the same observable,
            # not relative to the tiny stderr itself.
            scale = np.abs(np.asarray(b[k[:-len("_stderr")]], dtype=float)).max()
            assert_close(a[k], b[k], f"{what}: {k}", atol=max(ATOL, RTOL * scale))
        else:
            assert_close(a[k], b[k], f"{what}: {k}")


def partition_sequence(pairings, P):
    """The sequence of partitions (batches = consecutive P entries) of an intervals x N table."""
    return tuple(frozenset(frozenset(int(v) for v in row[b:b + P]) for b in range(0, len(row), P))
                 for row in pairings)


# --------------------------------------------------------------------------------------------
# Schema: stderr datasets

def test_exact_run_has_zero_stderr(tmp_path):
    d = run_qrbm(TINY, np=1, tmp_path=tmp_path)
    keys = series_keys(d)
    for need in ("observables/x2", "observables/energy", "observables/norm", "observables/x",
                 "observables/p2", "density/rho", "density/rho_p"):
        assert need in keys, f"{need}_stderr missing (have {keys})"
    for k in keys:
        assert d[k + "_stderr"].shape == d[k].shape, k
        assert np.all(d[k + "_stderr"] == 0), f"{k}_stderr of an exact run is not 0"
    assert not any(k.startswith(("pairings/", "realizations/")) for k in d)


# --------------------------------------------------------------------------------------------
# Special cases that reproduce the exact dynamics

@pytest.mark.parametrize("N,extra", [
    (3, {"realizations": 1, "rb_dt": 0.1}),
    (4, {"realizations": 3, "rb_dt": 0.1}),
    (4, {"realizations": 1, "rb_dt": 0, "rb_expectation": "enumerate"}),
], ids=["N3-P3", "N4-P4-R3", "N4-P4-enumerate"])
def test_batch_size_N_is_exact(tmp_path, N, extra):
    base = opts(particles=N, init_q=TINY["init_q"][:N], init_p=TINY["init_p"][:N])
    ex = run_qrbm(base, np=1, tmp_path=tmp_path)
    rb = run_qrbm(opts(base, method="rbm", batch_size=N, seed=7, **extra), np=1, tmp_path=tmp_path)
    assert_same_output(rb, ex, f"P=N={N} vs exact")


def test_two_particles_is_exact(tmp_path):
    base = opts(particles=2, init_q=[-1, 1], init_p=[0.5, -0.5])
    ex = run_qrbm(base, np=1, tmp_path=tmp_path)
    rb = run_qrbm(opts(base, method="rbm", batch_size=2, realizations=2, rb_dt=0.1), np=2,
                  tmp_path=tmp_path)
    assert_same_output(rb, ex, "N=2 P=2 vs exact")


def test_no_potential_is_exact(tmp_path):
    base = opts(potential="none", potential_strength=False)
    ex = run_qrbm(base, np=1, tmp_path=tmp_path)
    rb = run_qrbm(opts(base, method="rbm", batch_size=2, realizations=3, rb_dt=0.1), np=1,
                  tmp_path=tmp_path)
    assert_same_output(rb, ex, "-potential none: rbm vs exact")


def test_rb_observables_start_from_exact_state(tmp_path):
    """At t = 0 the RB state is the initial state: every observable (of the exact H_N) equals the
    exact run's; energy = kinetic + trap + interaction for every realisation."""
    ex = run_qrbm(TINY, np=1, tmp_path=tmp_path)
    rb = run_qrbm(opts(method="rbm", realizations=4, rb_dt=0.1, save_realizations=None), np=1,
                  tmp_path=tmp_path)
    for k in series_keys(ex):
        assert_close(rb[k][0], ex[k][0], f"t=0 {k}")
        assert np.all(rb[k + "_stderr"][0] == 0), f"t=0 {k}_stderr"
    e = rb["realizations/energy"]
    parts = rb["realizations/energy_kinetic"] + rb["realizations/energy_trap"] + rb["realizations/energy_interaction"]
    assert_close(parts, e, "energy = kinetic + trap + interaction", rtol=1e-11)
    # the RB Hamiltonian is not H_N: <H_N> is not conserved along a realisation (it is for exact)
    assert np.abs(e[:, -1] - e[:, 0]).max() > 1e-4
    assert abs(ex["observables/energy"][-1] - ex["observables/energy"][0]) < 1e-4


# --------------------------------------------------------------------------------------------
# Reproducibility and the recorded pairings

REPRO = opts(method="rbm", rb_dt=0.1, realizations=4, seed=12345, save_realizations=None,
             record_pairings=None)
SPLITS = [(1, 0), (2, 1), (2, 2), (4, 1), (4, 2), (4, 4)]  # (ranks, -ranks_per_realization)


@pytest.fixture(scope="module")
def repro_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("repro")
    runs = {}
    for np_, g in SPLITS:
        runs[(np_, g)] = run_qrbm(opts(REPRO, ranks_per_realization=g), np=np_, tmp_path=tmp)
    runs["seed2"] = run_qrbm(opts(REPRO, seed=2), np=1, tmp_path=tmp)
    runs["R1"] = run_qrbm(opts(REPRO, realizations=1), np=1, tmp_path=tmp)
    return runs


@pytest.mark.parametrize("np_,g", SPLITS[1:], ids=[f"{n}ranks-g{g}" for n, g in SPLITS[1:]])
def test_same_seed_same_results_any_split(repro_runs, np_, g):
    ref, d = repro_runs[(1, 0)], repro_runs[(np_, g)]
    extra = sorted(k for k in ref if k.startswith(("realizations/", "pairings/")))
    assert output_keys(d) == output_keys(ref)
    assert sorted(k for k in d if k.startswith(("realizations/", "pairings/"))) == extra
    keys = output_keys(ref) + extra
    assert_same_output(d, ref, f"{np_} ranks x g={g} vs 1 rank", keys=keys)


def test_pairings_and_realizations_schema(repro_runs):
    d = repro_runs[(1, 0)]
    R, N = REPRO["realizations"], REPRO["particles"]
    nint = int(round(REPRO["t_final"] / REPRO["rb_dt"]))
    T = len(d["observables/time"])
    assert sorted(k for k in d if k.startswith("pairings/")) == sorted(f"pairings/{r}" for r in range(R))
    for r in range(R):
        p = d[f"pairings/{r}"]
        assert p.shape == (nint, N) and np.issubdtype(p.dtype, np.integer)
        for row in p:
            assert sorted(row) == list(range(N)), f"pairings/{r}: {row} is not a permutation"
    for k in series_keys(d):
        name = k.split("/")[-1]
        real = d[f"realizations/{name}"]
        assert real.shape == (R, T) + d[k].shape[1:], name
        # the stored statistics are the mean and the standard error of the stored realisations
        assert_close(d[k], real.mean(axis=0), f"mean of realizations/{name}", rtol=1e-12, atol=1e-13)
        assert_close(d[k + "_stderr"], real.std(axis=0, ddof=1) / np.sqrt(R),
                     f"stderr of realizations/{name}", rtol=1e-9, atol=1e-13)


def test_realization_is_function_of_seed_and_index(repro_runs):
    """Realisation 0 of an R=4 run is the R=1 run with the same seed."""
    one, four = repro_runs["R1"], repro_runs[(1, 0)]
    assert np.array_equal(one["pairings/0"], four["pairings/0"])
    for k in series_keys(one):
        assert_close(one[k], four["realizations/" + k.split("/")[-1]][0], f"R=1 vs realisation 0: {k}")
        assert np.all(one[k + "_stderr"] == 0), f"{k}_stderr of a single realisation"


def test_different_seeds_and_realizations_differ(repro_runs):
    a, b = repro_runs[(1, 0)], repro_runs["seed2"]
    R = REPRO["realizations"]
    pa = [a[f"pairings/{r}"] for r in range(R)]
    pb = [b[f"pairings/{r}"] for r in range(R)]
    # permutations (not only partitions) are recorded: independent streams practically never coincide
    for r, s in itertools.combinations(range(R), 2):
        assert not np.array_equal(pa[r], pa[s]), f"seed 12345: realisations {r} and {s} have the same pairings"
    for r in range(R):
        assert not np.array_equal(pa[r], pb[r]), f"realisation {r}: seeds 12345 and 2 give the same pairings"
    assert np.abs(a["realizations/x2"] - b["realizations/x2"]).max() > 1e-6
    assert np.abs(a["observables/x2"] - b["observables/x2"]).max() > 1e-6
    assert np.abs(a["density/rho"] - b["density/rho"]).max() > 1e-6
    x2 = a["realizations/x2"]
    assert np.abs(x2 - x2[0]).max() > 1e-6, "all realisations have the same <x^2> series"


def test_seed_full_32bit_range(tmp_path):
    """-seed takes the whole Philox key word 0..2^32-1: the largest seed runs, is stored exactly in
    the root attribute, and does not alias 2^31-1 or 0 (no truncation to a signed 32-bit int)."""
    runs = {}
    for seed in (0, 2147483647, 4294967295):
        runs[seed] = run_qrbm(opts(method="rbm", rb_dt=0.1, realizations=1, seed=seed, record_pairings=None),
                              np=1, tmp_path=tmp_path)
        assert int(runs[seed]["attrs"]["seed"]) == seed
    for a, b in itertools.combinations(runs, 2):
        assert not np.array_equal(runs[a]["pairings/0"], runs[b]["pairings/0"]), f"seeds {a} and {b} give the same pairings"


def relabel_class(seq, N):
    """Canonical form of a partition sequence under relabelling of the particles."""
    return min(tuple(tuple(sorted(tuple(sorted(pi[m] for m in batch)) for batch in part)) for part in seq)
               for pi in itertools.permutations(range(N)))


def test_pairings_determine_dynamics(tmp_path):
    """Two intervals of N=4, P=2: 9 pairing sequences. Realisations whose recorded permutations
    give the same sequence of partitions have identical series; so do sequences related by a
    relabelling of the particles (the initial state is symmetric and the observables are particle
    averages: here 2 classes, same pairing twice or two different pairings), and the two classes
    differ; the plain average over the 9 distinct sequences equals -rb_expectation enumerate."""
    base = opts(t_final=0.2, rb_dt=0.1, method="rbm", output_interval=1)
    d = run_qrbm(opts(base, realizations=48, seed=99, save_realizations=None, record_pairings=None),
                 np=2, tmp_path=tmp_path)
    en = run_qrbm(opts(base, rb_expectation="enumerate"), np=1, tmp_path=tmp_path)
    seqs = {}
    for r in range(48):
        seqs.setdefault(partition_sequence(d[f"pairings/{r}"], 2), []).append(r)
    assert len(seqs) == 9, f"only {len(seqs)} of the 9 pairing sequences were drawn in 48 realisations"
    keys = series_keys(d)
    classes = {}
    for seq, rs in seqs.items():
        classes.setdefault(relabel_class(seq, 4), []).extend(rs)
    assert len(classes) == 2
    for cls, rs in classes.items():
        for k in keys:
            real = d["realizations/" + k.split("/")[-1]]
            for r in rs[1:]:
                assert_close(real[r], real[rs[0]], f"equivalent pairings, realisations {rs[0]} and {r}: {k}",
                             rtol=1e-11, atol=1e-13)
    (ra, *_), (rb, *_) = classes.values()
    for k in ("x2", "energy", "rho"):
        diff = np.abs(d["realizations/" + k][ra] - d["realizations/" + k][rb]).max()
        assert diff > 1e-6, f"inequivalent pairing sequences give the same {k} series"
    for k in keys:
        real = d["realizations/" + k.split("/")[-1]]
        avg = np.mean([real[rs[0]] for rs in seqs.values()], axis=0)
        assert_close(en[k], avg, f"enumerate vs average over the 9 sequences: {k}")
        assert np.all(en[k + "_stderr"] == 0), f"{k}_stderr of an enumeration"


# --------------------------------------------------------------------------------------------
# Statistics: sampled mean vs exact expectation

def test_sample_mean_agrees_with_enumeration(tmp_path):
    base = opts(method="rbm", rb_dt=0.1)  # 4 intervals: 81 pairing sequences
    s = run_qrbm(opts(base, realizations=64, seed=2024), np=2, tmp_path=tmp_path)
    e1 = run_qrbm(opts(base, rb_expectation="enumerate"), np=1, tmp_path=tmp_path)
    e2 = run_qrbm(opts(base, rb_expectation="enumerate", ranks_per_realization=1), np=2, tmp_path=tmp_path)
    e3 = run_qrbm(opts(base, rb_expectation="enumerate", ranks_per_realization=2), np=2, tmp_path=tmp_path)
    assert_same_output(e2, e1, "enumerate: 2 groups vs 1 rank")
    assert_same_output(e3, e1, "enumerate: 1 group of 2 vs 1 rank")
    checked = 0
    for k in ("observables/x2", "observables/energy", "density/rho"):
        mean, se, exact = s[k], s[k + "_stderr"], e1[k]
        # The initial state is symmetric, so pairings related by relabelling the particles give the
        # same (particle-averaged) observables: at the end of the first interval every realisation
        # agrees up to roundoff, and the stderr there is roundoff. Those entries must be exact;
        # the others (real spread) must agree within 4 standard errors.
        nz = se > 1e-9 * np.abs(mean).max()
        assert nz.sum() >= 3, f"{k}: too few entries with nonzero stderr"
        z = np.abs(mean[nz] - exact[nz]) / se[nz]
        print(f"{k}: |sample mean - expectation| / stderr = {np.round(z, 2)}")
        assert z.max() < 4, f"{k}: sample mean off by {z.max():.2f} standard errors"
        assert_close(mean[~nz], exact[~nz], f"{k} (no spread)")
        assert np.all(se[0] == 0), f"{k}_stderr at t = 0"
        checked += nz.sum()
    assert checked > 20


# --------------------------------------------------------------------------------------------
# Weak convergence in Dt (exact expectation, no sampling noise)

CONV = {
    "particles": 4, "grid": 8, "box": 8, "t_final": 0.4, "dt": 0.025, "potential_strength": 2,
    "init": "symmetrized", "init_q": [-1.5, -0.5, 0.5, 1.5], "init_p": [0.5, -0.5, 0.3, -0.3],
    "output_interval": 4,
}


def test_weak_error_first_order_in_rb_dt(tmp_path):
    ex = run_qrbm(CONV, np=1, tmp_path=tmp_path)
    errs = {"observables/x2": [], "density/rho": []}
    dts = [0.2, 0.1, 0.05]  # 2, 4, 8 intervals: 9, 81, 6561 pairing sequences
    for Dt in dts:
        en = run_qrbm(opts(CONV, method="rbm", rb_dt=Dt, rb_expectation="enumerate",
                           ranks_per_realization=1), np=2, tmp_path=tmp_path)
        assert_close(en["observables/time"], ex["observables/time"], "output times")
        for k in errs:
            errs[k].append(np.abs(en[k] - ex[k]).max())
    for k, e in errs.items():
        ratios = [e[i] / e[i + 1] for i in range(len(e) - 1)]
        print(f"{k}: max errors {e}, ratios per halving {ratios}")
        assert e[-1] > 1e-7, f"{k}: error {e[-1]} too small to measure a rate"
        for r in ratios:
            assert 1.5 <= r <= 2.6, f"{k}: error ratio {r:.3f} per halving of Dt (errors {e}) is not first order"


# --------------------------------------------------------------------------------------------
# Enumeration for larger batches (partition counts are exact integers)

@pytest.mark.parametrize("P", [12, 6])
def test_enumerate_twelve_particles(tmp_path, P):
    """N=12 on a 2-point grid (4096 points), one interval: P=12 (1 partition) must reproduce the
    exact run; P=6 (462 partitions) must run and keep the norm. QrbmBatchCountPartitions(12, 6) and
    (12, 12) must be exact integers for the partition table to be sized correctly."""
    base = {"particles": 12, "grid": 2, "box": 4, "t_final": 0.1, "dt": 0.05, "output_interval": 1}
    rb = run_qrbm(opts(base, method="rbm", batch_size=P, rb_dt=0.1, rb_expectation="enumerate"), np=1,
                  tmp_path=tmp_path)
    if P == 12:
        ex = run_qrbm(base, np=1, tmp_path=tmp_path)
        assert_same_output(rb, ex, "N=12 P=12 enumerate vs exact")
    assert_close(rb["observables/norm"], np.ones(3), "norm", rtol=0, atol=1e-12)
