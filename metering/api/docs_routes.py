"""The API's human documentation at /docs: a page shipped in the package that renders /openapi.json with
plain DOM code. FastAPI's own /docs and /redoc load Swagger UI and ReDoc from a CDN, which a meter running
offline (or a careful operator) cannot use, so they are switched off in create_app."""
from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()
_PAGE = resources.files("metering.api").joinpath("static/docs.html").read_text(encoding="utf-8")


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                                                                  "script-src 'unsafe-inline'"})
