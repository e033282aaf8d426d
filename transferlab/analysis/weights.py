"""Numbers read off trained weights: conv1 filters as a small table (what the filters figure and
``tables/filters.csv`` are drawn from, so redrawing needs no checkpoint), their low-frequency
energy, and how far fine-tuning moved the copied layers.  numpy and pandas only (no torch)."""

from __future__ import annotations

import numpy as np
import pandas as pd

AXES = ["filter", "channel", "row", "col"]


def first_conv(state_dict: dict):
    """The first layer's filters: the 4-D weight of unit 1 that reads the 3 colour channels."""
    for k, w in state_dict.items():
        if k.startswith("blocks.0.") and k.endswith("weight") and w.ndim == 4 and w.shape[1] == 3:
            return w
    raise KeyError("the state dict has no 4-D weight on 3 input channels in unit 1 (blocks.0.*): not a conv net")


def unit_weights(state_dict: dict, unit: int) -> list[str]:
    """Keys of the weight tensors (≥ 2-D: convolutions, linear layers) of a 1-based unit."""
    prefix = f"blocks.{unit - 1}."
    return [k for k, w in state_dict.items() if k.startswith(prefix) and k.endswith("weight") and w.ndim >= 2]


def conv1_table(weights: dict) -> pd.DataFrame:
    """conv1 weights (network -> array (filters, 3, k, k)) as one long table: one row per weight."""
    frames = []
    for name, w in weights.items():
        w = np.asarray(w, dtype=np.float32)
        idx = np.indices(w.shape).reshape(4, -1)
        frames.append(pd.DataFrame({"network": name, **dict(zip(AXES, idx, strict=True)), "weight": w.ravel()}))
    return pd.concat(frames, ignore_index=True)


def conv1_weights(table: pd.DataFrame) -> dict:
    """The inverse of :func:`conv1_table`: network -> array (filters, 3, k, k), in the table's order."""
    out = {}
    for name, t in table.groupby("network", sort=False):
        t = t.sort_values(AXES)
        out[name] = t["weight"].to_numpy(np.float32).reshape([int(t[a].max()) + 1 for a in AXES])
    return out


LOW_FREQ = 0.25  # cycles per pixel: "low spatial frequency" for the filter-smoothness number


def lowfreq_share(weight) -> np.ndarray:
    """Per conv1 filter, the share of its energy at spatial frequencies up to ``LOW_FREQ``.

    Energy is the squared 2-D Fourier amplitude summed over the colour channels, after removing
    each filter's mean (so a constant offset does not count as structure).  White noise puts a
    share equal to the fraction of low-frequency bins there; smooth Gabor-like and colour-blob
    filters, as in the paper, concentrate their energy at low frequencies.
    """
    w = np.asarray(weight, dtype=np.float64)
    w = w - w.mean(axis=(1, 2, 3), keepdims=True)
    k = w.shape[-1]
    f = np.fft.fftfreq(k)
    low = np.hypot(f[:, None], f[None, :]) <= LOW_FREQ
    power = (np.abs(np.fft.fft2(w, axes=(2, 3))) ** 2).sum(axis=1)
    return (power[:, low].sum(axis=1)) / np.maximum(power.sum(axis=(1, 2)), 1e-30)


def filter_table(weights: dict) -> pd.DataFrame:
    """Low-frequency energy share of each network's conv1 filters (network -> array)."""
    rows = []
    for name, w in weights.items():
        share = lowfreq_share(w)
        rows.append(
            {
                "network": name,
                "filters": len(share),
                "lowfreq_share_mean": float(share.mean()),
                "lowfreq_share_median": float(np.median(share)),
                "cutoff_cycles_per_px": LOW_FREQ,
            }
        )
    return pd.DataFrame(rows)


def weight_change(base: dict, tuned: dict, n: int) -> pd.DataFrame:
    """Relative change ||W_tuned - W_base|| / ||W_base|| of copied units 1..n (two state_dicts); a unit of
    several weight tensors (a residual block) counts them together."""
    rows = []
    for layer in range(1, n + 1):
        keys = unit_weights(base, layer)
        diff = sum(float((tuned[k] - base[k]).norm()) ** 2 for k in keys) ** 0.5
        ref = sum(float(base[k].norm()) ** 2 for k in keys) ** 0.5
        rows.append({"layer": layer, "relative_change": diff / ref})
    return pd.DataFrame(rows)
