"""The user's own data: an image folder of any class names and image sizes (``dataset: imagefolder``),
and the user's own A/B halves (config ``splits``), checked with one clear error each."""

import io
import json
import os

import numpy as np
import pytest
from conftest import FOLDER_CLASSES, make_fake_folder
from PIL import Image

from transferlab.data import datasets as data
from transferlab.data import splits

QUIET = io.StringIO()  # prepare_arrays progress lines


@pytest.fixture
def folder(tmp_path):
    return make_fake_folder(tmp_path / "images")


# ------------------------------------------------------------------ the image folder source
def test_imagefolder_reads_any_class_names_and_image_sizes(folder, tmp_path):
    sizes = {Image.open(p).size for p in folder.rglob("*.*")}
    assert len(sizes) > 10 and {p.suffix for p in folder.rglob("*.*")} == {".jpg", ".png"}
    src = data.open_source("imagefolder", folder)
    assert isinstance(src, data.ImageFolder) and src.wnids() == sorted(FOLDER_CLASSES)
    assert src.train_members("dog") == [f"train/dog/{i}.{'png' if i % 2 else 'jpg'}" for i in range(8)]
    assert {c: len(m) for c, m in src.val_members().items()} == {c: 3 for c in FOLDER_CLASSES}

    classes = data.write_class_list("imagefolder", folder, 0, 0, tmp_path / "classes.json")
    assert classes == sorted(FOLDER_CLASSES)
    meta = data.prepare_arrays("imagefolder", folder, classes, tmp_path / "prepared", 16, log=QUIET)
    train = np.load(tmp_path / "prepared/train_images.npy")
    val = np.load(tmp_path / "prepared/val_images.npy")
    assert train.shape == (6 * 8, 16, 16, 3) and val.shape == (6 * 3, 16, 16, 3) and train.dtype == np.uint8
    assert meta["wnids"] == sorted(FOLDER_CLASSES) and meta["n_train"] == 48
    assert np.load(tmp_path / "prepared/train_labels.npy").tolist() == [c for c in range(6) for _ in range(8)]
    # each stored image is the file warped to the square, as Tiny ImageNet's are
    first = Image.open(folder / "train/apple/0.jpg").convert("RGB").resize((16, 16), Image.BILINEAR)
    assert np.array_equal(train[0], np.asarray(first))
    # random halves of names that are not WordNet ids: the authors' recipe on the sorted names
    split = splits.write_random_split(tmp_path / "classes.json", 0, tmp_path / "split.json")
    assert sorted(split["A"] + split["B"]) == sorted(FOLDER_CLASSES) and len(split["A"]) == 3
    half = data.write_half(tmp_path / "prepared", tmp_path / "split.json", "A", tmp_path / "A.npz", dev_per_class=2)
    assert half["wnids"] == split["A"] and len(half["train_idx"]) == 3 * 6 and len(half["val_idx"]) == 9


def test_imagenet_is_the_image_folder_reader_requiring_wordnet_ids(folder):
    assert issubclass(data.ImageFolderNet, data.ImageFolder)
    with pytest.raises(data.DatasetError, match=r"class folders that are not WordNet ids .*'apple'"):
        data.open_source("imagenet", folder)


@pytest.mark.parametrize(
    "remove, message",
    [
        (
            ["val"],
            "image folder root {root} must hold train/<class>/*.JPEG and val/<class>/*.JPEG (torchvision "
            "ImageFolder layout); found train/: True, val/: False",
        ),
        (["train"], "found train/: False, val/: True"),
        (
            ["val/cloud"],
            "{root}/val: no validation folder for 1 class(es) of train/, e.g. ['cloud']; expected "
            "val/<class>/ for every train/<class>/",
        ),
        (
            [f"train/elm/{i}.{'png' if i % 2 else 'jpg'}" for i in range(8)],
            "{root}/train: no images for 1 class(es), e.g. ['elm']; expected train/<class>/*.JPEG (or .jpg, .png)",
        ),
        (
            ["val/fork/0.jpg", "val/fork/1.png", "val/fork/2.jpg"],
            "{root}/val: no images for 1 class(es), e.g. ['fork']",
        ),
    ],
    ids=["no_val", "no_train", "class_missing_from_val", "train_class_without_images", "val_class_without_images"],
)
def test_imagefolder_layout_errors(tmp_path, remove, message):
    import shutil

    root = make_fake_folder(tmp_path / "images")
    for rel in remove:
        (shutil.rmtree if (root / rel).is_dir() else os.remove)(root / rel)
    with pytest.raises(data.DatasetError) as e:
        data.write_class_list("imagefolder", root, 0, 0, tmp_path / "classes.json")
    assert message.format(root=root) in str(e.value), str(e.value)
    assert not (tmp_path / "classes.json").exists()


def test_imagefolder_without_class_folders(tmp_path):
    (tmp_path / "r/train").mkdir(parents=True)
    (tmp_path / "r/val").mkdir()
    with pytest.raises(data.DatasetError, match=r"holds no class folders; expected train/<class>/"):
        data.open_source("imagefolder", tmp_path / "r")


# ------------------------------------------------------------------ the user's own halves
CLASSES = sorted(FOLDER_CLASSES)


def _split_file(tmp_path, content):
    f = tmp_path / "my_split.json"
    f.write_text(content if isinstance(content, str) else json.dumps(content))
    return f


def test_custom_split_accepted_and_written(tmp_path):
    f = _split_file(tmp_path, {"A": ["dog", "apple", "elm"], "B": ["fork", "bicycle", "cloud"]})
    assert splits.check_custom_split("dissimilar", f, CLASSES) == {
        "A": ["apple", "dog", "elm"],
        "B": ["bicycle", "cloud", "fork"],
    }
    (tmp_path / "classes.json").write_text(json.dumps({"wnids": CLASSES}))
    out = splits.write_custom_split(tmp_path / "classes.json", "dissimilar", f, tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text()) == out and out["kind"] == "custom"
    # uneven halves are the user's choice
    f2 = _split_file(tmp_path, {"A": ["dog"], "B": [c for c in CLASSES if c != "dog"]})
    assert splits.check_custom_split("odd_one_out", f2, CLASSES)["A"] == ["dog"]


BAD_SPLITS = [
    (
        {"A": ["apple", "bicycle", "cloud", "dog"], "B": ["dog", "elm", "fork"]},
        'halves A and B are not disjoint: 1 class(es) in both, ["dog"]',
    ),
    (
        {"A": ["apple", "bicycle"], "B": ["dog", "elm", "fork"]},
        'not complete: 1 of the dataset\'s 6 selected classes are in neither half, ["cloud"]; expected every class in '
        "exactly one half",
    ),
    (
        {"A": ["apple", "bicycle", "cloud", "zebra"], "B": ["dog", "elm", "fork"]},
        '1 class(es) that are not among the dataset\'s 6 selected classes: ["zebra"]',
    ),
    ({"A": [], "B": CLASSES}, "half A is empty; expected at least one class in each half"),
    ({"A": CLASSES, "B": []}, "half B is empty; expected at least one class in each half"),
    (
        {"A": ["apple", "apple", "bicycle", "cloud"], "B": ["dog", "elm", "fork"]},
        'half A lists ["apple"] more than once',
    ),
    ({"A": CLASSES[:3]}, 'expected an object with exactly the keys "A" and "B" (class lists), got [\'A\']'),
    ({"A": "apple", "B": CLASSES[1:]}, 'half A must be a list of class names (strings), got "apple"'),
    ("{not json", "not valid JSON"),
]


@pytest.mark.parametrize(
    "content, message",
    BAD_SPLITS,
    ids=[
        "not_disjoint",
        "not_complete",
        "unknown_class",
        "empty_A",
        "empty_B",
        "twice",
        "no_B",
        "not_a_list",
        "not_json",
    ],
)
def test_bad_custom_split(tmp_path, content, message):
    f = _split_file(tmp_path, content)
    with pytest.raises(splits.SplitError) as e:
        splits.check_custom_split("dissimilar", f, CLASSES)
    assert str(e.value).startswith(f"config splits.dissimilar ({f}): ")  # names the key and the file
    assert message in str(e.value), str(e.value)


def test_custom_split_classes_outside_the_selection_are_named_with_it(tmp_path):
    f = _split_file(tmp_path, {"A": ["apple"], "B": ["bicycle", "cloud"]})
    with pytest.raises(
        splits.SplitError,
        match=r"not among the dataset's 2 selected classes \(data.classes=2, "
        r"class_seed=0\): \[\"apple\"\]",
    ):
        splits.check_custom_split("dissimilar", f, ["bicycle", "cloud"], " (data.classes=2, class_seed=0)")


def test_custom_split_structure_checked_without_the_class_list(tmp_path):
    """Before the data is there (Tiny ImageNet to be downloaded) the file's own problems are still caught."""
    f = _split_file(tmp_path, {"A": ["x", "y"], "B": ["y"]})
    with pytest.raises(splits.SplitError, match="not disjoint"):
        splits.check_custom_split("dissimilar", f)
    ok = _split_file(tmp_path, {"A": ["x"], "B": ["y"]})
    assert splits.check_custom_split("dissimilar", ok) == {"A": ["x"], "B": ["y"]}


@pytest.mark.parametrize("name", ["natman", "all", "random-0", "Dissimilar", "my-split"])
def test_custom_split_names_that_cannot_be_used(tmp_path, name):
    f = _split_file(tmp_path, {"A": ["x"], "B": ["y"]})
    with pytest.raises(splits.SplitError, match=rf"config splits.{name}: a split name must be lower-case letters"):
        splits.check_custom_split(name, f)


def test_custom_split_file_missing(tmp_path):
    with pytest.raises(splits.SplitError, match=r"config splits.dissimilar \(.*nope.json\): cannot read the file"):
        splits.check_custom_split("dissimilar", tmp_path / "nope.json", CLASSES)


# ------------------------------------------------------------------ Figure 3 with the user's split
def test_figure3_draws_the_users_split(tmp_path):
    import pandas as pd

    from transferlab.analysis.plots import fig3, fig3_frames
    from transferlab.training.evaluate import COLUMNS
    from unit.test_tables import row

    rows = [
        row("custom_split", "base", 0, 0.6, target="A", split="dissimilar"),
        row("custom_split", "base", 0, 0.5, target="B", split="dissimilar"),
    ]
    for n in range(1, 8):
        rows += [
            row("custom_split", "transfer", n, 0.6 - 0.02 * n, target="A", base_task="B", split="dissimilar"),
            row("custom_split", "transfer", n, 0.5 - 0.01 * n, target="B", base_task="A", split="dissimilar"),
        ]
    df = pd.DataFrame(rows).astype(COLUMNS)
    fr = fig3_frames(df)
    assert set(fr) == {"custom_split"}
    own = fr["custom_split"].set_index(["split", "target_task", "n"])
    assert own.loc[("dissimilar", "A", 3), "delta"] == pytest.approx(-0.06)
    assert own.loc[("dissimilar", "B", 7), "source_task"] == "A"
    assert own.loc[("dissimilar", "B", 7), "base"] == pytest.approx(0.5)
    fig3(df, tmp_path / "f3.png")
    assert (tmp_path / "f3.png").stat().st_size > 5000
