"""What the command-line scripts in training/ and deploy/ share."""

import sys


def run_script(main, argv=None):
    """Runs a script's `main`; a user error exits 2 with one line, no traceback.

    The package raises `FileNotFoundError` and `ValueError` with messages
    naming the argument, file and value; a person at a terminal needs those
    lines, not the stack under them.

    Args:
        main: callable `argv -> exit status`.
        argv: list of str or None (`sys.argv[1:]`).

    Returns:
        int, the exit status: `main`'s, or 2 after a user error.
    """
    try:
        return main(argv)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
