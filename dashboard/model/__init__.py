"""The dashboard's model of the watched server: pure data, fed events, no I/O."""
