"""Refusal detection on labelled answers written for it: refusals in many wordings, and real answers,
including ones about absence that a careless rule would take for a refusal."""

from __future__ import annotations

import pytest

from playground.evaluate.refusal import THRESHOLD, detect_refusal

REFUSALS = [
    "I don't know.",
    "I do not know the answer to that question.",
    "I'm not sure what the warranty period for the KESTO-4 is.",
    "I cannot find that in the provided context.",
    "I can't determine the launch date from the passages.",
    "The context does not mention a product called ORBIT-7.",
    "The documents don't say when the Tarvossa office opened.",
    "There is no information about a hotel limit for Quellbrook.",
    "This is not mentioned in the provided text.",
    "Unfortunately, I don't have details on that.",
    "I'm sorry, but I am unable to answer this question.",
    "Sorry, that isn't covered.",
    "Answer: unknown (Source: none)",
    "The release date is not specified.",
    "No information is available about the VELT-2 sensor.",
    "The given passages do not contain the price of the BRASK-3.",
    "I am unable to locate that figure.",
    "",
    "I really don't know.",
    "That's not something the text tells us.",
]
ANSWERS = [
    "Answer: 2 October 2023 (Source: product_catalog.pdf)",
    "The GALE-9 went on sale on 2 October 2023.",
    "There is no charge for returns within 30 days.",
    "The hotel limit for Zurich is CHF 220 per night.",
    "Nightwren Instruments was established on 9 March 2011.",
    "The product is not available in Canada; it ships to the EU only.",
    "Refunds are issued within 14 days of receiving the item.",
    "The warranty lasts 24 months from the date of purchase.",
    "It costs EUR 349 and comes with a two-year warranty.",
    "Support answers within one business day.",
    "No, the firmware update does not require a reboot.",
    "The head office is at Lindenwerf 27, 9000 Ghent, Belgium.",
    "Paris is the capital of France.",
    "You must not ship batteries by air.",
    "Answer: 45 days (Source: NW-POL-003)",
    "The KESTO-4 went on sale in March 2022.",
    "Version 4.3.0 was released on 10 September 2024.",
    "Employees do not need approval for trips under EUR 500.",
]


@pytest.fixture(scope="module")
def embed_model():
    from playground.embeddings import embedding_model

    return embedding_model("all-MiniLM-L6-v2")


def test_rules_alone_on_labelled_answers() -> None:
    missed = [t for t in REFUSALS if not detect_refusal(t).refused]
    false = [t for t in ANSWERS if detect_refusal(t).refused]
    assert not false, f"answers taken for refusals: {false}"
    # The rules alone catch most refusals; the one in unusual words is left for the similarity check.
    assert len(missed) <= 2, f"refusals the rules missed: {missed}"


def test_rules_and_similarity_on_labelled_answers(embed_model) -> None:
    checks = {t: detect_refusal(t, embed_model) for t in REFUSALS + ANSWERS}
    missed = [t for t in REFUSALS if not checks[t].refused]
    false = [(t, checks[t].reason) for t in ANSWERS if checks[t].refused]
    assert not missed, f"refusals missed: {[(t, checks[t].reason) for t in missed]}"
    assert not false, f"answers taken for refusals: {false}"
    for text, check in checks.items():  # every decision explains itself
        assert check.reason and (check.refused == (text in REFUSALS))
    similar = [c.reason for c in checks.values() if c.reason.startswith("similar")]
    assert all(float(r.split("(")[1].split(")")[0]) >= THRESHOLD for r in similar)
