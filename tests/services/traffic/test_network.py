"""What the controllers know of a junction, read from a SUMO network file."""

from __future__ import annotations

from pathlib import Path

from civicbrain.services.traffic.domain.network import read_network

# Two signals, A and B, joined by a 12 m link (ab) and fed through a 15.3 m one (cb) by C; the
# approach (in) to A is split 5 m before the stop line (stub), as real networks often are.
NET = """<net>
  <edge id="in"><lane id="in_0" length="200"/><lane id="in_1" length="200"/></edge>
  <edge id="stub"><lane id="stub_0" length="5"/><lane id="stub_1" length="5"/></edge>
  <edge id="ab"><lane id="ab_0" length="12"/></edge>
  <edge id="cb"><lane id="cb_0" length="15.3"/></edge>
  <edge id="feed"><lane id="feed_0" length="300"/></edge>
  <edge id="out"><lane id="out_0" length="100"/><lane id="out_1" length="100"/></edge>
  <tlLogic id="A" type="static" programID="0" offset="0">
    <phase duration="30" state="G"/><phase duration="3" state="y"/>
  </tlLogic>
  <tlLogic id="B" type="static" programID="0" offset="0">
    <phase duration="30" state="Gr"/><phase duration="3" state="yr"/><phase duration="30" state="rG"/>
  </tlLogic>
  <tlLogic id="C" type="static" programID="0" offset="0">
    <phase duration="30" state="G"/>
  </tlLogic>
  <connection from="in" to="stub" fromLane="0" toLane="0"/>
  <connection from="in" to="stub" fromLane="1" toLane="1"/>
  <connection from="stub" to="ab" fromLane="0" toLane="0" tl="A" linkIndex="0"/>
  <connection from="stub" to="ab" fromLane="1" toLane="0" tl="A" linkIndex="0"/>
  <connection from="ab" to="out" fromLane="0" toLane="0" tl="B" linkIndex="0"/>
  <connection from="feed" to="cb" fromLane="0" toLane="0" tl="C" linkIndex="0"/>
  <connection from="cb" to="out" fromLane="0" toLane="1" tl="B" linkIndex="1"/>
</net>
"""


def network(tmp_path: Path):
    path = tmp_path / "two.net.xml"
    path.write_text(NET, encoding="utf-8")
    return read_network(str(path))


def test_every_connection_of_a_shared_signal_index_is_kept(tmp_path):
    a = network(tmp_path).junctions["A"]
    assert [(link.index, link.in_lane, link.out_lane) for link in a.links] == [
        (0, "stub_0", "ab_0"),
        (0, "stub_1", "ab_0"),
    ]
    assert a.served_lanes(0) == ["stub_0", "stub_1"]


def test_signalled_and_exit_lanes_are_the_lanes_the_lights_lead_from_and_into(tmp_path):
    net = network(tmp_path)
    assert net.signalled_lanes == {"stub_0", "stub_1", "ab_0", "feed_0", "cb_0"}
    assert net.exit_lanes == {"ab_0", "out_0", "out_1", "cb_0"}


def test_an_approach_detector_reaches_up_a_stub_but_not_past_another_signal(tmp_path):
    net = network(tmp_path)
    signalled = net.signalled_lanes

    def lanes(lane: str) -> list[str]:
        return [piece for piece, _, _ in net.upstream_segments(lane, 100.0, stop_at=signalled, short_link_m=15.0)]

    assert lanes("stub_0") == ["stub_0", "in_0"]  # the 5 m stub alone would see one car
    assert lanes("cb_0") == ["cb_0"]  # who queues on feed waits for C, not for B
    assert lanes("ab_0") == ["ab_0", "stub_0", "stub_1", "in_0", "in_1"]  # a 12 m link: A and B act as one
