"""The smoke preset end to end on real Tiny ImageNet images: parquet, Figure 2, reruns."""

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch
from workflow_helpers import REPO, benchmarks_module, dry_run_jobs, job_counts, snakemake, tiny_imagenet_path, workdir

from transferlab import io as tio
from transferlab.analysis.claims import unpack


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The smoke preset end to end, through the benchmark suite's own measurement (BENCHMARKS.md's smoke time)."""
    wd = workdir(tmp_path_factory.mktemp("smoke"))
    args = ["--configfile", "config/smoke.yaml", "--config", f"tiny_imagenet_path={tiny_imagenet_path()}"]
    elapsed = benchmarks_module().smoke_seconds(tiny_imagenet_path(), wd)
    assert elapsed > 0
    print(f"smoke preset end to end: {elapsed:.0f} s")
    return wd, args


def test_parquet_has_one_plausible_row_per_network(smoke_run):
    wd, _ = smoke_run
    df = pd.read_parquet(wd / "results/smoke/evaluation.parquet")
    assert len(df) == 56
    required = [
        "dataset",
        "experiment",
        "split",
        "replicate",
        "treatment",
        "base_task",
        "target_task",
        "n",
        "fine_tuned",
        "top1",
        "top5",
        "val_loss",
        "epochs",
        "train_seconds",
        "device",
        "config_hash",
        "code_revision",
    ]
    assert set(required) <= set(df.columns)
    assert not df[required].isna().any().any()
    assert df["top1"].between(0, 1).all() and (df["top5"] >= df["top1"]).all()
    assert (df["val_loss"] > 0).all()
    # dataset-size nets train as many iterations as the full set: more passes over fewer images
    sized = df.experiment == "dataset_size"
    assert (df[~sized].epochs == 2).all() and (df[sized].epochs > 2).all()
    rs = df[df.experiment == "random_split"]
    assert sorted(rs.treatment.unique()) == ["base", "selffer", "selffer_ft", "transfer", "transfer_ft"]
    assert (rs[rs.treatment != "base"].groupby("treatment").n.apply(sorted) == [list(range(1, 8))] * 4).all()
    assert set(df.experiment) == {"random_split", "natman", "random_weights", "dataset_size"}
    nat = df[df.experiment == "natman"]
    assert set(nat.target_task) == {"natural", "man-made"}
    # 5 classes per half, 10 validation images each (smoke preset); chance is 20 %
    assert (rs.n_val == 50).all() and (rs.n_classes == 5).all()
    # 10 SGD steps do not lift these nets off chance (that nets learn is tested on separable data in
    # test_evaluate.py); here every score must be a count of its own validation images, as the
    # per-image vectors the bootstrap resamples say
    pred = pd.read_parquet(wd / "results/smoke/predictions.parquet")
    m = df.merge(pred, on=["experiment", "split", "replicate", "network", "target_task", "n_val"], validate="1:1")
    assert len(m) == 56
    for r in m.itertuples():
        assert unpack(r.correct_top1, r.n_val).mean() == pytest.approx(r.top1, abs=1e-12), r.network
    assert (df.top1 * df.n_val).round(9).mod(1).eq(0).all()


def _assert_drawn(png):
    """A figure someone can read: a real PNG of a sensible size with ink on it (not a blank canvas)."""
    from PIL import Image

    with Image.open(png) as im:
        w, h = im.size
        px = np.asarray(im.convert("L"))
    assert 300 <= w <= 6000 and 200 <= h <= 6000, (png.name, im.size)
    ink = (px < 200).mean()  # share of pixels darker than light grey: axes, text, lines, points
    assert 0.005 < ink < 0.9, (png.name, ink)


def test_figure2_and_provenance(smoke_run):
    wd, _ = smoke_run
    for ext in ("png", "pdf"):
        f = wd / f"results/smoke/figures/fig2.{ext}"
        assert f.exists() and f.stat().st_size > 10_000
    assert (wd / "results/smoke/figures/fig2.png").read_bytes()[:4] == b"\x89PNG"
    meta = json.loads((wd / "results/smoke/nets/random-0/r0/A3B-frozen/train.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert re.fullmatch(rf"{head}(-dirty)?", meta["code_revision"]), (meta["code_revision"], head)
    assert re.fullmatch(r"[0-9a-f]{12,64}", meta["config_hash"]) and len(meta["history"]) == 2
    df = pd.read_parquet(wd / "results/smoke/evaluation.parquet")
    assert (df.code_revision == meta["code_revision"]).all()
    # every network its own training seed, recorded in the table as in its train.json
    assert df.seed.is_unique
    assert df[(df.split == "random-0") & (df.network == "A3B-frozen")].seed.item() == meta["seed"]
    assert {"train_loss", "train_top1", "dev_top1", "dev_top5", "images_per_s"} <= set(meta["history"][0])
    assert not any(k.startswith("val") for k in meta["history"][0])  # validation images are never tuned on


def test_rerun_does_nothing_and_replot_trains_nothing(smoke_run):
    wd, args = smoke_run
    r = snakemake(wd, "--cores", "2", *args)
    assert r.returncode == 0 and "Nothing to be done" in r.stdout + r.stderr
    for script in ("train.py", "evaluate.py", "prepare_data.py"):  # a reworded comment retrains nothing
        path = wd / "workflow/scripts" / script
        path.write_text(path.read_text() + "\n# an edit of the script's text, not of its method\n")
    r = snakemake(wd, "-n", "--cores", "2", *args)
    assert r.returncode == 0 and "Nothing to be done" in r.stdout + r.stderr, r.stdout[-2000:]
    r = snakemake(wd, "--cores", "2", "figures", "--forcerun", "plot_fig2", *args)  # after a plotting edit
    assert r.returncode == 0, r.stderr[-3000:]
    counts = job_counts(r.stdout + r.stderr)
    assert counts.get("plot_fig2") == 1
    assert not any(k.startswith(("train", "evaluate", "prepare", "collect")) for k in counts)


def test_figures_from_copied_result_tables_alone(smoke_run, tmp_path):
    """The result tables copied into a fresh clone (as back from a cluster): `snakemake figures` draws every
    figure and derived table from them, with no network, split or image in sight."""
    wd, args = smoke_run
    fresh = workdir(tmp_path)
    (fresh / "results/smoke").mkdir(parents=True)
    for t in ("evaluation.parquet", "predictions.parquet", "curves.parquet", "conv1.parquet", "cka.parquet"):
        shutil.copy(wd / "results/smoke" / t, fresh / "results/smoke" / t)
    r = snakemake(fresh, "--cores", "2", "figures", *args)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    drawn = {f for job in dry_run_jobs(out) for f in job.get("output", "").split(", ") if f}
    assert {job["rule"] for job in dry_run_jobs(out)} == {
        "plot_fig2",
        "plot_fig3",
        "plot_dataset_size",
        "make_table1",
        "make_claims",
        "make_convergence",
        "plot_curves",
        "plot_filters",
        "plot_reference",
        "plot_cka",
        "figures",
    }
    for f in drawn:
        assert (fresh / f).stat().st_size > 0, f
    assert sorted(p.name for p in (fresh / "results/smoke").iterdir()) == [
        "cka.parquet",
        "claims.csv",
        "claims.md",
        "conv1.parquet",
        "curves.parquet",
        "evaluation.parquet",
        "figures",
        "logs",
        "predictions.parquet",
        "tables",
    ]
    for f in ("claims.csv", "tables/filters.csv", "tables/table1.csv", "tables/convergence.csv", "tables/cka.csv"):
        assert (fresh / "results/smoke" / f).read_text() == (wd / "results/smoke" / f).read_text(), f


def test_scorecard_curves_and_inside_views(smoke_run):
    wd, _ = smoke_run
    res = wd / "results/smoke"
    claims = pd.read_csv(res / "claims.csv")
    assert len(claims) == 8
    # one direction, one replicate: no claim has two training units, so none has an interval or a verdict
    assert set(claims.verdict) == {"too few units"}
    assert claims.value.notna().all() and claims[["ci_low", "ci_high", "mde"]].isna().all().all()
    curves = pd.read_parquet(res / "curves.parquet")
    # one row per epoch of every network: 2 each, more for the dataset-size nets (the full set's iterations)
    epochs = pd.read_parquet(res / "evaluation.parquet").epochs
    assert len(curves) == epochs.sum() > 56 * 2 and {"epoch", "dev_top1", "train_loss"} <= set(curves.columns)
    conv = pd.read_csv(res / "tables/convergence.csv")
    assert len(conv) == 7 and {"slopes_before_drops", "steepest_before_drop"} <= set(conv.columns)
    conv1 = pd.read_parquet(res / "conv1.parquet")  # what the filters figure and table are drawn from
    assert list(conv1.network.unique()) == ["baseA", "baseB", "fresh init"] and len(conv1) == 3 * 8 * 3 * 3 * 3
    filt = pd.read_csv(res / "tables/filters.csv")
    assert set(filt.network) == {"baseA", "baseB", "fresh init"} and filt.lowfreq_share_mean.between(0, 1).all()
    wc = pd.read_csv(res / "tables/weight_change.csv")
    assert set(wc.network) == {"A4B-ft", "B4B-ft"} and sorted(wc.layer.unique()) == [1, 2, 3, 4]
    # recomputed from the weights: each fine-tuned net against the base it copied (A4B-ft: baseA)
    nets = res / "nets/random-0/r0"
    w = {
        n: tio.load_torch(nets / n / "weights.pt")["state_dict"]
        for n in ("baseA", "baseB", "A4B-ft", "B4B-ft", "A4B-frozen")
    }
    for r in wc.itertuples():
        k = f"blocks.{r.layer - 1}.layer.weight"
        base = w["base" + r.network[0]][k]
        assert r.relative_change == pytest.approx(float((w[r.network][k] - base).norm() / base.norm()), rel=1e-6)
        assert r.relative_change > 0  # fine-tuned: the copied layer moved
    # and the frozen transfer net holds baseA's layers 1..4 bit for bit, its layer 5 is its own
    for layer in range(4):
        for p in ("weight", "bias"):
            assert torch.equal(w["A4B-frozen"][f"blocks.{layer}.layer.{p}"], w["baseA"][f"blocks.{layer}.layer.{p}"])
    assert not torch.equal(w["A4B-frozen"]["blocks.4.layer.weight"], w["baseA"]["blocks.4.layer.weight"])
    # CKA: baseA vs baseB at units 1..7, each fine-tuned net (B1B-ft .. A7B-ft) vs its source base at 1..n
    cka = pd.read_parquet(res / "cka.parquet")
    bases = cka[cka.kind == "bases"]
    assert sorted(bases.unit) == list(range(1, 8)) and list(bases.unit_name)[:2] == ["conv1", "conv2"]
    ft = cka[cka.kind == "base_vs_ft"]
    assert sorted(set(ft.net)) == sorted(f"{s}{n}B-ft" for s in "AB" for n in range(1, 8))
    assert len(ft) == 2 * sum(range(1, 8)) and (ft.unit <= ft.n).all()
    assert set(ft[ft.net.str.startswith("A")].a) == {"baseA"} and set(ft[ft.net.str.startswith("B")].a) == {"baseB"}
    assert cka.cka.between(-0.2, 1.0 + 1e-6).all()
    summary = pd.read_csv(res / "tables/cka.csv")
    assert list(summary.unit) == list(range(1, 8)) and summary.transfer_delta.notna().all()
    for f in ("fig2.png", "curves.png", "filters.png", "reference.png", "fig3.png", "dataset_size.png", "cka.png"):
        _assert_drawn(res / "figures" / f)


def test_report_is_built(smoke_run, tmp_path):
    wd, args = smoke_run
    r = snakemake(wd, "--report", "report.html", *args)
    assert r.returncode == 0, r.stderr[-3000:]
    html = (wd / "report.html").read_text(errors="replace")
    assert len(html) > 100_000
    for word in ("Claims", "Figures", "fig2.png", "claims.csv", "config_used.yaml"):
        assert word in html, word


CHANGE_CASES = [
    # (config change, the jobs it must rerun: rule -> count); nothing else may run
    ("bootstrap: 100\n", {"make_claims": 1, "write_config": 1, "all": 1}),  # the figures do not read it
    ("inspect_n: 3\n", {"measure_weight_change": 1, "write_config": 1, "all": 1}),
    # a second random-weights replicate: its base and 7 nets, evaluated; no existing network retrains
    (
        "experiments:\n  random_weights:\n    replicates: 2\n",
        {
            "train_base": 1,
            "train_derived": 7,
            "evaluate_net": 8,
            "write_config": 1,
            "collect_metrics": 1,
            "collect_curves": 1,
            "make_claims": 1,
            "make_convergence": 1,
            "make_table1": 1,
            "plot_curves": 1,
            "plot_dataset_size": 1,
            "plot_fig2": 1,
            "plot_fig3": 1,
            "plot_reference": 1,
            "plot_cka": 1,
            "all": 1,
        },
    ),
    # a training setting, with replace said: every network retrains (56), nothing upstream of training reruns
    (
        "replace: true\ntrain:\n  lr: 0.02\n",
        {
            "train_base": 7,
            "train_derived": 49,
            "evaluate_net": 56,
            "write_config": 1,
            "collect_conv1": 1,
            "collect_curves": 1,
            "measure_weight_change": 1,
            "plot_filters": 1,
            "collect_metrics": 1,
            "plot_curves": 1,
            "make_claims": 1,
            "make_convergence": 1,
            "make_table1": 1,
            "plot_dataset_size": 1,
            "plot_fig2": 1,
            "plot_fig3": 1,
            "plot_reference": 1,
            "measure_cka": 1,
            "collect_cka": 1,
            "plot_cka": 1,
            "all": 1,
        },
    ),
]


@pytest.mark.parametrize("change, jobs", CHANGE_CASES, ids=["bootstrap", "inspect_n", "rw_replicates", "train.lr"])
def test_a_config_change_reruns_exactly_the_jobs_it_affects(smoke_run, change, jobs):
    wd, args = smoke_run
    (wd / "change.yaml").write_text(change)
    r = snakemake(wd, "-n", "--configfile", "config/smoke.yaml", "change.yaml", *args[2:])
    assert r.returncode == 0, r.stderr[-3000:]
    assert job_counts(r.stdout + r.stderr) == jobs


def test_a_changed_training_setting_never_retrains_a_finished_run_unasked(smoke_run):
    """Without replace, train.lr over the finished smoke run stops before any job runs, in one sentence naming the
    setting and the two ways on; with a run name of its own the same change plans a whole new run beside it."""
    wd, args = smoke_run
    weights = sorted((wd / "results/smoke/nets").glob("*/r0/*/weights.pt"))
    before = {p: p.stat().st_mtime_ns for p in weights}
    r = snakemake(wd, "-n", *args, "train={lr: 0.02}")
    err = r.stdout + r.stderr
    assert r.returncode != 0 and "train.lr 0.01 -> 0.02" in err, err[-3000:]
    assert "--config run=<name>" in err and "--config replace=true" in err
    r = snakemake(wd, "-n", *args, "train={lr: 0.02}", "run=smoke-lr")
    assert r.returncode == 0, r.stderr[-3000:]
    counts = job_counts(r.stdout + r.stderr)
    assert counts["train_base"] + counts["train_derived"] == len(weights)
    assert "results/smoke-lr/nets/random-0/r0/baseA/weights.pt" in r.stdout
    assert {p: p.stat().st_mtime_ns for p in weights} == before and len(weights) == 56


def test_the_data_is_known_by_its_content_and_how_a_run_goes_reruns_nothing(smoke_run, tmp_path):
    """Pointed at a truncated archive, the finished run stops while the workflow is read, in one line, and keeps
    every file (no job ran, so Snakemake removed no output); pointed at a copy of the right archive elsewhere, with
    every setting of how a run goes changed (the schema's x-effect: none), nothing is to be done."""
    wd, args = smoke_run
    res = wd / "results/smoke"
    kept = [res / "classes.json", res / "prepared/meta.json", res / "prepared/train_images.npy"]
    kept += sorted((res / "nets").glob("*/r0/*/weights.pt"))[:3]
    before = {p: (p.stat().st_mtime_ns, tio.sha256_file(p)) for p in kept}
    archive = tiny_imagenet_path()
    truncated = tmp_path / "truncated.zip"
    with open(archive, "rb") as f:
        truncated.write_bytes(f.read(1 << 20))
    r = snakemake(
        wd, "--cores", "1", "--configfile", "config/smoke.yaml", "--config", f"tiny_imagenet_path={truncated}"
    )
    out = r.stdout + r.stderr
    assert r.returncode != 0
    [line] = [ln for ln in out.splitlines() if "is not a readable zip archive" in ln]
    assert str(truncated) in line and len(out.splitlines()) <= 8, out
    assert {p: (p.stat().st_mtime_ns, tio.sha256_file(p)) for p in kept} == before
    copy = tmp_path / "elsewhere" / "tiny-imagenet-200.zip"
    copy.parent.mkdir()
    shutil.copy(archive, copy)
    (wd / "how.yaml").write_text(
        "train:\n  workers: 1\n  prefetch: 2\n  checkpoint_every_s: 5\nthreads_per_job: 2\ntrain_retries: 0\n"
    )
    r = snakemake(wd, "-n", "--configfile", "config/smoke.yaml", "how.yaml", "--config", f"tiny_imagenet_path={copy}")
    assert r.returncode == 0 and "Nothing to be done" in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]
