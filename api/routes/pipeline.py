"""Pipeline API (seed 000): /api/ingest, /api/classify, /api/enrich, /api/sync."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["pipeline"])
