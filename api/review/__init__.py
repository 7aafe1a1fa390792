"""The change API's services: records, changes and their decisions, rollback, conflicts, runs.

Routes in ``api/routes/{records,changes,rollback,catalog_conflicts,runs,quality}.py`` and the
workbench (``ui/``) both call these, and these call the domain (``catalog.changes``,
``enrichment.conflicts``) exactly as `skuflow review` does: one way per decision.
"""
