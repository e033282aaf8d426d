"""Training one network: deterministic, resumable, one job per network.

The detail: docs/library.md, `transferlab/training/train.py`."""

from __future__ import annotations

import math
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from transferlab import io as tio
from transferlab.data.batches import (
    DeviceFeed,
    ResidentImages,
    StepBatches,
    loader,
    make_transform,
    resident_plan,
    seed_of,
)
from transferlab.data.datasets import load_half
from transferlab.errors import ConfigError, TrainingDiverged
from transferlab.names import parse_net
from transferlab.nets.models import family_of, identity_keys
from transferlab.nets.transfer import build_derived
from transferlab.schema import defaults, without_effect
from transferlab.training import checkpoints
from transferlab.training.devices import amp_context, loader_workers, training_device
from transferlab.training.evaluate import evaluate
from transferlab.training.preflight import compile_allowed

EXIT_RESUMABLE = 75  # checkpointed and stopped early (SIGTERM or time budget): rerun to resume


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


@dataclass
class Progress:
    """Where a run is; saved in every checkpoint as a dict."""

    epoch: int = 0  # completed epochs
    batch: int = 0  # steps done in the current epoch
    global_step: int = 0
    history: list = field(default_factory=list)  # one row per record
    train_seconds: float = 0.0
    # the current record's training loss (summed over images), correct top-1 predictions and images
    loss_sum: float = 0.0
    correct: int = 0
    images: int = 0
    resumes: list = field(default_factory=list)  # the global steps at which the run resumed

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> Progress:
        saved = dict(saved)
        if "acc" in saved:  # a checkpoint whose record sums are one unnamed triple still resumes
            saved["loss_sum"], saved["correct"], saved["images"] = saved.pop("acc")
        return cls(**saved)

    def start_record(self) -> None:
        self.loss_sum, self.correct, self.images = 0.0, 0, 0


class StopPolicy:
    """When a run stops before its last step, and why: a signal (SIGTERM or SIGUSR1, as a scheduler sends
    before preempting or at its time limit; SIGINT, a Ctrl-C at the terminal), its time budget spent, or a
    number of steps run (tests).  A second Ctrl-C interrupts at once."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)

    def __init__(self, t_start: float, time_budget_s: float | None = None, stop_after_steps: int | None = None):
        self.t_start, self.time_budget_s, self.stop_after_steps = t_start, time_budget_s, stop_after_steps
        self.signal = None
        self._previous = {}

    def __enter__(self):
        for sig in self.SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if signum == signal.SIGINT and self.signal == "SIGINT":
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def why(self, steps_this_run: int) -> str | None:
        """Why the run stops now, or None to go on."""
        if self.signal:
            return self.signal
        if self.time_budget_s is not None and time.time() - self.t_start >= self.time_budget_s:
            return "time budget"
        if self.stop_after_steps is not None and steps_this_run >= self.stop_after_steps:
            return "stop_after_steps"
        return None


def train_network(
    *,
    net: str,
    prepared_dir,
    half_file,
    out_weights,
    out_meta,
    state_dir,
    arch: dict,
    train_cfg: dict,
    seed: int,
    base_weights=None,
    threads: int = 1,
    device: str = "cpu",
    provenance: dict | None = None,
    time_budget_s: float | None = None,
    stop_after_steps: int | None = None,
    preflight=None,
    stage_dir=None,
    log=None,
) -> dict:
    """Train network ``net`` (e.g. ``baseA``, ``A3B-frozen``) on the half in ``half_file``.

    The steps, in order: settings, device, data, base checkpoint, schedule, model and optimizer, resume or
    start, the loop over steps (:meth:`_Training.step`, a :meth:`_Training.record` at each record's end), the
    final write.
    Returns the metadata written to ``out_meta``, or ``{"stopped": why, "global_step": n}`` when it
    checkpointed and stopped early (SIGTERM/SIGUSR1/SIGINT, ``time_budget_s`` spent, or ``stop_after_steps``,
    which tests use). ``preflight``: the run's preflight report (CUDA runs), which can turn ``compile`` off.
    ``stage_dir``: a node-local folder the training images are copied to once per node and read from.
    """
    t_start = time.time()
    log = log or sys.stderr
    if not Path(out_weights).exists():  # Snakemake removes an output before its job, not the output's checksum
        tio.sidecar_of(out_weights).unlink(missing_ok=True)
    cfg = resolve_settings(train_cfg)
    spec = parse_net(net)
    with training_device(device, bool(cfg["deterministic"]), bool(cfg["cudnn_benchmark"]), threads, log) as device:
        cfg["workers"] = loader_workers(cfg["workers"], device, threads)
        data = load_half(prepared_dir, half_file, stage_dir, log)
        crop = int(cfg["crop_size"])
        if crop > data["train"][0].shape[1]:
            raise ConfigError(f"crop_size {crop} is larger than the prepared image size {data['train'][0].shape[1]}")
        arch = dict(arch, num_classes=len(data["wnids"]), input_size=crop)
        base_state = load_base_state(spec, base_weights, arch)
        schedule = Schedule.of(cfg, len(data["train"][1]), data["full_n_train"])
        # kept out of cfg (the resume fingerprint): the same run compiled or eager is the same run
        use_compile = compile_allowed(preflight, bool(cfg["compile"]), log)
        run = _Training(
            net=net,
            spec=spec,
            cfg=cfg,
            arch=arch,
            seed=seed,
            device=device,
            data=data,
            prepared_dir=prepared_dir,
            base_state=base_state,
            base_weights=base_weights,
            schedule=schedule,
            state_dir=Path(state_dir),
            log=log,
            use_compile=use_compile,
        )
        run.resume_or_start()
        stopped = run.loop(StopPolicy(t_start, time_budget_s, stop_after_steps))
        if stopped:
            return stopped
        return run.write_outputs(out_weights, out_meta, provenance, t_start)


def resolve_settings(train_cfg: dict) -> dict:
    """The training settings: the schema's defaults updated with ``train_cfg``; an unknown key is an error."""
    cfg = defaults("train")
    unknown = set(train_cfg) - set(cfg)
    if unknown:
        raise ConfigError(f"unknown training settings {sorted(unknown)}; expected some of {sorted(cfg)}")
    cfg.update(train_cfg)
    return cfg


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

    def __init__(
        self,
        *,
        lr,
        gamma,
        batch_size,
        steps_per_epoch,
        total_steps,
        step_size,
        milestones,
        record_every=0,
        eval_every_epochs=1,
    ):
        self.lr, self.gamma, self.batch_size = lr, gamma, batch_size
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.step_size, self.milestones = step_size, milestones
        self.n_epochs = math.ceil(total_steps / steps_per_epoch)
        self.record_every, self.eval_every_epochs = int(record_every), int(eval_every_epochs)

    @classmethod
    def of(cls, cfg: dict, n_train: int, full_n_train: int) -> Schedule:
        batch_size = int(cfg["batch_size"])
        steps_per_epoch = max(1, n_train // batch_size)  # the last partial batch is dropped
        # epochs of the schedule: of the full set for the dataset-size networks, else of this half
        scheduled = max(1, full_n_train // batch_size) if cfg["iterations_of_full_set"] else steps_per_epoch
        return cls(
            lr=cfg["lr"],
            gamma=cfg["lr_gamma"],
            batch_size=batch_size,
            steps_per_epoch=steps_per_epoch,
            total_steps=int(cfg["iterations"]) or int(cfg["epochs"]) * scheduled,
            step_size=int(cfg["lr_step_iterations"]) or max(1, round(float(cfg["lr_step_epochs"]) * scheduled)),
            milestones=sorted(round(float(m) * scheduled) for m in cfg["lr_milestones"]),
            record_every=int(cfg["eval_every_iterations"]),
            eval_every_epochs=int(cfg["eval_every_epochs"]),
        )

    def lr_at(self, step: int) -> float:
        drops = sum(step >= m for m in self.milestones) if self.milestones else step // self.step_size
        return self.lr * self.gamma**drops

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
    schedule = Schedule.of(resolve_settings(cfg), n_train, full_n_train)
    return {
        "total_steps": schedule.total_steps,
        "train_images": schedule.total_steps * schedule.batch_size,
        "records": schedule.n_records(),
        "evals": schedule.n_evals(),
        "eval_images": schedule.n_evals() * n_dev,
        "steps_per_record": schedule.record_every or schedule.steps_per_epoch,
        "epochs": schedule.n_epochs,
    }


class _Training:
    """One network's training run: model, optimizer, progress and the loop's steps."""

    def __init__(
        self,
        *,
        net,
        spec,
        cfg,
        arch,
        seed,
        device,
        data,
        prepared_dir,
        base_state,
        base_weights,
        schedule,
        state_dir: Path,
        log,
        use_compile: bool = False,
    ):
        self.net, self.spec, self.cfg, self.arch, self.seed, self.device = net, spec, cfg, arch, seed, device
        self.data, self.schedule, self.state_dir, self.log = data, schedule, state_dir, log
        self.images, self.idx, self.y = data["train"]
        self.images_path = data.get("paths", {}).get("train")
        # images stored as JPEG reach a GPU as bytes and are decoded there; on the CPU the loader decodes them
        self.decode_on_device = hasattr(self.images, "encoded") and device.startswith("cuda")
        self.resident = None  # ResidentImages, where the loop holds the images in the device's memory
        self.n_train = len(self.idx)
        # monitoring on the dev slice carved from the training images; the validation images are reported
        # once, by the evaluation rule, and never looked at while training
        dev = data.get("dev")
        self.dev = dev if dev is not None and len(dev[1]) else None
        self.fingerprint = tio.config_hash(
            {
                "net": net,
                "arch": arch,
                "cfg": {k: v for k, v in cfg.items() if k not in without_effect("train")},  # how it runs: not here
                "seed": seed,
                "n_train": self.n_train,
                "base": tio.sha256_file(base_weights) if base_weights else None,
            }
        )
        model = build_derived(arch, spec, base_state, seed)  # copied, re-initialised and frozen as spec says
        if cfg["channels_last"]:
            model = model.to(memory_format=torch.channels_last)
        model.to(device)
        self.model = model
        self.forward = torch.compile(model) if use_compile else model
        groups = _param_groups(model, cfg)
        self.n_trainable = sum(p.numel() for g in groups for p in g["params"])
        self.optimizer = torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"])
        self.transform = make_transform(data["meta"], prepared_dir, cfg["normalize"], device)
        self.seed_dropout = dropout_seeder(device)
        self.progress = Progress()
        # the current record's sums on the device, moved into progress at a record or checkpoint (one sync)
        self._reset_device_sums()
        now = time.time()
        self.last_checkpoint = self.counted_until = self.record_started = now
        self.steps_this_run = self.images_this_record = 0

    # -------------------------------------------------------------------------------- bookkeeping
    def milestone(self, msg: str) -> None:
        """To the job's log, and appended to state_dir/attempts.log: Snakemake deletes a rule's log when
        it reruns the job (retry, requeue), the state folder survives, so the attempts stay readable."""
        print(msg, file=self.log, flush=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "attempts.log", "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")

    def _reset_device_sums(self) -> None:
        self.loss_on_device = torch.zeros((), device=self.device)
        self.correct_on_device = torch.zeros((), dtype=torch.long, device=self.device)
        self.images_on_device = 0

    def pending_loss(self) -> float:
        """The loss summed on the device since the last record (one host sync); a non-finite loss stops."""
        loss = self.loss_on_device.item()
        if not math.isfinite(loss):
            progress = self.progress
            raise TrainingDiverged(
                f"{self.net}: training loss became {loss} at step {progress.global_step} (epoch {progress.epoch + 1}); "
                f"lower the learning rate (lr={self.cfg['lr']}) or check the data"
            )
        return loss

    def move_sums(self) -> None:
        """Move the device sums into the checkpointed progress, at a record's end."""
        progress = self.progress
        progress.loss_sum += self.pending_loss()
        progress.correct += int(self.correct_on_device.item())
        progress.images += self.images_on_device
        self._reset_device_sums()

    def checkpoint(self) -> None:
        """The state to resume from. The record's running sums are saved as they are on the device, not added
        into the progress, so a record's loss is the same float32 sum whether or not the run stopped inside it."""
        checkpoints.save(
            self.state_dir,
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "fingerprint": self.fingerprint,
                "progress": self.progress.to_dict(),
                # dropout is seeded anew at each step; the rest of CUDA's random stream is resumed too
                "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.startswith("cuda") else None,
                "device_sums": {
                    "loss": self.loss_on_device.detach().cpu(),
                    "correct": self.correct_on_device.detach().cpu(),
                    "images": self.images_on_device,
                },
            },
        )
        self.last_checkpoint = time.time()

    def count_time(self) -> None:
        now = time.time()
        self.progress.train_seconds += now - self.counted_until
        self.counted_until = now

    # -------------------------------------------------------------------------------- the steps
    def resume_or_start(self) -> None:
        schedule = self.schedule
        loaded = checkpoints.load(self.state_dir, self.fingerprint, self.log)
        if loaded:
            saved, path = loaded
            self.model.load_state_dict(saved["model"])
            self.optimizer.load_state_dict(saved["optimizer"])
            self.progress = progress = Progress.from_dict(saved["progress"])
            if saved.get("cuda_rng") is not None and self.device.startswith("cuda"):
                torch.cuda.set_rng_state(saved["cuda_rng"], self.device)
            sums = saved.get("device_sums")
            if sums is not None:
                self.loss_on_device = sums["loss"].to(self.device)
                self.correct_on_device = sums["correct"].to(self.device)
                self.images_on_device = int(sums["images"])
            progress.resumes.append(progress.global_step)
            self.milestone(
                f"resumed {self.net} from {path} at epoch {progress.epoch + 1}, batch {progress.batch}, "
                f"step {progress.global_step}/{schedule.total_steps}"
            )
        else:
            self.milestone(
                f"training {self.net}: {self.n_train} images, {len(self.data['wnids'])} classes, {schedule.n_epochs} "
                f"epochs x {schedule.steps_per_epoch} steps, batch {schedule.batch_size}, frozen layers "
                f"{self.spec.frozen_layers}, trainable params {self.n_trainable}, threads {torch.get_num_threads()}, "
                f"loader workers {self.cfg['workers']}, device {self.device}"
            )

    def loop(self, stop: StopPolicy) -> dict | None:
        """The remaining steps from one loader, a record at each record's end; when ``stop`` says why, a
        checkpoint and ``{"stopped": why, "global_step": n}``."""
        progress, cfg, schedule = self.progress, self.cfg, self.schedule
        size = self.images.shape[1]
        resident, why = resident_plan(
            cfg["resident"], self.n_train * size * size * 3, self.device, cfg["resident_memory_gb"]
        )
        print(f"images: {why}", file=self.log, flush=True)
        self.resident = ResidentImages(self.images, self.idx, self.device) if resident else None
        self.last_checkpoint = self.counted_until = self.record_started = time.time()
        batches = StepBatches(
            self.images,
            self.idx,
            self.y,
            seed=self.seed,
            steps_per_epoch=schedule.steps_per_epoch,
            batch_size=schedule.batch_size,
            start=progress.global_step,
            stop=schedule.total_steps,
            crop=int(cfg["crop_size"]),
            mirror=cfg["mirror"],
            images_path=self.images_path,
            encoded=self.decode_on_device and not resident,
            resident=resident,
        )
        self.model.train()  # the frozen units' batch norm stays in eval mode (units.UnitNet.train)
        with stop:
            for xb, yb, oy, ox, flip in DeviceFeed(
                loader(batches, int(cfg["workers"]), self.device.startswith("cuda"), int(cfg["prefetch"])),
                self.device,
                int(cfg["crop_size"]),
            ):
                self.step(xb, yb, oy, ox, flip)
                self.images_this_record += len(yb)
                recorded = schedule.closes_record(progress.global_step)
                if recorded:
                    self.record()
                why = stop.why(self.steps_this_run)
                due = time.time() - self.last_checkpoint >= cfg["checkpoint_every_s"]
                if (due or why) and not recorded:
                    loss = (progress.loss_sum + self.pending_loss()) / max(progress.images + self.images_on_device, 1)
                    self.count_time()
                    self.checkpoint()
                    print(
                        f"  {self.net} epoch {progress.epoch + 1}/{schedule.n_epochs} batch {progress.batch}/"
                        f"{schedule.steps_per_epoch} loss {loss:.4f} (checkpoint written)",
                        file=self.log,
                        flush=True,
                    )
                if why:
                    self.milestone(f"stopping {self.net} at step {progress.global_step} ({why}); rerun to resume")
                    return {"stopped": why, "global_step": progress.global_step}
        return None

    def step(self, xb, yb, oy, ox, flip) -> None:
        """One SGD step on one batch (on the device already: :class:`DeviceFeed`): its dropout masks from (seed,
        epoch, batch), its rate from the schedule. Nothing here waits for the device."""
        progress, cfg = self.progress, self.cfg
        if self.resident is not None:  # the batch's rows in the half: cut here, from the images on the device
            xb = self.resident.crops(xb, int(cfg["crop_size"]), oy, ox)
        self.seed_dropout(seed_of(self.seed, progress.epoch, progress.batch))
        lr = self.schedule.lr_at(progress.global_step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_mult"]
        with amp_context(cfg["amp"], self.device):
            out = self.forward(self.transform(xb, cfg["channels_last"], oy, ox, flip))
            loss = F.cross_entropy(out.float(), yb)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss_on_device += loss.detach() * len(yb)
        self.correct_on_device += (out.detach().argmax(1) == yb).sum()
        self.images_on_device += len(yb)
        progress.global_step += 1
        progress.epoch, progress.batch = divmod(progress.global_step, self.schedule.steps_per_epoch)
        self.steps_this_run += 1

    def record(self) -> None:
        """A record's row (train loss/accuracy, dev-slice scores), its log line and a checkpoint."""
        progress, cfg, schedule = self.progress, self.cfg, self.schedule
        step = progress.global_step
        lr = schedule.lr_at(step - 1)
        self.move_sums()
        self.count_time()
        seconds = time.time() - self.record_started
        images = max(progress.images, 1)
        row = {
            "epoch": schedule.epoch_of(step),
            "step": step,
            "train_loss": progress.loss_sum / images,
            "train_top1": progress.correct / images,
            "lr": lr,
            "images_per_s": self.images_this_record / max(seconds, 1e-9) if self.images_this_record else None,
        }
        if self.dev is not None and schedule.evaluates(step):
            ev = evaluate(
                self.model,
                *self.dev,
                int(cfg["crop_size"]),
                self.transform,
                cfg["eval_batch_size"],
                self.device,
                cfg["channels_last"],
                cfg["amp"],
            )
            row.update({"dev_top1": ev["top1"], "dev_top5": ev["top5"], "dev_loss": ev["val_loss"]})
            self.model.train()
        progress.history.append(row)
        print(
            progress_line(
                self.net, row["epoch"], schedule.n_epochs, row, lr, step, schedule.total_steps, progress.train_seconds
            ),
            file=self.log,
            flush=True,
        )
        progress.start_record()
        self.checkpoint()
        self.counted_until = self.record_started = time.time()
        self.images_this_record = 0

    def write_outputs(self, out_weights, out_meta, provenance, t_start) -> dict:
        """Final weights and metadata (atomically), then the checkpoints are removed."""
        progress, spec, schedule = self.progress, self.spec, self.schedule
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        meta = {
            "net": self.net,
            "treatment": spec.treatment,
            "n": spec.n,
            "fine_tuned": spec.fine_tuned,
            "seed": self.seed,
            "epochs": schedule.n_epochs,
            "steps": progress.global_step,
            "train_seconds": progress.train_seconds,
            "wall_seconds_last_run": time.time() - t_start,
            "device": self.device,
            "threads": torch.get_num_threads(),
            "compiled": self.forward is not self.model,
            "n_train": self.n_train,
            "n_classes": len(self.data["wnids"]),
            "history": progress.history,
            "resumed_at_steps": progress.resumes,
            "arch": self.arch,
            "train": self.cfg,
            "fingerprint": self.fingerprint,
            "code_revision": tio.code_revision(),
            "torch": torch.__version__,
            **(provenance or {}),
        }
        tio.save_torch(
            {"arch": self.arch, "state_dict": state, "net": self.net, "seed": self.seed, "wnids": self.data["wnids"]},
            out_weights,
        )
        tio.atomic_write_json(out_meta, meta)
        checkpoints.remove(self.state_dir)
        self.milestone(
            f"finished {self.net}: {schedule.n_epochs} epochs ({progress.global_step} steps) in "
            f"{progress.train_seconds:.1f} s"
        )
        return meta


def progress_line(net, epoch, n_epochs, row, lr, step, total_steps, train_seconds) -> str:
    """One epoch's log line: timestamp, metrics, speed, elapsed training time and time left."""
    left = train_seconds / max(step, 1) * (total_steps - step)
    dev = f"dev_top1 {row['dev_top1']:.4f} " if "dev_top1" in row else ""
    return (
        f"{time.strftime('%Y-%m-%d %H:%M:%S')} {net} epoch {epoch}/{n_epochs} step {step}/{total_steps} "
        f"loss {row['train_loss']:.4f} train_top1 {row['train_top1']:.4f} {dev}lr {lr:.2e} "
        f"{row['images_per_s'] or 0:.0f} img/s elapsed {_hms(train_seconds)} left {_hms(left)}"
    )


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
