"""The residual family's smoke preset end to end on real Tiny ImageNet images: the DAG, tables, scorecard
and figures follow its transfer points; frozen units hold their base's weights and batch-norm statistics."""

import time

import pandas as pd
import pytest
import torch
from workflow_helpers import job_counts, snakemake, tiny_imagenet_path, workdir

from transferlab import io as tio

RES = "results/smoke-resnet"  # the smoke-resnet preset names its own run folder
ARGS = ["--configfile", "config/smoke-resnet.yaml"]


@pytest.fixture(scope="module")
def resnet_run(tmp_path_factory):
    wd = workdir(tmp_path_factory.mktemp("resnet"))
    args = [*ARGS, "--config", f"tiny_imagenet_path={tiny_imagenet_path()}"]
    dry = snakemake(wd, "-n", *args)
    assert dry.returncode == 0, dry.stderr[-3000:]
    t = time.perf_counter()
    r = snakemake(wd, "--cores", "2", *args)
    assert r.returncode == 0, r.stderr[-5000:]
    print(f"resnet smoke preset end to end: {time.perf_counter() - t:.0f} s")
    return wd, job_counts(dry.stdout + dry.stderr)


def test_the_dag_has_three_transfer_points(resnet_run):
    """stem, layer1.0, layer2.0, head: n = 1..3, so 1 direction x 3 x 4 derived nets, natman 2 x 3, random 3."""
    _, counts = resnet_run
    assert counts["train_base"] == 2 + 2 + 1 + 2 and counts["train_derived"] == 12 + 6 + 3
    assert counts["measure_cka"] == 1 and counts["plot_cka"] == 1


def test_tables_and_scorecard_follow_the_architecture(resnet_run):
    wd, _ = resnet_run
    df = pd.read_parquet(wd / RES / "evaluation.parquet")
    assert set(df.architecture) == {"resnet"} and set(df.transfer_points) == {3}
    assert sorted(df[df.treatment != "base"].n.unique()) == [1, 2, 3]
    claims = pd.read_csv(wd / RES / "claims.csv").set_index("claim")
    assert claims.loc["transfer_falls_with_depth", "statistic"] == "AnB(3) − AnB(1), same unit"
    assert claims.loc["fragile_coadaptation", "statistic"] == "mean BnB(n=2) − mean BnB(n=1,3), same unit"
    assert set(claims.verdict) == {"too few units"}  # one direction, one replicate
    t1 = pd.read_csv(wd / RES / "tables/table1.csv")
    assert list(t1.layers) == ["1-3", "3-3"] and t1.paper_over_base.isna().all()
    cka = pd.read_parquet(wd / RES / "cka.parquet")
    bases = cka[cka.kind == "bases"].sort_values("unit")
    assert list(bases.unit_name) == ["stem", "layer1.0", "layer2.0"]
    wc = pd.read_csv(wd / RES / "tables/weight_change.csv")  # inspect_n = 2: the stem and the first block
    assert sorted(wc.layer.unique()) == [1, 2] and (wc.relative_change > 0).all()
    conv1 = pd.read_parquet(wd / RES / "conv1.parquet")  # the stem's 3x3 filters
    assert len(conv1) == 3 * 8 * 3 * 3 * 3
    for f in ("fig2.png", "fig3.png", "cka.png", "filters.png", "reference.png", "curves.png"):
        assert (wd / RES / "figures" / f).stat().st_size > 10_000, f


def test_frozen_units_hold_their_base_bit_for_bit(resnet_run):
    wd, _ = resnet_run
    nets = wd / RES / "nets/random-0/r0"
    base = tio.load_torch(nets / "baseA/weights.pt")["state_dict"]
    frozen = tio.load_torch(nets / "A2B-frozen/weights.pt")["state_dict"]
    tuned = tio.load_torch(nets / "A2B-ft/weights.pt")["state_dict"]
    copied = [k for k in base if k.startswith(("blocks.0.", "blocks.1."))]
    assert any(k.endswith("running_var") for k in copied)
    assert all(torch.equal(frozen[k], base[k]) for k in copied)
    stats = [k for k in copied if k.endswith("running_mean")]
    assert all(not torch.equal(tuned[k], base[k]) for k in stats)  # fine-tuning updates batch norm
    assert not torch.equal(frozen["blocks.2.conv1.weight"], base["blocks.2.conv1.weight"])
