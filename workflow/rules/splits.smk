# Class splits: random halves (the authors' recipe) and the whole class set.


rule make_random_split:
    input:
        classes=f"{RES}/classes.json",
    output:
        f"{RES}/splits/random-{{seed}}.json",
    wildcard_constraints:
        seed=r"\d+",
    params:
        seed=split_seed,
    log:
        f"{RES}/logs/make_random_split/random-{{seed}}.log",
    script:
        "../scripts/make_split.py"


rule make_whole_split:
    input:
        classes=f"{RES}/classes.json",
    output:
        f"{RES}/splits/all.json",
    params:
        seed=None,
    log:
        f"{RES}/logs/make_whole_split.log",
    script:
        "../scripts/make_split.py"


rule make_natman_split:
    input:
        classes=f"{RES}/classes.json",
    output:
        f"{RES}/splits/natman.json",
    log:
        f"{RES}/logs/make_natman_split.log",
    script:
        "../scripts/make_natman_split.py"
