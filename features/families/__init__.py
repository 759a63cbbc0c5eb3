"""Feature families: each computes its catalogue features for every enterprise of a scope at once.

A family is a function ``compute(scope) -> dict[name, array]``; it leaves out the features whose
source table is absent, and :func:`features.pit.as_of` reports those as missing.
"""

from features.families import accidents, context, hazards, penalties, violations

FAMILIES = (
    violations.compute,
    penalties.compute,
    accidents.compute,
    hazards.compute,
    context.compute,
)
