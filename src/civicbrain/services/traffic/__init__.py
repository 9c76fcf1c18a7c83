"""Traffic service ("City Brain"): adaptive signal control on SUMO networks, emergency priority and
incident detection. The algorithms live in :mod:`civicbrain.services.traffic.domain`."""
