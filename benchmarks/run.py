"""Benchmark suite: how near the hardware limit does training run on this machine?

    .venv/bin/python benchmarks/run.py [--quick] [--out benchmarks/out]

Measures, side by side in one run: the project's training step against a bare PyTorch loop of
the same model (default and paper architectures), the achieved FLOP/s against a large-GEMM
ceiling timed in the same run, the data path alone against the trainer's consumption, per-epoch
time of frozen transfer jobs (n = 1, 2, 4, 7) against a base job, `snakemake -n` time for the
paper preset and a ~2,000-job config, and the smoke preset end to end.  Writes results.json and
results.md (Markdown for BENCHMARKS.md) under --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transferlab import io as tio
from transferlab.data import (
    StepBatches,
    load_half,
)
from transferlab.names import net_name
from transferlab.nets import CaffeNet
from transferlab.nets.models import forward_flops
from transferlab.schema import defaults
from transferlab.training import train_network


def default_config():
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def paper_config():
    return yaml.safe_load((REPO / "config/paper.yaml").read_text())


def arch_of(cfg, n_classes):
    m = cfg["model"]
    a = {
        k: m[k]
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
    a.update(num_classes=n_classes, input_size=cfg["train"]["crop_size"])
    return a


def gemm_ceiling(threads, n=2048, reps=10) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t)


def bare_step(arch, batch, threads, frozen=0):
    """Plain PyTorch on the same model, batch and threads, with an in-memory tensor batch.

    Returns (step, forward): one SGD step with layers 1..frozen under no_grad and out of the
    optimizer, and a forward pass alone (no autograd, train mode, so dropout is on).
    """
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = CaffeNet(arch).to(memory_format=torch.channels_last).train()
    d = defaults("train")  # the trainer's own SGD settings (the bare loop's speed does not depend on them)
    trained = [p for b in m.blocks[frozen:] for p in b.parameters()]
    opt = torch.optim.SGD(trained, lr=d["lr"], momentum=d["momentum"], weight_decay=d["weight_decay"])
    x = torch.randn(batch, 3, arch["input_size"], arch["input_size"]).to(memory_format=torch.channels_last)
    y = torch.randint(0, arch["num_classes"], (batch,))

    def step():
        h = x
        with torch.no_grad():  # the frozen layers, without autograd
            for b in m.blocks[:frozen]:
                h = b(h)
        for b in m.blocks[frozen:]:
            h = b(h)
        loss = F.cross_entropy(h, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def forward():
        with torch.no_grad():
            m(x)

    return step, forward


def interleaved_seconds(fns: dict, steps, rounds) -> dict:
    """Total seconds of `steps` calls of each function, rounds interleaved (3 warm-up calls each time)."""
    total = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, f in fns.items():
            for _ in range(3):
                f()
            t = time.perf_counter()
            for _ in range(steps):
                f()
            total[name] += time.perf_counter() - t
    return total


def bare_loop(arch, batch, threads, steps, rounds=3) -> float:
    """Images/s of the bare loop: best of `rounds` (the project's figure is the best of its epochs too)."""
    step, _ = bare_step(arch, batch, threads)
    return max(batch * steps / interleaved_seconds({"step": step}, steps, 1)["step"] for _ in range(rounds))


def forward_share(arch, batch, threads, steps) -> float:
    """Forward pass alone / a full training step, bare loop: a frozen job at n = 7 still runs this
    forward for every batch, so it is the floor under its epoch time relative to a base job."""
    step, forward = bare_step(arch, batch, threads)
    t = interleaved_seconds({"step": step, "forward": forward}, steps, 2)
    return t["forward"] / t["step"]


def bare_frozen_ratios(arch, batch, threads, steps, layers=(2, 7), rounds=4) -> dict:
    """Bare-loop step time with layers 1..n frozen over the unfrozen one: the best any implementation
    of frozen transfer can do for this net, batch and thread count, without a data path."""
    fns = {n: bare_step(arch, batch, threads, frozen=n)[0] for n in (0, *layers)}
    t = interleaved_seconds(fns, steps, rounds)
    return {n: t[n] / t[0] for n in layers}


def fake_prepared(root: Path, n_classes, per_class, size, n_val=10):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for part, k in (("train", per_class), ("val", n_val)):
        n = n_classes * k
        np.save(root / f"{part}_images.npy", rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8))
        np.save(root / f"{part}_labels.npy", np.repeat(np.arange(n_classes), k).astype(np.int16))
    wnids = [f"n{i:08d}" for i in range(n_classes)]
    tio.atomic_write_json(root / "meta.json", {"wnids": wnids, "mean": [0.5] * 3, "std": [0.25] * 3, "size": size})
    np.save(root / "mean_image.npy", np.full((size, size, 3), 127.0, dtype=np.float32))
    with open(root / "half.npz", "wb") as f:
        np.savez(
            f,
            train_idx=np.arange(n_classes * per_class),
            train_y=np.repeat(np.arange(n_classes), per_class),
            val_idx=np.arange(n_classes * n_val),
            val_y=np.repeat(np.arange(n_classes), n_val),
            wnids=np.array(wnids),
        )
    return root


def project_step(cfg, n_classes, per_class, threads, workdir: Path, net="baseA", base=None, epochs=3) -> dict:
    """The project's trainer (train_network) on memory-mapped fake data; steady state = its best epoch
    after the first.

    The trainer's own per-epoch images/s excludes start-up, evaluation and the epoch-end checkpoint;
    the first epoch pays for oneDNN's primitive creation.  Best-of, like the bare loop, because other
    processes on a shared machine only ever slow a measurement down.
    """
    size = cfg["data"]["image_size"]
    prep = workdir / f"prep{size}-{n_classes}x{per_class}"
    if not (prep / "meta.json").exists():
        fake_prepared(prep, n_classes, per_class, size)
    tcfg = dict(
        cfg["train"],
        epochs=epochs,
        iterations=0,
        checkpoint_every_s=1e9,
        eval_every_epochs=10**6,
        eval_every_iterations=0,  # a record per epoch: the per-epoch rates below
        workers=0,
    )  # CPU: batches built in the training process, as the default config does
    out = workdir / f"{net}-{size}"
    t = time.perf_counter()
    meta = train_network(
        net=net,
        prepared_dir=prep,
        half_file=prep / "half.npz",
        out_weights=out / "weights.pt",
        out_meta=out / "train.json",
        state_dir=out / "state",
        arch=arch_of(cfg, n_classes) | {"num_classes": n_classes},
        train_cfg=tcfg,
        seed=1,
        base_weights=base,
        threads=threads,
        log=open(os.devnull, "w"),
    )
    wall = time.perf_counter() - t
    rate = max(h["images_per_s"] for h in meta["history"][1:])
    imgs_epoch = (meta["n_train"] // cfg["train"]["batch_size"]) * cfg["train"]["batch_size"]
    return {
        "images_per_s": rate,
        "epoch_seconds": imgs_epoch / rate,
        "wall_s": wall,
        "weights": str(out / "weights.pt"),
    }


def data_path(cfg, n_classes, per_class, workdir: Path, batches=200) -> dict:
    """The host side of the batch pipeline, as one DataLoader worker runs it (one process, one thread):
    random crops cut from the memory-mapped array plus their offsets and mirror flags. Returns img/s and
    the bytes per image that cross to the device (uint8 crops; the mirroring, mean subtraction and cast
    run on the device)."""
    size = cfg["data"]["image_size"]
    prep = workdir / f"prep{size}-{n_classes}x{per_class}"
    if not (prep / "meta.json").exists():
        fake_prepared(prep, n_classes, per_class, size)
    images, idx, y = load_half(prep, prep / "half.npz")["train"]  # the trainer's own view of the arrays
    bs, crop = cfg["train"]["batch_size"], cfg["train"]["crop_size"]
    spe = max(1, len(idx) // bs)
    ds = StepBatches(
        images, idx, y, seed=1, steps_per_epoch=spe, batch_size=bs, start=0, stop=batches, crop=crop, mirror=True
    )
    torch.set_num_threads(1)
    t = time.perf_counter()
    done = sent = 0
    for i in range(len(ds)):
        item = ds[i]
        done += len(item[1])
        sent += sum(v.numel() * v.element_size() for v in item)
    return {"images_per_s": done / (time.perf_counter() - t), "bytes_per_image": sent / done}


def dryrun_seconds(args) -> tuple[float, dict[str, int]]:
    """Wall seconds of ``snakemake -n`` with ``args`` on a fake ILSVRC layout, and its jobs per rule (and 'total')."""
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for f in ("Snakefile",):
            (d / f).write_bytes((REPO / f).read_bytes())
        subprocess.run(
            ["cp", "-r", str(REPO / "workflow"), str(REPO / "envs"), str(REPO / "config"), str(d)], check=True
        )
        root = d / "ILSVRC2012"
        for part in ("train", "val"):
            for i in range(1000):
                (root / part / f"n{i + 1:08d}").mkdir(parents=True)
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", *args, "--config", f"imagenet_root={root}"],
            cwd=d,
            capture_output=True,
            text=True,
        )
        el = time.perf_counter() - t
        if r.returncode != 0:
            raise RuntimeError(r.stderr[-2000:])
        stats = (r.stdout + r.stderr).split("Job stats:", 1)[-1].strip().split("\n\n", 1)[0]
        counts = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stats, re.M)}
        if "total" not in counts:
            raise RuntimeError(f"no job stats in the dry run's output:\n{r.stdout[-2000:]}")
        return el, counts


SMOKE_ARGS = ["--cores", "2", "--configfile", "config/smoke.yaml"]


def smoke_seconds(data, workdir: Path | None = None) -> float:
    """Wall seconds of the smoke preset end to end, in ``workdir`` (a copy of the workflow, kept) or in a
    temporary copy. The end-to-end tests run this same function, so the measurement is exercised in CI."""
    with tempfile.TemporaryDirectory() as d:
        if workdir is None:
            subprocess.run(
                [
                    "cp",
                    "-r",
                    str(REPO / "Snakefile"),
                    str(REPO / "workflow"),
                    str(REPO / "envs"),
                    str(REPO / "config"),
                    d,
                ],
                check=True,
            )
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "snakemake", *SMOKE_ARGS, "--config", f"tiny_imagenet_path={data}"],
            cwd=workdir or d,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise RuntimeError(r.stderr[-5000:])
        return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / "benchmarks/out"))
    ap.add_argument("--threads", type=int, default=1, help="threads per training job (the rule's threads)")
    ap.add_argument("--quick", action="store_true", help="fewer steps (for a smoke check of the script)")
    ap.add_argument("--skip-workflow", action="store_true", help="skip the dry-run and smoke timings")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = 5 if a.quick else 40
    res = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "torch": torch.__version__,
        "threads": a.threads,
        "command": " ".join(sys.argv),
    }
    cfg, pcfg = default_config(), paper_config()
    n_classes, per_class = 50, (40 if a.quick else 300)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        res["gemm_flops"] = gemm_ceiling(a.threads)
        arch = arch_of(cfg, n_classes)
        res["default_flops_per_image_train"] = 3 * forward_flops(arch)
        res["default_bare"] = bare_loop(arch, cfg["train"]["batch_size"], a.threads, steps)
        p = project_step(cfg, n_classes, per_class, a.threads, d)
        res["default_project"] = p["images_per_s"]
        res["data_path"] = data_path(cfg, n_classes, per_class, d, 20 if a.quick else 200)["images_per_s"]
        ph = data_path(pcfg, 4, 32 if a.quick else 300, d, 4 if a.quick else 30)  # 256 px images, 227 crops
        res["paper_host_per_worker"], res["paper_host_bytes_per_image"] = ph["images_per_s"], ph["bytes_per_image"]
        base_epoch = p["epoch_seconds"]
        res["forward_share"] = forward_share(arch, cfg["train"]["batch_size"], a.threads, steps)
        res["bare_frozen_ratio"] = bare_frozen_ratios(
            arch, cfg["train"]["batch_size"], a.threads, steps // 2 if a.quick else 30
        )
        res["frozen_epoch_ratio"] = {}
        for n in (1, 2, 4, 7):
            q = project_step(
                cfg, n_classes, per_class, a.threads, d, net=net_name("A", n, "B", fine_tuned=False), base=p["weights"]
            )
            res["frozen_epoch_ratio"][n] = q["epoch_seconds"] / base_epoch
        parch = arch_of(pcfg, 1000)
        res["paper_flops_per_image_train"] = 3 * forward_flops(parch)
        pb = 8 if a.quick else 32
        parch4 = dict(parch, num_classes=4)  # the same classifier as the project run below (fc8: <1% of FLOPs)
        res["paper_bare"] = bare_loop(parch4, pb, a.threads, 2 if a.quick else 4, rounds=1 if a.quick else 2)
        pc = dict(pcfg)
        pc["train"] = dict(pcfg["train"], batch_size=pb, compile=False)  # the bare loop is eager too
        pc["data"] = dict(pcfg["data"])
        pp = project_step(pc, 4, pb, a.threads, d)  # 4 classes x pb images: 4 steps per epoch
        res["paper_project"] = pp["images_per_s"]
    if not a.skip_workflow:
        res["dryrun_paper_s"], jobs = dryrun_seconds(["--configfile", "config/paper.yaml"])
        res["dryrun_paper_jobs"] = jobs["total"]
        big = REPO / "benchmarks/seeds10x3.yaml"
        res["dryrun_big_s"], jobs = dryrun_seconds(["--configfile", "config/paper.yaml", str(big)])
        res["dryrun_big_jobs"] = jobs["total"]
        data = os.environ.get("TINY_IMAGENET_PATH")
        if data:
            res["smoke_s"] = smoke_seconds(data)
    (out / "results.json").write_text(json.dumps(res, indent=2))
    (out / "results.md").write_text(markdown(res))
    print(markdown(res))


def markdown(r) -> str:
    g = r["gemm_flops"]
    lines = [
        f"Measured {r['date']} on {r['machine']}, torch {r['torch']}, {r['threads']} thread(s) per job: "
        f"`{r['command']}`",
        "",
        "| measurement | value | target |",
        "|---|---|---|",
    ]
    for key, label in (("default", "default net (32 px)"), ("paper", "paper CaffeNet (227 px)")):
        proj, bare = r[f"{key}_project"], r[f"{key}_bare"]
        fl = r[f"{key}_flops_per_image_train"]
        lines.append(
            f"| {label}: project training step / bare loop | {proj:,.0f} / {bare:,.0f} img/s = "
            f"{proj / bare:.2f}x | >= 0.9x |"
        )
        lines.append(
            f"| {label}: achieved FLOP/s vs GEMM ceiling ({g / 1e9:,.1f} GFLOP/s) | "
            f"{proj * fl / 1e9:,.2f} GFLOP/s = {100 * proj * fl / g:.1f}% | reported |"
        )
    lines.append(
        f"| data path alone / trainer consumption | {r['data_path']:,.0f} / {r['default_project']:,.0f} img/s "
        f"= {r['data_path'] / r['default_project']:.1f}x | >= 3x |"
    )
    if "paper_host_per_worker" in r:
        w, need = r["paper_host_per_worker"], 16_000  # a paper network in about 2 h on one GPU: 450k x 256 images
        lines.append(
            f"| paper data path (227 px crops of 256 px images), host side of one worker | {w:,.0f} img/s; "
            f"{r['paper_host_bytes_per_image'] / 1e3:,.1f} kB per image to the device | reported |"
        )
        lines.append(
            f"| workers of such cores to feed {need:,} img/s (about 2 h per paper network) | "
            f"{need / w:.1f}, sending {need * r['paper_host_bytes_per_image'] / 1e9:.2f} GB/s | "
            "<= 14 on a 16-core node |"
        )
    if "forward_share" in r:
        lines.append(
            f"| floor for frozen n=7: forward pass alone / full training step (bare loop) | "
            f"{r['forward_share']:.2f}x | (what any frozen job must still compute) |"
        )
    for n, v in r.get("bare_frozen_ratio", {}).items():
        lines.append(
            f"| floor for frozen n={n}: bare loop with layers 1-{n} frozen / bare loop | {v:.2f}x | "
            f"(no implementation does better) |"
        )
    for n, v in r["frozen_epoch_ratio"].items():
        target = {"7": "<= 0.3x", "2": "<= 0.5x"}.get(str(n), "")
        lines.append(f"| frozen transfer n={n}: epoch time / base epoch time | {v:.2f}x | {target} |")
    if "dryrun_paper_s" in r:
        lines.append(
            f"| `snakemake -n`, paper preset ({r['dryrun_paper_jobs']} jobs) | {r['dryrun_paper_s']:.1f} s | <= 20 s |"
        )
        lines.append(
            f"| `snakemake -n`, 10 seeds x 3 replicates ({r['dryrun_big_jobs']} jobs) | {r['dryrun_big_s']:.1f} s | "
            "<= 60 s |"
        )
    if "smoke_s" in r:
        lines.append(f"| smoke preset end to end (`--cores 2`) | {r['smoke_s']:.0f} s | <= 300 s |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
