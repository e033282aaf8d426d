"""The project's known failures, torch-free, so that every layer (and every thin script) can raise and
recognise them by type.  A script turns any ``TransferlabError`` into one line in its log."""


class TransferlabError(Exception):
    """A failure the user can act on: its message names what is wrong and what was expected."""


class InvalidConfig(TransferlabError, ValueError):
    """The config does not match its schema or its cross-field rules."""


class ConfigError(TransferlabError, ValueError):
    """A training or batching setting that cannot work with the data or the device."""


class DatasetError(TransferlabError, ValueError):
    """The dataset is missing or not in the expected layout."""


class SplitError(TransferlabError, ValueError):
    """A class split file is malformed or does not fit the dataset."""


class ArchError(TransferlabError, ValueError):
    """An architecture setting the model family cannot build."""


class TransferError(TransferlabError, ValueError):
    """Weights copied into a derived network do not match what its name asks for."""


class PairingError(TransferlabError, ValueError):
    """A network cannot be paired with its own base in the results table."""


class CorruptCheckpoint(TransferlabError, RuntimeError):
    """A weights or checkpoint file is truncated, altered or not what it claims to be."""


class NoFreeDevice(TransferlabError, RuntimeError):
    """No GPU could be claimed for a job that needs one."""


class PreflightError(TransferlabError, RuntimeError):
    """A check before training (device, data, memory) failed."""


class TrainingDiverged(TransferlabError, RuntimeError):
    """The loss became non-finite."""


class RunExists(TransferlabError, FileExistsError):
    """A run folder already holds results that an operation would replace without being asked to."""
