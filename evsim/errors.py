"""User-facing errors.

Anything a user can cause (a bad file, a bad option, data that does not fit the model) raises
`EvsimError` with a one-line message saying what is wrong and where.  The CLI prints that line
and exits with code 2; nothing else in evsim catches it.
"""


class EvsimError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""
