# Evaluate each network on its target half's validation images; collect the result tables (which
# `snakemake figures` reads as they are: unless_figures).


rule evaluate_net:
    input:
        weights=f"{RESULTS}/nets/{{split}}/r{{rep}}/{{net}}/weights.pt",
        meta=f"{RESULTS}/nets/{{split}}/r{{rep}}/{{net}}/train.json",
        prepared=PREPARED,
        half=target_half,
    output:
        f"{RESULTS}/eval/{{split}}/r{{rep}}/{{net}}.json",
    log:
        f"{RESULTS}/logs/evaluate/{{split}}/r{{rep}}/{{net}}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=GPU,
    params:
        record=eval_record,
        device=DEVICE,
    script:
        "../scripts/evaluate.py"


rule collect_metrics:
    input:
        records=unless_figures(eval_records()),
    output:
        table=f"{RESULTS}/evaluation.parquet",
        predictions=f"{RESULTS}/predictions.parquet",
    log:
        f"{RESULTS}/logs/collect_metrics.log",
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/collect.py"


rule collect_curves:
    input:
        meta=unless_figures(train_meta_files()),
    output:
        f"{RESULTS}/curves.parquet",
    log:
        f"{RESULTS}/logs/collect_curves.log",
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/collect_curves.py"


rule make_claims:
    input:
        table=f"{RESULTS}/evaluation.parquet",
        predictions=f"{RESULTS}/predictions.parquet",
    output:
        csv=report(
            f"{RESULTS}/claims.csv",
            caption="../report/claims.rst",
            labels={"item": "scorecard (table)"},
            category="Claims",
        ),
        md=f"{RESULTS}/claims.md",
        png=report(
            f"{RESULTS}/figures/claims.png",
            caption="../report/claims_figure.rst",
            labels={"item": "scorecard (figure)"},
            category="Claims",
        ),
    log:
        f"{RESULTS}/logs/make_claims.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        n_boot=config["bootstrap"],
    script:
        "../scripts/make_claims.py"


rule write_config:
    input:
        classes=f"{RESULTS}/classes.json",
        prepared=f"{RESULTS}/prepared/meta.json",
    output:
        report(
            f"{RESULTS}/config_used.yaml",
            caption="../report/config.rst",
            labels={"item": "configuration used"},
            category="Configuration",
        ),
    log:
        f"{RESULTS}/logs/write_config.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        config=result_config(config),
    script:
        "../scripts/write_config.py"
