"""The form learner text is compared in: lower case, accents dropped, apostrophes plain.

Learners type without accents, with typographic apostrophes, in any case; scenario authors
write `accept` patterns and quiz answers the same way. Both sides are folded with this one
function so "¿Cuánto?" meets `\\bcuanto\\b`, and a typographic apostrophe meets a plain one.
"""

from __future__ import annotations

import unicodedata

# Typographic apostrophes (left and right single quotes) are typed as plain ones.
_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'"})


def fold(text: str) -> str:
    """`text` case-folded, without accents, with plain apostrophes."""
    decomposed = unicodedata.normalize("NFD", text.casefold().translate(_APOSTROPHES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))
