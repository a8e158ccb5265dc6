"""The HTTP server behind ``thrifty serve STORE`` (docs/STORE.md, "Serving").

Reading a store needs only static GETs, so any web server can serve one; this one adds what a
static server cannot: uploads behind a token that store a chunk only when its bytes hash to its
address and a manifest only when every chunk it names is there, and ``/list`` so that ``ls`` and
``gc`` work over HTTP. Every request path is checked against the layout before the disk is
touched, and must stay inside the store's folder after symlinks are followed.

``app`` builds, serves and describes the app (routes, OpenAPI); ``reading`` answers GET and HEAD
with ranges and ETags; ``writing`` checks the token, the body's size and time, and what is
uploaded; ``listing`` answers ``/list``; ``folder`` is the store folder they all look into.
"""

from thrifty.ship.server.app import create_app, running, serve

__all__ = ["create_app", "running", "serve"]
