"""Made-up landmark names for the demo dataset: a place or a person in a template of the structure's family."""

from __future__ import annotations

import numpy as np

# Made-up place and person names; some carry accents so the category URLs need
# percent-escaping, as many real GLDv2 categories do.
PLACE_HEADS = (
    "Ald", "Bre", "Cor", "Dun", "Elm", "Fal", "Gar", "Hal", "Ister", "Kel", "Lor", "Mar",
    "Nor", "Ost", "Pel", "Quen", "Ros", "Sal", "Tor", "Ul", "Val", "Wes", "Yar", "Zel",
    "Bél", "Sæ", "Ør", "Mü", "Žal", "Çam", "Ås", "Lé",
)
PLACE_TAILS = (
    "mere", "haven", "ford", "wick", "stad", "berg", "mont", "vik", "holm", "dale", "ton",
    "brück", "ville", "gård", "oña", "ais", "ora", "ano", "heim", "port", "ice", "sund",
)
PERSONS = (
    "Aurelia", "Benedikt", "Célestine", "Dorotea", "Émile", "Florian", "Gunnar", "Helena",
    "Ignác", "Józef", "Kasimir", "Leontine", "Matthäus", "Nikola", "Otília", "Piotr",
    "Renée", "Søren", "Tomás", "Ursula", "Valérie", "Wenceslas",
)
NAME_TEMPLATES = {
    "tower": ("{P} Clock Tower", "Tower of {P}", "{P} Bell Tower", "Old Tower of {P}"),
    "dome": ("{P} Cathedral", "Basilica of Saint {S}", "{P} Capitol", "Church of Saint {S}"),
    "arch": ("Arch of {S}", "{P} Triumphal Arch", "{P} Gate", "Arc de {P}"),
    "pyramid": ("Pyramid of {S}", "Great Pyramid of {P}", "{P} Step Pyramid"),
    "bridge": ("{P} Bridge", "Bridge of {S}", "{P} Viaduct", "Old Bridge ({P})"),
    "pagoda": ("{P} Pagoda", "Pagoda of {P}", "{P} Temple Pagoda"),
    "temple": ("Temple of {S}", "{P} Pantheon", "{P} Odeon", "Temple of {P}"),
    "skyscraper": ("{P} Tower", "{S} Building", "{P} Trade Center", "{P} Plaza"),
    "obelisk": ("Obelisk of {S}", "{P} Needle", "{P} Obelisk"),
    "lighthouse": ("{P} Lighthouse", "Lighthouse of {P}", "{P} Point Light"),
    "castle": ("{P} Castle", "Castle of {S}", "{P} Fortress", "{P} Citadel"),
    "windmill": ("{P} Windmill", "Mill of {S}", "De {P} Mill"),
    "statue": ("Statue of {S}", "{S} Monument", "{P} Memorial", "Equestrian statue of {S}"),
    "minaret": ("Minaret of {P}", "{P} Mosque", "Great Mosque of {P}"),
    "lattice": ("{P} Radio Tower", "{P} Iron Tower", "{P} Observation Tower"),
    "torii": ("{P} Shrine Gate", "Torii of {P}", "{P} Shrine"),
    "wheel": ("{P} Eye", "{P} Ferris Wheel", "Great Wheel of {P}"),
    "amphitheatre": ("{P} Amphitheatre", "Arena of {P}", "Roman Theatre of {P}"),
}


def make_name(family: str, rng: np.random.Generator) -> str:
    """A made-up landmark name of the structure family, drawn from `rng` (the same draws, the same name)."""
    place = str(rng.choice(PLACE_HEADS)) + str(rng.choice(PLACE_TAILS))
    person = str(rng.choice(PERSONS))
    template = str(rng.choice(NAME_TEMPLATES[family]))
    return template.format(P=place, S=person)
