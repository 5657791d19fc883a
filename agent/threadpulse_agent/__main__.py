"""`python -m threadpulse_agent --collector udp://HOST:PORT -- COMMAND ...` (runner.py)."""

import sys

from threadpulse_agent.runner import main

sys.exit(main())
