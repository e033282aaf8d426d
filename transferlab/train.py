"""Training one network: deterministic, resumable, one job per network.

Determinism: the epoch's data order comes from ``(seed, epoch)``; each batch's
crops, flips and dropout masks from ``(seed, epoch, batch)``.  A job resumed
mid-epoch from a checkpoint therefore replays exactly the batches it would
have seen, and ends with the same weights as an uninterrupted run (on CPU,
same thread count).

The resumable state (model, optimizer, position, metric history) lives in a
``state_dir`` that Snakemake does not know about, so Snakemake's removal of a
failed job's outputs never deletes it.  Final weights and metadata are written
atomically at the very end.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import io as tio
from .batches import (ConfigError, DeviceTransform, StepBatches, epoch_order, eval_batches, loader,  # noqa: F401
                      make_transform, seed_of)
from .data import load_half
from .devices import claim_device, lock_dir_default
from .preflight import compile_allowed
from .models import family_of, identity_keys
from .transfer import build_derived, parse_net

EXIT_RESUMABLE = 75  # checkpointed and stopped early (SIGTERM or time budget): rerun to resume

DEFAULT_TRAIN = {
    "epochs": 30,
    "iterations": 0,  # >0 overrides epochs (Caffe-style schedules)
    "batch_size": 128,
    "lr": 0.01,
    "lr_step_epochs": 10.0,
    "lr_step_iterations": 0,
    "lr_milestones": [],  # epochs after which lr is multiplied by lr_gamma (overrides lr_step_*)
    "lr_gamma": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "bias_lr_mult": 1.0,
    "bias_decay": True,
    "crop_size": 32,
    "mirror": True,
    "checkpoint_every_s": 60.0,
    "eval_every_epochs": 1,
    # >0: a record (train metrics, dev evaluation, log line, checkpoint) every this many steps, across epoch
    # boundaries, instead of at each epoch's end; for schedules in iterations (the paper's 450k), where an
    # epoch of a small dataset-size net is a few steps
    "eval_every_iterations": 0,
    "eval_batch_size": 500,
    "channels_last": True,
    "normalize": "channel",  # per-channel mean/std; "mean_image" = Caffe's mean-image subtraction
    "amp": "auto",  # auto = bf16 autocast on CUDA, none on CPU; "bf16" forces it; "off"
    "compile": False,  # torch.compile the model (CUDA)
    "cudnn_benchmark": True,  # CUDA only
    # CUDA: deterministic kernels (cuDNN, cuBLAS workspace), so a resumed run ends with the same weights as an
    # uninterrupted one there too; slower. The CPU is always deterministic.
    "deterministic": False,
    "workers": 0,  # DataLoader worker processes producing batches (0 = in the training process)
    "prefetch": 4,  # batches prefetched per worker
    # dataset-size study: train for as many iterations as the same half with all its images would
    # (the authors gave every size the same iteration count); epochs then count passes over the full set
    "iterations_of_full_set": False,
}


class TrainingDiverged(RuntimeError):
    pass


def time_budget_from_runtime(runtime_min) -> float | None:
    """Seconds this job may train, from the rule's ``runtime`` resource (minutes).

    Leaves a margin (10%, at least 60 s, at most 10 min) to write the checkpoint
    and exit before a scheduler's time limit kills the job; the retry resumes.
    """
    if runtime_min in (None, "", 0):
        return None
    try:
        total = float(runtime_min) * 60.0
    except (TypeError, ValueError):
        return None
    margin = min(max(0.1 * total, 60.0), 600.0)
    return max(total - margin, 0.5 * total)


def amp_context(mode: str, device: str):
    import contextlib

    if mode == "off" or (mode == "auto" and not device.startswith("cuda")):
        return contextlib.nullcontext()
    if mode not in ("auto", "bf16"):
        raise ConfigError(f"train.amp must be 'auto', 'bf16' or 'off', got {mode!r}")
    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16)


# ----------------------------------------------------------------------------- evaluation
@torch.inference_mode()
def evaluate(model, images, idx, y, crop, transform, batch_size=500, device="cpu", channels_last=True, amp="off",
             per_image=False) -> dict:
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


# ----------------------------------------------------------------------------- training
def _param_groups(model, cfg):
    weights, biases = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (biases if name.endswith("bias") or p.ndim == 1 else weights).append(p)
    wd = cfg["weight_decay"]
    return [
        {"params": weights, "weight_decay": wd, "lr_mult": 1.0},
        {"params": biases, "weight_decay": wd if cfg["bias_decay"] else 0.0, "lr_mult": cfg["bias_lr_mult"]},
    ]


CHECKPOINTS = ("ckpt.next.pt", "ckpt.pt", "ckpt.prev.pt")  # newest first, as _save_state leaves them


def _load_state(state_dir: Path, fingerprint: str, log):
    for name in CHECKPOINTS:
        p = state_dir / name
        if not p.exists():
            continue
        try:
            st = tio.load_torch(p)
        except tio.CorruptCheckpoint as e:
            print(f"WARNING: {e}; trying an older checkpoint", file=log, flush=True)
            continue
        if st.get("fingerprint") != fingerprint:
            print(f"WARNING: {p} was written with other settings; starting from scratch", file=log, flush=True)
            return None
        return st, p
    return None


def _rotate(src: Path, dst: Path) -> None:
    if src.exists():
        os.replace(src, dst)
    side = src.with_name(src.name + ".sha256")
    if side.exists():
        os.replace(side, dst.with_name(dst.name + ".sha256"))


def _save_state(state_dir: Path, st: dict):
    """Write a checkpoint so that a kill at any instant leaves at least one complete, verifiable one:
    the new state goes to ckpt.next.pt (file, then its checksum), then ckpt.pt becomes ckpt.prev.pt and
    ckpt.next.pt becomes ckpt.pt. _load_state tries next, current, previous."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tio.save_torch(st, state_dir / "ckpt.next.pt")
    _rotate(state_dir / "ckpt.pt", state_dir / "ckpt.prev.pt")
    _rotate(state_dir / "ckpt.next.pt", state_dir / "ckpt.pt")


class _Stop:
    """Flag set by SIGTERM/SIGINT/SIGUSR1 so the loop can checkpoint and exit."""

    def __init__(self):
        self.reason = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not main thread
                pass
        return self

    def _handle(self, signum, frame):
        self.reason = signal.Signals(signum).name

    def __exit__(self, *a):
        for sig, h in self._old.items():
            signal.signal(sig, h)


def train_network(*, net: str, prepared_dir, half_file, out_weights, out_meta, state_dir, arch: dict,
                  train_cfg: dict, seed: int, base_weights=None, threads: int = 1, device: str = "cpu",
                  provenance: dict | None = None, time_budget_s: float | None = None,
                  stop_after_steps: int | None = None, preflight=None, log=None) -> dict:
    """Train network ``net`` (e.g. ``baseA``, ``A3B-frozen``) on the half in ``half_file``.

    The steps, in order: settings, device, data, base checkpoint, schedule, model and optimizer, resume or
    start, the loop over steps (:meth:`_Training.step`, a :meth:`_Training.record` at each record's end), the final write.
    Returns the metadata written to ``out_meta``, or ``{"stopped": why, "global_step": n}`` when it
    checkpointed and stopped early (SIGTERM/SIGUSR1, ``time_budget_s`` spent, or ``stop_after_steps``,
    which tests use). ``preflight``: the run's preflight report (CUDA runs), which can turn ``compile`` off.
    """
    t_start = time.time()
    log = log or sys.stderr
    cfg = resolve_settings(train_cfg)
    spec = parse_net(net)
    claim, device = setup_device(device, cfg, threads, log)  # the GPU lock is held while `claim` lives
    data = load_half(prepared_dir, half_file)
    crop = int(cfg["crop_size"])
    if crop > data["train"][0].shape[1]:
        raise ConfigError(f"crop_size {crop} is larger than the prepared image size {data['train'][0].shape[1]}")
    arch = dict(arch, num_classes=len(data["wnids"]), input_size=crop)
    base_state = load_base_state(spec, base_weights, arch)
    schedule = Schedule.of(cfg, len(data["train"][1]), data["full_n_train"])
    # kept out of cfg (the resume fingerprint): the same run compiled or eager is the same run
    use_compile = compile_allowed(preflight, bool(cfg["compile"]), log)
    run = _Training(net=net, spec=spec, cfg=cfg, arch=arch, seed=seed, device=device, data=data,
                    prepared_dir=prepared_dir, base_state=base_state, base_weights=base_weights, schedule=schedule,
                    state_dir=Path(state_dir), log=log, use_compile=use_compile)
    run.resume_or_start()
    stopped = run.loop(t_start, time_budget_s, stop_after_steps)
    if stopped:
        return stopped
    meta = run.write_outputs(out_weights, out_meta, provenance, t_start)
    claim.release()
    return meta


def resolve_settings(train_cfg: dict) -> dict:
    """The training settings: DEFAULT_TRAIN updated with ``train_cfg``; an unknown key is an error."""
    cfg = dict(DEFAULT_TRAIN)
    unknown = set(train_cfg) - set(cfg)
    if unknown:
        raise ConfigError(f"unknown training settings {sorted(unknown)}; expected some of {sorted(cfg)}")
    cfg.update(train_cfg)
    return cfg


def setup_device(device: str, cfg: dict, threads: int, log):
    """Claim the device (a GPU lock on CUDA) and set threads, determinism and CUDA switches.

    Returns ``(claim, device)``; the claim must live as long as the training does."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but torch sees no CUDA device")
    lock_dir = lock_dir_default()
    claim = claim_device(device, lock_dir, log=log)
    device = claim.device
    deterministic = device == "cpu" or bool(cfg["deterministic"])
    if device.startswith("cuda"):
        if deterministic:  # read when cuBLAS creates its handle: before the first matmul
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.cuda.set_device(torch.device(device))
        torch.backends.cudnn.benchmark = bool(cfg["cudnn_benchmark"]) and not deterministic
        torch.backends.cudnn.deterministic = deterministic
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(deterministic, warn_only=device == "cpu")
    # the NaN-filling of every fresh allocation that comes with deterministic mode costs ~7% of a CPU
    # step and changes no result (no kernel here reads memory it did not write)
    torch.utils.deterministic.fill_uninitialized_memory = False
    return claim, device


def dropout_seeder(device: str):
    """A function seeding the dropout masks of one step."""
    if device.startswith("cuda"):
        def seed_dropout(s):
            torch.random.default_generator.manual_seed(s)
            torch.cuda.manual_seed(s)
        return seed_dropout
    # the CPU generator alone: torch.manual_seed also queues a lazy CUDA seeding with a stack
    # trace on every call when CUDA is not initialised (~0.4 ms a step)
    return torch.random.default_generator.manual_seed


def load_base_state(spec, base_weights, arch: dict) -> dict | None:
    """The base checkpoint's state dict for a net that copies layers (checked to share the architecture)."""
    if not spec.n or spec.source == "R":
        return None
    if base_weights is None:
        raise ConfigError(f"{spec.name} copies layers from a base network: base_weights is required")
    ck = tio.load_torch(base_weights)
    base_arch = dict(ck["arch"])
    if family_of(base_arch) != family_of(arch):
        raise ConfigError(
            f"base checkpoint {base_weights} is a {family_of(base_arch)} but this network is a {family_of(arch)}: "
            "it was trained with another architecture"
        )
    for k in identity_keys(arch):
        if base_arch.get(k) != arch.get(k):
            raise ConfigError(
                f"base checkpoint {base_weights} has {k}={base_arch.get(k)!r} but this network needs "
                f"{k}={arch.get(k)!r}: it was trained with another architecture"
            )
    return ck["state_dict"]


class Schedule:
    """Steps and learning rate: steps per epoch, total steps, and the step or multi-step decay."""

    def __init__(self, *, lr, gamma, batch_size, steps_per_epoch, total_steps, step_size, milestones,
                 record_every=0, eval_every_epochs=1):
        self.lr, self.gamma, self.batch_size = lr, gamma, batch_size
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.step_size, self.milestones = step_size, milestones
        self.n_epochs = math.ceil(total_steps / steps_per_epoch)
        self.record_every, self.eval_every_epochs = int(record_every), int(eval_every_epochs)

    @classmethod
    def of(cls, cfg: dict, n_train: int, full_n_train: int) -> "Schedule":
        bs = int(cfg["batch_size"])
        spe = max(1, n_train // bs)  # steps per epoch (last partial batch dropped)
        spe_sched = max(1, full_n_train // bs) if cfg["iterations_of_full_set"] else spe
        return cls(lr=cfg["lr"], gamma=cfg["lr_gamma"], batch_size=bs, steps_per_epoch=spe,
                   total_steps=int(cfg["iterations"]) or int(cfg["epochs"]) * spe_sched,
                   step_size=int(cfg["lr_step_iterations"]) or max(1, round(float(cfg["lr_step_epochs"]) * spe_sched)),
                   milestones=sorted(round(float(m) * spe_sched) for m in cfg["lr_milestones"]),
                   record_every=int(cfg["eval_every_iterations"]), eval_every_epochs=int(cfg["eval_every_epochs"]))

    def lr_at(self, step: int) -> float:
        drops = sum(step >= m for m in self.milestones) if self.milestones else step // self.step_size
        return self.lr * self.gamma ** drops

    # records: the points where train metrics are summed up, the dev slice evaluated and a checkpoint written
    def closes_record(self, step: int) -> bool:
        """Whether the step count ``step`` (after that many steps) ends a record."""
        every = self.record_every or self.steps_per_epoch
        return step % every == 0 or step == self.total_steps

    def evaluates(self, step: int) -> bool:
        """Whether the record ending at ``step`` evaluates the dev slice."""
        if self.record_every or step == self.total_steps:
            return True
        return (step // self.steps_per_epoch) % self.eval_every_epochs == 0

    def n_records(self) -> int:
        every = self.record_every or self.steps_per_epoch
        return self.total_steps // every + (self.total_steps % every != 0)

    def n_evals(self) -> int:
        if self.record_every:
            return self.n_records()
        full = self.total_steps // self.steps_per_epoch  # epoch ends, then a partial last epoch if any
        k = self.eval_every_epochs
        return full // k + (full % k != 0 or self.total_steps % self.steps_per_epoch != 0)

    def epoch_of(self, step: int):
        """The record's epoch: completed epochs at an epoch's end, else a fraction (iteration records)."""
        e = step / self.steps_per_epoch
        return math.ceil(e) if not self.record_every else round(e, 3)


def plan(cfg: dict, n_train: int, full_n_train: int, n_dev: int) -> dict:
    """What training a network with these settings will do, computed without training: steps, training
    images, records (each with a checkpoint), dev evaluations and the images they read."""
    cfg = resolve_settings(cfg)
    sch = Schedule.of(cfg, n_train, full_n_train)
    return {"total_steps": sch.total_steps, "train_images": sch.total_steps * sch.batch_size,
            "records": sch.n_records(), "evals": sch.n_evals(), "eval_images": sch.n_evals() * n_dev,
            "steps_per_record": sch.record_every or sch.steps_per_epoch, "epochs": sch.n_epochs}


class _Training:
    """One network's training run: model, optimizer, progress state and the loop's steps."""

    def __init__(self, *, net, spec, cfg, arch, seed, device, data, prepared_dir, base_state, base_weights, schedule,
                 state_dir: Path, log, use_compile: bool = False):
        self.net, self.spec, self.cfg, self.arch, self.seed, self.device = net, spec, cfg, arch, seed, device
        self.data, self.schedule, self.state_dir, self.log = data, schedule, state_dir, log
        self.images, self.idx, self.y = data["train"]
        self.images_path = data.get("paths", {}).get("train")
        self.n_train = len(self.idx)
        # per-epoch monitoring on the dev slice carved from the training images; the validation
        # images are reported once, by the evaluation rule, and never looked at while training
        dev = data.get("dev")
        self.dev = dev if dev is not None and len(dev[1]) else None
        self.fingerprint = tio.config_hash({"net": net, "arch": arch, "cfg": cfg, "seed": seed, "n_train": self.n_train,
                                            "base": tio.sha256_file(base_weights) if base_weights else None})
        model = build_derived(arch, spec, base_state, seed)
        if cfg["channels_last"]:
            model = model.to(memory_format=torch.channels_last)
        model.to(device)
        self.model = model
        self.fwd = torch.compile(model) if use_compile else model
        groups = _param_groups(model, cfg)
        self.n_trainable = sum(p.numel() for g in groups for p in g["params"])
        self.opt = torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"])
        self.transform = make_transform(data["meta"], prepared_dir, cfg["normalize"], device)
        self.seed_dropout = dropout_seeder(device)
        self.st = {"epoch": 0, "batch": 0, "global_step": 0, "history": [], "train_seconds": 0.0,
                   "acc": [0.0, 0, 0], "resumes": []}
        self._reset_accumulators()

    # -------------------------------------------------------------------------------- bookkeeping
    def milestone(self, msg: str) -> None:
        """To the job's log, and appended to state_dir/attempts.log: Snakemake deletes a rule's log when
        it reruns the job (retry, requeue), the state folder survives, so the attempts stay readable."""
        print(msg, file=self.log, flush=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "attempts.log", "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")

    def _reset_accumulators(self) -> None:
        self.loss_sum = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), dtype=torch.long, device=self.device)
        self.seen = 0

    def flush_acc(self) -> None:
        """Move the step accumulators into the checkpointed state (one host sync); a non-finite loss stops."""
        ls = self.loss_sum.item()
        if not math.isfinite(ls):
            raise TrainingDiverged(
                f"{self.net}: training loss became {ls} at step {self.st['global_step']} (epoch {self.st['epoch'] + 1}); "
                f"lower the learning rate (lr={self.cfg['lr']}) or check the data"
            )
        self.st["acc"][0] += ls
        self.st["acc"][1] += int(self.correct.item())
        self.st["acc"][2] += self.seen
        self._reset_accumulators()

    def checkpoint(self) -> None:
        _save_state(self.state_dir, {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                                     "fingerprint": self.fingerprint, "progress": self.st})
        self.last_ckpt = time.time()

    # -------------------------------------------------------------------------------- the steps
    def resume_or_start(self) -> None:
        sch = self.schedule
        loaded = _load_state(self.state_dir, self.fingerprint, self.log)
        if loaded:
            ck, path = loaded
            self.model.load_state_dict(ck["model"])
            self.opt.load_state_dict(ck["optimizer"])
            self.st = ck["progress"]
            self.st["resumes"].append(self.st["global_step"])
            self.milestone(f"resumed {self.net} from {path} at epoch {self.st['epoch'] + 1}, batch {self.st['batch']}, "
                           f"step {self.st['global_step']}/{sch.total_steps}")
        else:
            self.milestone(
                f"training {self.net}: {self.n_train} images, {len(self.data['wnids'])} classes, {sch.n_epochs} epochs x "
                f"{sch.steps_per_epoch} steps, batch {sch.batch_size}, frozen layers {self.spec.frozen_layers}, "
                f"trainable params {self.n_trainable}, threads {torch.get_num_threads()}, device {self.device}")

    def loop(self, t_start: float, time_budget_s, stop_after_steps) -> dict | None:
        """The remaining steps from one loader, a record at each record's end; a stop request returns
        ``{"stopped": ...}`` after a checkpoint."""
        st, cfg, sch = self.st, self.cfg, self.schedule
        self.last_ckpt = self.t_counted = self.t_record = time.time()
        self.steps_this_run = self.imgs_record = 0
        ds = StepBatches(self.images, self.idx, self.y, seed=self.seed, steps_per_epoch=sch.steps_per_epoch,
                         batch_size=sch.batch_size, start=st["global_step"], stop=sch.total_steps,
                         crop=int(cfg["crop_size"]), mirror=cfg["mirror"], images_path=self.images_path)
        self.model.train()
        with _Stop() as stop:
            for xb, yb, oy, ox, flip in loader(ds, int(cfg["workers"]), self.device.startswith("cuda"),
                                                int(cfg["prefetch"])):
                self.step(xb, yb, oy, ox, flip)
                self.imgs_record += len(yb)
                recorded = sch.closes_record(st["global_step"])
                if recorded:
                    self.record()
                over = time_budget_s is not None and time.time() - t_start >= time_budget_s
                forced = stop_after_steps is not None and self.steps_this_run >= stop_after_steps
                due = time.time() - self.last_ckpt >= cfg["checkpoint_every_s"]
                if (due or over or forced or stop.reason) and not recorded:
                    self.flush_acc()
                    self.count_time()
                    self.checkpoint()
                    print(f"  {self.net} epoch {st['epoch'] + 1}/{sch.n_epochs} batch {st['batch']}/{sch.steps_per_epoch} "
                          f"loss {st['acc'][0] / max(st['acc'][2], 1):.4f} (checkpoint written)", file=self.log, flush=True)
                if stop.reason or over or forced:
                    why = stop.reason or ("time budget" if over else "stop_after_steps")
                    self.milestone(f"stopping {self.net} at step {st['global_step']} ({why}); rerun to resume")
                    return {"stopped": why, "global_step": st["global_step"]}
        return None

    def count_time(self) -> None:
        now = time.time()
        self.st["train_seconds"] += now - self.t_counted
        self.t_counted = now

    def step(self, xb, yb, oy, ox, flip) -> None:
        """One SGD step on one batch: its dropout masks from (seed, epoch, batch), its rate from the schedule."""
        st, cfg, device = self.st, self.cfg, self.device
        nb = device.startswith("cuda")
        xb, yb = xb.to(device, non_blocking=nb), yb.to(device, non_blocking=nb)
        self.seed_dropout(seed_of(self.seed, st["epoch"], st["batch"]))
        lr = self.schedule.lr_at(st["global_step"])
        for g in self.opt.param_groups:
            g["lr"] = lr * g["lr_mult"]
        with amp_context(cfg["amp"], device):
            out = self.fwd(self.transform(xb, cfg["channels_last"], oy, ox, flip))
            loss = F.cross_entropy(out.float(), yb)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.loss_sum += loss.detach() * len(yb)
        self.correct += (out.detach().argmax(1) == yb).sum()
        self.seen += len(yb)
        st["global_step"] += 1
        st["epoch"], st["batch"] = divmod(st["global_step"], self.schedule.steps_per_epoch)
        self.steps_this_run += 1

    def record(self) -> None:
        """A record's row (train loss/accuracy, dev-slice scores), its log line and a checkpoint."""
        st, cfg, sch = self.st, self.cfg, self.schedule
        step = st["global_step"]
        lr = sch.lr_at(step - 1)
        self.flush_acc()
        self.count_time()
        dt = time.time() - self.t_record
        row = {"epoch": sch.epoch_of(step), "step": step, "train_loss": st["acc"][0] / max(st["acc"][2], 1),
               "train_top1": st["acc"][1] / max(st["acc"][2], 1), "lr": lr,
               "images_per_s": self.imgs_record / max(dt, 1e-9) if self.imgs_record else None}
        if self.dev is not None and sch.evaluates(step):
            ev = evaluate(self.model, *self.dev, int(cfg["crop_size"]), self.transform, cfg["eval_batch_size"],
                          self.device, cfg["channels_last"], cfg["amp"])
            row.update({"dev_top1": ev["top1"], "dev_top5": ev["top5"], "dev_loss": ev["val_loss"]})
            self.model.train()
        st["history"].append(row)
        print(progress_line(self.net, row["epoch"], sch.n_epochs, row, lr, step, sch.total_steps, st["train_seconds"]),
              file=self.log, flush=True)
        st["acc"] = [0.0, 0, 0]
        self.checkpoint()
        self.t_counted = self.t_record = time.time()
        self.imgs_record = 0

    def write_outputs(self, out_weights, out_meta, provenance, t_start) -> dict:
        """Final weights and metadata (atomically), then the checkpoints are removed."""
        st, spec = self.st, self.spec
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        meta = {
            "net": self.net, "treatment": spec.treatment, "n": spec.n, "fine_tuned": spec.fine_tuned,
            "seed": self.seed, "epochs": self.schedule.n_epochs, "steps": st["global_step"], "train_seconds": st["train_seconds"],
            "wall_seconds_last_run": time.time() - t_start, "device": self.device, "threads": torch.get_num_threads(),
            "n_train": self.n_train, "n_classes": len(self.data["wnids"]), "history": st["history"],
            "resumed_at_steps": st["resumes"], "arch": self.arch, "train": self.cfg, "fingerprint": self.fingerprint,
            "code_revision": tio.code_revision(), "torch": torch.__version__, **(provenance or {}),
        }
        tio.save_torch({"arch": self.arch, "state_dict": state, "net": self.net, "seed": self.seed,
                        "wnids": self.data["wnids"]}, out_weights)
        tio.atomic_write_json(out_meta, meta)
        for name in CHECKPOINTS:
            (self.state_dir / name).unlink(missing_ok=True)
            (self.state_dir / (name + ".sha256")).unlink(missing_ok=True)
        self.milestone(f"finished {self.net}: {self.schedule.n_epochs} epochs ({st['global_step']} steps) in "
                       f"{st['train_seconds']:.1f} s")
        return meta


def progress_line(net, epoch, n_epochs, row, lr, step, total_steps, train_seconds) -> str:
    """One epoch's log line: timestamp, metrics, speed, elapsed training time and time left."""
    left = train_seconds / max(step, 1) * (total_steps - step)
    dev = f"dev_top1 {row['dev_top1']:.4f} " if "dev_top1" in row else ""
    return (f"{time.strftime('%Y-%m-%d %H:%M:%S')} {net} epoch {epoch}/{n_epochs} step {step}/{total_steps} "
            f"loss {row['train_loss']:.4f} train_top1 {row['train_top1']:.4f} {dev}lr {lr:.2e} "
            f"{row['images_per_s'] or 0:.0f} img/s elapsed {_hms(train_seconds)} left {_hms(left)}")


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
