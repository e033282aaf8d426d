"""python -m transferlab.run.status: done, running (time left), waiting and the end of the run, from the logs."""

import json
import os
import time

from conftest import REPO

from transferlab.run.status import planned, scan, snakemake_config_args, summary


def _done(res, name, seconds):
    p = res / "nets" / name / "train.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"steps": 100, "train_seconds": seconds}))
    log = res / "logs/train" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"finished {name.rsplit('/', 1)[1]}: 2 epochs in {seconds} s\n")
    os.utime(log, (p.stat().st_mtime, p.stat().st_mtime))


def _running(res, name, step, total, left, age=0.0):
    log = res / "logs/train" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    net = name.rsplit("/", 1)[1]
    log.write_text(
        f"training {net}: ...\n2026-12-02 10:00:00 {net} epoch 3/10 step {step}/{total} loss 2.0 "
        f"train_top1 0.2 lr 1.00e-02 900 img/s elapsed 0:01:00 left {left}\n"
    )
    t = time.time() - age
    os.utime(log, (t, t))


def test_status_counts_and_estimates_the_end(tmp_path):
    res = tmp_path / "results/tiny-imagenet"
    _done(res, "random-0/r0/baseA", 200.0)
    _done(res, "random-0/r0/baseB", 220.0)
    _done(res, "random-0/r0/A1B-frozen", 100.0)
    _done(res, "random-9/r0/baseA", 900.0)  # of another design: not this run's, but its time is a time
    _running(res, "random-0/r0/A4B-frozen", 300, 1000, "0:02:00")
    _running(res, "random-0/r0/B4B-frozen", 500, 1000, "0:01:00")
    _running(res, "random-1/r0/baseA", 10, 1000, "0:30:00", age=3600)  # killed an hour ago
    nets = {n.name: n for n in scan(res)}
    assert nets["random-0/r0/A4B-frozen"].state == "running" and nets["random-1/r0/baseA"].state == "stalled"
    assert 110 <= nets["random-0/r0/A4B-frozen"].left_s <= 120
    design = [
        "random-0/r0/baseA",
        "random-0/r0/baseB",
        "random-0/r0/A1B-frozen",
        "random-0/r0/A4B-frozen",
        "random-0/r0/B4B-frozen",
        "random-1/r0/baseA",
        "random-1/r0/baseB",
        "random-1/r0/A7B-ft",
    ]
    now = time.time()
    text = summary(list(nets.values()), design, now)
    assert text.splitlines()[0] == "done 3, running 2, stalled 1, waiting 2 (of 8 networks)"
    assert "random-0/r0/A4B-frozen: step 300/1000, about 0:02:00 left" in text
    assert "stalled  random-1/r0/baseA" in text
    # (120 + 60 running) + waiting baseB at the median base (220: 200, 220, 900) + A7B-ft at the median derived
    # (100), over the 2 jobs running now
    left = (120 + 60 + 220 + 100) / 2
    assert f"in {int(left) // 3600}:{int(left) % 3600 // 60:02d}:" in text


def test_status_without_a_finished_network_of_a_kind_gives_no_end(tmp_path):
    res = tmp_path / "results/x"
    _running(res, "random-0/r0/baseB", 5, 100, "0:10:00")
    text = summary(scan(res), ["random-0/r0/baseB", "random-0/r0/A1B-frozen"])
    assert "estimated end: unknown" in text and text.startswith("done 0, running 1, waiting 1 (of 2 networks)")


def test_a_finished_run_says_finished_and_estimates_nothing(tmp_path):
    res = tmp_path / "results/x"
    _done(res, "random-0/r0/baseA", 10.0)
    _done(res, "random-0/r0/A1B-frozen", 5.0)
    text = summary(scan(res), ["random-0/r0/baseA", "random-0/r0/A1B-frozen"])
    assert text.splitlines() == [
        "done 2, running 0, waiting 0 (of 2 networks)",
        "finished: every network of the design is trained",
    ]
    old = time.time() - 100
    os.utime(res / "nets/random-0/r0/A1B-frozen/train.json", (old, old))
    _running(res, "random-0/r0/A1B-frozen", 5, 100, "0:01:00")  # trained again after a change of method
    assert "finished" not in summary(scan(res), ["random-0/r0/baseA", "random-0/r0/A1B-frozen"])


def test_the_run_is_read_from_snakemake_arguments():
    files, settings = snakemake_config_args(
        [
            "--cores",
            "8",
            "--configfile",
            "config/smoke.yaml",
            "x.yaml",
            "--config",
            "replicates=2",
            "train={epochs: 5}",
            "--profile",
            "slurm",
            "all",
        ]
    )
    assert files == ["config/smoke.yaml", "x.yaml"] and settings == {"replicates": 2, "train": {"epochs": "5"}}
    results, nets = planned(["--configfile", "config/smoke.yaml", "--config", "replicates=2"], REPO)
    assert results == REPO / "results/smoke"  # the smoke preset names its own run
    assert len(nets) == len(set(nets)) and {"random-0/r0/baseA", "random-0/r1/A7B-ft", "all/r0/R1A-frozen"} <= set(nets)
