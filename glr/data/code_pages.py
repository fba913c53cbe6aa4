"""Which legacy code page a CSV that is not UTF-8 was saved in, decided on the evidence of its words, or None.

Excel's plain "CSV (comma delimited)" saves in the machine's ANSI code page: Windows-1252 on a Western Windows,
Windows-1251 on a Cyrillic one, 1250 in Central Europe, 1253 in Greece; Excel for Mac's "CSV (Macintosh)" saves Mac
Roman, or Mac Central European on a Czech, Polish or Hungarian Mac. Every one of them decodes most bytes, so decoding is no evidence: what the words then look like is. A reading
is plausible when every character past ASCII is a letter or typography, each word is of one script (`Famнlia`, Latin
mixed with Cyrillic, is no word), no word turns from lower to upper case at a letter past ASCII (`CafŽ`, `иТБН`), and
in a Latin reading no word holds three such letters in a row (`Ñîáîð` is Cyrillic read as Latin: Western words have
one or two; an upper-case one only starts a word or stands among capitals: `MŸnchen` is Mac Roman), and a Greek
reading has no final sigma inside a word. Windows-1252 is taken whenever it is plausible (as glr read such files
before), except over a plausible Mac Roman of more words (`glr.data.alphabets.word_like`: `León`, `Göteborgs`, not
`Le—n`, `Gšteborgs`; as many: 1252), and over a plausible Windows-1250 whose words fit the Central European alphabets
better (`Karlův`, not `Karlùv`); as well: Windows-1252, with the doubt said. Else the one other
plausible reading. Cyrillic and Greek both plausible (their letters share the same bytes):
the reading with clearly more vowels (Russian and Greek words are about 40% vowels, either read as the other 17-33%).
Mac Central European counts only when its reading is Central European words that Mac Roman does not read alike, and
beside Mac Roman or Windows-1250 is told from them by the alphabets too (as well: the other one, with the doubt said).
Such a tie is settled by the names of the files beside the CSV when they hold one reading's words (`Hősök tere 1.jpg`).
Any other two, or none: no guess. charset-normalizer was tried and is not used: on
files this short it named French cp1252 text `cp857` and a one-word Cyrillic file `shift_jis_2004`; of 283 one-name
Mac Roman or 1252 files (version 3.5.3) it named none right (`León`: `big5hkscs`), a whole file of Swedish and Spanish
names in Mac Roman `mac_iceland`, one of Western names in 1252 `cp1258`.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from glr.data.alphabets import FAMILIES, fits, western_or_central, word_like

# The code pages tried after Windows-1252, and how a note names each.
NAMES = {"cp1252": "Windows-1252", "cp1250": "Windows-1250 (Central European)", "cp1251": "Windows-1251 (Cyrillic)",
         "cp1253": "Windows-1253 (Greek)", "mac_roman": "Mac Roman (Excel for Mac's \"CSV (Macintosh)\")",
         "mac_latin2": "Mac Central European (Excel for Mac's \"CSV (Macintosh)\" in Central Europe)"}
_SCRIPT = {"cp1251": "CYRILLIC", "cp1253": "GREEK"}  # the others read as Latin
# What Excel writes beside letters in names (curly quotes, dashes, an ellipsis, the euro sign, guillemets, Russian's
# numero sign): no sign of another code page, as a letter is not; any other symbol leaves the file "not UTF-8".
TYPOGRAPHY = set("\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u20ac\u00a0\u00ab\u00bb\u2116")
# Bytes a word is made of: ASCII letters and any byte past ASCII.
_IN_WORD = bytes(1 if b >= 0x80 or 65 <= b <= 90 or 97 <= b <= 122 else 0 for b in range(256))
_LETTERS = re.compile(r"[^\W\d_]+")
_VOWELS = {"cp1251": set("аеёиоуыэюяіїєўАЕЁИОУЫЭЮЯІЇЄЎ"), "cp1253": set("αεηιουωάέήίόύώϊϋΐΰΑΕΗΙΟΥΩΆΈΉΊΌΎΏ")}


def legacy_code_page(data: bytes) -> str | None:
    """The code page (`cp1252`, `cp1251`, ...) that text `data`, which is not UTF-8, was saved in, when its words
    show one; None when they show none or more than one (see the module's docstring)."""
    return legacy_reading(data)[0]


def legacy_reading(data: bytes, folder: Path | None = None) -> tuple[str | None, str | None]:
    """(`legacy_code_page(data)`, None), or (`cp1252`, the doubt in words) when its words fit Windows-1250 as well
    (Mac Roman, when they fit 1250 or Mac Central European as well):
    `its words may be Windows-1250 (Central European) text ('Hõsök' would be 'Hősök')`. Such a tie is settled by the
    names of the files under `folder` (the CSV's own, whose photos its ids name) when they hold one reading's words."""
    words = _words(data)
    if not words:
        return None, None
    plausible = _readings(words)
    if "cp1252" in plausible and "mac_roman" in plausible and _mac_over_windows(words):
        plausible.remove("cp1252")
        if set(plausible) <= set(FAMILIES):  # the Central European two read as plausible too: told by their words
            return _mac_roman_or_central(words, [cp for cp in ("cp1250", "mac_latin2") if cp in plausible], folder)
    if plausible[:1] == ["cp1252"] and "cp1250" in plausible:
        return _west_or_central(words, "cp1252", "cp1250", folder)
    if "mac_latin2" in plausible and len(plausible) > 1:  # beside Mac Roman or Windows-1250
        if any(cp not in FAMILIES for cp in plausible):
            return None, None
        # The one whose words its languages write; two alike: the first (Windows, Western), with the doubt said.
        fitting = [cp for cp in plausible if all(fits(w.decode(cp), cp) for w in words)]
        if fitting in (["mac_roman", "mac_latin2"], ["cp1250", "mac_latin2"]):
            return _west_or_central(words, *fitting, folder)
        return (fitting[0] if len(fitting) == 1 else None), None
    return _one_of(words, plausible), None


def _mac_over_windows(words: set[bytes]) -> bool:
    """Whether more of `words` read as words (`glr.data.alphabets.word_like`) in Mac Roman than in Windows-1252:
    `León`, `Göteborg`, `Peñíscola` saved by Excel for Mac are `Le—n`, `Gšteborg`, `Pe–’scola` in 1252, plausible
    but no words. As many (`Río` or `R’o`, an elision?): Windows-1252, as glr read such files before."""
    return (sum(word_like(w.decode("mac_roman"), "mac_roman") for w in words)
            > sum(word_like(w.decode("cp1252"), "cp1252") for w in words))


def _mac_roman_or_central(words: set[bytes], rivals: list[str], folder: Path | None) -> tuple[str, str | None]:
    """Mac Roman, once its words beat Windows-1252's, or the first of `rivals` (Windows-1250, Mac Central European,
    plausible as well) whose words fit its languages better (`glr.data.alphabets.western_or_central`): 1250 shares
    1252's dashes and `š`, so `Le—n` and `Gšteborg` are no better words there. As likely: Mac Roman, the doubt said."""
    doubt = None
    for rival in rivals:
        codec, said = _west_or_central(words, "mac_roman", rival, folder)
        if codec != "mac_roman":
            return codec, said
        doubt = doubt or said
    return "mac_roman", doubt


def _west_or_central(words: set[bytes], west: str, central: str, folder: Path | None) -> tuple[str, str | None]:
    """`glr.data.alphabets.western_or_central`'s code page, with the doubt in words when it was unsure and the file
    names under `folder` do not settle it."""
    codec, shown = western_or_central(words, west, central)
    if shown and folder is not None and (named := _named_on_disk(words, (west, central), folder)):
        return named, None
    return codec, (f"its words may be {NAMES[central]} text ('{shown.decode(west)}' would be "
                   f"'{shown.decode(central)}')") if shown else None


def _readings(words: set[bytes]) -> list[str]:
    """The code pages whose reading of `words` is plausible, in the order tried. Mac Central European only when its
    reading is Central European words (`glr.data.alphabets`) that Mac Roman does not read alike (`München`): its
    letters are everywhere another code page's, so mere plausibility would make most Western files unclear."""
    plausible = [cp for cp in NAMES if all(_plausible(w, cp) for w in words)]
    if "mac_latin2" in plausible and (
            not all(fits(w.decode("mac_latin2"), "mac_latin2") for w in words)
            or "mac_roman" in plausible and all(w.decode("mac_roman") == w.decode("mac_latin2") for w in words)):
        plausible.remove("mac_latin2")
    return plausible


def _named_on_disk(words: set[bytes], code_pages: tuple[str, str], folder: Path, most: int = 100_000) -> str | None:
    """The one of `code_pages` whose reading of `words` more of the names under `folder` hold (`Hősök tere 1.jpg`:
    Windows-1250's `Hősök`, not 1252's `Hõsök`), or None when as many. At most `most` names are looked at."""
    first_words, second_words = ({unicodedata.normalize("NFC", w.decode(cp)).lower() for w in words} for cp in code_pages)
    readings = {code_pages[0]: first_words - second_words, code_pages[1]: second_words - first_words}
    hits = dict.fromkeys(code_pages, 0)
    for count, name in enumerate(_names_under(folder)):
        if count >= most:
            break
        if name.isascii():
            continue
        found = set(_LETTERS.findall(unicodedata.normalize("NFC", name).lower()))  # macOS writes names decomposed
        for cp in code_pages:
            hits[cp] += len(found & readings[cp])
    first, second = (hits[cp] for cp in code_pages)
    return None if first == second else code_pages[0] if first > second else code_pages[1]


def _names_under(folder: Path):
    """The names of the files and folders under `folder`, walked top down; nothing when it cannot be read."""
    for _, folders, files in os.walk(folder):
        yield from folders
        yield from files


def _one_of(words: set[bytes], plausible: list[str]) -> str | None:
    """The code page of `plausible` (the readings of `words` that are plausible) taken, or None."""
    if plausible[:1] == ["cp1252"] or len(plausible) == 1:
        return plausible[0] if plausible else None
    if set(plausible) == {"cp1251", "cp1253"}:
        ratio = {cp: _vowel_ratio(words, cp) for cp in plausible}
        best = max(ratio, key=ratio.get)
        return best if ratio[best] - min(ratio.values()) >= 0.095 else None
    return None


def _vowel_ratio(words: set[bytes], code_page: str) -> float:
    """The share of vowels among the letters past ASCII of `words` read in `code_page`."""
    letters = [c for w in words for c in w.decode(code_page) if c.isalpha() and not c.isascii()]
    return sum(c in _VOWELS[code_page] for c in letters) / max(1, len(letters))


def candidates(data: bytes) -> list[str]:
    """The code pages whose reading of `data` is plausible, in the order tried (for a message when there are two)."""
    words = _words(data)
    return _readings(words) if words else []


def _words(data: bytes) -> set[bytes]:
    """The runs of letters and bytes past ASCII in `data` that hold at least one byte past ASCII: the words the
    decision looks at. Found from those bytes out (a regex over a 63 MB train.csv took 9 s, this 0.1 s)."""
    import numpy as np

    words: set[bytes] = set()
    end = -1
    for at in np.flatnonzero(np.frombuffer(data, np.uint8) >= 0x80).tolist():
        if at < end:
            continue  # inside the word just taken
        start, end = at, at + 1
        while start and _IN_WORD[data[start - 1]]:
            start -= 1
        while end < len(data) and _IN_WORD[data[end]]:
            end += 1
        words.add(data[start:end])
    return words


def _plausible(word: bytes, code_page: str) -> bool:
    """Whether `word` (ASCII letters and bytes past ASCII) reads as a word, or words and typography, in `code_page`."""
    try:
        text = word.decode(code_page)  # strict: a byte the code page lacks is evidence against it
    except UnicodeDecodeError:
        return False
    script = _SCRIPT.get(code_page, "LATIN")
    if any(not c.isascii() and not c.isalpha() and c not in TYPOGRAPHY for c in text):
        return False
    for part in _LETTERS.findall(text):
        wide = [c for c in part if not c.isascii()]
        if any(not unicodedata.name(c, "").startswith(script) for c in wide):
            return False
        if script != "LATIN" and any(c.isascii() for c in part):
            return False  # `Famнlia`: a Western word read as Cyrillic
        if any(b.isupper() and not b.isascii() and (a.islower() or c.islower())
               for a, b, c in zip(part, part[1:], part[2:] + " ")):
            return False  # `CafŽ`, `MŸnchen`: a capital past ASCII inside a word of small letters
        if script == "GREEK" and "\u03c2" in part[:-1]:
            return False  # a final sigma inside a word: Russian's `т` read as Greek
        if script == "LATIN" and re.search(r"[^\x00-\x7f]{3}", part):
            return False
    return True
