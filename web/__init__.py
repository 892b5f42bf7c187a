"""The web interface: server-rendered pages over the same services as the JSON APIs."""

from web.setup import install_web

__all__ = ["install_web"]
