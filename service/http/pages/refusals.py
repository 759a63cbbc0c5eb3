"""Why a form was refused, as the page says it: the kind of refusal in the reader's language,
then the registry's or the service's own words (which name the field and the reason)."""

from __future__ import annotations

from registry.errors import (
    ConditionsError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    RegistryError,
    TooLargeError,
    TransitionError,
)
from service.engine.errors import BadInput, Forbidden, NotFound, ServiceError, TooLarge
from service.http.pages.texts import Lang
from service.http.pages.uploads import FormError

KINDS: list[tuple[tuple[type[Exception], ...], str, str]] = [
    ((TooLargeError, TooLarge), "文件或内容过大", "too large"),
    ((TransitionError,), "办理程序现在不允许", "the procedure does not allow it now"),
    ((ConditionsError,), "信用修复条件未满足", "repair conditions not met"),
    ((ConflictError,), "条目已被他人更新，请重新打开页面", "the entry changed meanwhile: reload"),
    ((ForbiddenError, Forbidden), "无权办理", "not yours to do"),
    ((NotFoundError, NotFound), "未找到", "not found"),
    ((InputError, BadInput, FormError), "填写有误", "bad input"),
]


def refusal_text(exc: RegistryError | ServiceError | FormError, lang: Lang) -> str:
    kind = next(
        (zh if lang == "zh" else en for classes, zh, en in KINDS if isinstance(exc, classes)),
        "被拒绝" if lang == "zh" else "refused",
    )
    detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
    return f"{kind}: {detail}"


def refusal_status(exc: RegistryError | ServiceError | FormError) -> int:
    if isinstance(exc, ServiceError):
        return exc.status
    if isinstance(exc, RegistryError):
        return exc.status_code
    return 422
