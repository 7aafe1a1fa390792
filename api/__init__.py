"""The HTTP API (FastAPI): one router per contract family in ../shared/seeds; not built yet."""
