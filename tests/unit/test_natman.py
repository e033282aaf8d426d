import subprocess
import sys

import pytest

from transferlab.data import splits

NATURAL = {
    "n02123045": "tabby cat",
    "n09472597": "volcano",
    "n07753592": "banana",
    "n07802026": "hay",
    "n01443537": "goldfish",
    "n07734744": "mushroom",
    "n09256479": "coral reef",
}
MAN_MADE = {
    "n07873807": "pizza",
    "n07920052": "espresso",
    "n06794110": "street sign",
    "n15075141": "toilet tissue",
    "n02814860": "beacon",
    "n03404251": "fur coat",
}


@pytest.fixture(scope="module")
def wn():
    return splits.load_wordnet()


@pytest.mark.parametrize("wnid", sorted(NATURAL))
def test_natural(wn, wnid):
    assert splits.is_natural(wn, wnid), NATURAL[wnid]


@pytest.mark.parametrize("wnid", sorted(MAN_MADE))
def test_man_made(wn, wnid):
    assert not splits.is_natural(wn, wnid), MAN_MADE[wnid]


def test_halves_and_names(wn):
    s = splits.natman_halves(list(NATURAL) + list(MAN_MADE), wn)
    assert s["A"] == sorted(NATURAL) and s["B"] == sorted(MAN_MADE)
    assert s["names"] == {"A": "natural", "B": "man-made"}


def test_unknown_wnid_is_named(wn):
    with pytest.raises(splits.SplitError, match="n00000042"):
        splits.natman_halves(["n00000042", "n02123045"], wn)


def test_one_sided_split_is_rejected(wn):
    with pytest.raises(splits.SplitError, match="leaves a half empty"):
        splits.natman_halves(sorted(NATURAL), wn)


def test_missing_wordnet_gives_install_advice(tmp_path):
    code = (
        "import nltk\nnltk.download = lambda *a, **k: False\n"
        "from transferlab.data.splits import load_wordnet, SplitError\n"
        "try:\n    load_wordnet()\nexcept SplitError as e:\n    print(e); raise SystemExit(3)\n"
    )
    env = {"NLTK_DATA": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "nltk.downloader wordnet" in r.stdout


def test_imagenet_1k_lands_next_to_the_papers_449_551(wn):
    """The paper's halves were 449 natural / 551 man-made; the rule differs by mashed potato."""
    from importlib import resources

    text = resources.files("transferlab.reference").joinpath("imagenet1k_wnids.txt").read_text()
    wnids = text.split()
    assert len(set(wnids)) == 1000
    s = splits.natman_halves(wnids, wn)
    assert (len(s["A"]), len(s["B"])) == (450, 550)
    assert "n07711569" in s["A"]  # mashed potato: WordNet files it under potato (produce)
