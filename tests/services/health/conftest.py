"""Synthetic DDXPlus-style patients built from the packaged knowledge base (no patient file is needed)."""

from __future__ import annotations

import numpy as np
import pytest

from civicbrain.services.health.domain.knowledge_base import BINARY, MULTI_CHOICE, load_knowledge_base
from civicbrain.services.health.domain.patients import PatientCase


def synthetic_cases(per_pathology: int, seed: int) -> list[PatientCase]:
    """Each pathology gets fixed evidence rates (seed 0) and patients sampled from its own KB lists."""
    kb = load_knowledge_base()
    rates_rng = np.random.default_rng(0)  # the "true" generator is shared by every call
    rng = np.random.default_rng(seed)
    cases = []
    for name in kb.pathology_names:
        pathology = kb.pathologies[name]
        listed = sorted(pathology.evidences, key=lambda c: int(c.split("_")[1]))
        rates = {code: rates_rng.uniform(0.1, 0.95) for code in listed}
        symptoms = [c for c in listed if c in pathology.symptoms and kb.evidences[c].data_type == BINARY]
        for _ in range(per_pathology):
            evidences: dict = {}
            for code in listed:
                evidence = kb.evidences[code]
                parent = evidence.parent
                if parent is not None and evidences.get(parent) is not True:
                    continue
                if rng.random() >= rates[code]:
                    continue
                if evidence.data_type == BINARY:
                    evidences[code] = True
                elif evidence.data_type == MULTI_CHOICE:
                    k = min(len(evidence.values), 2)
                    evidences[code] = frozenset(evidence.values[: 1 + int(rates[code] * 10) % 6][:k])
                else:
                    evidences[code] = evidence.values[int(rates[code] * 100) % len(evidence.values)]
            present = [c for c in symptoms if evidences.get(c) is True] or symptoms[:1]
            initial = present[0]
            evidences[initial] = True
            cases.append(
                PatientCase(
                    age=int(rng.integers(18, 80)),
                    sex="F" if rng.random() < 0.5 else "M",
                    initial_evidence=initial,
                    evidences=evidences,
                    pathology=name,
                    differential=((name, 0.8), (kb.pathology_names[0], 0.2)),
                )
            )
    return cases


@pytest.fixture(scope="session")
def synthetic_train() -> list[PatientCase]:
    return synthetic_cases(12, seed=1)


@pytest.fixture(scope="session")
def synthetic_test() -> list[PatientCase]:
    return synthetic_cases(2, seed=2)


@pytest.fixture(scope="session")
def fitted_models(synthetic_train):
    from civicbrain.services.health.domain.differential_model import DifferentialModel
    from civicbrain.services.health.domain.evidence_model import EvidenceNaiveBayes

    evidence = EvidenceNaiveBayes().fit(synthetic_train)
    differential = DifferentialModel(regularisation=0.1).fit(synthetic_train[::3], evidence)
    return evidence, differential


@pytest.fixture
def health_runtime(settings, engine, clock):  # type: ignore[no-untyped-def]
    """The demo city (40 residents) with the health service loaded."""
    from civicbrain.core.context import Runtime
    from civicbrain.demo.city import seed_city
    from civicbrain.services.health import SERVICE as HEALTH
    from tests.support import TEST_CARDS, TEST_SERVICES

    runtime = Runtime(settings, (*TEST_SERVICES, HEALTH), engine=engine, clock=clock, extra_cards=TEST_CARDS)
    with runtime.unit(actor="seed") as ctx:
        seed_city(ctx, people=40)
    return runtime


@pytest.fixture
def api(health_runtime):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from civicbrain.api import create_app

    with TestClient(create_app(runtime=health_runtime), raise_server_exceptions=False) as client:
        yield client
