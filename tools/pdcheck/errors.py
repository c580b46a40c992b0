"""Errors that stop a run with exit code 2 (input pdcheck cannot read, or bad usage)."""

INPUT_ERROR_ID = "input-error"  # how the reports name an input that could not be checked, where they need an id


class InputError(Exception):
    """Input that cannot be read: one line naming the file, exit code 2."""

    def __init__(self, file: str | None, message: str):
        self.file = file
        self.message = message
        super().__init__(f"{file}: {message}" if file else message)
