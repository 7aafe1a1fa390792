"""Enrichment providers: each turns a batch of items into `Evidence`, never into writes."""
