"""bf16 autocast and torch.compile inside the trainer, on this machine's CPU, and evaluation cost.

Interleaved rounds, best epoch of each (other processes only ever slow a measurement down):
the trainer's own images/s for a base network and a frozen A5B network in fp32 and under bf16
autocast, a compiled base (``compile: true``, compile time reported separately), and the time one
evaluation pass over 1,000 images takes against one training epoch.  Accuracy under bf16 is
judged on the dev slice by ``benchmarks/tune.py`` (variant ``*_bf16``), not here.

    .venv/bin/python benchmarks/precision.py [--rounds 3]   # writes benchmarks/out/precision.{json,md}
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from run import default_config, project_step

from transferlab.data import (
    DeviceTransform,
    load_half,
)
from transferlab.nets import load_model
from transferlab.training import evaluate


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "benchmarks/out"))
    a = ap.parse_args()
    cfg = default_config()
    n_classes, per_class = 20, 250  # one half of the default preset
    res = {"date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "cpus": os.cpu_count(), "threads": 1}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        base = project_step(cfg, n_classes, per_class, 1, d, epochs=2)["weights"]
        arms = {
            "base fp32": ("baseA", None, "off"),
            "base bf16": ("baseA", None, "bf16"),
            "A5B-frozen fp32": ("A5B-frozen", base, "off"),
            "A5B-frozen bf16": ("A5B-frozen", base, "bf16"),
        }
        best = {k: 0.0 for k in arms}
        for _ in range(a.rounds):
            for k, (net, b, amp) in arms.items():
                c = dict(cfg, train=dict(cfg["train"], amp=amp))
                best[k] = max(
                    best[k], project_step(c, n_classes, per_class, 1, d, net=net, base=b, epochs=3)["images_per_s"]
                )
        res["images_per_s"] = best
        c = dict(cfg, train=dict(cfg["train"], compile=True, amp="off"))
        t = time.perf_counter()
        comp = project_step(c, n_classes, per_class, 1, d, epochs=3)
        res["compiled_images_per_s"] = comp["images_per_s"]
        res["compiled_wall_s"] = time.perf_counter() - t
        # evaluation: one pass over 1,000 images (the dev slice's size) against one training epoch
        prep = d / f"prep{cfg['data']['image_size']}-{n_classes}x{per_class}"
        imgs = load_half(prep, prep / "half.npz")["train"][0]
        model = load_model(base).to(memory_format=torch.channels_last)
        torch.set_num_threads(1)
        idx = np.arange(1000)
        norm = DeviceTransform("cpu", mean=[0.5] * 3, std=[0.25] * 3)
        t = time.perf_counter()
        evaluate(model, imgs, idx, np.zeros(1000, dtype=np.int64), cfg["train"]["crop_size"], norm, 500)
        res["eval_1000_s"] = time.perf_counter() - t
        res["train_epoch_s"] = (n_classes * per_class) / best["base fp32"]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "precision.json").write_text(json.dumps(res, indent=1))
    ips = res["images_per_s"]
    md = [
        "| measurement | value |",
        "|---|---|",
        f"| base: fp32 / bf16 autocast | {ips['base fp32']:.0f} / {ips['base bf16']:.0f} img/s = "
        f"{ips['base bf16'] / ips['base fp32']:.2f}x |",
        f"| A5B-frozen: fp32 / bf16 autocast | {ips['A5B-frozen fp32']:.0f} / {ips['A5B-frozen bf16']:.0f} img/s = "
        f"{ips['A5B-frozen bf16'] / ips['A5B-frozen fp32']:.2f}x |",
        f"| base, torch.compile (fp32) | {res['compiled_images_per_s']:.0f} img/s "
        f"({res['compiled_images_per_s'] / ips['base fp32']:.2f}x; whole 3-epoch run {res['compiled_wall_s']:.0f} s) |",
        f"| evaluation of 1,000 images / one training epoch (5,000 images) | {res['eval_1000_s']:.2f} s / "
        f"{res['train_epoch_s']:.2f} s = {res['eval_1000_s'] / res['train_epoch_s']:.0%} |",
    ]
    (out / "precision.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
