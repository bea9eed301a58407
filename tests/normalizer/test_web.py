import pytest

from normalizer.web import normalize_email, website_host


@pytest.mark.parametrize("raw, host", [
    ("https://www.boulangerie-dupont.fr/", "boulangerie-dupont.fr"),
    ("HTTP://WWW.Boulangerie-Dupont.FR/contact?x=1#a", "boulangerie-dupont.fr"),
    ("www.boulangerie-dupont.fr", "boulangerie-dupont.fr"),
    ("boulangerie-dupont.fr/boutique", "boulangerie-dupont.fr"),
    ("http://boulangerie-dupont.fr:8080", "boulangerie-dupont.fr"),
    ("https://shop.boulangerie-dupont.fr", "shop.boulangerie-dupont.fr"),
    ("https://monshop.wixsite.com/site", "monshop.wixsite.com"),
    ("https://café-dupont.fr", "café-dupont.fr"),
    ("https://fr-fr.facebook.com/BoulangerieDupont/", "facebook.com/boulangeriedupont"),
    ("https://m.facebook.com/pages/Dupont/123", "facebook.com/dupont"),
    ("https://www.instagram.com/cave_des_carmes/", "instagram.com/cave_des_carmes"),
])
def test_website_host(raw: str, host: str) -> None:
    assert website_host(raw) == (host, None)


@pytest.mark.parametrize("raw", ["boulangerie dupont", "http://localhost", "ftp://x.fr",
                                 "https://www.facebook.com/", "http://1.2.3.4/", "http://"])
def test_invalid_website(raw: str) -> None:
    assert website_host(raw) == (None, "invalid_website")


def test_missing_website() -> None:
    assert website_host(None) == (None, None) and website_host(" ") == (None, None)


@pytest.mark.parametrize("raw, email", [
    ("Contact@Dupont.FR", "contact@dupont.fr"),
    ("mailto:contact@dupont.fr", "contact@dupont.fr"),
    ("<contact@dupont.fr>", "contact@dupont.fr"),
    ("n/a; contact@dupont.fr", "contact@dupont.fr"),
])
def test_email(raw: str, email: str) -> None:
    assert normalize_email(raw) == (email, None)


@pytest.mark.parametrize("raw", ["contact@dupont", "contact.dupont.fr", "a@@b.fr", "a..b@c.fr"])
def test_invalid_email(raw: str) -> None:
    assert normalize_email(raw) == (None, "invalid_email")


def test_facebook_profile_pages_keep_their_id() -> None:
    assert website_host("https://www.facebook.com/profile.php?id=10005") == (
        "facebook.com/10005", None)
