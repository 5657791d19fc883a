"""The server manager: runs the workload under a chosen server mode, one at a time."""
