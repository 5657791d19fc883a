"""The user's own `dashboard`, a helper of their `workload` app."""


def greeting() -> str:
    return "served by the user's own workload and dashboard"
