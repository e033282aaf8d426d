"""A committed snapshot of a real run, and the README section generated from it.

The detail: docs/library.md, `transferlab/run/snapshot.py`."""

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
import yaml

from transferlab.analysis.claims import CAFFENET_RANGES, CLAIMS, UNIT_WORD, quotes_markdown
from transferlab.analysis.pairing import base_level, paired_means, units
from transferlab.errors import RunExists
from transferlab.names import TREATMENT_LABELS
from transferlab.report import markdown_table, pt

BEGIN, END = "<!-- default-run:begin -->", "<!-- default-run:end -->"
CLAIMS_BEGIN, CLAIMS_END = "<!-- claims:begin -->", "<!-- claims:end -->"
FILES = [
    "evaluation.parquet",
    "predictions.parquet",
    "curves.parquet",
    "claims.csv",
    "claims.md",
    "config_used.yaml",
    "tables/table1.csv",
    "tables/table1.md",
    "tables/convergence.csv",
    "tables/convergence.md",
    "tables/filters.csv",
    "figures/fig2.png",
    "figures/fig3.png",
    "figures/reference.png",
    "figures/filters.png",
]
# what a snapshot may lack: a run without CKA, without the scorecard figure, or (conv1, weight change) taken
# before `snakemake figures` and --report needed them
OPTIONAL = [
    "cka.parquet",
    "tables/cka.csv",
    "figures/cka.png",
    "figures/claims.png",
    "conv1.parquet",
    "tables/weight_change.csv",
]
RESNET_BEGIN, RESNET_END = "<!-- resnet-run:begin -->", "<!-- resnet-run:end -->"
LABELS = {t: label for t, label in TREATMENT_LABELS.items() if t != "base"}


def restore(snap: Path, results: Path, force: bool = False) -> list[str]:
    """Put a snapshot's tables and figures back where a run writes them (``results/<dataset>``), so that
    ``snakemake figures`` and ``snakemake --report`` work from them without training anything.  A folder that
    already holds a run's tables or figures is refused unless ``force``; with it, the earlier tables and every
    earlier figure go first, so that nothing of that run is left beside the snapshot's."""
    snap, results = Path(snap), Path(results)
    if not (snap / "evaluation.parquet").exists():
        raise FileNotFoundError(f"{snap} is not a snapshot: it has no evaluation.parquet")
    held = [f for f in FILES + OPTIONAL if (results / f).exists()]
    figures = (
        sorted(p for p in (results / "figures").glob("*") if p.is_file()) if (results / "figures").is_dir() else []
    )
    held += [str(p.relative_to(results)) for p in figures if str(p.relative_to(results)) not in held]
    if held and not force:
        raise RunExists(
            f"{results} already holds a run's results ({', '.join(held[:3])}{', ...' if len(held) > 3 else ''}): "
            "restore into another folder, or give --force to replace them"
        )
    for f in held:
        (results / f).unlink()
    placed = []
    for f in FILES + OPTIONAL:
        src = snap / Path(f).name
        if src.exists():
            (results / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, results / f)
            placed.append(f)
    return placed


def take(results: Path, out: Path, wall_seconds: float, command: str) -> dict:
    results, out = Path(results), Path(out)
    missing = [f for f in FILES if not (results / f).exists()]
    if missing:
        raise FileNotFoundError(f"{results} lacks {missing}: run the workflow to the end first")
    out.mkdir(parents=True, exist_ok=True)
    for f in FILES + [f for f in OPTIONAL if (results / f).exists()]:
        shutil.copyfile(results / f, out / Path(f).name)
    ev = pd.read_parquet(results / "evaluation.parquet")
    revs = sorted(set(ev.code_revision))
    cpu = (
        next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    from transferlab.io import code_revision, uncommitted_changes

    revision = code_revision()
    run = {
        "command": command,
        "wall_seconds": round(float(wall_seconds), 1),
        "code_revisions": revs,
        "snapshot_revision": revision,
        # a '-dirty' revision says why it is not clean: these tracked files differed from the commit
        **({"snapshot_uncommitted": uncommitted_changes()} if revision.endswith("-dirty") else {}),
        "networks": int(len(ev)),
        "train_hours": round(float(ev.train_seconds.sum()) / 3600, 2),
        "date": time.strftime("%Y-%m-%d", time.gmtime((results / "evaluation.parquet").stat().st_mtime)),
        "machine": f"{os.cpu_count()} cores, {cpu}",
    }
    (out / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    return run


def rescore(snap: Path, n_boot: int = 200) -> None:
    """Recompute a snapshot's scorecard (with its figure), Table 1, convergence table and reference panel from
    its own parquet tables with this code (the analysis changed, the networks did not)."""
    from transferlab.analysis.claims import write_claims
    from transferlab.analysis.tables import write_convergence, write_table1

    snap = Path(snap)
    ev = pd.read_parquet(snap / "evaluation.parquet")
    card = write_claims(
        ev, pd.read_parquet(snap / "predictions.parquet"), snap / "claims.csv", snap / "claims.md", n_boot
    )
    from transferlab.analysis.claims import unit_table
    from transferlab.analysis.plots import claims_figure

    claims_figure(card, unit_table(ev), snap / "claims.png")
    if (ev.experiment == "random_split").any():
        from transferlab.analysis.paper import as_results
        from transferlab.analysis.plots import fig_reference

        fig_reference(ev, as_results(), snap / "reference.png")
    if (ev.treatment == "transfer_ft").any():
        write_table1(ev, snap / "table1.csv", snap / "table1.md")
    redraw_figures(snap, ev)
    write_convergence(pd.read_parquet(snap / "curves.parquet"), ev, snap / "convergence.csv", snap / "convergence.md")


ARCH_NAMES = {"caffenet": "CaffeNet", "resnet": "ResNet"}


def redraw_figures(snap: Path, ev: pd.DataFrame) -> None:
    """Figures 2 and 3 and the CKA figure of a snapshot, from its tables, titled as the workflow titles them."""
    from transferlab.analysis.claims import transfer_deltas
    from transferlab.analysis.plots import cka_figure, fig2, fig3

    cfg = yaml.safe_load((snap / "config_used.yaml").read_text()) if (snap / "config_used.yaml").exists() else {}
    arch = cfg.get("model", {}).get("architecture", "caffenet")
    title = f"{cfg.get('dataset', ev.dataset.iloc[0])} · {ARCH_NAMES.get(arch, arch)}"
    if (ev.experiment == "random_split").any():
        fig2(ev, snap / "fig2.png", None, f"{title}: random A/B splits")
    if ev.experiment.isin(["natman", "random_weights", "custom_split"]).any():
        fig3(ev, snap / "fig3.png", None, f"{title}: dissimilar tasks and random weights")
    if (snap / "cka.parquet").exists():
        cka_figure(
            pd.read_parquet(snap / "cka.parquet"),
            transfer_deltas(ev),
            snap / "cka.png",
            None,
            f"{title}: CKA and transferability",
        )


def _pt(x, sign=True):
    return pt(x, sign, missing="")


def fig2_table(ev: pd.DataFrame) -> str:
    pm = paired_means(ev)
    level = base_level(ev)
    targets = sorted(set(ev[(ev.experiment == "random_split") & (ev.treatment != "base")].target_task))
    rows = [["0 (base)", f"{_pt(level, False)} %"] + [""] * (len(LABELS) - 1)]
    for n in sorted(pm.n.unique()):
        cells = []
        for t in LABELS:
            r = pm[(pm.treatment == t) & (pm.n == n)]
            cells.append(f"{_pt(r.level.iloc[0], False)} ({_pt(r.delta.iloc[0])})" if len(r) else "")
        rows.append([str(n)] + cells)
    units = int(pm.units.max()) if len(pm) else 0
    return (
        markdown_table(rows, ["n", *LABELS.values()])
        + f"\nEach cell: base + mean paired difference, top-1 % (the paired difference in "
        f"points in brackets): every network minus the base of its own split, replicate and target half, "
        f"averaged over {units} training units; n = 0 is the mean of base{'/base'.join(targets)}, the "
        "bases of the targets present.\n"
    )


def fig3_lines(ev: pd.DataFrame) -> str:
    from transferlab.analysis.plots import dataset_size_frame, fig3_frames

    fr, out = fig3_frames(ev), []
    for exp, label in (("natman", "natural/man-made"), ("random_weights", "random weights (frozen at initialisation)")):
        if exp not in fr:
            continue
        g = fr[exp].assign(target_task=fr[exp].get("target_task", "all"))
        n_units = len(units(ev, exp))
        for tgt, t in g.groupby("target_task"):
            out.append(
                f"- {label}, target {tgt} (base {_pt(t.base.mean(), False)} %; {n_units} units in the "
                "experiment): " + ", ".join(f"n={r.n} {_pt(r.delta)}" for r in t.itertuples()) + " pt against own base"
            )
    if (ev.experiment == "dataset_size").any():
        g = dataset_size_frame(ev)
        out.append(
            "- dataset size (all classes, same iterations for every size): "
            + ", ".join(f"{r.train_per_class} img/class {_pt(r.top1, False)} %" for r in g.itertuples())
        )
    return "\n".join(out) + "\n"


def paper_preset_mdes(config: Path = Path("config/paper.yaml")) -> dict:
    """MDE of claims 2, 3, 5 for the paper preset, with the paper's training noise (SD of its 8 bases'
    final top-1) as each network's noise: splits are the units of the interval, directions averaged."""
    import yaml

    from transferlab.analysis.paper import base_sd
    from transferlab.analysis.stats import mde_for

    rs = yaml.safe_load(Path(config).read_text())["experiments"]["random_split"]
    splits, directions = len(rs["seeds"]), 2 if rs.get("both_directions") else 1
    sd = base_sd()
    # each claim's unit value as a combination of networks, read at CaffeNet's n (the paper preset's)
    variance = {c.key: c.unit_variance(CAFFENET_RANGES) for c in CLAIMS if c.unit_variance is not None}
    return {k: mde_for(sd * np.sqrt(v / directions), splits) for k, v in variance.items()}, splits, sd


def power_lines(ev: pd.DataFrame, claims: pd.DataFrame) -> str:
    """What the run can detect (its MDEs against the paper's own statistics) and what the paper preset can."""
    from transferlab.analysis.paper import scorecard as paper_scorecard

    out = []
    c = claims.set_index("claim")
    rows = [(i, r) for i, r in enumerate(c.drop(index="restart_gain", errors="ignore").itertuples(), 1)]
    mdes = ", ".join(
        f"{i} {pt(r.mde, False)}{' %' if scale_of(r) == 'rel' else ''}" for i, r in rows if np.isfinite(r.mde)
    )
    out.append(
        f"- Minimum detectable effect (80 % power, 5 % two-sided t test on this run's units) per claim, in "
        f"points (%: of the own base): {mdes or 'none (fewer than two units)'}."
    )
    paper = paper_scorecard().set_index("claim")
    for key in (claim.key for claim in CLAIMS if claim.judged_against_paper):
        if key in c.index and np.isfinite(c.loc[key, "mde"]):
            m, size = c.loc[key, "mde"], paper.loc[key, "value"]
            ok = abs(size) >= m
            out.append(
                f"- Claim {list(c.drop(index='restart_gain', errors='ignore').index).index(key) + 1}'s statistic "
                f"on the paper's released networks is {100 * size:+.2f} pt, {'above' if ok else 'below'} this "
                f"run's MDE of {100 * m:.1f} pt: an effect of the paper's size is "
                f"{'within' if ok else 'beyond'} what this run can resolve."
            )
    mde, splits, sd = paper_preset_mdes()
    out.append(
        f"- The paper preset (`config/paper.yaml`, {splits} splits in both directions), with the paper's "
        f"training noise (SD of its 8 bases' final top-1, {100 * sd:.2f} pt) per network: MDE "
        + ", ".join(f"claim {i} {100 * mde[claim.key]:.2f} pt" for i, claim in enumerate(CLAIMS, 1) if claim.key in mde)
        + " (the splits are the units of its intervals)."
    )
    out.append(
        "- A rerun, here or on another machine, is another draw of training noise: the same seeds give "
        "bit-identical networks only on the same machine and software. What a rerun reproduces is the "
        "verdicts, within the intervals above, not the digits."
    )
    return "\n".join(out) + "\n"


def render(snap: Path, rel: str = "docs/default-run") -> str:
    snap = Path(snap)
    run = json.loads((snap / "run.json").read_text())
    ev = pd.read_parquet(snap / "evaluation.parquet")
    filters = pd.read_csv(snap / "filters.csv")
    parts = [
        BEGIN,
        "<!-- generated by `python -m transferlab.run.snapshot readme` from docs/default-run/; do not edit by hand -->",
        "",
        _run_line(run, rel),
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
        *([f"![The scorecard per unit]({rel}/claims.png)", ""] if (snap / "claims.png").exists() else []),
        "The paper's own released networks through the same scorecard (final validation top-1 of every network "
        "whose log the authors published, `transferlab/reference/yosinski2014_networks.csv`; their scorecard in "
        "`docs/paper-data/claims.md`; without per-image vectors, and with AnB+ and BnB+ on different halves, "
        "claim 5 goes through each net's own base):",
        "",
        claims_side_by_side(
            pd.read_csv(snap / "claims.csv"), paper_claims(), names=("this run", "the paper's networks")
        ),
        "What this run can and cannot detect:",
        "",
        power_lines(ev, pd.read_csv(snap / "claims.csv")),
        "Table 1 (`results/<dataset>/tables/table1.md`):",
        "",
        (snap / "table1.md").read_text().rstrip() + "\n",
        "Convergence of the bases (`results/<dataset>/tables/convergence.md`):",
        "",
        (snap / "convergence.md").read_text().rstrip() + "\n",
        "conv1 filters, share of energy at low spatial frequency (≤ 0.25 cycles/px, `tables/filters.csv`): "
        + ", ".join(f"{r.network} {100 * r.lowfreq_share_mean:.0f} %" for r in filters.itertuples())
        + ".",
    ]
    parts += ["", *cka_section(snap, rel, "the default run"), END]
    return "\n".join(parts) + "\n"


def paper_claims() -> pd.DataFrame:
    from transferlab.analysis.paper import scorecard as paper_scorecard

    return paper_scorecard()


def _run_line(run: dict, rel: str) -> str:
    revs = ", ".join(r[:7] for r in run["code_revisions"])
    return (
        f"`{run['command']}` on this machine ({run['machine']}; {run['date']}, code of {revs}): "
        f"**{run['wall_seconds'] / 60:.1f} min wall time**, {run['networks']} networks, "
        f"{run['train_hours']} h of training in all. The snapshot of its outputs is `docs/{Path(rel).name}/`."
    )


def scale_of(r) -> str:
    """A claims row's scale: "pt" (points of top-1) or "rel" (% of the own base)."""
    return getattr(r, "scale", "pt")


def _claim_cell(r) -> str:
    s = scale_of(r)
    if not np.isfinite(r.value):
        return f"**{r.verdict}**"
    ci = f" [{pt(r.ci_low)}, {pt(r.ci_high)}]" if np.isfinite(r.ci_low) else ""
    return f"{pt(r.value)}{ci}{UNIT_WORD.get(s, '')}: **{r.verdict}**"


def claims_side_by_side(base: pd.DataFrame, other: pd.DataFrame, names=("CaffeNet", "ResNet")) -> str:
    """One row per claim (row 0: the restart check): value [95 % CI] and verdict in each run (a claim one run
    lacks reads 'not measured')."""
    b, o = base.set_index("claim"), other.set_index("claim")
    keys = list(dict.fromkeys(list(b.index) + list(o.index)))
    first = 0 if "restart_gain" in keys else 1
    rows = []
    for i, key in enumerate(keys, first):
        cells = [_claim_cell(next(t.loc[[key]].itertuples())) if key in t.index else "not measured" for t in (b, o)]
        rows.append([i, (o if key in o.index else b).loc[key, "finding"], *cells])
    return markdown_table(rows, ["#", "finding", *names])


def cka_table(cka: pd.DataFrame) -> str:
    rows = [
        [
            r.unit,
            r.unit_name,
            f"{r.cka_bases:.3f}",
            f"{_pt(r.transfer_delta)} [{_pt(r.transfer_delta_lo)}, {_pt(r.transfer_delta_hi)}] pt",
            f"{r.cka_selffer_ft:.3f}",
            f"{r.cka_transfer_ft:.3f}",
        ]
        for r in cka.itertuples()
    ]
    columns = ["unit", "name", "CKA(baseA, baseB)", "AnB − base [95 % CI]", "CKA(BnB+, baseB)", "CKA(AnB+, baseA)"]
    return (
        markdown_table(rows, columns) + "\nLinear CKA (minibatch) on all validation images of the split's classes; a "
        "fine-tuned net is compared with the base it copied at its deepest copied unit (u = n), averaged over "
        "directions.\n"
    )


def cka_section(snap: Path, rel: str, run: str) -> list[str]:
    """The CKA figure and table of a snapshot, or nothing for a run from before the CKA step."""
    if not (snap / "cka.csv").exists():
        return []
    return [
        f"![CKA of {run}]({rel}/cka.png)",
        "",
        "What the layers share (`tables/cka.csv`):",
        "",
        cka_table(pd.read_csv(snap / "cka.csv")),
    ]


def time_line(ev: pd.DataFrame, snap: Path) -> str:
    """Measured training time per network: half-task nets (the random split's) and whole-set nets, with the
    threads each job had (the snapshot's config_used.yaml) and its device (the table's)."""
    half = ev[ev.experiment == "random_split"]
    whole = ev[ev.experiment == "random_weights"]
    parts = [
        f"a random-split base {half[half.treatment == 'base'].train_seconds.mean():.0f} s, a derived net "
        f"{half[half.treatment != 'base'].train_seconds.mean():.0f} s on average"
    ]
    if len(whole):
        parts.append(f"a net on all classes (random weights) {whole.train_seconds.mean():.0f} s")
    cfg = yaml.safe_load((snap / "config_used.yaml").read_text())
    setting = cfg.get("threads_per_job") or (cfg.get("used") or {}).get("threads_per_job") or 1
    threads = int(setting) if str(setting).isdigit() else 1  # auto is 1 thread per job on the CPU
    devices = ", ".join(sorted(set(ev.device.astype(str)))) if "device" in ev else "cpu"
    where = f"{threads} CPU thread{'' if threads == 1 else 's'} per job" if devices == "cpu" else f"on {devices}"
    return f"Training time per network ({where}): " + ", ".join(parts) + "."


def render_resnet(
    snap: Path, default: Path, rel: str = "docs/resnet-run", default_rel: str = "docs/default-run"
) -> str:
    """The residual run beside the default (CaffeNet) run on the same data: Figure 2, scorecard, CKA."""
    snap, default = Path(snap), Path(default)
    run = json.loads((snap / "run.json").read_text())
    ev = pd.read_parquet(snap / "evaluation.parquet")
    conf = (snap / "config_used.yaml").read_text()
    parts = [
        RESNET_BEGIN,
        "<!-- generated by `python -m transferlab.run.snapshot readme` from docs/resnet-run/ and docs/default-run/; "
        "do not edit by hand -->",
        "",
        _run_line(run, rel),
        "",
        time_line(ev, snap)
        + " The default run: "
        + time_line(pd.read_parquet(default / "evaluation.parquet"), default).split(": ", 1)[1],
        "",
        f"![Figure 2 of the residual run]({rel}/fig2.png)",
        "",
        "Figure 2 of the residual run, paired means (validation top-1):",
        "",
        fig2_table(ev),
        "The default (CaffeNet) run's Figure 2, same classes, halves and images, for comparison:",
        "",
        fig2_table(pd.read_parquet(default / "evaluation.parquet")),
        f"The scorecard of both runs (value [95 % CI], verdict; `{default_rel}/claims.md`, `{rel}/claims.md`):",
        "",
        claims_side_by_side(pd.read_csv(default / "claims.csv"), pd.read_csv(snap / "claims.csv")),
    ]
    parts += cka_section(snap, rel, "the residual run")
    parts += [
        "Convergence of the residual run's bases:",
        "",
        (snap / "convergence.md").read_text().rstrip() + "\n",
        RESNET_END,
    ]
    assert "architecture: resnet" in conf, f"{snap}/config_used.yaml is not a residual run's"
    return "\n".join(parts) + "\n"


def _replace(text: str, begin: str, end: str, body: str, where) -> str:
    if begin not in text or end not in text:
        raise ValueError(f"{where} has no {begin} ... {end} section")
    head, rest = text.split(begin, 1)
    return head + body.rstrip("\n") + rest.split(end, 1)[1]


SUMMARY_BEGIN, SUMMARY_END = "<!-- summary:begin -->", "<!-- summary:end -->"
VERDICT_WORDS = {
    "holds": "supported",
    "does not hold": "contradicted",
    "inconclusive": "inconclusive",
    "too few units": "not decidable (too few units)",
    "not run": "not run",
}


def render_summary(snap: Path, rel: str = "docs/default-run") -> str:
    """The README's short account of the default run: what ran, Figure 2, and in plain words what the
    scorecard says, with the link to the full results."""
    snap = Path(snap)
    run = json.loads((snap / "run.json").read_text())
    card = pd.read_csv(snap / "claims.csv")
    restart = card[card.claim == "restart_gain"]
    claims = card[card.claim != "restart_gain"].reset_index(drop=True)
    groups = {}
    for i, r in claims.iterrows():
        groups.setdefault(VERDICT_WORDS.get(r.verdict, r.verdict), []).append(f"{i + 1} ({r.finding})")
    scope = claims.scope.iloc[0].split(":")[0] if len(claims) else ""
    lines = [
        SUMMARY_BEGIN,
        "<!-- generated by `python -m transferlab.run.snapshot readme` from docs/default-run/; do not edit by hand -->",
        "",
        _run_line(run, rel),
        "",
        f"![Figure 2 of the default run]({rel}/fig2.png)",
        "",
        "Figure 2: each dot a network (top), and the paired means with 95 % intervals over training units "
        "(bottom); BnB copies layers from its own task's base, AnB from the other half's, + means fine-tuned.",
        "",
    ]
    if len(restart):
        r = restart.iloc[0]
        gain = (
            f"The check that comes first: retraining a base from its own weights (BnB+ at the top layer) gains "
            f"{pt(r.value)} pt [{pt(r.ci_low)}, {pt(r.ci_high)}]"
        )
        lines.append(
            gain
            + (
                ", within ±2 pt: the bases are at their plateau, so the differences below measure "
                "transfer, not a second run of training."
                if r.verdict == "holds"
                else ", not within ±2 pt: the bases were not at their plateau, and the scorecard marks the "
                "claims that assume it as confounded."
            )
        )
        lines.append("")
    words = "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items())
    lines.append(
        f"Of the paper's {len(claims)} findings, on {scope}, this run's scorecard says — {words}. "
        "Inconclusive means the 95 % interval spans the threshold: more splits would decide it "
        "(the minimum detectable effect of each row is in the scorecard). Everything else, "
        "the scorecard row by row, Table 1 and the paper's own networks through the same scorecard: "
        "[docs/results.md](docs/results.md)."
    )
    lines.append(SUMMARY_END)
    return "\n".join(lines) + "\n"


def _pages(readme: Path) -> dict:
    root = Path(readme).parent
    return {"readme": Path(readme), "results": root / "docs/results.md", "design": root / "docs/design.md"}


def update_readme(readme: Path, snap: Path, check: bool = False) -> bool:
    """Write the generated sections; with ``check``, only report whether any differs.

    The README's summary of the default run; in docs/results.md the default run's results and the residual
    run's (from the snapshots); in docs/design.md the claims' definitions with the paper's sentences (from
    :data:`transferlab.analysis.claims.CLAIMS`)."""
    pages = _pages(readme)
    old = {k: p.read_text() for k, p in pages.items()}
    new = dict(old)
    new["readme"] = _replace(new["readme"], SUMMARY_BEGIN, SUMMARY_END, render_summary(snap), pages["readme"])
    new["results"] = _replace(new["results"], BEGIN, END, render(snap, rel="default-run"), pages["results"])
    resnet = Path(snap).parent / "resnet-run"
    if (resnet / "run.json").exists():
        new["results"] = _replace(
            new["results"],
            RESNET_BEGIN,
            RESNET_END,
            render_resnet(resnet, snap, rel="resnet-run", default_rel="default-run"),
            pages["results"],
        )
    claims = (
        f"{CLAIMS_BEGIN}\n<!-- generated from transferlab/analysis/claims.py -->\n\n{quotes_markdown()}{CLAIMS_END}"
    )
    new["design"] = _replace(new["design"], CLAIMS_BEGIN, CLAIMS_END, claims, pages["design"])
    if check:
        return new == old
    for k, p in pages.items():
        if new[k] != old[k]:
            p.write_text(new[k])
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m transferlab.run.snapshot", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("take", help="copy a run's small outputs into a snapshot folder")
    t.add_argument("results")
    t.add_argument("out")
    t.add_argument("--wall-seconds", type=float, required=True)
    t.add_argument("--command", default="make run")
    rt = sub.add_parser("restore", help="put a snapshot's tables back into results/<dataset> (then: snakemake figures)")
    rt.add_argument("snapshot")
    rt.add_argument("results")
    rt.add_argument("--force", action="store_true", help="replace the tables and figures the folder already holds")
    rs = sub.add_parser("rescore", help="recompute a snapshot's scorecard and tables with this code")
    rs.add_argument("snapshot")
    rs.add_argument("--bootstrap", type=int, default=200)
    r = sub.add_parser("readme", help="regenerate the README's results section from the snapshot")
    r.add_argument("--readme", default="README.md")
    r.add_argument("--snapshot", default="docs/default-run")
    r.add_argument("--check", action="store_true", help="exit 1 when the README differs from the snapshot")
    a = ap.parse_args(argv)
    if a.cmd == "rescore":
        rescore(Path(a.snapshot), a.bootstrap)
        return 0
    if a.cmd == "restore":
        try:
            placed = restore(Path(a.snapshot), Path(a.results), force=a.force)
        except RunExists as e:
            print(f"snapshot restore: {e}", file=sys.stderr)
            return 1
        for f in placed:
            print(Path(a.results) / f)
        return 0
    if a.cmd == "take":
        print(json.dumps(take(Path(a.results), Path(a.out), a.wall_seconds, a.command), indent=1))
        return 0
    same = update_readme(Path(a.readme), Path(a.snapshot), check=a.check)
    if a.check and not same:
        print(
            f"{a.readme}, docs/results.md or docs/design.md differs from what {a.snapshot} generates: run "
            "python -m transferlab.run.snapshot readme",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
