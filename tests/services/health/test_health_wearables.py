import numpy as np
import pandas as pd
import pytest

from civicbrain.services.health.domain.wearables import (
    RestingHeartRateMonitor,
    inject_elevation,
    measure_detector,
    resting_heart_rate,
)


def synthetic_stream(days=21, seed=0):
    """Minute heart rate: ~58 bpm asleep, ~66 bpm resting awake, ~100 bpm when walking 08:00-09:00."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=days * 24 * 60, freq="1min")
    hour = index.hour
    walking = (hour == 8) | (hour == 18)
    steps = pd.Series(np.where(walking, 90, 0), index=index)
    base = np.where((hour < 7) | (hour >= 23), 58.0, 66.0)
    heart = pd.Series(base + np.where(walking, 35, 0) + rng.normal(0, 2.5, len(index)), index=index)
    return heart, steps


def test_resting_rate_ignores_active_minutes():
    heart, steps = synthetic_stream(days=2)
    hourly = resting_heart_rate(heart, steps)
    assert hourly.dropna().max() < 75  # walking hours (100 bpm) never enter the resting rate
    assert np.isnan(hourly.loc["2024-01-01 08:00"])


def test_no_alert_on_a_steady_stream_and_alert_with_explanation_on_elevation():
    heart, steps = synthetic_stream()
    monitor = RestingHeartRateMonitor()
    assert monitor.detect(heart, steps, consented=True) == []
    onset = pd.Timestamp("2024-01-15 13:00")
    alerts = monitor.detect(inject_elevation(heart, onset, hours=24, bpm=12), steps, consented=True)
    assert len(alerts) == 1  # one episode, one alert (refractory period)
    alert = alerts[0]
    assert onset < alert.raised_at <= onset + pd.Timedelta(hours=6)
    assert alert.current_bpm - alert.baseline_bpm > 8
    assert "bpm against your usual" in alert.explanation and "since 2024-01-15" in alert.explanation


def test_sensitivity_is_configurable():
    heart, steps = synthetic_stream()
    modified = inject_elevation(heart, pd.Timestamp("2024-01-15 13:00"), hours=24, bpm=6)
    assert RestingHeartRateMonitor().detect(modified, steps, True) == []  # 6 bpm < default 7 bpm minimum
    assert RestingHeartRateMonitor(min_excess_bpm=4.0, threshold_sd=3.0).detect(modified, steps, True)


def test_monitoring_requires_consent():
    heart, steps = synthetic_stream(days=2)
    with pytest.raises(PermissionError):
        RestingHeartRateMonitor().detect(heart, steps, consented=False)


def test_measurement_counts_detections_and_false_alerts():
    streams = [synthetic_stream(seed=s) for s in (1, 2)]
    result = measure_detector(RestingHeartRateMonitor(), streams, elevation_bpm=15, trials_per_person=2)
    assert result["trials"] == 4
    assert result["detection_rate"] >= 0.75
    assert result["false_alerts_per_person_day"] == 0.0


def test_cusum_evidence_alerts_once_with_explanation_and_stays_quiet_on_a_steady_stream():
    heart, steps = synthetic_stream()
    monitor = RestingHeartRateMonitor(evidence="cusum", threshold_sd=3.0)
    assert monitor.detect(heart, steps, consented=True) == []
    onset = pd.Timestamp("2024-01-15 13:00")
    alerts = monitor.detect(inject_elevation(heart, onset, hours=24, bpm=12), steps, consented=True)
    assert len(alerts) == 1
    assert onset < alerts[0].raised_at <= onset + pd.Timedelta(hours=6)
    assert alerts[0].current_bpm - alerts[0].baseline_bpm > 8
    assert "bpm against your usual" in alerts[0].explanation


def test_cusum_evidence_pauses_over_unworn_gaps_instead_of_resetting():
    heart, steps = synthetic_stream()
    onset = pd.Timestamp("2024-01-15 13:00")
    elevated = inject_elevation(heart, onset, hours=24, bpm=12)
    # worn 20 minutes in every hour only: no single hour is complete, the evidence must still add up
    worn = elevated[(elevated.index < onset) | (elevated.index.minute < 20)]
    alerts = RestingHeartRateMonitor(evidence="cusum", threshold_sd=3.0).detect(worn, steps, consented=True)
    assert alerts and onset < alerts[0].raised_at <= onset + pd.Timedelta(hours=6)


def test_cusum_respects_the_minimum_excess_and_consent():
    heart, steps = synthetic_stream()
    modified = inject_elevation(heart, pd.Timestamp("2024-01-15 13:00"), hours=24, bpm=5)
    assert RestingHeartRateMonitor(evidence="cusum").detect(modified, steps, True) == []  # 5 bpm < 7 bpm minimum
    with pytest.raises(PermissionError):
        RestingHeartRateMonitor(evidence="cusum").detect(heart, steps, consented=False)
    with pytest.raises(ValueError):
        RestingHeartRateMonitor(evidence="bayes")
