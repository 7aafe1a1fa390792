"""The pipeline contract (seed 000): ingest, classify, enrich firmographics, sync."""
