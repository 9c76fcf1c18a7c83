"""The traffic service's table: signal-control runs done through the platform, with their results.

One row per run (a live controller, optionally a shadow candidate beside it, over one or more
seeds). Decisions themselves live in the ledger; a run keeps the figures the traffic page draws and
the receipts of the incidents it raised.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civicbrain.core.db import Base


class TrafficRun(Base):
    __tablename__ = "traffic_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(100), index=True)
    begin: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    scale: Mapped[float] = mapped_column(Float)
    seeds: Mapped[list[Any]] = mapped_column()
    controller: Mapped[str] = mapped_column(String(64))
    candidate: Mapped[str | None] = mapped_column(String(64))
    # {"live": summary, "candidate": summary | None, "difference": {...} | None}
    summary: Mapped[dict[str, Any]] = mapped_column()
    # junction id -> {"stopped_delay_s", "queue_mean", "queue_max", "discharged"} under the live controller
    junctions: Mapped[dict[str, Any]] = mapped_column()
    # incidents the detector raised (with receipts), and a drill's scoring when incidents were injected
    incidents: Mapped[dict[str, Any]] = mapped_column()
    # decisions recorded per mode, and a few receipts to follow
    decisions: Mapped[dict[str, Any]] = mapped_column()
