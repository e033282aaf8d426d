"""Glue for the thin Snakemake scripts: logging, one clear error, exit codes."""
from __future__ import annotations

import sys
import traceback

# The project's known failures, by module.  Looked up among the modules a script has imported, so a
# plotting script (whose conda env has no torch) never imports torch through this one.
KNOWN = {"transferlab.data": ["DatasetError"], "transferlab.splits": ["SplitError"],
         "transferlab.train": ["ConfigError", "TrainingDiverged"], "transferlab.transfer": ["TransferError"],
         "transferlab.units": ["ArchError"], "transferlab.io": ["CorruptCheckpoint"],
         "transferlab.preflight": ["PreflightError"], "transferlab.devices": ["NoFreeDevice"]}


def known_errors() -> tuple:
    """The exception classes of KNOWN whose modules are imported."""
    return tuple(getattr(sys.modules[m], name) for m, names in KNOWN.items() if m in sys.modules for name in names)


def run(snakemake, fn):
    """Send output to the rule's log, call ``fn(snakemake)``, turn known failures into one message."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    console = sys.__stderr__
    if log_path:
        f = open(log_path, "a", buffering=1)
        sys.stdout = sys.stderr = f
    try:
        result = fn(snakemake)
    except Exception as e:
        if not isinstance(e, known_errors()):
            traceback.print_exc()
            raise
        msg = f"ERROR in rule {snakemake.rule}: {e}"
        print(msg, file=sys.stderr, flush=True)
        if console is not sys.stderr:
            print(msg, file=console, flush=True)
        sys.exit(1)
    if isinstance(result, dict) and result.get("stopped"):
        from .train import EXIT_RESUMABLE

        msg = f"{snakemake.rule}: stopped early ({result['stopped']}) after checkpointing; rerun to resume"
        print(msg, file=console, flush=True)
        sys.exit(EXIT_RESUMABLE)
    return result
