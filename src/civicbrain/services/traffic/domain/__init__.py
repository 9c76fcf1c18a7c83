"""Traffic domain: SUMO scenarios, detector-only signal controllers, safety layer, metrics,
emergency-vehicle pre-emption, incident detection and shadow comparison.

Plain Python over libsumo: no database, no web framework. The service layer wraps these functions.
"""
