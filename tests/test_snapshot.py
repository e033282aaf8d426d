"""The README's results section is generated from the committed snapshot of a real run."""
import shutil

import numpy as np
import pytest

import pandas as pd

from conftest import REPO
from transferlab.snapshot import BEGIN, END, render, update_readme

SNAP = REPO / "docs/default-run"


def test_readme_is_what_the_snapshot_generates():
    assert update_readme(REPO / "README.md", SNAP, check=True), (
        "README.md differs from docs/default-run: run `python -m transferlab.snapshot readme`")


def test_a_changed_number_in_the_snapshot_is_caught(tmp_path):
    snap = tmp_path / "snap"
    shutil.copytree(SNAP, snap)
    readme = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", readme)
    ev = pd.read_parquet(snap / "evaluation.parquet")
    ev.loc[(ev.experiment == "random_split") & (ev.treatment == "transfer_ft"), "top1"] += 0.05
    ev.to_parquet(snap / "evaluation.parquet")
    assert not update_readme(readme, snap, check=True)
    update_readme(readme, snap)
    assert update_readme(readme, snap, check=True)


def test_the_section_carries_the_run_and_its_scorecard():
    text = render(SNAP)
    assert text.startswith(BEGIN) and text.rstrip().endswith(END)
    run = pd.read_json(SNAP / "run.json", typ="series")
    assert f"{run.wall_seconds / 60:.1f} min wall time" in text
    for claim in pd.read_csv(SNAP / "claims.csv").finding:
        assert claim in text
    assert "fig2.png" in text and "(paired)" in text


def test_the_section_shows_the_cka_table_when_the_run_measured_it(tmp_path):
    """A run with the CKA step shows its CKA figure and table; a run from before it shows neither."""
    snap = tmp_path / "snap"
    shutil.copytree(SNAP, snap)
    cka = pd.read_csv(snap / "cka.csv")
    text = render(snap)
    assert "CKA of the default run" in text
    for r in cka.itertuples():
        assert f"| {r.unit} | {r.unit_name} | {r.cka_bases:.3f} |" in text
    (snap / "cka.csv").unlink()
    assert "CKA of the default run" not in render(snap) and "| CKA(baseA, baseB) |" not in render(snap)


def test_the_power_lines_quote_the_papers_own_statistics():
    """The effects the run is measured against are our claims' statistics on the paper's released networks
    (claim 2: −1.86 pt), never a number typed in; the paper preset's MDEs come from the same t calculation."""
    from transferlab.snapshot import paper_preset_mdes, power_lines

    text = power_lines(pd.read_parquet(SNAP / "evaluation.parquet"), pd.read_csv(SNAP / "claims.csv"))
    assert "is -1.86 pt" in text
    mde, splits, sd = paper_preset_mdes(REPO / "config/paper.yaml")
    assert splits == 4 and sd == pytest.approx(0.00538, abs=5e-5)
    assert f"claim 2 {100 * mde['fragile_coadaptation']:.2f} pt" in text
    # four splits (3 df): (t.975 + t.80) · SD · sqrt((1/3 + 1/2) / 2) / 2
    assert mde["fragile_coadaptation"] == pytest.approx((3.18245 + 0.97847) * sd * np.sqrt((1 / 3 + 1 / 2) / 2) / 2,
                                                        rel=1e-4)


def test_the_section_shows_the_papers_scorecard_beside_ours():
    text = render(SNAP)
    assert "| # | finding | this run | the paper's networks |" in text
    assert "-1.9 [-2.2, -1.5] pt: **holds**" in text  # claim 2 on the authors' four splits
