"""English names of the lists and titles of the rules, by policy id and rule code (the policy
files give them in Chinese only; their text is hashed into every entry, so it stays as it is)."""

from __future__ import annotations

from service.http.pages.texts import Lang

LIST_NAMES = {
    "mem11": "Serious work-safety dishonesty list (MEM Order No. 11)",
    "saws49": "Work-safety bad-record blacklist (SAWS General Office [2017] No. 49)",
}
RULE_TITLES = {
    "S1": "A major or especially major accident",
    "S2": "Two or more larger accidents within 12 months",
    "S3": "An accident fined at 2 to 5 times (Work Safety Law Art. 114)",
    "S4": "Concealing or falsely reporting an accident",
    "S5": "The principal failed to organise rescue, left the post or fled",
    "S6": "Operating without, or while suspended or revoked, a safety permit",
    "S7": "A safety assessment or testing body renting qualifications or issuing false reports",
    "S8": "Refusing to carry out a penalty decision or rectification order",
    "S9": "Other serious violations penalised under the law",
    "J1": "A larger or worse accident, or 3 or more fatal general accidents in a year",
    "J2": "Operating without, or while suspended or revoked, a safety permit",
    "J3": "A known major hidden danger (or severe occupational hazard) left uncorrected",
    "J4": "Evading or resisting supervision by concealment, deceit or obstruction",
    "J5": "Operating while ordered to suspend production",
    "J6": "Concealing, falsely reporting or late reporting an accident",
    "J7": "A high-risk project put in use before acceptance",
    "J8": "Mining beyond the licensed seam or boundary",
    "J9": "Defying orders, destroying the scene or evidence after an accident, or fleeing",
    "J10": "A technical service body issuing false reports or certificates",
}


def list_name(policy_id: str, zh: str, lang: Lang) -> str:
    return LIST_NAMES.get(policy_id, zh) if lang == "en" else zh


def rule_title(code: str, zh: str, lang: Lang) -> str:
    return RULE_TITLES.get(code, zh) if lang == "en" else zh
