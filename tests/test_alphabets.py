"""Windows-1252 or Windows-1250, decided by the alphabets of the languages each is written in."""

import pytest

from glr.data.alphabets import fits, western_or_central, word_like
from glr.data.code_pages import _words

CZECH = ["Karlův most", "Pražský hrad", "Staroměstské náměstí", "Hradčany", "Přemyslovci", "Tančící dům", "Plzeň"]
HUNGARIAN = ["Hősök tere", "Halászbástya", "Műcsarnok", "Gellért fürdő", "Győr", "Hollókő", "Szépművészeti Múzeum"]
SLOVAK = ["Bratislavský hrad", "Ľubovniansky hrad", "Trenčiansky hrad", "Ďumbier"]
POLISH = ["Kościół Mariacki w Gdańsku", "Łazienki Królewskie", "Żelazowa Wola", "Katedra św. Jana"]
CROATIAN = ["Dioklecijanova palača", "Tvrđava Nehaj", "Plitvička jezera", "Zagrebačka katedrala"]
FRENCH = ["Tour Eiffel à Paris", "Basilique du Sacré-Cœur", "Genève", "Forêt de Fontainebleau", "Mère Poulard", "Où"]
ITALIAN = ["Città del Vaticano", "Forlì", "Niccolò", "Gesù Nuovo", "Cefalù", "Trinità dei Monti"]
IBERIAN = ["Plaza de España", "Logroño", "Montjuïc", "Sòller", "São João", "Camões", "Coração de Jesus"]
NORDIC = ["Hillerød", "København", "Bjørnøya", "Øresundsbroen", "Þingvellir", "Goðafoss", "Võru", "Dùn Èideann"]
ICELANDIC = ["Goðafoss", "Þingvellir", "Herðubreið", "Norðurland"]  # `ð` after `r` too; Croatian's `đ` ends no word


@pytest.mark.parametrize("names, code_page", [
    (CZECH, "cp1250"), (HUNGARIAN, "cp1250"), (SLOVAK, "cp1250"), (POLISH, "cp1250"), (CROATIAN, "cp1250"),
    (FRENCH, "cp1252"), (ITALIAN, "cp1252"), (IBERIAN, "cp1252"), (NORDIC, "cp1252"), (ICELANDIC, "cp1252"),
])
def test_a_file_of_names_is_read_in_the_code_page_its_languages_write(names, code_page):
    assert western_or_central(_words("\n".join(names).encode(code_page))) == (code_page, None)


@pytest.mark.parametrize("name", ["Karlův most", "Staroměstské náměstí", "Hradčany", "Tančící dům", "Győr",
                                  "Hollókő", "Ďumbier", "Kościół Mariacki w Gdańsku", "Trenčiansky hrad"])
def test_one_central_european_name_is_enough_when_no_western_language_writes_it(name):
    # `Karlùv`: French writes ù only in `où`, Italian only at a word's end, Gaelic and Welsh have no k or v.
    assert western_or_central(_words(name.encode("cp1250"))) == ("cp1250", None)


@pytest.mark.parametrize("name", ["Tour Eiffel à Paris", "Genève", "Città", "Plaza de España", "São João", "Camões",
                                  "København", "Hillerød", "Basilique du Sacré-Cœur"])
def test_one_western_name_stays_western(name):
    assert western_or_central(_words(name.encode("cp1252"))) == ("cp1252", None)


@pytest.mark.parametrize("name, shown", [("Hősök tere", "Hősök"), ("Plzeň", "Plzeň"), ("Gesù", "Gesù")])
def test_a_name_either_family_writes_is_read_as_windows_1252_with_the_doubt(name, shown):
    # `Hõsök` is Estonian-looking, `Plzeò` Italian-looking, `Gesů` Czech-looking: as likely, so the word is shown.
    code_page = "cp1252" if name == "Gesù" else "cp1250"
    assert western_or_central(_words(name.encode(code_page))) == ("cp1252", shown.encode(code_page))


def test_words_that_read_alike_in_both_are_no_evidence():
    assert western_or_central(_words("Pražský hrad\nKölner Dom\n".encode("cp1250"))) == ("cp1252", None)
    assert fits("Ïumbier", "cp1252") is False and fits("Ďumbier", "cp1250") is True


@pytest.mark.parametrize("names, code_page", [(CZECH, "mac_latin2"), (POLISH, "mac_latin2"), (CROATIAN, "mac_latin2"),
                                              (FRENCH, "mac_roman"), (ITALIAN, "mac_roman")])
def test_the_mac_code_pages_of_the_two_families_are_told_apart_as_the_windows_ones(names, code_page):
    words = _words("\n".join(n for n in names if n.encode(code_page, "ignore").decode(code_page) == n).encode(code_page))
    assert western_or_central(words, "mac_roman", "mac_latin2") == (code_page, None)


@pytest.mark.parametrize("text, code_page, is_word", [
    ("Le—n", "cp1252", False), ("Pe–’scola", "cp1252", False), ("…land", "cp1252", False),  # Mac Roman's León, ...
    ("Gšteborgs", "cp1252", False), ("Malmš", "cp1252", False), ("çvila", "cp1252", False),  # Göteborgs, Malmö, Ávila
    ("León", "mac_roman", True), ("Peñíscola", "mac_roman", True), ("Göteborgs", "mac_roman", True),
    ("LíArc", "mac_roman", False), ("SaintóDenis", "mac_roman", False),  # Windows-1252's `L’Arc`, `Saint—Denis`
    ("l’Arc", "cp1252", True), ("don’t", "cp1252", True), ("Paris–Roubaix", "cp1252", True), ("“Big", "cp1252", True),
    ("Michel…", "cp1252", True), ("Tšehhi", "cp1252", True), ("Kašmiir", "cp1252", True), ("garaaž", "cp1252", True),
    ("Škoda", "cp1252", True), ("Ça", "cp1252", True), ("Coração", "cp1252", True), ("feliç", "cp1252", True),
])
def test_a_word_is_told_from_typography_and_letters_read_where_other_letters_were(text, code_page, is_word):
    # Mac Roman's words read as Windows-1252, and 1252's as Mac Roman: plausible (letters and typography), no words.
    assert word_like(text, code_page) is is_word
