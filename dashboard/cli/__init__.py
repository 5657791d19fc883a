"""The command line: `threadpulse` (installed) and `run.py` (a checkout) parse the same flags into
the dashboard's Config (run_config.py checks them and reads the files they name) and serve."""
