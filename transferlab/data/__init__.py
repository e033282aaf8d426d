"""Data: the datasets and their preparation into arrays, the class splits and halves, and the batches a
training job draws (host crops, device-side mirror and normalisation).  Imports only the foundation."""

from transferlab._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "datasets": ["load_half", "open_images"],
        "splits": [],
        "batches": ["DeviceTransform", "StepBatches", "epoch_order", "eval_batches", "loader", "make_transform"],
    },
)
