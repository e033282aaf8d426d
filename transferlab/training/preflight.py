"""The preflight check of a CUDA run: one job, before any training job, on a GPU node like theirs.

It checks what would otherwise fail in each of the run's training jobs, hours later and hundreds of times:

The detail: docs/library.md, `transferlab/training/preflight.py`."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from transferlab import io as tio
from transferlab.errors import PreflightError
from transferlab.training.devices import job_device

# CUDA major version of the torch build -> the oldest Linux driver that runs every minor version of it
MIN_DRIVER = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}
PROC_VERSION = Path("/proc/driver/nvidia/version")  # the loaded NVIDIA kernel module's version line


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text))


def driver_version() -> str | None:
    """The NVIDIA driver's version (e.g. '580.65.06'): from the kernel module, else nvidia-smi; None if neither."""
    try:
        m = re.search(r"Kernel Module\s+(?:for \S+\s+)?(\d+\.\d+(?:\.\d+)?)", PROC_VERSION.read_text())
        if m:
            return m.group(1)
    except OSError:
        pass
    if shutil.which("nvidia-smi"):
        try:
            r = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            line = r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else ""
            if re.fullmatch(r"\d+\.\d+(\.\d+)?", line.strip()):
                return line.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return None


def driver_cuda_version() -> tuple[int, int] | None:
    """The newest CUDA version the installed driver supports (cuDriverGetVersion), or None without libcuda."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
        v = ctypes.c_int(0)
        if lib.cuDriverGetVersion(ctypes.byref(v)) != 0 or v.value <= 0:
            return None
        return v.value // 1000, v.value % 1000 // 10
    except (OSError, AttributeError):
        return None


def driver_problem(
    torch_version: str, torch_cuda: str | None, driver: str | None, driver_cuda: tuple[int, int] | None
) -> str | None:
    """What is wrong between torch's CUDA build and the driver, in one sentence; None when nothing is."""
    if not torch_cuda:
        return (
            f"torch {torch_version} is a CPU-only build (torch.version.cuda is None), but this run trains on "
            "CUDA: install a CUDA build of torch (envs/torch.yaml) or run with device: cpu"
        )
    major = _version(torch_cuda)[0]
    need = MIN_DRIVER.get(major)
    if driver and need and _version(driver)[:3] < _version(need):
        return (
            f"torch {torch_version} is built for CUDA {torch_cuda}, which needs NVIDIA driver >= "
            f"{need} (R{_version(need)[0]}); this node's driver is {driver}: run on nodes with a "
            f"newer driver, or install a torch built for an older CUDA that driver {driver} supports"
        )
    if driver_cuda and driver_cuda[0] < major:
        return (
            f"torch {torch_version} is built for CUDA {torch_cuda}, but this node's NVIDIA driver"
            f"{' ' + driver if driver else ''} supports CUDA up to {driver_cuda[0]}.{driver_cuda[1]}: run on "
            "nodes with a newer driver, or install a torch built for that CUDA"
        )
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else repr(e)}"


def _kernels(device: str) -> str:
    """' (compute capability X.Y; this torch has kernels for sm_...)', or '' where CUDA cannot say."""
    import torch

    try:
        cap = torch.cuda.get_device_capability(device)
        kernels = " ".join(torch.cuda.get_arch_list())
        return f" (compute capability {cap[0]}.{cap[1]}; this torch has kernels for {kernels})"
    except Exception:  # noqa: BLE001
        return ""


def tiny_op(device: str) -> None:
    """A small matrix product on ``device`` that must equal the CPU's; PreflightError if it fails or differs."""
    import torch

    a = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    try:
        got = (a.to(device) @ a.to(device).T).cpu()
        if str(device).startswith("cuda"):
            torch.cuda.synchronize(device)
    except Exception as e:  # noqa: BLE001 -- whatever CUDA raises, the run cannot use this GPU
        raise PreflightError(f"a tiny CUDA operation failed on {device}{_kernels(device)}: {_first_line(e)}") from e
    if not torch.equal(got, a @ a.T):
        raise PreflightError(f"a tiny matrix product on {device} gave {got.tolist()}, expected {(a @ a.T).tolist()}")


def compile_probe(device: str) -> tuple[bool, str | None]:
    """Whether ``torch.compile`` of a tiny module runs on ``device`` and matches eager: (ok, the error's first
    line)."""
    import torch

    try:
        torch.manual_seed(0)
        m = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU()).to(device)
        x = torch.randn(4, 8, device=device)
        torch.testing.assert_close(torch.compile(m)(x), m(x))
        return True, None
    except Exception as e:  # noqa: BLE001 -- any failure means: train eager
        return False, _first_line(e)
    finally:
        try:
            torch._dynamo.reset()
        except Exception:  # noqa: BLE001
            pass


def preflight(*, out, device: str = "cuda", compile_requested: bool = False, log=None, probe=compile_probe) -> dict:
    """Check this node for the run's training jobs and write the report to ``out`` (JSON); raise PreflightError
    when the driver is too old for torch's CUDA or CUDA is unusable. A failed ``torch.compile`` (``probe``,
    tried only with ``compile_requested``) is recorded as ``compile_ok: false`` with one line to ``log``."""
    import torch

    log = log or sys.stderr
    info = {
        "host": socket.gethostname(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "driver": driver_version(),
        "driver_cuda": None,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    dc = driver_cuda_version()
    info["driver_cuda"] = f"{dc[0]}.{dc[1]}" if dc else None
    info["driver_min"] = MIN_DRIVER.get(_version(info["torch_cuda"])[0]) if info["torch_cuda"] else None
    problem = driver_problem(info["torch"], info["torch_cuda"], info["driver"], dc)
    if problem:
        raise PreflightError(problem)
    if not torch.cuda.is_available():
        raise PreflightError(
            f"CUDA is not usable here: torch.cuda.is_available() is False (torch {info['torch']}, "
            f"CUDA {info['torch_cuda']}, driver {info['driver'] or 'not found'}, CUDA_VISIBLE_DEVICES="
            f"{info['cuda_visible_devices'] if info['cuda_visible_devices'] is not None else '<unset>'});"
            " expected a GPU node with a working NVIDIA driver (under Slurm: a job with --gpus)"
        )
    with job_device(device, log) as dev:
        cap = torch.cuda.get_device_capability(dev)
        info.update(
            device=dev,
            device_name=torch.cuda.get_device_name(dev),
            capability=f"{cap[0]}.{cap[1]}",
            device_count=torch.cuda.device_count(),
        )
        tiny_op(dev)
        info["compile_requested"] = bool(compile_requested)
        info["compile_ok"], info["compile_error"] = probe(dev) if compile_requested else (None, None)
    info["c_compiler"] = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if info["compile_ok"] is False:
        print(
            f"preflight: torch.compile does not work on {info['host']} ({info['compile_error']}); training "
            "will run eager",
            file=log,
            flush=True,
        )
    print(
        f"preflight: {info['device_name']} ({dev}), driver {info['driver']}, torch {info['torch']} (CUDA "
        f"{info['torch_cuda']}): ok",
        file=log,
        flush=True,
    )
    tio.atomic_write_json(out, info)
    return info


def _report_path(preflight_report):
    """The report's path from what a rule passes: a path, or a list of none or one (Snakemake's named input)."""
    if preflight_report is None or isinstance(preflight_report, (str, os.PathLike)):
        return preflight_report or None
    paths = list(preflight_report)
    if len(paths) > 1:
        raise ValueError(f"expected one preflight report, got {paths}")
    return paths[0] if paths else None


def compile_allowed(preflight_report, requested: bool, log=None) -> bool:
    """Whether a training job compiles its model: ``requested`` (``train.compile``), unless the run's preflight
    report (its path; None or an empty list where the run has none: on the CPU) says ``torch.compile`` failed,
    then False, with one line to ``log`` saying training runs eager."""
    if not requested:
        return False
    path = _report_path(preflight_report)
    if path is None:
        return True
    try:
        report = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PreflightError(
            f"preflight report {path} is missing; expected the check_cuda job's output "
            "(snakemake runs it before any training job on CUDA)"
        ) from None
    if report.get("compile_ok") is False:
        print(
            f"train.compile is true, but torch.compile failed in the preflight check on {report.get('host')} "
            f"({report.get('compile_error')}): training runs eager",
            file=log or sys.stderr,
            flush=True,
        )
        return False
    return True
