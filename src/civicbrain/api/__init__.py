"""The HTTP API (FastAPI): core routers, and each service's router under /api/v1/<service>."""

from civicbrain.api.app import create_app

__all__ = ["create_app"]
