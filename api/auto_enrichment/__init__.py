"""Auto-enrichment (seed 004): per-organization settings, triggered jobs, conflicts, credits."""
