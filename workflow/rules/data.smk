# Raw data → class list → decoded uint8 arrays → per-half index files.


rule download_tiny_imagenet:
    output:
        "data/raw/tiny-imagenet-200.zip",
    params:
        url="http://cs231n.stanford.edu/tiny-imagenet-200.zip",
    log:
        f"{RES}/logs/download_tiny_imagenet.log",
    script:
        "../scripts/download.py"


rule list_classes:
    input:
        source=dataset_source(),
    output:
        f"{RES}/classes.json",
    params:
        dataset=DATASET,
        n_classes=config["data"]["classes"],
        seed=config["data"]["class_seed"],
    log:
        f"{RES}/logs/list_classes.log",
    script:
        "../scripts/list_classes.py"


rule prepare_data:
    input:
        source=dataset_source(),
        classes=f"{RES}/classes.json",
    output:
        PREPARED,
    params:
        dataset=DATASET,
        data=data_params(),
    threads: 1
    log:
        f"{RES}/logs/prepare_data.log",
    benchmark:
        f"{RES}/benchmarks/prepare_data.tsv"
    script:
        "../scripts/prepare_data.py"


rule prepare_half:
    input:
        prepared=PREPARED,
        split=split_file,
    output:
        f"{RES}/halves/{{split}}/{{half}}.npz",
    params:
        train_per_class=half_train_per_class,
        dev_per_class=config["data"]["dev_per_class"],
    log:
        f"{RES}/logs/prepare_half/{{split}}/{{half}}.log",
    script:
        "../scripts/prepare_half.py"
