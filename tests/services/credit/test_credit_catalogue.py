"""The seed catalogue is lawful by the domain's own rules."""

from __future__ import annotations

from civicbrain.services.credit.domain.catalogue import CITY_SCORE_TABLE, LISTS, MEMORANDA
from civicbrain.services.credit.domain.matching import matcher_card_payload
from civicbrain.services.credit.domain.score import BENEFIT_FLOOR


def test_every_memorandum_fits_its_list() -> None:
    by_code = {d.code: d for d in LISTS}
    for memo in MEMORANDA:
        assert memo.fits(by_code[memo.list_code]), memo.id
        assert memo.list_agency == by_code[memo.list_code].owning_agency


def test_score_table_only_grants_from_the_floor() -> None:
    assert CITY_SCORE_TABLE.base < BENEFIT_FLOOR
    assert all(band.min_score >= BENEFIT_FLOOR for band in CITY_SCORE_TABLE.bands)
    assert not CITY_SCORE_TABLE.contexts() & {c for memo in MEMORANDA for c in memo.contexts}


def test_matcher_card_states_threshold() -> None:
    assert matcher_card_payload()["threshold"] == 0.7
