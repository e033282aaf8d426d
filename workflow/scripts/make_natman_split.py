from transferlab import splits
from transferlab.scripting import run

run(snakemake, lambda s: splits.write_natman_split(s.input.classes, s.output[0]))
