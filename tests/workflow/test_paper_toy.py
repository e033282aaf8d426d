"""The paper preset end to end at toy scale: config/paper.yaml with tests/data/paper-toy.yaml on a generated
ILSVRC2012-layout folder holding all 1000 WordNet ids (three tiny training images and one validation image
each): splits (random halves, natural/man-made by WordNet), both directions, random weights, dataset size,
evaluation, CKA, figures and the scorecard."""

import json
import time

import pandas as pd
import pytest
from conftest import REPO
from workflow_helpers import ilsvrc_folder, snakemake, workdir


def test_paper_preset_end_to_end_at_toy_scale(tmp_path):
    root = ilsvrc_folder(tmp_path / "ILSVRC2012")
    wd = workdir(tmp_path)
    (wd / "tests/data").mkdir(parents=True)
    (wd / "tests/data/paper-toy.yaml").write_text((REPO / "tests/data/paper-toy.yaml").read_text())
    t0 = time.time()
    r = snakemake(
        wd,
        "--cores",
        "2",
        "--configfile",
        "config/paper.yaml",
        "tests/data/paper-toy.yaml",
        "--config",
        f"imagenet_root={root}",
        timeout=1800,
    )
    elapsed = time.time() - t0
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    res = wd / "results/imagenet"
    ev = pd.read_parquet(res / "evaluation.parquet")
    # one random split in both directions: 2 bases + 2 x 2 n x 4 treatments; natman 2 + 2 x 2;
    # random weights 1 + 2; dataset size 2 bases
    assert len(ev) == (2 + 16) + (2 + 4) + (1 + 2) + 2
    assert set(ev.experiment) == {"random_split", "natman", "random_weights", "dataset_size"}
    assert set(ev[ev.experiment == "random_split"].target_task) == {"A", "B"}
    # every network trained the preset's schedule in iterations, with its records every 6 steps
    meta = json.loads((res / "nets/random-0/r0/A7B-ft/train.json").read_text())
    assert meta["steps"] == 12 and [h["step"] for h in meta["history"]] == [6, 12]
    assert [h["lr"] for h in meta["history"]] == pytest.approx([0.01, 0.001])
    assert meta["train"]["normalize"] == "mean_image" and meta["n_classes"] == 500
    small = json.loads((res / "nets/all-k1/r0/baseA/train.json").read_text())
    assert small["steps"] == 12 and small["n_train"] == 1000 and small["n_classes"] == 1000
    # the halves of all 1000 ILSVRC2012 classes: 500/500, and WordNet's 450 natural / 550 man-made
    natman = json.loads((res / "splits/natman.json").read_text())
    assert (len(natman["A"]), len(natman["B"])) == (450, 550)
    assert [len(v) for k, v in json.loads((res / "splits/random-0.json").read_text()).items() if k in "AB"] == [
        500,
        500,
    ]
    for f in (
        "figures/fig2.png",
        "figures/fig3.png",
        "figures/dataset_size.png",
        "figures/claims.png",
        "figures/cka.png",
        "figures/reference.png",
        "tables/table1.md",
        "claims.md",
    ):
        assert (res / f).stat().st_size > 500, f
    assert len(pd.read_parquet(res / "cka.parquet")) > 0
    claims = pd.read_csv(res / "claims.csv")
    assert len(claims) >= 7 and claims.verdict.notna().all()
    print(f"toy paper preset end to end: {elapsed:.0f} s")
