"""Automatic stems with demucs (optional: ``pip install "audiogan[stems]"``).

The song is split into drums, bass and other (vocals go with other) by demucs' pretrained
``htdemucs``; the stems are written as wav files into the cache and reused for the same song.
Without demucs, or without its weights (they download once from the internet), this stops
with one line saying what to do instead.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from audiogan import ffmpeg
from audiogan.cache import cache_dir
from audiogan.errors import AudioLoadError, MissingPackageError, ModelLoadError
from audiogan.files import atomic_write
from audiogan.stems import STEM_NAMES

__all__ = ["separate_stems", "MODEL"]

MODEL = "htdemucs"


def _digest(song: Path) -> str:
    with open(song, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()[:24]


def separate_stems(song: str | Path, *, device: str = "cpu") -> dict[str, Path]:
    """Paths of the drums, bass and other stems of `song`, separating it if not cached."""
    song = Path(song)
    folder = cache_dir() / "stems" / f"{_digest(song)}-{MODEL}"
    paths = {name: folder / f"{name}.wav" for name in STEM_NAMES}
    if all(path.is_file() for path in paths.values()):
        return paths
    try:
        import torch
        from demucs.apply import apply_model
        from demucs.pretrained import get_model
    except ImportError:
        raise MissingPackageError("--separate", "demucs", extra="stems",
                                  hint=", or give the stems yourself with --stem drums=PATH "
                                  "--stem bass=PATH --stem other=PATH") from None
    try:
        model = get_model(MODEL)
    except Exception as exc:  # demucs reports a failed download in many ways
        raise ModelLoadError(f"demucs could not load its {MODEL} weights "
                             f"({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); they "
                             "download once from the internet, or give the stems yourself "
                             "with --stem NAME=PATH") from None
    import numpy as np

    # demucs wants its own rate, stereo; the whole song at once (separation is not streamed)
    mono = _decode_mono(song, model.samplerate)
    wav = torch.from_numpy(np.stack([mono, mono]))[None]
    with torch.inference_mode():
        sources = apply_model(model, wav, device=device, progress=False)[0]
    folder.mkdir(parents=True, exist_ok=True)
    names = list(model.sources)
    rest = [i for i, name in enumerate(names) if name not in ("drums", "bass")]
    signals = {"drums": sources[names.index("drums")], "bass": sources[names.index("bass")],
               "other": sources[rest].sum(dim=0)}
    for name, signal in signals.items():
        _write_wav(paths[name], signal.mean(dim=0).numpy(), model.samplerate)
    return paths


def _decode_mono(song: Path, sample_rate: int):
    """The whole of `song` as mono float32 at `sample_rate` (the samples `audio.stream_mono`
    gives, decoded here so that this stage does not lean on the audio stage)."""
    import numpy as np

    result = ffmpeg.run(["-nostdin", "-v", "error", "-i", str(song), "-map", "0:a:0", "-vn",
                         "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"],
                        capture_output=True)
    if result.returncode != 0:
        reason = ffmpeg.last_line(result.stderr, f"exit {result.returncode}")
        raise AudioLoadError(f"{song} could not be decoded ({reason}); re-export it")
    return np.frombuffer(result.stdout, dtype=np.float32)


def _write_wav(path: Path, signal, sample_rate: int) -> None:
    """Mono 16-bit wav, written under a temporary name and renamed when complete."""
    import numpy as np
    import soundfile

    # scaled here rather than by libsndfile, whose float -> PCM_16 rounding differs by up
    # to 2 LSB from the truncation the cached stems were always written with
    pcm = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2")
    with atomic_write(path) as partial:
        soundfile.write(partial, pcm, sample_rate, subtype="PCM_16", format="WAV")
