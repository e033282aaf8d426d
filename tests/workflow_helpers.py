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
    for d in ("workflow", "config", "profiles"):
        if (REPO / d).exists():
            shutil.copytree(REPO / d, wd / d, ignore=shutil.ignore_patterns("__pycache__"))
    return wd


def snakemake(wd: Path, *args, env=None, timeout=900) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=wd, capture_output=True, text=True,
                          env=e, timeout=timeout)


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
        r = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", str(raw.relative_to(REPO))],
                           cwd=REPO, capture_output=True, text=True)
        assert r.returncode == 0, f"could not obtain Tiny ImageNet:\n{r.stderr[-2000:]}"
    return str(raw)
