"""The settings file: every key validated, errors naming the file, line and key."""

from __future__ import annotations

import pytest

from dedup.errors import MatchSettingsError
from dedup.settings import PROJECT_SETTINGS, load_settings, parse_settings

TEXT = PROJECT_SETTINGS.read_text(encoding="utf-8")


def test_the_project_file_loads_with_every_comparison_and_level() -> None:
    s = load_settings()
    assert s.shops.comparison("geo").level_names[-1] == "beyond"
    assert "within_10pct" in s.offers.comparison("price").level_names
    assert s.shops.training and s.offers.hard
    assert s.kind("offer") is s.offers


@pytest.mark.parametrize("old, new, message", [
    ("    phone:\n      levels:\n        same:", "    phone:\n      levels:\n        sam:",
     "phone has no level 'sam'"),
    ("  prior: 0.05\n", "  prior: many\n", "expected a number"),
    ("  max_weight: 24 ", "  max_wieght: 24 ", "unknown key 'max_wieght'"),
    ("hard: [gtin.different, variant.different]  #", "hard: [gtin.differs]  #",
     "'gtin.differs' is not COMPARISON.LEVEL"),
    ("        beyond_30pct: [0.02, 0.50]", "        beyond_30pct: [0.02]", "expected [m, u]"),
    ("    siret.same_siren_other_siret: [phone.same,", "    siret.same: [phone.same,",
     "'siret.same' is not one of shops.hard"),
    ("    siret.same_siren_other_siret: [phone.same,",
     "    siret.same_siren_other_siret: [phone.sam,", "'phone.sam' is not COMPARISON.LEVEL"),
])
def test_a_wrong_value_names_its_line_and_key(old: str, new: str, message: str) -> None:
    assert old in TEXT
    text = TEXT.replace(old, new, 1)
    with pytest.raises(MatchSettingsError) as info:
        parse_settings(text, "matching.yaml")
    assert message in str(info.value)
    line = int(str(info.value).split(":")[1])
    changed = text.splitlines()[line - 1]
    assert any(part.strip() in changed for part in new.split("\n") if part.strip()), changed


def test_a_missing_level_is_refused() -> None:
    text = TEXT.replace("        contained: [0.05, 0.03]     # a title with words", "  #", 1)
    with pytest.raises(MatchSettingsError, match="level 'contained' is missing"):
        parse_settings(text)
