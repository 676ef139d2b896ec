from __future__ import annotations

import pytest

from audiogan.config import MappingConfig, available_presets, load_preset, resolve_config
from audiogan.errors import ConfigError


def test_defaults_equal_the_default_preset():
    assert resolve_config().mapping == MappingConfig()
    assert resolve_config().classes == (973, 980, 970)


def test_precedence_defaults_preset_flags(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text("[render]\nfps = 24\nseed = 3\n[mapping]\npulse_strength = 1.5\n")
    config = resolve_config(preset, render={"seed": 9}, mapping={"truncation": 0.3})
    assert config.fps == 24          # from the preset
    assert config.seed == 9          # the flag beats the preset
    assert config.mapping.pulse_strength == 1.5
    assert config.mapping.truncation == 0.3
    assert config.mapping.drift_speed == MappingConfig().drift_speed  # built-in default


def test_shipped_presets_differ_in_character():
    assert {"default", "calm", "punchy"} <= set(available_presets())
    calm, punchy = resolve_config("calm").mapping, resolve_config("punchy").mapping
    assert calm.pulse_strength * 3 < punchy.pulse_strength
    assert calm.drift_speed * 3 < punchy.drift_speed
    assert calm.class_sharpness * 3 < punchy.class_sharpness


def test_preview_is_small_and_slow():
    config = resolve_config(render={"preview": True, "model": "biggan-deep-512"})
    assert config.fps == 12 and config.model == "biggan-deep-128"


@pytest.mark.parametrize(("render", "message"), [
    ({"fps": 0}, "fps must be in (0, 120], got 0.0"),
    ({"fps": "fast"}, "fps must be a number, got 'fast'"),
    ({"model": "biggan-deep-1024"}, "unknown model 'biggan-deep-1024': choose biggan-deep-128,"
                                    " biggan-deep-256 or biggan-deep-512"),
    ({"device": "tpu"}, "device must be auto, cpu or cuda, got 'tpu'"),
    ({"batch_size": 0}, "batch_size must be in [1, 1024], got 0"),
    ({"duration": -1.0}, "duration must be greater than 0, got -1.0"),
])
def test_bad_values_name_key_value_and_range(render, message):
    with pytest.raises(ConfigError) as caught:
        resolve_config(render=render)
    assert str(caught.value) == message


def test_bad_preset_file(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[mapping]\npulse_strenght = 2\n")
    with pytest.raises(ConfigError, match=r"preset .*broken.toml: unknown mapping setting "
                                          r"'pulse_strenght'"):
        resolve_config(broken)
    with pytest.raises(ConfigError, match="unknown preset 'loud': choose one of calm, default"):
        load_preset("loud")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[mapping\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_preset(bad_toml)
