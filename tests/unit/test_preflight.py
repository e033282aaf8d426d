"""The preflight check of a CUDA run (transferlab.training.preflight), with CUDA mocked: the driver against torch's CUDA
build, an unusable GPU, the torch.compile probe and its eager fallback, and what the trainer is told."""

from __future__ import annotations

import io
import json
import types

import pytest
import torch

from transferlab.errors import PreflightError
from transferlab.training import preflight as pf
from transferlab.training.preflight import compile_allowed, driver_problem


# ------------------------------------------------------------------ the driver against torch's CUDA
@pytest.mark.parametrize(
    "torch_cuda, driver, driver_cuda, problem",
    [
        ("13.0", "580.65.06", (13, 0), None),  # R580: the oldest driver of CUDA 13
        ("13.0", "580.65.05", (13, 0), ">= 580.65.06 (R580); this node's driver is 580.65.05"),  # to the patch level
        ("13.0", "580.95.05", None, None),
        ("13.0", "575.57.08", (12, 9), ">= 580.65.06 (R580); this node's driver is 575.57.08"),
        ("13.0", "550.54.15", (12, 4), ">= 580.65.06 (R580); this node's driver is 550.54.15"),
        ("12.6", "550.54.15", (12, 4), None),  # minor-version compatibility within CUDA 12
        ("12.6", "470.256.02", (11, 4), ">= 525.60.13 (R525); this node's driver is 470.256.02"),
        ("13.0", None, (12, 8), "driver supports CUDA up to 12.8"),  # no version string: the driver's CUDA says it
        ("14.0", None, (14, 0), None),  # a CUDA newer than the table: the driver's CUDA decides
        (None, "580.65.06", (13, 0), "CPU-only build"),
    ],
)
def test_a_driver_too_old_for_torchs_cuda_is_one_sentence(torch_cuda, driver, driver_cuda, problem):
    found = driver_problem("2.14.1", torch_cuda, driver, driver_cuda)
    if problem is None:
        assert found is None
    else:
        assert problem in found and "\n" not in found
        assert torch_cuda is None or f"built for CUDA {torch_cuda}" in found


@pytest.mark.parametrize(
    "line, version",
    [
        ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 07:09:15 UTC 2025", "580.65.06"),
        (
            "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  575.57.08  Release Build  (dvs-builder@U16)",
            "575.57.08",
        ),
    ],
)
def test_the_driver_version_is_read_off_the_kernel_module(tmp_path, monkeypatch, line, version):
    (tmp_path / "version").write_text(line + "\nGCC version:  gcc version 12.2.0\n")
    monkeypatch.setattr(pf, "PROC_VERSION", tmp_path / "version")
    assert pf.driver_version() == version


# ------------------------------------------------------------------ the check, on a mocked GPU node
@pytest.fixture
def gpu_node(monkeypatch, tmp_path):
    """A Slurm job with one GPU of a CUDA 13.0 torch on driver 580.95.05, as torch.cuda would report it; the
    tiny GPU operation recorded instead of run."""
    monkeypatch.setenv("SLURM_JOB_ID", "1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    monkeypatch.setenv("TRANSFERLAB_GPU_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(pf, "driver_version", lambda: "580.95.05")
    monkeypatch.setattr(pf, "driver_cuda_version", lambda: (13, 0))
    for name, fn in {
        "is_available": lambda: True,
        "device_count": lambda: 1,
        "set_device": lambda d: None,
        "get_device_name": lambda d=None: "NVIDIA H100",
        "get_device_capability": lambda d=None: (9, 0),
        "get_device_properties": lambda i: types.SimpleNamespace(uuid="GPU-1234"),
    }.items():
        monkeypatch.setattr(torch.cuda, name, fn)
    ops = []
    monkeypatch.setattr(pf, "tiny_op", ops.append)
    return types.SimpleNamespace(ops=ops, out=tmp_path / "preflight.json", log=io.StringIO())


def test_a_working_node_passes_and_records_what_it_found(gpu_node):
    tried = []
    info = pf.preflight(
        out=gpu_node.out,
        device="cuda",
        compile_requested=True,
        log=gpu_node.log,
        probe=lambda dev: tried.append(dev) or (True, None),
    )
    assert gpu_node.ops == ["cuda:0"] and tried == ["cuda:0"]  # on the job's own GPU
    on_disk = json.loads(gpu_node.out.read_text())
    assert on_disk == info and on_disk["compile_ok"] is True and on_disk["driver"] == "580.95.05"
    assert (on_disk["torch_cuda"], on_disk["driver_min"], on_disk["device_name"]) == (
        "13.0",
        "580.65.06",
        "NVIDIA H100",
    )
    assert "eager" not in gpu_node.log.getvalue()


def test_without_compile_the_probe_is_not_run(gpu_node):
    info = pf.preflight(
        out=gpu_node.out,
        compile_requested=False,
        log=gpu_node.log,
        probe=lambda dev: pytest.fail("compile probed although train.compile is false"),
    )
    assert info["compile_ok"] is None and info["compile_requested"] is False


def test_a_failed_compile_falls_back_to_eager_with_one_line(gpu_node):
    info = pf.preflight(
        out=gpu_node.out,
        compile_requested=True,
        log=gpu_node.log,
        probe=lambda dev: (False, "BackendCompilerFailed: InvalidCxxCompiler: No working C++ compiler found"),
    )
    assert info["compile_ok"] is False and "No working C++ compiler" in info["compile_error"]
    eager = [line for line in gpu_node.log.getvalue().splitlines() if "eager" in line]
    assert len(eager) == 1 and "training will run eager" in eager[0] and "No working C++ compiler" in eager[0]
    assert json.loads(gpu_node.out.read_text())["compile_ok"] is False


def test_a_driver_too_old_stops_the_run_before_any_gpu_work(gpu_node, monkeypatch):
    monkeypatch.setattr(pf, "driver_version", lambda: "575.57.08")
    monkeypatch.setattr(pf, "driver_cuda_version", lambda: (12, 9))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # what torch says on such a driver
    with pytest.raises(
        PreflightError,
        match=r"CUDA 13\.0, which needs NVIDIA driver >= 580\.65\.06 \(R580\); "
        r"this node's driver is 575\.57\.08",
    ):
        pf.preflight(out=gpu_node.out, log=gpu_node.log)
    assert gpu_node.ops == [] and not gpu_node.out.exists()


def test_unusable_cuda_stops_the_run_saying_what_was_seen(gpu_node, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(
        PreflightError,
        match=r"torch\.cuda\.is_available\(\) is False .*driver 580\.95\.05, "
        r"CUDA_VISIBLE_DEVICES=2\); expected a GPU node",
    ):
        pf.preflight(out=gpu_node.out, log=gpu_node.log)
    assert not gpu_node.out.exists()


def test_a_failing_gpu_operation_stops_the_run():
    """tiny_op on a device whose results cannot come back ("meta" stands in for a GPU without kernels)."""
    pf.tiny_op("cpu")  # the CPU agrees with itself
    with pytest.raises(PreflightError, match=r"a tiny CUDA operation failed on meta.*NotImplementedError"):
        pf.tiny_op("meta")


def test_the_compile_probe_reports_a_failure_in_one_line(monkeypatch):
    def broken(model, *a, **kw):
        raise RuntimeError("Compiler: cc is not found.\nSet the CC environment variable")

    monkeypatch.setattr(torch, "compile", broken)
    assert pf.compile_probe("cpu") == (False, "RuntimeError: Compiler: cc is not found.")
    monkeypatch.setattr(torch, "compile", lambda model, *a, **kw: model)
    assert pf.compile_probe("cpu") == (True, None)
    monkeypatch.setattr(torch, "compile", lambda model, *a, **kw: lambda x: model(x) + 1)  # compiles, computes wrong
    assert pf.compile_probe("cpu")[0] is False


# ------------------------------------------------------------------ what the trainer is told
def test_the_trainer_compiles_unless_the_preflight_check_says_it_cannot(tmp_path):
    report = tmp_path / "preflight.json"
    log = io.StringIO()
    assert compile_allowed(None, False, log) is False and compile_allowed([], False, log) is False
    assert compile_allowed(None, True, log) is True and compile_allowed([], True, log) is True  # a CPU run: no check
    report.write_text(json.dumps({"host": "gpu07", "compile_ok": True}))
    assert compile_allowed(str(report), True, log) is True and compile_allowed([report], True, log) is True
    report.write_text(json.dumps({"host": "gpu07", "compile_ok": None}))  # compile was not probed
    assert compile_allowed(report, True, log) is True
    assert log.getvalue() == ""
    report.write_text(json.dumps({"host": "gpu07", "compile_ok": False, "compile_error": "InvalidCxxCompiler"}))
    assert compile_allowed(report, False, log) is False and log.getvalue() == ""
    assert compile_allowed(report, True, log) is False
    assert log.getvalue().count("\n") == 1 and "gpu07 (InvalidCxxCompiler): training runs eager" in log.getvalue()
    with pytest.raises(PreflightError, match=r"preflight report .*missing\.json is missing; expected the check_cuda"):
        compile_allowed(tmp_path / "missing.json", True, log)


def test_the_trainer_runs_eager_when_the_preflight_says_compile_failed(prepared, monkeypatch, tmp_path):
    """train.compile true and a preflight report with compile_ok false: train_network never calls
    torch.compile, says so in one line, and the run's fingerprint (resume) is the one of compile true."""
    import io
    import json

    import torch
    from conftest import SMALL_ARCH, SMALL_TRAIN

    from transferlab.training.train import train_network

    def no_compile(*a, **k):
        raise AssertionError("torch.compile was called although the preflight said it fails")

    monkeypatch.setattr(torch, "compile", no_compile)
    report = tmp_path / "preflight.json"
    report.write_text(json.dumps({"compile_ok": False, "compile_error": "no C compiler", "host": "node7"}))
    log = io.StringIO()
    meta = train_network(
        net="baseA",
        prepared_dir=str(prepared / "prepared"),
        half_file=str(prepared / "A.npz"),
        out_weights=str(tmp_path / "w.pt"),
        out_meta=str(tmp_path / "m.json"),
        state_dir=str(tmp_path / "st"),
        arch=SMALL_ARCH,
        train_cfg=dict(SMALL_TRAIN, compile=True),
        seed=3,
        preflight=str(report),
        log=log,
    )
    assert meta["train"]["compile"] is True
    assert sum("training runs eager" in line for line in log.getvalue().splitlines()) == 1
