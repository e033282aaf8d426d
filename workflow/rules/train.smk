# One job per network.  Declared outputs are the final weights and metadata;
# the resumable state lives under state/ so a failed job's clean-up never
# deletes it, and a rerun resumes from the last checkpoint.


rule train_base:
    input:
        prepared=PREPARED,
        half=target_half,
        preflight=preflight_report,
    output:
        weights=f"{RESULTS}/nets/{{split}}/r{{rep}}/{{net}}/weights.pt",
        meta=f"{RESULTS}/nets/{{split}}/r{{rep}}/{{net}}/train.json",
    log:
        f"{RESULTS}/logs/train/{{split}}/r{{rep}}/{{net}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{split}}/r{{rep}}/{{net}}.tsv"
    wildcard_constraints:
        net=BASE_PATTERN,
    retries: config["train_retries"]
    conda:
        "../../envs/torch.yaml"
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    params:
        net="{net}",
        state=f"{RESULTS}/state/{{split}}/r{{rep}}/{{net}}",
        seed=net_seed,
        settings=train_settings,
        config_hash=TRAIN_HASH,
        device=DEVICE,
    script:
        "../scripts/train.py"


rule train_derived:
    input:
        prepared=PREPARED,
        half=target_half,
        base=derived_base_weights,
        preflight=preflight_report,
    output:
        weights=f"{RESULTS}/nets/{{split}}/r{{rep}}/{{net}}/weights.pt",
        meta=f"{RESULTS}/nets/{{split}}/r{{rep}}/{{net}}/train.json",
    log:
        f"{RESULTS}/logs/train/{{split}}/r{{rep}}/{{net}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{split}}/r{{rep}}/{{net}}.tsv"
    wildcard_constraints:
        net=DERIVED_PATTERN,
    retries: config["train_retries"]
    conda:
        "../../envs/torch.yaml"
    threads: JOB_THREADS
    resources:
        gpu=GPU,
    params:
        net="{net}",
        state=f"{RESULTS}/state/{{split}}/r{{rep}}/{{net}}",
        seed=net_seed,
        settings=train_settings,
        config_hash=TRAIN_HASH,
        device=DEVICE,
    script:
        "../scripts/train.py"
