"""The built-in English and Spanish cue phrases of the objection classifier.

Phrases are matched case- and accent-insensitively on whole words; ``#`` stands for a
number ("in # days" matches "in 30 days"). A class named in ``[objections.classes]``
replaces its built-in list; the other classes keep theirs.

- **price**: a real price objection. The buyer does the maths: asks about ROI or
  payback, wants a detailed comparison with a named competitor, names a concrete
  decision date.
- **trust**: "too expensive" as a polite no. The contact avoids talking about results,
  names no specific alternative, postpones without a date.
- **authority**: the money is someone else's to spend (with BANT's authority letter
  missing, see :mod:`crmbridge.scoring.objections`).
"""

from __future__ import annotations

PRICE: tuple[str, ...] = (
    # ROI and payback
    "roi",
    "return on investment",
    "payback",
    "pays for itself",
    "business case",
    "cost per",
    "total cost of ownership",
    "tco",
    "retorno de la inversion",
    "retorno de inversion",
    "amortizar",
    "se amortiza",
    "amortizacion",
    "caso de negocio",
    "coste por",
    "costo por",
    # detailed comparisons with a competitor
    "compared to",
    "comparison with",
    "side by side comparison",
    "feature comparison",
    "cheaper than",
    "their quote",
    "competitor's quote",
    "comparativa",
    "comparacion con",
    "comparado con",
    "mas barato que",
    "la oferta de",
    # a concrete decision date
    "in # days",
    "within # days",
    "in # weeks",
    "within # weeks",
    "decide by",
    "decision by",
    "by the end of the month",
    "end of the quarter",
    "en # dias",
    "en # semanas",
    "antes de # dias",
    "decidimos el",
    "decidimos en",
    "a final de mes",
    "antes de fin de mes",
    "final de trimestre",
)

TRUST: tuple[str, ...] = (
    # avoids talking about results
    "avoids talking about results",
    "avoided talking about results",
    "didn't want to discuss results",
    "won't share results",
    "not convinced",
    "not sure it works",
    "don't see the value",
    "evita hablar de resultados",
    "no quiere hablar de resultados",
    "no quiso hablar de resultados",
    "no me convence",
    "no lo veo claro",
    "no veo el valor",
    # vague alternatives
    "other options",
    "other providers",
    "looking at alternatives",
    "other solutions",
    "otras opciones",
    "otros proveedores",
    "otras alternativas",
    "otras soluciones",
    # postpones indefinitely
    "maybe later",
    "some other time",
    "not right now",
    "we'll see",
    "get back to you",
    "circle back",
    "someday",
    "postpones",
    "postponed",
    "mas adelante",
    "ya veremos",
    "ahora no",
    "no es el momento",
    "en otro momento",
    "ya te diremos",
    "ya os diremos",
    "pospone",
    "aplaza",
    # the bare complaint, with nothing behind it
    "too expensive",
    "demasiado caro",
    "muy caro",
)

AUTHORITY: tuple[str, ...] = (
    "check with my boss",
    "ask my boss",
    "talk to my manager",
    "my manager decides",
    "not my decision",
    "not up to me",
    "needs approval",
    "need approval",
    "sign off",
    "the board",
    "procurement",
    "purchasing department",
    "decision maker",
    "run it by",
    "consultarlo con mi jefe",
    "consultar con mi jefe",
    "consultarlo con mi jefa",
    "consultarlo con mi director",
    "consultarlo con mi directora",
    "hablarlo con mi jefe",
    "mi jefe",
    "mi jefa",
    "no depende de mi",
    "no es decision mia",
    "no decido yo",
    "necesita aprobacion",
    "que lo apruebe",
    "departamento de compras",
    "comite de direccion",
    "gerencia",
)

#: Built-in cues by class, in the classifier's tie-break order.
BUILT_IN: dict[str, tuple[str, ...]] = {
    "price": PRICE,
    "trust": TRUST,
    "authority": AUTHORITY,
}
