"""What the server manager and the scenes tell the model (model/headers.py), bounded as checked."""

from __future__ import annotations

from dashboard.model.headers import MAX_CAPACITY, MAX_SLOTS
from dashboard.servers.modes import REGISTRY


def test_the_slot_bounds_hold_the_largest_pool_a_mode_offers():
    """A recording's server info is checked against these bounds: the largest pool a real mode
    offers must pass, or a recording of it could not be replayed."""
    for mode in REGISTRY.values():
        most = {param.name: param.maximum for param in mode.params}
        assert (mode.capacity(most) or 0) <= MAX_CAPACITY
        assert all(param.maximum <= MAX_SLOTS for param in mode.params)
