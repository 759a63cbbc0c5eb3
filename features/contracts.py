"""History data contracts: the tables a work-safety history arrives in, and what each column means.

One folder holds one extract: ``enterprises`` and ``accidents`` are required, every other table
may be absent. Each file is CSV or Parquet (``accidents.csv`` or ``accidents.parquet``). These
declarations drive validation, the database tables, the simulator's output and the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    ID = "id"  # a record identifier, unique within its table
    USCC = "uscc"  # a unified social credit code
    TEXT = "text"
    DATE = "date"  # ISO yyyy-mm-dd, never after the load date unless the column says so
    INT = "int"  # a non-negative whole number, at most INT_MAX unless the column says less
    MONEY = "money"  # non-negative, finite CNY, at most MONEY_MAX unless the column says less
    BOOL = "bool"  # true/false, 1/0, yes/no
    ENUM = "enum"


INT_MAX = 2**31 - 1  # the largest whole number a stored INT column holds (a 32-bit integer)
MONEY_MAX = 1e12  # CNY: a trillion yuan, beyond any fine or accident loss on record
COUNT_MAX = 100_000  # people killed or injured in one accident

# Industries: the 8 compulsory liability-insurance industries of 应急〔2025〕27号 first.
INDUSTRIES: dict[str, tuple[str, bool]] = {
    "mining": ("矿山", True),
    "hazardous_chemicals": ("危险化学品", True),
    "fireworks": ("烟花爆竹", True),
    "transport": ("交通运输", True),
    "construction": ("建筑施工", True),
    "civil_explosives": ("民用爆炸物品", True),
    "metal_smelting": ("金属冶炼", True),
    "fishery": ("渔业生产", True),
    "manufacturing": ("机械制造", False),
    "building_materials": ("建材", False),
    "food_processing": ("食品加工", False),
    "textiles": ("纺织", False),
    "power": ("电力", False),
    "warehousing": ("仓储物流", False),
    "retail": ("商贸零售", False),
    "hospitality": ("住宿餐饮", False),
    "safety_services": ("安全评价检测检验机构", False),
    "other": ("其他", False),
}
COMPULSORY_INDUSTRIES = frozenset(k for k, (_, compulsory) in INDUSTRIES.items() if compulsory)

# Violation categories. The first group are the behaviours the joint-punishment rules name
# (S6–S8 of 应急管理部令第11号, J2/J4/J5/J7–J10 of 安监总办〔2017〕49号); the rest are ordinary.
VIOLATION_CATEGORIES: dict[str, str] = {
    "no_permit": "无证、证照不全或许可暂扣吊销期间从事生产经营",
    "operating_under_suspension": "停产整顿期间擅自生产",
    "evading_supervision": "逃避、拒绝安全监管",
    "refused_order": "拒不执行处罚决定或整改指令",
    "unaccepted_project": "高危项目未经验收擅自投用",
    "beyond_licence": "超层越界开采",
    "false_report": "安全评价检测机构出具虚假报告或出租出借资质",
    "destroying_evidence": "毁灭证据或事故后逃匿",
    "rescue_failure": "主要负责人不立即组织抢救或擅离职守",
    "management": "安全管理制度缺失",
    "training": "安全培训教育不到位",
    "equipment": "设备设施缺陷",
    "ppe": "劳动防护用品不合格",
    "fire_safety": "消防安全隐患",
    "electrical": "用电安全",
    "hazardous_materials": "危险物品管理",
    "confined_space": "有限空间作业",
    "working_at_height": "高处作业",
    "emergency_plan": "应急预案与演练",
    "other": "其他",
}

PENALTY_MEASURES = (
    "warning",
    "fine",
    "suspension",
    "permit_suspended",
    "permit_revoked",
    "closure",
)
SEVERE_MEASURES = frozenset({"suspension", "permit_suspended", "permit_revoked", "closure"})
REPORTING = ("on_time", "late", "concealed", "false")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True  # the column must be in the file
    nullable: bool = False  # a cell may be empty
    values: tuple[str, ...] = ()  # for ENUM
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None  # INT and MONEY default to INT_MAX and MONEY_MAX
    pattern: str | None = None  # a regular expression TEXT values must match in full
    future: bool = False  # a DATE that may lie after the load date (a deadline)
    doc: str = ""

    @property
    def maximum(self) -> float | None:
        """The largest value a number column accepts: its own bound, else its kind's."""
        if self.high is not None:
            return self.high
        return {Kind.INT: INT_MAX, Kind.MONEY: MONEY_MAX}.get(self.kind)


@dataclass(frozen=True)
class Table:
    name: str
    key: str  # the record identifier column
    known_on: str  # the date column from which a record's first version was known
    columns: tuple[Column, ...]
    required: bool = False
    # (later, earlier): later must not precede earlier when both are present
    order: tuple[tuple[str, str], ...] = ()
    # column → table whose key it references (besides uscc → enterprises)
    references: dict[str, str] = field(default_factory=dict)
    doc: str = ""

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _uscc(doc: str = "unified social credit code of the enterprise") -> Column:
    return Column("uscc", Kind.USCC, doc=doc)


ENTERPRISES = Table(
    "enterprises",
    key="uscc",
    known_on="established_on",
    required=True,
    doc="One row per enterprise (生产经营单位).",
    columns=(
        _uscc("unified social credit code (GB 32100-2015)"),
        Column("name", Kind.TEXT, doc="registered name"),
        Column("industry", Kind.ENUM, values=tuple(INDUSTRIES), doc="industry catalogue key"),
        Column("region_code", Kind.TEXT, pattern=r"\d{6}", doc="6-digit division code (GB/T 2260)"),
        Column("employees", Kind.INT, high=10_000_000, doc="headcount"),
        Column(
            "standardization_grade",
            Kind.ENUM,
            nullable=True,
            values=("1", "2", "3"),
            doc="安全生产标准化 grade 1–3, empty when not graded",
        ),
        Column("established_on", Kind.DATE, doc="date of establishment"),
        Column(
            "legal_representative",
            Kind.TEXT,
            required=False,
            nullable=True,
            doc="法定代表人, listed with the unit",
        ),
        Column(
            "principal",
            Kind.TEXT,
            required=False,
            nullable=True,
            doc="主要负责人, listed with the unit",
        ),
        Column(
            "safety_lead",
            Kind.TEXT,
            required=False,
            nullable=True,
            doc="安全管理负责人, listed with the unit",
        ),
    ),
)

INSPECTIONS = Table(
    "inspections",
    key="inspection_id",
    known_on="inspected_on",
    doc="Law-enforcement inspections (执法检查).",
    columns=(
        Column("inspection_id", Kind.ID, doc="inspection record id"),
        _uscc(),
        Column("inspected_on", Kind.DATE, doc="date of the inspection"),
    ),
)

VIOLATIONS = Table(
    "violations",
    key="violation_id",
    known_on="found_on",
    doc="Violations found (违法违规行为).",
    references={"penalty_decision_id": "penalties", "inspection_id": "inspections"},
    columns=(
        Column("violation_id", Kind.ID, doc="violation record id"),
        _uscc(),
        Column("found_on", Kind.DATE, doc="date the violation was found"),
        Column("severity", Kind.ENUM, values=("general", "serious"), doc="一般 or 严重"),
        Column(
            "category", Kind.ENUM, values=tuple(VIOLATION_CATEGORIES), doc="violation category key"
        ),
        Column(
            "penalty_decision_id",
            Kind.ID,
            nullable=True,
            doc="the penalty decision it led to, if any",
        ),
        Column(
            "inspection_id",
            Kind.ID,
            required=False,
            nullable=True,
            doc="the inspection that found it, if any",
        ),
    ),
)

PENALTIES = Table(
    "penalties",
    key="penalty_decision_id",
    known_on="decided_on",
    doc="Administrative penalty decisions (行政处罚决定).",
    order=(("fulfilled_on", "decided_on"),),
    columns=(
        Column("penalty_decision_id", Kind.ID, doc="decision number (处罚决定书文号)"),
        _uscc(),
        Column("decided_on", Kind.DATE, doc="date of the decision"),
        Column("measure", Kind.ENUM, values=PENALTY_MEASURES, doc="the heaviest measure imposed"),
        Column(
            "amount_cny",
            Kind.MONEY,
            nullable=True,
            high=MONEY_MAX,
            doc="fine amount, empty when no fine",
        ),
        Column(
            "fine_multiplier",
            Kind.INT,
            nullable=True,
            low=2,
            high=5,
            doc="2–5 when 安全生产法 Art. 114 applies (accident fines by multiple)",
        ),
        Column("fulfilled_on", Kind.DATE, nullable=True, doc="when carried out; empty while not"),
        Column(
            "department",
            Kind.TEXT,
            required=False,
            nullable=True,
            doc="the department that imposed it (it decides any listing)",
        ),
    ),
)

ACCIDENTS = Table(
    "accidents",
    key="accident_id",
    known_on="reported_on",
    required=True,
    doc="Production-safety accidents (生产安全事故); the grade is derived (国务院令第493号).",
    order=(("reported_on", "occurred_on"),),
    references={"penalty_decision_id": "penalties"},
    columns=(
        Column("accident_id", Kind.ID, doc="accident record id"),
        _uscc(),
        Column("occurred_on", Kind.DATE, doc="date it happened"),
        Column("reported_on", Kind.DATE, doc="when the authorities learned of it"),
        Column("deaths", Kind.INT, high=COUNT_MAX, doc="死亡人数"),
        Column(
            "serious_injuries",
            Kind.INT,
            high=COUNT_MAX,
            doc="重伤人数 (incl. acute industrial poisoning)",
        ),
        Column("direct_loss_cny", Kind.MONEY, high=MONEY_MAX, doc="直接经济损失, CNY"),
        Column(
            "reporting",
            Kind.ENUM,
            values=REPORTING,
            doc="on_time, late (迟报), concealed (瞒报) or false (谎报)",
        ),
        Column("responsible", Kind.BOOL, doc="the enterprise was found responsible"),
        Column(
            "penalty_decision_id",
            Kind.ID,
            required=False,
            nullable=True,
            doc="the penalty decision for the accident, if any",
        ),
        Column(
            "principal_fled",
            Kind.BOOL,
            required=False,
            nullable=True,
            doc="the principal failed to organise rescue, left the post or fled",
        ),
    ),
)

FOUND_BY = ("enterprise", "inspection")

HAZARDS = Table(
    "hazards",
    key="hazard_id",
    known_on="found_on",
    doc="Hidden dangers (事故隐患) and their rectification.",
    order=(("rectified_on", "found_on"), ("due_on", "found_on")),
    columns=(
        Column("hazard_id", Kind.ID, doc="hidden-danger record id"),
        _uscc(),
        Column("found_on", Kind.DATE, doc="date it was found"),
        Column("level", Kind.ENUM, values=("general", "major"), doc="一般 or 重大隐患"),
        Column("due_on", Kind.DATE, future=True, doc="rectification deadline (may lie ahead)"),
        Column("rectified_on", Kind.DATE, nullable=True, doc="empty while open"),
        Column(
            "found_by",
            Kind.ENUM,
            values=FOUND_BY,
            required=False,
            nullable=True,
            doc="enterprise (its own 隐患排查, reported) or inspection; empty when unknown",
        ),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (ENTERPRISES, INSPECTIONS, PENALTIES, VIOLATIONS, ACCIDENTS, HAZARDS)
}
"""In load order: a table's references come before it."""

# 国务院令第493号 accident grades: (grade, deaths ≥, serious injuries ≥, direct loss ≥ CNY).
ACCIDENT_GRADES: tuple[tuple[str, int, int, float], ...] = (
    ("especially_major", 30, 100, 100_000_000),
    ("major", 10, 50, 50_000_000),
    ("larger", 3, 10, 10_000_000),
    ("general", 0, 0, 0),
)
GRADE_NAMES = {"especially_major": "特别重大", "major": "重大", "larger": "较大", "general": "一般"}
