"""Runs only where the reference data is mounted (the default suite never needs it)."""

import pytest

from civicbrain.services.health.domain.knowledge_base import load_knowledge_base, reference_data_dir
from civicbrain.services.health.domain.patients import FrenchCodeTranslator

FRENCH_KB = reference_data_dir() / "health" / "ddxplus" / "french_kb"
pytestmark = pytest.mark.skipif(not FRENCH_KB.exists(), reason="reference data not mounted")


def test_french_codes_map_through_question_text():
    kb = load_knowledge_base()
    translate = FrenchCodeTranslator(FRENCH_KB, kb)
    assert translate.token("fievre") == "E_91"
    assert translate.token("trav1_@_N") == "E_204_@_V_10"
    assert translate.token("douleurxx_intens_@_4") == "E_56_@_4"
    assert len(translate.evidence_code) == len(kb.evidences)
    tokens, initial, pathology, differential = translate(
        ["toux", "douleurxx"], "toux", "Bronchite", [("Bronchite", 0.7), ("Pneumonie", 0.3)]
    )
    assert (tokens, initial, pathology) == (["E_201", "E_53"], "E_201", "Bronchitis")
    assert differential == [("Bronchitis", 0.7), ("Pneumonia", 0.3)]
