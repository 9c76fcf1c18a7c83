"""The platform's single Alembic history (core and every service)."""
