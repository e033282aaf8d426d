"""Where a running study stands, from its per-job logs: networks done, running (with time left) and waiting,
and the estimated end of the whole run.

    python -m transferlab.run.status                       # the default config's results
    python -m transferlab.run.status -- --configfile config/paper.yaml --config imagenet_root=...
The detail: docs/library.md, `transferlab/run/status.py`."""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+) epoch (\S+)/(\d+) step (\d+)/(\d+) .* left (\d+):(\d\d):(\d\d)$"
)
RECENT_S = 600  # a log that has not moved for longer than this is not counted as running


@dataclass
class Net:
    name: str  # <split>/r<rep>/<net>
    state: str  # done / running / stalled
    step: int = 0
    total: int = 0
    left_s: float = 0.0
    train_s: float = 0.0
    age_s: float = 0.0


def _kind(name: str) -> str:
    return "base" if name.rsplit("/", 1)[-1].startswith("base") else "derived"


def scan(results: Path, now: float | None = None) -> list[Net]:
    """Every network with a training log or a finished train.json under ``results``."""
    now = time.time() if now is None else now
    results = Path(results)
    nets = {}
    for meta in (results / "nets").glob("*/r*/*/train.json"):
        name = "/".join(meta.parent.parts[-3:])
        try:
            m = json.loads(meta.read_text())
        except ValueError:
            continue
        nets[name] = Net(name, "done", m.get("steps", 0), m.get("steps", 0), 0.0, float(m.get("train_seconds", 0.0)))
    for log in (results / "logs" / "train").glob("*/r*/*.log"):
        name = "/".join([*log.parts[-3:-1], log.stem])
        meta = results / "nets" / name / "train.json"
        if meta.exists() and log.stat().st_mtime <= meta.stat().st_mtime + 5:  # its last lines: the finish
            continue
        last = None
        for line in log.read_text(errors="replace").splitlines():
            if m := LINE.match(line):
                last = m
        age = now - log.stat().st_mtime
        if last is None:
            nets[name] = Net(name, "running" if age < RECENT_S else "stalled", age_s=age)
            continue
        h, mi, s = (int(last.group(i)) for i in (7, 8, 9))
        nets[name] = Net(
            name,
            "running" if age < RECENT_S else "stalled",
            int(last.group(5)),
            int(last.group(6)),
            max(0.0, h * 3600 + mi * 60 + s - age),
            age_s=age,
        )
    return sorted(nets.values(), key=lambda n: n.name)


def planned(snakemake_args: list[str], cwd: Path) -> list[str] | None:
    """The networks the workflow still plans to train (a dry run with the run's arguments), or None."""
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--nolock", *snakemake_args], cwd=cwd, capture_output=True, text=True
    )
    if r.returncode != 0:
        return None
    out, nets, rule = r.stdout + r.stderr, [], None
    for line in out.splitlines():
        if m := re.fullmatch(r"\s*(?:local)?rule (\w+):", line):
            rule = m.group(1)
        elif rule in ("train_base", "train_derived") and (
            m := re.search(r"output: .*?/nets/([^,]+)/weights\.pt", line)
        ):
            nets.append(m.group(1))
            rule = None
    return nets


def summary(nets: list[Net], waiting: list[str] | None, now: float | None = None) -> str:
    now = time.time() if now is None else now
    again = set(waiting or [])  # finished once, but planned again (a changed setting reruns it)
    done = [n for n in nets if n.state == "done" and n.name not in again]
    running = [n for n in nets if n.state == "running"]
    stalled = [n for n in nets if n.state == "stalled"]
    busy = {n.name for n in running + stalled}
    wait = [w for w in (waiting or []) if w not in busy]
    lines = [
        f"done {len(done)}, running {len(running)}"
        + (f", stalled {len(stalled)}" if stalled else "")
        + (f", waiting {len(wait)}" if waiting is not None else ", waiting: unknown (the dry run failed)")
    ]
    for n in running:
        where = f"step {n.step}/{n.total}, about {_hms(n.left_s)} left" if n.total else "starting"
        lines.append(f"  running  {n.name}: {where}")
    for n in stalled:
        lines.append(f"  stalled  {n.name}: its log has not moved for {_hms(n.age_s)} (killed? rerun resumes it)")
    finished = [n for n in nets if n.state == "done"]
    typical = {
        k: statistics.median([n.train_s for n in finished if _kind(n.name) == k] or [float("nan")])
        for k in ("base", "derived")
    }
    if waiting is not None:
        parts = [typical[_kind(w)] for w in wait]
        if any(p != p for p in parts):  # a kind with no finished network yet
            lines.append("estimated end: unknown until a network of each waiting kind has finished")
        else:
            slots = max(1, len(running))
            left = (sum(n.left_s for n in running) + sum(parts)) / slots
            lines.append(
                f"estimated end: {time.strftime('%Y-%m-%d %H:%M', time.localtime(now + left))} "
                f"(in {_hms(left)}, {slots} job{'s' if slots != 1 else ''} at a time)"
            )
    return "\n".join(lines)


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(prog="python -m transferlab.run.status", description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", help="results/<dataset> (default: the one the dry run's config names)")
    ap.add_argument("--no-plan", action="store_true", help="skip the dry run (no waiting count, no end estimate)")
    a = ap.parse_args(argv)
    cwd = Path.cwd()
    waiting = None if a.no_plan else planned(extra, cwd)
    results = Path(a.results) if a.results else _results_dir(extra, cwd)
    print(summary(scan(results), waiting))
    return 0


def _results_dir(extra: list[str], cwd: Path) -> Path:
    """results/<dataset> of the config the run uses (the first results folder with networks, else the default)."""
    import yaml

    cfg = yaml.safe_load((cwd / "config/config.yaml").read_text()) if (cwd / "config/config.yaml").exists() else {}
    for i, arg in enumerate(extra):
        if arg == "--configfile" and i + 1 < len(extra):
            cfg.update(yaml.safe_load(Path(cwd, extra[i + 1]).read_text()) or {})
    ds = cfg.get("dataset", "tiny-imagenet")
    arch = (cfg.get("model") or {}).get("architecture", "caffenet")
    return cwd / "results" / (ds if arch == "caffenet" else f"{ds}-{arch}")


if __name__ == "__main__":
    sys.exit(main())
