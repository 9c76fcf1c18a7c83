"""Credit domain: plain-Python rules and algorithms, no database or web framework.

Modules, in the order a check flows through them:

* ``names``      - name comparison across scripts, transliterations and typos (rigour + policy)
* ``matching``   - SubjectRecord, Matcher (ID first, names, qualifiers), evidence, judgements
* ``blocking``   - CandidateIndex (blocking keys) and ``screen`` for large lists
* ``listing``    - list definitions, severity tiers, the due-process state machine
* ``measures``   - memoranda and the context-bound ``check_subject``
* ``score``      - the opt-in city score: points table, reasons, benefits only
* ``public``     - public view with masked IDs, monthly flows, forbidden intake categories
* ``ftm``        - FollowTheMoney export/import and ADD/MOD/DEL deltas
* ``federation`` - signed, sequenced, idempotent batches between instances
* ``events``     - CreditEvent: what every step hands to ``ctx.decide``
* ``evaluation`` - precision/recall/F1 of ours and nomenklatura's logic-v2 on labelled pairs
* ``catalogue``  - seed lists, memoranda and points table
"""
