"""Candidate generation: find the few list entries worth a full comparison.

A list of 10^5-10^7 entries cannot be compared pair by pair for every check. Each entry
is indexed under cheap keys of its names - the transliterated token, its metaphone code
a short prefix (so typos past the first letters still meet) and
the token's set of letters (so swapped or doubled letters still meet) - plus its identifiers.
A query looks up its own keys and ranks entries by the summed rarity (IDF) of the keys
they share, so a shared "Mohammad" counts little and a shared "Zardari" a lot. Keys held
by more than ``max_postings`` entries are skipped at query time (unless nothing rarer is
shared): they cannot narrow anything, and reading them is what would make a large list
slow. The adjacent-pair and joined keys ("wangxiaoming") stay rare even when every
single token is common, which is what Chinese names need.

Names alone cannot tell namesakes apart: a list of millions holds hundreds of people called
Zhang Wei, who all share the same keys and tie, so the one a query's birth date points at would
be among the top ``limit`` only by chance. The joined key qualified by the birth year and by the
full date ("jy:zhangwei|1980", "jd:zhangwei|1980-05-05", ``birth_keys``) is held by the few
namesakes born then, so they rank first. Only a shared name earns these keys: a stranger born
the same day shares none of them.

For lists of 10^6-10^7 entries the service persists ``name_keys`` in an indexed table
(key, subject) and runs the same ranking in SQL; this class is the in-memory reference.

Only the top ``limit`` candidates go on to ``Matcher.compare``; the bench measures the
recall this costs (candidate recall on the UN list).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from rigour.text.phonetics import metaphone

from civicbrain.services.credit.domain.matching import Matcher, MatchResult, SubjectRecord, date_parts
from civicbrain.services.credit.domain.names import NameKind, analyze, han_to_latin, has_han

_PREFIX_LENGTH = 4


def name_keys(name: str, kind: NameKind) -> set[str]:
    """Blocking keys of one name: token, metaphone and prefix of each part."""
    keys: set[str] = set()
    forms = [name]
    if has_han(name):
        # Index Han names under pinyin too, so a Latin-script query meets them.
        forms.extend(v for v in {han_to_latin(name), han_to_latin(name, kind)} if v)
    for analysed in (a for form in forms for a in analyze(form, kind)):
        parts = [part.comparable for part in analysed.parts if part.comparable]
        for token in parts:
            if len(token) < 2:
                continue
            keys.add(f"t:{token}")
            # Letter set: survives swapped and doubled letters ("Lakahl"/"Lakhal").
            keys.add(f"l:{''.join(sorted(set(token)))}")
            if len(token) > _PREFIX_LENGTH:
                keys.add(f"p:{token[:_PREFIX_LENGTH]}")
            if token.isascii() and token.isalpha():
                code = metaphone(token)
                if code:
                    keys.add(f"m:{code}")
        # Names written together or apart ("Abdulhai" / "Abdul Hai") meet on the join.
        if 1 < len(parts) <= 6:
            keys.add(f"j:{''.join(parts)}")
            for left, right in zip(parts, parts[1:], strict=False):
                keys.add(f"t:{left}{right}")
    return keys


def birth_keys(keys: Iterable[str], birth_dates: Iterable[str]) -> set[str]:
    """The joined-name keys among ``keys`` qualified by each birth date's year and, for a full date, the
    date (``name_keys`` of the same names first: only they hold the joined keys)."""
    joined = sorted(k[2:] for k in keys if k.startswith("j:"))
    qualified: set[str] = set()
    for value in birth_dates:
        parts = date_parts(value)
        if not parts:
            continue
        year = f"{parts[0]:04d}"
        for name in joined:
            qualified.add(f"jy:{name}|{year}")
            if len(parts) == 3:
                qualified.add(f"jd:{name}|{year}-{parts[1]:02d}-{parts[2]:02d}")
    return qualified


def record_keys(record: SubjectRecord) -> set[str]:
    """All blocking keys of a list entry or a query: its names' keys and their birth-date qualified joins."""
    keys: set[str] = set()
    for name in record.names:
        keys |= name_keys(name, record.kind)
    return keys | birth_keys(keys, record.birth_dates)


class CandidateIndex:
    """An inverted index from blocking keys to list entries."""

    def __init__(self, max_postings: int = 5_000) -> None:
        self.max_postings = max_postings
        self._records: dict[str, SubjectRecord] = {}
        self._postings: dict[str, set[str]] = defaultdict(set)
        self._by_identifier: dict[str, set[str]] = defaultdict(set)
        self._keys_of: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._records

    def get(self, record_id: str) -> SubjectRecord:
        return self._records[record_id]

    def add(self, record: SubjectRecord) -> None:
        """Index (or re-index) one entry; re-adding an id replaces the old entry."""
        if record.id in self._records:
            self.remove(record.id)
        self._records[record.id] = record
        keys = record_keys(record)
        self._keys_of[record.id] = keys
        for key in keys:
            self._postings[key].add(record.id)
        for identifier in record.normalized_identifiers():
            self._by_identifier[identifier].add(record.id)

    def add_all(self, records: Iterable[SubjectRecord]) -> None:
        for record in records:
            self.add(record)

    def remove(self, record_id: str) -> None:
        """Drop an entry (a DEL delta, an expired or repaired listing's subject)."""
        record = self._records.pop(record_id, None)
        if record is None:
            return
        for key in self._keys_of.pop(record_id, set()):
            self._postings[key].discard(record_id)
        for identifier in record.normalized_identifiers():
            self._by_identifier[identifier].discard(record_id)

    def candidates(self, query: SubjectRecord, limit: int = 50) -> list[SubjectRecord]:
        """Entries sharing an identifier first, then the best-scoring by shared keys."""
        found: list[str] = []
        for identifier in sorted(query.normalized_identifiers()):
            found.extend(sorted(self._by_identifier.get(identifier, ())))
        total = max(len(self._records), 1)
        scores: dict[str, float] = defaultdict(float)
        keys = record_keys(query)
        postings = sorted(
            ((key, self._postings[key]) for key in keys if self._postings.get(key)), key=lambda kp: len(kp[1])
        )
        usable = [(key, posting) for key, posting in postings if len(posting) <= self.max_postings]
        if not usable and postings:
            usable = postings[:1]  # only common keys ("Wang Wei"): the rarest still narrows
        for _key, posting in usable:
            weight = math.log(1.0 + total / len(posting))
            for record_id in posting:
                scores[record_id] += weight
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        seen = set(found)
        budget = len(found) + limit  # identifier hits never crowd out name candidates
        for record_id, _ in ranked:
            if len(found) >= budget:
                break
            if record_id not in seen:
                found.append(record_id)
                seen.add(record_id)
        return [self._records[record_id] for record_id in found]


def screen(matcher: Matcher, index: CandidateIndex, query: SubjectRecord, limit: int = 20) -> list[MatchResult]:
    """Screen a query against an indexed list: blocking, then full comparison, best first."""
    return matcher.rank(query, index.candidates(query, limit=limit), limit=limit)
