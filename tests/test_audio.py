from __future__ import annotations

import numpy as np
import pytest

from audiogan.audio import probe, stream_mono
from audiogan.errors import AudioLoadError
from tests import synth


@pytest.fixture(scope="module")
def stereo_wav(tmp_path_factory):
    y, _ = synth.click_track(120.0, 4.0)
    stereo = np.stack([y, 0.5 * y], axis=1)
    return synth.write_wav(tmp_path_factory.mktemp("audio") / "stereo.wav", stereo)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3", ".m4a"])
def test_reads_every_common_format(stereo_wav, tmp_path, suffix):
    path = stereo_wav if suffix == ".wav" else synth.convert(stereo_wav, tmp_path / f"s{suffix}")
    info = probe(path)
    assert info.sample_rate == 44100
    assert info.channels == 2
    y = np.concatenate(list(stream_mono(info, sample_rate=22050)))
    assert abs(len(y) / 22050 - 4.0) < 0.06  # lossy codecs pad a few ms
    assert np.max(np.abs(y)) > 0.3


def test_blocks_cover_the_signal_exactly(stereo_wav):
    info = probe(stereo_wav)
    blocks = list(stream_mono(info, sample_rate=22050, block_s=0.5))
    assert len(blocks) == 8
    assert sum(len(b) for b in blocks) == 4 * 22050


def test_excerpt(stereo_wav):
    info = probe(stereo_wav)
    y = np.concatenate(list(stream_mono(info, sample_rate=22050, start=1.0, duration=2.0)))
    assert len(y) == 2 * 22050


def test_missing_file(tmp_path):
    with pytest.raises(AudioLoadError, match="no such file; check the path"):
        probe(tmp_path / "nope.wav")


def test_folder(tmp_path):
    with pytest.raises(AudioLoadError, match="is a folder; give one audio file"):
        probe(tmp_path)


def test_text_file_named_wav(tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("these are my lyrics, not audio\n")
    with pytest.raises(AudioLoadError, match="is not an audio file ffmpeg can read"):
        probe(fake)


def test_truncated_mp3(stereo_wav, tmp_path):
    whole = synth.convert(stereo_wav, tmp_path / "whole.mp3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    info = probe(cut)
    with pytest.raises(AudioLoadError, match="damaged or truncated: its header says 4.0 s"):
        list(stream_mono(info))
