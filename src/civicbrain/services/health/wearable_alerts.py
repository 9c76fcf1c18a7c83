"""Wearable alerts: consent, a scan of the exchange feed, and advisory alerts with their explanation.

The detector is ``domain.heart_rate_residuals.ActivityAdjustedMonitor``: every worn minute against what the
wearer's own past predicts for that time of day and recent activity, evidence accumulated by CUSUM.

Streams arrive through the ``health-commission/wearable_minutes`` feed. Only wearers with consent on file
are scanned (the detector itself refuses a stream without consent); each new alert is recorded through
``ctx.decide`` in advisory mode with the domain's explanation (baseline vs current, since when, how long)
and shown to the wearer.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select

from civicbrain.core.context import Platform
from civicbrain.core.errors import NotFound, ValidationFailed
from civicbrain.core.timeutil import aware
from civicbrain.services.health.algorithms import WEARABLE_ALERT
from civicbrain.services.health.domain.heart_rate_residuals import SENSITIVITY_LEVELS, monitor_for
from civicbrain.services.health.feeds import WEARABLE_MINUTES
from civicbrain.services.health.models import WearableAlert, WearableConsent

# Sensitivity the wearer chooses (benched levels of the all-minute detector): "low" alerts later and less often
# falsely, "high" sooner and more often falsely; "normal" is the default that meets the false-alert budget.
SENSITIVITY = SENSITIVITY_LEVELS


def set_consent(ctx: Platform, person_id: str, *, consent: bool, sensitivity: str = "normal") -> WearableConsent:
    if sensitivity not in SENSITIVITY:
        raise ValidationFailed(f"sensitivity is one of {', '.join(SENSITIVITY)}", field="sensitivity")
    row = ctx.session.get(WearableConsent, person_id)
    now = ctx.now()
    if row is None:
        row = WearableConsent(person_id=person_id, consented_at=now, sensitivity=sensitivity)
        ctx.session.add(row)
    if consent:
        if row.withdrawn_at is not None:
            row.consented_at = now
        row.withdrawn_at = None
        row.sensitivity = sensitivity
    else:
        row.withdrawn_at = row.withdrawn_at or now
    ctx.session.flush()
    return row


def consenting(ctx: Platform) -> list[WearableConsent]:
    query = select(WearableConsent).where(WearableConsent.withdrawn_at.is_(None)).order_by(WearableConsent.person_id)
    return list(ctx.session.scalars(query))


def stream_of(ctx: Platform, person_id: str) -> tuple[pd.Series, pd.Series]:
    """The person's minute heart rate and steps from the feed, indexed by UTC minute (naive)."""
    feed = ctx.exchange.feed(WEARABLE_MINUTES.agency_id, WEARABLE_MINUTES.name)
    rows = [r.data for r in ctx.exchange.records_about(person_id) if r.feed_id == feed.id]
    if not rows:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    frame = pd.DataFrame(rows)
    frame.index = pd.to_datetime(frame["minute"], utc=True).dt.tz_localize(None)
    frame = frame.sort_index()
    steps = frame["steps"].fillna(0) if "steps" in frame else pd.Series(0, index=frame.index)
    return frame["heart_rate"].astype(float), steps.astype(float)


def scan(ctx: Platform) -> list[WearableAlert]:
    """Run the detector over each consenting wearer's stream; record alerts not raised before."""
    try:
        ctx.exchange.feed(WEARABLE_MINUTES.agency_id, WEARABLE_MINUTES.name)
    except NotFound:
        return []
    raised: list[WearableAlert] = []
    for consent in consenting(ctx):
        heart_rate, steps = stream_of(ctx, consent.person_id)
        if heart_rate.empty:
            continue
        monitor = monitor_for(consent.sensitivity)
        known = {aware(a.raised_at) for a in alerts_of(ctx, consent.person_id)}
        for alert in monitor.detect(heart_rate, steps, consented=True):
            raised_at = alert.raised_at.tz_localize("UTC").to_pydatetime()
            if raised_at in known:
                continue
            raised.append(_record(ctx, consent, alert, raised_at))
    return raised


def _record(ctx: Platform, consent: WearableConsent, alert: Any, raised_at: Any) -> WearableAlert:
    decision = ctx.decide(
        algorithm=WEARABLE_ALERT.id,
        version=WEARABLE_ALERT.version,
        subject=f"person:{consent.person_id}",
        inputs={
            "baseline_bpm": round(alert.baseline_bpm, 1),
            "current_bpm": round(alert.current_bpm, 1),
            "elevated_hours": alert.elevated_hours,
            "sensitivity": consent.sensitivity,
        },
        outcome={"label": "alert", "raised_at": raised_at.isoformat()},
        explanation={
            "summary": "Your heart rate has stayed above your usual level: " + alert.explanation,
            "baseline_bpm": round(alert.baseline_bpm, 1),
            "current_bpm": round(alert.current_bpm, 1),
            "elevated_since": alert.elevated_since.isoformat(),
            "elevated_hours": alert.elevated_hours,
        },
        mode="advisory",
    )
    row = WearableAlert(
        person_id=consent.person_id,
        raised_at=raised_at,
        elevated_since=alert.elevated_since.tz_localize("UTC").to_pydatetime(),
        elevated_hours=alert.elevated_hours,
        baseline_bpm=float(alert.baseline_bpm),
        current_bpm=float(alert.current_bpm),
        explanation=alert.explanation,
        receipt=decision.id,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def alerts_of(ctx: Platform, person_id: str) -> list[WearableAlert]:
    query = select(WearableAlert).where(WearableAlert.person_id == person_id).order_by(WearableAlert.raised_at.desc())
    return list(ctx.session.scalars(query))


def alert_view(alert: WearableAlert) -> dict[str, Any]:
    return {
        "raised_at": aware(alert.raised_at).isoformat(),
        "elevated_since": aware(alert.elevated_since).isoformat(),
        "elevated_hours": alert.elevated_hours,
        "baseline_bpm": round(alert.baseline_bpm, 1),
        "current_bpm": round(alert.current_bpm, 1),
        "explanation": alert.explanation,
        "receipt": alert.receipt,
    }
