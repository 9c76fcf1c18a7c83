"""Demo data for the traffic service: the detector feed and one morning's counts at two loops.

No simulation here (the demo city is seeded in seconds); runs are started from the traffic page.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from civicbrain.core.context import Platform
from civicbrain.services.traffic.feeds import DETECTOR_COUNTS

LOOPS = ("loop:demo_north_0", "loop:demo_east_0")
INTERVAL_S = 300


def seed_demo(ctx: Platform) -> None:
    feed = ctx.exchange.register_spec(DETECTOR_COUNTS)
    rng = random.Random(3)
    start = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    records = []
    for k in range(12):  # 07:00-08:00 in 5-minute intervals: rush hour building up
        for loop in LOOPS:
            count = int(rng.gauss(40 + 3 * k, 5))
            records.append(
                {
                    "loop_id": loop,
                    "interval_start": (start + timedelta(seconds=k * INTERVAL_S)).isoformat(),
                    "interval_s": INTERVAL_S,
                    "count": max(0, count),
                    "occupancy": round(min(95.0, max(0.0, 8 + 0.9 * k + rng.gauss(0, 2))), 1),
                }
            )
    ctx.exchange.post_records(feed, records)
