"""Webhooks: subscriptions, the delivery log, the per-change outbox, and signed delivery.

A subscription hears about jobs (``job.completed`` …, sent by the API when a job ends) and, when
it names them, about changes (``change.applied``, ``change.queued_for_review``,
``change.approved``, ``change.rejected``), delivered per change, batched or on a schedule by the
``deliver-webhooks`` flow. They live in the domain because the API creates subscriptions and
sends job notifications while flows deliver change events, and both must share one table, one
outbox and one way of sending.
"""
