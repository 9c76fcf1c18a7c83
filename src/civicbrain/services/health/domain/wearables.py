"""Wearable alerts: sustained elevation of the resting heart rate over the person's own baseline.

Resting heart rate is taken from minutes with no steps in the preceding ``rest_minutes`` (exercise would
otherwise dominate), summarised per hour. The baseline is per hour of day (night and day resting rates differ
by several beats) from the previous ``baseline_days`` days only, so an elevation never raises its own baseline;
the spread is the robust deviation (MAD) of the person's recent hourly residuals. An alert needs, over the last
``window_hours`` hours (at least ``min_elevated_hours`` of them with resting data), a mean excess of
``threshold_sd`` standard errors *and* of ``min_excess_bpm`` beats (so a very steady person is not alerted for
a two-beat wobble); averaging hours makes a sustained rise stand out of hour-to-hour noise. It carries its
explanation: baseline vs current, since
when, for how long. One alert per episode: after an alert the monitor stays quiet for ``refractory_hours``.
Sensitivity is a parameter; the benchmark reports detection and false alerts for several settings.

``evidence="cusum"`` replaces the hourly window by a one-sided CUSUM over 15-minute resting blocks that skips
blocks without data, so evidence survives the gaps of a watch worn on and off.

These resting-minute detectors are kept for comparison: the platform's detector is
``heart_rate_residuals.ActivityAdjustedMonitor``, which uses every worn minute (resting minutes are too few on a
watch worn on and off) and detects more injected rises at fewer false alerts on the benchmark's real streams.
This module also holds what both share: the alert with its explanation, ``inject_elevation`` and
``measure_detector``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class WearableAlert:
    raised_at: pd.Timestamp
    elevated_since: pd.Timestamp
    elevated_hours: int
    baseline_bpm: float
    current_bpm: float
    deviations: float
    measure: str = "resting heart rate"
    context: str = "at this time of day"
    # when the monitor listened again after this alert's episode (None: not tracked by this detector)
    episode_ended: pd.Timestamp | None = None

    @property
    def explanation(self) -> str:
        return (
            f"{self.measure} {self.current_bpm:.0f} bpm against your usual {self.baseline_bpm:.0f} bpm {self.context} "
            f"(+{self.current_bpm - self.baseline_bpm:.0f} bpm, {self.deviations:.1f} "
            f"standard errors) over {self.elevated_hours} hours with data since "
            f"{self.elevated_since:%Y-%m-%d %H:%M}. This is not a diagnosis: if you feel unwell, contact your doctor."
        )


def resting_heart_rate(
    heart_rate: pd.Series, steps: pd.Series, rest_minutes: int = 10, min_resting_minutes: int = 5
) -> pd.Series:
    """Hourly median heart rate over minutes with zero steps in the current and previous ``rest_minutes``."""
    minute_hr = heart_rate.resample("1min").mean()
    minute_steps = steps.resample("1min").sum().reindex(minute_hr.index, fill_value=0)
    recent_steps = minute_steps.rolling(rest_minutes + 1, min_periods=1).sum()
    resting = minute_hr.where(recent_steps == 0)
    hourly = resting.resample("1h").median()
    counts = resting.resample("1h").count()
    return hourly.where(counts >= min_resting_minutes)  # too few resting minutes: no reliable rate that hour


class RestingHeartRateMonitor:
    """Per-person resting heart rate anomaly detector (scikit-learn style parameters).

    ``fit`` is not needed: the baseline is always the person's own past, recomputed as data comes in.
    """

    def __init__(
        self,
        threshold_sd: float = 4.0,
        min_excess_bpm: float = 7.0,
        window_hours: int = 6,
        min_elevated_hours: int = 2,
        baseline_days: int = 28,
        min_baseline_days: int = 7,
        refractory_hours: int = 24,
        rest_minutes: int = 5,
        min_resting_minutes: int = 3,
        evidence: str = "window",
        block_minutes: int = 15,
        allowance_sd: float = 0.5,
        cusum_threshold: float = 10.0,
        recent_blocks: int = 12,
    ):
        self.threshold_sd = threshold_sd
        self.min_excess_bpm = min_excess_bpm
        self.window_hours = window_hours
        self.min_elevated_hours = min_elevated_hours
        self.baseline_days = baseline_days
        self.min_baseline_days = min_baseline_days
        self.refractory_hours = refractory_hours
        self.rest_minutes = rest_minutes
        self.min_resting_minutes = min_resting_minutes
        if evidence not in ("window", "cusum"):
            raise ValueError("evidence: 'window' or 'cusum'")
        if 60 % block_minutes:
            raise ValueError("block_minutes must divide an hour")
        self.evidence = evidence
        self.block_minutes = block_minutes
        self.allowance_sd = allowance_sd
        self.cusum_threshold = cusum_threshold
        self.recent_blocks = recent_blocks

    def _resting_grid(self, heart_rate: pd.Series, steps: pd.Series) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
        """Hourly resting rate and its baseline (same hour of day +-1 h, previous days), as day x hour grids."""
        rhr = resting_heart_rate(heart_rate, steps, self.rest_minutes, self.min_resting_minutes)
        start = rhr.index[0].normalize()
        hours = pd.date_range(start, rhr.index[-1].normalize() + pd.Timedelta(hours=23), freq="1h")
        grid = rhr.reindex(hours).to_numpy().reshape(-1, 24)  # day x hour of day
        baseline = np.full_like(grid, np.nan)
        for day in range(self.min_baseline_days, grid.shape[0]):
            past = grid[max(0, day - self.baseline_days) : day]
            # neighbouring hours of day pooled: a stabler baseline from fewer days
            stacked = np.concatenate([np.roll(past, shift, axis=1) for shift in (-1, 0, 1)])
            with warnings.catch_warnings():  # hours never at rest in the window are NaN, by design
                warnings.simplefilter("ignore", RuntimeWarning)
                baseline[day] = np.nanmedian(stacked, axis=0)
        return hours, grid, baseline

    def hourly_scores(self, heart_rate: pd.Series, steps: pd.Series) -> pd.DataFrame:
        """Per hour: observed rate, the person's baseline for it, excess, and the alarm rule's statistics."""
        hours, grid, baseline = self._resting_grid(heart_rate, steps)
        residual = grid - baseline
        spread = np.full(grid.shape[0], np.nan)
        for day in range(self.min_baseline_days, grid.shape[0]):
            past = residual[max(0, day - self.baseline_days) : day]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                spread[day] = 1.4826 * np.nanmedian(np.abs(past - np.nanmedian(past)))
        frame = pd.DataFrame(
            {
                "resting_bpm": grid.ravel(),
                "baseline_bpm": baseline.ravel(),
                "spread_bpm": np.repeat(np.maximum(np.nan_to_num(spread, nan=1.0), 1.0), 24),
            },
            index=hours,
        )
        frame["excess_bpm"] = frame.resting_bpm - frame.baseline_bpm
        frame["deviations"] = frame.excess_bpm / frame.spread_bpm
        # the window's mean excess, in units of its own standard error: hours agree => stronger evidence
        rolling = frame.excess_bpm.rolling(self.window_hours, min_periods=1)
        frame["window_hours_with_data"] = rolling.count()
        frame["window_excess_bpm"] = rolling.mean()
        frame["window_deviations"] = frame.window_excess_bpm / (
            frame.spread_bpm / np.sqrt(frame.window_hours_with_data.clip(lower=1))
        )
        frame["alarm"] = (
            (frame.window_hours_with_data >= self.min_elevated_hours)
            & (frame.window_deviations >= self.threshold_sd)
            & (frame.window_excess_bpm >= self.min_excess_bpm)
            & frame.resting_bpm.notna()
        )
        return frame

    def detect(self, heart_rate: pd.Series, steps: pd.Series, consented: bool) -> list[WearableAlert]:
        """Alerts over the whole stream (minute-indexed heart rate and steps of one person)."""
        if not consented:
            raise PermissionError("consent: the wearer has not consented to heart-rate monitoring")
        if self.evidence == "cusum":
            return self._detect_cusum(heart_rate, steps)
        frame = self.hourly_scores(heart_rate, steps)
        alerts: list[WearableAlert] = []
        quiet_until = -1
        for i in np.flatnonzero(frame.alarm.to_numpy()):
            if i <= quiet_until:
                continue
            window = frame.iloc[max(0, i - self.window_hours + 1) : i + 1].dropna(subset=["resting_bpm"])
            hot = window[window.excess_bpm >= self.min_excess_bpm]  # the explanation shows the elevated hours
            window = hot if len(hot) else window
            alerts.append(
                WearableAlert(
                    raised_at=frame.index[i] + pd.Timedelta(hours=1),  # known at the end of the hour
                    elevated_since=window.index[0],
                    elevated_hours=len(window),
                    baseline_bpm=float(window.baseline_bpm.mean()),
                    current_bpm=float(window.resting_bpm.mean()),
                    deviations=float(frame.window_deviations.iloc[i]),
                )
            )
            quiet_until = i + self.refractory_hours
        return alerts

    def block_scores(self, heart_rate: pd.Series, steps: pd.Series) -> pd.DataFrame:
        """Per ``block_minutes`` block: resting rate, hourly baseline, excess and its spread (previous days' MAD)."""
        hours, grid, baseline = self._resting_grid(heart_rate, steps)
        minute_hr = heart_rate.resample("1min").mean()
        minute_steps = steps.resample("1min").sum().reindex(minute_hr.index, fill_value=0)
        resting = minute_hr.where(minute_steps.rolling(self.rest_minutes + 1, min_periods=1).sum() == 0)
        width = f"{self.block_minutes}min"
        rate = resting.resample(width).median().where(resting.resample(width).count() >= self.min_resting_minutes)
        last_block = hours[-1] + pd.Timedelta(minutes=60 - self.block_minutes)
        rate = rate.reindex(pd.date_range(hours[0], last_block, freq=width))
        per_hour = 60 // self.block_minutes
        expected = np.repeat(baseline.ravel(), per_hour)
        excess = rate.to_numpy() - expected
        spread = _daily_robust_spread(excess.reshape(grid.shape[0], -1), self.min_baseline_days, self.baseline_days)
        return pd.DataFrame(
            {
                "resting_bpm": rate.to_numpy(),
                "baseline_bpm": expected,
                "excess_bpm": excess,
                "spread_bpm": np.repeat(spread, 24 * per_hour),
            },
            index=rate.index,
        )

    def _detect_cusum(self, heart_rate: pd.Series, steps: pd.Series) -> list[WearableAlert]:
        """One-sided CUSUM of standardised excess over blocks *with resting data only*: a gap (watch off, or
        active) pauses the evidence instead of resetting it, so a rise seen in scattered resting blocks still
        adds up. The CUSUM alone drifts up on slow, small shifts, so an alert also needs the last
        ``recent_blocks`` blocks with data to be ``min_excess_bpm`` above baseline and ``threshold_sd`` standard
        errors (counted in hours of data, since blocks within an hour are correlated) above it."""
        frame = self.block_scores(heart_rate, steps)
        frame = frame[frame.excess_bpm.notna()]
        per_hour = 60 // self.block_minutes
        standardised = np.clip(frame.excess_bpm / frame.spread_bpm, -4.0, 4.0).to_numpy()  # one odd block is bounded
        excess, spread = frame.excess_bpm.to_numpy(), frame.spread_bpm.to_numpy()
        alerts: list[WearableAlert] = []
        evidence, run_start, quiet_until = 0.0, None, None
        for i, when in enumerate(frame.index):
            evidence = max(0.0, evidence + standardised[i] - self.allowance_sd)
            run_start = None if evidence == 0.0 else (i if run_start is None else run_start)
            if evidence < self.cusum_threshold or (quiet_until is not None and when < quiet_until):
                continue
            recent = slice(max(0, i + 1 - self.recent_blocks), i + 1)
            recent_excess = excess[recent].mean()
            hours_of_data = max(1.0, (i + 1 - recent.start) / per_hour)
            if recent_excess < self.min_excess_bpm or recent_excess / (spread[i] / np.sqrt(hours_of_data)) < (
                self.threshold_sd
            ):
                continue
            raised_at = when + pd.Timedelta(minutes=self.block_minutes)  # known at the end of the block
            alerts.append(self._cusum_alert(frame.iloc[run_start : i + 1], raised_at))
            quiet_until = raised_at + pd.Timedelta(hours=self.refractory_hours)
            evidence, run_start = 0.0, None
        return alerts

    def _cusum_alert(self, run: pd.DataFrame, raised_at: pd.Timestamp) -> WearableAlert:
        """The explanation shows the run's elevated blocks: the run itself may begin with hours of small drift."""
        hot = run[run.excess_bpm >= self.min_excess_bpm]
        shown = hot if len(hot) else run
        hours_of_data = max(1.0, len(shown) * self.block_minutes / 60)
        return WearableAlert(
            raised_at=raised_at,
            elevated_since=shown.index[0],
            elevated_hours=max(1, int(np.ceil((raised_at - shown.index[0]) / pd.Timedelta(hours=1)))),
            baseline_bpm=float(shown.baseline_bpm.mean()),
            current_bpm=float(shown.resting_bpm.mean()),
            # in standard errors, as the window rule reports it: hours of data, not correlated blocks, count
            deviations=float(shown.excess_bpm.mean() / shown.spread_bpm.iloc[-1] * np.sqrt(hours_of_data)),
        )

    def monitored_days(self, heart_rate: pd.Series) -> float:
        """Person-days over which alerts were possible (after the baseline warm-up)."""
        span_days = (heart_rate.index[-1] - heart_rate.index[0].normalize()) / pd.Timedelta(days=1)
        return max(0.0, span_days - self.min_baseline_days)


def _daily_robust_spread(excess: np.ndarray, min_days: int, days: int) -> np.ndarray:
    """Per day (rows): 1.4826 x MAD of the previous ``days`` days' excess, at least 1 bpm (1 bpm before warm-up)."""
    spread = np.ones(excess.shape[0])
    for day in range(min_days, excess.shape[0]):
        past = excess[max(0, day - days) : day]
        with warnings.catch_warnings():  # a day with no resting data at all is NaN, by design
            warnings.simplefilter("ignore", RuntimeWarning)
            mad = 1.4826 * np.nanmedian(np.abs(past - np.nanmedian(past)))
        spread[day] = max(float(np.nan_to_num(mad, nan=1.0)), 1.0)
    return spread


def inject_elevation(heart_rate: pd.Series, onset: pd.Timestamp, hours: float, bpm: float) -> pd.Series:
    """A copy of the stream with ``bpm`` added for ``hours`` from ``onset`` (for measuring detection)."""
    modified = heart_rate.copy()
    window = (modified.index >= onset) & (modified.index < onset + pd.Timedelta(hours=hours))
    modified[window] = modified[window] + bpm
    return modified


class Detector(Protocol):
    refractory_hours: int

    def detect(self, heart_rate: pd.Series, steps: pd.Series, consented: bool) -> list[WearableAlert]: ...

    def monitored_days(self, heart_rate: pd.Series) -> float: ...


def measure_detector(
    monitor: Detector,
    streams: list[tuple[pd.Series, pd.Series]],
    elevation_bpm: float = 10.0,
    elevation_hours: float = 24.0,
    within_hours: float = 6.0,
    trials_per_person: int = 10,
    seed: int | Sequence[int] = 0,
) -> dict:
    """Detection rate of injected sustained elevations and false alerts per person-day on the raw streams.

    Per seed and person, ``trials_per_person`` onsets are drawn after a 10-day warm-up among times with no alert on
    the unmodified stream in the previous ``refractory_hours`` and outside any episode still under alert on it (an
    episode already announced cannot be "detected" again). Detection is reported over all onsets, over onsets with
    data (at least ``MIN_MINUTES_WITH_DATA`` worn minutes in the ``within_hours`` after onset) and over onsets
    after which the device was worn (at least 4 of those hours with 30+ minutes): no detector can see a rise on a
    watch left on the table. Each onset is kept (person, onset, worn minutes, hours to the first alert) so misses
    can be examined and a detection-vs-time curve drawn.
    """
    seeds = [seed] if isinstance(seed, int) else list(seed)
    false_alerts: list[int] = []
    days: list[float] = []
    onsets: list[dict] = []
    for person, (heart_rate, steps) in enumerate(streams):
        raw_alerts = monitor.detect(heart_rate, steps, consented=True)
        false_alerts.append(len(raw_alerts))
        days.append(monitor.monitored_days(heart_rate))
        for one_seed in seeds:
            rng = np.random.default_rng([one_seed, person])  # a person's onsets do not depend on the others'
            onsets += _trials(
                monitor,
                heart_rate,
                steps,
                raw_alerts,
                rng,
                one_seed,
                person,
                elevation_bpm,
                elevation_hours,
                within_hours,
                trials_per_person,
            )
    return {
        "elevation_bpm": elevation_bpm,
        "within_hours": within_hours,
        **detection_summary(onsets, within_hours),
        "false_alerts_by_person": false_alerts,
        "person_days_by_person": days,
        "false_alerts_per_person_day": sum(false_alerts) / sum(days) if sum(days) else None,
        "person_days": sum(days),
        "onsets": onsets,
    }


MIN_MINUTES_WITH_DATA = 30  # under half an hour worn in the horizon: too little to see any rise


def detection_summary(onsets: list[dict], within_hours: float) -> dict:
    """Detection rates within ``within_hours`` over all onsets, onsets with data and onsets when worn."""

    def rate(chosen: list[dict]) -> float | None:
        hits = [o for o in chosen if o["hours_to_alert"] is not None and o["hours_to_alert"] <= within_hours]
        return len(hits) / len(chosen) if chosen else None

    with_data = [o for o in onsets if o["worn_minutes"] >= MIN_MINUTES_WITH_DATA]
    worn = [o for o in onsets if o["worn_hours"] >= min(4, int(within_hours))]
    delays = [o["hours_to_alert"] for o in onsets if o["hours_to_alert"] is not None]
    delays = [d for d in delays if d <= within_hours]
    return {
        "trials": len(onsets),
        "detection_rate": rate(onsets),
        "trials_with_data": len(with_data),
        "detection_rate_with_data": rate(with_data),
        "worn_trials": len(worn),
        "detection_rate_when_worn": rate(worn),
        "median_hours_to_detect": float(np.median(delays)) if delays else None,
    }


def _trials(
    monitor: Detector,
    heart_rate: pd.Series,
    steps: pd.Series,
    raw_alerts: list[WearableAlert],
    rng: np.random.Generator,
    seed: int,
    person: int,
    elevation_bpm: float,
    elevation_hours: float,
    within_hours: float,
    trials_per_person: int,
) -> list[dict]:
    start = heart_rate.index[0].normalize() + pd.Timedelta(days=10)
    end = heart_rate.index[-1] - pd.Timedelta(hours=elevation_hours)
    quiet = pd.Timedelta(hours=monitor.refractory_hours)
    horizon = pd.Timedelta(hours=within_hours)
    made: list[dict] = []
    for _ in range(50 * trials_per_person):
        if len(made) == trials_per_person:
            break
        onset = start + pd.Timedelta(minutes=int(rng.integers(0, int((end - start) / pd.Timedelta(minutes=1)))))
        if any(onset - quiet <= a.raised_at <= onset for a in raw_alerts):
            continue
        if any(a.raised_at <= onset < a.episode_ended for a in raw_alerts if a.episode_ended is not None):
            continue  # the raw stream's own episode is still under alert: nothing new to announce
        alerts = monitor.detect(inject_elevation(heart_rate, onset, elevation_hours, elevation_bpm), steps, True)
        delays = [(a.raised_at - onset) / pd.Timedelta(hours=1) for a in alerts if a.raised_at > onset]
        after = heart_rate[(heart_rate.index >= onset) & (heart_rate.index < onset + horizon)]
        per_minute = after.resample("1min").count()
        made.append(
            {
                "person": person,
                "seed": seed,
                "onset": onset.isoformat(),
                "worn_minutes": int((per_minute > 0).sum()),
                "worn_hours": int((after.resample("1h").count() >= 30).sum()),
                "hours_to_alert": round(min(delays), 3) if delays else None,
            }
        )
    return made
