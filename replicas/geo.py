"""Real places of the world generator's regions: the Toulouse area and Occitanie, and
the Grand Nancy (Meurthe-et-Moselle).

Communes carry their postcode(s), an approximate centre, the radius within which
shops are spread, the zone that drives platform presence, and real street names.
Coordinates are WGS84 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Street:
    """A street of a commune: its full French name and the postcode it lies in."""

    name: str
    postcode: str


@dataclass(frozen=True)
class Commune:
    """A commune with its centre, spread radius, zone and streets."""

    name: str
    department: str
    lat: float
    lon: float
    radius_km: float
    zone: str  # toulouse | sicoval | metro | haute_garonne | occitanie
    streets: tuple[Street, ...]
    weight: float  # share of the world's shops drawn here (relative)

    @property
    def postcodes(self) -> tuple[str, ...]:
        return tuple(sorted({s.postcode for s in self.streets}))


def _streets(postcode: str, names: str) -> tuple[Street, ...]:
    return tuple(Street(n.strip(), postcode) for n in names.split(";") if n.strip())


_TOULOUSE_STREETS = (
    _streets(
        "31000",
        "rue d'Alsace-Lorraine; rue de Metz; rue du Taur; rue Saint-Rome; rue des Filatiers;"
        "place du Capitole; rue de la Pomme; rue Croix-Baragnon; rue des Changes;"
        "rue Pargaminières; rue Bayard; allées Jean-Jaurès; boulevard de Strasbourg;"
        "rue de Rémusat; rue Lafayette; place Saint-Georges; rue d'Astorg; rue Peyrolières;"
        "rue Gambetta; place Wilson; rue des Arts; rue Boulbonne; rue Ozenne; rue Mage;"
        "rue du Languedoc; rue de la Colombette; allées François-Verdier; rue Matabiau;"
        "rue Temponières; rue Cujas; rue des Lois; rue Genty-Magre; place Esquirol;"
        "rue de la Trinité; rue Merlane; boulevard Lazare-Carnot; rue Riquet",
    )
    + _streets(
        "31300",
        "avenue Étienne-Billières; rue de la République; allées Charles-de-Fitte;"
        "rue Réclusane; avenue de Grande-Bretagne; place Roguet; avenue de Casselardit;"
        "rue des Teinturiers; rue Villeneuve; avenue de Lombez",
    )
    + _streets(
        "31400",
        "avenue de Rangueil; route de Narbonne; avenue Jean-Rieux; avenue de l'URSS;"
        "allée des Demoiselles; rue du Pont-Montaudran; avenue Saint-Exupéry",
    )
    + _streets(
        "31500",
        "avenue de la Gloire; avenue Camille-Pujol; rue Louis-Plana; avenue Jean-Chaubet;"
        "avenue de Lavaur; rue de Périole; boulevard de la Marne",
    )
    + _streets(
        "31200",
        "avenue des Minimes; boulevard Pierre-et-Marie-Curie; avenue de Fronton;"
        "route d'Albi; avenue Frédéric-Estèbe; avenue des États-Unis",
    )
    + _streets(
        "31100",
        "avenue de Muret; route de Seysses; avenue de Lardenne; chemin de Tournefeuille;"
        "route de Saint-Simon; avenue de Lardenne",
    )
)

_SUBURB_STREETS = (
    "avenue de Toulouse; rue de la République; place de la Mairie; avenue de l'Europe;"
    "rue Pierre-Paul-Riquet; chemin des Écoles; rue du Lauragais; avenue des Pyrénées;"
    "rue Jean-Jaurès; place de l'Église; rue Victor-Hugo; avenue du Général-de-Gaulle;"
    "rue de la Poste; chemin du Canal; impasse des Lilas; rue des Écoles"
)


def _commune(
    name: str,
    dept: str,
    lat: float,
    lon: float,
    radius: float,
    zone: str,
    postcode: str,
    weight: float,
    extra: str = "",
) -> Commune:
    streets = _streets(postcode, _SUBURB_STREETS + (";" + extra if extra else ""))
    return Commune(name, dept, lat, lon, radius, zone, streets, weight)


COMMUNES: tuple[Commune, ...] = (
    Commune("Toulouse", "31", 43.6045, 1.4440, 3.2, "toulouse", _TOULOUSE_STREETS, 50.0),
    # Sicoval, south-east of Toulouse: Click'n Co's home.
    _commune("Labège", "31", 43.5330, 1.5330, 1.2, "sicoval", "31670", 4.0,
             "rue de l'Innopole; rue Hermès; avenue de l'Occitanie"),
    _commune("Ramonville-Saint-Agne", "31", 43.5460, 1.4780, 1.2, "sicoval", "31520", 4.0,
             "route de Narbonne; avenue Tolosane; rue du Midi"),
    _commune("Castanet-Tolosan", "31", 43.5160, 1.4980, 1.1, "sicoval", "31320", 3.5,
             "avenue de Toulouse; rue du Cardinal-de-Bernis; place de la Liberté"),
    _commune("Escalquens", "31", 43.5190, 1.5560, 0.9, "sicoval", "31750", 1.5),
    _commune("Saint-Orens-de-Gameville", "31", 43.5540, 1.5360, 1.1, "sicoval", "31650", 2.5,
             "avenue de Gameville; allée des Champs-Pinsons"),
    _commune("Auzeville-Tolosane", "31", 43.5280, 1.4830, 0.8, "sicoval", "31320", 1.0),
    _commune("Montgiscard", "31", 43.4580, 1.5720, 0.7, "sicoval", "31450", 0.6),
    _commune("Baziège", "31", 43.4550, 1.6140, 0.8, "sicoval", "31450", 0.8),
    _commune("Ayguesvives", "31", 43.4370, 1.5930, 0.6, "sicoval", "31450", 0.5),
    _commune("Pechabou", "31", 43.5030, 1.5120, 0.6, "sicoval", "31320", 0.4),
    _commune("Lacroix-Falgarde", "31", 43.4990, 1.4110, 0.6, "sicoval", "31120", 0.4),
    # The rest of the metropolis.
    _commune("Blagnac", "31", 43.6370, 1.3900, 1.3, "metro", "31700", 3.5,
             "avenue du Parc; place des Arts"),
    _commune("Colomiers", "31", 43.6110, 1.3350, 1.4, "metro", "31770", 3.5,
             "allée du Rouergue; place de l'Hôtel-de-Ville"),
    _commune("Tournefeuille", "31", 43.5850, 1.3440, 1.3, "metro", "31170", 3.0,
             "boulevard Vincent-Auriol; rue Gaston-Doumergue"),
    _commune("Balma", "31", 43.6110, 1.4990, 1.0, "metro", "31130", 2.0,
             "avenue de la Plaine; route de Castres"),
    _commune("L'Union", "31", 43.6580, 1.4840, 0.9, "metro", "31240", 1.5),
    _commune("Cugnaux", "31", 43.5370, 1.3450, 1.0, "metro", "31270", 1.5),
    _commune("Portet-sur-Garonne", "31", 43.5230, 1.4060, 1.0, "metro", "31120", 1.5),
    # Haute-Garonne beyond the metropolis.
    _commune("Muret", "31", 43.4610, 1.3260, 1.2, "haute_garonne", "31600", 1.2),
    _commune("Saint-Gaudens", "31", 43.1080, 0.7230, 1.2, "haute_garonne", "31800", 0.8),
    _commune("Revel", "31", 43.4580, 2.0040, 0.9, "haute_garonne", "31250", 0.6),
    _commune("Villefranche-de-Lauragais", "31", 43.4000, 1.7180, 0.8, "haute_garonne",
             "31290", 0.5),
    _commune("Fronton", "31", 43.8390, 1.3890, 0.8, "haute_garonne", "31620", 0.5),
    # Elsewhere in Occitanie: only Dans Ma Zone covers these.
    _commune("Albi", "81", 43.9290, 2.1480, 1.5, "occitanie", "81000", 1.2,
             "rue Mariès; place du Vigan; rue Sainte-Cécile"),
    _commune("Gaillac", "81", 43.9010, 1.8970, 1.0, "occitanie", "81600", 0.6),
    _commune("Castres", "81", 43.6060, 2.2410, 1.3, "occitanie", "81100", 0.7),
    _commune("Montauban", "82", 44.0176, 1.3550, 1.5, "occitanie", "82000", 1.0,
             "place Nationale; rue de la Résistance"),
    _commune("Auch", "32", 43.6460, 0.5860, 1.2, "occitanie", "32000", 0.5),
    _commune("Carcassonne", "11", 43.2130, 2.3490, 1.4, "occitanie", "11000", 0.7),
    _commune("Cahors", "46", 44.4470, 1.4410, 1.2, "occitanie", "46000", 0.5),
    _commune("Rodez", "12", 44.3500, 2.5750, 1.2, "occitanie", "12000", 0.5),
    _commune("Foix", "09", 42.9650, 1.6070, 1.0, "occitanie", "09000", 0.3),
    _commune("Tarbes", "65", 43.2330, 0.0780, 1.4, "occitanie", "65000", 0.5),
    _commune("Montpellier", "34", 43.6110, 3.8770, 2.5, "occitanie", "34000", 0.8),
)

def _gn(name: str, lat: float, lon: float, radius: float, weight: float,
        *streets: tuple[Street, ...]) -> Commune:
    return Commune(name, "54", lat, lon, radius, "grand_nancy",
                   tuple(s for group in streets for s in group), weight)


# The Métropole du Grand Nancy: real communes, postcodes and streets.
GRAND_NANCY_COMMUNES: tuple[Commune, ...] = (
    _gn("Nancy", 48.6921, 6.1844, 1.8, 30.0,
        _streets("54000", "rue Saint-Dizier; rue Saint-Jean; Grande Rue; rue des Dominicains;"
                 "cours Léopold; rue Stanislas; avenue Foch; rue de la Commanderie;"
                 "boulevard Lobau; rue des Ponts; rue Gambetta; rue Saint-Georges;"
                 "rue Héré; rue des Carmes; rue Raugraff; place Charles-III;"
                 "rue Saint-Nicolas; rue des Maréchaux; rue Jeanne-d'Arc"),
        _streets("54100", "avenue Raymond-Pinchard; boulevard Jean-Jaurès")),
    _gn("Vandœuvre-lès-Nancy", 48.6564, 6.1756, 1.2, 6.0,
        _streets("54500", "boulevard de l'Europe; avenue Jeanne-d'Arc; rue de Parme;"
                 "avenue de la Forêt-de-Haye")),
    _gn("Villers-lès-Nancy", 48.6730, 6.1530, 1.0, 3.0,
        _streets("54600", "boulevard des Aiguillettes; rue Pierre-Brossolette;"
                 "rue de la République")),
    _gn("Laxou", 48.6850, 6.1500, 1.0, 3.0,
        _streets("54520", "avenue de la Libération; rue Émile-Zola; boulevard Foch")),
    _gn("Maxéville", 48.7110, 6.1650, 0.8, 2.0,
        _streets("54320", "rue Solvay; avenue Patton; rue du Général-Leclerc")),
    _gn("Malzéville", 48.7120, 6.1850, 0.8, 2.0,
        _streets("54220", "rue du Général-Leclerc; rue Pasteur; avenue Carnot")),
    _gn("Essey-lès-Nancy", 48.7050, 6.2230, 0.8, 2.0,
        _streets("54270", "avenue Foch; rue de Mazagran; rue Jean-Jaurès")),
    _gn("Saint-Max", 48.7020, 6.2050, 0.6, 1.5,
        _streets("54130", "avenue Carnot; rue Jean-Jaurès; rue Gambetta")),
    _gn("Jarville-la-Malgrange", 48.6700, 6.2020, 0.7, 1.5,
        _streets("54140", "avenue de la République; rue de la Malgrange")),
    _gn("Tomblaine", 48.6850, 6.2200, 0.7, 1.5,
        _streets("54510", "avenue de la Paix; rue Jean-Jaurès")),
    _gn("Heillecourt", 48.6530, 6.1950, 0.6, 1.0,
        _streets("54180", "rue de la République; rue Robert-Schuman")),
    _gn("Ludres", 48.6180, 6.1660, 0.8, 1.0,
        _streets("54710", "rue Jean-Jaurès; avenue de la Meurthe")),
    _gn("Seichamps", 48.7140, 6.2650, 0.6, 1.0,
        _streets("54280", "avenue de l'Europe; rue de la Gare")),
)

#: The communes of each region of the world generator (replicas.world), by territory key.
REGIONS: dict[str, tuple[Commune, ...]] = {"toulouse": COMMUNES,
                                           "grand_nancy": GRAND_NANCY_COMMUNES}

COMMUNES_BY_NAME: dict[str, Commune] = {c.name: c for c in COMMUNES + GRAND_NANCY_COMMUNES}

# Market halls: several stalls at one address.
MARKET_HALLS: tuple[tuple[str, str, str, str], ...] = (
    # (hall name, commune, street, postcode)
    ("Marché Victor Hugo", "Toulouse", "place Victor-Hugo", "31000"),
    ("Marché des Carmes", "Toulouse", "place des Carmes", "31000"),
    ("Marché couvert Saint-Cyprien", "Toulouse", "place Roguet", "31300"),
)

# The Haute-Garonne bounding box Géo'local31 serves (lon/lat degrees); the connector's
# default (crawlers/connectors/geolocal31.py) is the same box.
HAUTE_GARONNE_BBOX = (0.44, 42.69, 2.05, 43.92)
# The Occitanie bounding box.
OCCITANIE_BBOX = (-0.33, 42.33, 4.85, 45.05)
