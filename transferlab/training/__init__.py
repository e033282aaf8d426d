"""Training: devices and GPU claims, checks before training, checkpoints, the schedule and loop, and the
evaluation of a trained network.  Imports nets, data and the foundation."""

from transferlab._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "devices": ["amp_context", "job_device"],
        "checkpoints": [],
        "preflight": ["preflight"],
        "train": ["EXIT_RESUMABLE", "time_budget_from_runtime", "train_network"],
        "evaluate": ["collect", "evaluate", "evaluate_network", "write_curves"],
    },
)
