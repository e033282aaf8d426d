"""Training killed (SIGKILL) or stopped (SIGTERM) in a subprocess: the rerun resumes to the same weights."""

import os
import signal
import subprocess
import sys
import time

from conftest import REPO
from unit.test_resume import LONG, _kwargs, _same, _weights

from transferlab import io as tio
from transferlab.training.train import EXIT_RESUMABLE, train_network


def _script(kw):
    return (
        "import sys, io\n"
        "from transferlab.training.train import train_network, EXIT_RESUMABLE\n"
        f"r = train_network(**{kw!r}, log=sys.stderr)\n"
        "sys.exit(EXIT_RESUMABLE if r.get('stopped') else 0)\n"
    )


def test_sigkill_mid_training_then_rerun_matches_uninterrupted(prepared):
    train_network(**_kwargs(prepared, "ref"), log=open(os.devnull, "w"))
    kw = _kwargs(prepared, "killed")
    ckpt = prepared / "killed" / "state" / "ckpt.pt"
    proc = subprocess.Popen([sys.executable, "-c", _script(kw)], cwd=REPO, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not ckpt.exists():
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not (prepared / "killed" / "weights.pt").exists()
    log = subprocess.run([sys.executable, "-c", _script(kw)], cwd=REPO, capture_output=True, text=True)
    assert log.returncode == 0, log.stderr
    assert "resumed baseA" in log.stderr
    assert _same(_weights(prepared, "ref"), _weights(prepared, "killed"))


def test_sigterm_writes_checkpoint_and_exits_resumable(prepared):
    kw = _kwargs(prepared, "term", dict(LONG, checkpoint_every_s=1e9, epochs=400))
    proc = subprocess.Popen([sys.executable, "-c", _script(kw)], cwd=REPO, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:  # wait until training is under way (signal handler installed)
        seen.append(line)
        if "epoch 2/" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    err = "".join(seen) + err
    assert proc.returncode == EXIT_RESUMABLE, err
    assert "SIGTERM" in err
    st = tio.load_torch(prepared / "term" / "state" / "ckpt.pt")
    assert st["progress"]["global_step"] > 0
