"""Policy files: both regimes load; a bad file is refused with the file and the field named."""

from __future__ import annotations

import hashlib

import pytest

from registry.errors import PolicyError
from registry.policy import DOMAINS, POLICY_DIR, load_policy, policies


def test_shipped_policies_load_with_version_and_hash():
    shipped = policies()
    assert set(shipped) == {"mem11@2023.10", "mem11@2026.11", "saws49@2017.05", "saws49@2026.11"}
    mem11, saws49 = shipped["mem11@2026.11"], shipped["saws49@2026.11"]
    assert (mem11.procedure.late_entry_days, saws49.procedure.late_entry_days) == (30, 30)
    assert shipped["mem11@2023.10"].procedure.late_entry_days is None  # its entries keep it
    assert [r.code for r in mem11.rules] == [f"S{i}" for i in range(1, 10)]
    assert [r.code for r in saws49.rules] == [f"J{i}" for i in range(1, 11)]
    assert (mem11.term.months, mem11.term.automatic_removal, mem11.repair.after_months) == (
        36,
        True,
        12,
    )
    assert (
        saws49.term.months,
        saws49.term.automatic_removal,
        saws49.repair.apply_within_days_before_expiry,
    ) == (12, False, 30)
    raw = (POLICY_DIR / "mem11-2026.toml").read_bytes()
    assert mem11.sha256 == hashlib.sha256(raw).hexdigest()
    for policy in shipped.values():
        same = shipped[f"{policy.id}@2026.11"]
        assert (policy.rules, policy.term, policy.measures) == (
            same.rules,
            same.term,
            same.measures,
        )
        assert {m.domain for m in policy.measures} == set(DOMAINS)
        for rule in policy.rules:
            assert rule.entry_standard and rule.removal and rule.procedure and rule.remedies


def _variant(tmp_path, old, new):
    text = (POLICY_DIR / "mem11-2023.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "variant.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_unknown_category_is_named(tmp_path):
    path = _variant(tmp_path, '"refused_order"', '"refusing"')
    with pytest.raises(PolicyError, match=r"variant.toml is invalid: rules.7.match.0.*refusing"):
        load_policy(path)


def test_missing_domain_measure_is_named(tmp_path):
    path = _variant(tmp_path, 'domain = "state_land"', 'domain = "moon_land"')
    with pytest.raises(PolicyError, match="unknown domains"):
        load_policy(path)


def test_unknown_field_and_bad_toml(tmp_path):
    with pytest.raises(PolicyError, match=r"term\.weeks"):
        load_policy(_variant(tmp_path, "months = 36", "weeks = 36"))
    bad = tmp_path / "bad.toml"
    bad.write_text("id = ", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "absent.toml")


def test_every_shipped_policy_reads_in_english_outside_its_hash():
    for policy in policies().values():
        assert policy.english is not None, policy.key
        assert policy.list_name("en") != policy.name and policy.list_name("zh") == policy.name
        for rule in policy.rules:
            title = policy.rule_title(rule.code, "en")
            assert title.isascii() and title != rule.title
    raw = (POLICY_DIR / "saws49-2017.toml").read_bytes()
    assert policies()["saws49@2017.05"].sha256 == hashlib.sha256(raw).hexdigest()


def test_a_translation_missing_a_rule_is_refused_naming_its_file(tmp_path):
    path = _variant(tmp_path, "months = 36", "months = 36")
    (tmp_path / "en").mkdir()
    english = (POLICY_DIR / "en" / "mem11-2023.toml").read_text(encoding="utf-8")
    lines = [x for x in english.splitlines() if not x.startswith("S9 =")]
    (tmp_path / "en" / "variant.toml").write_text("\n".join(lines) + '\nS10 = "x"\n')
    with pytest.raises(PolicyError, match=r"en/variant.toml must title .*\['S9'\].*\['S10'\]"):
        load_policy(path)
    (tmp_path / "en" / "variant.toml").write_text('name = ""\n[titles]\n')
    with pytest.raises(PolicyError, match=r"en/variant.toml is invalid: name"):
        load_policy(path)
    (tmp_path / "en" / "variant.toml").unlink()
    assert load_policy(path).english is None
    assert load_policy(path).rule_title("S1", "en") == load_policy(path).rule("S1").title
