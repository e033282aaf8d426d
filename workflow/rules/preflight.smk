# Before any training on CUDA, one job on a GPU node like theirs: the NVIDIA driver against the installed torch,
# a tiny GPU operation and, with train.compile, whether torch.compile works there (the training jobs read the
# report and run eager where it does not). Only CUDA runs have this job: on the CPU no training job asks for it.


rule check_cuda:
    output:
        f"{RESULTS}/preflight.json",
    log:
        f"{RESULTS}/logs/check_cuda.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        device=DEVICE,
        compile=config["train"]["compile"],
    script:
        "../scripts/preflight.py"
