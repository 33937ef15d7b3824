"""HTTP API of the meter (FastAPI): signed ingestion plus the read API, /metrics and OpenAPI docs."""
from .app import create_app

__all__ = ["create_app"]
