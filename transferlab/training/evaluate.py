"""Evaluation: top-1/top-5 and loss of a network on centre crops (what training monitors on the dev slice), one
trained network on its target half's validation images, and the results table collected from them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from transferlab import io as tio
from transferlab.data.batches import eval_batches, make_transform
from transferlab.data.datasets import load_half
from transferlab.names import parse_net
from transferlab.nets.models import load_model
from transferlab.report import write_parquet
from transferlab.training.devices import amp_context, job_device

# Column order and dtypes of evaluation.parquet
COLUMNS = {
    "dataset": "string",
    "architecture": "string",
    "experiment": "string",
    "split": "string",
    "replicate": "int64",
    "network": "string",
    "treatment": "string",
    "base_task": "string",
    "target_task": "string",
    "n": "int64",
    "transfer_points": "int64",
    "fine_tuned": "bool",
    "top1": "float64",
    "top5": "float64",
    "dev_top1": "float64",
    "val_loss": "float64",
    "n_val": "int64",
    "n_train": "int64",
    "n_classes": "int64",
    "train_per_class": "int64",
    "epochs": "int64",
    "train_seconds": "float64",
    "device": "string",
    "seed": "int64",
    "config_hash": "string",
    "code_revision": "string",
}


@torch.inference_mode()
def evaluate(
    model, images, idx, y, crop, transform, batch_size=500, device="cpu", channels_last=True, amp="off", per_image=False
) -> dict:
    """Top-1/top-5 and loss on centre crops of ``idx``, run on ``device`` (uint8 crops cross, the transform
    runs there)."""
    model.eval()
    loss_sum, c1, c5, n = 0.0, 0, 0, len(idx)
    hits = []
    for xb, yb in eval_batches(images, idx, y, crop, batch_size):
        xb, yb = xb.to(device), yb.to(device)
        with amp_context(amp, device):
            out = model(transform(xb, channels_last)).float()
        loss_sum += F.cross_entropy(out, yb, reduction="sum").item()
        k = min(5, out.shape[1])
        top = out.topk(k, dim=1).indices
        hit = top.eq(yb[:, None])
        c1 += hit[:, 0].sum().item()
        c5 += hit.any(dim=1).sum().item()
        if per_image:
            hits.append(hit[:, 0].cpu().numpy())
    res = {"top1": c1 / n, "top5": c5 / n, "val_loss": loss_sum / n, "n_val": n}
    if per_image:
        res["correct_top1"] = np.packbits(np.concatenate(hits)).tobytes().hex()
    return res


def evaluate_network(
    *,
    weights,
    meta_file,
    prepared_dir,
    half_file,
    out,
    record: dict,
    threads: int = 1,
    batch_size: int = 500,
    device: str = "cpu",
    log=None,
) -> dict:
    """Top-1/top-5, loss and per-image correctness of one network on its target half's validation images, run
    on ``device`` (the job's: on CUDA a GPU claimed as training claims it, held while the images run through)."""
    torch.set_num_threads(max(1, int(threads)))
    meta = json.loads(Path(meta_file).read_text())
    model = load_model(weights)
    data = load_half(prepared_dir, half_file)
    images, idx, y = data["val"]
    if model.arch["num_classes"] != len(data["wnids"]):
        raise ValueError(
            f"{weights} predicts {model.arch['num_classes']} classes but half {half_file} has {len(data['wnids'])}"
        )
    crop = meta["train"]["crop_size"]
    cl = bool(meta["train"].get("channels_last", True))
    if cl:
        model = model.to(memory_format=torch.channels_last)
    with job_device(device, log) as dev:
        transform = make_transform(data["meta"], prepared_dir, meta["train"].get("normalize", "channel"), dev)
        ev = evaluate(model.to(dev), images, idx, y, crop, transform, batch_size, dev, cl, per_image=True)
    spec = parse_net(meta["net"])
    row = {
        **record,
        "network": spec.name,
        "treatment": spec.treatment,
        "n": spec.n,
        "fine_tuned": spec.fine_tuned,
        "top1": ev["top1"],
        "top5": ev["top5"],
        # the dev slice (held-out training images) at the end of training: what tuning may look at
        "dev_top1": (meta["history"][-1].get("dev_top1") if meta["history"] else None),
        "val_loss": ev["val_loss"],
        "n_val": ev["n_val"],
        "n_train": meta["n_train"],
        "n_classes": meta["n_classes"],
        "epochs": meta["epochs"],
        "train_seconds": meta["train_seconds"],
        "device": meta["device"],
        "seed": meta["seed"],
        "config_hash": meta.get("config_hash", meta["fingerprint"]),
        "code_revision": meta["code_revision"],
        # per-image top-1 correctness in the half's validation order, packed bits as hex (for bootstraps)
        "correct_top1": ev["correct_top1"],
    }
    # images per class the network actually trained on (the dev slice and any dataset-size cap removed)
    row["train_per_class"] = int(meta["n_train"]) // max(int(meta["n_classes"]), 1)
    missing = set(COLUMNS) - set(row)
    if missing:
        raise ValueError(f"evaluation record lacks {sorted(missing)}")
    tio.atomic_write_json(out, row)
    return row


def collect(records: list, out, predictions=None):
    import pandas as pd

    rows = [json.loads(Path(p).read_text()) for p in records]
    if not rows:
        raise ValueError("no evaluation records to collect")
    df = pd.DataFrame(rows)
    if "correct_top1" not in df:
        df["correct_top1"] = None
    if predictions is not None:
        pred = df[["experiment", "split", "replicate", "network", "target_task", "n_val", "correct_top1"]]
        write_parquet(pred, predictions)
    df = df.drop(columns=["correct_top1"])
    for c, t in COLUMNS.items():
        df[c] = df[c].astype(t)
    extra = [c for c in df.columns if c not in COLUMNS]
    df = df[list(COLUMNS) + extra].sort_values(["experiment", "split", "replicate", "target_task", "n", "treatment"])
    return write_parquet(df.reset_index(drop=True), out)


def write_curves(meta_files: list, out):
    """Per-epoch metrics of every network (curves.parquet)."""
    import pandas as pd

    rows = []
    for p in meta_files:
        m = json.loads(Path(p).read_text())
        parts = Path(p).parts  # …/nets/<split>/r<rep>/<net>/train.json
        split, rep = parts[-4], int(parts[-3][1:])
        for h in m["history"]:
            rows.append(
                {"split": split, "replicate": rep, "network": m["net"], "treatment": m["treatment"], "n": m["n"], **h}
            )
    return write_parquet(pd.DataFrame(rows), out)
