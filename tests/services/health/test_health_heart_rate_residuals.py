"""The platform's wearable detector: every worn minute against the wearer's own activity-adjusted past."""

import numpy as np
import pandas as pd
import pytest

from civicbrain.services.health.domain.heart_rate_residuals import (
    SENSITIVITY_LEVELS,
    ActivityAdjustedMonitor,
    activity_features,
    monitor_for,
)
from civicbrain.services.health.domain.wearables import RestingHeartRateMonitor, inject_elevation, measure_detector

ONSET = pd.Timestamp("2024-01-15 13:00")


def active_stream(days=21, seed=0):
    """Minute heart rate of someone rarely still by day: two minutes of walking (+30 bpm) in every six from 07:00
    to 23:00, ~56 bpm asleep, ~64 bpm between walks, 2 bpm of noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=days * 24 * 60, freq="1min")
    hour, minute = index.hour.to_numpy(), index.minute.to_numpy()
    awake = (hour >= 7) & (hour < 23)
    walking = awake & (minute % 6 < 2)
    steps = pd.Series(np.where(walking, 100, 0), index=index)
    rate = np.where(awake, 64.0, 56.0) + np.where(walking, 30.0, 0.0) + rng.normal(0, 2.0, len(index))
    return pd.Series(rate, index=index), steps


def test_a_steady_stream_raises_nothing_and_a_sustained_rise_one_alert_with_its_explanation():
    heart, steps = active_stream()
    monitor = ActivityAdjustedMonitor()
    assert monitor.detect(heart, steps, consented=True) == []
    alerts = monitor.detect(inject_elevation(heart, ONSET, hours=24, bpm=10), steps, consented=True)
    assert len(alerts) == 1  # one episode, one alert
    alert = alerts[0]
    assert ONSET < alert.raised_at <= ONSET + pd.Timedelta(hours=6)
    assert 8 < alert.current_bpm - alert.baseline_bpm < 12  # baseline vs current: the injected 10 bpm
    assert alert.elevated_since >= ONSET - pd.Timedelta(minutes=15) and alert.elevated_hours >= 1
    assert "against your usual" in alert.explanation and "since 2024-01-15" in alert.explanation
    assert "not a diagnosis" in alert.explanation


def test_the_resting_detector_misses_a_rise_on_someone_never_still_for_long_and_this_one_sees_it():
    heart, steps = active_stream()
    elevated = inject_elevation(heart, ONSET, hours=24, bpm=10)
    # by day there is never a 5-minute stretch without steps: the resting rate exists only at night
    resting = RestingHeartRateMonitor().detect(elevated, steps, consented=True)
    assert not any(ONSET < a.raised_at <= ONSET + pd.Timedelta(hours=6) for a in resting)
    alerts = ActivityAdjustedMonitor().detect(elevated, steps, consented=True)
    assert alerts and alerts[0].raised_at <= ONSET + pd.Timedelta(hours=6)


def test_evidence_survives_a_watch_worn_on_and_off():
    heart, steps = active_stream()
    elevated = inject_elevation(heart, ONSET, hours=24, bpm=10)
    worn = elevated[(elevated.index < ONSET) | (elevated.index.minute < 12)]  # 12 minutes an hour after onset
    monitor = ActivityAdjustedMonitor()
    alerts = monitor.detect(worn, steps, consented=True)
    # one worn block an hour, each adding at most clip - allowance to the evidence: the gaps pause it, never reset it
    blocks_needed = np.ceil(monitor.cusum_threshold / (monitor.clip_sd - monitor.allowance_sd))
    assert alerts and ONSET < alerts[0].raised_at <= ONSET + pd.Timedelta(hours=blocks_needed)


def test_a_rise_never_trains_its_own_baseline():
    heart, steps = active_stream()
    monitor = ActivityAdjustedMonitor()
    raw = monitor.minute_expectation(heart, steps)
    elevated = monitor.minute_expectation(inject_elevation(heart, ONSET, hours=24, bpm=10), steps)
    until_next_day = raw.index < ONSET.normalize() + pd.Timedelta(days=1)
    # the expectation on the onset day comes from earlier days only
    assert np.allclose(raw.expected[until_next_day], elevated.expected[until_next_day], equal_nan=True)
    assert not np.allclose(raw.expected[~until_next_day], elevated.expected[~until_next_day], equal_nan=True)


def test_no_alert_during_the_warm_up():
    heart, steps = active_stream(days=8)
    elevated = inject_elevation(heart, pd.Timestamp("2024-01-03 13:00"), hours=24, bpm=20)
    assert ActivityAdjustedMonitor().detect(elevated, steps, consented=True) == []


def test_a_rise_lasting_days_is_announced_once_and_a_second_episode_again():
    heart, steps = active_stream(days=28)
    elevated = inject_elevation(heart, ONSET, hours=72, bpm=12)
    second = pd.Timestamp("2024-01-24 09:00")
    elevated = inject_elevation(elevated, second, hours=24, bpm=12)
    alerts = ActivityAdjustedMonitor().detect(elevated, steps, consented=True)
    assert [ONSET < a.raised_at <= ONSET + pd.Timedelta(hours=6) for a in alerts] == [True, False]
    assert second < alerts[1].raised_at <= second + pd.Timedelta(hours=6)


def test_sensitivity_levels_order_detection_time():
    heart, steps = active_stream()
    elevated = inject_elevation(heart, ONSET, hours=24, bpm=10)
    raised = {level: monitor_for(level).detect(elevated, steps, True)[0].raised_at for level in ("low", "high")}
    assert raised["high"] < raised["low"]  # a lower threshold alerts sooner
    assert set(SENSITIVITY_LEVELS) == {"low", "normal", "high"}
    with pytest.raises(ValueError, match="sensitivity"):
        monitor_for("extreme")


def test_settings_compared_on_one_scoring_give_the_alerts_detect_gives():
    heart, steps = active_stream(days=28)
    elevated = inject_elevation(inject_elevation(heart, ONSET, hours=24, bpm=10), ONSET + pd.Timedelta(days=6), 24, 7)
    scores = ActivityAdjustedMonitor().block_scores(elevated, steps)  # allowance and threshold play no part here
    found = {}
    for level in ("low", "high"):
        monitor = monitor_for(level)
        found[level] = monitor.alerts_from_scores(scores)
        assert found[level] == monitor.detect(elevated, steps, consented=True)
    assert len(found["low"]) == len(found["high"]) == 2  # both rises, each once
    assert found["high"][0].raised_at < found["low"][0].raised_at  # the same evidence crosses a lower bar sooner


def test_monitoring_requires_consent_and_bad_settings_are_refused():
    heart, steps = active_stream(days=2)
    with pytest.raises(PermissionError, match="consent"):
        ActivityAdjustedMonitor().detect(heart, steps, consented=False)
    with pytest.raises(ValueError, match="block_minutes"):
        ActivityAdjustedMonitor(block_minutes=7)
    with pytest.raises(ValueError, match="min_block_minutes"):
        ActivityAdjustedMonitor(min_block_minutes=20)
    assert ActivityAdjustedMonitor().detect(heart.iloc[:0], steps, consented=True) == []


def test_activity_features_see_steps_only_in_their_own_lag_window():
    steps = np.zeros(180)
    steps[100] = 120.0
    features = activity_features(steps)
    assert features.shape == (180, 24 + 3 + 4 + 4 + 4 + 3)
    assert features[100, 24:27].sum() == 1 and features[99, 24:39].sum() == 0  # no look-ahead
    assert features[99, 39:].sum() == 1 and features[100, 39:].sum() == 0  # long stillness, then a step
    assert features[103, 27:31].sum() == 1  # previous 5 minutes
    assert features[110, 31:35].sum() == 1  # previous 15 minutes
    assert features[150, 35:39].sum() == 1  # previous hour


def test_measurement_reports_detection_over_all_onsets_and_onsets_with_data():
    streams = [active_stream(seed=s) for s in (1, 2)]
    result = measure_detector(ActivityAdjustedMonitor(), streams, elevation_bpm=10, trials_per_person=2, seed=[0, 1])
    assert result["trials"] == 8 and len(result["onsets"]) == 8
    assert result["detection_rate"] == 1.0 and result["detection_rate_with_data"] == 1.0
    assert result["false_alerts_per_person_day"] == 0.0
    assert all(o["worn_minutes"] == 360 and o["hours_to_alert"] <= 6 for o in result["onsets"])


def test_days_of_illness_are_kept_out_of_the_baseline_that_follows():
    heart, steps = active_stream(days=28)
    ill = inject_elevation(heart, pd.Timestamp("2024-01-11 00:00"), hours=48, bpm=40)
    after_illness = heart.index >= pd.Timestamp("2024-01-13")
    raw = ActivityAdjustedMonitor().minute_expectation(heart, steps)
    kept_out = ActivityAdjustedMonitor().minute_expectation(ill, steps)
    trained_on = ActivityAdjustedMonitor(outlier_day_bpm=1_000).minute_expectation(ill, steps)  # filter off
    assert not kept_out.baseline_day["2024-01-11":"2024-01-12"].any() and kept_out.baseline_day[after_illness].all()
    assert np.nanmedian(np.abs(kept_out.expected[after_illness] - raw.expected[after_illness])) < 0.5
    assert np.nanmedian(np.abs(trained_on.expected[after_illness] - raw.expected[after_illness])) > 2


def test_a_lasting_change_becomes_the_new_normal():
    heart, steps = active_stream(days=28)
    changed = inject_elevation(heart, pd.Timestamp("2024-01-14 00:00"), hours=15 * 24, bpm=15)
    baseline_day = ActivityAdjustedMonitor(new_normal_days=5).minute_expectation(changed, steps).baseline_day
    daily = baseline_day.resample("1D").first()
    assert not daily["2024-01-14":"2024-01-17"].any()  # four days with the change are kept out ...
    assert daily["2024-01-18":].all()  # ... from the fifth on it is the new normal, and the model learns it


def test_an_alert_says_when_its_episode_ended():
    heart, steps = active_stream(days=28)
    elevated = inject_elevation(heart, ONSET, hours=72, bpm=12)
    alert = ActivityAdjustedMonitor().detect(elevated, steps, consented=True)[0]
    # quiet for the refractory day at least; over once the rise is over or has become the recent level
    refractory = pd.Timedelta(hours=ActivityAdjustedMonitor().refractory_hours)
    assert alert.raised_at + refractory <= alert.episode_ended <= ONSET + pd.Timedelta(hours=72)


def test_onsets_inside_an_episode_already_announced_are_not_trials():
    heart, steps = active_stream(days=28)
    # a real (raw) episode from Jan 14 to Jan 20: onsets there cannot be "detected" again
    raw = inject_elevation(heart, pd.Timestamp("2024-01-14 00:00"), hours=6 * 24, bpm=12)
    result = measure_detector(ActivityAdjustedMonitor(), [(raw, steps)], elevation_bpm=10, trials_per_person=6)
    (episode,) = ActivityAdjustedMonitor().detect(raw, steps, consented=True)
    onsets = [pd.Timestamp(o["onset"]) for o in result["onsets"]]
    assert len(onsets) == 6 and not any(episode.raised_at <= t < episode.episode_ended for t in onsets)
