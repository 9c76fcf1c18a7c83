"""Health domain logic: plain Python, no database, no web framework.

Entry points for the service layer:

* AI doctor (``doctor``): ``initial_complaints()``, ``start_consultation(age, sex, initial_evidence)`` ->
  ``Consultation`` with ``next_question()``, ``answer(code, value)``, ``result()``; ``result_as_dict(result)``.
* Hand-over (``handover``): ``build_summary(result, patient_id, age, sex)``, ``to_fhir_bundle(summary)``.
* Evaluation (``evaluation``): ``evaluate(patients_csv, budget=30)``.
* Village doctor (``village_doctor``): ``support(text, picked, age, sex)``.
* Wearables (``heart_rate_residuals``): ``monitor_for(sensitivity).detect(heart_rate, steps, consented)`` (the
  platform's ``ActivityAdjustedMonitor``); ``wearables``: the alert record, the earlier resting-minute
  ``RestingHeartRateMonitor`` and ``measure_detector`` (injected rises, false alerts per person-day).
* Mutual aid (``mutual_aid``): ``MutualAidPool`` (join, submit_claim, public_notice, object,
  decide_objection, close_notices, settle_period), ``share_per_member``.
* Epidemic (``epidemic``): ``EpidemicTriage`` (next_question, answer, advice), ``ExposureChecker(published).check``.
"""
