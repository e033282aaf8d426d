"""The README's results section is generated from the committed snapshot of a real run."""
import shutil

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


def test_a_rank_correlations_detectable_effect_is_not_printed_as_points():
    """Row 8's MDE is a Spearman rho: the power line shows it as rho, never times 100 as points."""
    from transferlab.snapshot import power_lines

    claims = pd.read_csv(SNAP / "claims.csv")
    claims = claims[claims.claim != "similarity_predicts_transfer"]
    claims = pd.concat([claims, pd.DataFrame([{"claim": "similarity_predicts_transfer", "mde": 0.12,
                                                "scale": "rho"}])], ignore_index=True)
    line = power_lines(pd.read_parquet(SNAP / "evaluation.parquet"), claims).splitlines()[0]
    i = len(claims)
    assert f"{i} ρ 0.12" in line and f"{i} 12.0" not in line, line
