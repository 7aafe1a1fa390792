"""Enrichment jobs (the seed-003 contract): items plus an output schema in, per-item results
with per-field sources, explanations and review information out; sync or async, paginated
polling with partial results, cancel, resume, a per-organization concurrency limit."""
