# Figures read only result tables: after a plotting-code edit, --forcerun <rule> re-plots and never
# retrains.  `snakemake figures` redraws them all from existing tables and never schedules training
# (figures_input, unless_figures).


rule figures:
    input:
        figures_input,


rule plot_fig2:
    input:
        table=f"{RESULTS}/evaluation.parquet",
    output:
        png=report(
            f"{RESULTS}/figures/fig2.png",
            caption="../report/fig2.rst",
            labels={"item": "Figure 2"},
            category="Figures",
        ),
        pdf=f"{RESULTS}/figures/fig2.pdf",
    log:
        f"{RESULTS}/logs/plot_fig2.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        title=f"{FIG_TITLE}: random A/B splits",
    script:
        "../scripts/plot_fig2.py"


rule plot_fig3:
    input:
        table=f"{RESULTS}/evaluation.parquet",
    output:
        png=report(
            f"{RESULTS}/figures/fig3.png",
            caption="../report/fig3.rst",
            labels={"item": "Figure 3"},
            category="Figures",
        ),
        pdf=f"{RESULTS}/figures/fig3.pdf",
    log:
        f"{RESULTS}/logs/plot_fig3.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        title=f"{FIG_TITLE}: dissimilar tasks and random weights",
    script:
        "../scripts/plot_fig3.py"


rule plot_dataset_size:
    input:
        table=f"{RESULTS}/evaluation.parquet",
    output:
        png=report(
            f"{RESULTS}/figures/dataset_size.png",
            caption="../report/dataset_size.rst",
            labels={"item": "dataset size"},
            category="Figures",
        ),
        pdf=f"{RESULTS}/figures/dataset_size.pdf",
    log:
        f"{RESULTS}/logs/plot_dataset_size.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        title=f"{FIG_TITLE}: base accuracy against training images per class",
    script:
        "../scripts/plot_dataset_size.py"


rule make_table1:
    input:
        table=f"{RESULTS}/evaluation.parquet",
    output:
        csv=report(
            f"{RESULTS}/tables/table1.csv",
            caption="../report/table1.rst",
            labels={"item": "Table 1"},
            category="Tables",
        ),
        md=f"{RESULTS}/tables/table1.md",
    log:
        f"{RESULTS}/logs/make_table1.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/make_table1.py"
