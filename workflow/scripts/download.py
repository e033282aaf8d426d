import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)
from transferlab import data
from transferlab.scripting import run

run(snakemake, lambda s: data.download(s.params.url, s.output[0], md5=data.TINY_MD5, size=data.TINY_SIZE))
