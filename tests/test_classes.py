from __future__ import annotations

import pytest

from audiogan.classes import class_names, parse_classes, search_classes
from audiogan.errors import ConfigError


def test_ids_names_and_commas():
    assert parse_classes(["398", "402"]) == (398, 402)
    assert parse_classes(["398,402"]) == (398, 402)
    assert parse_classes(["goldfish", "acoustic guitar"]) == (1, 402)
    assert parse_classes(["Acoustic_Guitar", "Carassius auratus"]) == (402, 1)
    assert parse_classes([7]) == (7,)
    assert class_names()[398][0] == "abacus"


def test_unknown_id_and_name():
    with pytest.raises(ConfigError) as caught:
        parse_classes(["1000"])
    assert str(caught.value) == ("class 1000 does not exist: ImageNet ids run from 0 to 999"
                                 " (list them with `audiogan classes`)")
    with pytest.raises(ConfigError) as caught:
        parse_classes(["goldfsh"])
    assert str(caught.value) == ("unknown class 'goldfsh': did you mean 'goldfish' or "
                                 "'goldfinch'? search the"
                                 " names with `audiogan classes goldfsh`")


def test_search():
    found = dict(search_classes("guitar"))
    assert set(found) == {402, 546}
    assert len(search_classes()) == 1000
