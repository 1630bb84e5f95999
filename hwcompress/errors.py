"""The one exception type users see: a problem and its fix, printed as one line by the CLI."""


class HwcompressError(Exception):
    """A user-facing error; ``str(err)`` is a complete sentence naming the problem and, where known, the fix.

    Example:
        >>> raise HwcompressError("flows/a.yaml: unknown key 'train.epohcs'; did you mean 'train.epochs'?")
    """


class ConfigError(HwcompressError):
    """A flow or board file that cannot be read or does not validate."""


class DatasetError(HwcompressError):
    """A dataset that is missing, truncated or malformed."""
