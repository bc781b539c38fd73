"""Shared pytest helpers for the qrbm integration tests.

* ``bin/qrbm`` is (re)built once per session with ``make -C /work/main bin/qrbm``.
* ``run_qrbm(args, np=1, threads=None, tmp_path=...)`` runs
  ``mpirun --oversubscribe -np NP bin/qrbm ARGS -quiet -fftw_planner estimate -output TMP/x.h5``
  and returns the output file read into a plain dict (see ``read_output``).
* ``run_qrbm_raw(...)`` runs the same command line without checking the exit code and returns the
  ``subprocess.CompletedProcess`` (for tests of failing inputs).

Both are available as plain functions (``from conftest import run_qrbm``) and as fixtures of the
same name; the fixtures bind ``tmp_path`` automatically.

qrbm caches FFTW wisdom per user in ``$XDG_CACHE_HOME/qrbm``: the tests never touch the real
cache. ``XDG_CACHE_HOME`` points to a temporary directory for the whole session (module- and
session-scoped fixtures run before any function-scoped one), and every test gets a fresh, empty
one of its own, so no test depends on what an earlier one planned.
"""
import atexit
import itertools
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
QRBM = ROOT / "bin" / "qrbm"
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
TIMEOUT = 300  # seconds per solver run; every run in these tests takes well under 10 s

_counter = itertools.count()

_SESSION_CACHE = tempfile.mkdtemp(prefix="qrbm-test-xdg-cache-")
atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)
os.environ["XDG_CACHE_HOME"] = _SESSION_CACHE


def mpi_env():
    env = dict(os.environ)
    env.update(MPI_ENV)
    env.setdefault("OMP_NUM_THREADS", "1")  # -threads sets the OpenMP/FFTW thread count itself
    return env


def build_qrbm():
    """Build bin/qrbm (no-op when up to date)."""
    res = subprocess.run(["make", "-C", str(ROOT), "bin/qrbm"], capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        raise RuntimeError("make bin/qrbm failed:\n" + res.stdout + res.stderr)
    return QRBM


def _argv(args):
    if isinstance(args, str):
        return shlex.split(args)
    if isinstance(args, dict):
        out = []
        for k, v in args.items():
            out.append(k if k.startswith("-") else "-" + k)
            if v is not None:
                out.append(",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v))
        return out
    return [str(a) for a in args]


def qrbm_command(args, np=1, threads=None, output=None, quiet=True, planner="estimate"):
    cmd = ["mpirun", "--oversubscribe", "-np", str(np), str(QRBM)] + _argv(args)
    if threads is not None:
        cmd += ["-threads", str(threads)]
    if quiet:
        cmd += ["-quiet"]
    if planner:
        cmd += ["-fftw_planner", planner]
    if output is not None:
        cmd += ["-output", str(output)]
    return cmd


def _output_path(tmp_path, name=None):
    if tmp_path is None:
        raise ValueError("run_qrbm needs tmp_path (use the run_qrbm fixture or pass tmp_path=...)")
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    return tmp_path / (name or f"x{next(_counter)}.h5")


def with_options(base, **kw):
    """A copy of the option dict base with kw set; a value of False removes the option."""
    out = dict(base)
    for k, v in kw.items():
        if v is False:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def run_qrbm_raw(args, np=1, threads=None, tmp_path=None, name=None, timeout=TIMEOUT, **kw):
    """Run the solver; return the CompletedProcess (attribute .output holds the output path)."""
    out = _output_path(tmp_path, name)
    cmd = qrbm_command(args, np=np, threads=threads, output=out, **kw)
    res = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=timeout)
    res.output = out
    return res


def read_output(path):
    """Whole HDF5 output as a dict: dataset paths without the leading '/' (e.g.
    'observables/energy', 'density/rho') map to numpy arrays, 'attrs' maps to the root attributes
    (bytes decoded to str), '_path' is the file path."""
    data = {"_path": Path(path)}
    with h5py.File(path, "r") as f:
        attrs = {}
        for k, v in f.attrs.items():
            if isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, np.ndarray) and v.shape == ():
                v = v[()]
            attrs[k] = v
        data["attrs"] = attrs

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                data[name] = obj[()]

        f.visititems(visit)
    return data


def run_qrbm(args, np=1, threads=None, tmp_path=None, name=None, read=True, timeout=TIMEOUT, **kw):
    """Run the solver and require success; return the output read by read_output (read=True) or
    its path."""
    res = run_qrbm_raw(args, np=np, threads=threads, tmp_path=tmp_path, name=name, timeout=timeout, **kw)
    if res.returncode != 0:
        raise AssertionError(f"qrbm failed (exit {res.returncode}): {' '.join(res.args)}\n--- stdout\n{res.stdout}\n--- stderr\n{res.stderr}")
    if not res.output.exists():
        raise AssertionError(f"qrbm exited 0 but wrote no {res.output}: {' '.join(res.args)}")
    return read_output(res.output) if read else res.output


@pytest.fixture(scope="session", autouse=True)
def qrbm_binary():
    """Build bin/qrbm once per session."""
    return build_qrbm()


@pytest.fixture(autouse=True)
def private_wisdom_cache(monkeypatch, tmp_path_factory):
    """A fresh, empty FFTW wisdom cache (XDG_CACHE_HOME) for every test."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture(name="run_qrbm")
def run_qrbm_fixture(tmp_path, qrbm_binary):
    def run(args, np=1, threads=None, tmp_path=tmp_path, **kw):
        return run_qrbm(args, np=np, threads=threads, tmp_path=tmp_path, **kw)

    return run


@pytest.fixture(name="run_qrbm_raw")
def run_qrbm_raw_fixture(tmp_path, qrbm_binary):
    def run(args, np=1, threads=None, tmp_path=tmp_path, **kw):
        return run_qrbm_raw(args, np=np, threads=threads, tmp_path=tmp_path, **kw)

    return run
