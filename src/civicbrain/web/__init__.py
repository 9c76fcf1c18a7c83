"""Web glue shared by the core API, the portal and services' routers: request dependencies.

It sits below the services in the layers (services' ``api.py`` import it) and above the core.
"""
