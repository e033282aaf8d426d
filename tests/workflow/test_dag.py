"""Dry-runs: exact job counts per rule, the ImageNet DAG, config errors before any job runs."""

import re

import pytest
from conftest import REPO, make_fake_tiny
from PIL import Image
from workflow_helpers import dry_run_jobs, job_counts, snakemake, workdir

COMMON = {
    "list_classes": 1,
    "make_random_split": 1,
    "make_natman_split": 1,
    "make_whole_split": 1,
    "prepare_data": 1,
    "prepare_half": 7,
    "collect_metrics": 1,
    "plot_fig2": 1,
    "plot_fig3": 1,
    "plot_dataset_size": 1,
    "make_table1": 1,
    "collect_curves": 1,
    "make_claims": 1,
    "make_convergence": 1,
    "plot_curves": 1,
    "collect_conv1": 1,
    "plot_filters": 1,
    "measure_weight_change": 1,
    "plot_reference": 1,
    "write_config": 1,
    "measure_cka": 1,
    "collect_cka": 1,
    "plot_cka": 1,
    "all": 1,
}
# default: three random splits, target B only, n = 1, 4, 7 (3 x (2 bases + 12 derived)), natman at n = 1, 7
# in both directions (2 + 4), random weights at n = 1, 2 with two replicates (2 x (1 + 2)), no dataset size
DEFAULT = {
    **{k: v for k, v in COMMON.items() if k != "plot_dataset_size"},
    "make_random_split": 3,
    "prepare_half": 3 * 2 + 2 + 1,
    "measure_cka": 3,
    "train_base": 3 * 2 + 2 + 2,
    "train_derived": 3 * 12 + 4 + 4,
    "evaluate_net": 3 * 14 + 6 + 6,
}
# smoke: one direction, one replicate (the same rules on tiny data)
SMOKE = {**COMMON, "train_base": 2 + 2 + 1 + 2, "train_derived": 28 + 14 + 7, "evaluate_net": 30 + 16 + 8 + 2}


@pytest.fixture
def wd(tmp_path):
    return workdir(tmp_path)


@pytest.fixture
def fake_zip(tmp_path):
    return make_fake_tiny(tmp_path / "tiny.zip")


def _dry(wd, *args, env=None):
    r = snakemake(wd, "-n", *args, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return job_counts(r.stdout + r.stderr)


def _readme_budget():
    """The README's sentence on the default design: networks and jobs."""
    text = " ".join((REPO / "README.md").read_text().split())
    m = re.search(r"(\d+) networks, (\d+) jobs \(the first of which downloads the archive", text)
    assert m, "README.md lost its sentence '<N> networks, <J> jobs (the first of which downloads the archive ...)'"
    return tuple(int(g) for g in m.groups())


def test_default_preset_dag(wd, fake_zip):
    counts = _dry(wd, "--config", f"tiny_imagenet_path={fake_zip}")
    assert counts == DEFAULT
    networks, jobs = _readme_budget()
    assert (networks, jobs) == (counts["evaluate_net"], sum(counts.values())), "README's job count is stale"


def test_smoke_preset_dag(wd, fake_zip):
    counts = _dry(wd, "--configfile", "config/smoke.yaml", "--config", f"tiny_imagenet_path={fake_zip}")
    assert counts == SMOKE


def test_download_when_no_data(wd):
    """Without a copy the same DAG is planned (list_classes downloads the official archive, whose identity the
    plan takes from its known MD5): no job more, so nothing reruns once the archive is there."""
    counts = _dry(wd, env={"TINY_IMAGENET_PATH": ""})
    assert counts == DEFAULT and _readme_budget()[1] == sum(counts.values())


def test_logs_under_the_dataset_and_prepared_outputs_declared(wd):
    """Every job's log is under results/<dataset>/logs/, and prepare_data declares every file it writes, the mean
    image included."""
    r = snakemake(wd, "-n", env={"TINY_IMAGENET_PATH": ""})
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    jobs = dry_run_jobs(out)
    assert len(jobs) == sum(job_counts(out).values())
    logs = {job["rule"]: job["log"].split(", ") for job in jobs if "log" in job}
    assert "list_classes" in logs
    assert [p for paths in logs.values() for p in paths if not p.startswith("results/tiny-imagenet/logs/")] == []
    [prepare] = [job for job in jobs if job["rule"] == "prepare_data"]
    assert "results/tiny-imagenet/prepared/mean_image.npy" in prepare["output"].split(", ")


def test_both_directions_and_seeds_scale_the_dag(wd, fake_zip):
    (wd / "more.yaml").write_text(
        "replicates: 2\nexperiments:\n  random_split:\n    seeds: [0, 1, 2, 3]\n    both_directions: true\n"
        "    layers: [1, 2, 3, 4, 5, 6, 7]\n"
        "  natman: {enabled: false}\n  random_weights: {enabled: false}\n  dataset_size: {enabled: false}\n"
    )
    counts = _dry(wd, "--configfile", "more.yaml", "--config", f"tiny_imagenet_path={fake_zip}")
    # per split seed and replicate: 2 bases + 2 directions x 7 layers x 4 treatments
    assert counts["train_base"] == 4 * 2 * 2
    assert counts["train_derived"] == 4 * 2 * 56
    assert counts["make_random_split"] == 4 and counts["prepare_half"] == 8


def fake_ilsvrc(root, n=1000):
    img = Image.new("RGB", (4, 4))
    for part in ("train", "val"):
        for i in range(n):
            d = root / part / f"n{i + 1:08d}"
            d.mkdir(parents=True)
            img.save(d / f"n{i + 1:08d}_1.JPEG")
    return root


def test_imagenet_dag(wd, tmp_path):
    root = fake_ilsvrc(tmp_path / "ILSVRC2012")
    counts = _dry(wd, "--config", "dataset=imagenet", f"imagenet_root={root}")
    assert counts == DEFAULT
    (wd / "all_classes.yaml").write_text("data:\n  classes: 0\n")
    r = snakemake(
        wd,
        "--cores",
        "1",
        "results/imagenet/splits/random-0.json",
        "--configfile",
        "all_classes.yaml",
        "--config",
        "dataset=imagenet",
        f"imagenet_root={root}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    import json

    s = json.loads((wd / "results/imagenet/splits/random-0.json").read_text())
    assert len(s["A"]) == len(s["B"]) == 500


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config", "bogus_key=1"], "bogus_key"),
        (["--config", "replicates=two"], "replicates"),
        (["--config", "dataset=cifar10"], "cifar10"),
        (["--configfile", "bad_layers.yaml"], "8"),
        (["--config", "dataset=imagenet"], "imagenet_root"),
        (["--config", "tiny_imagenet_path=/no/such/file.zip"], "/no/such/file.zip"),
    ],
)
def test_config_errors_before_any_job(wd, args, message):
    (wd / "bad_layers.yaml").write_text("experiments:\n  random_split:\n    layers: [1, 8]\n")
    r = snakemake(wd, "-n", *args)
    assert r.returncode != 0
    assert message in r.stdout + r.stderr
    assert not (wd / "results").exists()


def test_paper_preset_dag(wd, tmp_path):
    root = fake_ilsvrc(tmp_path / "ILSVRC2012")
    r = snakemake(wd, "-n", "--configfile", "config/paper.yaml", "--config", f"imagenet_root={root}")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    counts = job_counts(r.stdout + r.stderr)
    _paper_training_plans(dry_run_jobs(r.stdout + r.stderr))
    # random splits 0-3, both directions: 4 x (2 bases + 2 x 7 x 4 derived)
    # natman: 2 bases + 2 x 7 frozen transfers; random weights: 1 base + 7; dataset size: 6 bases
    assert counts["train_base"] == 4 * 2 + 2 + 1 + 6
    assert counts["train_derived"] == 4 * 56 + 14 + 7
    assert counts["evaluate_net"] == counts["train_base"] + counts["train_derived"]
    assert counts["prepare_half"] == 4 * 2 + 2 + 1 + 6
    assert counts["make_random_split"] == 4 and counts["make_natman_split"] == 1
    assert counts["measure_cka"] == 4 and counts["collect_cka"] == counts["plot_cka"] == 1  # one per random split
    for rule in ("plot_fig2", "plot_fig3", "plot_dataset_size", "make_table1", "collect_metrics", "prepare_data"):
        assert counts[rule] == 1


# a paper network in about 2 h on one GPU: 450k steps at 16 ms (about 16k img/s at batch 256), the budget
# BENCHMARKS.md sizes the data path for; a faster GPU makes records rarer in minutes, a slower one rarer still
PAPER_STEP_S = 2 * 3600 / 450_000
ILSVRC_TRAIN_PER_CLASS = 1_281_167 / 1000


def _paper_training_plans(jobs):
    """Computed, not run: for every network the paper preset trains (dataset-size ones included), the dev
    evaluations it plans read at most 5 % as many images as its training does, and its records (each writes
    a checkpoint of about 0.5 GB) are at least 3 minutes apart at the estimated step time."""
    import yaml

    from transferlab.training.train import plan

    paper = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    nets = [j for j in jobs if j["rule"] in ("train_base", "train_derived")]
    assert len(nets) == 4 * 2 + 2 + 1 + 6 + 4 * 56 + 14 + 7
    sizes = set()
    for j in nets:
        split = re.search(r"/nets/([^/]+)/r\d+/", j["output"]).group(1)
        classes = 1000 if split == "all" or split.startswith("all-k") else 500  # random weights, dataset size: all
        full = round(classes * ILSVRC_TRAIN_PER_CLASS)
        k = re.search(r"-k(\d+)$", split)
        n_train = classes * int(k.group(1)) if k else full
        cfg = dict(paper["train"], iterations_of_full_set=bool(k))  # as the workflow gives dataset-size nets
        p = plan(cfg, n_train, full, n_dev=paper["data"]["dev_per_class"] * classes)
        assert p["eval_images"] <= 0.05 * p["train_images"], (split, j["output"], p)
        assert p["steps_per_record"] * PAPER_STEP_S >= 180, (split, p)
        assert cfg["checkpoint_every_s"] >= 180
        sizes.add(n_train)
    assert min(sizes) == 1000 * 10  # the 10-per-class net was among them


def test_profiles_dry_run(wd, fake_zip):
    """Both shipped profiles load; under Slurm every evaluation is in group "net" (a derived net's with its
    training job, a base net's alone), so a cluster sees 56 group jobs instead of 49 + 56 jobs."""
    data = ["--configfile", "config/smoke.yaml", "--config", f"tiny_imagenet_path={fake_zip}"]
    assert _dry(wd, "--profile", "profiles/local", *data) == SMOKE
    r = snakemake(wd, "-n", "--profile", "profiles/slurm", "--slurm-no-account", *data)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert job_counts(out) == SMOKE
    assert out.count("Group job net") == SMOKE["evaluate_net"]


def test_resnet_presets_dag(wd, fake_zip, tmp_path):
    """The README's residual presets: the default design at 7 transfer points (no dataset-size study), and
    ResNet-18 on ImageNet at 9; each beside CaffeNet's results, never in them."""
    r = snakemake(wd, "-n", "--configfile", "config/resnet.yaml", "--config", f"tiny_imagenet_path={fake_zip}")
    assert r.returncode == 0, r.stderr[-3000:]
    counts = job_counts(r.stdout + r.stderr)
    assert counts["train_base"] == 2 + 2 + 2 and counts["train_derived"] == 56 + 14 + 14
    assert counts["measure_cka"] == 1 and "plot_dataset_size" not in counts
    assert "results/tiny-imagenet-resnet/nets/random-0/r0/A7B-ft/weights.pt" in r.stdout
    assert "results/tiny-imagenet/" not in r.stdout
    root = fake_ilsvrc(tmp_path / "ILSVRC2012")
    counts = _dry(wd, "--configfile", "config/resnet18.yaml", "--config", f"imagenet_root={root}")
    # 4 random splits x (2 bases + 2 directions x 9 x 4), natman 2 + 2 x 9, random weights 1 + 9, 6 sizes
    assert counts["train_base"] == 4 * 2 + 2 + 1 + 6 and counts["train_derived"] == 4 * 72 + 18 + 9


def test_layers_beyond_the_architecture_are_refused(wd, fake_zip):
    (wd / "deep.yaml").write_text("experiments:\n  natman:\n    layers: [1, 4]\n")
    r = snakemake(
        wd, "-n", "--configfile", "config/smoke-resnet.yaml", "deep.yaml", "--config", f"tiny_imagenet_path={fake_zip}"
    )
    assert r.returncode != 0
    assert (
        "config experiments.natman.layers: [4] outside 1..3: model.architecture resnet has 4 transfer units "
        "(stem, layer1.0, layer2.0, head), and the last is always new"
    ) in r.stdout + r.stderr
    assert not (wd / "results").exists()
