"""Reliability fuzz suite: absurd input must never crash, hang or lose what is good.

Four generators (hypothesis) feed crmbridge's edges with valid input mixed with the
absurd — 400- and 5,000-digit integers, ``1e999``, ``NaN``, ``Infinity``, ``-0.0``,
numbers padded with a megabyte of spaces, ``"1"`` + 60,000 spaces + ``"1x"``, NUL
characters, lone surrogates, RTL, emoji and combining marks, deep nesting, very long
keys, wrong types for every field, far-past and far-future dates, duplicate ids:

- ``test_events_http``: events POSTed to a running daemon's ``/v1/events`` (real HTTP,
  a ``crmbridge run`` subprocess against the local HubSpot sandbox);
- ``test_events_ingest``: the same kind of events in JSON-lines files through
  ``crmbridge ingest`` into SQLite and PostgreSQL, then ``run --once`` scores every
  contact;
- ``test_crm_properties``: property values put into the sandbox's contacts, then
  synced and scored by the daemon's pipeline (``run --once``'s cycle) into SQLite and
  PostgreSQL;
- ``test_configs``: generated ``crmbridge.toml`` files (and ``CRMBRIDGE__*``
  overrides) through ``parse_config``, and a sample through ``crmbridge run --once``.

What must hold: no traceback in any output or log, no cycle that does not finish
(bounded by a watchdog, not by a speed assertion), every rejected input named with a
reason (line number + reason, or a path-labelled config problem), every accepted event
stored and every contact scored; out-of-range numbers are kept as text and named in
the lead's notes.

By default the suite is short (a few hundred inputs of each kind, within the normal
``python -m pytest``). ``--long`` runs the full sizes — 10,000 events through each
intake, 10,000 property values, 1,000 configs and 20 ``run --once`` subprocesses — and
writes the counts to ``benchmarks/results/reliability.json``::

    .venv/bin/python -m pytest tests/integration/reliability --long
"""
