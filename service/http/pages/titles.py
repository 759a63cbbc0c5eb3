"""List names and rule titles in the page's language. The English text ships beside each policy
file (``registry/policies/en/``), outside the policy's sha256, so the Chinese text every entry
was decided under stays as it was."""

from __future__ import annotations

from registry.policy import Policy, policies
from service.http.pages.texts import Lang


def _newest_first() -> list[Policy]:
    return sorted(policies().values(), key=lambda p: p.version, reverse=True)


def list_name(policy_id: str, zh: str, lang: Lang) -> str:
    if lang != "en":
        return zh
    return next((p.list_name("en") for p in _newest_first() if p.id == policy_id and p.english), zh)


def rule_title(code: str, zh: str, lang: Lang) -> str:
    if lang != "en":
        return zh
    titled = (p for p in _newest_first() if p.english and code in p.english.titles)
    return next((p.rule_title(code, "en") for p in titled), zh)
