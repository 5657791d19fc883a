#!/usr/bin/env python3
"""`make run` in a checkout: the same command as the installed `threadpulse` (dashboard/cli/run.py)."""

from dashboard.cli.run import main

if __name__ == "__main__":
    main()
