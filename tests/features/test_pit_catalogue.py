"""The catalogue: validated on load, rendered into sentences and a Markdown table, and exactly
the set of features the families compute."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from experiments.simulate import simulate
from features.catalogue import (
    CATALOGUE,
    CATALOGUE_FILE,
    CatalogueError,
    load_catalogue,
    markdown_table,
    render,
)
from features.families import FAMILIES
from features.families.scope import Scope
from features.pit import FEATURE_NAMES
from features.store import History, day_number


def test_every_catalogue_feature_is_computed_and_nothing_else():
    frames = simulate(60, 3, seed=3).tables
    scope = Scope(
        History.from_frames(frames),
        day_number("2025-12-31"),
        frames["enterprises"]["uscc"].to_numpy(dtype=object),
    )
    computed = [name for family in FAMILIES for name in family(scope)]
    assert sorted(computed) == sorted(CATALOGUE) == sorted(FEATURE_NAMES)


def test_every_feature_has_both_languages_a_direction_and_actions_when_actionable():
    for f in CATALOGUE.values():
        assert f.direction in (-1, 0, 1)
        assert "{value" in f.zh and "{value" in f.en
        assert not f.actionable or (f.action_en and f.action_zh)
        assert (f.cap is not None) == f.name.endswith("days_since_last")
    assert CATALOGUE["haz_open_major"].actionable
    assert not CATALOGUE["acc_major_3y"].actionable


def test_render_fills_the_value_in_either_language():
    assert (
        render("haz_overdue_major", 2, "en")
        == "2 major hidden dangers past their rectification deadline"
    )
    assert render("haz_overdue_major", 2, "zh") == "2项重大事故隐患超过整改期限"
    assert render("industry", "fireworks", "zh") == "所属行业：烟花爆竹"
    assert render("haz_rectified_rate_1y", 0.75).startswith("75% of hidden dangers")
    assert render("insp_1y", math.nan).endswith("(no data)")
    with pytest.raises(KeyError, match="not in the feature catalogue"):
        render("no_such_feature", 1)


def test_markdown_table_lists_every_feature_once():
    table = markdown_table()
    for name in CATALOGUE:
        assert table.count(f"`{name}`") == 1
    assert table.count(" | `") == len(CATALOGUE)
    assert len(set(f.code for f in CATALOGUE.values())) == len(CATALOGUE)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('direction = 1\nzh = "近90天一般', 'direction = 2\nzh = "近90天一般'),
            "direction must be",
        ),
        (('window = "90d"', 'window = "2w"'), "window '2w'"),
        (
            ('en = "{value:.0f} general violation{s} in the last 90 days"', 'en = "general"'),
            "no {value}",
        ),
        (('action_en = "rectify the open major hidden dangers"\n', ""), "needs action_zh"),
        (('name = "viol_general_1y"', 'name = "viol_general_90d"'), "declared twice"),
        (("code = 102", "code = 101"), "code 101 is viol_general_90d's; a reason code is never"),
        (("retired = []", "retired = [102]"), "code 102 is a retired feature's"),
    ],
)
def test_a_malformed_catalogue_is_refused_naming_the_feature(tmp_path: Path, edit, message):
    text = CATALOGUE_FILE.read_text(encoding="utf-8")
    old, new = edit
    assert old in text
    bad = tmp_path / "catalogue.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_catalogue(bad)


def test_the_loaded_catalogue_records_version_and_hash():
    loaded = load_catalogue()
    assert loaded.version and len(loaded.sha256) == 64
