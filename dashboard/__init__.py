"""Threadpulse's dashboard: collects agent datagrams, models them and streams them to browsers."""

__version__ = "0.1.0"
