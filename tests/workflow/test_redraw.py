"""Results redraw anywhere: the committed snapshot of the default run, put back into results/<dataset> with
`python -m transferlab.run.snapshot restore`, gives every figure through `snakemake figures` and the report
through `snakemake --report`, with no network trained and no checkpoint read."""

import re

import yaml
from conftest import REPO
from workflow_helpers import snakemake, workdir

from transferlab.run.snapshot import restore

FIGURES = ("fig2.png", "fig3.png", "claims.png", "cka.png", "curves.png", "filters.png", "reference.png")
ITEMS = (
    "Figure 2",
    "Figure 3",
    "Table 1",
    "scorecard (table)",
    "scorecard (figure)",
    "conv1 filters",
    "weight change by fine-tuning",
    "learning curves",
    "CKA and transferability",
    "this run vs the paper",
    "convergence of the bases",
    "configuration used",
)


def test_the_committed_snapshot_redraws_every_figure_and_the_report(tmp_path):
    wd = workdir(tmp_path)
    res = wd / "results/tiny-imagenet"
    placed = restore(REPO / "docs/default-run", res)
    assert "conv1.parquet" in placed and "tables/weight_change.csv" in placed
    for f in (res / "figures").iterdir():  # every figure is drawn again here
        f.unlink()
    r = snakemake(wd, "figures")  # as the README types it
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "train_base" not in r.stdout + r.stderr and not (res / "nets").exists()
    for name in FIGURES:
        assert (res / "figures" / name).stat().st_size > 10_000, name
    r = snakemake(wd, "--report", "report.html")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    html = (wd / "report.html").read_text()
    labels = set(re.findall(r'"labels": \{"item": "([^"]+)"\}', html))
    assert set(ITEMS) <= labels, set(ITEMS) - labels
    cfg = yaml.safe_load((REPO / "docs/default-run/config_used.yaml").read_text())
    rw = cfg["experiments"]["random_weights"]["replicates"]
    assert f"random-weights networks:\\n{rw} per n" in html  # the summary states both replicate counts
    assert f"{cfg['train']['epochs']} epochs of batch {cfg['train']['batch_size']}." in html  # the schedule, spaced
