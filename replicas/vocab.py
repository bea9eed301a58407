"""French vocabulary of the replica world: trades, each platform's labels for them,
shop-name patterns and product templates.

A trade (``Trade``) is the world's own category; each platform shows it with its
own label, as the real platforms do (Dans Ma Zone's "rubriques", Géo'local31's
activity names...). The normalizer must map those labels back to one taxonomy
without reading this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProductTemplate:
    """A family of products; each variant value gives one product (one GTIN)."""

    title: str  # "{brand}" and "{variant}" placeholders allowed
    brands: tuple[str, ...]
    variants: tuple[str, ...]  # sizes, colours, vintages... ("" for none)
    price_eur: tuple[float, float]
    gtin: bool = True
    variant_kind: str = "size"  # size | colour | vintage | none


@dataclass(frozen=True)
class Trade:
    key: str
    label: str
    labels: dict[str, str]  # platform key -> that platform's label
    name_patterns: tuple[str, ...]
    products: tuple[ProductTemplate, ...] = field(default_factory=tuple)
    weight: float = 1.0


def _t(title: str, brands: str, variants: str, lo: float, hi: float, gtin: bool = True,
       kind: str = "size") -> ProductTemplate:
    return ProductTemplate(
        title,
        tuple(b.strip() for b in brands.split(";") if b.strip()) or ("",),
        tuple(v.strip() for v in variants.split(";")) if variants else ("",),
        (lo, hi),
        gtin,
        kind if variants else "none",
    )


TRADES: tuple[Trade, ...] = (
    Trade(
        "boulangerie", "Boulangerie-Pâtisserie",
        {"tout_toulouse": "Boulangerie", "toulouse_boutiques": "Boulangeries & Pâtisseries",
         "clickandco": "boulangerie_patisserie", "dansmazone": "Alimentation > Boulangerie",
         "geolocal31": "Boulangerie-pâtisserie", "mavillemonshopping": "Pains et gâteaux"},
        ("Boulangerie {surname}", "Au Pain {de_place}", "Le Fournil {de_place}",
         "Maison {surname}", "La Mie {adj_f}"),
        (
            _t("Chocolatine", "", "", 1.1, 1.5, gtin=False),
            _t("Baguette tradition", "", "", 1.1, 1.4, gtin=False),
            _t("Fougasse aux olives", "", "", 3.0, 4.5, gtin=False),
            _t("Tarte aux pommes {variant}", "", "4 parts; 6 parts; 8 parts", 12, 26, gtin=False),
            _t("Pain de campagne {variant}", "", "500 g; 1 kg", 3.2, 6.5, gtin=False),
            _t("Croustade gasconne", "", "", 14, 22, gtin=False),
        ),
        weight=1.6,
    ),
    Trade(
        "boucherie", "Boucherie-Charcuterie",
        {"tout_toulouse": "Boucherie", "toulouse_boutiques": "Boucheries & Charcuteries",
         "clickandco": "boucherie_charcuterie", "dansmazone": "Alimentation > Boucherie",
         "geolocal31": "Boucherie-charcuterie", "mavillemonshopping": "Viandes"},
        ("Boucherie {surname}", "Boucherie {de_place}", "Maison {surname}",
         "Charcuterie {surname}"),
        (
            _t("Saucisse de Toulouse {variant}", "", "500 g; 1 kg", 7, 16, gtin=False),
            _t("Confit de canard {variant}", "{brand}", "2 cuisses; 4 cuisses", 9, 19,
               kind="size"),
            _t("Jambon de Bayonne IGP {variant}", "{brand}", "4 tranches; 8 tranches", 5, 11),
            _t("Côte de bœuf", "", "", 28, 45, gtin=False),
        ),
        weight=0.9,
    ),
    Trade(
        "fromagerie", "Fromagerie",
        {"tout_toulouse": "Fromagerie", "toulouse_boutiques": "Fromageries & Crèmeries",
         "clickandco": "fromagerie", "dansmazone": "Alimentation > Fromages",
         "geolocal31": "Crèmerie-fromagerie", "mavillemonshopping": "Fromages"},
        ("Fromagerie {surname}", "La Cave à Fromages", "Fromagerie {de_place}",
         "Le Comptoir des Fromages", "Crèmerie {surname}"),
        (
            _t("Roquefort AOP {variant}", "Société; Papillon; Carles", "100 g; 250 g", 3.5, 9),
            _t("Comté AOP {variant}", "", "12 mois; 18 mois; 24 mois", 6, 12, kind="vintage"),
            _t("Tomme des Pyrénées {variant}", "{brand}", "250 g; 500 g", 4, 9),
            _t("Rocamadour AOP", "", "", 1.8, 2.8),
            _t("Laguiole AOP {variant}", "Jeune Montagne", "200 g; 400 g", 5, 11),
            _t("Brebis des Pyrénées {variant}", "", "250 g; 500 g", 5, 11),
        ),
    ),
    Trade(
        "caviste", "Caviste",
        {"tout_toulouse": "Cave à vins", "toulouse_boutiques": "Vins & Spiritueux",
         "clickandco": "caviste", "dansmazone": "Alimentation > Vins et spiritueux",
         "geolocal31": "Caviste", "mavillemonshopping": "Vins"},
        ("La Cave {de_place}", "Cave {surname}", "Les Vins {de_place}", "Le Cellier {adj_m}",
         "Cave & Terroirs", "Vinothèque {surname}"),
        (
            _t("Gaillac rouge AOC {brand} {variant}", "Domaine de Rotier; Château Lastours;"
               " Domaine du Moulin", "2019; 2020; 2021; 2022", 8, 19, kind="vintage"),
            _t("Fronton rosé {brand} {variant}", "Château Bellevue la Forêt; Château Plaisance",
               "2022; 2023", 7, 13, kind="vintage"),
            _t("Cahors Malbec {brand} {variant}", "Château de Cèdre; Clos Triguedina",
               "2018; 2019; 2020", 12, 35, kind="vintage"),
            _t("Madiran {brand} 75 cl", "Château Montus; Domaine Berthoumieu", "", 14, 40),
            _t("Armagnac {brand} {variant}", "Château de Laubade; Delord", "VSOP; XO; 10 ans",
               30, 80, kind="vintage"),
            _t("Blanquette de Limoux brut {brand}", "Sieur d'Arques; Domaine Rosier", "", 9, 15),
        ),
    ),
    Trade(
        "epicerie_fine", "Épicerie fine",
        {"tout_toulouse": "Épicerie fine", "toulouse_boutiques": "Épiceries fines",
         "clickandco": "epicerie_fine", "dansmazone": "Alimentation > Épicerie fine",
         "geolocal31": "Épicerie fine", "mavillemonshopping": "Épicerie"},
        ("Épicerie {surname}", "Les Saveurs {de_place}", "Le Comptoir {adj_m}",
         "Épicerie fine {surname}", "Terroirs d'Occitanie"),
        (
            _t("Cassoulet de Castelnaudary {brand} {variant}", "La Belle Chaurienne; Spanghero",
               "420 g; 840 g; 1,5 kg", 5, 18),
            _t("Bonbons à la violette de Toulouse {variant}", "Candiflor", "100 g; 200 g", 4, 9),
            _t("Foie gras de canard entier {brand} {variant}", "Comtesse du Barry; Ducs de"
               " Gascogne", "130 g; 180 g; 300 g", 15, 45),
            _t("Huile d'olive vierge extra {brand} {variant}", "Moulin de Villevieille",
               "50 cl; 1 L", 9, 22),
            _t("Miel de châtaignier {brand} {variant}", "Rucher des Pyrénées", "250 g; 500 g",
               6, 13),
            _t("Ail rose de Lautrec IGP", "", "", 5, 9),
        ),
    ),
    Trade(
        "primeur", "Primeur",
        {"tout_toulouse": "Fruits et légumes", "toulouse_boutiques": "Primeurs",
         "clickandco": "primeur", "dansmazone": "Alimentation > Fruits et légumes",
         "geolocal31": "Primeur", "mavillemonshopping": "Fruits & légumes"},
        ("Primeur {surname}", "Au Jardin {de_place}", "Les Primeurs {de_place}",
         "Verger {adj_m}"),
        (
            _t("Panier de légumes de saison {variant}", "", "petit; moyen; grand", 12, 30,
               gtin=False),
            _t("Melon de Lectoure IGP", "", "", 2.5, 4.5, gtin=False),
            _t("Chasselas de Moissac AOP {variant}", "", "500 g; 1 kg", 3, 7, gtin=False),
        ),
        weight=0.8,
    ),
    Trade(
        "poissonnerie", "Poissonnerie",
        {"tout_toulouse": "Poissonnerie", "toulouse_boutiques": "Poissonneries",
         "clickandco": "poissonnerie", "dansmazone": "Alimentation > Poissons et crustacés",
         "geolocal31": "Poissonnerie", "mavillemonshopping": "Poissons"},
        ("Poissonnerie {surname}", "La Marée {de_place}", "Poissonnerie {adj_f}"),
        (
            _t("Huîtres de Bouzigues n°3 {variant}", "", "douzaine; 2 douzaines", 10, 22,
               gtin=False),
            _t("Filet de dorade", "", "", 18, 28, gtin=False),
            _t("Soupe de poissons {brand} {variant}", "La Belle-Iloise", "780 ml; 1 L", 5, 9),
        ),
        weight=0.5,
    ),
    Trade(
        "chocolatier", "Chocolatier-Confiseur",
        {"tout_toulouse": "Chocolaterie", "toulouse_boutiques": "Chocolatiers & Confiseurs",
         "clickandco": "chocolatier", "dansmazone": "Alimentation > Chocolats et confiseries",
         "geolocal31": "Chocolaterie-confiserie", "mavillemonshopping": "Douceurs"},
        ("Chocolaterie {surname}", "Les Délices {de_place}", "Maison {surname} Chocolatier"),
        (
            _t("Tablette chocolat noir {variant}", "{brand}", "70 %; 85 %; 100 %", 4, 8,
               kind="size"),
            _t("Ballotin de pralinés {variant}", "{brand}", "250 g; 500 g", 18, 38),
            _t("Violettes cristallisées {variant}", "Candiflor", "50 g; 100 g", 6, 12),
        ),
        weight=0.5,
    ),
    Trade(
        "librairie", "Librairie",
        {"tout_toulouse": "Librairie", "toulouse_boutiques": "Librairies",
         "clickandco": "librairie", "dansmazone": "Culture > Livres",
         "geolocal31": "Librairie", "mavillemonshopping": "Livres"},
        ("Librairie {surname}", "Librairie {de_place}", "L'Encrier {adj_m}", "La Page {adj_f}",
         "Bouquinerie {surname}"),
        (
            _t("{brand}", "L'Étranger — Albert Camus; Le Petit Prince — Saint-Exupéry;"
               " Vol de nuit — Saint-Exupéry; Les Misérables — Victor Hugo;"
               " Histoire de Toulouse — Philippe Wolff; Claude Nougaro, la biographie;"
               " Guide du Routard Toulouse; Le Canal du Midi — Michel Cotte", "", 7, 29),
        ),
        weight=0.8,
    ),
    Trade(
        "fleuriste", "Fleuriste",
        {"tout_toulouse": "Fleuriste", "toulouse_boutiques": "Fleuristes",
         "clickandco": "fleuriste", "dansmazone": "Maison > Fleurs et plantes",
         "geolocal31": "Fleuriste", "mavillemonshopping": "Fleurs"},
        ("Fleurs {surname}", "L'Atelier Floral", "Au Jardin {adj_m}", "Les Fleurs {de_place}"),
        (
            _t("Bouquet de saison {variant}", "", "petit; moyen; grand", 20, 60, gtin=False),
            _t("Violette de Toulouse en pot", "", "", 8, 14, gtin=False),
            _t("Orchidée phalaenopsis {variant}", "", "blanche; rose; mauve", 19, 35,
               gtin=False, kind="colour"),
        ),
        weight=0.7,
    ),
    Trade(
        "pret_a_porter", "Prêt-à-porter",
        {"tout_toulouse": "Mode", "toulouse_boutiques": "Mode & Prêt-à-porter",
         "clickandco": "pret_a_porter", "dansmazone": "Mode > Vêtements",
         "geolocal31": "Habillement", "mavillemonshopping": "Vêtements"},
        ("Boutique {first}", "{first} & {first2}", "L'Atelier {adj_m}", "Dressing {adj_m}",
         "Maison {surname}"),
        (
            _t("T-shirt coton bio {brand} taille {variant}", "Le Slip Français; Armor-Lux;"
               " Saint James", "S; M; L; XL", 25, 45),
            _t("Marinière {brand} taille {variant}", "Armor-Lux; Saint James", "S; M; L", 55, 90),
            _t("Pull laine {brand} {variant}", "Maison Olga", "bleu marine; écru; rouge", 70, 130,
               kind="colour"),
        ),
        weight=1.1,
    ),
    Trade(
        "chaussures", "Chaussures",
        {"tout_toulouse": "Chaussures", "toulouse_boutiques": "Chaussures & Maroquinerie",
         "clickandco": "chaussures", "dansmazone": "Mode > Chaussures",
         "geolocal31": "Chaussures", "mavillemonshopping": "Chaussures"},
        ("Chaussures {surname}", "Le Pied {adj_m}", "Cordonnerie {de_place}"),
        (
            _t("Espadrilles {brand} pointure {variant}", "Don Quichosse; Art of Soule",
               "38; 39; 40; 41; 42", 30, 55),
            _t("Baskets {brand} pointure {variant}", "Veja", "39; 40; 41; 42; 43", 100, 150),
        ),
        weight=0.6,
    ),
    Trade(
        "bijouterie", "Bijouterie",
        {"tout_toulouse": "Bijouterie", "toulouse_boutiques": "Bijouteries & Horlogeries",
         "clickandco": "bijouterie", "dansmazone": "Mode > Bijoux et montres",
         "geolocal31": "Bijouterie-horlogerie", "mavillemonshopping": "Bijoux"},
        ("Bijouterie {surname}", "L'Écrin {de_place}", "Or & Argent {surname}"),
        (
            _t("Croix occitane argent {variant}", "", "petite; moyenne; grande", 35, 120),
            _t("Montre {brand} {variant}", "Lip; Herbelin", "acier; doré", 120, 350,
               kind="colour"),
        ),
        weight=0.5,
    ),
    Trade(
        "opticien", "Opticien",
        {"tout_toulouse": "Opticien", "toulouse_boutiques": "Opticiens",
         "clickandco": "opticien", "dansmazone": "Santé > Optique",
         "geolocal31": "Opticien", "mavillemonshopping": "Optique"},
        ("Optique {surname}", "Optique {de_place}", "L'Œil {adj_m}", "Optic {surname}"),
        (
            _t("Lunettes de soleil {brand} {variant}", "Vuarnet", "noir; écaille; bleu", 90,
               220, kind="colour"),
            _t("Solution lentilles {brand} {variant}", "Menicare", "100 ml; 360 ml", 8, 19),
        ),
        weight=0.6,
    ),
    Trade(
        "quincaillerie", "Quincaillerie-Bricolage",
        {"tout_toulouse": "Bricolage", "toulouse_boutiques": "Quincailleries",
         "clickandco": "quincaillerie", "dansmazone": "Maison > Bricolage",
         "geolocal31": "Quincaillerie", "mavillemonshopping": "Bricolage"},
        ("Quincaillerie {surname}", "Bricolage {de_place}", "L'Outil {adj_m}"),
        (
            _t("Ampoule LED E27 {variant}", "{brand}", "806 lm; 1055 lm", 4, 9),
            _t("Boîte de vis bois {variant}", "{brand}", "4x30 mm; 4x40 mm; 5x50 mm", 5, 11),
            _t("Marteau menuisier {brand}", "Leborgne", "", 15, 28),
        ),
        weight=0.5,
    ),
    Trade(
        "jouets", "Jouets",
        {"tout_toulouse": "Jouets", "toulouse_boutiques": "Jouets & Jeux",
         "clickandco": "jouets", "dansmazone": "Loisirs > Jeux et jouets",
         "geolocal31": "Jeux-jouets", "mavillemonshopping": "Jeux"},
        ("Le Coffre à Jouets", "Jouets {surname}", "La Ludothèque {de_place}",
         "Il était une fois {place}"),
        (
            _t("Puzzle Toulouse {variant}", "{brand}", "500 pièces; 1000 pièces", 12, 25),
            _t("Jeu de société {brand}", "Dixit; Dobble; 7 Wonders; Carcassonne", "", 15, 45),
            _t("Peluche Ours {brand} {variant}", "Moulin Roty", "25 cm; 40 cm", 20, 45),
        ),
        weight=0.5,
    ),
    Trade(
        "sport", "Sport",
        {"tout_toulouse": "Sport", "toulouse_boutiques": "Sports & Loisirs",
         "clickandco": "sport", "dansmazone": "Loisirs > Sport",
         "geolocal31": "Articles de sport", "mavillemonshopping": "Sport"},
        ("Sport {surname}", "L'Échappée {adj_f}", "Rugby Shop {place}"),
        (
            _t("Maillot Stade Toulousain {variant}", "Le Coq Sportif", "S; M; L; XL", 70, 95),
            _t("Ballon de rugby {brand} taille {variant}", "Gilbert", "4; 5", 18, 35),
        ),
        weight=0.5,
    ),
    Trade(
        "decoration", "Décoration",
        {"tout_toulouse": "Déco", "toulouse_boutiques": "Décoration & Maison",
         "clickandco": "decoration", "dansmazone": "Maison > Décoration",
         "geolocal31": "Décoration", "mavillemonshopping": "Maison"},
        ("Maison {adj_f}", "L'Atelier de {first}", "Déco {surname}", "Intérieur {adj_m}"),
        (
            _t("Bougie parfumée {brand} {variant}", "Durance", "figue; lavande; violette", 15,
               30, kind="colour"),
            _t("Brique toulousaine décorative {variant}", "", "rose; ocre", 12, 25, gtin=False,
               kind="colour"),
        ),
        weight=0.6,
    ),
    Trade(
        "cosmetiques", "Beauté-Cosmétiques",
        {"tout_toulouse": "Beauté", "toulouse_boutiques": "Beauté & Parfums",
         "clickandco": "beaute_cosmetiques", "dansmazone": "Santé > Beauté et bien-être",
         "geolocal31": "Parfumerie-cosmétiques", "mavillemonshopping": "Beauté"},
        ("Parfumerie {surname}", "Beauté {de_place}", "L'Instant {adj_m}"),
        (
            _t("Savon de Marseille {brand} {variant}", "Marius Fabre", "100 g; 300 g", 3, 8),
            _t("Crème mains {brand} {variant}", "Nuxe; L'Occitane", "30 ml; 75 ml; 150 ml", 6,
               22),
            _t("Eau de toilette violette {variant}", "Berdoues", "50 ml; 100 ml", 18, 35),
        ),
        weight=0.6,
    ),
    Trade(
        "papeterie", "Papeterie",
        {"tout_toulouse": "Papeterie", "toulouse_boutiques": "Papeteries",
         "clickandco": "papeterie", "dansmazone": "Culture > Papeterie",
         "geolocal31": "Papeterie", "mavillemonshopping": "Papeterie"},
        ("Papeterie {surname}", "Le Carnet {adj_m}", "Papeterie {de_place}"),
        (
            _t("Carnet {brand} {variant}", "Clairefontaine; Rhodia", "A5; A4", 4, 12),
            _t("Stylo plume {brand} {variant}", "Waterman", "bleu; noir", 25, 60,
               kind="colour"),
        ),
        weight=0.4,
    ),
    Trade(
        "informatique", "Informatique",
        {"tout_toulouse": "Informatique", "toulouse_boutiques": "Informatique & Téléphonie",
         "clickandco": "informatique", "dansmazone": "High-tech > Informatique",
         "geolocal31": "Informatique-téléphonie", "mavillemonshopping": "High-tech"},
        ("Info {surname}", "Le Repaire Numérique", "PC Services {place}"),
        (
            _t("Câble USB-C {variant}", "{brand}", "1 m; 2 m", 9, 19),
            _t("Clé USB {brand} {variant}", "SanDisk", "32 Go; 64 Go; 128 Go", 8, 25),
        ),
        weight=0.4,
    ),
    Trade(
        "cafe_the", "Torréfacteur-Café-Thé",
        {"tout_toulouse": "Café et thé", "toulouse_boutiques": "Cafés & Thés",
         "clickandco": "cafe_the", "dansmazone": "Alimentation > Cafés et thés",
         "geolocal31": "Torréfacteur", "mavillemonshopping": "Café & thé"},
        ("Brûlerie {surname}", "Cafés {surname}", "La Maison du Thé {place}"),
        (
            _t("Café en grains {brand} {variant}", "Cafés Bibal; Cafés Méo", "250 g; 1 kg", 6,
               25),
            _t("Thé vert {brand} {variant}", "Dammann Frères", "100 g; 250 g", 8, 18),
        ),
        weight=0.4,
    ),
    Trade(
        "velo", "Cycles",
        {"tout_toulouse": "Vélos", "toulouse_boutiques": "Cycles & Vélos",
         "clickandco": "cycles", "dansmazone": "Loisirs > Vélos",
         "geolocal31": "Cycles", "mavillemonshopping": "Vélo"},
        ("Cycles {surname}", "Vélo {adj_m}", "L'Atelier du Cycliste"),
        (
            _t("Chambre à air {brand} {variant}", "Michelin", "700x25; 700x32; 26x2", 6, 12),
            _t("Antivol U {brand}", "Abus", "", 35, 70),
        ),
        weight=0.3,
    ),
    Trade(
        "disquaire", "Disquaire",
        {"tout_toulouse": "Disques", "toulouse_boutiques": "Disquaires",
         "clickandco": "disquaire", "dansmazone": "Culture > Musique",
         "geolocal31": "Disquaire", "mavillemonshopping": "Musique"},
        ("Disques {surname}", "Le Sillon {adj_m}", "Vinyl Shop {place}"),
        (
            _t("{brand} vinyle", "Claude Nougaro — Nougayork; Zebda — Essence ordinaire;"
               " Big Flo & Oli — La Cour des grands; Cabrel — Sarbacane", "", 20, 35),
        ),
        weight=0.3,
    ),
)

TRADES_BY_KEY: dict[str, Trade] = {t.key: t for t in TRADES}

SURNAMES = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
    "Dupont Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc Guerin "
    "Muller Henry Roussel Nicolas Perrin Morin Mathieu Clement Gauthier Dumont Lopez "
    "Fontaine Chevalier Robin Masson Sanchez Gerard Nguyen Boyer Denis Lemaire Duval "
    "Joly Gautier Roger Roche Roy Noel Meyer Lucas Meunier Jean Perez Marchand Dufour "
    "Blanchard Marie Barbier Brun Dumas Brunet Schmitt Leroux Colin Fernandez Pierre "
    "Renard Arnaud Rolland Caron Aubert Giraud Leclerc Vidal Bourgeois Renaud Lemoine "
    "Picard Gaillard Philippe Lacroix Dupuis Olivier Louis Charpentier Moulin Guillaume "
    "Rey Carré Delmas Cazeneuve Baylac Soulé Carrère Pujol Bousquet Lafont Castaing "
    "Sabatier Fabre Cassagne Escudié Vergnes Azéma Bénazet Cabanis Daguzan Esquirol"
).split()

FIRST_NAMES = (
    "Marie Jeanne Camille Léa Manon Chloé Inès Louise Jade Emma Lucie Sarah Julie Claire "
    "Pierre Jean Louis Paul Lucas Hugo Arthur Jules Théo Nathan Léo Mathis Antoine Julien"
).split()

# Adjectives as (masculine, feminine).
ADJECTIVES = tuple(tuple(pair.split("/")) for pair in (
    "Gourmand/Gourmande Doré/Dorée Toulousain/Toulousaine Occitan/Occitane Gascon/Gasconne "
    "Rose/Rose Vermeil/Vermeille Authentique/Authentique Singulier/Singulière "
    "Buissonnier/Buissonnière Curieux/Curieuse Tranquille/Tranquille Lumineux/Lumineuse "
    "Voyageur/Voyageuse Bleu/Bleue"
).split())

CHAIN_NAMES = (
    ("Le Fournil d'Occitanie", "boulangerie"),
    ("Cave & Co", "caviste"),
    ("Optique Garonne", "opticien"),
    ("La Fromagerie des Pyrénées", "fromagerie"),
    ("Biocoop Terre d'Oc", "epicerie_fine"),
    ("Le Chapitre Occitan", "librairie"),
    ("Cycles Cazeneuve", "velo"),
)

LEGAL_FORMS = ("SARL", "SAS", "EURL", "SASU", "EI", "SNC")

SERVICES = ("click_collect", "delivery", "local_delivery")
