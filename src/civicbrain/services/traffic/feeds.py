"""The feed this service reads: induction-loop counts from the Transport Bureau's street detectors.

Loops count vehicles and how long they stand on the loop (occupancy); they never identify anyone,
so the records carry the category ``traffic`` and the feed serves the purpose ``traffic`` only.
"""

from __future__ import annotations

from civicbrain.core.exchange import FeedSchema, FeedSpec, FieldDecl

DETECTOR_COUNTS = FeedSpec(
    agency_id="transport",
    name="detector_counts",
    purpose="traffic",
    description="Vehicle count and occupancy (percent of the interval a vehicle stood on the loop) per "
    "induction loop and counting interval.",
    schema=FeedSchema(
        fields=[
            FieldDecl(name="loop_id", type="string", category="traffic"),
            FieldDecl(name="interval_start", type="datetime", category="traffic"),
            FieldDecl(name="interval_s", type="integer", category="traffic"),
            FieldDecl(name="count", type="integer", category="traffic"),
            FieldDecl(name="occupancy", type="number", category="traffic"),
        ],
        key=["loop_id", "interval_start"],
    ),
)
