"""Run Snakemake on a copy of the workflow in a temporary folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def workdir(tmp: Path) -> Path:
    wd = tmp / "wf"
    wd.mkdir(parents=True)
    shutil.copy(REPO / "Snakefile", wd / "Snakefile")
    for d in ("workflow", "envs", "config", "profiles", "slurm"):
        if (REPO / d).is_symlink():  # slurm -> profiles/slurm, for `--profile slurm`: kept a relative link
            (wd / d).symlink_to(os.readlink(REPO / d))
        elif (REPO / d).exists():
            shutil.copytree(REPO / d, wd / d, ignore=shutil.ignore_patterns("__pycache__"))
    return wd


def snakemake(wd: Path, *args, env=None, timeout=900) -> subprocess.CompletedProcess:
    assert os.environ.get("TRANSFERLAB_TEST_LANE") != "unit", "a unit test started Snakemake: mark it workflow"
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=wd, capture_output=True, text=True, env=e, timeout=timeout
    )


def benchmarks_module():
    """benchmarks/run.py as a module: the tests call its measurements (dry-run, smoke) as BENCHMARKS.md does."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks/run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def design_of(*config_files, **overrides):
    """The Design that Snakemake builds from config/config.yaml, then ``config_files`` and ``overrides`` laid over
    it in that order (as --configfile and --config do): tests derive job counts from it instead of typing them."""
    from transferlab.run.configcheck import load_config
    from transferlab.run.design import Design

    return Design(load_config(REPO, config_files, overrides))


def training_jobs(design) -> dict[str, int]:
    """How many train_base and train_derived jobs the design asks for (one per network)."""
    from transferlab.names import parse_net

    derived = sum(not parse_net(net).is_base for _, net, _ in design.networks())
    return {"train_base": len(design.networks()) - derived, "train_derived": derived}


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table Snakemake prints."""
    m = re.search(r"Job stats:\n(.*?)\n\n", output + "\n\n", re.S)
    assert m, f"no job stats in output:\n{output[-3000:]}"
    counts = {}
    for line in m.group(1).splitlines()[2:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


def dry_run_jobs(output: str) -> list[dict[str, str]]:
    """Every job a dry-run lists (group members too): its rule and its fields as printed (output, log, ...)."""
    jobs = []
    for line in output.splitlines():
        if m := re.fullmatch(r"\s*(?:local)?rule (\w+):", line):
            jobs.append({"rule": m.group(1)})
        elif jobs and (m := re.fullmatch(r"\s+(\w+): (.*)", line)):
            jobs[-1].setdefault(m.group(1), m.group(2))
    return jobs


def job_resources(job: dict[str, str]) -> dict[str, str]:
    """A dry-run job's ``resources: a=1, b=2`` line as a dict."""
    return dict(kv.split("=", 1) for kv in job.get("resources", "").split(", ") if "=" in kv)


def tiny_imagenet_path() -> str:
    """The real Tiny ImageNet for end-to-end tests: TINY_IMAGENET_PATH, else the project's own copy.

    CI points TINY_IMAGENET_PATH at the offline subset; on a laptop the workflow's download rule
    fetches the official archive into data/raw/ first.
    """
    p = os.environ.get("TINY_IMAGENET_PATH")
    if p:
        return p
    raw = REPO / "data" / "raw" / "tiny-imagenet-200.zip"
    if not raw.exists():
        r = subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", "1", str(raw.relative_to(REPO))],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, f"could not obtain Tiny ImageNet:\n{r.stderr[-2000:]}"
        os.environ["TRANSFERLAB_DOWNLOADED_TINY"] = "1"  # the tests' one write into the working tree
    return str(raw)


def ilsvrc_folder(root, train_per_class=3, val_per_class=1, size=12):
    """A generated ILSVRC2012-layout folder holding all 1000 WordNet ids (a class is a colour, so the nets have
    something to learn): what tests/data/paper-toy.yaml runs the paper preset on."""
    import numpy as np
    from PIL import Image

    wnids = (REPO / "transferlab/reference/imagenet1k_wnids.txt").read_text().split()
    assert len(wnids) == 1000
    rng = np.random.default_rng(0)
    for _i, w in enumerate(wnids):
        colour = rng.integers(0, 256, 3)  # a class is a colour, so the nets have something to learn
        for part, k in (("train", train_per_class), ("val", val_per_class)):
            d = root / part / w
            d.mkdir(parents=True)
            for j in range(k):
                px = np.clip(colour + rng.normal(0, 30, (size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(px).save(d / f"{w}_{j}.JPEG", quality=90)
    return root
