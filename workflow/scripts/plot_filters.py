from pathlib import Path

from transferlab.io import atomic_path, load_torch
from transferlab.model import CaffeNet
from transferlab.plots import fig_filters, filter_table
from transferlab.scripting import run


def main(s):
    cks = {Path(p).parent.name: load_torch(p) for p in s.input.bases}
    states = {name: ck["state_dict"] for name, ck in cks.items()}
    arch = next(iter(cks.values()))["arch"]
    fresh = {"fresh init": CaffeNet(arch).state_dict()}
    t = filter_table(states, fresh)
    with atomic_path(s.output.table) as tmp:
        t.to_csv(tmp, index=False)
    shares = dict(zip(t.network, t.lowfreq_share_mean))
    fresh_share = t.lowfreq_share_mean.iloc[-1]
    fig_filters(states, s.output.png, title=f"fresh initialisation: low-frequency energy {100 * fresh_share:.0f} %",
                shares=shares)


run(snakemake, main)
