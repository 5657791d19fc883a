"""The registry of server modes, and every mode on a real server switched live through
`POST /api/server`: the law cases and the green modes come from the registry, not from a list here.

One dashboard serves the integration tests; each switches it to the mode it needs, so the switch
itself (old tree gone, new one serving) is exercised between every two tests.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import textwrap

import psutil
import pytest

from dashboard.app import create_app
from dashboard.children import Spawner
from dashboard.config import Config
from dashboard.servers import modes as modes_package
from dashboard.servers.manager import ServerManager, StartError
from dashboard.servers.mode import LawCase, Mode
from dashboard.servers.modes import REGISTRY, discover
from dashboard.servers.modes.flask_dev import FlaskDevSerial
from tests.cores import parallel_cpu_pct
from tests.support import ROOT, Dashboard, alive, wait_for

integration = pytest.mark.integration

# Every burst a mode promises the law for; the modes without an OS thread per task.
LAW_CASES = [(name, case) for name, mode in REGISTRY.items() for case in mode.law_cases if case.tested]
GREEN = [name for name, mode in REGISTRY.items() if mode.task_kind != "thread"]
README_TABLE = ("<!-- modes: generated from the registry", "<!-- end of modes -->")


def test_a_mode_module_dropped_into_the_package_is_found_in_its_order(tmp_path, monkeypatch):
    """Issue 9: adding a mode is adding one module; the registry imports no mode by name."""
    package = tmp_path / "dropped_modes"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("from dashboard.servers.mode import Mode, WorkersTimesThreads\n")
    for module, name, order in (("late", "zeta", 1), ("early", "alpha", 2)):
        (package / f"{module}.py").write_text(
            textwrap.dedent(f"""
                from dashboard.servers.mode import WorkersTimesThreads
                class Dropped(WorkersTimesThreads):
                    name = {name!r}
                    order = {order}
            """)
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover("dropped_modes")
    assert list(found) == ["zeta", "alpha"]
    assert all(isinstance(mode, Mode) for mode in found.values())


def test_every_mode_class_of_the_package_is_registered_in_a_stable_order():
    """No mode is skipped silently (a class without a `name` would be), and the page's order
    comes from each mode's own `order`, never from the file names."""
    orders = [mode.order for mode in REGISTRY.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    registered = {type(mode) for mode in REGISTRY.values()}
    for info in pkgutil.iter_modules(modes_package.__path__, f"{modes_package.__name__}."):
        module = importlib.import_module(info.name)
        defined = {
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Mode) and value.__module__ == module.__name__
        }
        assert defined <= registered, info.name


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_mode_states_a_law_case_its_capacity_agrees_with(name):
    """Each mode brings the burst it is tested with; the capacity it states is the one it computes,
    and the burst is larger than a bounded pool, so that some requests must queue."""
    mode = REGISTRY[name]
    assert any(case.tested for case in mode.law_cases)
    for case in mode.law_cases:
        assert mode.capacity(mode.validate(dict(case.params))) == case.capacity, case
        if case.tested and case.capacity is not None:
            assert case.count > case.capacity, case


@pytest.fixture
def client():
    """The dashboard's app in this process; its services never start (the modes API needs none)."""
    app, services = create_app(Config(), start=False)
    try:
        yield app.test_client()
    finally:
        services.collector.sock.close()
        services.spawner.close()


@pytest.mark.parametrize(("name", "case"), [(n, c) for n, m in REGISTRY.items() for c in m.law_cases])
def test_capacity_api_answers_what_the_mode_computes(client, name, case):
    """Issue 9: the page asks the mode for a capacity instead of multiplying parameters itself."""
    reply = client.get(f"/api/modes/{name}/capacity", query_string=dict(case.params))
    assert reply.status_code == 200, reply.json
    assert reply.json["capacity"] == case.capacity
    assert reply.json["params"] == REGISTRY[name].validate(dict(case.params))


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/api/modes/nope/capacity", "unknown mode"),
        ("/api/modes/gunicorn-gthread/capacity?threads=0", "threads must be from 1"),
        ("/api/modes/gunicorn-gthread/capacity?threads=%C2%B2", "threads must be a whole number"),
        ("/api/modes/gunicorn-gthread/capacity?threads=-1", "threads must be a whole number"),
        ("/api/modes/eventlet/capacity?workers=2", "has no parameter 'workers'"),
    ],
)
def test_capacity_api_refuses_bad_parameters_with_the_reason(client, path, says):
    reply = client.get(path)
    assert reply.status_code == 400 and says in reply.json["error"], reply.json


def law_cell(case: LawCase) -> str:
    return f"{case.count} × {case.ms} ms, {case.label()} → {case.peak_busy} busy, {case.makespan_ms:,} ms"


def readme_table() -> str:
    rows = [
        "| mode | server | capacity | a task is | law case (burst → peak busy, makespan) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mode in REGISTRY.values():
        law = "; ".join(law_cell(case) for case in mode.law_cases if case.tested)
        rows.append(f"| `{mode.name}` | {mode.title} | {mode.capacity_formula} | {mode.task} | {law} |")
    return "\n".join(rows)


def test_readme_table_of_modes_is_the_registrys():
    """The README lists the modes the registry has, as the modes describe themselves."""
    readme = (ROOT / "README.md").read_text()
    start, end = README_TABLE
    block = readme.split(start, 1)[1].split("-->", 1)[1].split(end, 1)[0].strip()
    assert block == readme_table(), f"paste this table into README.md:\n{readme_table()}"


@pytest.fixture(scope="module")
def dash(serial_dashboard):
    return serial_dashboard


def switch(dash: Dashboard, mode: str, params: dict) -> dict:
    """Switch to `mode` and wait until each of its worker processes has reported."""
    reply = dash.post("/api/server", {"mode": mode, **params})
    assert reply.status_code == 200, reply.text
    info = reply.json()
    assert info["status"] == "serving" and info["mode"] == mode
    dash.wait_processes(params.get("workers", 1))
    return info


def in_request(state: dict) -> list[dict]:
    return [t for p in state["processes"] for t in p["tasks"] if t["request"] is not None]


@integration
def test_modes_api_describes_every_mode_for_the_page(dash):
    """The page needs, per mode: title, the one sentence, parameters and the capacity formula."""
    modes = {m["name"]: m for m in dash.get("/api/modes").json()["modes"]}
    assert list(modes) == list(REGISTRY)
    for mode in modes.values():
        assert mode["title"] and len(mode["sentence"]) > 40 and mode["task"]
        assert mode["capacity_formula"]
        assert mode["task_kind"] in ("thread", "greenlet", "asyncio")
        for param in mode["params"]:
            assert param["min"] <= param["default"] <= param["max"]
    assert "deprecat" in modes["eventlet"]["sentence"]
    assert modes["flask-dev-threaded"]["capacity_default"] is None
    assert modes["gunicorn-gthread"]["capacity_default"] == 8


@integration
@pytest.mark.solo
@pytest.mark.parametrize(("mode", "case"), LAW_CASES, ids=[f"{n}-{c.count}x{c.ms}" for n, c in LAW_CASES])
def test_burst_larger_than_capacity_follows_the_queueing_law(dash, mode, case):
    """peak_busy = capacity (= count when unbounded); makespan ≈ ceil(n / c) · s."""
    info = switch(dash, mode, dict(case.params))
    assert info["capacity"] == case.capacity
    run = dash.wait_run(dash.fire("io", case.count, case.ms))
    assert (run["sent"], run["done"], run["failed"]) == (case.count, case.count, 0)
    assert run["peak_busy"] == case.peak_busy, run
    assert case.makespan_ms <= run["makespan_ms"] < case.makespan_ms + 400, run


@integration
def test_threaded_dev_server_runs_each_request_on_a_fresh_thread(dash):
    """werkzeug's threaded=True is no pool: n requests, n threads, each gone after its reply."""
    switch(dash, "flask-dev-threaded", {})
    dash.wait_run(dash.fire("io", 6, 200))
    dash.wait_run(dash.fire("io", 6, 200))

    def all_gone():
        state = dash.get("/api/state").json()
        tasks = [t for p in state["processes"] for t in p["tasks"]]
        return tasks if len(tasks) >= 12 and all(t["state"] == "gone" for t in tasks) else None

    tasks = wait_for(all_gone, 10, what="12 request threads to be seen and gone")
    names = [t["name"] for t in tasks]
    assert len(set(names)) == len(names) >= 12
    assert all("process_request_thread" in name for name in names)


@integration
@pytest.mark.solo
@pytest.mark.parametrize("mode", GREEN)
def test_500_concurrent_io_requests_overlap_on_one_os_thread(dash, mode):
    """Green threads and asyncio tasks wait for I/O without a thread each: 500 × 1 s on one process
    of fewer than 10 threads take seconds, where those threads as a pool would need 50 s or more
    (each green mode's defaults: one process, room for 500). Measured 1.2–1.3 s idle and up to
    4.4 s at load 15 on two cores, so the bound is 10 s: the law's 1 s plus that slack, doubled."""
    info = switch(dash, mode, {})
    run = dash.wait_run(dash.fire("io", 500, 1000))
    assert (run["done"], run["failed"]) == (500, 0)
    assert 1000 <= run["makespan_ms"] < 10_000, run
    assert run["peak_busy"] > 250  # most of them at once, though all are on one OS thread
    worker = psutil.Process(info["pids"][-1])
    assert worker.num_threads() < 10  # the main thread, the agent's reporter, a few helpers
    state = dash.get("/api/state").json()
    kinds = {t["kind"] for p in state["processes"] for t in p["tasks"]}
    assert kinds and kinds <= {"greenlet", "asyncio"}


@integration
@pytest.mark.parametrize("mode", GREEN)
def test_cpu_request_stalls_every_other_green_thread(dash, mode):
    """A request that computes never yields: the others are starved by it, and the page says so."""
    switch(dash, mode, {})
    waiting = dash.fire("io", 4, 3000)

    def all_waiting():
        tasks = in_request(dash.get("/api/state").json())
        return len(tasks) == 4 and all(t["state"] == "waiting" for t in tasks)

    wait_for(all_waiting, 5, what="4 requests in service, each waiting on its I/O")
    hog = dash.fire("cpu", 1, 1500)

    def stalled():
        state = dash.get("/api/state").json()
        (process,) = [p for p in state["processes"] if p["status"] == "alive"]
        tasks = in_request(state)
        starved = [t for t in tasks if (t["state"], t.get("why")) == ("starved", "hub")]
        blocker = [t for t in tasks if t["request"]["path"] == "/cpu" and t["state"] == "running"]
        if len(starved) == 4 and len(blocker) == 1 and process["stalled_by"] == blocker[0]["id"]:
            return state
        return None

    state = wait_for(stalled, 5, what="the /cpu request to starve the 4 /io ones")
    if mode == "gunicorn-gevent":  # gevent's own names, not its patched threading's Dummy-N
        assert all(t["name"].startswith("Greenlet-") for t in in_request(state)), in_request(state)
    (process,) = [p for p in state["processes"] if p["status"] == "alive"]

    def stack(task_id: int) -> str:
        return dash.get(f"/api/tasks/{process['pid']}/{task_id}").json()["stack"] or ""

    # Frames read from the greenlet / task itself: sys._current_frames() sees OS threads only.
    wait_for(lambda: "burn_python" in stack(process["stalled_by"]), 3, what="the hog's stack")
    starved = next(t for t in in_request(state) if t["state"] == "starved")
    starved_stack = stack(starved["id"])
    assert any(line.startswith(("wait_io ", "io ")) for line in starved_stack.splitlines()), starved_stack
    assert dash.wait_run(hog)["done"] == 1
    assert dash.wait_run(waiting)["done"] == 4
    state = dash.get("/api/state").json()
    assert all(p["stalled_by"] is None for p in state["processes"])


@integration
@pytest.mark.solo
def test_cpu_pool_processes_appear_with_their_cpu(dash):
    """/cpu-pool hands its work to a process pool; the pool's processes report and show CPU, each
    at least a quarter of what two plain CPU burners get on this machine right now (a fixed 20%
    failed at 19% while other processes crowded the machine)."""
    switch(dash, "gunicorn-gthread", {"workers": 1, "threads": 2})
    least = parallel_cpu_pct() / 4
    run = dash.fire("cpu-pool", 2, 3000)

    seen = []

    def pool_busy():
        state = dash.get("/api/state").json()
        seen[:] = [(p["pid"], [(t["name"], t["cpu_pct"]) for t in p["tasks"]]) for p in state["processes"]]
        pool = [t for p in state["processes"] for t in p["tasks"] if t["name"] == "cpu-pool"]
        return pool if len(pool) == 2 and all(t["cpu_pct"] >= least for t in pool) else None

    try:
        wait_for(pool_busy, 10, what="2 cpu-pool processes, each on a CPU")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; at least {least:.0f}% each; processes and tasks seen last: {seen}"
        ) from None
    assert dash.wait_run(run)["done"] == 2


@integration
def test_switch_leaves_no_orphans_and_cuts_the_running_burst_short(dash):
    """Every process of the old server (workers, pool processes) is gone when the switch answers."""
    switch(dash, "gunicorn-gthread", {"workers": 2, "threads": 2})
    dash.wait_run(dash.fire("cpu-pool", 1, 10))  # so the old tree has pool processes too
    run = dash.fire("io", 8, 20_000)
    wait_for(lambda: in_request(dash.get("/api/state").json()), 5, what="requests in service")
    server = psutil.Process(dash.get("/api/server").json()["pids"][0])
    old = [server.pid, *(c.pid for c in server.children(recursive=True))]
    assert len(old) >= 4  # orphan guard → master → 2 workers → pool processes

    info = switch(dash, "flask-dev-serial", {})
    assert alive(old) == []
    assert not set(old) & set(info["pids"])
    result = dash.wait_run(run, timeout=10)
    assert result["reason"] == "cut short: the server was switched"
    state = dash.get("/api/state").json()
    assert {p["pid"] for p in state["processes"]}.isdisjoint(old)


@integration
def test_mod_wsgi_daemons_serve_as_www_data_and_leave_nothing_after_a_switch(dash):
    """Apache may not serve as root: its daemons run as www-data on the copy of the workload, each
    reports before any request (preloaded), and stopping Apache's group ends every process of it."""
    info = switch(dash, "mod_wsgi", {"workers": 2, "threads": 2})
    apache, *children = info["pids"]
    assert len(children) == 3  # one front process that hands requests on, two daemons
    assert psutil.Process(apache).username() == "root"
    assert {psutil.Process(pid).username() for pid in children} == {"www-data"}
    daemons = {p["pid"] for p in dash.get("/api/state").json()["processes"]}
    assert len(daemons) == 2 and daemons < set(children)
    assert dash.wait_run(dash.fire("io", 4, 200))["peak_busy"] == 4

    switch(dash, "flask-dev-serial", {})
    assert alive(info["pids"]) == []


def test_bad_switch_changes_nothing(dash):
    switch(dash, "gunicorn-sync", {"workers": 1})
    for body in ({"mode": "nope"}, {"mode": "eventlet", "workers": 2}, {"mode": "uwsgi", "threads": 0}):
        reply = dash.post("/api/server", body)
        assert reply.status_code == 400 and reply.json()["error"], body
    info = dash.get("/api/server").json()
    assert (info["mode"], info["status"]) == ("gunicorn-sync", "serving")


class Broken(FlaskDevSerial):
    name = "broken"
    title = sentence = capacity_formula = task = "a server that exits at once"

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return [sys.executable, "-c", "raise SystemExit('no such server: boom')"]


@integration
def test_mode_that_fails_to_start_shows_why_and_the_next_switch_works(monkeypatch):
    """The failure reaches the model (what the page draws); the manager stays usable."""
    monkeypatch.setitem(REGISTRY, "broken", Broken())
    drawn: list[dict] = []
    spawner = Spawner()
    manager = ServerManager(spawner, "udp://127.0.0.1:9", lambda info, slots, retired: drawn.append(info))
    try:
        with pytest.raises(StartError, match="boom"):
            manager.switch("broken", {})
        assert (drawn[-1]["status"], drawn[-1]["mode"]) == ("failed", "broken")
        assert "boom" in drawn[-1]["error"]
        info = manager.switch("flask-dev-serial", {})
        assert info["status"] == "serving" and info["error"] is None
    finally:
        pids = manager.info()["pids"]
        manager.stop()
        spawner.close()
    assert pids and alive(pids) == []
