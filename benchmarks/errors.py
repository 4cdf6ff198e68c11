"""The one exception type for mistakes the user can fix (bad file, grid or flag).

The CLI prints it as a single line and exits non-zero; anything else is a bug and keeps
its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""
