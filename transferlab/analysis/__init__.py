"""Analysis: every network against its own base, the claims and their statistics, the tables, figures,
CKA, weight change and the paper's released numbers.  Imports training, nets, data and the foundation."""

from transferlab._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "pairing": [],
        "stats": ["mde_for"],
        "claims": [
            "CLAIMS",
            "RANDOM_SPLIT",
            "RESTART",
            "Scores",
            "clustered",
            "correctness_map",
            "scorecard",
            "transfer_deltas",
            "unit_table",
            "write_claims",
        ],
        "tables": ["last_fifth_change", "slope_before_drops", "write_convergence", "write_table1"],
        "plots": [
            "claims_figure",
            "cka_figure",
            "cka_summary",
            "fig2",
            "fig3",
            "fig_curves",
            "fig_dataset_size",
            "fig_filters",
            "fig_reference",
        ],
        "cka": ["measure_split"],
        "weights": ["conv1_table", "conv1_weights", "filter_table", "first_conv", "weight_change"],
        "paper": ["as_results"],
    },
)
