"""The web UI: server-rendered pages over the same services and access check as the API."""

from gitserver.web.context import WebDeps
from gitserver.web.site import WebUI

__all__ = ["WebDeps", "WebUI"]
