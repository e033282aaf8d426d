"""Targeted mutations: the bugs this study can least afford, each planted in a copy of the project, and the
tests that must catch it.

    .venv/bin/python tests/mutation/targeted.py [--only NAME ...] [--out FILE]

Each mutation edits one snippet (it must occur exactly once) in a fresh copy of the tracked files (the
working tree is never touched), runs the named tests there and reports whether they failed ("killed") or
passed ("survived"). Exit code 1 if any survives. The broad, automatic pass is `make mutation` (mutmut).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str  # the bug, in words
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    Mutation(
        "pair-with-mean-of-bases",
        "every derived net compared with the mean of all bases, not its own",
        "transferlab/analysis/pairing.py",
        'd["base_top1"] = df.loc[ref[d.index].to_numpy(), top1].to_numpy()',
        'd["base_top1"] = df.loc[df.treatment == "base", top1].mean()',
        ("tests/unit/test_tables.py",),
    ),
    Mutation(
        "claims-swap-base",
        "the claims pair each net with the base of the other half",
        "transferlab/analysis/pairing.py",
        "    ref = key.map(bases)\n",
        "    ref = key.map(lambda k: bases.get(k[:-1] + {'A': 'B', 'B': 'A'}.get(k[-1], k[-1]), bases.get(k)))\n",
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "claim5-against-base",
        "claim 5 drops the paper's control: AnB+ - base instead of AnB+ - BnB+",
        "transferlab/analysis/claims.py",
        'paired = r.term(RANDOM_SPLIT, "transfer_ft", r.trained_layers, other="selffer_ft")',
        'paired = r.term(RANDOM_SPLIT, "transfer_ft", r.trained_layers)',
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "claim3-one-sided",
        "the equivalence claims pass whenever the interval is below +margin",
        "transferlab/analysis/claims.py",
        'return "holds" if -t < lo and hi < t else',
        'return "holds" if hi < t else',
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "claim2-shift-n",
        "the co-adaptation dip read at n = 2, 3, 4 instead of 3, 4, 5",
        "transferlab/analysis/claims.py",
        "mid = list(range(3, top - 1)) if top >= 5 else list(range(2, top))",
        "mid = list(range(2, top - 2)) if top >= 5 else list(range(2, top))",
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "normal-not-t",
        "the interval uses the normal quantile whatever the number of units",
        "transferlab/analysis/stats.py",
        "    crit = t_ppf(1 - (1 - level) / 2, df)",
        "    crit = 1.959964",
        ("tests/unit/test_claims.py", "tests/unit/test_claims_simulation.py"),
    ),
    Mutation(
        "directions-as-independent-splits",
        "two directions of one split counted as two independent splits",
        "transferlab/analysis/claims.py",
        "    if len(splits) < 2:\n        return g.values",
        "    if True:\n        return g.values",
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "restart-gain-ignored",
        "a base beaten by its own restart never confounds a claim",
        "transferlab/analysis/claims.py",
        "    confounded = bool(np.isfinite(gain) and gain > MARGIN)",
        "    confounded = False",
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "cka-class-blocked",
        "CKA batches in stored (class-by-class) order",
        "transferlab/analysis/cka.py",
        "    order = image_order(n, seed)",
        "    order = np.arange(n)",
        ("tests/unit/test_cka.py",),
    ),
    Mutation(
        "one-unit-holds",
        "a cell with one training unit may say 'holds'",
        "transferlab/analysis/claims.py",
        '    elif min(counts) < 2:\n        verdict = fam_verdict = "too few units"\n',
        "",
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "table1-shift-range",
        "Table 1's rows aggregate layers 2-7 and 4-7",
        "transferlab/analysis/tables.py",
        'return {f"{lo}-{points}": range(lo, points + 1) for lo in (1, 3, 5) if lo <= points}',
        'return {f"{lo}-{points}": range(lo + (lo > 1), points + 1) for lo in (1, 3, 5) if lo <= points}',
        ("tests/unit/test_tables.py",),
    ),
    Mutation(
        "split-int-seed",
        "the split seeded with an int instead of the authors' [seed]",
        "transferlab/data/splits.py",
        "np.random.RandomState([int(seed)])",
        "np.random.RandomState(int(seed))",
        ("tests/unit/test_paper_splits.py", "tests/unit/test_splits.py"),
    ),
    Mutation(
        "split-swap-halves",
        "halves A and B swapped",
        "transferlab/data/splits.py",
        'return {"A": [wnids[i] for i in sorted(a_set)], "B": [w for i, w in enumerate(wnids) if i not in a_set]}',
        'return {"B": [wnids[i] for i in sorted(a_set)], "A": [w for i, w in enumerate(wnids) if i not in a_set]}',
        ("tests/unit/test_paper_splits.py", "tests/unit/test_splits.py"),
    ),
    Mutation(
        "natman-drop-produce",
        "fruit and vegetables counted man-made",
        "transferlab/data/splits.py",
        '    "produce.n.01",  # fruit, vegetables, edible mushrooms\n',
        "",
        ("tests/unit/test_paper_splits.py", "tests/unit/test_natman.py"),
    ),
    Mutation(
        "copy-one-layer-fewer",
        "off by one in n: layers 1..n-1 copied",
        "transferlab/nets/transfer.py",
        "    for layer in range(1, n + 1):\n        for key in model.layer_keys(layer):",
        "    for layer in range(1, n):\n        for key in model.layer_keys(layer):",
        ("tests/unit/test_transfer.py",),
    ),
    Mutation(
        "unfreeze-top-copied-layer",
        "layer n of a frozen net is left trainable",
        "transferlab/nets/units.py",
        "        for unit in range(1, n + 1):\n            for p in self.block(unit).parameters():",
        "        for unit in range(1, n):\n            for p in self.block(unit).parameters():",
        ("tests/unit/test_transfer.py",),
    ),
    Mutation(
        "random-layers-kaiming",
        "random-weights layers drawn with the trained layers' init, not Caffe's",
        "transferlab/nets/transfer.py",
        "model.reset_layers(range(1, spec.n + 1), generator=g_random, init=model.RANDOM_INIT)",
        "model.reset_layers(range(1, spec.n + 1), generator=g_random)",
        ("tests/unit/test_train.py",),
    ),
    Mutation(
        "half-labels-unsorted",
        "labels within a half follow the split file's order, not sorted wnids",
        "transferlab/data/datasets.py",
        "    half_sorted = sorted(half)\n",
        "    half_sorted = list(half)[::-1]\n",
        ("tests/unit/test_paper_splits.py", "tests/unit/test_data.py"),
    ),
    Mutation(
        "correctness-is-top5",
        "the per-image vector records top-5 hits, not top-1",
        "transferlab/training/evaluate.py",
        "            hits.append(hit[:, 0].cpu().numpy())",
        "            hits.append(hit.any(dim=1).cpu().numpy())",
        ("tests/unit/test_evaluate.py",),
    ),
    Mutation(
        "drop-seed-from-data-order",
        "every network sees the same data order, whatever its seed",
        "transferlab/data/batches.py",
        "return np.random.default_rng(seed_of(seed, epoch)).permutation(n_train)",
        "return np.random.default_rng(seed_of(0, epoch)).permutation(n_train)",
        (
            "tests/unit/test_caffenet.py",
            "tests/unit/test_resume.py",
            "tests/unit/test_data.py",
            "tests/unit/test_train.py",
        ),
    ),
    Mutation(
        "budget-ignored",
        "the job's time budget is never checked",
        "transferlab/training/train.py",
        "        if self.time_budget_s is not None and time.time() - self.t_start >= self.time_budget_s:",
        "        if False:",
        ("tests/unit/test_resume.py",),
    ),
    Mutation(
        "wiring-swap-base",
        "AnB copies baseB (the DAG wires the wrong base)",
        "transferlab/names.py",
        "return None if self.is_base or self.source == RANDOM_SOURCE else base_name(self.source)",
        "return None if self.is_base or self.source == RANDOM_SOURCE else base_name(self.target)",
        ("tests/workflow/test_wiring.py",),
    ),
    Mutation(
        "wiring-wrong-half",
        "a derived net trains and is scored on its source half",
        "transferlab/run/design.py",
        "        return parse_net(net).target\n",
        "        return parse_net(net).source or parse_net(net).target\n",
        ("tests/workflow/test_wiring.py",),
    ),
    Mutation(
        "claim7-reads-n2",
        "claim 7 read at n = 2, where random frozen nets sit at chance",
        "transferlab/analysis/claims.py",
        'Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer", 1, relative=True), "AnB(1)")',
        'Group(RANDOM_SPLIT, r.term(RANDOM_SPLIT, "transfer", 2, relative=True), "AnB(1)")',
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "one-sided-never-inconclusive",
        "a one-sided claim that does not hold is never 'inconclusive'",
        "transferlab/analysis/claims.py",
        'return "holds" if lo > t else "does not hold" if hi < t else "inconclusive"',
        'return "holds" if lo > t else "does not hold"',
        ("tests/unit/test_claims.py",),
    ),
    # transfer units, batch norm, CKA
    Mutation(
        "frozen-bn-in-train-mode",
        "a frozen unit's batch-norm statistics keep updating",
        "transferlab/nets/units.py",
        "        if mode:\n            for b in self.blocks[: self.frozen_units]:",
        "        if False:\n            for b in self.blocks[: self.frozen_units]:",
        ("tests/unit/test_resnet.py", "tests/unit/test_units.py"),
    ),
    Mutation(
        "claims-top-fixed-at-7",
        "the scorecard reads n = 7 as the top whatever the architecture",
        "transferlab/analysis/claims.py",
        "        t = transfer_points(df)\n",
        "        t = 7\n",
        ("tests/unit/test_claims.py",),
    ),
    Mutation(
        "resnet-fan-in",
        "residual convolutions at Kaiming fan-in, not torchvision's fan-out",
        "transferlab/nets/resnet.py",
        'mode="fan_out"',
        'mode="fan_in"',
        ("tests/unit/test_resnet.py",),
    ),
    Mutation(
        "cka-biased-hsic",
        "CKA from the biased HSIC: the diagonal kept",
        "transferlab/analysis/cka.py",
        "    Kt, Lt = K.double() * off, L.double() * off",
        "    Kt, Lt = K.double(), L.double()",
        ("tests/unit/test_cka.py",),
    ),
]


def tracked_copy(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
    for rel in filter(None, files.stdout.split("\0")):
        src = REPO / rel
        if src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(src), dest / rel)
        elif src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run_one(m: Mutation) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"mutant-{m.name}-") as d:
        d = Path(d)
        tracked_copy(d)
        target = d / m.file
        text = target.read_text()
        if text.count(m.old) != 1:
            return {"name": m.name, "result": "stale", "detail": f"snippet found {text.count(m.old)} times in {m.file}"}
        target.write_text(text.replace(m.old, m.new))
        env = dict(os.environ, PYTHONPATH=str(d))  # the copy's transferlab, ahead of the editable install
        check = subprocess.run(
            [sys.executable, "-c", "import transferlab; print(transferlab.__file__)"],
            cwd=d,
            env=env,
            capture_output=True,
            text=True,
        )
        if not check.stdout.strip().startswith(str(d)):
            return {"name": m.name, "result": "error", "detail": f"imports {check.stdout.strip()}, not the copy"}
        tests = [t for t in m.tests if (d / t).exists()]  # an older checkout may lack some
        if not tests:
            return {"name": m.name, "what": m.what, "result": "survived", "killed_by": [], "detail": "no such tests"}
        t = time.time()
        r = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=d,
            env=env,
            capture_output=True,
            text=True,
        )
        failed = [ln.split(" ")[1] for ln in r.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        if r.returncode not in (0, 1):  # 2-5: interrupted, internal or usage error, nothing collected
            return {"name": m.name, "what": m.what, "result": "error", "detail": r.stdout[-500:] + r.stderr[-500:]}
        return {
            "name": m.name,
            "what": m.what,
            "result": "killed" if r.returncode else "survived",
            "killed_by": failed[:3],
            "seconds": round(time.time() - t, 1),
        }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--out")
    a = ap.parse_args()
    chosen = [m for m in MUTATIONS if not a.only or m.name in a.only]
    results = []
    for m in chosen:
        res = run_one(m)
        results.append(res)
        print(f"{res['result']:>8}  {m.name}: {res.get('killed_by') or res.get('detail', '')}", flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=1))
    killed = sum(r["result"] == "killed" for r in results)
    print(f"{killed}/{len(results)} killed")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
