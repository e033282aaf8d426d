"""Where a running study stands: the networks its design has (from the config, no dry run, so it works while
Snakemake holds its lock), which of them are done, running (with time left) or waiting, and the estimated end.

    python -m transferlab.run.status                       # the default config's run
    python -m transferlab.run.status -- --configfile config/paper.yaml --config imagenet_root=...
The detail: docs/library.md, `transferlab/run/status.py`."""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from transferlab.errors import TransferlabError

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


def snakemake_config_args(args: list[str]) -> tuple[list[str], dict]:
    """The ``--configfile`` files and the ``--config`` settings (parsed as Snakemake parses them) among a
    Snakemake command line's ``args``; every other argument is left alone."""
    from snakemake.cli import parse_config

    files, settings, into = [], [], None
    for arg in args:
        if arg in ("--configfile", "--configfiles"):
            into = files
        elif arg in ("--config", "-C"):
            into = settings
        elif arg.startswith("-"):
            into = None
        elif into is not None:
            into.append(arg)
    return files, parse_config(settings) if settings else {}


def planned(snakemake_args: list[str], cwd: Path):
    """The run's results folder and the networks its design trains (``<split>/r<rep>/<net>``), from the config
    that ``snakemake_args`` give in the project folder ``cwd``."""
    from transferlab.run.configcheck import load_config
    from transferlab.run.design import Design

    files, overrides = snakemake_config_args(snakemake_args)
    design = Design(load_config(cwd, files, overrides))
    return Path(cwd, design.results), [f"{split}/r{rep}/{net}" for split, net, rep in design.networks()]


def summary(nets: list[Net], planned: list[str] | None, now: float | None = None) -> str:
    """The status lines: ``planned`` is every network of the design (None: not known, counts only)."""
    now = time.time() if now is None else now
    wanted = set(planned) if planned is not None else None
    done = [n for n in nets if n.state == "done" and (wanted is None or n.name in wanted)]
    running = [n for n in nets if n.state == "running"]
    stalled = [n for n in nets if n.state == "stalled"]
    busy = {n.name for n in running + stalled} | {n.name for n in done}
    wait = [w for w in (planned or []) if w not in busy]
    lines = [
        f"done {len(done)}, running {len(running)}"
        + (f", stalled {len(stalled)}" if stalled else "")
        + (f", waiting {len(wait)}" if planned is not None else "")
        + (f" (of {len(planned)} networks)" if planned is not None else "")
    ]
    for n in running:
        where = f"step {n.step}/{n.total}, about {_hms(n.left_s)} left" if n.total else "starting"
        lines.append(f"  running  {n.name}: {where}")
    for n in stalled:
        lines.append(f"  stalled  {n.name}: its log has not moved for {_hms(n.age_s)} (killed? rerun resumes it)")
    if planned is None:
        return "\n".join(lines)
    if not wait and not running and not stalled:
        lines.append("finished: every network of the design is trained")
        return "\n".join(lines)
    finished = [n for n in nets if n.state == "done"]
    typical = {
        k: statistics.median([n.train_s for n in finished if _kind(n.name) == k] or [float("nan")])
        for k in ("base", "derived")
    }
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
    ap = argparse.ArgumentParser(
        prog="python -m transferlab.run.status",
        usage="%(prog)s [--results FOLDER] [-- <the run's snakemake arguments>]",
        description=__doc__.split("The detail:")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="After --, give the arguments the run was started with (--configfile ..., --config ...); the "
        "others (--cores, --profile, targets) are ignored. Run it from the project folder, while the run goes on "
        "or after it.",
    )
    ap.add_argument("--results", help="the run's results folder (default: the one the config names)")
    a = ap.parse_args(argv)
    cwd = Path.cwd()
    try:
        results, nets = planned(extra, cwd)
    except TransferlabError as e:
        print(f"status: {e}", file=sys.stderr)
        return 2
    results = Path(a.results) if a.results else results
    print(f"run: {results.relative_to(cwd) if results.is_relative_to(cwd) else results}")
    print(summary(scan(results), nets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
