"""Glue for the thin Snakemake scripts: logging, one clear error, exit codes."""

from __future__ import annotations

import sys
import traceback

from transferlab.errors import TransferlabError


def run(snakemake, fn):
    """Send output to the rule's log, call ``fn(snakemake)``, turn known failures into one message."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    console = sys.__stderr__
    if log_path:
        f = open(log_path, "a", buffering=1)
        sys.stdout = sys.stderr = f
    try:
        result = fn(snakemake)
    except KeyboardInterrupt:  # Ctrl-C outside a training loop (which stops at its next step instead)
        msg = f"{snakemake.rule}: interrupted (Ctrl-C); rerun to go on"
        print(msg, file=sys.stderr, flush=True)
        if console is not sys.stderr:
            print(msg, file=console, flush=True)
        sys.exit(130)
    except Exception as e:
        if not isinstance(e, TransferlabError):
            traceback.print_exc()
            raise
        msg = f"ERROR in rule {snakemake.rule}: {e}"
        print(msg, file=sys.stderr, flush=True)
        if console is not sys.stderr:
            print(msg, file=console, flush=True)
        sys.exit(1)
    if isinstance(result, dict) and result.get("stopped"):
        from transferlab.training.train import EXIT_RESUMABLE

        msg = f"{snakemake.rule}: stopped early ({result['stopped']}) after checkpointing; rerun to resume"
        print(msg, file=console, flush=True)
        sys.exit(EXIT_RESUMABLE)
    return result
