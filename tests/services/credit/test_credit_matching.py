"""Matcher: cross-script, transliteration and typo cases; qualifiers; judgements; blocking."""

from __future__ import annotations

import csv

import pytest

from civicbrain.services.credit.domain.blocking import CandidateIndex, screen
from civicbrain.services.credit.domain.evaluation import evaluate_pairs, read_pairs
from civicbrain.services.credit.domain.matching import (
    DEFAULT_THRESHOLD,
    InMemoryJudgementStore,
    Matcher,
    SubjectRecord,
)
from civicbrain.services.credit.domain.names import NameKind, compare_names, is_simple_typo


def person(record_id: str, name: str, dob: str = "", country: str = "", ids: tuple[str, ...] = ()) -> SubjectRecord:
    return SubjectRecord(
        id=record_id,
        kind=NameKind.PERSON,
        names=(name,),
        birth_dates=(dob,) if dob else (),
        countries=(country,) if country else (),
        identifiers=ids,
    )


@pytest.mark.parametrize(
    ("query", "candidate"),
    [
        ("Владимир Путин", "Vladimir Putin"),  # Cyrillic vs Latin
        ("Wladimir Putin", "Vladimir Putin"),  # German transliteration
        ("Mao Tse-tung", "Mao Zedong"),  # Wade-Giles vs pinyin
        ("Moammar Qaddafi", "Muammar Gaddafi"),
        ("Olaf Schloz", "Olaf Scholz"),  # typo
        ("SALEK, ABDULHAI", "ABDULHAI SALEK"),  # family-first with comma
        ("AREFULLAHA REF GHAZI MOHAMMAD", "AREFULLAH AREF GHAZI MOHAMMAD"),  # misplaced space
        ("HASSAN TAAH AL-RAWI", "HASSAN TAHA AL-RAWI"),  # swapped letters
        ("张伟", "Zhang Wei"),  # Han vs pinyin
        ("王小明", "WANG Xiaoming"),
        ("福州金山建设有限公司", "Fuzhou Jinshan Jianshe Co., Ltd."),  # pinyin firm name, legal form translated
        ("A. Khamenei", "Ali Khamenei"),  # an initial is consistent with the full name
        ("Hans J Friedrich", "Hans Joachim Friedrich"),
    ],
)
def test_variants_of_one_person_or_firm_match(query: str, candidate: str) -> None:
    kind = NameKind.ORGANIZATION if "Co., Ltd." in candidate else NameKind.PERSON
    assert compare_names(query, candidate, kind).score >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    ("query", "candidate", "kind"),
    [
        ("BARZAN IBRAHIM HASSAN AL-MOSULI", "BARZAN IBRAHIM HASSAN AL-TIKRITI", NameKind.PERSON),
        ("Daniel Tusk", "Donald Tusk", NameKind.PERSON),
        ("Bowne of Chicago, Inc.", "Bowne of Cleveland, Inc.", NameKind.ORGANIZATION),
        ("Deutsche Bank AG", "Deutsche Bank GmbH", NameKind.ORGANIZATION),  # two legal forms
        ("Management Company 23", "Management Company", NameKind.ORGANIZATION),  # numbered entity
        ("Apollo Investment Fund VIII L.P.", "Apollo Investment Fund IX L.P.", NameKind.ORGANIZATION),
        ("Snow", "Snoe", NameKind.OBJECT),
        ("王小明", "Wang Xiaoping", NameKind.PERSON),  # one syllable = another character
        ("高石早苗", "高市早苗", NameKind.PERSON),  # homophones stay apart within Han
        ("福州金山建设股份有限公司", "Fuzhou Jinshan Jianshe Co., Ltd.", NameKind.ORGANIZATION),  # JSC vs Ltd
    ],
)
def test_different_people_and_firms_do_not_match(query: str, candidate: str, kind: NameKind) -> None:
    assert compare_names(query, candidate, kind).score < DEFAULT_THRESHOLD


def test_substitution_is_explained() -> None:
    result = compare_names("JAWHAR MAJID AL-MOSULI", "JAWHAR MAJID AL-DURI", NameKind.PERSON)
    assert result.substitution
    assert "lacks" in result.explain()


def test_simple_typo_rules() -> None:
    assert is_simple_typo("taah", "taha")
    assert is_simple_typo("essa", "esa")
    assert not is_simple_typo("tom", "tim")
    assert not is_simple_typo("abc", "abc")


def test_identifier_match_is_decisive_and_explained() -> None:
    matcher = Matcher()
    result = matcher.compare(
        person("q", "Zhang Wei", ids=("110101 19900307 663X",)),
        person("c", "Li Na", ids=("11010119900307663x",)),
    )
    assert result.is_match and result.score == 1.0
    assert set(result.features) == {"identifier_match"}


def test_qualifiers_lower_but_never_raise() -> None:
    matcher = Matcher()
    same = matcher.compare(person("q", "Sergei Lavrov", "1950-03-21", "ru"), person("c", "Sergey Lavrov", "1950-03-21"))
    far = matcher.compare(person("q", "Sergei Lavrov", "1950-03-21", "ru"), person("c", "Sergey Lavrov", "1971", "fr"))
    assert same.is_match
    assert not far.is_match
    assert far.features["dob_mismatch"].contribution == pytest.approx(-0.35)
    assert far.features["country_mismatch"].contribution == pytest.approx(-0.2)
    weak = matcher.compare(person("q", "Anna Schmidt", "1950-03-21"), person("c", "Anna Becker", "1950-03-21"))
    assert weak.score < DEFAULT_THRESHOLD  # an agreeing birth date adds nothing


def test_a_namesake_born_in_another_year_is_not_a_match_but_a_year_apart_still_is() -> None:
    """A check restricts on a match: a listed Zhang Wei born in 1950 is not the Zhang Wei born in 1989,
    while a birth date a year off (approximate, converted, mistyped) still leaves a perfect name a match."""
    matcher = Matcher()
    decades = matcher.compare(person("q", "Zhang Wei", "1989-03-07"), person("c", "Zhang Wei", "1950-11-20"))
    assert not decades.is_match and decades.score == pytest.approx(0.65)
    assert "birth years 1989 and 1950 differ" in decades.explanation
    near = matcher.compare(person("q", "Zhang Wei", "1989-03-07"), person("c", "Zhang Wei", "1990-03-07"))
    assert near.is_match
    undated = matcher.compare(person("q", "Zhang Wei"), person("c", "Zhang Wei", "1950-11-20"))
    assert undated.is_match  # no date asked: the name alone decides, as before


def test_reviewer_judgement_excludes_candidate_for_that_subject_only() -> None:
    store = InMemoryJudgementStore()
    matcher = Matcher(judgements=store)
    query, listed = person("subject-1", "Olaf Scholz"), person("entry-9", "Olaf Scholz")
    assert matcher.compare(query, listed).is_match
    store.mark_not_same("subject-1", "entry-9", reviewer="officer-7", reason="different birth place on file")
    excluded = matcher.compare(query, listed)
    assert not excluded.is_match and excluded.excluded_by_judgement
    assert "officer-7" in excluded.explanation
    assert matcher.compare(person("subject-2", "Olaf Scholz"), listed).is_match
    with pytest.raises(ValueError, match="reason"):
        store.mark_not_same("subject-1", "entry-9", reviewer="officer-7", reason=" ")


def test_evidence_is_json_ready() -> None:
    result = Matcher().compare(person("q", "Olaf Schloz"), person("c", "Olaf Scholz"))
    evidence = result.evidence()
    assert evidence["threshold"] == DEFAULT_THRESHOLD
    assert evidence["features"]["name_match"]["score"] == pytest.approx(result.score)
    assert "schloz" in evidence["features"]["name_match"]["detail"]


def test_blocking_finds_variants_and_skips_strangers() -> None:
    index = CandidateIndex()
    names = ["ABDULHAI SALEK", "JANAN AGHA", "MOHAMMED LAKHAL", "Olaf Scholz", "Angela Merkel"]
    index.add_all(person(f"e{i}", n) for i, n in enumerate(names))
    candidates = index.candidates(person("q", "MOHAMED LAKAHL"), limit=2)
    assert candidates[0].id == "e2"
    results = screen(Matcher(), index, person("q", "MOHAMED LAKAHL"))
    assert results[0].is_match and results[0].candidate_id == "e2"
    assert not any(r.is_match for r in screen(Matcher(), index, person("q", "Patricia Wheeler")))
    index.remove("e2")
    assert "e2" not in index
    assert all(c.id != "e2" for c in index.candidates(person("q", "MOHAMED LAKAHL")))


def test_blocking_finds_the_namesake_born_on_the_querys_birth_date() -> None:
    """Namesakes share every name key and tie; a query's birth date must bring the right one into the
    few candidates compared, however many namesakes sort before it."""
    index = CandidateIndex()
    index.add_all(person(f"e{i:02d}", "Zhang Wei", f"{1950 + i}-03-07") for i in range(40))
    index.add(person("stranger", "Li Na", "1989-03-07"))  # born the same day: no name key, no birth key
    found = [c.id for c in index.candidates(person("q", "Zhang Wei", "1989-03-07"), limit=5)]
    assert found[0] == "e39"
    assert "stranger" not in found
    by_year = [c.id for c in index.candidates(person("q", "Zhang Wei", "1989"), limit=5)]
    assert by_year[0] == "e39"
    best = screen(Matcher(), index, person("q", "Zhang Wei", "1989-03-07"), limit=5)[0]
    assert best.candidate_id == "e39" and best.is_match and best.score == 1.0


def test_blocking_puts_identifier_hits_first() -> None:
    index = CandidateIndex()
    index.add(person("e1", "Li Na", ids=("91350100M000100Y43",)))
    index.add(person("e2", "Zhang Wei"))
    assert index.candidates(person("q", "Zhang Wei", ids=("91350100M000100Y43",)))[0].id == "e1"


def test_evaluate_pairs_reports_both_matchers(tmp_path) -> None:
    path = tmp_path / "pairs.csv"
    rows = [
        ("t", "Person", "Olaf Schloz", "Olaf Scholz", "true"),
        ("t", "Person", "Daniel Tusk", "Donald Tusk", "false"),
        ("t", "Company", "Siemens Aktiengesellschaft", "Siemens AG", "true"),
        ("t", "Person", "Pol Pot", "Paul Murphy", "false"),
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_group", "schema", "name1", "name2", "is_match"])
        writer.writerows(rows)
    result = evaluate_pairs(path)
    assert result["ours"]["n"] == 4
    assert result["ours"]["f1"] == 1.0
    assert set(result["logic_v2"]) >= {"precision", "recall", "f1", "n"} or result["logic_v2"]["available"] is False


def test_read_pairs_names_the_bad_row(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("case_group,schema,name1,name2,is_match\nx,Person,A,B,maybe\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_pairs(path)
