"""Networks: transfer units and freezing, the model families (CaffeNet, ResNet), the registry that builds
and loads any of them, and derived networks (units 1..n copied from a base, checked).  Imports only
the package's foundation (``transferlab.io``, ``transferlab.errors``, ``transferlab.names``)."""

from transferlab._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "units": ["UnitNet", "count_params", "merge_arch"],
        "caffenet": ["CaffeNet"],
        "resnet": [],
        "models": ["arch_from_config", "build_model", "family_of", "identity_keys", "load_model", "unit_names"],
        "transfer": ["build_derived", "copy_layers"],
    },
)
