"""The choices the command line offers, listed in ``--help`` and checked while the arguments are
parsed. Copies of the packages' own lists, kept here so that ``safecredit --help`` imports none
of pandas, SQLAlchemy or the models; ``tests/service/test_cli_help.py`` fails if a copy drifts
from its source."""

from __future__ import annotations

DOMAINS = (  # registry.policy.DOMAINS
    "administrative_approval",
    "government_procurement",
    "bidding",
    "state_land",
    "financing",
    "qualification_review",
    "insurance_surcharge",
    "inspection_frequency",
)
STATUSES = ("restricted", "clear", "not_found", "invalid")  # registry.check.STATUSES
HONOURS = ("none", "city", "province")  # models.tariff.HONOURS
FORMATS = (".csv", ".xlsx", ".json", ".parquet")  # features.files.FORMATS
ROLES = (
    "insurer",
    "approval_office",
    "enterprise",
    "regulator",
    "admin",
)  # service.engine.keys.ROLES
ENCODINGS = ("utf-8", "gb18030")  # features.extract.Encoding
CHECK_MODES = ("strict", "warn")  # features.uscc.CheckMode
ENGINES = ("pandas", "spark")
WORLD_FORMATS = ("csv", "parquet")
