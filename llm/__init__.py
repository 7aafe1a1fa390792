"""The OpenAI-compatible LLM client every LLM feature uses (classification cascade, enrichment
extraction, quality scoring): structured JSON answers, a disk cache by content hash, tokens
counted as credits, errors marked transient or not where they enter."""
