"""Health domain logic: plain Python, no database, no web framework."""
