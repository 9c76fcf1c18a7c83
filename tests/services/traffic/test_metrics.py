import math

import pytest

from civicbrain.services.traffic.domain.metrics import read_tripinfo, summarize, trip_metrics

# fmt: off
TRIPINFO = """<tripinfos>
  <tripinfo id="a" depart="10.00" departDelay="2.00" arrival="70.00" duration="60.00" timeLoss="20.00" waitingTime="8.00"/>
  <tripinfo id="b" depart="20.00" departDelay="0.00" arrival="-1.00" duration="80.00" timeLoss="50.00" waitingTime="30.00"/>
  <tripinfo id="c" depart="-1" departDelay="40.00" arrival="-1.00" duration="0.00" timeLoss="0.00" waitingTime="0.00"/>
  <tripinfo id="d" depart="-1" departDelay="300.00" arrival="-1.00" duration="0.00" timeLoss="0.00" waitingTime="0.00"/>
  <tripinfo id="ems_0" depart="5.00" departDelay="0.00" arrival="30.00" duration="25.00" timeLoss="1.00" waitingTime="0.00"/>
</tripinfos>
"""  # noqa: E501
# fmt: on


@pytest.fixture
def tripinfo(tmp_path):
    path = tmp_path / "tripinfo.xml"
    path.write_text(TRIPINFO)
    return str(path)


def test_resco_delay_counts_never_departed_and_excludes_platform_vehicles(tripinfo):
    m = trip_metrics(read_tripinfo(tripinfo, exclude_prefixes=("ems_",)))
    # a: 20 + 2, b (unfinished): 50 + 0, c and d (never entered): end - scheduled = their departDelay
    assert m["delay"] == pytest.approx((22 + 50 + 40 + 300) / 4)
    assert m["never_departed"] == 2
    assert m["never_departed_blocked"] == 1  # d was kept out 300 s; c was due only 40 s before the end
    assert m["vehicles"] == 4
    assert m["finished"] == 1
    assert m["trip_time"] == pytest.approx(60.0)  # finished trips only
    assert m["free_flow_trip"] == pytest.approx(40.0)  # duration - timeLoss
    assert m["wait"] == pytest.approx((8 + 30) / 2)  # vehicles that entered


def test_summarize_mean_and_sample_sd():
    m, sd = summarize([1.0, 2.0, 3.0, math.nan])
    assert m == pytest.approx(2.0)
    assert sd == pytest.approx(1.0)
