"""The run itself: the config's checks, the design (which networks a config has and what each is), the
thin scripts' glue, the committed snapshot and the status of a running workflow.  Imports every layer."""

from transferlab._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "configcheck": ["validate_config"],
        "design": ["Design", "results_folder"],
        "runs": ["check_run"],
        "scripting": ["run"],
        "snapshot": [],
        "status": [],
    },
)
