# Layer-wise feature transferability (Yosinski et al., NIPS 2014) as a Snakemake workflow.
# Table of contents: configuration and input functions live in workflow/rules/common.smk,
# one rule file per stage follows.  `snakemake -n` lists the whole DAG.

from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/splits.smk"
include: "workflow/rules/preflight.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/inspect.smk"
include: "workflow/rules/cka.smk"


# Cheap bookkeeping, tables and plots (seconds each) run where Snakemake runs (on a cluster: the
# submit host), not as cluster jobs; decoding data, training, evaluation and the bootstrap do not.
localrules:
    all,
    figures,
    list_classes,
    make_random_split,
    make_whole_split,
    make_natman_split,
    make_custom_split,
    prepare_half,
    collect_metrics,
    collect_curves,
    collect_conv1,
    collect_cka,
    plot_cka,
    make_table1,
    make_convergence,
    plot_fig2,
    plot_fig3,
    plot_dataset_size,
    plot_curves,
    plot_filters,
    plot_reference,
    write_config,


rule all:
    default_target: True
    input:
        DESIGN.all_outputs(),
