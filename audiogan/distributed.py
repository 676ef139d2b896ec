"""Album renders on Ray: frame ranges of the tracks as tasks on a pool of model-holding actors.

The driver (the process that called `audiogan.render_album`) analyses each song and maps it
to a trajectory (`pipeline.prepare`), then hands frame ranges of it to the workers: one actor
per GPU (``num_gpus=1``), or one per CPU where the cluster has no GPU, each loading the model
once and keeping it. A worker renders its range into an H.264 segment and sends the bytes
back, so no shared file system is needed; the driver joins a track's segments and muxes its
audio once (`encode.concat_segments`) and writes the video where it was asked to.

Ray is optional: ``pip install audiogan[ray]``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiogan.encode import segment_folder
from audiogan.errors import ConfigError

__all__ = ["connect", "import_ray", "render_on_ray"]


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray, which is not installed: pip install "
                          "'audiogan[ray]'") from None
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


def _segment_bytes(plan, generators: dict, start: int, stop: int) -> bytes:
    """Render frames [start, stop) of `plan` into an H.264 segment and return its bytes."""
    from audiogan import pipeline

    key = (plan.model_name, str(plan.config.weights))
    if key not in generators:
        generators[key] = pipeline.load_generator(plan)
    folder = Path(tempfile.mkdtemp(prefix="audiogan-segment-"))
    try:
        path = pipeline.render_segment(plan, folder / "segment.mp4", start, stop,
                                       generator=generators[key])
        return path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Worker:
    """A Ray actor: keeps each model it loads and renders frame ranges with it."""

    def __init__(self) -> None:
        self.generators: dict = {}

    def render(self, plan, start: int, stop: int) -> tuple[str, Any, float]:
        """("ok", segment bytes, seconds) or ("error", one-line reason, seconds)."""
        from audiogan.album import _describe

        started = time.perf_counter()
        try:
            data = _segment_bytes(plan, self.generators, start, stop)
        except Exception as error:  # noqa: BLE001 - reported per track, the worker lives on
            return "error", _describe(error), time.perf_counter() - started
        return "ok", data, time.perf_counter() - started


@dataclass
class _Track:
    job: Any
    started: float
    plan: Any = None
    plan_ref: Any = None
    ranges: list[tuple[int, int]] = field(default_factory=list)
    segments: dict[int, bytes] = field(default_factory=dict)
    frames_done: int = 0
    error: str | None = None
    open_parts: int = 0


def render_on_ray(jobs: list, *, address: str, split_frames: int | None,
                  finish: Callable, progress: Callable | None, count: int,
                  num_cpus: int | None = None) -> None:
    """Render the album's `jobs` (`album.TrackJob`) on Ray; `finish(job, result)` each."""
    from audiogan import pipeline
    from audiogan.album import TrackResult, failed
    from audiogan.encode import concat_segments

    ray = import_ray()
    started_here = connect(address, num_cpus=num_cpus)
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpus > 0:
            worker_class = ray.remote(num_gpus=1, num_cpus=1)(_Worker)
            actors = [worker_class.remote() for _ in range(gpus)]
        else:
            worker_class = ray.remote(num_cpus=1)(_Worker)
            actors = [worker_class.remote() for _ in range(max(1, int(resources.get("CPU", 1))))]
        parts = split_frames or 1
        idle = deque(actors)
        queue: deque[tuple[_Track, int]] = deque()
        in_flight: dict[Any, tuple[Any, _Track, int]] = {}

        def dispatch() -> None:
            while idle and queue:
                track, part = queue.popleft()
                if track.error is not None:
                    track.open_parts -= 1
                    close(track)
                    continue
                actor = idle.popleft()
                first, last = track.ranges[part]
                in_flight[actor.render.remote(track.plan_ref, first, last)] = (actor, track, part)

        def close(track: _Track) -> None:
            """Finish a track whose parts are all back: join them, or report why not."""
            if track.open_parts > 0:
                return
            job = track.job
            if track.error is not None:
                finish(job, failed(job, track.error, time.perf_counter() - track.started))
                return
            folder = segment_folder(job.output)
            folder.mkdir(exist_ok=True)
            try:
                paths = []
                for part in range(len(track.ranges)):
                    path = folder / f"{part:04d}.mp4"
                    path.write_bytes(track.segments.pop(part))
                    paths.append(path)
                if progress is not None:
                    progress(job.name, "encoding", track.plan.n_frames, track.plan.n_frames)
                concat_segments(paths, job.output, audio=track.plan.audio_track)
            except Exception as error:  # noqa: BLE001 - one track's failure stays its own
                finish(job, failed(job, error, time.perf_counter() - track.started))
                return
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            plan = track.plan
            finish(job, TrackResult(name=job.name, song=job.song, output=job.output,
                                    status="rendered", seed=job.seed, frames=plan.n_frames,
                                    duration_s=plan.features.duration_s,
                                    wall_s=time.perf_counter() - track.started))

        def collect(block: bool) -> None:
            if not in_flight:
                return
            ready, _ = ray.wait(list(in_flight), num_returns=1,
                                timeout=None if block else 0)
            for ref in ready:
                actor, track, part = in_flight.pop(ref)
                try:
                    status, payload, _seconds = ray.get(ref)
                except Exception as error:  # noqa: BLE001 - a worker died under this task
                    status, payload = "error", f"Ray worker lost ({type(error).__name__})"
                    actor = None  # a dead actor takes no more work
                if actor is not None:
                    idle.append(actor)
                track.open_parts -= 1
                if status == "ok":
                    track.segments[part] = payload
                    first, last = track.ranges[part]
                    track.frames_done += last - first
                    if progress is not None:
                        progress(track.job.name, "frames", track.frames_done,
                                 track.plan.n_frames)
                elif track.error is None:
                    track.error = payload
                close(track)
            dispatch()

        for index, job in enumerate(jobs):
            track = _Track(job=job, started=time.perf_counter())
            if progress is not None:
                progress(job.name, "start", count - len(jobs) + index, count)

            def report(stage: str, done: float, total: float | None, name: str = job.name):
                if progress is not None and stage == "analysis":
                    progress(name, stage, done, total)

            try:
                track.plan = pipeline.prepare(job.song, job.output, preset=job.preset,
                                              overwrite=True, progress=report, **job.options)
                track.ranges = track.plan.frame_ranges(parts)
            except Exception as error:  # noqa: BLE001 - one track's failure stays its own
                finish(job, failed(job, error, time.perf_counter() - track.started))
                continue
            track.plan_ref = ray.put(track.plan)
            track.open_parts = len(track.ranges)
            queue.extend((track, part) for part in range(len(track.ranges)))
            dispatch()
            collect(block=False)
        dispatch()
        while in_flight:
            collect(block=True)
        while queue:  # left over only when every worker is gone
            track, _part = queue.popleft()
            track.error = track.error or "no Ray worker is left to render it"
            track.open_parts -= 1
            close(track)
        for actor in actors:
            ray.kill(actor)
    finally:
        if started_here:
            ray.shutdown()
