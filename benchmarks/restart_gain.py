"""Are the bases at their plateau?  The restart gain of candidate schedules, on the dev slice.

A base that stopped while still improving is beaten by a second training run from its own
weights.  For every schedule variant this trains, on both halves of split random-0, the base
(``base<H>``) and then ``<H>7<H>-ft``: seven layers copied from that base, a new top layer, every
layer trained again on the same schedule (BnB+ at n = 7, the scorecard's restart check).  It
writes ``benchmarks/out/restart.{csv,md}``: dev top-1 of the base and of the restart, the gain,
the dev curve's slope over the epochs just before each learning-rate drop, and seconds per
network.  Only the dev slice is read; validation images are never looked at.

    .venv/bin/python benchmarks/restart_gain.py [--variants e40,long120] [--jobs 2]

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

# training settings that differ from config/config.yaml's train section
VARIANTS = {
    "e40": {"epochs": 40, "lr_milestones": [25, 30]},  # a schedule a third of the default's length
    "long80": {"epochs": 80, "lr_milestones": [60, 70]},
    "long100": {"epochs": 100, "lr_milestones": [75, 88]},
    "long120": {"epochs": 120, "lr_milestones": [90, 105]},
    "lr04_60": {"epochs": 60, "lr": 0.04, "lr_milestones": [45, 52]},
    "lr05_40": {"lr": 0.05},
    "lr04_80": {"epochs": 80, "lr": 0.04, "lr_milestones": [60, 70]},
}
SEEDS = {"A": 2076046132, "B": 1762155738}  # the committed default run's base seeds (random-0, r0)


def one(job):
    from transferlab.analysis import slope_before_drops
    from transferlab.names import base_name, net_name
    from transferlab.training import train_network

    variant, half, cfg, res = job
    out = {"variant": variant, "half": half}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        common = dict(
            prepared_dir=res / "prepared",
            half_file=res / "halves/random-0" / f"{half}.npz",
            arch=cfg["arch"],
            train_cfg=cfg["train"],
            threads=1,
        )
        with open(os.devnull, "w") as log:
            base = train_network(
                net=base_name(half),
                out_weights=t / "base.pt",
                out_meta=t / "base.json",
                state_dir=t / "s0",
                seed=SEEDS[half],
                log=log,
                **common,
            )
            again = train_network(
                net=net_name(half, 7, half, fine_tuned=True),
                out_weights=t / "ft.pt",
                out_meta=t / "ft.json",
                state_dir=t / "s1",
                seed=SEEDS[half] + 1,
                base_weights=t / "base.pt",
                log=log,
                **common,
            )
    h = base["history"]
    slopes = slope_before_drops([r["epoch"] for r in h], [r["dev_top1"] for r in h], [r["lr"] for r in h])
    out.update(
        {
            "base_dev_top1": h[-1]["dev_top1"],
            "base_train_top1": h[-1]["train_top1"],
            "restart_dev_top1": again["history"][-1]["dev_top1"],
            "restart_gain": again["history"][-1]["dev_top1"] - h[-1]["dev_top1"],
            "slopes_before_drops": json.dumps([round(s, 5) for s in slopes]),
            "base_seconds": base["train_seconds"],
            "restart_seconds": again["train_seconds"],
            "epochs": cfg["train"]["epochs"],
        }
    )
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(REPO / "benchmarks/out"))
    ap.add_argument("--summarize", action="store_true", help="only rewrite restart.md from restart.csv")
    a = ap.parse_args()
    out = Path(a.out)
    if a.summarize:
        summarize(pd.read_csv(out / "restart.csv"), out)
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
    jobs = [
        (v, half, {"arch": arch, "train": dict(conf["train"], **VARIANTS[v])}, res)
        for v in a.variants.split(",")
        for half in ("A", "B")
    ]
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with ProcessPoolExecutor(a.jobs) as ex:
        for r in ex.map(one, jobs):
            print(json.dumps(r), flush=True)
            rows.append(r)
            df = pd.DataFrame(rows)
            if (out / "restart.csv").exists():  # keep other variants' rows: variants run in batches
                old = pd.read_csv(out / "restart.csv")
                df = pd.concat([old[~(old.variant + old.half).isin(df.variant + df.half)], df], ignore_index=True)
            df.to_csv(out / "restart.csv", index=False)
    summarize(pd.read_csv(out / "restart.csv"), out)


def summarize(df: pd.DataFrame, out: Path) -> str:
    rows = []
    for v, g in df.groupby("variant", sort=False):
        g = g.sort_values("half")
        rows.append(
            f"| {v} | {json.dumps(VARIANTS.get(v, {}))} | "
            + " / ".join(f"{100 * x:.1f}" for x in g.base_dev_top1)
            + " | "
            + " / ".join(f"{100 * x:.1f}" for x in g.restart_dev_top1)
            + " | "
            + " / ".join(f"{100 * x:+.1f}" for x in g.restart_gain)
            + " | "
            + " / ".join(", ".join(f"{100 * s:+.2f}" for s in json.loads(x)) for x in g.slopes_before_drops)
            + f" | {g.base_seconds.mean():.0f} / {g.restart_seconds.mean():.0f} |"
        )
    text = (
        "| variant | settings | base dev top-1 (A / B) | restart dev top-1 | restart gain | dev slope before "
        "each drop, pt/epoch (A / B) | s per base / restart |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    (out / "restart.md").write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
