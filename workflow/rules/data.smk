# Raw data → class list → decoded uint8 arrays → per-half index files.  The raw data is read from its
# path (common.smk: DATA_PATH, given to the scripts as config) and tracked by its identity, a parameter.


rule list_classes:
    output:
        f"{RESULTS}/classes.json",
    log:
        f"{RESULTS}/logs/list_classes.log",
    conda:
        "../../envs/torch.yaml"
    params:
        dataset=DATASET,
        identity=DATA_IDENTITY,
        n_classes=config["data"]["classes"],
        seed=config["data"]["class_seed"],
    script:
        "../scripts/list_classes.py"


rule prepare_data:
    input:
        classes=f"{RESULTS}/classes.json",
    output:
        PREPARED,
    log:
        f"{RESULTS}/logs/prepare_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: PREP_THREADS
    params:
        dataset=DATASET,
        identity=DATA_IDENTITY,
        data=DESIGN.data_params(),
    script:
        "../scripts/prepare_data.py"


rule prepare_half:
    input:
        prepared=PREPARED,
        split=split_file,
    output:
        f"{RESULTS}/halves/{{split}}/{{half}}.npz",
    log:
        f"{RESULTS}/logs/prepare_half/{{split}}/{{half}}.log",
    conda:
        "../../envs/torch.yaml"
    params:
        train_per_class=half_train_per_class,
        dev_per_class=config["data"]["dev_per_class"],
    script:
        "../scripts/prepare_half.py"
