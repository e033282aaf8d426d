# What the layers share: linear CKA (minibatch) on the validation images between baseA and baseB at
# every transfer unit, and between each base and its fine-tuned derived nets; collected into cka.parquet
# (a result table), drawn beside AnB(n) - base.


rule measure_cka:
    input:
        unpack(cka_weights),
        prepared=PREPARED,
        meta=f"{RESULTS}/nets/{{split}}/r{{rep}}/baseA/train.json",
    output:
        f"{RESULTS}/cka/{{split}}/r{{rep}}.parquet",
    log:
        f"{RESULTS}/logs/measure_cka/{{split}}/r{{rep}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/measure_cka/{{split}}/r{{rep}}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    params:
        pairs=DESIGN.cka_pairs(),
        units=UNIT_NAMES,
        batch_size=config["cka"]["batch_size"],
        device=DEVICE,
    script:
        "../scripts/measure_cka.py"


rule collect_cka:
    input:
        records=unless_figures(cka_records()),
    output:
        f"{RESULTS}/cka.parquet",
    log:
        f"{RESULTS}/logs/collect_cka.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/collect_cka.py"


rule plot_cka:
    input:
        cka=f"{RESULTS}/cka.parquet",
        table=f"{RESULTS}/evaluation.parquet",
    output:
        png=report(
            f"{RESULTS}/figures/cka.png",
            caption="../report/cka.rst",
            labels={"item": "CKA and transferability"},
            category="Looking inside",
        ),
        pdf=f"{RESULTS}/figures/cka.pdf",
        csv=f"{RESULTS}/tables/cka.csv",
    log:
        f"{RESULTS}/logs/plot_cka.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        title=f"{FIG_TITLE}: CKA and transferability",
    script:
        "../scripts/plot_cka.py"
