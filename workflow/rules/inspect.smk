# Looking inside: learning curves, first-layer filters (their weights collected into conv1.parquet, so
# redrawing needs no network), how far fine-tuning moved the copied layers, and the paper's published
# means beside this run's.


rule plot_curves:
    input:
        curves=f"{RESULTS}/curves.parquet",
    output:
        report(
            f"{RESULTS}/figures/curves.png",
            caption="../report/curves.rst",
            labels={"item": "learning curves"},
            category="Looking inside",
        ),
    log:
        f"{RESULTS}/logs/plot_curves.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_curves.py"


rule collect_conv1:
    input:
        bases=unless_figures(inspect_bases()),
    output:
        f"{RESULTS}/conv1.parquet",
    log:
        f"{RESULTS}/logs/collect_conv1.log",
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/collect_conv1.py"


rule plot_filters:
    input:
        conv1=f"{RESULTS}/conv1.parquet",
    output:
        png=report(
            f"{RESULTS}/figures/filters.png",
            caption="../report/filters.rst",
            labels={"item": "conv1 filters"},
            category="Looking inside",
        ),
        table=f"{RESULTS}/tables/filters.csv",
    log:
        f"{RESULTS}/logs/plot_filters.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_filters.py"


rule measure_weight_change:
    input:
        unpack(inspect_weight_change_inputs),
    output:
        csv=report(
            f"{RESULTS}/tables/weight_change.csv",
            caption="../report/weight_change.rst",
            labels={"item": "weight change by fine-tuning"},
            category="Looking inside",
        ),
    log:
        f"{RESULTS}/logs/measure_weight_change.log",
    conda:
        "../../envs/torch.yaml"
    params:
        n=config["inspect_n"],
    script:
        "../scripts/measure_weight_change.py"


rule plot_reference:
    input:
        table=f"{RESULTS}/evaluation.parquet",
    output:
        report(
            f"{RESULTS}/figures/reference.png",
            caption="../report/reference.rst",
            labels={"item": "this run vs the paper"},
            category="Figures",
        ),
    log:
        f"{RESULTS}/logs/plot_reference.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_reference.py"


rule make_convergence:
    input:
        curves=f"{RESULTS}/curves.parquet",
        table=f"{RESULTS}/evaluation.parquet",
    output:
        csv=report(
            f"{RESULTS}/tables/convergence.csv",
            caption="../report/convergence.rst",
            labels={"item": "convergence of the bases"},
            category="Tables",
        ),
        md=f"{RESULTS}/tables/convergence.md",
    log:
        f"{RESULTS}/logs/make_convergence.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/make_convergence.py"
