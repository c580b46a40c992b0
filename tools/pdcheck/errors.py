"""Errors that stop a run with exit code 2 (input pdcheck cannot read, or bad usage)."""


class InputError(Exception):
    """Input that cannot be read: one line naming the file, exit code 2."""

    def __init__(self, file: str | None, message: str):
        self.file = file
        self.message = message
        super().__init__(f"{file}: {message}" if file else message)
