"""Health service: AI doctor (history taking and differential diagnosis on the DDXPlus knowledge base),
clinician hand-over (FHIR R4), village-doctor decision support, wearable alerts, mutual-aid pool and
epidemic advice. The domain logic lives in ``domain/`` as plain Python; the platform wiring comes later.
"""
