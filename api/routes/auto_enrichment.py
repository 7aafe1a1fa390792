"""Auto-enrichment (seed 004): /v1/auto-enrichment/*."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/auto-enrichment", tags=["auto-enrichment"])
