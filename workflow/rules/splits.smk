# Class splits: random halves (the authors' recipe), the whole class set, natural/man-made (WordNet) and
# the user's own halves (config `splits`), checked against the class list.


rule make_random_split:
    input:
        classes=f"{RESULTS}/classes.json",
    output:
        f"{RESULTS}/splits/random-{{seed}}.json",
    log:
        f"{RESULTS}/logs/make_random_split/random-{{seed}}.log",
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/torch.yaml"
    params:
        seed=split_seed,
    script:
        "../scripts/make_split.py"


rule make_whole_split:
    input:
        classes=f"{RESULTS}/classes.json",
    output:
        f"{RESULTS}/splits/all.json",
    log:
        f"{RESULTS}/logs/make_whole_split.log",
    conda:
        "../../envs/torch.yaml"
    params:
        seed=None,
    script:
        "../scripts/make_split.py"


rule make_natman_split:
    input:
        classes=f"{RESULTS}/classes.json",
    output:
        f"{RESULTS}/splits/natman.json",
    log:
        f"{RESULTS}/logs/make_natman_split.log",
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/make_natman_split.py"


rule make_custom_split:
    input:
        classes=f"{RESULTS}/classes.json",
        user_split=custom_split_file,
    output:
        f"{RESULTS}/splits/{{custom}}.json",
    log:
        f"{RESULTS}/logs/make_custom_split/{{custom}}.log",
    wildcard_constraints:
        custom=DESIGN.custom_split_pattern(),
    conda:
        "../../envs/torch.yaml"
    params:
        name="{custom}",
    script:
        "../scripts/make_custom_split.py"
