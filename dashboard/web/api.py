"""The HTTP API under /api: the page, tests and scripts all use this one."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request, send_file
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, HTTPException

from dashboard import __version__
from dashboard.loadgen.targets import UnknownTarget
from dashboard.loadspec.limits import BadLoadRequest
from dashboard.mirror import Mirror
from dashboard.model.live import Model
from dashboard.model.run_book import MAX_RUNS
from dashboard.model.servers import managed_python
from dashboard.model.views import history_view, state_view, task_detail
from dashboard.reports.page import render_report
from dashboard.reports.report import BadReportQuery, NothingToReport, parse_selection, report_data
from dashboard.reports.table import columns_view, rows, to_csv, to_markdown
from dashboard.scenes.play import SceneBusy
from dashboard.servers.manager import StartError
from dashboard.servers.mode import BadServerRequest
from dashboard.servers.modes import REGISTRY, get_mode
from dashboard.services import NotLive, RecordingBusy, current_services
from dashboard.web.auth import presenter_only, refusal
from dashboard.web.viewer_sockets import drop_counts

api = Blueprint("api", __name__, url_prefix="/api")


def json_body() -> object:
    """The request's JSON body, or a 400 saying it is not JSON."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested too deep for json.loads; not a ValueError, so not silenced
        body = None
    if body is None:
        raise BadRequest("the body must be JSON (Content-Type: application/json)")
    return body


@api.errorhandler(BadLoadRequest)
@api.errorhandler(BadServerRequest)
def bad_input(exc: ValueError) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 400


@api.errorhandler(UnknownTarget)
def not_a_target(exc: UnknownTarget) -> ResponseReturnValue:
    """Load named a server that is not (or no longer) one load may go to."""
    return jsonify(error=str(exc.args[0])), 409


@api.errorhandler(StartError)
def start_failed(exc: StartError) -> ResponseReturnValue:
    return jsonify(error=str(exc), server=current_services().servers.info()), 502


@api.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    """JSON errors under /api, also for unknown paths and methods (which no blueprint routes)."""
    if not request.path.startswith(api.url_prefix + "/"):
        return exc
    return jsonify(error=exc.description), exc.code


@api.get("/health")
def health() -> ResponseReturnValue:
    """Also whether actions need the presenter token, whether this request carries it, and how
    many live frames went to viewers since start (read it twice for the frame rate), how many
    viewers watch and how many the dashboard dropped, by reason; with a message queue, how many
    messages it could not publish (Redis too slow or away; null without one)."""
    broadcaster = current_services().broadcaster
    queue = current_services().message_queue
    viewers_only = current_services().config.primary is not None
    return jsonify(
        ok=True,
        version=__version__,
        source=current_services().source,
        collector=None if current_services().collector is None else current_services().collector.url,
        # A viewer-only process acts on nothing: its pages show themselves read-only.
        presenter_required=current_services().config.presenter_required or viewers_only,
        presenter=refusal() is None and not viewers_only,
        frames_sent=broadcaster.frames_sent,
        viewers=len(broadcaster.viewers),
        viewers_dropped=drop_counts(broadcaster.viewers_dropped()),
        primary=current_services().config.primary,
        queue_dropped=None if queue is None else queue.dropped,
    )


@api.get("/modes")
def modes() -> ResponseReturnValue:
    return jsonify(modes=[mode.view() for mode in REGISTRY.values()])


@api.get("/modes/<name>/capacity")
def mode_capacity(name: str) -> ResponseReturnValue:
    """What the mode would serve at once with the query's parameters (the rest at their defaults),
    so the page shows a capacity before switching without knowing how a mode computes it."""
    mode = get_mode(name)
    params = mode.validate({key: _whole_number(value) for key, value in request.args.items()})
    return jsonify(mode=mode.name, params=params, capacity=mode.capacity(params))


def _whole_number(text: str) -> int | str:
    """A query value as an int when it is plainly one; else as given, for `validate` to refuse."""
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 9 else text


@api.get("/server")
def get_server() -> ResponseReturnValue:
    services = current_services()
    if services.servers is None:  # a replay: the server as recorded
        return jsonify(services.store.use(lambda model: dict(model.server)))
    return jsonify({**services.servers.info(), "python": services.store.use(managed_python)})


@api.post("/server")
@presenter_only
def switch_server() -> ResponseReturnValue:
    current_services().live_only("Switching the server")
    body = json_body()
    if not isinstance(body, dict):
        raise BadServerRequest('body must be a JSON object like {"mode": "gunicorn-gthread", "workers": 1}')
    params = {key: value for key, value in body.items() if key not in ("mode", "python")}
    return jsonify(current_services().switch_server(body.get("mode"), params, body.get("python")))


@api.post("/load")
@presenter_only
def fire_load() -> ResponseReturnValue:
    current_services().live_only("Firing load")
    return jsonify(run=current_services().load.fire(json_body())), 202


@api.post("/load/sustained")
@presenter_only
def sustain_load() -> ResponseReturnValue:
    """N connections for T seconds, closed loop or at a fixed rate, with a ramp (loadspec/plan.py)."""
    current_services().live_only("Sustained load")
    return jsonify(run=current_services().load.sustain(json_body())), 202


@api.post("/load/stop")
@presenter_only
def stop_load() -> ResponseReturnValue:
    """Stop every running burst and sustained run; answers the ids of the runs it cut short."""
    current_services().live_only("Stopping load")
    return jsonify(stopped=current_services().load.stop_all("stopped by the presenter"))


@api.get("/runs/<run_id>")
def get_run(run_id: str) -> ResponseReturnValue:
    now = current_services().store.now_ns()
    found = current_services().store.use(
        lambda model: (
            None
            if run_id not in model.runs
            else (model.runs[run_id].summary(now), model.runs[run_id].requests())
        )
    )
    if found is None:
        return jsonify(error=f"no run {run_id[:40]!r}"), 404
    summary, requests = found
    return jsonify({**summary, "requests": requests})


@api.get("/state")
def get_state() -> ResponseReturnValue:
    """The model's view; in a viewer-only process, the mirror's (503 until it holds one)."""
    broadcaster = current_services().broadcaster
    if isinstance(broadcaster, Mirror):
        return jsonify(broadcaster.snapshot())
    now = current_services().store.now_ns()
    return jsonify(current_services().store.use(lambda model: state_view(model, now)))


@api.get("/tasks/<pid>/<int:task_id>")
def inspect_task(pid: str, task_id: int) -> ResponseReturnValue:
    """One task in detail: what the page shows when a tile is clicked. The process is named as
    the page names it: its pid, or PID@HOST on another host."""
    now = current_services().store.now_ns()

    def find(model: Model) -> dict | None:
        process = model.sources.named(pid)
        task = process.tasks.get(task_id) if process is not None else None
        return None if task is None else task_detail(process, task, now)

    detail = current_services().store.use(find)
    if detail is None:
        return jsonify(error=f"no task {task_id} in process {pid[:80]}"), 404
    return jsonify(detail)


@api.get("/history")
def get_history() -> ResponseReturnValue:
    """Spans as arrays in `Span`'s field order; series a point a second."""
    now = current_services().store.now_ns()
    return jsonify(current_services().store.use(lambda model: history_view(model, now)))


# -- scenes (dashboard/scenes): the talk, fired one scene at a time ---------------------------


@api.get("/scenes")
def list_scenes() -> ResponseReturnValue:
    """The talk's scenes in order, each with the law's prediction."""
    return jsonify(scenes=[scene.view() for scene in current_services().config.scenes])


@api.post("/scenes/<scene_id>")
@presenter_only
def fire_scene(scene_id: str) -> ResponseReturnValue:
    """Switch to the scene's server if needed and fire its burst; its run ends with a verdict."""
    current_services().live_only("A scene")
    scenes = current_services().config.scenes
    index = next((i for i, scene in enumerate(scenes) if scene.id == scene_id), None)
    if index is None:
        return jsonify(error=f"no scene {scene_id[:40]!r}; scenes: {', '.join(s.id for s in scenes)}"), 404
    try:
        run = current_services().play_scene(index)
    except SceneBusy as exc:
        return jsonify(error=str(exc)), 409
    return jsonify(run=run), 202


# -- reports and the results table (dashboard/reports) ----------------------------------------

TABLE_FORMATS = {
    "csv": (to_csv, "text/csv", "threadpulse-runs.csv"),
    "md": (to_markdown, "text/markdown", "threadpulse-runs.md"),
}


@api.errorhandler(BadReportQuery)
def bad_report_query(exc: BadReportQuery) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 400


@api.errorhandler(NothingToReport)
def nothing_to_report(exc: NothingToReport) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 404


@api.get("/runs")
def list_runs() -> ResponseReturnValue:
    """The results table of the runs kept (the model keeps the last MAX_RUNS), oldest first:
    JSON for the page, or `?format=csv|md` as a file to download."""
    unknown = sorted(set(request.args) - {"format"})
    fmt = request.args.get("format", "json")
    if unknown or fmt not in ("json", *TABLE_FORMATS):
        raise BadReportQuery("the one parameter is format=json, csv or md")
    now = current_services().store.now_ns()
    summaries = current_services().store.use(lambda model: [run.summary(now) for run in model.runs.values()])
    table = rows(summaries)
    if fmt == "json":
        return jsonify(columns=columns_view(), runs=table, kept=MAX_RUNS)
    write, mimetype, filename = TABLE_FORMATS[fmt]
    return Response(write(table), mimetype=mimetype, headers=_attachment(filename))


@api.get("/report")
def get_report() -> ResponseReturnValue:
    """One HTML file of a run (`run=ID`), of the scenes played (`scenes=all`) or of a span
    (`from=S&to=S`, seconds on the dashboard's clock, negative: before now) that opens offline."""
    selection = parse_selection(request.args)
    store = current_services().store
    now, wall = store.now_ns(), store.wall()
    data = current_services().store.use(lambda model: report_data(model, selection, now, wall))
    return Response(render_report(data), mimetype="text/html", headers=_attachment(data["filename"]))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


# -- recording and replay (dashboard/recording) -----------------------------------------------


@api.errorhandler(NotLive)
@api.errorhandler(RecordingBusy)
def conflict(exc: RuntimeError) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 409


@api.get("/recording")
def recording_status() -> ResponseReturnValue:
    """Whether the event log is being recorded, how far, and what was dropped."""
    recorder = current_services().recorder
    return jsonify(recorder.status() if recorder is not None else {"recording": False, "file": None})


@api.post("/recording")
@presenter_only
def control_recording() -> ResponseReturnValue:
    """{"action": "start"} records from now on to a new file in the recordings folder;
    {"action": "stop"} ends it (GET /api/recording/file downloads it)."""
    services = current_services()
    services.live_only("Recording")
    body = json_body()
    action = body.get("action") if isinstance(body, dict) else None
    if action == "start":
        name = time.strftime("threadpulse-%Y%m%d-%H%M%S.jsonl.gz", time.localtime())
        services.config.recordings_dir.mkdir(parents=True, exist_ok=True)
        return jsonify(services.start_recording(services.config.recordings_dir / name)), 201
    if action == "stop":
        return jsonify(services.stop_recording())
    raise BadRequest('body must be {"action": "start"} or {"action": "stop"}')


@api.get("/recording/file")
@presenter_only
def recording_file() -> ResponseReturnValue:
    """The last recording, once stopped (a file still being written is not whole)."""
    recorder = current_services().recorder
    if recorder is None or recorder.running:
        raise RecordingBusy("no stopped recording to download: stop the recording first")
    return send_file(recorder.path, as_attachment=True, download_name=recorder.path.name)


@api.get("/replay")
def replay_status() -> ResponseReturnValue:
    """The replay's recording (host, date), position, length, speed and whether it is paused."""
    replay = current_services().replay
    if replay is None:
        raise NotLive("this dashboard is live, not replaying a recording")
    return jsonify(replay.status())


@api.post("/replay")
@presenter_only
def control_replay() -> ResponseReturnValue:
    """Pause, play, speed and seek: {"paused": true|false, "speed": 0.25..8, "at_s": seconds}."""
    replay = current_services().replay
    if replay is None:
        raise NotLive("this dashboard is live, not replaying a recording")
    try:
        return jsonify(replay.control(json_body()))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
