"""`audiogan live`: the video played with the music, in real time.

(Grows in the next commits; for now the causal analysis of a file, behind
``audiogan analyze SONG --causal``.)
"""

from __future__ import annotations

from pathlib import Path

from audiogan import audio
from audiogan.beats import TEMPO_RANGE
from audiogan.causal import CausalBeats, track_causal
from audiogan.config import check_tempo_range

__all__ = ["ANALYSIS_SR", "causal_analysis"]

ANALYSIS_SR = 22050
BLOCK_S = 512 / ANALYSIS_SR
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
