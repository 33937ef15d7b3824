"""/docs is served by the meter from the package and loads nothing from elsewhere (FastAPI's Swagger UI
and ReDoc pages fetch their code from a CDN: both are off)."""
import re


def test_docs_page_is_self_contained(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    # every src/href/fetch target is relative to the meter
    targets = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html) + re.findall(r'fetch\("([^"]*)"\)', html)
    assert "openapi.json" in targets
    assert all(not re.match(r"^(?:[a-z]+:)?//", t) for t in targets), targets
    assert "cdn" not in html.lower()
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_the_cdn_pages_are_gone_and_the_document_stays(client):
    assert client.get("/redoc").status_code == 404
    doc = client.get("/openapi.json").json()
    assert "/docs" not in doc["paths"] and doc["paths"]
