"""Tuning on the dev slice: base networks of the default config under variants of its settings.

Every decision this script informs is read off the dev slice (training images held out per
class, ``data.dev_per_class``); the validation images are never looked at.  It trains the
default preset's base networks on both halves of split random-0 with several training seeds per
variant, two at a time with one thread each (as the workflow runs them), and writes
``benchmarks/out/tune.{csv,md}``: final dev top-1, its change over the last fifth of training,
and training speed.

    .venv/bin/python benchmarks/tune.py [--seeds 2] [--variants old,multistep,...]

Needs the default preset's prepared arrays and halves (``snakemake --cores 2
results/tiny-imagenet/halves/random-0/{A,B}.npz``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VARIANTS = {
    # the untuned settings: one x0.1 drop after epoch 25 of 40, biases 1x with weight decay
    "old": {"lr_step_epochs": 25, "bias_lr_mult": 1.0, "bias_decay": True},
    # a multi-step schedule like the paper's (x0.1 every 15 epochs: drops at 15 and 30 of 40)
    "multistep": {"lr_step_epochs": 15, "bias_lr_mult": 1.0, "bias_decay": True},
    # two drops, both before the last fifth: x0.1 after epochs 25 and 30 of 40
    "milestones": {"lr_milestones": [25, 30], "bias_lr_mult": 1.0, "bias_decay": True},
    "milestones_paperbias": {"lr_milestones": [25, 30], "bias_lr_mult": 2.0, "bias_decay": False},
    "milestones_30_35_paperbias": {"lr_milestones": [30, 35], "bias_lr_mult": 2.0, "bias_decay": False},
    # the earlier width decision, re-checked on the dev slice: a narrower net with the chosen schedule
    "narrow_milestones_paperbias": {
        "lr_milestones": [25, 30],
        "bias_lr_mult": 2.0,
        "bias_decay": False,
        "_arch": {"widths": [16, 32, 48, 48, 32, 128, 128]},
    },
    "milestones_paperbias_bf16": {"lr_milestones": [25, 30], "bias_lr_mult": 2.0, "bias_decay": False, "amp": "bf16"},
    # ... with the paper's solver for biases (2x learning rate, no weight decay)
    "multistep_paperbias": {"lr_step_epochs": 15, "bias_lr_mult": 2.0, "bias_decay": False},
    # ... and bf16 autocast on the CPU
    "multistep_paperbias_bf16": {"lr_step_epochs": 15, "bias_lr_mult": 2.0, "bias_decay": False, "amp": "bf16"},
}


def one(job):
    from transferlab.analysis import last_fifth_change
    from transferlab.names import base_name
    from transferlab.training import train_network

    variant, half, seed, cfg, res = job
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        with open(os.devnull, "w") as log:
            meta = train_network(
                net=base_name(half),
                prepared_dir=res / "prepared",
                half_file=res / "halves/random-0" / f"{half}.npz",
                out_weights=t / "w.pt",
                out_meta=t / "m.json",
                state_dir=t / "state",
                arch=cfg["arch"],
                train_cfg=cfg["train"],
                seed=seed,
                threads=1,
                log=log,
            )
    h = meta["history"]
    ips = [r["images_per_s"] for r in h if r.get("images_per_s")]
    return {
        "variant": variant,
        "half": half,
        "seed": seed,
        "dev_top1": h[-1]["dev_top1"],
        "last_fifth_change": last_fifth_change([r["epoch"] for r in h], [r["dev_top1"] for r in h])[1],
        "train_seconds": meta["train_seconds"],
        "images_per_s": sum(ips) / len(ips),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(REPO / "benchmarks/out"))
    ap.add_argument("--summarize", action="store_true", help="only rewrite tune.md from tune.csv")
    a = ap.parse_args()
    if a.summarize:
        summarize(pd.read_csv(Path(a.out) / "tune.csv"), Path(a.out))
        return
    conf = yaml.safe_load((REPO / "config/config.yaml").read_text())
    res = REPO / "results" / conf["dataset"]
    arch = {
        k: conf["model"][k]
        for k in (
            "widths",
            "conv1_kernel",
            "conv1_stride",
            "conv1_pad",
            "groups",
            "lrn",
            "batchnorm",
            "dropout",
            "init",
        )
    }
    jobs = []
    for v in a.variants.split(","):
        train = {k: val for k, val in conf["train"].items()}
        train.update({k: val for k, val in VARIANTS[v].items() if k != "_arch"})
        arch_v = dict(arch, **VARIANTS[v].get("_arch", {}))
        for seed in range(1, a.seeds + 1):
            for half in ("A", "B"):
                jobs.append((v, half, 1000 + seed, {"arch": arch_v, "train": train}, res))
    rows = []
    with ProcessPoolExecutor(a.jobs) as ex:
        for r in ex.map(one, jobs):
            print(json.dumps(r), flush=True)
            rows.append(r)
    df = pd.DataFrame(rows)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "tune.csv").exists():  # keep the other variants' rows: variants can be run in batches
        old = pd.read_csv(out / "tune.csv")
        df = pd.concat([old[~old.variant.isin(df.variant)], df], ignore_index=True)
    df.to_csv(out / "tune.csv", index=False)
    summarize(df, out)


def summarize(df: pd.DataFrame, out: Path) -> str:
    """tune.md: per variant the mean dev top-1, the seed SD pooled within halves, convergence, speed."""
    rows = []
    for v, g in df.groupby("variant", sort=False):
        pooled = (g.groupby("half").dev_top1.var(ddof=1).mean()) ** 0.5
        rows.append(
            f"| {v} | {100 * g.dev_top1.mean():.1f} % | "
            + " / ".join(f"{100 * x:.1f}" for x in g.sort_values(["half", "seed"]).dev_top1)
            + f" | {100 * pooled:.1f} pt | {100 * g.last_fifth_change.abs().max():.1f} pt | "
            f"{g.images_per_s.mean():.0f} | {len(g)} |"
        )
    text = (
        "| variant | dev top-1 (mean) | per net (A seeds, B seeds) | seed SD (pooled within half) | "
        "largest abs. change over last fifth | img/s | nets |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    (out / "tune.md").write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
