"""`python -m dashboard.orphan_guard ARGV...`: run ARGV, dying with the process that started it.

PR_SET_PDEATHSIG survives exec, so the server (and its group, by gunicorn's own shutdown) gets
SIGTERM when the dashboard exits for any reason, even `kill -9`.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m dashboard.orphan_guard PROGRAM [ARGS...]")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before prctl took effect
        sys.exit(1)
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
