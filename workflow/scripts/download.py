import _project  # noqa: F401 -- puts the project root on sys.path (see _project.py)

from transferlab.data import datasets as data
from transferlab.run import run

run(snakemake, lambda s: data.download(s.params.url, s.output[0], md5=data.TINY_MD5, size=data.TINY_SIZE))
