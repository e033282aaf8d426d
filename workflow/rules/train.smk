# One job per network.  Declared outputs are the final weights and metadata;
# the resumable state lives under state/ so a failed job's clean-up never
# deletes it, and a rerun resumes from the last checkpoint.


rule train_base:
    input:
        prepared=PREPARED,
        half=target_half,
        preflight=preflight_report,
    output:
        weights=f"{RESULTS}/nets/{{split}}/r{{rep}}/base{{half}}/weights.pt",
        meta=f"{RESULTS}/nets/{{split}}/r{{rep}}/base{{half}}/train.json",
    log:
        f"{RESULTS}/logs/train/{{split}}/r{{rep}}/base{{half}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{split}}/r{{rep}}/base{{half}}.tsv"
    retries: config["train_retries"]
    conda:
        "../../envs/torch.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=GPU,
    params:
        net="base{half}",
        state=f"{RESULTS}/state/{{split}}/r{{rep}}/base{{half}}",
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
        weights=f"{RESULTS}/nets/{{split}}/r{{rep}}/{{src}}{{n}}{{tgt}}-{{mode}}/weights.pt",
        meta=f"{RESULTS}/nets/{{split}}/r{{rep}}/{{src}}{{n}}{{tgt}}-{{mode}}/train.json",
    log:
        f"{RESULTS}/logs/train/{{split}}/r{{rep}}/{{src}}{{n}}{{tgt}}-{{mode}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{split}}/r{{rep}}/{{src}}{{n}}{{tgt}}-{{mode}}.tsv"
    retries: config["train_retries"]
    conda:
        "../../envs/torch.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=GPU,
    params:
        net="{src}{n}{tgt}-{mode}",
        state=f"{RESULTS}/state/{{split}}/r{{rep}}/{{src}}{{n}}{{tgt}}-{{mode}}",
        seed=net_seed,
        settings=train_settings,
        config_hash=TRAIN_HASH,
        device=DEVICE,
    script:
        "../scripts/train.py"
