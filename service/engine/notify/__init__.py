"""Watchlists and change notifications: every change that matters to a watcher is an event,
written in the same transaction as the change (a transactional outbox), read as a change feed or
delivered to webhooks by ``safecredit notify run``.

Modules: :mod:`.tables` (watchlists, events, subscriptions, deliveries), :mod:`.outbox` (events
recorded, registry actions among them), :mod:`.expiry` (removals at expiry, derived when
dispatching), :mod:`.grades` (grade changes between score books, new champion or tariff),
:mod:`.watch` (watchlists), :mod:`.audience` (who may hear of what), :mod:`.feed`,
:mod:`.hooks` (subscriptions and their deliveries), :mod:`.targets` (which webhook URLs may be
called), :mod:`.signing`, :mod:`.sending` (one POST), :mod:`.dispatch` (fan-out, claim, settle)
and :mod:`.worker`.
"""
