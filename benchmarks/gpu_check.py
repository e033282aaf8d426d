"""One command for a lent GPU: the paper's CaffeNet through the project's own trainer and data path.

    python benchmarks/gpu_check.py                         # on a GPU machine: a few minutes
    python benchmarks/gpu_check.py --tiny --device cpu     # the same code at tiny sizes (CI runs this)

On generated uint8 images (1000 classes at 256 px, as the paper preset prepares ILSVRC2012) it measures:

- **project**: ``train_network`` itself (config/paper.yaml's CaffeNet and solver: 227 px crops, batch 256,
  bf16 autocast, channels-last, ``torch.compile``, mean-image subtraction on the device, worker processes),
  img/s over the 400 steps after its first record of 100 (compilation and warm-up), and that rate times the
  model's FLOPs per training image against the device's dense bf16 and TF32 peaks (PEAKS, from the name);
- **bare loop**: the same model, optimizer step, autocast and compilation on one batch already on the
  device: what the GPU does with no data path;
- **host feed**: the loader alone (workers cutting uint8 crops, pinned memory) plus the copy to the device;
- **JPEG** (the paper preset's data.format): the images re-encoded at quality 90; the batched decode-and-crop
  on the device alone, and the whole feed (workers reading bytes, decoding on the device);
- **host-to-device copies** from pinned and pageable memory against the PCIe link's bandwidth, and the feed
  the project rate needs;
- **peak GPU memory** of the project run;
- **no host sync in the step**: the trainer's steps and the feed handing each batch over, under
  ``torch.cuda.set_sync_debug_mode("error")`` (eager);
- **resume**: with ``train.deterministic``, a run stopped halfway and resumed ends with weights bit-identical
  to an uninterrupted one (eager, to keep the check short).

Prints a markdown table and writes the numbers as JSON (``--out``).  BENCHMARKS.md records the numbers of
each GPU it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
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
    loader,
)
from transferlab.nets import build_model
from transferlab.nets.models import forward_flops
from transferlab.schema import defaults
from transferlab.training import (
    amp_context,
    train_network,
)

PAPER = yaml.safe_load((REPO / "config/paper.yaml").read_text())
# Dense tensor-core peaks (no sparsity), TFLOP/s, from NVIDIA's datasheets: (part of the device name, bf16,
# TF32); the first match wins, so a longer name goes before a name it contains (GH200 before H200, A100 before
# A10, L40S before L4). H100 and H200 without PCIe or NVL in the name are the SXM parts.
PEAKS = [
    ("GH200", 989, 495),
    ("H200 NVL", 835, 418),
    ("H200", 989, 495),
    ("H100 NVL", 835, 418),
    ("H100 PCIe", 756, 378),
    ("H100", 989, 495),
    ("B200", 2250, 1100),
    ("A100", 312, 156),
    ("L40S", 362, 183),
    ("A10", 125, 62.5),
    ("L4", 121, 60),
]
PCIE_GBPS_PER_LANE = {3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}  # one direction, after line encoding
SMOKE = yaml.safe_load((REPO / "config/smoke.yaml").read_text())


def sizes(tiny: bool) -> dict:
    if tiny:
        return {
            "classes": 20,
            "per_class": 6,
            "image_size": 20,
            "crop": 16,
            "batch": 16,
            "steps": 24,
            "record_every": 6,
            "resume_steps": 8,
            "model": SMOKE["model"],
        }
    return {
        "classes": 1000,
        "per_class": 3,
        "image_size": PAPER["data"]["image_size"],
        "crop": PAPER["train"]["crop_size"],
        "batch": PAPER["train"]["batch_size"],
        "steps": 500,
        "record_every": 100,  # the first record is warm-up (compilation, workers starting): 400 steps measured
        "resume_steps": 40,
        "model": PAPER["model"],
    }


def generate(root: Path, classes: int, per_class: int, size: int) -> Path:
    """A prepared dataset of random pixels in the project's layout; every third image is the dev slice."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = classes * per_class
    arr = np.lib.format.open_memmap(root / "train_images.npy", mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
    for s in range(0, n, 256):
        arr[s : s + 256] = rng.integers(0, 256, arr[s : s + 256].shape, dtype=np.uint8)
    arr.flush()
    np.save(root / "val_images.npy", arr[:classes])
    labels = np.repeat(np.arange(classes), per_class)
    np.save(root / "train_labels.npy", labels.astype(np.int16))
    np.save(root / "val_labels.npy", np.arange(classes).astype(np.int16))
    np.save(root / "mean_image.npy", np.full((size, size, 3), 120.0, dtype=np.float32))
    wnids = [f"n{i:08d}" for i in range(classes)]
    tio.atomic_write_json(root / "meta.json", {"wnids": wnids, "mean": [0.47] * 3, "std": [0.25] * 3, "size": size})
    rows = np.arange(n)
    dev = rows % 3 == 2
    with open(root / "half.npz", "wb") as f:
        np.savez(
            f,
            train_idx=rows[~dev],
            train_y=labels[~dev],
            dev_idx=rows[dev],
            dev_y=labels[dev],
            val_idx=np.arange(classes),
            val_y=np.arange(classes),
            wnids=np.array(wnids),
        )
    return root


def train_cfg(sz: dict, device: str, workers: int, compile_: bool, steps: int, **extra) -> dict:
    base = PAPER["train"] if sz["classes"] == 1000 else dict(SMOKE["train"], normalize="mean_image", amp="bf16")
    cfg = {k: v for k, v in base.items() if k not in ("epochs",)}
    cfg.update(
        iterations=steps,
        lr_step_iterations=10**9,
        lr_milestones=[],
        batch_size=sz["batch"],
        crop_size=sz["crop"],
        eval_every_iterations=sz["record_every"],
        checkpoint_every_s=1e9,
        workers=workers,
        compile=compile_,
        amp="bf16",
    )
    cfg.update(extra)
    return cfg


def arch_of(sz: dict, crop: int) -> dict:
    m = sz["model"]
    keys = ("widths", "conv1_kernel", "conv1_stride", "conv1_pad", "groups", "lrn", "batchnorm", "dropout", "init")
    return {k: m[k] for k in keys} | {"input_size": crop}


def train_base(prep: Path, work: Path, sz: dict, device: str, workers: int, cfg: dict, seed: int, log=None, **kw):
    """``train_network`` on the generated half: a baseA of the check's sizes, its files under ``work``."""
    return train_network(
        net="baseA",
        prepared_dir=prep,
        half_file=prep / "half.npz",
        out_weights=work / "w.pt",
        out_meta=work / "m.json",
        state_dir=work / "state",
        arch=arch_of(sz, sz["crop"]),
        train_cfg=cfg,
        seed=seed,
        device=device,
        threads=max(1, (os.cpu_count() or 2) - workers),
        log=log or open(os.devnull, "w"),
        **kw,
    )


def project(prep: Path, work: Path, sz: dict, device: str, workers: int, compile_: bool) -> dict:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    cfg = train_cfg(sz, device, workers, compile_, sz["steps"])
    meta = train_base(prep, work, sz, device, workers, cfg, seed=1, log=sys.stderr)
    measured = meta["history"][1:]  # the first record is warm-up
    rates = [h["images_per_s"] for h in measured if h.get("images_per_s")]
    out = {
        "images_per_s": float(np.mean(rates)),
        "warmup_steps": meta["history"][0]["step"],
        "measured_steps": meta["steps"] - meta["history"][0]["step"],
        "wall_s": time.perf_counter() - t,
        "steps": meta["steps"],
        "dev_top1": meta["history"][-1].get("dev_top1"),
    }
    if device.startswith("cuda"):
        out["peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def bare_loop(sz: dict, device: str, compile_: bool, steps: int) -> float:
    """Images/s of a plain PyTorch loop: the same model, SGD step, bf16 autocast and compilation, on one
    normalised float batch already on the device."""
    torch.manual_seed(0)
    model = build_model(arch_of(sz, sz["crop"]) | {"num_classes": sz["classes"]}).to(device)
    model = model.to(memory_format=torch.channels_last).train()
    fwd = torch.compile(model) if compile_ else model
    d = defaults("train")  # the trainer's own SGD settings (the bare loop's speed does not depend on them)
    opt = torch.optim.SGD(model.parameters(), lr=d["lr"], momentum=d["momentum"], weight_decay=d["weight_decay"])
    x = torch.randn(sz["batch"], 3, sz["crop"], sz["crop"], device=device).to(memory_format=torch.channels_last)
    y = torch.randint(0, sz["classes"], (sz["batch"],), device=device)

    def step():
        with amp_context("bf16", device):
            loss = F.cross_entropy(fwd(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for _ in range(max(3, steps // 10)):
        step()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return sz["batch"] * steps / (time.perf_counter() - t)


def jpeg_feed(prep: Path, work: Path, sz: dict, device: str, workers: int, batches: int) -> dict:
    """The paper preset's format (data.format jpeg): the prepared images re-encoded at quality 90 into an
    indexed file; img/s of the batched decode-and-crop on the device alone, and of the whole feed (loader
    workers reading bytes, DeviceFeed decoding on the device) as the trainer gets it."""
    from transferlab.data import encoded
    from transferlab.data.batches import DeviceFeed

    data = load_half(prep, prep / "half.npz")
    images, idx, y = data["train"]
    work.mkdir(parents=True, exist_ok=True)
    blobs = [encoded.encode(np.asarray(images[i]), 90) for i in range(len(images))]
    (work / "all.jpg").write_bytes(b"".join(blobs))
    encoded.indexed_file(work / "train_images.npy", [(work / "all.jpg", np.array([len(b) for b in blobs]))])
    store = encoded.JpegImages(work / "train_images.npy", len(images), sz["image_size"])
    cuda = device.startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    rows = np.resize(np.asarray(idx), sz["batch"])
    zeros = torch.zeros(sz["batch"], dtype=torch.int64)
    raw, lengths = store.encoded(rows)
    encoded.decode_crops(raw, lengths, sz["crop"], zeros, zeros, device)  # warm-up
    sync()
    t = time.perf_counter()
    for _ in range(batches):
        encoded.decode_crops(raw, lengths, sz["crop"], zeros, zeros, device)
    sync()
    decode = batches * sz["batch"] / (time.perf_counter() - t)
    ds = StepBatches(
        store,
        idx,
        y,
        seed=1,
        steps_per_epoch=max(1, len(idx) // sz["batch"]),
        batch_size=sz["batch"],
        start=0,
        stop=batches + 2,
        crop=sz["crop"],
        mirror=True,
        encoded=True,
    )
    feed = DeviceFeed(loader(ds, workers, cuda, 4), device, sz["crop"])
    next(feed)
    sync()
    t = time.perf_counter()
    done = sum(len(b[1]) for b in feed)
    sync()
    return {
        "decode_images_per_s": decode,
        "feed_images_per_s": done / (time.perf_counter() - t),
        "bytes_per_image": store.nbytes / len(images),
    }


def host_feed(prep: Path, sz: dict, device: str, workers: int, batches: int) -> dict:
    """The loader alone (workers, pinned memory on a GPU) and the copy to the device: img/s and bytes/image."""
    data = load_half(prep, prep / "half.npz")
    images, idx, y = data["train"]
    spe = max(1, len(idx) // sz["batch"])
    ds = StepBatches(
        images,
        idx,
        y,
        seed=1,
        steps_per_epoch=spe,
        batch_size=sz["batch"],
        start=0,
        stop=batches,
        crop=sz["crop"],
        mirror=True,
        images_path=data["paths"]["train"],
    )
    cuda = device.startswith("cuda")
    it = loader(ds, workers, cuda, 4)
    first = next(it)  # workers started
    done = sent = 0
    t = time.perf_counter()
    for item in it:
        for v in item:
            v.to(device, non_blocking=cuda)
        done += len(item[1])
        sent += sum(v.numel() * v.element_size() for v in item)
    if cuda:
        torch.cuda.synchronize()
    del first
    return {
        "images_per_s": done / (time.perf_counter() - t),
        "bytes_per_image": sent / max(done, 1),
        "workers": workers,
    }


def resume_identical(prep: Path, work: Path, sz: dict, device: str, workers: int) -> bool:
    """Deterministic kernels, no compilation: stopped at half the steps and resumed == uninterrupted."""
    steps = sz["resume_steps"]
    cfg = train_cfg(sz, device, workers, False, steps, deterministic=True)
    weights = {}
    for name in ("whole", "cut"):
        if name == "cut":
            r = train_base(prep, work / name, sz, device, workers, cfg, seed=2, stop_after_steps=steps // 2)
            assert r.get("stopped"), r
        train_base(prep, work / name, sz, device, workers, cfg, seed=2)
        weights[name] = tio.load_torch(work / name / "w.pt")["state_dict"]
    return all(torch.equal(weights["whole"][k], weights["cut"][k]) for k in weights["whole"])


def peak_of(name: str) -> dict | None:
    """The dense bf16 and TF32 peaks (FLOP/s) of the device called ``name``, or None for a device not in PEAKS."""
    for part, bf16, tf32 in PEAKS:
        if part.lower() in name.lower():
            return {"part": part, "bf16": bf16 * 1e12, "tf32": tf32 * 1e12}
    return None


def pcie_link(smi=None) -> dict | None:
    """The GPU's PCIe link (generation and width, as nvidia-smi reports them) and its one-way bandwidth."""
    import shutil
    import subprocess

    if smi is None:
        if not shutil.which("nvidia-smi"):
            return None
        r = subprocess.run(
            ["nvidia-smi", "--query-gpu=pcie.link.gen.max,pcie.link.width.max", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        smi = r.stdout if r.returncode == 0 else ""
    try:
        gen, width = (int(v) for v in smi.strip().splitlines()[0].split(","))
    except (ValueError, IndexError):
        return None
    return {"gen": gen, "width": width, "gb_per_s": PCIE_GBPS_PER_LANE.get(gen, float("nan")) * width}


def h2d_bandwidth(device: str, mb: int = 256, reps: int = 10) -> dict:
    """Host-to-device copies of ``mb`` MB from pinned and from pageable memory: GB/s (on the CPU, a memcpy)."""
    cuda = device.startswith("cuda")
    out = {}
    for kind in ("pinned", "pageable"):
        src = torch.empty(mb << 20, dtype=torch.uint8)
        if kind == "pinned" and cuda:
            src = src.pin_memory()
        dst = torch.empty_like(src, device=device)
        dst.copy_(src, non_blocking=cuda)  # first touch
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(reps):
            dst.copy_(src, non_blocking=cuda and kind == "pinned")
        if cuda:
            torch.cuda.synchronize()
        out[kind] = reps * (mb << 20) / (time.perf_counter() - t) / 1e9
    return out


def sync_free(prep: Path, work: Path, sz: dict, device: str, workers: int, steps: int = 30) -> dict:
    """The trainer's steps, and the feed that hands each batch over, run under CUDA's sync debug mode
    ``error``: any call in them that makes the host wait for the device raises, and the check names it.
    Records (and their checkpoints) are outside; on the CPU the same steps run without the mode."""
    import transferlab.data.batches as batches
    import transferlab.training.train as train

    cuda = device.startswith("cuda")
    counted = {"steps": 0, "feeds": 0}

    def guarded(fn, key):
        def wrapper(*a, **k):
            if cuda:
                torch.cuda.set_sync_debug_mode("error")
            try:
                out = fn(*a, **k)
            finally:
                if cuda:
                    torch.cuda.set_sync_debug_mode(0)
            counted[key] += 1
            return out

        return wrapper

    step, feed = train._Training.step, batches.DeviceFeed.__next__
    train._Training.step = guarded(step, "steps")
    batches.DeviceFeed.__next__ = guarded(feed, "feeds")
    error = None
    try:
        train_base(prep, work, sz, device, workers, train_cfg(sz, device, workers, False, steps), seed=3)
    except RuntimeError as e:  # what the sync debug mode raises
        error = str(e).splitlines()[0]
    finally:
        train._Training.step, batches.DeviceFeed.__next__ = step, feed
    return {"mode": "error" if cuda else "n/a (cpu)", "steps": counted["steps"], "error": error}


def describe(device: str) -> dict:
    d = {
        "date": time.strftime("%Y-%m-%d"),
        "host": f"{platform.machine()}, {os.cpu_count()} cpus",
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "device": device,
    }
    if device.startswith("cuda"):
        d["gpu"] = torch.cuda.get_device_name()
        d["capability"] = ".".join(map(str, torch.cuda.get_device_capability()))
    return d


def markdown(r: dict) -> str:
    p, f, h, flops = r["project"], r["host_feed"], r["h2d_gb_per_s"], r["flops_per_image_train"]
    achieved = p["images_per_s"] * flops
    lines = [
        f"gpu_check {r['date']}: {r.get('gpu', r['device'])}, {r['host']}, torch {r['torch']} "
        f"(CUDA {r['torch_cuda']}); {r['sizes']}",
        "",
        "| measurement | value | against |",
        "|---|---|---|",
        f"| project training (train_network, {f['workers']} workers; {p['measured_steps']} steps after "
        f"{p['warmup_steps']} of warm-up) | {p['images_per_s']:,.0f} img/s | |",
        f"| model FLOPs per training image (3 x forward) | {flops / 1e9:.2f} GFLOP | |",
    ]
    peak = r.get("peak")
    if peak:
        lines += [
            f"| achieved FLOP/s | {achieved / 1e12:.1f} TFLOP/s | {100 * achieved / peak['bf16']:.1f}% of dense bf16 "
            f"({peak['bf16'] / 1e12:,.0f}), {100 * achieved / peak['tf32']:.1f}% of TF32 ({peak['tf32'] / 1e12:,.0f}) |"
        ]
    else:
        lines.append(f"| achieved FLOP/s | {achieved / 1e12:.3f} TFLOP/s | no peak on record for this device |")
    lines += [
        f"| bare loop (same model, step, autocast, compile) | {r['bare_images_per_s']:,.0f} img/s | "
        f"project / bare {p['images_per_s'] / r['bare_images_per_s']:.2f}x |",
        f"| host feed (loader + copy, {f['workers']} workers) | {f['images_per_s']:,.0f} img/s, "
        f"{f['bytes_per_image'] / 1e3:,.1f} kB per image | "
        f"{f['images_per_s'] / p['images_per_s']:.2f}x the project rate |",
    ]
    j = r["jpeg"]
    lines += [
        f"| JPEG decode + crop on the device (quality 90, batch {r['batch']}) | "
        f"{j['decode_images_per_s']:,.0f} img/s | "
        f"{j['decode_images_per_s'] / p['images_per_s']:.2f}x the project rate |",
        f"| JPEG feed (loader + decode on the device; {j['bytes_per_image'] / 1e3:.1f} kB per image) | "
        f"{j['feed_images_per_s']:,.0f} img/s | {j['feed_images_per_s'] / p['images_per_s']:.2f}x the project rate |",
    ]
    link = r.get("pcie")
    against = f"PCIe gen{link['gen']} x{link['width']}: {link['gb_per_s']:.0f} GB/s" if link else "link unknown"
    copy = f"{h['pinned']:.1f} / {h['pageable']:.1f} GB/s"
    lines.append(f"| host-to-device copy, pinned / pageable | {copy} | {against} |")
    need = p["images_per_s"] * f["bytes_per_image"] / 1e9
    lines.append(f"| the project rate's feed | {need:.2f} GB/s | {100 * need / h['pinned']:.1f}% of the pinned copy |")
    if "peak_gpu_mem_gb" in p:
        lines.append(f"| peak GPU memory (project run) | {p['peak_gpu_mem_gb']:.2f} GiB | |")
    sync = r["sync_free"]
    verdict = "n/a on the CPU" if sync["mode"] != "error" else ("none" if not sync["error"] else sync["error"])
    lines.append(f"| host syncs in {sync['steps']} training steps (sync debug mode) | {verdict} | |")
    lines.append(f"| resume bit-identical (deterministic, eager) | {'yes' if r['resume_identical'] else 'NO'} | |")
    lines.append(f"| wall time of the check | {r['wall_s']:.0f} s | |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (the CPU check CI runs)")
    ap.add_argument("--workers", type=int, default=None, help="loader worker processes (default: cpus - 2, at most 12)")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", default=str(REPO / "benchmarks/out/gpu_check.json"))
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    sz = sizes(a.tiny)
    workers = a.workers if a.workers is not None else (1 if a.tiny else max(1, min(12, (os.cpu_count() or 2) - 2)))
    compile_ = not a.no_compile and not a.tiny
    res = describe(a.device) | {
        "batch": sz["batch"],
        "sizes": f"{sz['classes']} classes x {sz['per_class']} images of {sz['image_size']} px, "
        f"{sz['crop']} px crops, batch {sz['batch']}, {sz['steps']} steps, "
        f"compile {compile_}",
    }
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        prep = generate(d / "prep", sz["classes"], sz["per_class"], sz["image_size"])
        res["host_feed"] = host_feed(prep, sz, a.device, workers, max(8, sz["steps"] // 5))
        res["jpeg"] = jpeg_feed(prep, d / "jpeg", sz, a.device, workers, max(8, sz["steps"] // 10))
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - workers))  # as the trainer gets
        res["bare_images_per_s"] = bare_loop(sz, a.device, compile_, max(10, sz["steps"] // 3))
        res["project"] = project(prep, d / "project", sz, a.device, workers, compile_)
        res["resume_identical"] = resume_identical(prep, d / "resume", sz, a.device, workers)
        res["sync_free"] = sync_free(prep, d / "sync", sz, a.device, workers)
        res["h2d_gb_per_s"] = h2d_bandwidth(a.device, mb=16 if a.tiny else 256)
    res["flops_per_image_train"] = 3 * forward_flops(arch_of(sz, sz["crop"]) | {"num_classes": sz["classes"]})
    res["peak"] = peak_of(res.get("gpu", ""))
    res["pcie"] = pcie_link() if a.device.startswith("cuda") else None
    res["wall_s"] = time.perf_counter() - t0
    tio.atomic_write_json(a.out, res)
    print(markdown(res))
    return res


if __name__ == "__main__":
    main()
