"""The portal's emergency table reads the bench's JSON: each priority arm against the arm it is compared with."""

from civicbrain.services.traffic.benchmarks import emergency_rows


def _arm(median: float, standing: float | None, baseline: str | None, **extra: float) -> dict:
    figures = {"ems_median_s": median, "baseline": baseline, **extra}
    if standing is not None:
        figures["ems_standing_median_s"] = standing
    return figures


def test_each_priority_arm_is_shown_against_its_own_baseline_with_standing_time() -> None:
    study = {
        "scenario": "cologne8",
        "controller": "fixed",
        "seeds": [1, 2, 3, 4, 5],
        "ambulances_per_run": 5,
        "none": _arm(180.0, 43.5, None),
        "preempt": _arm(137.0, 0.0, "none", ems_median_ratio=137 / 180, delay_change=0.03),
        "siren": _arm(120.0, 12.0, None),
        "full": _arm(100.0, 0.0, "siren", ems_median_ratio=100 / 120, delay_change=0.01),
    }
    rows = {row["arm"]: row for row in emergency_rows({"emergency": [study]})}

    assert set(rows) == {"preempt", "full"}  # the arms without priority are baselines, not rows
    assert rows["preempt"]["median_without"] == 180.0 and rows["preempt"]["median_with"] == 137.0
    assert rows["preempt"]["standing_without"] == 43.5 and rows["preempt"]["standing_with"] == 0.0
    assert rows["full"]["median_without"] == 120.0  # blue-light driving is compared with blue-light driving
    assert rows["full"]["standing_without"] == 12.0
    assert rows["full"]["seeds"] == 5 and rows["full"]["ambulances"] == 5


def test_a_bench_written_before_standing_time_was_measured_still_reads() -> None:
    study = {
        "scenario": "ingolstadt21",
        "controller": "fixed",
        "seeds": [1, 2],
        "none": _arm(262.5, None, None),
        "preempt": _arm(176.5, None, "none", ems_median_ratio=0.672, delay_change=0.068),
    }
    [row] = emergency_rows({"emergency": [study]})

    assert row["ratio"] == 0.672 and row["delay_change"] == 0.068
    assert row["standing_without"] is None and row["standing_with"] is None  # shown as "—"


def test_the_first_bench_shape_with_one_preemption_arm_reads_too() -> None:
    study = {"scenario": "cologne8", "ems_median_without": 200.0, "ems_median_with": 130.0, "ems_median_ratio": 0.65}
    [row] = emergency_rows({"emergency": [study]})

    assert row["arm"] == "preempt" and row["ratio"] == 0.65
    assert row["standing_without"] is None and row["standing_with"] is None
