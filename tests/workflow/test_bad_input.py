"""Malformed inputs: each gives one clear error naming the problem, a non-zero exit, no partial
output marked complete, and no earlier result damaged."""

import hashlib
import io
import json

import pytest
from conftest import SMALL_ARCH, SMALL_TRAIN, WNIDS, make_fake_tiny, rewrite_zip
from workflow_helpers import snakemake, workdir

from transferlab import io as tio
from transferlab.data import datasets as data
from transferlab.errors import ConfigError
from transferlab.training.train import train_network

# ------------------------------------------------------------------ config values (schema + checks)
CONFIG_CASES = [
    # (config, the line that must name the key, the bad value and what was expected)
    ("bogus: 1\n", "bogus = 1: unknown key; valid keys here: bootstrap, cka, cluster_gpus, data, dataset"),
    ("replicates: two\n", 'replicates = "two": expected an integer'),
    ("dataset: cifar10\n", 'dataset = "cifar10": expected one of "tiny-imagenet", "imagenet"'),
    ("experiments:\n  random_split:\n    layers: [0, 1]\n", "experiments.random_split.layers[0] = 0: expected >= 1"),
    # the architecture sets the range (CaffeNet: 7 transfer points), checked when the workflow is read
    (
        "experiments:\n  natman:\n    layers: [9]\n",
        "config experiments.natman.layers: [9] outside 1..7: "
        "model.architecture caffenet has 8 transfer units (conv1, conv2, conv3, conv4, conv5, fc6, fc7, fc8), and the "
        "last is always new",
    ),
    ("train:\n  lr: -0.1\n", "train.lr = -0.1: expected > 0"),
    ("train:\n  epocs: 3\n", "train.epocs = 3: unknown key; did you mean 'epochs'?"),
    ("model:\n  widths: [1, 2, 3]\n", "model.widths = [1, 2, 3]: expected at least 7 item(s)"),
    ("device: gpu\n", 'device = "gpu": expected a match of ^(cpu|cuda(:[0-9]+)?|auto)$'),
    ("data:\n  train_per_class: -5\n", "data.train_per_class = -5: expected >= 0"),
    ("train:\n  crop_size: 64\n", "config train.crop_size=64 is larger than data.image_size=20"),
    ("dataset: imagenet\n", "config imagenet_root is empty: with dataset=imagenet give the ILSVRC2012 folder"),
    (
        "dataset: imagenet\nimagenet_root: /no/such/folder\n",
        "config imagenet_root='/no/such/folder' is not a folder; expected ILSVRC2012 in ImageFolder layout",
    ),
    (
        "tiny_imagenet_path: /no/such/tiny.zip\n",
        "tiny_imagenet_path='/no/such/tiny.zip' does not exist; expected tiny-imagenet-200.zip or its extracted folder",
    ),
    (
        "experiments:\n  random_split:\n    seeds: []\n",
        "experiments.random_split.seeds = []: expected at least 1 item(s)",
    ),
]
CONFIG_IDS = [
    "bogus",
    "replicates",
    "dataset",
    "layers",
    "natman.layers",
    "lr",
    "epocs",
    "widths",
    "device",
    "train_per_class",
    "crop_size",
    "imagenet_root",
    "imagenet_root_missing",
    "tiny_path",
    "seeds",
]


@pytest.fixture(scope="module")
def wd(tmp_path_factory):
    w = workdir(tmp_path_factory.mktemp("bad"))
    (w / "results").mkdir()
    (w / "results/earlier.txt").write_text("an earlier result\n")
    return w


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("yaml_text, line", CONFIG_CASES, ids=CONFIG_IDS)
def test_bad_config_value(wd, yaml_text, line, tmp_path):
    before = _digest(wd / "results/earlier.txt")
    (wd / "bad.yaml").write_text(yaml_text)
    r = snakemake(wd, "-n", "--configfile", "config/smoke.yaml", "bad.yaml", env={"TINY_IMAGENET_PATH": ""})
    out = r.stdout + r.stderr
    assert r.returncode != 0
    # the key, its value and what was expected, on one line of its own
    assert any(ln.strip().startswith(line) for ln in out.splitlines()), out
    assert len(out.splitlines()) <= 8, out  # no schema or config dump
    assert sorted(p.name for p in (wd / "results").iterdir()) == ["earlier.txt"]
    assert _digest(wd / "results/earlier.txt") == before


SHORT_ERROR_CASES = [
    (["--config", "bogus_key=1"], "", ["bogus_key = 1", "unknown key"]),
    (["--configfile", "short.yaml"], "train:\n  lrr: 0.1\n", ["train.lrr = 0.1", "did you mean 'lr'?"]),
    (["--configfile", "short.yaml"], "train:\n  lr: fast\n", ['train.lr = "fast"', "expected a number"]),
    (["--configfile", "short.yaml"], "replicates: -1\n", ["replicates = -1", "expected >= 1"]),
]


@pytest.mark.parametrize(
    "args, yaml_text, wanted", SHORT_ERROR_CASES, ids=["bogus_key", "train.lrr", "train.lr", "replicates"]
)
def test_config_error_is_short(wd, args, yaml_text, wanted):
    """One line per problem (key, value, what was expected), no schema or config dump."""
    (wd / "short.yaml").write_text(yaml_text)
    r = snakemake(wd, "-n", *args)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    for w in wanted:
        assert w in out, out
    assert len(out.splitlines()) <= 20, out


# ------------------------------------------------------------------ data, run through the workflow
def _broken(tmp_path, kind):
    z = tmp_path / "tiny.zip"
    if kind == "truncated":
        make_fake_tiny(z)
        z.write_bytes(z.read_bytes()[:2000])
    elif kind == "no_wnids":
        make_fake_tiny(z, skip={"wnids.txt"})
    elif kind == "empty_class":
        make_fake_tiny(z, skip={f"train/{WNIDS[1]}/images/{WNIDS[1]}_{i}.JPEG" for i in range(8)})
    elif kind == "bad_image":
        rewrite_zip(
            make_fake_tiny(tmp_path / "good.zip"),
            z,
            lambda name, b: b"garbage" if name.endswith(f"{WNIDS[3]}_2.JPEG") else b,
        )
    elif kind == "not_a_wnid":
        make_fake_tiny(z, wnids=WNIDS[:3] + ["cat_dog"])
    elif kind == "unknown_to_wordnet":
        make_fake_tiny(z, wnids=WNIDS[:3] + ["n00000042"])
    return z


DATA_CASES = [
    ("truncated", "results/smoke/prepared/meta.json", "not a readable zip"),
    ("no_wnids", "results/smoke/classes.json", "no wnids.txt"),
    ("empty_class", "results/smoke/classes.json", "no training images"),
    ("bad_image", "results/smoke/prepared/meta.json", f"{WNIDS[3]}_2.JPEG"),
    ("not_a_wnid", "results/smoke/classes.json", "not WordNet ids"),
    ("unknown_to_wordnet", "results/smoke/splits/natman.json", "n00000042"),
]


@pytest.mark.parametrize("kind, target, message", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_dataset(tmp_path, kind, target, message):
    w = workdir(tmp_path)
    z = _broken(tmp_path, kind)
    (w / "all.yaml").write_text("data:\n  classes: 0\n  val_per_class: 0\n")
    r = snakemake(
        w,
        "--cores",
        "1",
        target,
        "--configfile",
        "config/smoke.yaml",
        "all.yaml",
        "--config",
        f"tiny_imagenet_path={z}",
    )
    assert r.returncode != 0
    err = r.stdout + r.stderr
    assert message in err, err[-3000:]
    assert "ERROR in rule" in err  # one clear line on the console, not only a traceback in a log
    assert not (w / target).exists()
    assert not (w / "results/smoke/prepared/meta.json").exists()


# ------------------------------------------------------------------ splits and checkpoints
def test_empty_half_is_rejected(prepared, tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"A": [], "B": sorted(WNIDS)}))
    with pytest.raises(data.DatasetError, match="half 'A' is empty"):
        data.write_half(prepared / "prepared", tmp_path / "s.json", "A", tmp_path / "empty" / "A.npz")
    assert not (tmp_path / "empty" / "A.npz").exists()


def test_split_without_the_half(prepared, tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"B": sorted(WNIDS)}))
    with pytest.raises(data.DatasetError, match="no class list for half 'A'"):
        data.write_half(prepared / "prepared", tmp_path / "s.json", "A", tmp_path / "A.npz")


def test_corrupt_base_checkpoint_is_named(prepared):
    kw = dict(
        prepared_dir=prepared / "prepared",
        half_file=prepared / "A.npz",
        arch=SMALL_ARCH,
        train_cfg=SMALL_TRAIN,
        seed=1,
        log=io.StringIO(),
    )
    train_network(
        net="baseB",
        out_weights=prepared / "bB/weights.pt",
        out_meta=prepared / "bB/train.json",
        state_dir=prepared / "bB/state",
        **kw,
    )
    w = prepared / "bB/weights.pt"
    w.write_bytes(w.read_bytes()[:-100])
    with pytest.raises(tio.CorruptCheckpoint, match="checksum mismatch"):
        train_network(
            net="B2A-frozen",
            out_weights=prepared / "x/weights.pt",
            out_meta=prepared / "x/train.json",
            state_dir=prepared / "x/state",
            base_weights=w,
            **kw,
        )
    assert not (prepared / "x/weights.pt").exists()


def test_base_of_another_architecture_is_named(prepared):
    other = prepared / "other.pt"
    from transferlab.nets.caffenet import CaffeNet

    arch = dict(SMALL_ARCH, widths=[16] * 7, num_classes=3, input_size=16)
    tio.save_torch({"arch": arch, "state_dict": CaffeNet(arch).state_dict()}, other)
    with pytest.raises(ConfigError, match="another architecture"):
        train_network(
            net="A2B-frozen",
            prepared_dir=prepared / "prepared",
            half_file=prepared / "B.npz",
            out_weights=prepared / "y/weights.pt",
            out_meta=prepared / "y/train.json",
            state_dir=prepared / "y/state",
            arch=SMALL_ARCH,
            train_cfg=SMALL_TRAIN,
            seed=1,
            base_weights=other,
            log=io.StringIO(),
        )


def test_unknown_training_setting(prepared):
    with pytest.raises(ConfigError, match="unknown training settings"):
        train_network(
            net="baseA",
            prepared_dir=prepared / "prepared",
            half_file=prepared / "A.npz",
            out_weights=prepared / "z/weights.pt",
            out_meta=prepared / "z/train.json",
            state_dir=prepared / "z/state",
            arch=SMALL_ARCH,
            train_cfg={"epocs": 2},
            seed=1,
            log=io.StringIO(),
        )


def test_val_annotation_with_unknown_class(tmp_path):
    out = rewrite_zip(
        make_fake_tiny(tmp_path / "t.zip"),
        tmp_path / "u.zip",
        lambda name, b: b.replace(WNIDS[0].encode(), b"n09999999", 1) if name.endswith("val_annotations.txt") else b,
    )
    with pytest.raises(data.DatasetError, match="n09999999"):
        data.TinyImageNet(out)
