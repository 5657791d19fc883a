"""The load generator: bursts of concurrent requests, fired from a process of their own."""
