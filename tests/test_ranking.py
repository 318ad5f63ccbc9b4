"""The pure ranking functions: measures against worked examples, methods on small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.suggest.ranking import (
    Evidence,
    TextIndex,
    average_precision,
    precision_at,
    scores,
    standardised,
    top,
)


def test_average_precision_worked_example():
    # Manning, Raghavan & Schütze, Introduction to Information Retrieval, ch. 8: relevant documents
    # at ranks 1, 3, 6, 9, 10 of 5 relevant in all give AP = (1 + 2/3 + 3/6 + 4/9 + 5/10) / 5.
    ranked = np.zeros(10)
    ranked[[0, 2, 5, 8, 9]] = 1
    assert average_precision(ranked, 5) == pytest.approx((1 + 2 / 3 + 3 / 6 + 4 / 9 + 5 / 10) / 5)
    # relevant items never retrieved count as zero precision
    assert average_precision(ranked, 10) == pytest.approx((1 + 2 / 3 + 3 / 6 + 4 / 9 + 5 / 10) / 10)
    assert average_precision(np.zeros(4), 0) == 0.0


def test_precision_at_ten_divides_by_ten_even_for_short_rankings():
    assert precision_at(np.array([1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1]), 10) == pytest.approx(0.3)
    assert precision_at(np.array([1, 1]), 10) == pytest.approx(0.2)


def test_top_keeps_only_candidates_best_first_and_ties_in_text_order():
    s = np.array([0.5, 0.9, 0.9, 0.1, 0.7])
    candidates = np.array([True, True, True, True, False])
    assert top(s, candidates, None).tolist() == [1, 2, 0, 3]
    assert top(s, candidates, 2).tolist() == [1, 2]


def _vectors():
    rng = np.random.default_rng(1)
    topic_a, topic_b = rng.normal(size=8), rng.normal(size=8)
    rows = [topic_a + 0.3 * rng.normal(size=8) for _ in range(6)] + [topic_b + 0.3 * rng.normal(size=8) for _ in range(6)]
    matrix = np.array(rows)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True), topic_a / np.linalg.norm(topic_a)


TEXTS = ["waiting list for the refuge", "the refuge had a waiting list", "no refuge place for months",
         "housing officer never rang", "refuge waiting was long", "months on the list",
         "school was supportive", "teachers listened to him", "the school nurse helped",
         "his teacher noticed", "school gave him space", "a teacher rang me"]


@pytest.mark.parametrize("method", ["workbench", "centroid", "context", "classifier", "tfidf"])
def test_every_method_ranks_the_seeded_topic_first(method):
    vectors, code_vector = _vectors()
    evidence = Evidence("refuge waiting list", code_vector, positives=np.array([0]), negatives=np.array([6, 7]))
    ranked = top(scores(method, vectors, vectors, TextIndex(TEXTS), evidence), np.ones(12, bool) & (np.arange(12) != 0), 4)
    assert set(ranked.tolist()) <= {1, 2, 3, 4, 5}, (method, ranked)


def test_classifier_without_negatives_falls_back_to_the_centroid():
    vectors, code_vector = _vectors()
    evidence = Evidence("x", code_vector, positives=np.array([0]), negatives=np.array([], dtype=int))
    index = TextIndex(TEXTS)
    assert np.allclose(scores("classifier", vectors, vectors, index, evidence),
                       scores("context", vectors, vectors, index, evidence))


def test_unknown_method_is_refused():
    vectors, code_vector = _vectors()
    with pytest.raises(ValueError, match="unknown ranking method"):
        scores("bm25", vectors, vectors, TextIndex(TEXTS), Evidence("x", code_vector, np.array([0]), np.array([1])))


def test_shared_terms_explain_a_tfidf_match():
    index = TextIndex(TEXTS)
    query = index.query_vector("refuge waiting list")
    terms = index.shared_terms(query, 1)
    assert set(terms) == {"refuge", "waiting", "list"}
    assert index.shared_terms(query, 7) == []


def test_a_corpus_without_words_still_ranks():
    index = TextIndex(["the", "and", "of"])
    assert index.scores("anything").tolist() == [0.0, 0.0, 0.0]
    assert index.shared_terms(index.query_vector("anything"), 0) == []


def test_standardised_has_zero_mean_and_unit_spread_and_survives_constants():
    v = standardised(np.array([1.0, 2.0, 3.0, 4.0]))
    assert v.mean() == pytest.approx(0) and v.std() == pytest.approx(1)
    assert standardised(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]
