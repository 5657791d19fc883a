"""Targets: load goes only to servers registered by whoever runs them, and only while they live."""

from __future__ import annotations

import pytest

from dashboard.loadgen.targets import Targets, UnknownTarget
from dashboard.loadspec.limits import BadLoadRequest
from dashboard.loadspec.targets import TargetName
from tests.support import Dashboard


def test_the_default_target_is_the_managed_server_else_the_only_one():
    """Contract 13: with no `server` named, load goes to the managed server if one runs."""
    targets = Targets()
    targets.add("host:41", "http://127.0.0.1:9001/")
    assert targets.resolve() == ("host:41", "http://127.0.0.1:9001")
    targets.add(TargetName.MANAGED, "http://127.0.0.1:9002")
    assert targets.resolve() == (TargetName.MANAGED, "http://127.0.0.1:9002")
    assert targets.resolve("host:41") == ("host:41", "http://127.0.0.1:9001")
    targets.remove(TargetName.MANAGED)
    targets.add("host:42", "http://127.0.0.1:9003")
    with pytest.raises(BadLoadRequest, match="several servers serve; name one as server: host:41, host:42"):
        targets.resolve()


def test_an_unknown_or_removed_id_is_refused_as_unknown():
    targets = Targets()
    with pytest.raises(BadLoadRequest, match="no workload server is serving"):
        targets.resolve()
    targets.add("a", "http://127.0.0.1:9001")
    targets.remove("a")
    with pytest.raises(UnknownTarget, match="no server 'a' to send load to"):
        targets.resolve("a")
    with pytest.raises(BadLoadRequest, match="server must be a server id"):
        targets.resolve(7)


def test_a_target_that_is_no_longer_alive_gets_no_load_before_it_is_removed():
    """The life rule for bursts, kept for every target: a server that died between two housekeeping
    rounds is not sent to, as its port may already be someone else's."""
    targets = Targets()
    alive = [True]
    targets.add(TargetName.MANAGED, "http://127.0.0.1:9001", alive=lambda: alive[0])
    assert targets.resolve()[0] == TargetName.MANAGED
    alive[0] = False
    with pytest.raises(BadLoadRequest, match="no workload server is serving"):
        targets.resolve()
    with pytest.raises(UnknownTarget):
        targets.resolve(TargetName.MANAGED)


def test_a_server_held_from_load_says_why_until_it_is_a_target():
    """Issue 17, fault 5: a launched server on several ports is no target until --target names
    one; load then says so, not that no server serves."""
    targets = Targets()
    targets.hold("launched", "your server listens on several ports (:1, :2); ... --target")
    with pytest.raises(BadLoadRequest, match=r"several ports \(:1, :2\); ... --target$"):
        targets.resolve()
    targets.add("launched", "http://127.0.0.1:2")
    assert targets.resolve() == ("launched", "http://127.0.0.1:2")
    targets.remove("launched")
    with pytest.raises(BadLoadRequest, match="no workload server is serving"):
        targets.resolve()


def test_a_target_must_be_an_http_url():
    with pytest.raises(ValueError, match="http://"):
        Targets().add("x", "file:///etc/passwd")


@pytest.mark.integration
def test_load_naming_a_server_that_is_not_a_target_gets_409_and_records_nothing():
    """The managed server registers when it serves; any other id is a 409 JSON error, for bursts and
    sustained load alike, and no run is made."""
    dashboard = Dashboard()
    try:
        dashboard.wait_serving(60)
        burst = dashboard.post("/api/load", {"endpoint": "hello", "count": 1, "server": "10.0.0.9:1"})
        sustained = dashboard.post(
            "/api/load/sustained", {"path": "/", "connections": 1, "seconds": 1, "server": "x"}
        )
        assert (burst.status_code, sustained.status_code) == (409, 409)
        assert (
            "no server '10.0.0.9:1'" in burst.json()["error"]
            and "(targets: managed)" in burst.json()["error"]
        )
        assert dashboard.get("/api/state").json()["runs"] == []
        named = dashboard.post("/api/load", {"endpoint": "hello", "count": 1, "server": TargetName.MANAGED})
        assert named.status_code == 202
        assert dashboard.wait_run(named.json()["run"])["done"] == 1
    finally:
        dashboard.stop_leaving_nothing()
