#!/usr/bin/env python3
"""Regenerate yosinski2014_networks.csv from the authors' released Caffe training logs.

Source: github.com/yosinski/convnet_transfer (Yosinski, Clune, Bengio, Lipson,
"How transferable are features in deep neural networks?", NIPS 2014).

The detail: docs/library.md, `transferlab/reference/extract_yosinski2014.py`."""

import argparse
import fnmatch
import gzip
import posixpath
import re
import subprocess
import sys

import pandas as pd

COMMIT = "9838c273ab67c1014693fa8e1bf9a316bc23fa7d"
COLUMNS = [
    "network",
    "experiment",
    "split",
    "source",
    "target",
    "treatment",
    "n",
    "top1",
    "top5",
    "iteration",
    "log_path",
]
LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
LOG_GLOB = "*.[eo]*.gz"  # the notebook's pattern '%s/*.[eo]*.gz'

TEST_RE = re.compile(r"\] Iteration (\d+), Testing net")
SCORE_RE = re.compile(r"\] Test score #(\d+): (\S+)")


class Repo:
    def __init__(self, git_dir, commit):
        self.git_dir, self.commit = git_dir, commit

    def _git(self, *args):
        return subprocess.run(
            ["git", "--git-dir=" + self.git_dir] + list(args), check=True, stdout=subprocess.PIPE
        ).stdout

    def show(self, path):
        return self._git("show", f"{self.commit}:{path}")

    def ls(self, path):
        out = self._git("ls-tree", "--name-only", self.commit, path.rstrip("/") + "/")
        return [p for p in out.decode().splitlines() if p]

    def resolve(self):
        return self._git("rev-parse", self.commit + "^{commit}").decode().strip()


# ---------------------------------------------------------------- log parsing
def parse_log(text, path, tests):
    """Add {iteration: (timestamp, top1, path)} for every test found in text."""
    pending = None
    for line in text.splitlines():
        m = TEST_RE.search(line)
        if m:
            pending = int(m.group(1))
            continue
        if pending is None:
            continue
        s = SCORE_RE.search(line)
        if not s:  # the notebook also just stops here
            pending = None
            continue
        if s.group(1) == "0":  # #0 = top-1 accuracy, #1 = loss
            f = line.split()
            stamp = f[0][1:] + " " + f[1]  # e.g. '0403 07:17:23.362350'
            old = tests.get(pending)
            if old is None or stamp > old[0]:
                tests[pending] = (stamp, float(s.group(2)), path)


def read_tests(repo, files):
    tests = {}
    for path in files:
        raw = repo.show(path)
        try:
            text = gzip.decompress(raw).decode("utf-8", "replace")
        except (OSError, EOFError):  # a few 49-58 byte files are empty
            text = ""
        parse_log(text, path, tests)
    return tests


# --------------------------------------------------------------- name mapping
def classify(name):
    """Map the authors' directory name onto the table's descriptive columns."""
    m = re.fullmatch(r"half(\d)([AB])", name)
    if m:
        return dict(experiment="random_split", split=m.group(1), source="", target=m.group(2), treatment="base", n=0)
    m = re.fullmatch(r"halfnatman([AB])", name)
    if m:
        return dict(experiment="natman", split="natman", source="", target=m.group(1), treatment="base", n=0)
    m = re.fullmatch(r"transfer(-ft)?(\d)([AB])(\d)([AB])_1_(\d)", name)
    if m:
        ft, s1, src, s2, tgt, n = m.groups()
        assert s1 == s2, name
        kind = "selffer" if src == tgt else "transfer"
        return dict(
            experiment="random_split",
            split=s1,
            source=src,
            target=tgt,
            treatment=kind + ("_ft" if ft else ""),
            n=int(n),
        )
    m = re.fullmatch(r"transfernatman([AB])([AB])_1_(\d)", name)
    if m:
        src, tgt, n = m.groups()
        assert src != tgt, name
        return dict(experiment="natman", split="natman", source=src, target=tgt, treatment="transfer", n=int(n))
    m = re.fullmatch(r"nolearn_1_(\d)", name)
    if m:
        return dict(
            experiment="random_weights", split="whole", source="", target="whole", treatment="random", n=int(m.group(1))
        )
    if name == "netbase":
        return dict(experiment="random_weights", split="whole", source="", target="whole", treatment="base", n=0)
    m = re.fullmatch(r"reduced-(\d{4})", name)
    if m:
        return dict(experiment="other", split="reduced", source="", target="whole", treatment="other", n=0)
    raise ValueError(f"unknown network name {name!r}")


def half_of(link):
    """'../../ilsvrc12/data/half0B_train/leveldb' -> ('0', 'B'); whole -> ('whole', 'whole')."""
    m = re.search(r"data/half(\d|natman)([AB])_train", link)
    if m:
        return m.group(1), m.group(2)
    if re.search(r"data/(whole_train|reduced-\d{4})/", link):
        return "whole", "whole"
    raise ValueError(link)


def layer_info(prototxt):
    """For conv1..fc8: (copied = kept base name, frozen = all blobs_lr are 0)."""
    info = {}
    for block in re.split(r"\nlayers\s*\{", prototxt):
        nm = re.search(r'name:\s*"([^"]+)"', block)
        if not nm:
            continue
        name = nm.group(1)
        base = name[:-4] if name.endswith("-new") else name
        if base in LAYERS:
            lrs = [float(x) for x in re.findall(r"blobs_lr:\s*([0-9.eE+-]+)", block)]
            info[base] = (not name.endswith("-new"), bool(lrs) and all(x == 0 for x in lrs))
    assert sorted(info) == sorted(LAYERS), info
    return info


def check_mapping(repo, d, row, files_in_dir):
    """Cross-check the name-derived columns against the network's own files."""
    name = row["network"]
    split, half = half_of(repo.show(d + "/imagenet_train_leveldb").decode())
    if row["experiment"] in ("random_split", "natman"):
        assert (split, half) == (row["split"], row["target"]), (name, split, half)
    info = layer_info(repo.show(d + "/imagenet_train.prototxt").decode())
    n, t = row["n"], row["treatment"]
    copied = [LAYERS.index(layer) < n for layer in LAYERS]
    frozen = [info[layer][1] for layer in LAYERS]
    if t in ("base", "other"):
        assert not any(frozen), name
    elif t == "random":  # random first n layers, kept fixed
        assert frozen == copied, name
    else:
        assert [info[layer][0] for layer in LAYERS] == copied, name
        assert frozen == (copied if not t.endswith("_ft") else [False] * 8), name
        link = d + "/basenet"
        assert link in files_in_dir, name
        base = posixpath.basename(repo.show(link).decode().strip())
        assert base == "half{}{}".format(row["split"], row["source"]), (name, base)


def max_iter(repo, d):
    m = re.search(r"max_iter:\s*(\d+)", repo.show(d + "/imagenet_solver.prototxt").decode())
    return int(m.group(1))


# ----------------------------------------------------------------------- main
def extract(repo, verbose=True):
    rows, missing, short = [], [], []
    dirs = [p for p in repo.ls("results") if not p.endswith(".gitignore")]
    for d in sorted(dirs):
        name = posixpath.basename(d)
        files = repo.ls(d)
        logs = [f for f in files if fnmatch.fnmatch(posixpath.basename(f), LOG_GLOB)]
        row = dict(network=name, **classify(name))
        check_mapping(repo, d, row, files)
        tests = read_tests(repo, logs)
        if not tests:
            missing.append(name)
            continue
        it = max(tests)
        if it != max_iter(repo, d):
            short.append(f"{name} (last test {it} < max_iter {max_iter(repo, d)})")
        _, top1, path = tests[it]
        row.update(top1=top1, top5=None, iteration=it, log_path=path)
        rows.append(row)
    if verbose:
        print(f"networks with no test output in the repo ({len(missing)}): {' '.join(missing)}", file=sys.stderr)
        for s in short:
            print("incomplete run: " + s, file=sys.stderr)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["n"] = df["n"].astype(int)
    df["iteration"] = df["iteration"].astype(int)
    return df


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("git_dir")
    ap.add_argument("--commit", default=COMMIT)
    ap.add_argument(
        "--out", default=posixpath.join(posixpath.dirname(posixpath.abspath(__file__)), "yosinski2014_networks.csv")
    )
    args = ap.parse_args(argv)
    repo = Repo(args.git_dir, args.commit)
    resolved = repo.resolve()
    if resolved != COMMIT:
        print(f"warning: reading commit {resolved}, table documented for {COMMIT}", file=sys.stderr)
    df = extract(repo)
    df.to_csv(args.out, index=False, float_format="%.6g")
    print(f"wrote {len(df)} rows to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
