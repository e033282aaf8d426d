# Figures read only the results table: editing plotting code re-plots, never retrains.


rule plot_fig2:
    input:
        table=f"{RES}/evaluation.parquet",
    output:
        png=report(
            f"{RES}/figures/fig2.png",
            caption="../report/fig2.rst",
            category="Figures",
        ),
        pdf=f"{RES}/figures/fig2.pdf",
    params:
        title=f"{DATASET}: random A/B splits",
    log:
        f"{RES}/logs/plot_fig2.log",
    script:
        "../scripts/plot_fig2.py"


rule figures:
    input:
        figure_outputs(),


rule plot_fig3:
    input:
        table=f"{RES}/evaluation.parquet",
    output:
        png=report(
            f"{RES}/figures/fig3.png",
            caption="../report/fig3.rst",
            category="Figures",
        ),
        pdf=f"{RES}/figures/fig3.pdf",
    params:
        title=f"{DATASET}: dissimilar tasks and random weights",
    log:
        f"{RES}/logs/plot_fig3.log",
    script:
        "../scripts/plot_fig3.py"


rule plot_dataset_size:
    input:
        table=f"{RES}/evaluation.parquet",
    output:
        png=report(
            f"{RES}/figures/dataset_size.png",
            caption="../report/dataset_size.rst",
            category="Figures",
        ),
        pdf=f"{RES}/figures/dataset_size.pdf",
    params:
        title=f"{DATASET}: base accuracy against training images per class",
    log:
        f"{RES}/logs/plot_dataset_size.log",
    script:
        "../scripts/plot_dataset_size.py"


rule make_table1:
    input:
        table=f"{RES}/evaluation.parquet",
    output:
        csv=report(
            f"{RES}/tables/table1.csv",
            caption="../report/table1.rst",
            category="Tables",
        ),
        md=f"{RES}/tables/table1.md",
    log:
        f"{RES}/logs/make_table1.log",
    script:
        "../scripts/make_table1.py"
