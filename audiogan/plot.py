"""A picture of the analysis (``audiogan analyze SONG --plot analysis.png``).

One time axis, five panels: the waveform with the sections; the onset envelope with the
beats and the bar lines; the pulse envelope; the drift speed; the class weights. It shows a
user why the video moves as it does. Needs matplotlib (``pip install "audiogan[plot]"``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from audiogan import audio, mapping
from audiogan.beats import LOW_CONFIDENCE, tempo_changes
from audiogan.config import resolve_config
from audiogan.errors import ConfigError, MissingPackageError
from audiogan.types import Features

__all__ = ["plot_analysis", "waveform_envelope"]


def waveform_envelope(info: audio.AudioInfo, features: Features, *, start: float = 0.0,
                      sample_rate: int = 8000) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest sample within each video frame, shapes (T,), decoded as a stream."""
    n = features.n_frames
    low, high = np.zeros(n), np.zeros(n)
    per_frame = sample_rate / features.fps
    position = 0
    for block in audio.stream_mono(info, sample_rate=sample_rate, start=start,
                                   duration=features.duration_s):
        frames = ((position + np.arange(len(block))) / per_frame).astype(np.int64)
        keep = frames < n
        np.minimum.at(low, frames[keep], block[keep])
        np.maximum.at(high, frames[keep], block[keep])
        position += len(block)
    return low, high


def plot_analysis(info: audio.AudioInfo, features: Features, target: str | Path, *,
                  preset: str | Path | None = None, start: float = 0.0) -> Path:
    """Draw `features` and the mapping curves of `preset` into the PNG `target`."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingPackageError("--plot", "matplotlib", extra="plot") from None
    config = resolve_config(preset, hardware=False)  # the mapping only: no device, no torch
    target = Path(target).expanduser()
    if not target.parent.is_dir():
        raise ConfigError(f"--plot {target}: folder {target.parent} does not exist")
    times = np.arange(features.n_frames) / features.fps
    low, high = waveform_envelope(info, features, start=start)
    envelope, _ = mapping.beat_pulses(features, config.mapping)
    envelope = envelope * mapping.calm_factor(features, config.mapping)
    phase = mapping.drift_phase(features, config.mapping)
    speed = np.gradient(phase) * features.fps * 60.0
    weights = mapping.class_weights(features, len(config.classes), config.mapping)

    figure, axes = plt.subplots(6, 1, figsize=(14, 10), sharex=True,
                                gridspec_kw={"height_ratios": [1.2, 1.2, 0.6, 0.8, 0.8, 1.0]})
    wave_ax, onset_ax, trust_ax, pulse_ax, drift_ax, class_ax = axes
    wave_ax.fill_between(times, low, high, color="0.35", linewidth=0)
    colours = plt.get_cmap("tab10")
    labels = sorted(set(str(label) for label in features.section_labels))
    for (begin, end), label in zip(features.sections_s, features.section_labels, strict=True):
        colour = colours(labels.index(str(label)) % 10)
        for ax in axes:
            ax.axvspan(begin, end, color=colour, alpha=0.08, linewidth=0)
        wave_ax.text(begin, 1.02, f" {label}", transform=wave_ax.get_xaxis_transform(),
                     color=colour, fontsize=10, fontweight="bold", va="bottom")
    wave_ax.set_ylabel("waveform")
    parts = tempo_changes(features.beats_s, features.duration_s)
    tempo = (" -> ".join(f"{bpm:.1f}" for _, _, bpm in parts) if len(parts) > 1
             else f"{features.tempo_bpm:.1f}")
    wave_ax.set_title(f"{info.path.name}: {tempo} BPM, "
                      f"{features.meter or '?'} beats a bar, {len(features.beats_s)} beats, "
                      f"{len(features.sections_s)} sections, beat confidence "
                      f"{features.beat_confidence:.2f}", loc="left", pad=16)
    onset_ax.plot(times, features.onset, color="tab:blue", linewidth=0.8)
    onset_ax.vlines(features.beats_s, 0, 1, transform=onset_ax.get_xaxis_transform(),
                    color="tab:orange", linewidth=0.6, label="beats")
    onset_ax.vlines(features.downbeats_s, 0, 1, transform=onset_ax.get_xaxis_transform(),
                    color="tab:red", linewidth=1.6, label="bar lines")
    onset_ax.set_ylabel("onset")
    onset_ax.legend(loc="upper right", fontsize=8)
    # where the grid is doubtful the pulses hand over to the strongest onsets
    confidence = np.asarray(features.frame_confidence, dtype=np.float64)
    trust_ax.fill_between(times, 0, confidence, color="tab:purple", alpha=0.3, linewidth=0)
    trust_ax.plot(times, confidence, color="tab:purple", linewidth=0.8)
    trust_ax.axhline(LOW_CONFIDENCE, color="0.4", linewidth=0.8, linestyle="--")
    trust_ax.text(0.995, LOW_CONFIDENCE, "below: no clear beat ", ha="right", va="bottom",
                  transform=trust_ax.get_yaxis_transform(), fontsize=8, color="0.3")
    trust_ax.set_ylim(0, 1.05)
    trust_ax.set_ylabel("beat\nconfidence")
    pulse_ax.plot(times, envelope, color="tab:red", linewidth=0.8)
    pulse_ax.set_ylabel("pulse")
    drift_ax.plot(times, speed, color="tab:green", linewidth=0.8)
    drift_ax.set_ylabel("drift\n(cycles/min)")
    class_ax.stackplot(times, weights.T, labels=[str(c) for c in config.classes],
                       colors=[colours(k % 10) for k in range(weights.shape[1])])
    class_ax.set_ylabel("class weights")
    class_ax.legend(loc="upper right", fontsize=8, title="class id")
    class_ax.set_xlabel("time (s)")
    class_ax.set_xlim(0, features.duration_s)
    figure.tight_layout()
    temporary = target.with_name(f".{target.stem}.{os.getpid()}.png")
    try:
        figure.savefig(temporary, dpi=100)
        temporary.replace(target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ConfigError(f"--plot {target}: cannot write it ({exc.strerror or exc})") from None
    finally:
        plt.close(figure)
    return target
