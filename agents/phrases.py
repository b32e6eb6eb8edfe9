"""The offline minds' fixed phrases in the languages we ship besides English.

English lives next to the code that uses it (agents/offline.py, agents/routine.py); this
module holds the other languages, key by key. A key missing here falls back to English, so
a new English template works in every world at once and gets translated when someone can.
Pure: no Django, no I/O.
"""

from __future__ import annotations

SPANISH: dict = {
    "greetings": {
        "morning": ["¡Buenos días, {other}!", "Buenos días, {other}. ¿Has dormido bien?"],
        "afternoon": ["¡Buenas tardes, {other}!", "Hola, {other}, qué buena tarde hace, ¿verdad?"],
        "evening": ["Buenas tardes, {other}.", "¡Hola, {other}! ¿Un día largo?"],
        "night": ["¿Todavía despierto, {other}?", "Ah, hola, {other}, ¡qué tarde es!"],
    },
    "news_lines": [
        "¿Te has enterado? {news}.",
        "Una novedad: {news}.",
        "Ah, y {news_low}.",
        "Por cierto, {news_low}.",
    ],
    "told_me": "{subject} me contó que {fact}",
    "told_me_about": "{teller} me contó que {fact}",
    "thinking": "He estado pensando: {text}",
    "chat_news": "De mi charla con {others}: {text}",
    "and": " y ",
    "dont_know": [
        "No sabría decirte, {other}; eso es nuevo para mí.",
        "Ni idea, me temo.",
        "Mmm, no lo sé. ¿Has preguntado en la plaza?",
    ],
    "from_memory": ["Eso me recuerda algo: {memory}", "Si no recuerdo mal, {memory_low}"],
    "ack_fact": [
        "¿Así que {second}? {reaction}",
        "Vaya, {second}. {reaction}",
        "{reaction} Quién lo diría: {second}.",
    ],
    "ack_news": [
        "¿De verdad? No tenía ni idea.",
        "¡Quién lo diría! Bien por {subject}.",
        "¿Ah, sí? Le preguntaré a {subject}.",
    ],
    "tag_answers": [
        "No me quejo, gracias.",
        "Bien, {other}, con mucho que hacer.",
        "Tranquilo por ahora, y así me gusta.",
    ],
    "reactions": [
        "Me encantaría saber más, {other}.",
        "¿Y cómo empezó eso?",
        "Me lo apunto, {other}.",
        "No mucha gente de aquí puede decir eso.",
        "Ya me contarás qué tal.",
    ],
    "recall_me": [
        "Claro, {other}: {facts}, me dijiste.",
        "Sí, {other}. Me contaste que {facts}.",
        "¿Cómo olvidarlo? {facts_cap}, me dijiste.",
    ],
    "recall_nothing": [
        "Aún no me has contado mucho de ti, {other}. ¿A qué te dedicas?",
        "Todavía poco, {other}. ¿Me cuentas algo de ti?",
    ],
    "self_now": [
        "Ahora mismo ando con esto: {activity}, aquí en {place}.",
        "Pues {activity}, como casi cada {daypart}.",
        "Nada especial: {activity}. Es la hora.",
    ],
    "next_up": [
        "A las {hour}:00 me toca {next}.",
        "Luego, hacia las {hour}:00: {next}.",
        "Y a las {hour}:00, {next}.",
    ],
    "meet": [
        "Deberías conocer a {name1}: {why1}. Y a {name2}: {why2}.",
        "Yo empezaría por {name1}: {why1}. También {name2}: {why2}.",
    ],
    "meet_one": ["Ve a ver a {name1}: {why1}.", "Deberías conocer a {name1}: {why1}."],
    "meet_none": ["Yo tampoco conozco a tanta gente, {other}. Prueba en la plaza a mediodía."],
    "nice_to_meet": [
        "Un placer, {other}. Soy {me}; ahora mismo: {activity}.",
        "¡Te doy la bienvenida, {other}! Soy {me}, y ando con esto: {activity}.",
    ],
    "who_i_am": [
        "Pues soy {me}; ahora mismo: {activity}.",
        "¿Yo? Soy {me}, de aquí de toda la vida.",
    ],
    "small_talk_own": [
        "Es {daypart} del día {day} y se está bien en {place}.",
        "He pasado casi toda la {daypart} así: {activity}.",
        "¿Qué te trae por {place}, {other}?",
        "Ya es el día {day}; ¡cómo pasa el tiempo!",
        "Dicen que soy {trait}, y será verdad.",
    ],
    # What the working day holds is left to "¿A qué te dedicas?": the two do not repeat.
    "introduction_routine": [
        "Soy {name} y vivo aquí, en Hearthvale.",
        "Me llamo {name}; si me buscas, prueba {work_place}.",
    ],
    "occupation_routine": [
        "Casi todos los días me encontrarás {work_place}: {work_activity}.",
        "Paso los días {work_place}; mi trabajo: {work_activity}.",
    ],
    "who_is": ["¿{asked}? {about}.", "Ah, {asked}. {about}.", "{asked}, sí: {about_low}."],
    "who_is_nothing": [
        "¿{asked}? No puedo decir que le conozca bien todavía.",
        "Me suena el nombre de {asked}, pero apenas hemos hablado.",
    ],
    "told_by": ["{told}.", "A ver... {told}.", "{told}, si no recuerdo mal."],
    "told_by_nothing": [
        "{asked} no me ha contado nada que recuerde, me temo.",
        "Nada que se me quedara; creo que {asked} y yo apenas hemos hablado.",
    ],
    "at_hour": [
        "{When_word} a las {at}:00 estaré {at_place}: {at_activity}.",
        "¿{When_word} a las {at}:00? Lo de siempre, {at_place}: {at_activity}.",
        "Hacia las {at}:00 de {when_word} suelo estar {at_place} ({at_activity}).",
    ],
    "tomorrow": "mañana",
    "today": "hoy",
    "at_home": "en casa",
    "at_place": "en {place}",
    "spend_time": [
        "{companion}, creo: {companion_why}.",
        "Elegiría a {companion}: {companion_why}.",
        "Seguramente {companion}. {companion_why_cap}.",
    ],
    "usually_at": "{name} suele estar en {place}; casi todo el pueblo le conoce",
    "want_more": "me contó que {fact}, y me gustaría saber más",
    "breakfast": "desayuno",
    "react_fire": [
        "¿El {thing}? Lo apartaría del fuego enseguida, abriría la ventana para que salga el "
        "humo y empezaría otra vez. {flourish}",
        "Quitaría la sartén del fuego al momento, abriría la ventana y me reiría un poco. "
        "{flourish}",
        "¡Fuera del fogón! Rascaría lo quemado del {thing} y lo intentaría de nuevo. {flourish}",
    ],
    "react_other": [
        "Lo dejaría todo y me ocuparía enseguida; luego pediría ayuda a alguien en {place}.",
        "Primero, calma; luego lo arreglaría y se lo contaría a alguien del pueblo.",
    ],
    "flourishes": [
        "No sería la primera vez.",
        "Y luego, vuelta al trabajo.",
        "Nadie tiene por qué enterarse.",
    ],
    "seen_at": "suelo verle en {place}",
    "we_talked": "hemos hablado hace poco",
    "neighbour": "buena gente del pueblo",
    "seen_around": "suelo verle por el pueblo",
    "routine_small_talk": [
        "Ando a lo mío ({activity}). ¿Y tú?",
        "Qué bien se está en {place} esta {daypart}.",
        "¿Has oído alguna novedad por el pueblo, {other}?",
        "Ya son las {time}; ¡cómo pasa el día!",
        "Quizá me pase por la plaza más tarde.",
        "Qué bien suena, {other}. Cuéntame más otro día.",
    ],
    "farewells": [
        "Tengo que irme ya. ¡Nos vemos, {other}!",
        "Me ha gustado charlar, {other}. ¡Cuídate!",
    ],
    "take_care": "¡Cuídate, {other}!",
    "farewell_openings": ("Tengo que irme", "Me ha gustado charlar", "adiós", "nos vemos"),
    "dayparts": {"morning": "mañana", "afternoon": "tarde", "evening": "tarde", "night": "noche"},
    "out_and_about": "de paseo",
    "friend": "amigo",
    "town": "el pueblo",
    "someone": "alguien",
    "talked_with": "Hablé con {others} ({when}).",
    "heard": "{name} dijo: “{text}”",
    "i_said": "Yo dije: “{text}”",
    "when": "día {day}, {hour:02d}:{minute:02d}",
    "interview_nothing": "Soy {name}. No recuerdo nada de eso.",
    "interview": "Soy {name}. Esto es lo que recuerdo: {lines}",
    "on_my_mind": "Últimamente pienso mucho en {name} ({n} recuerdos).",
    "meeting": "quedar con {who} en {place}",
    "plan": "Mi plan para el día {day}: {slots}",
    "saw": "Vi a {who} en {place}.",
    "saw_talking": "Vi a {who} hablando con alguien en {place}.",
    "visitor": "{name} (de visita)",
    "heading": "de camino a {place} ({activity})",
    "pottering": "entretenerse en casa",
    "passing_time": "pasar el rato",
    "places": {
        "park": "el parque",
        "school": "la escuela",
        "library": "la biblioteca",
        "town_hall": "el ayuntamiento",
        "workshop": "el taller",
        "cafe": "el café",
        "shop": "la tienda",
        "plaza": "la plaza",
        "town": "el pueblo",
    },
    "home": "casa de {name}",
}

CATALOGS: dict[str, dict] = {"es": SPANISH}


def pick(language: str | None, key: str, english):
    """The phrase `key` in `language`, or `english` when that language has none."""
    return CATALOGS.get((language or "en").split("-")[0], {}).get(key, english)


def place(area: str | None, language: str | None) -> str:
    """An area id as words: `town_hall` → "town hall" (English, used after "the"), or with
    its article in Spanish ("el ayuntamiento", "casa de Ada")."""
    area = area or "town"
    words = area.replace("_", " ")
    places = pick(language, "places", None)
    if places is None:
        return words
    if area in places:
        return places[area]
    if area.startswith("home_"):
        return pick(language, "home", "{name}'s home").format(name=area[5:].capitalize())
    return words


def farewell_openings() -> tuple[str, ...]:
    """Every shipped language's goodbyes (a resident may hear one in any language)."""
    out: list[str] = []
    for catalog in CATALOGS.values():
        out.extend(catalog.get("farewell_openings", ()))
    return tuple(out)
