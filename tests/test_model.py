from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from audiogan import model as biggan
from audiogan.errors import ModelLoadError
from audiogan.model import fetch_weights, load_biggan, make_random_checkpoint


def _forward(generator, n: int = 2) -> torch.Tensor:
    z = torch.randn(n, 128, generator=torch.Generator().manual_seed(0)).clamp(-2, 2) * 0.5
    y = torch.zeros(n, 1000)
    y[:, 1] = 1.0
    with torch.inference_mode():
        return generator(z, y, 0.5)


def test_loads_strictly_and_folds_spectral_norm(tiny_weights):
    generator = load_biggan("biggan-deep-128", tiny_weights)
    assert not any(hasattr(m, "weight_orig") for m in generator.modules())
    images = _forward(generator)
    assert images.shape == (2, 3, 128, 128)
    assert torch.isfinite(images).all()
    assert images.std() > 0.2  # the random model has real contrast, not a flat grey


def test_full_size_128_checkpoint_through_the_real_loader(tmp_path):
    folder = make_random_checkpoint(tmp_path / "full", channel_width=128, power_iterations=3)
    assert (folder / "pytorch_model.bin").stat().st_size > 150e6  # the real 50M parameters
    generator = load_biggan(None, folder)
    assert generator.config.channel_width == 128
    assert torch.isfinite(_forward(generator, 1)).all()


@pytest.mark.parametrize("resolution", [256, 512])
def test_256_and_512_use_their_real_layer_lists(tmp_path, resolution):
    folder = make_random_checkpoint(tmp_path / str(resolution), resolution=resolution,
                                    channel_width=4, power_iterations=2)
    generator = load_biggan(f"biggan-deep-{resolution}", folder)
    assert _forward(generator, 1).shape == (1, 3, resolution, resolution)


def test_corrupt_checkpoint(tmp_path, tiny_weights):
    folder = tmp_path / "corrupt"
    shutil.copytree(tiny_weights, folder)
    (folder / "pytorch_model.bin").write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(ModelLoadError) as caught:
        load_biggan(None, folder)
    assert str(caught.value) == (
        f"{folder / 'pytorch_model.bin'} is not a readable PyTorch checkpoint (UnpicklingError);"
        " re-download it or point --weights at another folder")


def test_checkpoint_of_another_architecture(tmp_path, tiny_weights):
    other = make_random_checkpoint(tmp_path / "wide", channel_width=16, power_iterations=1)
    folder = tmp_path / "mixed"
    shutil.copytree(tiny_weights, folder)
    shutil.copyfile(other / "pytorch_model.bin", folder / "pytorch_model.bin")
    with pytest.raises(ModelLoadError) as caught:
        load_biggan(None, folder)
    message = str(caught.value)
    assert message.startswith(f"{folder / 'pytorch_model.bin'} does not fit the BigGAN-deep "
                              f"described in {folder / 'config.json'}: ")
    assert "of another shape (e.g. embeddings.weight" not in message
    assert "of another shape" in message


def test_resolution_must_match_the_model_asked_for(tmp_path):
    folder = make_random_checkpoint(tmp_path / "r256", resolution=256, channel_width=4,
                                    power_iterations=1)
    with pytest.raises(ModelLoadError) as caught:
        load_biggan("biggan-deep-128", folder)
    assert str(caught.value) == (f"{folder} holds a 256 px BigGAN but biggan-deep-128 was "
                                 "asked for; pass --model biggan-deep-256 or other weights")


def test_missing_weights(tmp_path):
    with pytest.raises(ModelLoadError, match="weights folder .* not found: give a folder"):
        load_biggan(None, tmp_path / "nowhere")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="pytorch_model.bin not found: a weights folder"):
        load_biggan(None, tmp_path)


def test_download_failure_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path / "cache"))
    dead = "http://127.0.0.1:9/biggan-deep-128"
    monkeypatch.setitem(biggan.PRETRAINED_CONFIG_ARCHIVE_MAP, "biggan-deep-128", dead + ".json")
    monkeypatch.setitem(biggan.PRETRAINED_MODEL_ARCHIVE_MAP, "biggan-deep-128", dead + ".bin")
    with pytest.raises(ModelLoadError) as caught:
        fetch_weights("biggan-deep-128")
    message = str(caught.value)
    assert message.startswith("could not download the biggan-deep-128 weights (archive: ")
    assert message.endswith("and pass --weights FOLDER")
    assert list((tmp_path / "cache" / "biggan-deep-128").iterdir()) == []  # nothing half-written


def test_no_network_fails_at_once_in_one_line(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path / "cache"))
    nowhere = "http://weights.invalid/biggan-deep-128"  # .invalid never resolves
    monkeypatch.setitem(biggan.PRETRAINED_CONFIG_ARCHIVE_MAP, "biggan-deep-128",
                        nowhere + ".json")
    hub_calls = []
    monkeypatch.setattr(biggan, "_from_hub", lambda *args: hub_calls.append(args))
    with pytest.raises(ModelLoadError) as caught:
        fetch_weights("biggan-deep-128")
    assert hub_calls == []  # no name resolves, so the hub is not tried (and retried) either
    assert str(caught.value).startswith("could not download the biggan-deep-128 weights "
                                        "(archive: ")
    assert capfd.readouterr().err == ""


def test_cached_weights_load_offline(tmp_path, monkeypatch, tiny_weights):
    monkeypatch.setenv("AUDIOGAN_CACHE", str(tmp_path))
    shutil.copytree(tiny_weights, tmp_path / "biggan-deep-128")
    monkeypatch.setitem(biggan.PRETRAINED_MODEL_ARCHIVE_MAP, "biggan-deep-128",
                        "http://127.0.0.1:9/never-asked")
    generator = load_biggan("biggan-deep-128")
    assert generator.config.output_dim == 128


def _pictures(generator, n: int = 2) -> np.ndarray:
    return ((_forward(generator, n).permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_wide_frames_continue_the_square_picture_to_the_edges(tiny_weights):
    from PIL import Image

    generator = load_biggan(None, tiny_weights)
    wide = biggan.widen(generator, 16 / 9, seed=3)
    assert biggan.frame_size(wide) == (256, 128)  # 8x4 cells, cropped to 16:9 by ffmpeg
    square, pictures = _pictures(generator), _pictures(wide)
    assert pictures.shape == (2, 128, 256, 3) and np.isfinite(pictures).all()
    frame = pictures[0]
    # the middle still shows the square's picture ...
    assert _correlation(frame[:, 64:192], square[0]) > 0.7
    # ... and the sides are new picture, not a mirror image nor the square stretched
    assert _correlation(frame, frame[:, ::-1]) < 0.5
    stretched = np.asarray(Image.fromarray(square[0].astype(np.uint8)).resize(
        (256, 128), Image.LANCZOS), dtype=float)
    assert _correlation(frame, stretched) < 0.6
    assert frame[:, :32].std() > 10 and frame[:, -32:].std() > 10  # no bars at the edges
    # the sides are their own: not the middle repeated
    assert _correlation(frame[:, :64], frame[:, 64:128]) < 0.5


def test_tall_frames_and_the_square_unchanged(tiny_weights):
    generator = load_biggan(None, tiny_weights)
    tall = biggan.widen(generator, 9 / 16, seed=3)
    assert biggan.frame_size(tall) == (128, 256)
    assert _pictures(tall).shape == (2, 256, 128, 3)
    assert biggan.widen(generator, 1.0) is generator
    assert biggan.frame_size(generator) == (128, 128)
