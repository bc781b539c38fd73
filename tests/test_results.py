"""docs/results.md: every published number is traceable to its data. From a copy of only the
committed per-point tables (docs/results/tables/*.txt), `tools/qrbm-study tables` rebuilds the tidy
CSV, the fits, the slope table, the cost table and the summary the page quotes; they must equal the
committed ones byte for byte. Runtime ~20 s (no solver run; the figures are redrawn).
"""
import json
import shutil
import subprocess

from conftest import ROOT

RESULTS = ROOT / "docs" / "results"
STUDY = ROOT / "inputs" / "study-full.toml"
REBUILT = ["study.csv", "fits.json", "slopes.txt", "cost.csv", "summary.json", "report.md"]


def test_committed_tables_rebuild_the_published_data(tmp_path):
    shutil.copytree(RESULTS / "tables", tmp_path / "tables")
    res = subprocess.run(["/usr/bin/python3", str(ROOT / "tools" / "qrbm-study"), "tables", str(STUDY), "--dir", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    for name in REBUILT:
        assert (tmp_path / name).read_bytes() == (RESULTS / name).read_bytes(), f"{name} differs from docs/results/{name}"
    assert (tmp_path / "slopes.txt").read_text() in res.stdout


def test_every_planned_point_is_published():
    """The committed tables cover the whole plan of inputs/study-full.toml (no point left out)."""
    res = subprocess.run(["/usr/bin/python3", str(ROOT / "tools" / "qrbm-study"), "plan", str(STUDY)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    ids = [line.split()[1] for line in res.stdout.splitlines()]
    missing = [i for i in ids if not (RESULTS / "tables" / f"{i}.txt").exists()]
    assert not missing, f"points without a published table: {missing}"
    costs = (RESULTS / "cost.csv").read_text().splitlines()
    assert len(costs) == 1 + len(ids) + 1  # header, one row per run, the total


def test_published_numbers_in_results_md_come_from_summary():
    """The headline numbers docs/results.md states are those of summary.json (rounded as printed)."""
    text = (ROOT / "docs" / "results.md").read_text()
    s = json.loads((RESULTS / "summary.json").read_text())
    weak = s["slopes"]["raw"]["weak"]
    assert f"{weak['mean']:.2f}" in text
    assert "[{:.2f}, {:.2f}]".format(*weak["ci95"]) in text
    assert f"{s['C_spread']['weak']['all_P2']['max_over_min']:.2f}" in text
    assert f"{s['cost']['core_h']:.2f}" in text
    assert f"{s['exact_slopes']['richardson']['weak']['median']:.2f}" in text
    assert f"{s['sampling']['weak']['floor_exponent']:.2f}" in text
    assert f"{s['sampling']['weak']['points']} " in text
