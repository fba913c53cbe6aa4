"""Which legacy code page a CSV that is not UTF-8 was saved in: decided on the evidence of its words, or None."""

import pytest

from glr.data.code_pages import candidates, legacy_code_page, legacy_reading

RU = "landmark_id,category\n1,Храм Христа Спасителя\n2,Собор Василия Блаженного\n3,Кремль\n"
WEST = "landmark_id,category\n1,Sagrada Família\n2,“Kölner” Dom – Süd\n3,Tour Eiffel à Paris\n4,Þingvellir\n"


@pytest.mark.parametrize("text, saved_as, read_as", [
    (RU, "cp1251", "cp1251"),
    ("1,Собор\n", "cp1251", "cp1251"),  # one word: Greek reads it too (Ρξαξπ), with half the vowels
    ("1,Мост на Неве\n", "cp1251", "cp1251"),
    ("1,Києво-Печерська лавра\n", "cp1251", "cp1251"),  # Ukrainian
    ("1,Храм-паметник „Свети Александър Невски“\n", "cp1251", "cp1251"),  # Bulgarian, with its quotes
    ("1,Παρθενώνας\n2,Ακρόπολη Αθηνών\n", "cp1253", "cp1253"),
    ("1,Λευκός Πύργος\n", "cp1253", "cp1253"),
    (WEST, "cp1252", "cp1252"),
    ("id,landmark_id\ncafé,1\n", "cp1252", "cp1252"),
    ("1,Coração de Jesus\n2,São João\n", "cp1252", "cp1252"),  # two letters past ASCII in a row: Western still
    ("1,Zamek Królewski\n2,Kościół Mariacki w Gdańsku\n3,Pałac Kultury\n", "cp1250", "cp1250"),
    ("1,Sagrada Família\n2,Kölner Dom\n3,Café de Flore\n", "mac_roman", "mac_roman"),
])
def test_a_code_page_is_named_when_the_words_show_it(text, saved_as, read_as):
    assert legacy_code_page(text.encode(saved_as)) == read_as


@pytest.mark.parametrize("data", [
    "1,München Süd\n".encode("mac_roman"),  # MŸnchen in 1252, Mźnchen in 1250, München in Mac Roman: unclear
    "1,Храм Христа Спасителя\n".encode("koi8_r"),  # iТБН in 1251: case upside down
    "1,Galata Kulesi ışık\n".encode("cp1254"),  # Turkish: ýþýk
    "1,東京タワー\n".encode("shift_jis"),
    "1,Sagrada Família\n".encode("cp437"),  # DOS: a box line in 1252
    b"7,Caf\xe9 \xa4\n", b"7,Caf\xe9\x81\n", b"plain ascii\n", b"",
])
def test_no_code_page_is_guessed_without_evidence(data):
    assert legacy_code_page(data) is None


def test_the_cyrillic_text_read_as_windows_1252_is_no_longer_plausible():
    # Ñîáîð: Windows-1252 read it before, in silence (its every byte a letter).
    data = RU.encode("cp1251")
    assert data.decode("cp1252").split("\n")[2].startswith("2,Ñîáîð")
    assert "cp1252" not in candidates(data)


def test_several_readings_are_listed_for_a_message():
    assert candidates("1,München Süd\n".encode("mac_roman")) == ["cp1250", "mac_roman"]
    assert candidates(b"plain") == []


@pytest.mark.parametrize("text", ["landmark_id,category\n1,Karlův most\n2,Staroměstské náměstí\n",
                                  "landmark_id,category\n1,Hősök tere\n2,Széchenyi lánchíd\n3,Győr\n"])
def test_czech_and_hungarian_in_windows_1250_are_no_longer_read_as_windows_1252(text):
    # Were `Karlùv most`, `Hõsök tere`: every byte a Western letter too, so Windows-1252 was taken first.
    assert legacy_reading(text.encode("cp1250")) == ("cp1250", None)


def test_a_reading_as_likely_in_windows_1250_is_said():
    codec, doubt = legacy_reading("1,Hősök tere\n".encode("cp1250"))
    assert codec == "cp1252"
    assert doubt == "its words may be Windows-1250 (Central European) text ('Hõsök' would be 'Hősök')"
    assert legacy_reading(WEST.encode("cp1252")) == ("cp1252", None)


@pytest.mark.parametrize("text", ["1,Karlův most\n2,Pražský hrad\n3,Chrám svatého Víta\n", "1,Hradčany\n",
                                  "1,Zamek Królewski\n2,Pałac Kultury i Nauki\n", "1,Łódź\n", "1,Hősök tere\n2,Lánchíd\n",
                                  "1,Dioklecijanova palača\n", "1,Bratislavský hrad\n2,Štrbské Pleso\n"])
def test_mac_central_european_is_named_when_its_words_are_central_european(text):
    # Excel for Mac's "CSV (Macintosh)" in Prague or Warsaw: refused as "not UTF-8", or read as Mac Roman (`Hradƒany`).
    assert legacy_reading(text.encode("mac_latin2")) == ("mac_latin2", None)


def test_mac_central_european_leaves_western_and_windows_files_as_they_were_read():
    # Its letters are everywhere another code page's: a Western Mac file stays Mac Roman (the other reading said),
    # a German one reads alike in both (no doubt), Windows files are untouched.
    codec, doubt = legacy_reading("1,Città del Vaticano\n".encode("mac_roman"))
    assert codec == "mac_roman" and doubt == ("its words may be Mac Central European (Excel for Mac's \"CSV (Macintosh)\" "
                                              "in Central Europe) text ('Città' would be 'Cittą')")
    assert legacy_reading("1,Schloß Neuschwanstein\n".encode("mac_roman")) == ("mac_roman", None)
    assert legacy_reading(WEST.encode("cp1252")) == ("cp1252", None)
    assert legacy_reading("1,Zamek Królewski\n2,Pałac Kultury\n".encode("cp1250")) == ("cp1250", None)
    assert legacy_reading("1,Ľubovniansky hrad\n".encode("cp1250"))[0] == "cp1250"  # `ľubovniansky` in Mac's


def test_a_tie_is_settled_by_the_file_names_beside_the_csv(tmp_path):
    data = "1,Hősök tere\n".encode("cp1250")
    assert legacy_reading(data, tmp_path)[0] == "cp1252"  # no names: Windows-1252, the doubt said
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "Hősök tere 1.jpg").write_bytes(b"")
    assert legacy_reading(data, tmp_path) == ("cp1250", None)
    data = "1,Gesù\n".encode("cp1252")  # `Gesů` in Windows-1250
    (tmp_path / "photos" / "Gesù.jpg").write_bytes(b"")
    assert legacy_reading(data, tmp_path) == ("cp1252", None)


SWEDISH_AND_SPANISH = ["Göteborgs domkyrka", "Catedral de León", "Peñíscola", "Örebro slott", "Jönköping", "La Coruña",
                       "Mezquita de Córdoba", "Logroño", "Ávila", "Västerås domkyrka", "Ålesund", "Málaga"]
OTHERS = ["Kölner Dom", "Schloss Schönbrunn", "Mosteiro dos Jerónimos", "Saint-Benoît", "Citroën", "Noël", "Söderköping",
          "Königssee", "Zwölf Apostel", "Monumento a Colón", "Nuñez"]  # a second set: the rules were not made on it


@pytest.mark.parametrize("name", SWEDISH_AND_SPANISH + OTHERS)
def test_a_mac_roman_file_whose_windows_1252_reading_is_no_words_is_read_as_mac_roman(name):
    # `Gšteborgs`, `Le—n`, `Pe–’scola`: Windows-1252's reading, plausible letters and typography, was taken first.
    assert legacy_code_page(f"1,{name}\n".encode("mac_roman")) == "mac_roman"


def test_a_whole_mac_roman_file_of_swedish_and_spanish_names_is_read_with_no_doubt():
    data = ("landmark_id,category\n" + "".join(f"{i},{name}\n" for i, name in enumerate(SWEDISH_AND_SPANISH[:8])))
    assert candidates(data.encode("mac_roman"))[:1] == ["cp1252"]  # every word plausible in 1252: `Jšnkšping`
    assert legacy_reading(data.encode("mac_roman")) == ("mac_roman", None)


@pytest.mark.parametrize("name", ["don’t stop", "St Paul’s Cathedral", "Rock’n’Roll", "Paris–Roubaix", "Saint—Denis",
                                  "Berlin – Mitte", "CAFÉ DE FLORE", "ÉTOILE", "Œuvre Notre-Dame", "Žižkov", "Ça ira",
                                  "€5 Museum", "“Big Ben”", "O’Connell Street", "Škoda Muzeum"])
def test_a_windows_1252_file_whose_bytes_read_as_mac_roman_too_stays_windows_1252(name):
    data = f"1,{name}\n".encode("cp1252")
    assert "mac_roman" in candidates(data)  # `donít`, `ParisñRoubaix`, `CAF…`: plausible as well
    assert legacy_reading(data) == ("cp1252", None)


def test_a_mac_roman_reading_as_likely_in_windows_1250_is_said_and_a_word_either_reads_as_stays_windows_1252():
    assert legacy_reading("1,Perú\n".encode("mac_roman")) == (
        "mac_roman", "its words may be Windows-1250 (Central European) text ('Perú' would be 'Perś')")
    assert legacy_reading("1,Río Tinto\n".encode("mac_roman")) == ("cp1252", None)  # `R’o`: an elision, as `l’Arc`?
