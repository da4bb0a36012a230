"""The one error type of the data readers (its own module, so readers can share it without cycles)."""


class DataError(Exception):
    """A dataset could not be loaded; the message says what to do."""
