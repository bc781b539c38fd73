"""FFTW wisdom files: the per-user cache ($XDG_CACHE_HOME/qrbm, else ~/.cache/qrbm), -fftw_wisdom
none, -fftw_wisdom PREFIX, and the checkpoint's wisdom on restart.

Every test has its own empty XDG_CACHE_HOME (conftest.private_wisdom_cache). The runs are tiny
(2 particles on 16 points, -fftw_planner measure so that there is wisdom worth keeping).
Plans read from wisdom are the plans the first run measured, so a second run reproduces the first
one's output to rounding of identical operations (asserted to 1e-13 relative).
"""
import re
import subprocess
from pathlib import Path

import numpy as np

from conftest import TIMEOUT, mpi_env, qrbm_command, read_output, run_qrbm_raw

ARGS = {"particles": 2, "grid": 16, "box": 8, "t_final": 0.04, "dt": 0.01, "output_interval": 2}
KEY = r"M16\.D2\.transposed\.np{np}\.t1\.measure\.fftw-3[0-9.]*[-a-z0-9_]*\.[A-Za-z0-9._-]+\.wisdom"


def run(tmp_path, np_=1, extra=(), ok=True, **kw):
    args = [x for k, v in ARGS.items() for x in (f"-{k}", str(v))] + list(extra)
    res = run_qrbm_raw(args, np=np_, tmp_path=tmp_path, quiet=False, planner="measure", **kw)
    if ok:
        assert res.returncode == 0, res.stdout + res.stderr
    return res


def cache_files(cache):
    d = Path(cache) / "qrbm"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_cache_written_then_read(tmp_path, private_wisdom_cache):
    """First run writes the keyed cache file (created atomically: no temporary left), the second
    reads it, writes nothing, and gives the same output."""
    first = run(tmp_path, np_=2)
    m = re.search(r"^FFTW wisdom: wrote (\S+)$", first.stdout, re.M)
    assert m, first.stdout
    path = Path(m.group(1))
    assert path.parent == private_wisdom_cache / "qrbm"
    assert re.fullmatch(KEY.format(np=2), path.name), path.name
    assert cache_files(private_wisdom_cache) == [path.name]
    assert path.read_text().startswith("(fftw-3")
    second = run(tmp_path, np_=2)
    assert f"FFTW wisdom: read {path}" in second.stdout
    assert "wrote" not in second.stdout and "WARNING" not in second.stdout
    a, b = read_output(first.output), read_output(second.output)
    for key in ("observables/energy", "observables/x2", "density/rho"):
        np.testing.assert_allclose(b[key], a[key], rtol=1e-13, atol=0)
    # another rank count is another key
    third = run(tmp_path, np_=1)
    assert re.search(r"^FFTW wisdom: wrote \S+" + KEY.format(np=1) + "$", third.stdout, re.M), third.stdout
    assert len(cache_files(private_wisdom_cache)) == 2


def test_none_writes_nothing(tmp_path, private_wisdom_cache):
    res = run(tmp_path, extra=["-fftw_wisdom", "none"])
    assert "wisdom" not in res.stdout.lower()
    assert cache_files(private_wisdom_cache) == []


def test_unwritable_cache_is_a_warning(tmp_path, monkeypatch):
    """XDG_CACHE_HOME below a regular file: neither readable nor writable, the run completes."""
    blocker = tmp_path / "plainfile"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    res = run(tmp_path)
    assert re.search(r"WARNING: FFTW wisdom cache \S+ cannot be written \(Not a directory\)", res.stdout), res.stdout
    assert read_output(res.output)["attrs"]["status"] == "complete"


def test_corrupt_cache_is_replaced(tmp_path, private_wisdom_cache):
    path = Path(re.search(r"wrote (\S+)", run(tmp_path).stdout).group(1))
    path.write_text("(not fftw wisdom")
    res = run(tmp_path)
    assert f"WARNING: FFTW wisdom {path} is not valid wisdom of this FFTW" in res.stdout
    assert f"FFTW wisdom: wrote {path}" in res.stdout
    assert path.read_text().startswith("(fftw-3")


def test_home_cache_when_xdg_unset_or_relative(tmp_path, monkeypatch):
    """XDG_CACHE_HOME relative (invalid by the XDG spec): ~/.cache/qrbm is used."""
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    res = run(tmp_path)
    assert f"wrote {tmp_path / 'home' / '.cache' / 'qrbm'}/" in res.stdout, res.stdout


def test_concurrent_jobs_share_the_cache(tmp_path, private_wisdom_cache):
    """Four jobs with the same key at once (an array job): all complete, the file they leave is
    complete wisdom (a fifth run reads it without a warning) and no temporary file is left."""
    procs = []
    for i in range(4):
        cmd = qrbm_command([x for k, v in ARGS.items() for x in (f"-{k}", str(v))], np=1, output=tmp_path / f"c{i}.h5",
                           quiet=False, planner="measure")
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=mpi_env()))
    outs = [p.communicate(timeout=TIMEOUT)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len(cache_files(private_wisdom_cache)) == 1, cache_files(private_wisdom_cache)
    last = run(tmp_path)
    assert "FFTW wisdom: read" in last.stdout and "WARNING" not in last.stdout


def test_prefix_keeps_its_meaning(tmp_path, private_wisdom_cache):
    """-fftw_wisdom PREFIX: PREFIX.M<M>.D<D>.np<g>.t<T>.<planner>.wisdom, written then read; the
    cache is not used; an unwritable PREFIX is an error (the user asked for that file)."""
    prefix = tmp_path / "wis"
    first = run(tmp_path, extra=["-fftw_wisdom", str(prefix)])
    expect = Path(f"{prefix}.M16.D2.np1.t1.measure.wisdom")
    assert f"FFTW wisdom: wrote {expect}" in first.stdout and expect.exists()
    second = run(tmp_path, extra=["-fftw_wisdom", str(prefix)])
    assert f"FFTW wisdom: read {expect}" in second.stdout
    assert cache_files(private_wisdom_cache) == []
    bad = run(tmp_path, extra=["-fftw_wisdom", str(tmp_path / "missing" / "wis")], ok=False)
    assert bad.returncode == 1
    assert re.search(r"-fftw_wisdom: cannot write wisdom file \S+missing/wis\.M16\S+: No such file or directory", bad.stdout + bad.stderr)


def test_restart_uses_the_checkpoint_wisdom(tmp_path, private_wisdom_cache):
    """A restart in the same layout imports the checkpoint's wisdom (bit-identical continuation) and
    neither reads nor writes the cache; in another layout the checkpoint's wisdom does not apply
    and the cache is used."""
    ck = tmp_path / "run.ckpt"
    first = run(tmp_path, extra=["-checkpoint_file", str(ck)], name="r.h5")
    assert "FFTW wisdom: wrote" in first.stdout and ck.exists()
    before = {p: p.read_bytes() for p in (private_wisdom_cache / "qrbm").iterdir()}
    ext = run(tmp_path, extra=["-checkpoint_file", str(ck), "-restart", str(ck), "-t_final", "0.08"], name="r.h5")
    assert "FFTW wisdom" not in ext.stdout, ext.stdout
    assert {p: p.read_bytes() for p in (private_wisdom_cache / "qrbm").iterdir()} == before
    other = run(tmp_path, np_=2, extra=["-checkpoint_file", str(ck), "-restart", str(ck), "-t_final", "0.12"], name="r.h5")
    assert re.search(r"^FFTW wisdom: wrote \S+" + KEY.format(np=2) + "$", other.stdout, re.M), other.stdout
