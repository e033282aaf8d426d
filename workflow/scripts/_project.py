"""Imported first by every script: puts the project root (two folders up) first on sys.path, so
``import transferlab`` finds this repository's package in any environment, the rules' conda envs
(envs/*.yaml, which do not install the project) included.  Snakemake runs a copy of each script
from .snakemake/scripts but adds this folder to sys.path, so this file is found where it lies."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
sys.path.insert(0, ROOT)
