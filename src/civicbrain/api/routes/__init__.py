"""The core API routers, one module per area."""
