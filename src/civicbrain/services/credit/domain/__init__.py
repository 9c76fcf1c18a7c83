"""Credit domain: plain-Python rules and algorithms, no database or web framework."""
