"""The linter and a workflow that parses where the project is not installed (the rest of the conventions:
tests/unit/test_conventions.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig

from conftest import make_fake_tiny
from workflow_helpers import REPO, design_of, job_counts, training_jobs, workdir


def run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


# ------------------------------------------------------------------ the linter and the formatter
def test_snakemake_lint_prints_no_warning(tmp_path):
    # on a copy of the workflow: Snakemake writes .snakemake/ where it runs, never in the working tree
    r = run(sys.executable, "-m", "snakemake", "--lint", cwd=workdir(tmp_path))
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Lints for" not in out, out[-5000:]


PARSE = """
import sys
site, argv = sys.argv[1], sys.argv[2:]
sys.path = [p for p in sys.path if p not in ("", ".")] + [site]  # third-party packages, not the working directory
try:
    import transferlab
    raise SystemExit("transferlab importable without the repository on sys.path: the test proves nothing")
except ImportError:
    pass
from snakemake.cli import main
sys.argv = ["snakemake", *argv]
main()
"""


def test_workflow_parses_where_the_project_is_not_installed(tmp_path):
    """Snakemake installed without the project (as beside conda envs): the Snakefile imports transferlab
    from its own folder (Snakemake puts the Snakefile's folder on sys.path)."""
    wd = workdir(tmp_path)
    shutil.copytree(REPO / "transferlab", wd / "transferlab", ignore=shutil.ignore_patterns("__pycache__"))
    z = make_fake_tiny(tmp_path / "tiny.zip")
    site = sysconfig.get_paths()["purelib"]
    r = run(sys.executable, "-S", "-c", PARSE, site, "-n", "--config", f"tiny_imagenet_path={z}", cwd=wd)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert job_counts(r.stdout + r.stderr)["train_derived"] == training_jobs(design_of())["train_derived"]
