"""`audiogan live`: the video played with the music, in real time.

Two sources of frames, one loop:

- **a song known ahead** (`audiogan live SONG`): the same analysis and mapping as a render
  (`pipeline.analyze_song`, `mapping.map_features`), so the whole trajectory is known and
  each frame is made just before it is due;
- **causal** (`audiogan live --input DEVICE`, or a file with ``--causal``): the audio is
  heard as it comes, in blocks, by `audiogan.causal` (features and the beat tracker) and
  mapped frame by frame by `mapping.LiveMapper`; the beats are *predicted*, so a pulse
  peaks on the frame of the beat itself.

The loop keeps to one clock, the audio's (the sound card's, or a virtual one with
``--simulate``): before making a frame it guesses how long that takes and makes the first
frame whose time is at least that far ahead; a frame is shown exactly at its time
``i / fps``, and a frame that would be late is dropped, never shown late, so the picture
never drifts from the sound. `--record` writes what was on screen at every frame time (a
frame held while the next ones were dropped), with the audio, so it can be measured.
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audiogan import audio
from audiogan.beats import TEMPO_RANGE
from audiogan.causal import CausalBeats, CausalTracker, StreamFeatures, track_causal
from audiogan.config import MappingConfig, RenderConfig, check_tempo_range, resolve_config
from audiogan.controls import Controls
from audiogan.errors import ConfigError, MissingPackageError
from audiogan.mapping import FrameInput, LiveMapper, map_features
from audiogan.types import NUM_CLASSES, Trajectory

__all__ = ["ANALYSIS_SR", "LiveStats", "VirtualClock", "causal_analysis", "play"]

ANALYSIS_SR = 22050
BLOCK = 512
BLOCK_S = BLOCK / ANALYSIS_SR
"""Blocks of 512 samples (23 ms), the size a sound card hands over."""


def causal_analysis(song: str | Path, *, start: float = 0.0, duration: float | None = None,
                    tempo_range: tuple[float, float] | str | None = None
                    ) -> tuple[audio.AudioInfo, CausalBeats]:
    """The beats the causal tracker (`audiogan.causal`) reports on `song`, fed to it in
    small blocks as a sound card would, each beat reported when it is due."""
    info = audio.probe(song)
    low_high = check_tempo_range(tempo_range) if tempo_range is not None else TEMPO_RANGE
    blocks = audio.stream_mono(info, sample_rate=ANALYSIS_SR, start=start, duration=duration,
                               block_s=BLOCK_S)
    return info, track_causal(blocks, ANALYSIS_SR, tempo_range=low_high)


@dataclass
class LiveStats:
    """What a live session did.

    Attributes
    ----------
    frames_shown, frames_dropped : int
        Frames put on screen at their time; frames skipped or made too late to show.
    duration_s : float
        Audio time played.
    shown : list of (int, float)
        (frame index, audio time it was shown at) for every frame shown.
    make_ms : list of float
        Time to make each frame (mapping and generation), ms of the audio clock.
    latency_ms : list of float
        For each frame shown in causal mode, its time minus the time of the newest audio
        it was made from.
    pulse_s : list of float
        Causal mode: the times of the frames a pulse started on (the predicted beats).
    """

    fps: float
    frames_shown: int = 0
    frames_dropped: int = 0
    duration_s: float = 0.0
    shown: list[tuple[int, float]] = field(default_factory=list)
    make_ms: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    pulse_s: list[float] = field(default_factory=list)
    recorded: Path | None = None

    @property
    def achieved_fps(self) -> float:
        return self.frames_shown / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def max_drift_s(self) -> float:
        """The largest gap between a frame's time and the time it was shown."""
        return max((abs(at - index / self.fps) for index, at in self.shown), default=0.0)


class VirtualClock:
    """Audio time that moves only when told (``--simulate``): by what each frame cost to
    make (measured, times `speed`, or a fixed `frame_cost_s`) and by waiting."""

    def __init__(self, *, speed: float = 1.0, frame_cost_s: float | None = None):
        self.time = 0.0
        self.speed = speed
        self.frame_cost_s = frame_cost_s

    def now(self) -> float:
        return self.time

    def spent(self, wall_s: float) -> None:
        """A frame took `wall_s` seconds of this machine's time."""
        self.time += self.frame_cost_s if self.frame_cost_s is not None else wall_s * self.speed

    def wait_until(self, t: float) -> None:
        self.time = max(self.time, t)


class _DeviceClock:
    """The sound card's clock: seconds of audio played (or recorded) since the start."""

    def __init__(self, counter: Callable[[], float]):
        self.counter = counter

    def now(self) -> float:
        return self.counter()

    def spent(self, wall_s: float) -> None:
        pass

    def wait_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            time.sleep(delay)


# --- frame sources ---------------------------------------------------------------------

def _mapping_of(config: RenderConfig, controls: Controls) -> MappingConfig:
    """The mapping of the preset the controls chose (the render's own until one is)."""
    if controls.preset > 0:
        return resolve_config(controls.preset_name, hardware=False).mapping
    return config.mapping


class _SongSource:
    """Frames of a song known ahead: the render's trajectory, with the live controls."""

    def __init__(self, song: Path, config: RenderConfig, controls: Controls):
        from audiogan.pipeline import analyze_song

        options: dict[str, Any] = {"bpm": config.bpm, "beat_offset": config.beat_offset,
                                   "beat_shift": config.beat_shift, "beats": config.beats,
                                   "tempo_range": config.tempo_range}
        self.info, self.features = analyze_song(song, fps=config.fps, start=config.start,
                                                duration=config.duration, **options)
        self.config, self.controls = config, controls
        self.trajectories: dict[tuple[str, tuple[int, ...]], Trajectory] = {}
        self.n_frames = self.features.n_frames
        self.duration_s = self.features.duration_s
        self.frozen: tuple[np.ndarray, np.ndarray, float] | None = None

    def _trajectory(self) -> Trajectory:
        key = (self.controls.preset_name, self.controls.classes)
        if key not in self.trajectories:
            self.trajectories[key] = map_features(self.features, key[1], _mapping_of(
                self.config, self.controls), seed=self.config.seed)
        return self.trajectories[key]

    def hear(self, until_s: float) -> None:
        """Nothing to hear: the song is known."""

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        """z (128,), class vector (1000,) and truncation of frame `index`."""
        if self.controls.frozen and self.frozen is not None:
            return self.frozen
        trajectory = self._trajectory()
        index = min(index, trajectory.n_frames - 1)
        truncation, _ = trajectory.truncation_run(index)
        z = trajectory.z[index].astype(np.float64)
        intensity = self.controls.intensity
        if intensity != 1.0:
            # the motion around the base point, scaled (the render's z is already truncated)
            base = trajectory.z.mean(axis=0)
            z = np.clip(base + intensity * (z - base), -2 * truncation, 2 * truncation)
        self.frozen = (z.astype(np.float32), trajectory.class_vectors(index, index + 1)[0],
                       truncation)
        return self.frozen


class _CausalSource:
    """Frames of audio heard as it comes: causal features and beats, `LiveMapper`."""

    def __init__(self, blocks: Iterator[np.ndarray], config: RenderConfig, controls: Controls,
                 *, duration_s: float | None):
        self.blocks = blocks
        self.config, self.controls, self.fps = config, controls, config.fps
        self.features = StreamFeatures(sr=ANALYSIS_SR, hop_length=256)
        self.tracker = CausalTracker(self.features.fps, tempo_range=config.tempo_range)
        self.mappers: dict[tuple[str, int], LiveMapper] = {}
        self.heard_s = 0.0
        self.exhausted = False
        self.duration_s = duration_s
        self.n_frames = math.inf if duration_s is None else round(duration_s * self.fps)
        self.onset = 0.0
        self.power = 0.0
        self.chroma = np.zeros(12)
        self.next_beat_s: float | None = None
        self.interval_s = 0.0
        self.last_pulse_s = -math.inf
        self.stepped = 0
        self.pulses: list[float] = []
        self.last: tuple[np.ndarray, np.ndarray, float] | None = None

    def hear(self, until_s: float) -> None:
        """Take in the audio up to `until_s` (the blocks the sound card has delivered by
        then: each arrives once its last sample has been played or recorded)."""
        while not self.exhausted and self.heard_s + BLOCK_S <= until_s + 1e-9:
            try:
                block = next(self.blocks)
            except StopIteration:
                self.exhausted = True
                if self.duration_s is None:
                    self.duration_s = self.heard_s
                    self.n_frames = round(self.heard_s * self.fps)
                break
            self.heard_s += len(block) / ANALYSIS_SR
            hops = self.features.feed(block)
            for k in range(len(hops)):
                self.tracker.update(hops.onset[k], hops.onset_low[k], hops.onset_high[k],
                                    hops.rms[k], hops.mel_db[k])
                self.onset = max(self.onset, float(hops.onset[k]))
                self.power = 0.7 * self.power + 0.3 * float(hops.rms[k]) ** 2
                self.chroma = hops.chroma[k]
            if len(hops) and self.tracker.locked:
                hop_s = 1.0 / self.tracker.fps
                self.interval_s = self.tracker.interval * hop_s
                self.next_beat_s = (self.tracker.hop - self.tracker.delay
                                    + self.tracker.next_beat()) * hop_s
            elif len(hops):
                self.next_beat_s = None

    def _beat_at(self, t: float) -> bool:
        """Whether a predicted beat falls within frame time `t`'s interval (and not one
        already pulsed): from the tracker's next beat and tempo, or from the taps."""
        controls = self.controls
        if controls.tapped_bpm and controls.tapped_at is not None:
            anchor, interval = controls.tapped_at, 60.0 / controls.tapped_bpm
        elif self.next_beat_s is not None and self.interval_s > 0:
            anchor, interval = self.next_beat_s, self.interval_s
        else:
            return False
        nearest = anchor + round((t - anchor) / interval) * interval
        if abs(nearest - t) <= 0.5 / self.fps and nearest - self.last_pulse_s > 0.5 * interval:
            self.last_pulse_s = nearest
            self.interval_s = interval
            return True
        return False

    def _mapper(self) -> LiveMapper:
        key = (self.controls.preset_name, self.controls.class_set)
        if key not in self.mappers:
            self.mappers[key] = LiveMapper(len(self.controls.classes),
                                           _mapping_of(self.config, self.controls),
                                           fps=self.fps, seed=self.config.seed)
        return self.mappers[key]

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        """The mapping stepped through every frame up to `index` (skipped ones too, so the
        motion keeps its pace); z, class vector and truncation of frame `index`."""
        if self.controls.frozen and self.last is not None:
            self.stepped = index + 1
            return self.last
        mapper = self._mapper()
        loudness = 10 * np.log10(max(self.power, 1e-10))
        z = weights = None
        while self.stepped <= index:
            t = self.stepped / self.fps
            beat = self._beat_at(t)
            if beat:
                self.pulses.append(t)
            frame = FrameInput(onset=self.onset, loudness_db=loudness, chroma=self.chroma,
                               beat=beat, beat_interval=self.interval_s * self.fps)
            z, weights = mapper.step(frame, intensity=self.controls.intensity)
            self.onset = 0.0
            self.stepped += 1
        assert z is not None and weights is not None  # the loop ran: stepped <= index
        y = np.zeros(NUM_CLASSES, dtype=np.float32)
        for class_id, weight in zip(self.controls.classes, weights, strict=True):
            y[class_id] += weight
        self.last = (z, y, mapper.config.truncation)
        return self.last


# --- output ------------------------------------------------------------------------------

class _Recorder:
    """What was on screen at each frame time, into an mp4 with the audio."""

    def __init__(self, path: Path, fps: float, size: int, audio_track: Any):
        from audiogan.encode import VideoSettings, VideoWriter

        # a record of a performance, made while it plays: the render's colour tags and
        # audio, but x264's own GOP (a keyframe every 250 frames) and B-frames (3), not a
        # release's closed half-second GOP, so a held picture stays one picture
        settings = VideoSettings(speed="veryfast", gop=250, bframes=3)
        self.writer = VideoWriter(path, size=(size, size), fps=fps, audio=audio_track,
                                  settings=settings)
        self.written = 0
        self.held = np.zeros((1, size, size, 3), dtype=np.uint8)

    def __enter__(self) -> _Recorder:
        self.writer.__enter__()
        return self

    def show(self, index: int, frame: np.ndarray) -> None:
        if index > self.written:  # the frames dropped before this one: the held picture
            self.writer.write(np.repeat(self.held, index - self.written, axis=0))
        self.held = frame[None]
        self.writer.write(self.held)
        self.written = index + 1

    def finish(self, n_frames: int) -> None:
        if n_frames > self.written:
            self.writer.write(np.repeat(self.held, n_frames - self.written, axis=0))
            self.written = n_frames

    def __exit__(self, *exc: Any) -> None:
        self.writer.__exit__(*exc)


class _Window:
    """The pygame window: the frame, scaled; the achieved fps in the caption; keys."""

    def __init__(self, size: int, scale: float, controls: Controls):
        from audiogan.viewer import open_display

        self.pygame = open_display()
        self.controls = controls
        self.size = (round(size * scale), round(size * scale))
        self.fullscreen = False
        self.screen = self.pygame.display.set_mode(self.size)

    def show(self, frame: np.ndarray, caption: str) -> None:
        pygame = self.pygame
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.controls.handle("quit")
            elif event.type == pygame.KEYDOWN:
                self.controls.key(pygame.key.name(event.key))
        if self.controls.fullscreen != self.fullscreen:
            self.fullscreen = self.controls.fullscreen
            flags = pygame.FULLSCREEN if self.fullscreen else 0
            self.screen = pygame.display.set_mode((0, 0) if self.fullscreen else self.size,
                                                  flags)
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1)))
        surface = pygame.transform.smoothscale(surface, self.screen.get_size())
        self.screen.blit(surface, (0, 0))
        pygame.display.flip()
        pygame.display.set_caption(caption)

    def close(self) -> None:
        self.pygame.display.quit()


# --- the loop ----------------------------------------------------------------------------

def _sounddevice(feature: str) -> Any:
    try:
        import sounddevice
    except (ImportError, OSError):  # OSError: the package is there, PortAudio is not
        raise MissingPackageError(feature, "sounddevice (and the PortAudio library)",
                                  extra="live",
                                  hint=", or run with --simulate to play without a sound "
                                  "card") from None
    return sounddevice


def _file_blocks(song: Path, config: RenderConfig) -> tuple[audio.AudioInfo,
                                                           Iterator[np.ndarray]]:
    info = audio.probe(song)
    blocks = audio.stream_mono(info, sample_rate=ANALYSIS_SR, start=config.start,
                               duration=config.duration, block_s=BLOCK_S)
    return info, _rebatch(blocks)


def _rebatch(blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Blocks of exactly `BLOCK` samples (the last may be shorter), as a sound card gives."""
    pending = np.zeros(0, dtype=np.float32)
    for block in blocks:
        pending = np.concatenate([pending, block])
        while len(pending) >= BLOCK:
            yield pending[:BLOCK]
            pending = pending[BLOCK:]
    if len(pending):
        yield pending


def _device_blocks(sounddevice: Any, device: str) -> tuple[Any, Iterator[np.ndarray],
                                                           Callable[[], float]]:
    """An input stream from `device` (a number or part of a name), its blocks and clock."""
    arrived: queue.Queue[np.ndarray] = queue.Queue()
    counted = [0]

    def callback(data: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        arrived.put(data[:, 0].copy())
        counted[0] += frames

    chosen: int | str = int(device) if device.isdigit() else device
    try:
        stream = sounddevice.InputStream(device=chosen, channels=1, samplerate=ANALYSIS_SR,
                                         blocksize=BLOCK, dtype="float32", callback=callback)
    except (ValueError, sounddevice.PortAudioError) as exc:
        raise ConfigError(f"--input {device}: cannot open that sound card ({exc}); "
                          "`python -m sounddevice` lists them") from None

    def blocks() -> Iterator[np.ndarray]:
        while True:
            yield arrived.get()

    return stream, blocks(), lambda: counted[0] / ANALYSIS_SR


def play(song: str | Path | None = None, *, config: RenderConfig,
         input_device: str | None = None, simulate: bool = False, causal: bool = False,
         record: str | Path | None = None, speed: float = 1.0,
         frame_cost_ms: float | None = None, scale: float = 2.0,
         controls: Controls | None = None, generator: Any = None,
         log: Callable[[str], None] | None = None) -> LiveStats:
    """Play `song` (or the sound card `input_device`) with its video, in real time.

    Parameters
    ----------
    song : path, optional
        A song known ahead (rendered just in time with the render's analysis and mapping);
        with `causal`, heard block by block as from a sound card instead.
    config : RenderConfig
        The settings of a render (classes, preset, model, weights, fps, seed, ...).
    input_device : str, optional
        A sound card to listen to (number or name; needs sounddevice): always causal.
    simulate : bool
        A virtual audio clock (no sound card, no window): each frame costs the time it
        took to make, times `speed`, or `frame_cost_ms` exactly.
    record : path, optional
        Write what was shown at every frame time, with the audio, to this mp4.
    controls : Controls, optional
        The control object keys, OSC and MIDI drive (one is made when not given).
    """
    if (song is None) == (input_device is None):
        raise ConfigError("give a SONG or --input DEVICE (one of them)")
    if input_device is not None and simulate:
        raise ConfigError("--simulate plays a file as if from a sound card: give the SONG "
                          "and --causal instead of --input")
    if not 0.05 <= speed <= 100:
        raise ConfigError(f"--speed {speed:g} must be within 0.05..100")
    if frame_cost_ms is not None and not 0 <= frame_cost_ms <= 10_000:
        raise ConfigError(f"--frame-cost {frame_cost_ms:g} ms must be within 0..10000")
    if frame_cost_ms is not None and not simulate:
        raise ConfigError("--frame-cost sets what a frame costs on the virtual clock: it "
                          "needs --simulate")
    if record is not None and Path(record).suffix.lower() != ".mp4":
        raise ConfigError(f"--record {record}: the recording is an mp4; name it *.mp4")
    say = log or (lambda line: None)
    controls = controls or Controls(class_sets=[tuple(config.classes)],
                                    presets=["default"])
    sounddevice = None if simulate else _sounddevice("audiogan live")

    stream = None
    source: _SongSource | _CausalSource
    audio_track = None
    if input_device is not None:
        assert sounddevice is not None
        stream, blocks, counter = _device_blocks(sounddevice, input_device)
        source = _CausalSource(blocks, config, controls, duration_s=config.duration)
        clock: VirtualClock | _DeviceClock = _DeviceClock(counter)
    else:
        song = Path(song).expanduser()  # type: ignore[arg-type]
        from audiogan.encode import AudioTrack

        if causal:
            info, blocks = _file_blocks(song, config)
            duration = info.duration_s - config.start if info.duration_s else None
            if config.duration is not None:
                duration = min(duration or config.duration, config.duration)
            source = _CausalSource(blocks, config, controls, duration_s=duration)
        else:
            source = _SongSource(song, config, controls)
            info = source.info
        audio_track = AudioTrack(song, start=config.start, duration=source.duration_s,
                                 sample_rate=info.sample_rate)
        if simulate:
            clock = VirtualClock(speed=speed, frame_cost_s=None if frame_cost_ms is None
                                 else frame_cost_ms / 1000)
        else:
            assert sounddevice is not None
            stream, clock = _player(sounddevice, song, config, source.duration_s)

    if generator is None:
        from audiogan.model import load_biggan

        generator = load_biggan(config.model, config.weights)
    size = int(generator.config.output_dim)
    make = _frame_maker(generator, config)
    # one frame made before the clock starts: the first pays for what is done once (moving
    # the weights to the GPU and its dtype, CUDA's kernels chosen), which on an H200 dropped
    # the first 34 frames at 512 px
    make(np.zeros(128, np.float32), np.eye(1, 1000, dtype=np.float32)[0], 1.0)
    stats = LiveStats(fps=config.fps)
    window = None if simulate else _Window(size, scale, controls)
    recorder = _Recorder(Path(record), config.fps, size, audio_track) if record else None
    if recorder is not None and input_device is not None:
        raise ConfigError("--record with --input is not supported yet: record a file with "
                          "--simulate --causal, or capture the sound card with another tool")
    say(f"live: {'simulated clock' if simulate else 'audio clock'}, {config.fps:g} fps, "
        f"{size}x{size}, {'causal' if causal or input_device else 'song known ahead'}")
    try:
        if recorder is not None:
            recorder.__enter__()
        if stream is not None:
            stream.start()
        _loop(source, clock, make, stats, controls, window, recorder)
        if recorder is not None:
            recorder.finish(int(source.n_frames) if math.isfinite(source.n_frames)
                            else round(stats.duration_s * config.fps))
    except BaseException as exc:
        if recorder is not None:
            recorder.__exit__(type(exc), exc, exc.__traceback__)
            recorder = None
        raise
    finally:
        if stream is not None:
            stream.stop()
            stream.close()
        if window is not None:
            window.close()
    if recorder is not None:
        recorder.__exit__(None, None, None)
        stats.recorded = Path(record)  # type: ignore[arg-type]
    if isinstance(source, _CausalSource):
        stats.pulse_s = source.pulses
    return stats


def _player(sounddevice: Any, song: Path, config: RenderConfig,
            duration_s: float | None) -> tuple[Any, _DeviceClock]:
    """An output stream playing `song`, and the clock of the samples it has played."""
    info = audio.probe(song)
    rate = 44100
    samples = np.concatenate(list(audio.stream_mono(info, sample_rate=rate, start=config.start,
                                                    duration=config.duration)))
    played = [0]

    def callback(out: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        chunk = samples[played[0]:played[0] + frames]
        out[:len(chunk), 0] = chunk
        out[len(chunk):, 0] = 0.0
        played[0] += frames

    stream = sounddevice.OutputStream(samplerate=rate, channels=1, dtype="float32",
                                      callback=callback)
    return stream, _DeviceClock(lambda: played[0] / rate)


def _frame_maker(generator: Any, config: RenderConfig) -> Callable[..., np.ndarray]:
    from audiogan.generate import generate_frames

    def make(z: np.ndarray, y: np.ndarray, truncation: float) -> np.ndarray:
        trajectory = Trajectory(z=z[None].astype(np.float32),
                                class_ids=np.flatnonzero(y).astype(np.int64),
                                class_weights=y[np.flatnonzero(y)][None].astype(np.float32),
                                truncation=float(truncation))
        return next(iter(generate_frames(generator, trajectory, batch_size=1,
                                         device=config.device, dtype=config.dtype)))[0]

    return make


def _loop(source: _SongSource | _CausalSource, clock: VirtualClock | _DeviceClock,
          make: Callable[..., np.ndarray], stats: LiveStats, controls: Controls,
          window: _Window | None, recorder: _Recorder | None) -> None:
    fps = stats.fps
    period = 1.0 / fps
    # the running guess of what a frame costs, in audio seconds
    fixed = clock.frame_cost_s if isinstance(clock, VirtualClock) else None
    cost = fixed if fixed is not None else period
    next_index = 0
    started = time.perf_counter()
    while not controls.quit:
        now = clock.now()
        source.hear(now)
        if next_index >= source.n_frames:
            break
        # the first frame that can still be ready at its time
        index = max(next_index, math.ceil((now + cost) * fps - 1e-9))
        if index >= source.n_frames:
            stats.frames_dropped += int(source.n_frames - next_index)
            break
        heard = source.heard_s if isinstance(source, _CausalSource) else None
        wall = time.perf_counter()
        z, y, truncation = source.frame(index)
        picture = make(z, y, truncation)
        spent = time.perf_counter() - wall
        clock.spent(spent)
        ready = clock.now()
        stats.make_ms.append(1000 * (ready - now) if isinstance(clock, VirtualClock)
                             else 1000 * spent)
        cost = 0.8 * cost + 0.2 * max(ready - now, 0.0)
        stats.frames_dropped += index - next_index
        next_index = index + 1
        due = index * period
        if ready > due + 1e-9:  # too late to show at its time: dropped, not shown late
            stats.frames_dropped += 1
            continue
        clock.wait_until(due)
        shown_at = clock.now()
        if window is not None:
            elapsed = time.perf_counter() - started
            window.show(picture, f"audiogan live  {len(stats.shown) / max(elapsed, 1e-9):.1f} "
                        f"fps  ({stats.frames_dropped} dropped)  intensity "
                        f"{controls.intensity:.2f}{'  frozen' if controls.frozen else ''}")
        if recorder is not None:
            recorder.show(index, picture)
        stats.shown.append((index, shown_at))
        stats.frames_shown += 1
        if heard is not None:
            stats.latency_ms.append(1000 * (due - heard))
    played_through = math.isfinite(source.n_frames) and not controls.quit
    stats.duration_s = source.n_frames / fps if played_through else clock.now()
