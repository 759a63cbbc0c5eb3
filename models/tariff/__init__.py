"""Floating 安全生产责任保险 rates: the tariff as versioned data, pricing, each factor's reason."""

from models.tariff.experience import experience, record_inputs, window
from models.tariff.policy import DEFAULT, HONOURS, Tariff, load_tariff, tariffs
from models.tariff.rate import INPUTS, PricingError, price
from models.tariff.reasons import Factor, factors

__all__ = [
    "DEFAULT",
    "HONOURS",
    "INPUTS",
    "Factor",
    "PricingError",
    "Tariff",
    "experience",
    "factors",
    "load_tariff",
    "price",
    "record_inputs",
    "tariffs",
    "window",
]
