"""Where the web surface's files live, and the ``/static`` mount that serves them.

``static/`` holds our own CSS and JS (committed) and ``static/vendor/`` the npm libraries
``make install`` copies there (gitignored, e.g. ``vendor/hls.min.js``); ``templates/`` holds
the Jinja2 pages. Both live inside the package so an installed reelhouse finds them.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_PREFIX = "/static"


def static_mount(path: str = STATIC_PREFIX) -> Mount:
    """``GET /static/...``: the package's static folder (``vendor/`` included when built)."""
    return Mount(path, app=StaticFiles(directory=STATIC_DIR), name="static")


def page_templates() -> Jinja2Templates:
    """The Jinja2 environment of the web pages (autoescaping on, as for every ``.html``)."""
    return Jinja2Templates(directory=TEMPLATES_DIR)
