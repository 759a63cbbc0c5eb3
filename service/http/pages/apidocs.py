"""``/docs``: the API's reference (Swagger UI) with every asset served by the service itself —
Swagger UI (5.x, which reads OpenAPI 3.1) from the pinned ``swagger-ui-py`` package's static
files, its start-up script from
``service/http/pages/static`` — so it renders on a network that reaches no CDN. ``/redoc`` is not
offered (it would load its script from elsewhere)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).with_name("static")
SWAGGER_PREFIX = "/static/swagger-ui"
OWN_PREFIX = "/static/pages"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="stylesheet" href="{swagger}/swagger-ui.css">
<link rel="icon" type="image/png" href="{swagger}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{swagger}/swagger-ui-bundle.js"></script>
<script src="{own}/docs.js"></script>
</body>
</html>
"""


def swagger_files() -> Path:
    """The folder of Swagger UI's built files in the ``swagger-ui-py`` package (found without
    importing the package: only its files are used)."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed: run `make env`")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def mount_assets(app: FastAPI) -> None:
    """Swagger UI's files and the pages' own static files, served under ``/static``."""
    app.mount(SWAGGER_PREFIX, StaticFiles(directory=swagger_files()), name="swagger")
    app.mount(OWN_PREFIX, StaticFiles(directory=STATIC), name="pages-static")


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """Swagger UI over ``/openapi.json``."""
    return HTMLResponse(PAGE.format(title="safecredit", swagger=SWAGGER_PREFIX, own=OWN_PREFIX))
