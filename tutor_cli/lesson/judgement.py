"""Whether a learner's turn meets a step: the one judgement the offline tutor, `tutor check`
and the tests all use.

A turn meets a step when it is in the lesson's language, matches at least one of the step's
`accept` patterns (if it has any), every `require` pattern, and no `reject` pattern. A pattern
is found in the turn as written or in its folded form (lower case, no accents),
case-insensitively, so authors write patterns without accents and learners may type with or
without them.

A turn in the learner's own language is told apart by its common words: a few short, frequent
words per language, enough to say "In Spanish, please" to "I want to go to the airport".
"""

from __future__ import annotations

import re
from typing import Literal

from tutor_cli.datatypes import datatype
from tutor_cli.lesson.folding import fold
from tutor_cli.lesson.patterns import found
from tutor_cli.lesson.scenario import Scenario, Step

Reason = Literal["met", "empty", "own_language", "no_accept", "missing", "rejected"]

# Frequent words that are not words of the other languages here (so "no", "a", "me" are out,
# and so are English "i", "was", "in", "do", "to" and "he", which German, Italian, Portuguese
# and Spanish answers use).
# Word lists read best as words, hence the splits.
COMMON_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the is are i'm im it's its you your yes please thanks thank my want go how much "  # noqa: SIM905
        "what where from fine hello hi bye good here and of it that this would like can have "
        "don't dont we they she at on".split()
    ),
    "es": frozenset(
        "el la los las que es por favor gracias hola quiero tengo soy estoy muy bien una un "  # noqa: SIM905
        "con para como donde cuanto usted yo mi pero tambien aqui senor buenas buenos".split()
    ),
    "fr": frozenset(
        "le la les est je suis et merci bonjour oui voudrais un une des pour avec vous mon "  # noqa: SIM905
        "ma du au tres bien c'est s'il plait peux peut pas ca j'ai quand aussi moi "
        "d'accord".split()
    ),
    "de": frozenset(
        "der die das ist ich bin und danke bitte ja ein eine mit fur sie mein nicht guten tag "  # noqa: SIM905
        "hallo sehr gut haben sind einen einem einer auch noch nein wie zu von bei aber oder wir "
        "mir ihnen habe kann gern gerne kostet bedeutet heisst".split()
    ),
    "it": frozenset(
        "il lo la gli le sono e grazie buongiorno si vorrei un una per con lei mio molto bene "  # noqa: SIM905
        "ciao della ci che c'e com'e miei anche ho nel nella degli delle piace perche questo "
        "questa".split()
    ),
    "pt": frozenset(
        "o os as que e obrigado obrigada ola sim quero tenho sou estou muito bem uma um com "  # noqa: SIM905
        "para voce meu minha eu nao entao isso tambem ao bom boa tudo".split()
    ),
}


@datatype
class Verdict:
    """How a turn measured up to a step, and the first reason it fell short."""

    met: bool
    reason: Reason
    pattern: str | None = None  # the pattern missing (`missing`) or matched (`rejected`)


def _common(language: str, words: list[str]) -> int:
    table = COMMON_WORDS.get(language.split("-")[0].lower(), frozenset())
    return sum(word in table for word in words)


def in_own_language(scenario: Scenario, text: str) -> bool:
    """Whether `text` is in the learner's own language rather than the lesson's: more of
    its words are common words of the former than of the latter."""
    if scenario.learner_language.split("-")[0] == scenario.language_code:
        return False
    words = re.findall(r"[a-z']+", fold(text))
    own = _common(scenario.learner_language, words)
    return own >= 1 and own > _common(scenario.language, words)


def judge(scenario: Scenario, step: Step, text: str) -> Verdict:
    """Whether `text` meets `step` of `scenario` (see the module's description)."""
    if not text.strip():
        return Verdict(False, "empty")
    if in_own_language(scenario, text):
        return Verdict(False, "own_language")
    for pattern in step.reject:
        if found(pattern, text):
            return Verdict(False, "rejected", pattern)
    if step.accept and not any(found(pattern, text) for pattern in step.accept):
        return Verdict(False, "no_accept")
    for pattern in step.require:
        if not found(pattern, text):
            return Verdict(False, "missing", pattern)
    return Verdict(True, "met")
