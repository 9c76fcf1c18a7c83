"""The exit test behind the gridlock guard, on detector readings alone."""

from __future__ import annotations

from dataclasses import dataclass, field

from civicbrain.services.traffic.domain.controllers import blocked_links, exit_blocked
from civicbrain.services.traffic.domain.network import Junction, Link


@dataclass
class FakeBus:
    """Readings of exit detectors: (vehicles, halting, occupancy %) and detector length."""

    readings: dict[str, tuple[int, int, float]]
    length: dict[str, float] = field(default_factory=dict)

    def vehicles(self, key: str) -> int:
        return self.readings.get(key, (0, 0, 0.0))[0]

    def halted(self, key: str) -> int:
        return self.readings.get(key, (0, 0, 0.0))[1]

    def occupancy(self, key: str) -> float:
        return self.readings.get(key, (0, 0, 0.0))[2]


def test_one_stopped_car_fills_a_short_link_but_not_a_long_street():
    short = FakeBus({"out:link_0": (1, 1, 45.0)}, {"out:link_0": 12.0})
    long = FakeBus({"out:link_0": (1, 1, 5.0)}, {"out:link_0": 100.0})
    assert exit_blocked(short, "link_0")  # 12 m: 5 m car + 2.5 m gap leave no room for another
    assert not exit_blocked(long, "link_0")


def test_a_jammed_street_is_blocked_and_a_moving_one_is_not():
    jammed = FakeBus({"out:s_0": (12, 11, 70.0)}, {"out:s_0": 100.0})
    moving = FakeBus({"out:s_0": (12, 0, 70.0)}, {"out:s_0": 100.0})
    assert exit_blocked(jammed, "s_0")
    assert not exit_blocked(moving, "s_0")


def test_blocked_links_names_the_green_links_whose_exit_is_blocked():
    junction = Junction(
        "J", [Link(0, "n_0", "link_0"), Link(1, "s_0", "w_0"), Link(2, "e_0", "link_0")], ["GGr", "rrG"], [30, 30]
    )
    bus = FakeBus({"out:link_0": (2, 2, 80.0)}, {"out:link_0": 12.0, "out:w_0": 100.0})
    assert blocked_links(junction, bus, 0) == {0}
    assert blocked_links(junction, bus, 1) == {2}


def test_a_head_for_a_whole_approach_is_held_only_for_a_lane_with_nowhere_to_go():
    """One signal index over two lanes (ingolstadt21's 243641585): a full exit that only some of
    a lane's vehicles want does not stop the approach; a lane whose every exit is full does."""
    junction = Junction(
        "J",
        [
            Link(0, "a_1", "straight_1"),
            Link(0, "a_2", "straight_2"),
            Link(0, "a_2", "short_0"),  # lane 2 also turns into a 12 m link
            Link(1, "b_1", "short_0"),  # lane b_1 leads only there
        ],
        ["GG"],
        [30],
    )
    lengths = {"out:straight_1": 100.0, "out:straight_2": 100.0, "out:short_0": 12.0}
    short_full = FakeBus({"out:short_0": (1, 1, 45.0)}, lengths)
    assert blocked_links(junction, short_full, 0) == {1}
    everything_full = FakeBus({"out:short_0": (1, 1, 45.0), "out:straight_2": (13, 13, 75.0)}, lengths)
    assert blocked_links(junction, everything_full, 0) == {0, 1}
