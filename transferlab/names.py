"""The one rule for network names: ``base<H>`` for a base trained on half H, ``<S><n><T>-frozen|ft`` for
a network trained on half T whose first n units come from source S (a half, or ``R`` for random).
Every name is built by :func:`base_name` / :func:`net_name` and read by :func:`parse_net`; torch-free."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transferlab.errors import TransferError

HALF_PATTERN, N_PATTERN, MODE_PATTERN = r"[A-Z]", r"[1-9][0-9]?", r"frozen|ft"
NET_RE = re.compile(
    rf"^(?:base(?P<base>{HALF_PATTERN})|(?P<src>{HALF_PATTERN})(?P<n>{N_PATTERN})(?P<tgt>{HALF_PATTERN})"
    rf"-(?P<mode>{MODE_PATTERN}))$"
)
# the same without anchors and group names: wildcard constraints of the workflow
BASE_PATTERN = rf"base{HALF_PATTERN}"
DERIVED_PATTERN = rf"{HALF_PATTERN}{N_PATTERN}{HALF_PATTERN}-(?:{MODE_PATTERN})"
NET_PATTERN = rf"(?:{BASE_PATTERN}|{DERIVED_PATTERN})"
RANDOM_SOURCE = "R"

# what the paper calls each treatment (its Figure 2 legend); every table and figure labels through this
TREATMENT_LABELS = {
    "base": "base",
    "selffer": "BnB",
    "selffer_ft": "BnB+",
    "transfer": "AnB",
    "transfer_ft": "AnB+",
}


def base_name(half: str) -> str:
    """``baseA`` for half ``A``."""
    return parse_net(f"base{half}").name


def net_name(source: str, n: int, target: str, fine_tuned: bool) -> str:
    """``A3B-frozen`` for source A, n = 3, target B, frozen; ``R2A-frozen`` for random layers."""
    return parse_net(f"{source}{n}{target}-{'ft' if fine_tuned else 'frozen'}").name


@dataclass(frozen=True)
class NetSpec:
    """A network of the design, parsed from its name (e.g. ``A3B-frozen``)."""

    name: str
    target: str  # half trained on
    source: str | None  # half the copied layers come from ('R' = random), None for base
    n: int  # number of copied layers, 0 for base
    fine_tuned: bool

    @property
    def is_base(self) -> bool:
        return self.n == 0

    @property
    def base(self) -> str | None:
        """The base network a derived net copies from; None for bases and random sources."""
        return None if self.is_base or self.source == RANDOM_SOURCE else base_name(self.source)

    @property
    def treatment(self) -> str:
        if self.is_base:
            return "base"
        if self.source == RANDOM_SOURCE:
            kind = "random"
        elif self.source == self.target:
            kind = "selffer"
        else:
            kind = "transfer"
        return kind + ("_ft" if self.fine_tuned else "")

    @property
    def frozen_layers(self) -> int:
        return 0 if self.fine_tuned else self.n


def parse_net(name: str) -> NetSpec:
    m = NET_RE.fullmatch(name)
    if not m:
        raise TransferError(
            f"network name {name!r} is not of the form 'base<H>' or '<S><n><T>-frozen|ft' (e.g. 'A3B-frozen')"
        )
    if m.group("base"):
        return NetSpec(name, m.group("base"), None, 0, True)
    return NetSpec(name, m.group("tgt"), m.group("src"), int(m.group("n")), m.group("mode") == "ft")
