"""The page's words in Chinese (the default) and English."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

TEXTS: dict[str, dict[str, str]] = {
    "product": {"zh": "安全生产信用", "en": "Work-safety credit"},
    "as_of": {"zh": "评价日期", "en": "As of"},
    "uscc": {"zh": "统一社会信用代码", "en": "Unified social credit code"},
    "industry": {"zh": "行业", "en": "Industry"},
    "region": {"zh": "行政区划", "en": "Region"},
    "employees": {"zh": "从业人员", "en": "Employees"},
    "score": {"zh": "安全信用分", "en": "Safety credit score"},
    "grade": {"zh": "信用等级", "en": "Grade"},
    "range": {"zh": "分值范围", "en": "Range"},
    "higher_safer": {"zh": "分值越高越安全", "en": "higher is safer"},
    "probability": {"zh": "未来12个月发生事故的概率", "en": "Chance of an accident in 12 months"},
    "model_grade": {"zh": "模型等级", "en": "Model grade"},
    "chart": {"zh": "哪些因素提高或降低了分数", "en": "What raised and lowered the score"},
    "chart_note": {
        "zh": "每项为与平均企业相比增减的分数；基准分",
        "en": "Points each factor adds or takes away against the average enterprise; base",
    },
    "raised": {"zh": "加分", "en": "raised"},
    "lowered": {"zh": "减分", "en": "lowered"},
    "reasons": {"zh": "主要原因", "en": "Principal reasons"},
    "no_reasons": {"zh": "没有明显拉低分数的因素。", "en": "Nothing lowers the score markedly."},
    "recourse": {"zh": "如何提高分数", "en": "What would raise the score"},
    "points": {"zh": "分", "en": "points"},
    "grade_after": {"zh": "等级变为", "en": "grade becomes"},
    "no_recourse": {"zh": "目前没有可提高分数的整改事项。", "en": "No action available now."},
    "listings": {"zh": "失信联合惩戒名单", "en": "Joint-punishment listings"},
    "no_listings": {"zh": "该日期未被列入任何名单。", "en": "Not on any list on this date."},
    "list": {"zh": "名单", "en": "List"},
    "rule": {"zh": "情形", "en": "Rule"},
    "department": {"zh": "决定部门", "en": "Deciding department"},
    "published_on": {"zh": "公布日期", "en": "Published"},
    "term_ends_on": {"zh": "期满日期", "en": "Term ends"},
    "earliest_removal": {"zh": "最早移出日期", "en": "Earliest removal"},
    "by_repair": {"zh": "可申请信用修复", "en": "on a repair application"},
    "at_expiry": {"zh": "期满自动移出", "en": "automatically at expiry"},
    "state": {"zh": "状态", "en": "State"},
    "record": {"zh": "办理记录", "en": "Record"},
    "effective": {"zh": "生效日期", "en": "takes effect"},
    "recorded_at": {"zh": "登记时间", "en": "recorded"},
    "action_propose": {"zh": "提出列入", "en": "proposed"},
    "action_notify": {"zh": "事先告知", "en": "prior notice"},
    "action_object": {"zh": "提出异议", "en": "objection"},
    "action_uphold": {"zh": "异议不成立", "en": "objection not upheld"},
    "action_decide": {"zh": "作出列入决定", "en": "decided"},
    "action_publish": {"zh": "公开", "en": "published"},
    "action_apply_repair": {"zh": "申请信用修复", "en": "repair applied for"},
    "action_approve_repair": {"zh": "准予信用修复", "en": "repair approved"},
    "action_reject_repair": {"zh": "不予信用修复", "en": "repair refused"},
    "action_restore": {"zh": "恢复列入", "en": "restored"},
    "action_revoke": {"zh": "撤销", "en": "revoked"},
    "action_correct": {"zh": "更正", "en": "corrected"},
    "overrides": {"zh": "等级调整", "en": "Grade overrides"},
    "versions": {"zh": "版本", "en": "Versions"},
    "decision": {"zh": "决定编号", "en": "Decision"},
    "login": {"zh": "登录", "en": "Sign in"},
    "logout": {"zh": "退出", "en": "Sign out"},
    "api_key": {"zh": "API 密钥", "en": "API key"},
    "login_hint": {
        "zh": "请输入本企业或监管部门的 API 密钥。",
        "en": "Enter your enterprise's or your department's API key.",
    },
    "bad_key": {
        "zh": "密钥无效、已被吊销或已过期。",
        "en": "The key is unknown, revoked or expired.",
    },
    "forbidden": {"zh": "无权查看该企业。", "en": "You may not see this enterprise."},
    "not_found": {"zh": "未找到该企业。", "en": "No such enterprise."},
    "refused_form": {
        "zh": "表单被拒绝：来自其他网站或已过期，请重新打开页面后再试。",
        "en": "The form was refused: it came from another site or has expired.",
    },
    "not_ready": {"zh": "评分服务暂不可用。", "en": "Scoring is not available now."},
    "grade_A": {"zh": "低风险", "en": "low risk"},
    "grade_B": {"zh": "较低风险", "en": "moderate risk"},
    "grade_C": {"zh": "较高风险", "en": "elevated risk"},
    "grade_D": {"zh": "高风险", "en": "high risk"},
}


def texts(lang: Lang) -> dict[str, str]:
    return {key: value[lang] for key, value in TEXTS.items()}
