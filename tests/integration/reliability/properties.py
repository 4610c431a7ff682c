"""Generated CRM property values: what a person can type into a HubSpot form or import."""

from __future__ import annotations

from hypothesis import strategies as st

from .absurd import NOT_FINITE_LITERALS, ODD_TEXT, PADDED_MEGABYTE, SPACED_60K

#: Values scoring must call "not a number" in a numeric rule.
NOT_A_NUMBER = (*NOT_FINITE_LITERALS, "n/a", "abc", "12 employees")
#: Free-text properties the example model and the hand-off read.
FREE_TEXT = ("numemployees", "jobtitle", "company", "firstname", "lastname", "crmbridge_need")

_ordinary = st.sampled_from(["600", "20", "1500", "1,000", "CIO", "Director de IT", "Acme"])
_strange = st.sampled_from(
    [
        *ODD_TEXT,
        SPACED_60K,
        "6\x0000",
        "name with a NUL \x00 inside",
        "600" + " " * 10_000,
        "a lone surrogate \ud800 inside",
        "\udfff600",
    ]
)

values: st.SearchStrategy[str] = st.one_of(
    _ordinary,
    _ordinary,
    st.sampled_from(NOT_A_NUMBER),
    _strange,
    st.sampled_from(PADDED_MEGABYTE),
    st.text(max_size=30),
    st.integers().map(str),
    st.floats().map(repr),
)


def contacts(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    """One contact's values for ``names`` (every name gets a value)."""
    return st.fixed_dictionaries(dict.fromkeys(names, values))
