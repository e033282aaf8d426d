"""transferlab.analysis.cka: the unbiased HSIC estimator, minibatch and full-batch linear CKA, the image order."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import recording_job_device

from transferlab.analysis.cka import (
    MinibatchCKA,
    cka_between,
    hsic_unbiased,
    linear_cka,
)
from transferlab.analysis.plots import cka_figure


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, g: torch.Generator) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def minibatch(X: torch.Tensor, Y: torch.Tensor, m: int, order: list[int] | None = None) -> float:
    """Minibatch CKA of one feature pair, the rows cut into consecutive batches of m (visited in ``order``)."""
    cuts = list(zip(X.split(m), Y.split(m), strict=True))
    acc = MinibatchCKA(1)
    for i in order if order is not None else range(len(cuts)):
        acc.update([cuts[i][0]], [cuts[i][1]])
    return float(acc.value()[0])


def related(n: int, g: torch.Generator, d: int = 10, noise: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """X (n, d) and Y = X W + noise (n, 6): a known, intermediate similarity."""
    X = randn(n, d, g=g)
    return X, X @ randn(d, 6, g=g) + noise * randn(n, 6, g=g)


# ------------------------------------------------------------------ the HSIC estimator
def kernels(m: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two symmetric m x m kernels with non-zero diagonals, one linear, one polynomial."""
    g = gen(seed)
    X, Y = randn(m, 3, g=g), randn(m, 2, g=g)
    return X @ X.T, (Y @ Y.T + 1) ** 2


def test_hsic_unbiased_matches_a_loop_over_the_formula():
    K, L = kernels(7)
    m = 7
    Kt = [[0.0 if i == j else K[i, j].item() for j in range(m)] for i in range(m)]
    Lt = [[0.0 if i == j else L[i, j].item() for j in range(m)] for i in range(m)]
    trace = sum(Kt[i][j] * Lt[j][i] for i in range(m) for j in range(m))
    sum_k = sum(map(sum, Kt))
    sum_l = sum(map(sum, Lt))
    cross = sum(Kt[i][j] * Lt[j][k] for i in range(m) for j in range(m) for k in range(m))
    expected = (trace + sum_k * sum_l / ((m - 1) * (m - 2)) - 2 / (m - 2) * cross) / (m * (m - 3))
    assert hsic_unbiased(K, L).item() == pytest.approx(expected, rel=1e-12)


def test_hsic_unbiased_is_the_u_statistic_over_distinct_quadruples():
    """Song et al. 2012, Theorem 2: the estimator averages k_ij l_ij + k_ij l_qr - 2 k_ij l_iq over all ordered
    quadruples of distinct indices (an independent check of the closed form, diagonal included)."""
    K, L = kernels(6, seed=1)
    quads = list(itertools.permutations(range(6), 4))
    u = sum(K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2 * K[i, j] * L[i, q] for i, j, q, r in quads) / len(quads)
    assert hsic_unbiased(K, L).item() == pytest.approx(u.item(), rel=1e-12)


def test_hsic_unbiased_ignores_the_diagonal_and_returns_float64():
    K, L = kernels(8, seed=2)
    h = hsic_unbiased(K.float(), L.float())
    assert h.dtype == torch.float64
    assert hsic_unbiased(K + torch.diag(randn(8, g=gen(3))), L).item() == pytest.approx(hsic_unbiased(K, L).item())


# ------------------------------------------------------------------ CKA's invariances
def test_cka_of_features_with_themselves_is_one():
    X = randn(64, 5, 3, g=gen(0))  # (m, ...) features are flattened
    acc = MinibatchCKA(2)
    for part in X.split(16):
        acc.update([part, part], [part, 2 * part])
    np.testing.assert_allclose(acc.value(), 1.0, rtol=1e-12)
    assert linear_cka(X, X) == pytest.approx(1.0, rel=1e-12)


def test_cka_is_invariant_to_rotation_and_isotropic_scaling_but_not_to_stretching():
    g = gen(1)
    X, Y = related(256, g)
    Q, _ = torch.linalg.qr(randn(10, 10, g=g))
    stretch = torch.diag(torch.logspace(-1.5, 1.5, 10, dtype=torch.float64))
    base_mb, base_full = minibatch(X, Y, 32), linear_cka(X, Y)
    assert minibatch(3.0 * X @ Q, Y, 32) == pytest.approx(base_mb, rel=1e-10)
    assert linear_cka(3.0 * X @ Q, Y) == pytest.approx(base_full, rel=1e-10)
    assert abs(minibatch(X @ stretch, Y, 32) - base_mb) > 0.05
    assert abs(linear_cka(X @ stretch, Y) - base_full) > 0.05


def test_linear_cka_centres_the_features():
    """Adding a constant to every example changes no similarity between images; uncentred CKA would move."""
    X, Y = related(200, gen(2))
    assert linear_cka(X + 5.0, Y - 3.0) == pytest.approx(linear_cka(X, Y), rel=1e-10)


def test_minibatch_cka_ignores_a_constant_offset_of_the_features():
    X, Y = related(200, gen(3))
    assert minibatch(X + 5.0, Y - 3.0, 20) == pytest.approx(minibatch(X, Y, 20), rel=1e-10)


# ------------------------------------------------------------------ the estimator's bias and consistency
def test_minibatch_cka_of_independent_features_is_near_zero_where_the_biased_one_is_not():
    g = gen(4)
    m, d = 32, 64
    X, Y = randn(200 * m, d, g=g), randn(200 * m, d, g=g)
    assert abs(minibatch(X, Y, m)) < 0.05
    assert linear_cka(X[:m], Y[:m]) > 0.3  # the plug-in estimator on one batch of the same size


def test_minibatch_cka_approaches_full_batch_cka_on_a_large_sample():
    X, Y = related(20_000, gen(5))
    full = linear_cka(X, Y)
    assert 0.2 < full < 0.9  # an intermediate similarity, so agreement is informative
    assert minibatch(X, Y, 200) == pytest.approx(full, abs=0.02)


def test_batch_order_does_not_matter_and_batch_size_barely_does():
    X, Y = related(2_000, gen(6))
    order = np.random.default_rng(0).permutation(20).tolist()
    assert minibatch(X, Y, 100, order) == pytest.approx(minibatch(X, Y, 100), rel=1e-12)
    assert minibatch(X, Y, 250) == pytest.approx(minibatch(X, Y, 100), abs=0.02)
    assert minibatch(X, Y, 250) != minibatch(X, Y, 100)


def test_value_averages_hsic_over_batches_before_dividing():
    """The ratio of mean HSICs, not the mean of per-batch CKAs (the two differ when batches differ in scale)."""
    X, Y = related(64, gen(7))
    X[32:] *= 10.0
    Y[32:] *= 10.0
    acc = MinibatchCKA(1)
    per_batch = []
    for x, y in zip(X.split(32), Y.split(32), strict=True):
        acc.update([x], [y])
        one = MinibatchCKA(1)
        one.update([x], [y])
        per_batch.append(one.value()[0])
    assert acc.batches == 2
    K, L = [[m @ m.T for m in t.split(32)] for t in (X, Y)]
    kl, kk, ll = (
        sum(hsic_unbiased(a, b).item() for a, b in zip(A, B, strict=True)) for A, B in ((K, L), (K, K), (L, L))
    )
    assert acc.value()[0] == pytest.approx(kl / math.sqrt(kk * ll), rel=1e-12)
    assert acc.value()[0] != pytest.approx(np.mean(per_batch), rel=1e-3)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("m", [2, 3])
def test_batches_of_three_or_fewer_images_are_refused(m):
    with pytest.raises(ValueError, match="batches of more than 3 images"):
        MinibatchCKA(1).update([randn(m, 4, g=gen())], [randn(m, 4, g=gen())])
    with pytest.raises(ValueError, match="batch of more than 3 examples"):
        hsic_unbiased(torch.eye(m), torch.eye(m))
    MinibatchCKA(1).update([randn(4, 4, g=gen())], [randn(4, 4, g=gen())])  # m = 4 is enough


def test_mismatched_feature_lists_are_refused():
    acc = MinibatchCKA(2)
    x = randn(8, 4, g=gen())
    with pytest.raises(ValueError, match="needs 2 features on each side"):
        acc.update([x, x], [x])
    with pytest.raises(ValueError, match="needs 2 features on each side"):
        acc.update([x], [x])
    with pytest.raises(ValueError, match="same batch size"):
        acc.update([x, x], [x, x[:6]])
    assert acc.batches == 0


def test_value_before_any_update_is_refused():
    with pytest.raises(ValueError, match="before any batch"):
        MinibatchCKA(3).value()


def test_constant_features_give_nan_not_a_crash():
    acc = MinibatchCKA(1)
    acc.update([torch.ones(8, 3)], [randn(8, 3, g=gen())])
    assert np.isnan(acc.value()[0])


# ------------------------------------------------------------------ between two models
class TwoUnits(torch.nn.Module):
    """A stand-in network with two transfer units; dropout makes train mode visible."""

    def __init__(self, seed: int, rotate: torch.Tensor | None = None) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.fc1 = torch.nn.Linear(6, 8)
        self.fc2 = torch.nn.Linear(8, 5)
        self.drop = torch.nn.Dropout(0.5)
        self.rotate = rotate
        self.saw_inference_mode: list[bool] = []

    def unit_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.saw_inference_mode.append(torch.is_inference_mode_enabled())
        h1 = self.drop(torch.relu(self.fc1(x)))
        h2 = self.fc2(h1)
        return [h1, h2 @ self.rotate if self.rotate is not None else h2]


def batches(n: int = 6, m: int = 16) -> list[torch.Tensor]:
    g = gen(8)
    return [torch.randn(m, 6, generator=g) for _ in range(n)]


def test_cka_between_a_model_and_its_rotated_copy_is_one_in_eval_mode():
    Q, _ = torch.linalg.qr(torch.randn(5, 5, generator=gen(9)))
    a, b = TwoUnits(0), TwoUnits(0, rotate=Q)
    a.train()
    b.eval()
    np.testing.assert_allclose(cka_between(a, b, batches(), [1, 2]), 1.0, rtol=1e-6)  # dropout off
    assert a.training and not b.training  # each model's mode restored
    assert a.saw_inference_mode and all(a.saw_inference_mode + b.saw_inference_mode)


def test_cka_between_pairs_the_requested_units():
    a, b = TwoUnits(0), TwoUnits(1)
    a.eval()
    b.eval()
    acc = MinibatchCKA(2)
    with torch.no_grad():
        for x in batches():
            acc.update(a.unit_outputs(x), b.unit_outputs(x))
    both = acc.value()
    assert 0 < both.min() and both.max() < 0.999
    np.testing.assert_allclose(cka_between(a, b, batches(), [1, 2]), both, rtol=1e-10)
    np.testing.assert_allclose(cka_between(a, b, batches(), [2]), both[1:], rtol=1e-10)


def test_cka_between_refuses_unknown_units_and_no_batches():
    a, b = TwoUnits(0), TwoUnits(1)
    with pytest.raises(ValueError, match=r"1\.\.2"):
        cka_between(a, b, batches(), [0, 1])
    with pytest.raises(ValueError, match=r"1\.\.2"):
        cka_between(a, b, batches(), [3])
    with pytest.raises(ValueError, match="no batches"):
        cka_between(a, b, [], [1])


# ------------------------------------------------------------------ rank statistics
def test_the_module_loads_without_torch():
    """The analysis environment (claims, figures) has no torch: importing the module must not need it."""
    code = (
        "import sys; sys.modules['torch'] = None; from transferlab.analysis.cka import image_order; "
        "print(sorted(image_order(2).tolist()))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[0, 1]"


# ------------------------------------------------------------------ the figure
def figure_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    names = ["conv1", "conv2", "conv3"]
    cols = ["kind", "net", "treatment", "n", "unit", "cka", "replicate"]
    rows = [("bases", "baseA~baseB", "bases", 0, u, 1 - 0.2 * u + 0.01 * r, r) for u in (1, 2, 3) for r in (0, 1)]
    rows += [
        ("base_vs_ft", f"{k}{n}B-ft", t, n, u, 0.9 - 0.1 * u, 0)
        for k, t in (("B", "selffer_ft"), ("A", "transfer_ft"))
        for n in (1, 2, 3)
        for u in range(1, n + 1)
    ]
    cka = pd.DataFrame(rows, columns=cols).assign(split="random-0")
    cka["unit_name"] = [names[u - 1] for u in cka["unit"]]
    deltas = pd.DataFrame(
        {"n": [1, 2, 3], "delta": [0.0, -0.01, -0.05], "lo": [-0.01, -0.02, -0.07], "hi": [0.01, 0.0, -0.03]}
    )
    return cka, deltas


def test_cka_figure_writes_png_and_pdf(tmp_path):
    cka, deltas = figure_tables()
    cka_figure(cka, deltas, tmp_path / "cka.png", tmp_path / "cka.pdf", title="CKA")
    assert (tmp_path / "cka.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "cka.pdf").read_bytes()[:4] == b"%PDF"


def test_cka_figure_refuses_tables_it_cannot_draw(tmp_path):
    cka, deltas = figure_tables()
    with pytest.raises(ValueError, match=r"lacks the columns \['unit_name'\]"):
        cka_figure(cka.drop(columns="unit_name"), deltas, tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"lacks the columns \['hi', 'lo'\]"):
        cka_figure(cka, deltas.drop(columns=["lo", "hi"]), tmp_path / "x.png")
    with pytest.raises(ValueError, match="no rows of kind 'bases'"):
        cka_figure(cka[cka.kind != "bases"], deltas, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# ------------------------------------------------------------------ the workflow's measurement
def test_measure_pairs_networks_on_the_validation_images(prepared, tmp_path):
    """measure(): a net against an identical copy scores 1 at every unit, two different nets less; one row
    per (pair, unit), with the pair's fields carried; every validation image is used once."""
    from conftest import SMALL_ARCH

    from transferlab.analysis.cka import measure, val_batches
    from transferlab.io import save_torch
    from transferlab.nets.caffenet import make_arch
    from transferlab.nets.models import build_model

    arch = make_arch(**dict(SMALL_ARCH, num_classes=3, input_size=16))
    paths = {}
    for name, seed in (("baseA", 0), ("baseB", 1)):
        torch.manual_seed(seed)
        paths[name] = tmp_path / f"{name}.pt"
        save_torch({"arch": arch, "state_dict": build_model(arch).state_dict()}, paths[name])
    paths["A2B-ft"] = paths["baseA"]
    pairs = [
        {"kind": "bases", "a": "baseA", "b": "baseB", "n": 0, "units": [1, 2, 3]},
        {"kind": "base_vs_ft", "a": "baseA", "b": "A2B-ft", "n": 2, "units": [1, 2]},
    ]
    batches = list(val_batches(prepared / "prepared", 16, "channel", 7))
    n_val = len(np.load(prepared / "prepared/val_labels.npy"))
    assert sum(len(b) for b in batches) == n_val and min(len(b) for b in batches) > 3
    t = measure(paths, pairs, batches)
    assert list(t.columns) == ["kind", "a", "b", "n", "unit", "cka"] and len(t) == 5
    same = t[t.kind == "base_vs_ft"]
    assert same.cka.to_numpy() == pytest.approx(1.0, abs=1e-9)
    assert (t[t.kind == "bases"].cka < 0.999).all()
    with pytest.raises(ValueError, match=r"networks \['A3B-ft'\] that have no weights"):
        measure(paths, [dict(pairs[1], b="A3B-ft")], batches)


def _saved_nets(tmp_path, seeds: dict) -> dict:
    """name -> weights.pt of small CaffeNets (3 classes, 16 px) built from the given seeds."""
    from conftest import SMALL_ARCH

    from transferlab.io import save_torch
    from transferlab.nets.caffenet import make_arch
    from transferlab.nets.models import build_model

    arch = make_arch(**dict(SMALL_ARCH, num_classes=3, input_size=16))
    paths = {}
    for name, seed in seeds.items():
        torch.manual_seed(seed)
        paths[name] = tmp_path / f"{name}.pt"
        save_torch({"arch": arch, "state_dict": build_model(arch).state_dict()}, paths[name])
    return paths


# the workflow's pairs (cka_pairs): the bases at every unit, each fine-tuned net against its base at 1..n
NETS = {"baseA": 0, "baseB": 1, "A1B-ft": 2, "A2B-ft": 3, "B1B-ft": 4, "B2B-ft": 5}
PAIRS = [{"kind": "bases", "a": "baseA", "b": "baseB", "n": 0, "units": [1, 2, 3]}] + [
    {"kind": "base_vs_ft", "a": f"base{net[0]}", "b": net, "n": int(net[1]), "units": list(range(1, int(net[1]) + 1))}
    for net in ("A1B-ft", "A2B-ft", "B1B-ft", "B2B-ft")
]


def test_measure_holds_two_networks_at_a_time_and_matches_each_pair_alone(prepared, tmp_path, monkeypatch):
    """measure() of six networks never has more than two loaded (it loaded all six at once before), and each
    pair's values are exactly cka_between of the two networks over the same batches."""
    import gc
    import weakref

    import transferlab.nets.models as ttrain
    from transferlab.analysis.cka import measure, val_batches

    paths = _saved_nets(tmp_path, NETS)
    batches = list(val_batches(prepared / "prepared", 16, "channel", 7))
    real_load, alive, peak = ttrain.load_model, [], [0]

    def counting_load(weights):
        model = real_load(weights)
        alive.append(weakref.ref(model))
        peak[0] = max(peak[0], sum(r() is not None for r in alive))
        return model

    gc.disable()  # a model kept only by a reference cycle counts as alive, as it would hold its memory
    try:
        monkeypatch.setattr(ttrain, "load_model", counting_load)
        t = measure(paths, PAIRS, batches)
    finally:
        gc.enable()
    # baseA with each of its pairs' networks in turn (baseB, A1B, A2B), then baseB with B1B, B2B
    assert peak[0] == 2 and len(alive) == 1 + 3 + 1 + 2
    monkeypatch.setattr(ttrain, "load_model", real_load)
    assert len(t) == 3 + 1 + 2 + 1 + 2 and list(t.b.unique()) == [p["b"] for p in PAIRS]  # in the pairs' order
    for p in PAIRS:
        alone = cka_between(real_load(paths[p["a"]]), real_load(paths[p["b"]]), batches, p["units"])
        np.testing.assert_array_equal(t[t.b == p["b"]].cka.to_numpy(), alone)


def test_measure_reads_the_batches_once_per_pair(prepared, tmp_path):
    """A function returning the batches (the workflow's) gives what a list does; a one-shot iterator, which
    the second pair would find empty, is refused before any network is loaded."""
    import functools

    from transferlab.analysis.cka import measure, val_batches

    paths = _saved_nets(tmp_path, NETS)
    make = functools.partial(val_batches, prepared / "prepared", 16, "channel", 7)
    pd.testing.assert_frame_equal(measure(paths, PAIRS, make), measure(paths, PAIRS, list(make())))
    with pytest.raises(ValueError, match="a list or a function returning the batches.*not a one-shot generator"):
        measure(paths, PAIRS, make())


def test_validation_batches_are_cut_on_the_host_and_normalised_on_the_device(prepared):
    """The uint8 crops cross to the job's device and the transform runs there ("meta" stands in for a GPU)."""
    from transferlab.analysis.cka import val_batches

    on_cpu = list(val_batches(prepared / "prepared", 16, "channel", 7))
    on_device = list(val_batches(prepared / "prepared", 16, "channel", 7, device="meta"))
    assert [b.device.type for b in on_device] == ["meta"] * len(on_cpu)
    assert [b.shape for b in on_device] == [b.shape for b in on_cpu] and on_device[0].dtype == torch.float32


def test_the_workflow_measurement_runs_on_the_jobs_claimed_device(prepared, tmp_path, monkeypatch):
    """measure_split(device="cuda") claims the device as training does (transferlab.training.devices.job_device), runs
    the batches and the networks there, and releases it before writing; the values are the CPU's."""
    import json

    from transferlab.analysis import cka
    from transferlab.training import devices

    paths = _saved_nets(tmp_path, NETS)
    (tmp_path / "train.json").write_text(json.dumps({"train": {"crop_size": 16, "normalize": "channel"}}))
    used = []
    claims, fake_job_device = recording_job_device()

    real_measure = cka.measure

    def spy(weights, pairs, batches, threads=1, device="cpu"):
        used.append((device, next(iter(batches())).device, claims[-1][1]))
        return real_measure(weights, pairs, batches, threads, device)

    monkeypatch.setattr(devices, "job_device", fake_job_device)
    monkeypatch.setattr(cka, "measure", spy)
    t = cka.measure_split(
        weights=paths,
        pairs=PAIRS,
        prepared_dir=prepared / "prepared",
        meta_file=tmp_path / "train.json",
        batch_size=7,
        units=["conv1", "conv2", "conv3"],
        split="random-0",
        replicate=0,
        out=tmp_path / "cka.parquet",
        device="cuda",
    )
    assert claims == [["cuda", "released"]] and used == [("cpu:0", torch.device("cpu"), "held")]
    expected = real_measure(paths, PAIRS, list(cka.val_batches(prepared / "prepared", 16, "channel", 7)))
    np.testing.assert_array_equal(t.cka.to_numpy(), expected.cka.to_numpy())
    assert list(t.columns[:2]) == ["split", "replicate"] and list(t.unit_name[:3]) == ["conv1", "conv2", "conv3"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cka.parquet"), t)


# ------------------------------------------------------------------ batches are random samples of the images
def class_ordered(classes: int = 40, per_class: int = 50, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of images stored class by class (as prepared validation images are): each class has its
    own mean in both representations, X's and Y's class means unrelated beyond a shared part."""
    g = gen(seed)
    shared = randn(classes, 8, g=g)
    mx = torch.cat([shared, randn(classes, 8, g=g)], 1)
    my = torch.cat([shared @ randn(8, 8, g=g), 3 * randn(classes, 8, g=g)], 1)
    lab = torch.arange(classes).repeat_interleave(per_class)
    X = mx[lab] + 2.0 * randn(len(lab), 16, g=g)
    Y = my[lab] + 2.0 * randn(len(lab), 16, g=g)
    return X, Y


def test_batches_are_random_samples_so_minibatch_cka_matches_full_batch():
    """With validation images stored class by class, the workflow's batches (batch_rows) mix the classes,
    and minibatch CKA over them lands within 0.02 of full-batch unbiased CKA; consecutive class-blocked
    batches (5 classes in 250 images) do not: the bug this order fixes."""
    from transferlab.analysis.cka import batch_rows, cka_unbiased

    X, Y = class_ordered()
    full = cka_unbiased(X, Y)
    rows = batch_rows(len(X), 250)
    assert sorted(np.concatenate(rows)) == list(range(len(X)))  # every image once
    lab = np.arange(40).repeat(50)
    assert min(len(set(lab[r])) for r in rows) >= 25  # classes mixed in every batch
    acc = MinibatchCKA(1)
    for r in rows:
        acc.update([X[r]], [Y[r]])
    assert abs(float(acc.value()[0]) - full) < 0.02, (acc.value(), full)
    blocked = minibatch(X, Y, 250)
    assert abs(blocked - full) > 0.1, (blocked, full)


def test_batch_rows_is_one_fixed_order_for_every_network():
    from transferlab.analysis.cka import batch_rows

    a, b = batch_rows(1003, 250), batch_rows(1003, 250)
    assert all((x == y).all() for x, y in zip(a, b, strict=True)) and [len(x) for x in a] == [250, 250, 250, 253]
