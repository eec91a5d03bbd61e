"""User-facing errors: one line that names the problem and the fix."""


class GanlabError(Exception):
    """A mistake in the user's input or setup (not a bug); the CLI prints it as one line, no traceback."""


class DatasetNotFoundError(GanlabError, FileNotFoundError):
    """The dataset folder or files are missing."""


class DivergedError(GanlabError):
    """Training produced a non-finite loss or non-finite weights; the run stops before saving them."""


class RunDirInUseError(GanlabError):
    """The run directory belongs to another run; nothing may be written there, not even results.json."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__
