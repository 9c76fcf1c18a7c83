"""civicbrain: open, auditable and contestable AI-assisted public services."""

__version__ = "0.1.0"
