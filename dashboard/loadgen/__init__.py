"""The load generator: bursts of concurrent requests and sustained load, sent from a process of
their own to the servers registered as targets."""
