"""Windows-1252 or Windows-1250, decided by the alphabets of the languages each is written in.

Most bytes past ASCII that are letters in Windows-1250 (Central European) are letters in Windows-1252 too, so a
Czech or Hungarian file reads as plausible Western words: `Karlův most` as `Karlùv most`, `Hősök tere` as `Hõsök
tere`. The words whose two readings differ are the only evidence. A reading of a word fits a family when one of its
languages writes every letter past ASCII of it, a letter used only at a word's end (Italian's `più`, French's `où`)
stands there, one never at a word's start (Czech's `ů`, Polish's `ą`) does not, and a language of a short native
alphabet (Scottish Gaelic) has its other letters too. The family whose readings fit more of those words wins; as
many: unsure, and Windows-1252 is assumed (as glr read such files before) with the other reading said. Mac Roman and
Mac Central European (Excel for Mac's two) are told apart the same way. `word_like` adds where typography and case
stand, which tells Mac Roman from Windows-1252: Mac's `León`, `Peñíscola` are 1252's `Le—n`, `Pe–’scola`.
"""

from __future__ import annotations

import re

_VOWELS = set("aeiouyáàâäãåæéèêëíìîïóòôöõøœúùûüůýěąęőűă")
_CONSONANTS = "bcdfghjklmnpqrstvwxzčďňřťšžłńśźżćđľĺŕşţßçñðþ"
_END = " "  # what follows a word's last letter, and precedes its first


def _language(letters: str, *, only_last: str = "", ascii_letters: str | None = None, before: dict | None = None,
              after: dict | None = None, not_among_consonants: str = "", not_among_vowels: str = "") -> dict:
    """One language's rule: its letters past ASCII (lower case), those only at a word's end, its ASCII letters when
    they are few, what may follow (`before`) or precede (`after`) a letter (`_END` for the word's end or start),
    and the letters never between two consonants, or two vowels."""
    return {"letters": letters, "only_last": only_last, "ascii_letters": ascii_letters, "before": before or {},
            "after": after or {}, "not_among_consonants": not_among_consonants, "not_among_vowels": not_among_vowels}


_NOT_VOWEL = _CONSONANTS + _END
# Western grave vowels end a word (Italian `più`, French `où`) or a syllable before a consonant (`Genève`, Catalan
# `Sòller`): none is followed by a vowel. Portuguese `õ` is only in `-ões`/`-õe`; Polish writes `si`, `ni` before a
# vowel, so `ś`, `ń` never are; Czech's `ě` follows only b d f m n p t v, and its `č ř ň ď ť` stand beside a vowel
# (Danish `København` read as Windows-1250 is `Křbenhavn`); Slovak's syllabic `ŕ ĺ` stand between consonants; a
# diaeresis `ï` follows a vowel (`naïf`, `België`). Finnish and Estonian write `š ž` in loanwords only, after a vowel
# or in `tš`, `dž` (`Tšehhi`, `Kašmiir`, `garaaž`): never after another consonant, as Mac Roman's `ö` read as
# Windows-1252 puts it (`Gšteborg`, `Malmš`). A cedilla `ç` stands before `a o u` (`ça`, `Coração`), in Catalan at
# a word's end too (`feliç`): never before a consonant (`çvila`, Mac Roman's `Ávila`).
_LOANED = dict.fromkeys("šž", "aeiouyäöõü" + "tdšž" + _END)
_WESTERN = {
    "fr": _language("àâæçéèêëîïôœùûüÿ", only_last="ù", before={"à": _NOT_VOWEL, "è": _NOT_VOWEL, "œ": "uie", "ç": "aouâà"},
                    after={"ï": "aeiouy"}),
    "it": _language("àèéìíîòóùúªº", only_last="àèìòù"), "es": _language("áéíñóúüªº"),
    "pt": _language("áâãàçéêíóôõúüªº", before={"ã": "oes" + _END, "õ": "e", "à": _NOT_VOWEL,
                                                          "ç": "aouãõáóúâô"}),
    "ca": _language("àçèéíïòóúü", before={"à": _NOT_VOWEL, "è": _NOT_VOWEL, "ò": _NOT_VOWEL, "ç": "aou" + _END},
                    after={"ï": "aeiou"}),
    "de": _language("äöüß", after={"ß": "aeiouäöü"}),
    "nl": _language("áéíóúàèëïöüê", before={"è": _NOT_VOWEL}, after={"ï": "aeiou"}),
    "da": _language("æøåéü"), "sv": _language("åäöéü"), "fi": _language("äöåšž", after=_LOANED),
    "is": _language("áðéíóúýþæö", after={"ð": "aeiouyáéíóúýæö" + _CONSONANTS}),  # never a word's first
    "et": _language("äöõüšž", ascii_letters="abdefghijklmnoprstuvz", after=_LOANED), "ga": _language("áéíóú"),
    "gd": _language("àèìòù", ascii_letters="abcdefghilmnoprstu", not_among_vowels="àèìòù"),
    "cy": _language("âêîôûäëïöüáéíóú", ascii_letters="abcdefghijlmnoprstuwy", after={"ï": "aeiouwy"}),
    "af": _language("êëïôûéèáó", before={"è": _NOT_VOWEL}, after={"ï": "aeiou"}), "lb": _language("äëéè", before={"è": _NOT_VOWEL}),
}
_CENTRAL = {
    "cs": _language("áčďéěíňóřšťúůýž", after={"ě": "bdfmnptv", "ů": _CONSONANTS}, not_among_consonants="čďňřť"),
    "sk": _language("áäčďéíĺľňóôŕšťúýž", after={"ĺ": _CONSONANTS, "ŕ": _CONSONANTS},
                    before={"ĺ": _CONSONANTS, "ŕ": _CONSONANTS}, not_among_consonants="čďňť"),
    "pl": _language("ąćęłńóśźż", after={"ą": _CONSONANTS, "ę": _CONSONANTS, "ń": "aeiouyóąę"},
                    before={c: _NOT_VOWEL for c in "ćńśź"}),
    "hu": _language("áéíóöőúüű", before={"ő": _NOT_VOWEL + "iu", "ű": _NOT_VOWEL + "iu"}),  # `Gödöllői`
    "hr": _language("čćđšž", not_among_consonants="čć", before={"đ": "aeiou"}), "ro": _language("ăâîşţ", before={"ă": _NOT_VOWEL + "iu"}),
    "de": _language("äöüß", after={"ß": "aeiouäöü"}), "sq": _language("çë"),
}
# The Mac code pages of the same regions (Excel for Mac's "CSV (Macintosh)") write the same languages.
FAMILIES = {"cp1252": _WESTERN, "cp1250": _CENTRAL, "mac_roman": _WESTERN, "mac_latin2": _CENTRAL}
_LETTERS = re.compile(r"[^\W\d_]+")
# Typography between two letters (`Le—n`, `Pe–’scola`: Mac Roman's `León`, `Peñíscola` read as Windows-1252, whose
# `—`, `–`, `’` are its `ó`, `ñ`, `í`), and a dash, an ellipsis or a euro sign before a small letter (`…land`: `Öland`).
_MARKS_BETWEEN = re.compile(r"(?<=[^\W\d_])[\u2018-\u201e\u2013\u2014\u2026\u20ac\u00ab\u00bb]+(?=[^\W\d_])")
_MARK_BEFORE_LETTER = re.compile(r"[\u2013\u2014\u2026\u20ac](?=[^\W\d_])")


def fits(text: str, code_page: str) -> bool:
    """Whether every word of `text` (a word as `code_page` reads it) is written as a language of that code page
    writes its words (see the module's docstring)."""
    return all(any(_written_as(part, **rule) for rule in FAMILIES[code_page].values())
               for part in _LETTERS.findall(text.lower()) if not part.isascii())


def word_like(text: str, code_page: str) -> bool:
    """Whether `text` (a word as `code_page` reads it) `fits` that code page's languages, and its typography and
    case stand where words have them: between two letters only an apostrophe (`l’Arc`, `don’t`) or a dash before a
    capital (`Paris–Roubaix`), no small letter past ASCII before a capital (`LíArc`: `L’Arc` read as Mac Roman)."""
    for mark in _MARKS_BETWEEN.finditer(text):
        if mark.group() != "\u2019" and not (mark.group() in ("\u2013", "\u2014") and text[mark.end()].isupper()):
            return False
    if any(text[mark.end()].islower() for mark in _MARK_BEFORE_LETTER.finditer(text)):
        return False
    if any(a.islower() and not a.isascii() and b.isupper() for a, b in zip(text, text[1:])):
        return False
    return fits(text, code_page)


def _written_as(part: str, letters: str, only_last: str, ascii_letters: str | None, before: dict, after: dict,
                not_among_consonants: str, not_among_vowels: str) -> bool:
    """Whether the lower-case word `part` keeps to one language's alphabet and its letters' places."""
    if any(c not in letters for c in part if not c.isascii()):
        return False
    if ascii_letters is not None and any(c not in ascii_letters for c in part if c.isascii()):
        return False
    for previous, c, following in zip(_END + part, part, part[1:] + _END):
        if c in only_last and following != _END:
            return False
        if (c in before and following not in before[c]) or (c in after and previous not in after[c]):
            return False
        if c in not_among_consonants and previous in _CONSONANTS and following in _CONSONANTS:
            return False
        if c in not_among_vowels and previous in _VOWELS and following in _VOWELS:
            return False
    return True


def western_or_central(words: set[bytes], west: str = "cp1252", central: str = "cp1250") -> tuple[str, bytes | None]:
    """(`west` or `central`, None) for the words (bytes, both readings plausible) whose readings differ, by which
    family fits more of them; (`west`, a word to show) when as many fit either: unsure, the Western one assumed.
    Windows-1252 and 1250 by default; Mac Roman and Mac Central European too."""
    differ = sorted(w for w in words if w.decode(west, "replace") != w.decode(central, "replace"))
    if not differ:
        return west, None
    western = sum(word_like(w.decode(west), west) for w in differ)
    central_fits = sum(word_like(w.decode(central), central) for w in differ)
    if western != central_fits:
        return (west if western > central_fits else central), None
    return west, max(differ, key=len)
