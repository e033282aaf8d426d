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
