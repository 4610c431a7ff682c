"""The JSON columns' text: the outbox fast path stores exactly what json.dumps would."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, MetaData, Table, insert, select

from crmbridge.store.db import make_engine
from crmbridge.store.jsontext import json_text

_scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@given(st.text())
def test_one_value_dict_is_json_dumps(text: str) -> None:
    assert json_text({"value": text}) == json.dumps({"value": text})


@given(_values)
def test_any_value_is_json_dumps(value: Any) -> None:
    assert json_text(value) == json.dumps(value)


def test_other_one_key_dicts_take_the_general_path() -> None:
    assert json_text({"value": 3}) == '{"value": 3}'
    assert json_text({"other": "x"}) == '{"other": "x"}'
    assert json_text({"value": 'é\n"q"'}) == json.dumps({"value": 'é\n"q"'})


def test_engine_stores_and_reads_back_the_value(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'json.db'}")
    table = Table("t", MetaData(), Column("value", JSON))
    table.create(engine)
    rows = [{"value": {"value": "ñ \u2028 x"}}, {"value": {"value": "1", "more": [1, None]}}]
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
        stored = connection.exec_driver_sql("SELECT value FROM t ORDER BY rowid").scalars().all()
        back = connection.execute(select(table.c.value)).scalars().all()
    assert stored == [json.dumps(row["value"]) for row in rows]
    assert back == [row["value"] for row in rows]
    engine.dispose()
