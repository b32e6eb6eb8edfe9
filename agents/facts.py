"""Rule-based fact capture: what a speaker says about themself, turned into third person.

"I keep bees up on the hill" said by Mara becomes a `Fact` that can be written as a memory
("Mara keeps bees up on the hill"), echoed back to her ("you keep bees up on the hill") and
passed on with its source ("Mara told me they keep bees up on the hill"). English and
Spanish, the languages the offline mind ships. Pure: no Django, no I/O, so it is cheap to
test and to run on every line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# -- shared -----------------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\s*[\n¡¿]\s*")
_QUOTES = re.compile(r"[\"“”«»„]")


@dataclass(frozen=True)
class Fact:
    """One thing a person said about themself, in the forms the minds need."""

    subject: str  # the person it is about: "Mara"
    third: str  # "Mara keeps bees up on the hill"
    reported: str  # after "Mara told me": "they keep bees up on the hill"
    second: str  # said back to Mara: "you keep bees up on the hill"
    language: str = "en"


def sentences(text: str) -> list[str]:
    """The text's sentences and clauses, without quotation marks or end punctuation."""
    text = _QUOTES.sub("", text)
    out = []
    for part in _SENTENCE.split(text):
        part = part.strip(" ,.!;:-–—")
        if part:
            out.append(part)
    return out


def _lang(language: str | None) -> str:
    return (language or "en").split("-")[0].lower()


def capture(text: str, speaker: str, language: str | None = None) -> list[Fact]:
    """The facts `speaker` states about themself in `text` (questions hold none)."""
    lang = _lang(language)
    found: list[Fact] = []
    for sentence in sentences(text):
        if sentence.endswith("?") or _is_question(sentence, lang):
            continue
        for clause in _clauses(sentence, lang):
            fact = _spanish(clause, speaker) if lang == "es" else _english(clause, speaker)
            if fact is not None and fact not in found:
                found.append(fact)
    return found


def introduced_name(text: str, language: str | None = None) -> str | None:
    """The name someone gives for themself ("Hi, I'm Mara" → "Mara"), if any."""
    pattern = _ES_NAME if _lang(language) == "es" else _EN_NAME
    match = pattern.search(_QUOTES.sub("", text))
    if not match:
        return None
    name = match.group(1)
    return None if name.lower() in _NOT_NAMES else name


def _is_question(sentence: str, lang: str) -> bool:
    words = _ES_QUESTION if lang == "es" else _EN_QUESTION
    return bool(words.match(sentence))


def _clauses(sentence: str, lang: str) -> list[str]:
    """ "I'm Ana and I'm opening a bakery" → two clauses (a new subject starts one); a
    trailing "you know" or "ya sabes" is talk, not part of the fact."""
    joint = _ES_JOINT if lang == "es" else _EN_JOINT
    sentence = (_ES_TAIL if lang == "es" else _EN_TAIL).sub("", sentence)
    return [c.strip(" ,") for c in joint.split(sentence) if c.strip(" ,")]


_EN_TAIL = re.compile(
    r",\s*(?:you know|you see|I think|I guess|I suppose|I believe|right|actually|though|"
    r"of course|by the way)\s*(?=[.!?]*$)",
    re.I,
)
_ES_TAIL = re.compile(r",\s*(?:¿?sabes\??|ya sabes|creo|la verdad|por cierto)\s*(?=[.!?]*$)", re.I)


# -- English ----------------------------------------------------------------------------------

_EN_NAME = re.compile(
    r"(?:\bI'?m|\bI am|\bmy name is|\bcall me|\bname's)\s+([A-Z][\w'-]{1,30})\b(?!\s+\w+ing\b)"
)
_NOT_NAMES = {"not", "just", "so", "very", "really", "here", "back", "fine", "good", "new"}
_EN_QUESTION = re.compile(
    r"^(?:what|who|whom|where|when|why|how|do|did|does|is|are|can|could|would|will|have|"
    r"has|should)\b",
    re.I,
)
_EN_JOINT = re.compile(r",?\s+(?:and|but|so)\s+(?=(?:I|I'm|I've|I'll|my|My)\b)")
# Openings that are opinions or manners, not facts about the speaker.
_EN_NOT_FACT = re.compile(
    r"^(?:think|guess|mean|wonder|hope|suppose|know|see|agree|bet|believe|said|told|"
    r"was wondering|am fine|am good|am ok|am okay|am well|am sorry|am glad|am happy to|"
    r"am pleased|am not sure|am sure|am afraid|am just|would like to know|want to know|"
    r"do not know|dont know|forgot|remember|must go|have to go|should go|"
    r"will see you|am off|am leaving)\b",
    re.I,
)
_ADVERBS = {
    "just", "also", "really", "still", "usually", "often", "always", "never", "recently",
    "actually", "sometimes", "mostly", "even", "already", "finally", "currently",
}  # fmt: skip
_MODALS = {"can", "could", "will", "would", "should", "must", "might", "may", "shall"}
_IRREGULAR_PAST = {
    "went", "made", "had", "got", "came", "saw", "took", "found", "bought", "built", "grew",
    "wrote", "ran", "began", "became", "left", "lost", "won", "sold", "met", "taught",
    "thought", "brought", "kept", "knew", "gave", "spent", "fell", "drove", "flew", "ate",
}  # fmt: skip
_EN_CONTRACTIONS = (
    (re.compile(r"^I'm\b", re.I), "I am"),
    (re.compile(r"^I've\b", re.I), "I have"),
    (re.compile(r"^I'll\b", re.I), "I will"),
    (re.compile(r"^I'd\b", re.I), "I would"),
)
_SUBJECT_FORMS = {  # verb after "I" → (after a name, after "they", after "you")
    "am": ("is", "are", "are"),
    "was": ("was", "were", "were"),
    "have": ("has", "have", "have"),
    "do": ("does", "do", "do"),
    "don't": ("doesn't", "don't", "don't"),
    "dont": ("doesn't", "don't", "don't"),
    "haven't": ("hasn't", "haven't", "haven't"),
    "wasn't": ("wasn't", "weren't", "weren't"),
    "can't": ("can't", "can't", "can't"),
    "won't": ("won't", "won't", "won't"),
}
# Pronouns in the predicate, seen from the resident who heard it (third) and from the speaker
# being answered (second). "you" in Mara's line is the resident, so it becomes "me".
_THIRD_PRONOUNS = {
    "my": "their", "me": "them", "myself": "themselves", "mine": "theirs",
    "you": "me", "your": "my", "yours": "mine", "yourself": "myself",
}  # fmt: skip
_SECOND_PRONOUNS = {
    "my": "your", "me": "you", "myself": "yourself", "mine": "yours",
    "you": "me", "your": "my", "yours": "mine", "yourself": "myself",
}  # fmt: skip


def third_singular(verb: str) -> str:
    """ "keep" → "keeps", "teach" → "teaches", "carry" → "carries" (regular English verbs)."""
    low = verb.lower()
    if low in _SUBJECT_FORMS:
        return _SUBJECT_FORMS[low][0]
    if low in _MODALS or low.endswith("ed") or low in _IRREGULAR_PAST:
        return verb
    if re.search(r"(?:s|sh|ch|x|z|o)$", low):
        return verb + "es"
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    return verb + "s"


def plain_form(verb: str) -> str:
    """The inverse of `third_singular` for the forms it makes: "keeps" → "keep"."""
    low = verb.lower()
    for plain, (third, they, _you) in _SUBJECT_FORMS.items():
        if low == third and plain not in ("dont",):
            return they
    if low in _MODALS or low.endswith("ed") or low in _IRREGULAR_PAST:
        return verb
    if low.endswith("ies") and len(low) > 4:
        return verb[:-3] + "y"
    if re.search(r"(?:ss|sh|ch|x|zz|o)es$", low):
        return verb[:-2]
    if low.endswith("s") and not low.endswith("ss"):
        return verb[:-1]
    return verb


def _swap(words: list[str], table: dict[str, str]) -> list[str]:
    out = []
    for word in words:
        core = word.strip(",;:")
        swapped = table.get(core.lower())
        out.append(word.replace(core, swapped) if swapped else word)
    return out


def _english(clause: str, speaker: str) -> Fact | None:
    for pattern, full in _EN_CONTRACTIONS:
        clause = pattern.sub(full, clause)
    words = clause.split()
    if len(words) < 3:
        return None
    head = words[0].lower()
    if head == "my" and len(words) >= 3:  # "My sister is getting married"
        rest = words[1:]
        third = f"{speaker}'s " + " ".join(_swap(rest, _THIRD_PRONOUNS))
        reported = "their " + " ".join(_swap(rest, _THIRD_PRONOUNS))
        second = "your " + " ".join(_swap(rest, _SECOND_PRONOUNS))
        return Fact(speaker, third, reported, second, "en")
    if words[0] != "I":
        return None
    rest = words[1:]
    if _EN_NOT_FACT.match(" ".join(rest)):
        return None
    adverbs = []
    while rest and rest[0].lower() in _ADVERBS:
        adverbs.append(rest.pop(0))
    if len(rest) < 2 or not re.fullmatch(r"[A-Za-z'’-]+", rest[0]):
        return None
    verb, tail = rest[0], rest[1:]
    if verb.lower() == "am" and len(tail) == 1 and tail[0][:1].isupper():
        return None  # "I am Mara": a name, not a fact
    forms = _SUBJECT_FORMS.get(verb.lower())
    third_verb = forms[0] if forms else third_singular(verb)
    they_verb = forms[1] if forms else verb
    you_verb = forms[2] if forms else verb
    lead = (" ".join(adverbs) + " ") if adverbs else ""
    third_tail = " ".join(_swap(tail, _THIRD_PRONOUNS))
    second_tail = " ".join(_swap(tail, _SECOND_PRONOUNS))
    return Fact(
        speaker,
        f"{speaker} {lead}{third_verb} {third_tail}",
        f"they {lead}{they_verb} {third_tail}",
        f"you {lead}{you_verb} {second_tail}",
        "en",
    )


# -- Spanish ----------------------------------------------------------------------------------

_ES_NAME = re.compile(r"(?:\bsoy|\bme llamo|\bmi nombre es)\s+([A-ZÁÉÍÓÚÑ][\w'-]{1,30})\b")
_ES_QUESTION = re.compile(
    r"^(?:qué|que|quién|quien|quiénes|a quién|dónde|donde|cuándo|cuando|por qué|cómo|como|"
    r"cuál|te acuerdas|recuerdas|sabes)\b",
    re.I,
)
_ES_JOINT = re.compile(r",?\s+(?:y|pero)\s+(?=(?:yo|soy|estoy|tengo|mi|mis|me)\b)", re.I)
_ES_NOT_FACT = re.compile(
    r"^(?:creo|pienso|supongo|sé|se|no sé|no se|espero|me alegro|estoy bien|encantad[oa]|"
    r"me acuerdo|recuerdo|tengo que irme|me voy|me tengo que ir)\b",
    re.I,
)
# First person → (third person, second person); regular verbs are guessed below.
_ES_VERBS = {
    "soy": ("es", "eres"), "estoy": ("está", "estás"), "tengo": ("tiene", "tienes"),
    "voy": ("va", "vas"), "hago": ("hace", "haces"), "vivo": ("vive", "vives"),
    "escribo": ("escribe", "escribes"), "como": ("come", "comes"), "bebo": ("bebe", "bebes"),
    "leo": ("lee", "lees"), "corro": ("corre", "corres"), "abro": ("abre", "abres"),
    "vendo": ("vende", "vendes"), "aprendo": ("aprende", "aprendes"),
    "construyo": ("construye", "construyes"), "conozco": ("conoce", "conoces"),
    "quiero": ("quiere", "quieres"), "puedo": ("puede", "puedes"), "juego": ("juega", "juegas"),
    "duermo": ("duerme", "duermes"), "salgo": ("sale", "sales"), "vengo": ("viene", "vienes"),
    "sigo": ("sigue", "sigues"), "pido": ("pide", "pides"), "sirvo": ("sirve", "sirves"),
    "crío": ("cría", "crías"), "he": ("ha", "has"), "fui": ("fue", "fuiste"),
    "era": ("era", "eras"), "tenía": ("tenía", "tenías"), "acabo": ("acaba", "acabas"),
    "recibo": ("recibe", "recibes"), "subo": ("sube", "subes"), "decido": ("decide", "decides"),
    "cuezo": ("cuece", "cueces"), "pongo": ("pone", "pones"), "traigo": ("trae", "traes"),
}  # fmt: skip
_ES_THIRD_POSSESSIVES = {"mi": "su", "mis": "sus", "te": "me", "tu": "mi", "tus": "mis"}
_ES_SECOND_POSSESSIVES = {"mi": "tu", "mis": "tus", "te": "me", "tu": "mi", "tus": "mis"}


def _es_verb(word: str) -> tuple[str, str] | None:
    low = word.lower()
    if low in _ES_VERBS:
        return _ES_VERBS[low]
    # Most Spanish verbs end in -ar: "trabajo" → "trabaja" is the best unknown guess.
    if re.fullmatch(r"[a-záéíóúñ]{3,}o", low) and low not in _ES_NOT_VERBS:
        return low[:-1] + "a", low[:-1] + "as"
    return None


_ES_NOT_VERBS = {"pero", "como", "todo", "algo", "poco", "mucho", "nuevo", "solo", "tanto"}


def _spanish(clause: str, speaker: str) -> Fact | None:
    words = clause.split()
    if words and words[0].lower() == "yo":
        words = words[1:]
    if len(words) < 2 or _ES_NOT_FACT.match(" ".join(words)):
        return None
    head = words[0].lower()
    if head in ("mi", "mis") and len(words) >= 3:  # "Mi hermana se casa"
        rest = words[1:]
        third_rest = " ".join(_swap(rest, _ES_THIRD_POSSESSIVES))
        reported = ("su " if head == "mi" else "sus ") + third_rest
        second = ("tu " if head == "mi" else "tus ") + " ".join(_swap(rest, _ES_SECOND_POSSESSIVES))
        return Fact(speaker, f"{speaker} cuenta que {reported}", reported, second, "es")
    reflexive = head == "me"
    if reflexive:
        words = words[1:]
        if not words:
            return None
    if head == "soy" and len(words) == 2 and words[1][:1].isupper():
        return None  # "Soy Mara": a name, not a fact
    forms = _es_verb(words[0])
    if forms is None:
        return None
    third_verb, second_verb = forms
    tail = words[1:]
    if not tail:
        return None
    third_tail = " ".join(_swap(tail, _ES_THIRD_POSSESSIVES))
    second_tail = " ".join(_swap(tail, _ES_SECOND_POSSESSIVES))
    pre3, pre2 = ("se ", "te ") if reflexive else ("", "")
    reported = f"{pre3}{third_verb} {third_tail}"
    return Fact(
        speaker, f"{speaker} {reported}", reported, f"{pre2}{second_verb} {second_tail}", "es"
    )


# -- stored facts -----------------------------------------------------------------------------

_HEARD_FROM = {"en": " (heard from {teller})", "es": " (me lo contó {teller})"}
_HEARD = re.compile(
    r"^(?P<fact>.+?)(?: \((?:heard from (?P<en>[^)]+)|me lo contó (?P<es>[^)]+))\))?\.?$"
)


def memory_text(fact: Fact, teller: str | None = None) -> str:
    """How a fact is kept in the memory stream: third person, with who passed it on."""
    text = fact.third[:1].upper() + fact.third[1:]
    if teller:
        text += _HEARD_FROM.get(fact.language, _HEARD_FROM["en"]).format(teller=teller)
    return text + "."


def from_memory(text: str, subject: str, language: str | None = None) -> tuple[Fact, str | None]:
    """A stored fact back as a `Fact`, and who told it (None: the subject themself)."""
    lang = _lang(language)
    match = _HEARD.match(text.strip())
    third = match.group("fact") if match else text.strip().rstrip(".")
    teller = (match.group("en") or match.group("es")) if match else None
    if third.startswith(f"{subject}'s "):
        rest = third[len(subject) + 3 :]
        return Fact(subject, third, f"their {rest}", f"your {rest}", lang), teller
    pred = third[len(subject) + 1 :] if third.startswith(subject + " ") else third
    if lang == "es":
        reported = pred[len("cuenta que ") :] if pred.startswith("cuenta que ") else pred
        return Fact(subject, third, reported, reported, lang), teller
    words = pred.split()
    lead = []
    while words and words[0].lower() in _ADVERBS:
        lead.append(words.pop(0))
    if words:
        words[0] = plain_form(words[0])
    they = " ".join(["they", *lead, *words])
    you = " ".join(["you", *lead, *words])
    return Fact(subject, third, they, you, lang), teller


# Lines in which a resident passes news on (agents/topics.py writes them): the hearer keeps
# the fact, with who told it, instead of the words.
_TOLD_EN = re.compile(
    r"(?P<source>[A-ZÁÉÍÓÚÑ][\w'-]*(?: [A-Z][\w'-]*)?) told me (?:that )?(?P<rest>[^.!?]+)"
)
_TOLD_ES = re.compile(
    r"(?P<source>[A-ZÁÉÍÓÚÑ][\w'-]*(?: [A-Z][\w'-]*)?) me contó que (?P<rest>[^.!?]+)"
)


def hearsay(text: str, names: list[str], language: str | None = None) -> list[Fact]:
    """Facts a resident passed on in `text` ("Mara told me they keep bees"), as facts about
    their subject, for the hearer to keep."""
    lang = _lang(language)
    pattern = _TOLD_ES if lang == "es" else _TOLD_EN
    out = []
    for match in pattern.finditer(_QUOTES.sub("", text)):
        source, rest = match.group("source"), match.group("rest").strip(" ,")
        subject = next(
            (n for n in sorted(names, key=len, reverse=True) if n and rest.startswith(n + " ")),
            None,
        )
        if subject is not None:  # "Ada told me Mara keeps bees": Mara's fact, second hand
            pred = rest[len(subject) + 1 :]
        elif (lang == "en" and rest.startswith(("they ", "their "))) or lang == "es":
            subject, pred = source, rest
        else:
            continue
        if len(pred.split()) < 2:
            continue
        if lang == "es":
            out.append(Fact(subject, f"{subject} {pred}", pred, pred, "es"))
        elif pred.startswith("their "):
            out.append(Fact(subject, f"{subject}'s {pred[6:]}", pred, f"your {pred[6:]}", "en"))
        elif pred.startswith("they "):
            words = pred.split()[1:]
            lead = []
            while words and words[0].lower() in _ADVERBS:
                lead.append(words.pop(0))
            if not words:
                continue
            verb = words[0]
            forms = {"are": "is", "were": "was", "have": "has", "do": "does", "don't": "doesn't"}
            words[0] = forms.get(verb.lower()) or third_singular(verb)
            third = " ".join([subject, *lead, *words])
            out.append(Fact(subject, third, pred, "you " + pred[5:], "en"))
        else:
            out.append(from_memory(f"{subject} {pred}", subject, "en")[0])
    return out
