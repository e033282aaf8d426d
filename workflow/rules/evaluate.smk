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
        f"{RES}/evaluation.parquet",
    log:
        f"{RES}/logs/collect_metrics.log",
    script:
        "../scripts/collect.py"
