"""The learned model as a plain object: JSON round trip, weights, renderings."""

from __future__ import annotations

import functools
import json

from dedup.features import listing_key
from dedup.linker import link
from dedup.model import MatchModel, pair_key, probability, render_model, render_waterfall
from dedup.scoring import ShopScorer
from dedup.settings import load_settings
from normalizer import normalize_listing
from replicas.truth import expected_listings

SETTINGS = load_settings()


@functools.cache
def _estimated() -> MatchModel:
    listings = [normalize_listing(x) for x in expected_listings(seed=5, shops=120)]
    result = link(listings, SETTINGS)
    assert result.model is not None
    return result.model


def test_an_estimated_model_survives_json_and_says_where_it_came_from() -> None:
    model = _estimated()
    assert model.origin == "estimated"
    again = MatchModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again == model
    shop = again.kind("shop")
    assert shop.fit["origin"] == "estimated" and shop.fit["candidate_pairs"] > 0
    # what the data says: the same phone is strong evidence, another name is against
    assert shop.weight("phone", "same") > 8
    assert shop.weight("name", "different") < 0
    assert shop.weight("geo", "by_address") == 0.0  # neutral levels weigh nothing


def test_platform_pairs_have_their_own_prior_and_unknown_pairs_fall_back() -> None:
    shop = _estimated().kind("shop")
    same = pair_key("clickandco", "clickandco")
    across = pair_key("dansmazone", "clickandco")
    assert across == "clickandco|dansmazone"
    # two listings of one platform are seldom one shop; of two platforms, often
    assert shop.table(same)[0] < shop.table(across)[0]
    assert shop.table("nowhere|nothing") == shop.table(None)


def test_a_given_model_is_used_as_is_and_not_estimated_again() -> None:
    model = _estimated()
    listings = [normalize_listing(x) for x in expected_listings(seed=6, shops=60)]
    result = link(listings, SETTINGS, model=model)
    assert result.model is model


def test_renderings_show_every_level_and_a_pair_adds_up() -> None:
    model = _estimated()
    text = render_model(model)
    assert "shops: prior" in text and "phone" in text and "hard" in text
    assert "platform pair" in text
    rows = [{"kind": "shop", "source": s, "source_id": "1", "name": "Fromagerie Xavier",
             "phone": "05 61 22 33 44", "address": "6 place Victor-Hugo", "postcode": "31000"}
            for s in ("clickandco", "dansmazone")]
    a, b = (normalize_listing(r) for r in rows)
    from dedup.features import TokenStats, shop_features  # noqa: PLC0415 - test helper

    scorer = ShopScorer(SETTINGS.shops, TokenStats([a.name_tokens, b.name_tokens]),
                        model.kind("shop"))
    score = scorer.score(shop_features(a), shop_features(b), explain=True)
    assert score.parts[0][0] == "prior"
    assert abs(sum(w for _, _, w in score.parts) - score.total) < 0.01
    waterfall = render_waterfall(score.parts, SETTINGS.shops.threshold)
    assert "phone" in waterfall and "-> match" in waterfall
    assert score.a == listing_key("clickandco", "1")


def test_probability_of_a_weight() -> None:
    assert probability(0.0) == 0.5
    assert probability(100.0) == 1.0 and probability(-100.0) == 0.0
    assert abs(probability(3.0) - 8 / 9) < 1e-9


def test_the_priors_model_needs_no_data() -> None:
    model = MatchModel.from_priors(SETTINGS)
    assert model.origin == "priors"
    assert model.kind("offer").weight("gtin", "same") > 0
