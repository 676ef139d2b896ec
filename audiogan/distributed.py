"""Renders on Ray: frame ranges of plans as tasks on a pool of model-holding actors.

A fault-isolated pool that knows plans only as objects with ``n_frames`` and
``frame_ranges(parts)``, and rendering only as the two functions it is given:
``render_range(plan, start, stop, cache)`` runs on a worker (one actor per GPU,
``num_gpus=1``, or one per CPU where the cluster has no GPU; `cache` is the actor's own
dict, where it keeps the models it loads) and returns what the driver needs, and
``join(plan, parts, started)`` runs on the driver once every range of a plan is back.
`audiogan.album` passes `pipeline.render_segment_bytes` and `pipeline.join_segment_bytes`:
the workers send H.264 segments back as bytes, so no shared file system is needed, and the
driver joins them and muxes the audio once where the plan's video goes.

A plan whose maker raises, one of whose ranges fails, or whose worker dies, fails alone:
``finish(name, reason, seconds)``; the others go on. Ray is optional:
``pip install "audiogan[ray]"``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from audiogan.errors import ConfigError, MissingPackageError, describe

__all__ = ["connect", "import_ray", "render_on_ray"]

Finish = Callable[[str, Any, float], None]
"""``finish(name, join's result or a one-line failure reason, wall seconds)``, once a plan."""


def import_ray():
    try:
        import ray
    except ImportError:
        raise MissingPackageError("--ray", "Ray", extra="ray") from None
    return ray


def connect(address: str, *, num_cpus: int | None = None) -> bool:
    """Start a local Ray (``"auto"``) or join the cluster at `address`.

    A Ray already initialised in this process is used as it is. Returns True when this call
    started the connection (so the caller shuts it down again).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    try:
        if address == "auto":
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - connection failures come in many types
        raise ConfigError(f"--ray {address}: could not start or join Ray ({exc}); use "
                          "--ray auto for a local one or the address of a running cluster "
                          "(ray start --head prints it)") from None
    return True


class _Worker:
    """A Ray actor: renders frame ranges with `render_range`, keeping what it caches."""

    def __init__(self, render_range: Callable) -> None:
        self.render_range = render_range
        self.cache: dict = {}

    def render(self, plan: Any, start: int, stop: int) -> tuple[str, Any]:
        """("ok", what `render_range` returned) or ("error", a one-line reason)."""
        try:
            return "ok", self.render_range(plan, start, stop, self.cache)
        except Exception as error:  # noqa: BLE001 - reported per plan, the worker lives on
            return "error", describe(error)


@dataclass
class _Plan:
    name: str
    started: float
    plan: Any = None
    plan_ref: Any = None
    ranges: list[tuple[int, int]] = field(default_factory=list)
    parts: dict[int, Any] = field(default_factory=dict)
    frames_done: int = 0
    error: str | None = None
    open_parts: int = 0


def render_on_ray(plans: Iterable[tuple[str, Callable[[], Any]]], *, address: str,
                  split_frames: int | None, render_range: Callable[[Any, int, int, dict], Any],
                  join: Callable[[Any, list, float], Any], finish: Finish,
                  progress: Callable[[str, str, float, float | None], None] | None = None,
                  num_cpus: int | None = None) -> None:
    """Render each named plan on Ray, calling ``finish(name, ...)`` once per plan.

    `plans` yields ``(name, make_plan)``; each plan is made on the driver while the workers
    render the ranges of the plans before it, and cut into `split_frames` ranges (one when
    None). ``progress(name, stage, done, total)`` follows each plan's ``"frames"`` and its
    ``"encoding"`` (the join).
    """
    ray = import_ray()
    started_here = connect(address, num_cpus=num_cpus)
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpus > 0:
            worker_class = ray.remote(num_gpus=1, num_cpus=1)(_Worker)
            actors = [worker_class.remote(render_range) for _ in range(gpus)]
        else:
            worker_class = ray.remote(num_cpus=1)(_Worker)
            actors = [worker_class.remote(render_range)
                      for _ in range(max(1, int(resources.get("CPU", 1))))]
        parts = split_frames or 1
        # Our own dispatch, not ray.util.ActorPool: its get_next_unordered does not say which
        # task a dead actor had taken, so a lost worker could not be charged to its own plan
        # alone, and with every actor gone its queued submits would wait forever.
        idle = deque(actors)
        queue: deque[tuple[_Plan, int]] = deque()
        in_flight: dict[Any, tuple[Any, _Plan, int]] = {}

        def report(entry: _Plan, stage: str, done: float) -> None:
            if progress is not None:
                progress(entry.name, stage, done, entry.plan.n_frames)

        def dispatch() -> None:
            while idle and queue:
                entry, part = queue.popleft()
                if entry.error is not None:
                    entry.open_parts -= 1
                    close(entry)
                    continue
                actor = idle.popleft()
                first, last = entry.ranges[part]
                in_flight[actor.render.remote(entry.plan_ref, first, last)] = (actor, entry,
                                                                               part)

        def close(entry: _Plan) -> None:
            """Finish a plan whose parts are all back: join them, or say why not."""
            if entry.open_parts > 0:
                return
            if entry.error is not None:
                finish(entry.name, entry.error, time.perf_counter() - entry.started)
                return
            report(entry, "encoding", entry.plan.n_frames)
            try:
                result = join(entry.plan, [entry.parts.pop(k) for k in range(len(entry.ranges))],
                              entry.started)
            except Exception as error:  # noqa: BLE001 - one plan's failure stays its own
                finish(entry.name, describe(error), time.perf_counter() - entry.started)
                return
            finish(entry.name, result, time.perf_counter() - entry.started)

        def collect(block: bool) -> None:
            if not in_flight:
                return
            ready, _ = ray.wait(list(in_flight), num_returns=1,
                                timeout=None if block else 0)
            for ref in ready:
                actor, entry, part = in_flight.pop(ref)
                try:
                    status, payload = ray.get(ref)
                except Exception as error:  # noqa: BLE001 - a worker died under this task
                    status, payload = "error", f"Ray worker lost ({type(error).__name__})"
                    actor = None  # a dead actor takes no more work
                if actor is not None:
                    idle.append(actor)
                entry.open_parts -= 1
                if status == "ok":
                    entry.parts[part] = payload
                    first, last = entry.ranges[part]
                    entry.frames_done += last - first
                    report(entry, "frames", entry.frames_done)
                elif entry.error is None:
                    entry.error = payload
                close(entry)
            dispatch()

        for name, make_plan in plans:
            entry = _Plan(name=name, started=time.perf_counter())
            try:
                entry.plan = make_plan()
                entry.ranges = entry.plan.frame_ranges(parts)
            except Exception as error:  # noqa: BLE001 - one plan's failure stays its own
                finish(name, describe(error), time.perf_counter() - entry.started)
                continue
            entry.plan_ref = ray.put(entry.plan)
            entry.open_parts = len(entry.ranges)
            queue.extend((entry, part) for part in range(len(entry.ranges)))
            dispatch()
            collect(block=False)
        dispatch()
        while in_flight:
            collect(block=True)
        while queue:  # left over only when every worker is gone
            entry, _part = queue.popleft()
            entry.error = entry.error or "no Ray worker is left to render it"
            entry.open_parts -= 1
            close(entry)
        for actor in actors:
            ray.kill(actor)
    finally:
        if started_here:
            ray.shutdown()
