"""The options table (src/config.c) against what users see and what files record:

* the README's option table and `bin/qrbm -help` list the same options, with the same defaults
  where the README gives one;
* every option of `-help` is a root attribute of an output (the attributes derive from the table);
* the physics hash of an output is the hash of checkpoint format 2 (docs/checkpoint.md), computed
  here independently from the output's attributes, so existing checkpoints stay valid.
"""
import math
import re
import subprocess

import pytest

from conftest import QRBM, ROOT, mpi_env, run_qrbm

# A README row: | `-name` | default | range | meaning |
README_ROW = re.compile(r"^\|\s*`(-\w+)`\s*\|\s*([^|]*?)\s*\|")
# A -help line of qrbm's own section: "  -name <now 1 : formerly 1>: ...", "  -name <16. : 16.>: ...",
# "  -name: <FALSE : FALSE> ..." (flags) or "  -init_q <0.>: ..." (lists).
HELP_LINE = re.compile(r"^\s+(-\w+):?\s*<(?:now )?([^:>]*?)\s*(?::[^>]*)?>")


def readme_options():
    text = (ROOT / "README.md").read_text()
    table = text.split("## Options", 1)[1].split("\n## ", 1)[0]
    rows = [README_ROW.match(line) for line in table.splitlines()]
    return {m.group(1): m.group(2) for m in rows if m}


def help_options():
    res = subprocess.run([str(QRBM), "-help"], capture_output=True, text=True, env=mpi_env(), timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    section = res.stdout.split("qrbm: N-body Schroedinger dynamics", 1)[1]
    opts = {}
    for line in section.splitlines()[1:]:
        m = HELP_LINE.match(line)
        if not m:
            break  # the end of qrbm's section
        opts[m.group(1)] = m.group(2)
    return opts


def same_default(readme, helped):
    """README writes 16, false, (empty); -help writes 16., FALSE, an empty string."""
    if readme in ("(empty)", ""):
        return helped == ""
    try:
        return math.isclose(float(readme), float(helped), rel_tol=0, abs_tol=0)
    except ValueError:
        return readme.lower() == helped.lower()


def test_readme_table_matches_help(qrbm_binary):
    readme, helped = readme_options(), help_options()
    assert len(helped) >= 48, sorted(helped)
    assert sorted(set(readme) - set(helped)) == [], "in the README but not in -help"
    assert sorted(set(helped) - set(readme)) == [], "in -help but not in the README"
    wrong = {o: (readme[o], helped[o]) for o in readme if not same_default(readme[o], helped[o])}
    assert wrong == {}, "defaults differ (README, -help)"


def test_same_default_parses_both_spellings():
    assert same_default("16", "16.") and same_default("1e-10", "1e-10") and same_default("false", "FALSE")
    assert same_default("(empty)", "") and same_default("strang", "strang")
    assert not same_default("16", "15.") and not same_default("(empty)", "qrbm.h5") and not same_default("true", "FALSE")


# The physics hash of checkpoint format 2: FNV-1a (64 bit) over "name=value;" of these options in
# this order; integers as %d, reals as %.17g, choices by name, packet lists as "%.17g," per entry.
FORMAT2_PHYSICS = ["dim", "particles", "grid", "box", "hbar", "dt", "scheme", "potential", "potential_strength",
                   "potential_width", "trap_omega", "init", "ground_tol", "ground_maxiter", "ground_dtau", "method",
                   "batch_size", "rb_dt", "realizations", "seed", "rb_couple_level", "output_interval",
                   "save_realizations", "record_pairings", "rb_expectation", "rdm_interval", "rdm_batches",
                   "reference", "init_q", "init_p"]


def format2_hash(attrs):
    h = 1469598103934665603
    for name in FORMAT2_PHYSICS:
        v = attrs[name]
        if isinstance(v, str):
            text = v
        elif name in ("init_q", "init_p"):
            text = "".join("%.17g," % x for x in (v.ravel() if hasattr(v, "ravel") else [v]))
        elif isinstance(v, float) or getattr(v, "dtype", None) is not None and v.dtype.kind == "f":
            text = "%.17g" % v
        else:
            text = "%d" % v
        for byte in f"{name}={text};".encode():
            h = ((h ^ byte) * 1099511628211) % 2**64
    return "%016x" % h


@pytest.mark.parametrize("args", [
    "-particles 2 -grid 8 -t_final 0.02 -dt 0.01",
    "-particles 4 -grid 8 -t_final 0.04 -dt 0.01 -method rbm -rb_dt 0.02 -realizations 2 -seed 9 -potential cosine"
    " -potential_width 2 -box 8 -init symmetrized -init_q -3,-1,1,3 -init_p 0.5,0,0,-0.5 -trap_omega 0.25",
])
def test_attributes_and_physics_hash(tmp_path, qrbm_binary, args):
    out = run_qrbm(args, tmp_path=tmp_path)
    attrs = out["attrs"]
    missing = [o for o in help_options() if o[1:] not in attrs]
    assert missing == [], "options without an output attribute"
    assert attrs["physics_hash"] == format2_hash(attrs)
