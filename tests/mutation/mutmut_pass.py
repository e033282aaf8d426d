"""The broad mutation pass: mutmut on the modules whose bugs would change the study's verdict.

    .venv/bin/python tests/mutation/mutmut_pass.py [--modules claims transfer ...] [--max-children N]

Runs in a temporary copy of the tracked files (mutmut writes its `mutants/` folder where it runs; the working
tree is never touched), with the unit tests of each module as the test selection, then prints the score and
every surviving mutant's diff. `tests/mutation/targeted.py` plants the named bugs one by one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targeted import tracked_copy  # noqa: E402

# module -> the unit tests that exercise it
MODULES = {
    "claims": ["tests/unit/test_claims.py"],
    "pairing": ["tests/unit/test_claims.py", "tests/unit/test_tables.py"],
    "transfer": ["tests/unit/test_transfer.py", "tests/unit/test_design.py"],
    "splits": ["tests/unit/test_splits.py", "tests/unit/test_paper_splits.py", "tests/unit/test_natman.py"],
    "tables": ["tests/unit/test_tables.py"],
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modules", nargs="*", default=list(MODULES))
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--keep", help="copy the mutmut folder here (to inspect mutants)")
    a = ap.parse_args()
    total = {"killed": 0, "survived": 0, "other": 0}
    report = []
    for mod in a.modules:
        with tempfile.TemporaryDirectory(prefix=f"mutmut-{mod}-") as d:
            d = Path(d)
            tracked_copy(d)
            tests = [t for t in MODULES[mod] if (d / t).exists()]  # (an older checkout may lack some)
            with open(d / "pyproject.toml", "a") as f:
                f.write(
                    "\n[tool.mutmut]\n"
                    'source_paths = ["transferlab"]\n'
                    f'only_mutate = ["transferlab/{mod}.py"]\n'
                    'also_copy = ["tests", "workflow", "config"]\n'
                    'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
                    f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
                )
            env = dict(os.environ, PYTHONPATH=str(d))
            run = subprocess.run(
                [sys.executable, "-m", "mutmut", "run", "--max-children", str(a.max_children)],
                cwd=d,
                env=env,
                capture_output=True,
                text=True,
            )
            res = subprocess.run(
                [sys.executable, "-m", "mutmut", "results", "--all", "true"],
                cwd=d,
                env=env,
                capture_output=True,
                text=True,
            )
            counts = {"killed": 0, "survived": 0, "other": 0}
            survivors = []
            for line in res.stdout.splitlines():
                m = re.match(r"\s*(\S+): (\w[\w ]*)$", line)
                if not m:
                    continue
                state = m.group(2).strip()
                key = "killed" if state == "killed" else "survived" if state == "survived" else "other"
                if state == "no tests":  # code no selected test reaches (e.g. the WordNet download)
                    key = "other"
                counts[key] += 1
                if key == "survived":
                    survivors.append(m.group(1))
            if run.returncode and not sum(counts.values()):
                print(run.stdout[-3000:], run.stderr[-3000:])
                return 2
            for k in total:
                total[k] += counts[k]
            n = counts["killed"] + counts["survived"]
            print(
                f"{mod}: {counts['killed']}/{n} killed ({100 * counts['killed'] / max(n, 1):.0f} %), "
                f"{counts['other']} other (timeout/suspicious/no tests)",
                flush=True,
            )
            for s in survivors:
                diff = subprocess.run(
                    [sys.executable, "-m", "mutmut", "show", s], cwd=d, env=env, capture_output=True, text=True
                ).stdout
                changed = [
                    ln for ln in diff.splitlines() if ln.startswith(("+", "-")) and not ln.startswith(("+++", "---"))
                ]
                report.append(f"{s}: " + " | ".join(changed[:2]))
                print(f"  survived {report[-1]}", flush=True)
            if a.keep:
                subprocess.run(["cp", "-r", str(d / "mutants"), str(Path(a.keep) / mod)], check=False)
    n = total["killed"] + total["survived"]
    print(f"all: {total['killed']}/{n} killed ({100 * total['killed'] / max(n, 1):.0f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
