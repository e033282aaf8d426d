"""A committed snapshot of a real run, and the README section generated from it.

``take`` copies a run's small outputs (tables, scorecard, Figure 2/3 images) into a folder such
as ``docs/default-run/`` with the code revision, command and wall time; ``render`` turns that
folder into the README's results section; ``readme`` writes it between the markers
``<!-- default-run:begin -->`` and ``<!-- default-run:end -->`` (``--check`` fails when the README
differs, which the tests run), so no number in that section is typed by hand.

    python -m transferlab.snapshot take results/tiny-imagenet docs/default-run --wall-seconds 2700 \\
        --command "make run"
    python -m transferlab.snapshot readme [--check]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .pairing import base_level, paired, paired_means

BEGIN, END = "<!-- default-run:begin -->", "<!-- default-run:end -->"
FILES = ["evaluation.parquet", "predictions.parquet", "curves.parquet", "claims.csv", "claims.md",
         "config_used.yaml", "tables/table1.csv", "tables/table1.md", "tables/convergence.csv",
         "tables/convergence.md", "tables/filters.csv", "figures/fig2.png", "figures/fig3.png",
         "figures/reference.png", "figures/filters.png"]
LABELS = {"selffer": "BnB", "selffer_ft": "BnB+", "transfer": "AnB", "transfer_ft": "AnB+"}


def take(results: Path, out: Path, wall_seconds: float, command: str) -> dict:
    results, out = Path(results), Path(out)
    missing = [f for f in FILES if not (results / f).exists()]
    if missing:
        raise FileNotFoundError(f"{results} lacks {missing}: run the workflow to the end first")
    out.mkdir(parents=True, exist_ok=True)
    for f in FILES:
        shutil.copyfile(results / f, out / Path(f).name)
    ev = pd.read_parquet(results / "evaluation.parquet")
    revs = sorted(set(ev.code_revision))
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    run = {"command": command, "wall_seconds": round(float(wall_seconds), 1), "code_revisions": revs,
           "networks": int(len(ev)), "train_hours": round(float(ev.train_seconds.sum()) / 3600, 2),
           "date": time.strftime("%Y-%m-%d", time.gmtime((results / "evaluation.parquet").stat().st_mtime)),
           "machine": f"{os.cpu_count()} cores, {cpu}"}
    (out / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    return run


def _pt(x, sign=True):
    return "" if not np.isfinite(x) else (f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}")


def fig2_table(ev: pd.DataFrame) -> str:
    pm = paired_means(ev)
    level = base_level(ev)
    targets = sorted(set(ev[(ev.experiment == "random_split") & (ev.treatment != "base")].target_task))
    lines = ["| n | " + " | ".join(LABELS.values()) + " |", "|---|" + "---|" * len(LABELS)]
    lines.append(f"| 0 (base) | {_pt(level, False)} % | | | |")
    for n in sorted(pm.n.unique()):
        cells = []
        for t in LABELS:
            r = pm[(pm.treatment == t) & (pm.n == n)]
            cells.append(f"{_pt(r.level.iloc[0], False)} ({_pt(r.delta.iloc[0])})" if len(r) else "")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    units = int(pm.units.max()) if len(pm) else 0
    return ("\n".join(lines) + f"\n\nEach cell: base + mean paired difference, top-1 % (the paired difference in "
            f"points in brackets): every network minus the base of its own split, replicate and target half, "
            f"averaged over {units} training units; n = 0 is the mean of base{'/base'.join(targets)}, the "
            "bases of the targets present.\n")


def fig3_lines(ev: pd.DataFrame) -> str:
    out = []
    for exp, label in (("natman", "natural/man-made"), ("random_weights", "random weights (Caffe gaussian)")):
        d = ev[ev.experiment == exp]
        if d.empty or (d.treatment == "base").all():
            continue
        p = paired(d)
        p = p[p.treatment.isin(["transfer", "random"])]
        for tgt, g in p.groupby("target_task"):
            m = g.groupby("n").delta.mean()
            bases = d[(d.treatment == "base") & (d.target_task == tgt)].top1
            out.append(f"- {label}, target {tgt} (base {_pt(bases.mean(), False)} %, {len(bases)} unit(s)): "
                       + ", ".join(f"n={n} {_pt(v)}" for n, v in m.items()) + " pt against own base")
    ds = ev[ev.experiment.isin(["dataset_size", "random_weights"]) & (ev.treatment == "base")]
    if (ev.experiment == "dataset_size").any():
        g = ds.groupby("train_per_class").top1.mean()
        out.append("- dataset size (all classes, same iterations for every size): "
                   + ", ".join(f"{k} img/class {_pt(v, False)} %" for k, v in g.items()))
    return "\n".join(out) + "\n"


def render(snap: Path, rel: str = "docs/default-run") -> str:
    snap = Path(snap)
    run = json.loads((snap / "run.json").read_text())
    ev = pd.read_parquet(snap / "evaluation.parquet")
    filters = pd.read_csv(snap / "filters.csv")
    revs = ", ".join(r[:7] for r in run["code_revisions"])
    parts = [
        BEGIN,
        "<!-- generated by `python -m transferlab.snapshot readme` from docs/default-run/; do not edit by hand -->",
        "",
        f"`{run['command']}` on this {run['machine']} ({run['date']}, code of {revs}): "
        f"**{run['wall_seconds'] / 60:.1f} min wall time**, {run['networks']} networks, "
        f"{run['train_hours']} h of training in all. The snapshot of its outputs is `{rel}/`.",
        "",
        f"![Figure 2 of the default run]({rel}/fig2.png)",
        "",
        "Figure 2, paired means (validation top-1):",
        "",
        fig2_table(ev),
        "Figure 3 and the dataset-size study, paired against each network's own base:",
        "",
        fig3_lines(ev),
        "Claims scorecard (`results/<dataset>/claims.md`):",
        "",
        (snap / "claims.md").read_text().rstrip() + "\n",
        "Table 1 (`results/<dataset>/tables/table1.md`):",
        "",
        (snap / "table1.md").read_text().rstrip() + "\n",
        "Convergence of the bases (`results/<dataset>/tables/convergence.md`):",
        "",
        (snap / "convergence.md").read_text().rstrip() + "\n",
        "conv1 filters, share of energy at low spatial frequency (≤ 0.25 cycles/px, `tables/filters.csv`): "
        + ", ".join(f"{r.network} {100 * r.lowfreq_share_mean:.0f} %" for r in filters.itertuples()) + ".",
        END,
    ]
    return "\n".join(parts) + "\n"


def update_readme(readme: Path, snap: Path, check: bool = False) -> bool:
    """Write the generated section into ``readme``; with ``check``, only report whether it differs."""
    text = Path(readme).read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} has no {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = head + render(snap).rstrip("\n") + tail
    if check:
        return new == text
    Path(readme).write_text(new)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m transferlab.snapshot", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("take", help="copy a run's small outputs into a snapshot folder")
    t.add_argument("results")
    t.add_argument("out")
    t.add_argument("--wall-seconds", type=float, required=True)
    t.add_argument("--command", default="make run")
    r = sub.add_parser("readme", help="regenerate the README's results section from the snapshot")
    r.add_argument("--readme", default="README.md")
    r.add_argument("--snapshot", default="docs/default-run")
    r.add_argument("--check", action="store_true", help="exit 1 when the README differs from the snapshot")
    a = ap.parse_args(argv)
    if a.cmd == "take":
        print(json.dumps(take(Path(a.results), Path(a.out), a.wall_seconds, a.command), indent=1))
        return 0
    same = update_readme(Path(a.readme), Path(a.snapshot), check=a.check)
    if a.check and not same:
        print(f"{a.readme} differs from what {a.snapshot} generates: run python -m transferlab.snapshot readme",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
