"""What the scripted tutor says around a scenario's own lines, per target language.

A scenario supplies the role-play (opening, step lines, hints, model answers); these are the
teacher's connecting words: praise, a correction's lead-in, "repeat after me", moving on.
Languages without a table fall back to English.
"""

from __future__ import annotations

from tutor_cli.datatypes import datatype


@datatype
class Phrases:
    praise: tuple[str, ...]
    not_quite: str  # an explicit correction (immediate style)
    almost: str  # a gentle one
    try_again: str  # no correction, just another go (end_of_session style)
    repeat_after_me: str  # followed by the model answer
    move_on: str  # after the model answer, whatever the learner said
    did_not_catch: str  # a spoken turn the engine could not transcribe
    one_way: str  # followed by the model answer, after an unchecked spoken turn
    quiz_result: str  # takes {score}
    quiz_well: str  # after a quiz mostly right
    quiz_review: str  # after a quiz mostly wrong
    quiz_skipped: str  # after a quiz the learner skipped
    quiz_done: str  # after a quiz whose result the tutor cannot read
    farewell: str
    lesson_over: str


PHRASES: dict[str, Phrases] = {
    "es": Phrases(
        praise=("¡Muy bien!", "¡Perfecto!", "¡Excelente!", "¡Eso es!"),
        not_quite="No exactamente.",
        almost="Casi.",
        try_again="A ver, otra vez.",
        repeat_after_me="Repita conmigo:",
        move_on="Bueno, sigamos.",
        did_not_catch="Le escuché.",
        one_way="Se puede decir así:",
        quiz_result="Resultado del quiz: {score}.",
        quiz_well="¡Buen trabajo!",
        quiz_review="Vale la pena repasar el vocabulario de la lección.",
        quiz_skipped="Dejamos el quiz para otra vez.",
        quiz_done="Gracias por hacer el quiz. ¡Buen trabajo!",
        farewell="¡Muchas gracias por la clase! ¡Hasta pronto!",
        lesson_over="La lección ya terminó. ¡Hasta pronto!",
    ),
    "fr": Phrases(
        praise=("Très bien !", "Parfait !", "Excellent !", "C'est ça !"),
        not_quite="Pas tout à fait.",
        almost="Presque.",
        try_again="Encore une fois ?",
        repeat_after_me="Répétez après moi :",
        move_on="Bon, continuons.",
        did_not_catch="Je vous ai entendu.",
        one_way="On peut dire :",
        quiz_result="Résultat du quiz : {score}.",
        quiz_well="Bon travail !",
        quiz_review="Ça vaut la peine de revoir le vocabulaire de la leçon.",
        quiz_skipped="On garde le quiz pour une autre fois.",
        quiz_done="Merci d'avoir fait le quiz. Bon travail !",
        farewell="Merci beaucoup pour cette leçon ! À bientôt !",
        lesson_over="La leçon est terminée. À bientôt !",
    ),
    "de": Phrases(
        praise=("Sehr gut!", "Perfekt!", "Ausgezeichnet!", "Genau!"),
        not_quite="Nicht ganz.",
        almost="Fast.",
        try_again="Noch einmal, bitte.",
        repeat_after_me="Sprechen Sie mir nach:",
        move_on="Gut, machen wir weiter.",
        did_not_catch="Ich habe Sie gehört.",
        one_way="Man kann sagen:",
        quiz_result="Ergebnis des Quiz: {score}.",
        quiz_well="Gute Arbeit!",
        quiz_review="Es lohnt sich, den Wortschatz der Lektion zu wiederholen.",
        quiz_skipped="Das Quiz machen wir ein andermal.",
        quiz_done="Danke, dass Sie das Quiz gemacht haben. Gute Arbeit!",
        farewell="Vielen Dank für die Stunde! Bis bald!",
        lesson_over="Die Lektion ist zu Ende. Bis bald!",
    ),
    "it": Phrases(
        praise=("Molto bene!", "Perfetto!", "Ottimo!", "Esatto!"),
        not_quite="Non proprio.",
        almost="Quasi.",
        try_again="Ancora una volta.",
        repeat_after_me="Ripeta con me:",
        move_on="Bene, andiamo avanti.",
        did_not_catch="L'ho sentita.",
        one_way="Si può dire così:",
        quiz_result="Risultato del quiz: {score}.",
        quiz_well="Bel lavoro!",
        quiz_review="Vale la pena ripassare il lessico della lezione.",
        quiz_skipped="Facciamo il quiz un'altra volta.",
        quiz_done="Grazie per aver fatto il quiz. Bel lavoro!",
        farewell="Grazie mille per la lezione! A presto!",
        lesson_over="La lezione è finita. A presto!",
    ),
    "pt": Phrases(
        praise=("Muito bem!", "Perfeito!", "Excelente!", "Isso mesmo!"),
        not_quite="Não exatamente.",
        almost="Quase.",
        try_again="Mais uma vez.",
        repeat_after_me="Repita comigo:",
        move_on="Bom, vamos continuar.",
        did_not_catch="Eu ouvi você.",
        one_way="Dá para dizer assim:",
        quiz_result="Resultado do quiz: {score}.",
        quiz_well="Bom trabalho!",
        quiz_review="Vale a pena revisar o vocabulário da aula.",
        quiz_skipped="Deixamos o quiz para outra vez.",
        quiz_done="Obrigado por fazer o quiz. Bom trabalho!",
        farewell="Muito obrigado pela aula! Até logo!",
        lesson_over="A aula já terminou. Até logo!",
    ),
    "en": Phrases(
        praise=("Very good!", "Perfect!", "Excellent!", "That's it!"),
        not_quite="Not quite.",
        almost="Almost.",
        try_again="Let's try that again.",
        repeat_after_me="Repeat after me:",
        move_on="All right, let's go on.",
        did_not_catch="I heard you.",
        one_way="One way to say it:",
        quiz_result="Quiz result: {score}.",
        quiz_well="Well done!",
        quiz_review="It's worth going over the lesson's words again.",
        quiz_skipped="We'll leave the quiz for another time.",
        quiz_done="Thank you for doing the quiz. Well done!",
        farewell="Thank you for the lesson! See you soon!",
        lesson_over="The lesson is over. See you soon!",
    ),
}

# Feedback for `grade_lesson` is written in the learner's language.
FEEDBACK = {
    "en": {
        "great": "You met every step of the role-play. Excellent work!",
        "good": "You got through the role-play well; a few steps needed a second try.",
        "practice": "Practise the steps you missed and try the role-play again.",
        "unfinished": "You stopped at step {reached} of {steps}; finish the role-play to "
        "practise all of it.",
        "unchecked": "Some spoken answers could not be checked offline.",
        "next": "Practise this step again: {step} Say it aloud: «{answer}»",
        "finish": "Finish the role-play; the next step was: {step}",
        "again": "Try a scenario one level up, or this one again at a faster speech speed.",
        "in_language": "In {language}, please:",
        "task": "Let's stay with the role-play. {objective}",
    },
    "es": {
        "great": "Cumpliste todos los pasos del juego de roles. ¡Excelente trabajo!",
        "good": "Hiciste bien el juego de roles; algunos pasos necesitaron un segundo intento.",
        "practice": "Practica los pasos que fallaste y repite el juego de roles.",
        "unfinished": "Te detuviste en el paso {reached} de {steps}; termina el juego de roles "
        "para practicarlo entero.",
        "unchecked": "Algunas respuestas habladas no se pudieron comprobar sin conexión.",
        "next": "Practica otra vez este paso: {step} Dilo en voz alta: «{answer}»",
        "finish": "Termina el juego de roles; el siguiente paso era: {step}",
        "again": "Prueba un escenario de un nivel más alto, o repite este con el habla más rápida.",
        "in_language": "En {language}, por favor:",
        "task": "Sigamos con el juego de roles. {objective}",
    },
}


# The lesson's language as the learner's language names it ("In Spanish, please").
LANGUAGE_NAMES = {
    "en": {
        "es": "Spanish",
        "fr": "French",
        "de": "German",
        "it": "Italian",
        "pt": "Portuguese",
        "en": "English",
    },
    "es": {
        "es": "español",
        "fr": "francés",
        "de": "alemán",
        "it": "italiano",
        "pt": "portugués",
        "en": "inglés",
    },
}


def language_name(language: str, learner_language: str) -> str:
    """How the learner's language names the lesson's (its tag when there is no name)."""
    names = LANGUAGE_NAMES.get(learner_language.split("-")[0].lower(), LANGUAGE_NAMES["en"])
    code = language.split("-")[0].lower()
    return names.get(code, code)


def phrases_for(language: str) -> Phrases:
    """The table for a BCP-47 tag's primary language, English where there is none."""
    return PHRASES.get(language.split("-")[0].lower(), PHRASES["en"])


def feedback_for(language: str) -> dict[str, str]:
    return FEEDBACK.get(language.split("-")[0].lower(), FEEDBACK["en"])
