# Evaluate each network on its target half's validation images; collect one table.


rule evaluate_net:
    input:
        weights=f"{RES}/nets/{{split}}/r{{rep}}/{{net}}/weights.pt",
        meta=f"{RES}/nets/{{split}}/r{{rep}}/{{net}}/train.json",
        prepared=PREPARED,
        half=target_half,
    output:
        f"{RES}/eval/{{split}}/r{{rep}}/{{net}}.json",
    params:
        record=eval_record,
    threads: 1
    log:
        f"{RES}/logs/evaluate/{{split}}/r{{rep}}/{{net}}.log",
    script:
        "../scripts/evaluate.py"


rule collect_metrics:
    input:
        records=eval_records(),
    output:
        table=f"{RES}/evaluation.parquet",
        predictions=f"{RES}/predictions.parquet",
    log:
        f"{RES}/logs/collect_metrics.log",
    script:
        "../scripts/collect.py"


rule collect_curves:
    input:
        meta=train_meta_files(),
    output:
        f"{RES}/curves.parquet",
    log:
        f"{RES}/logs/collect_curves.log",
    script:
        "../scripts/collect_curves.py"


rule make_claims:
    input:
        table=f"{RES}/evaluation.parquet",
        predictions=f"{RES}/predictions.parquet",
    output:
        csv=report(
            f"{RES}/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
        ),
        md=f"{RES}/claims.md",
    params:
        n_boot=config["bootstrap"],
    log:
        f"{RES}/logs/make_claims.log",
    script:
        "../scripts/make_claims.py"


rule write_config:
    output:
        report(f"{RES}/config_used.yaml", caption="../report/config.rst", category="Configuration"),
    params:
        config=config,
    log:
        f"{RES}/logs/write_config.log",
    script:
        "../scripts/write_config.py"
