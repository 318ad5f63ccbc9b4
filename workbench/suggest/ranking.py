"""Ranking a corpus's units for one code (pure: arrays in, scores out).

What a ranking knows about the code, from one coder's work only (`Evidence`):
- the code's own text (name, definition, inclusion criteria, example) and its vector;
- positives: units this coder coded with the code (and suggestions they accepted);
- negatives: units this coder coded with codes unrelated to it (not its ancestors or
  descendants), and suggestions they rejected.

Methods (each measured by `workbench suggest-eval --ablation`; numbers in docs/benchmarks.md):
- `centroid`: cosine of each sentence to one query vector (code text and positives): the baseline;
- `context`: the same on context vectors (sentence with its neighbours and turn);
- `classifier`: logistic regression on context vectors, positives (with the code's text) against
  negatives; falls back to `context` while the coder has no negatives;
- `tfidf`: TF-IDF cosine of each sentence to the code text and positive passages;
- `workbench` (used by suggestions): standardised `classifier` + ½ standardised `tfidf`. Words
  and meanings fail differently: the classifier finds paraphrases, TF-IDF the coder's exact
  vocabulary; together they beat either alone on the sample study.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

METHODS = ("workbench", "centroid", "context", "classifier", "tfidf", "random")
TFIDF_WEIGHT = 0.5
MAX_NEGATIVES = 1000  # a sample is enough for the classifier and keeps ranking fast


@dataclass
class Evidence:
    code_text: str
    code_vector: np.ndarray
    positives: np.ndarray  # unit indices
    negatives: np.ndarray


class TextIndex:
    """TF-IDF over the units' sentences, fitted once per corpus."""

    def __init__(self, texts: list[str]):
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
        try:
            self.matrix = self.vectorizer.fit_transform(texts)
        except ValueError:  # no words at all (empty or stop-words-only corpus)
            self.vectorizer, self.matrix = None, None
        self.texts = texts

    def query_vector(self, query: str):
        """`query` in TF-IDF space (None when the corpus has no words)."""
        return None if self.vectorizer is None else self.vectorizer.transform([query])

    def scores(self, query: str) -> np.ndarray:
        vector = self.query_vector(query)
        if vector is None:
            return np.zeros(len(self.texts))
        return (self.matrix @ vector.T).toarray().ravel()

    def shared_terms(self, query_vector, unit: int, limit: int = 3) -> list[str]:
        """The words that make `unit` close to a query (see `query_vector`), strongest first."""
        if query_vector is None:
            return []
        product = self.matrix[unit].multiply(query_vector).tocoo()
        order = np.argsort(-product.data)[:limit + 3]
        names = self.vectorizer.get_feature_names_out()
        words = [str(names[product.col[i]]) for i in order if product.data[i] > 0]
        return [w for w in words if len(w) > 3][:limit]  # not contraction stubs such as "isn", "don"


def query_text(evidence: Evidence, sentences: list[str]) -> str:
    return " ".join([evidence.code_text] + [sentences[i] for i in evidence.positives])


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    return v / norm if norm else v


def centroid_scores(vectors: np.ndarray, evidence: Evidence) -> np.ndarray:
    query = 0.5 * evidence.code_vector
    if len(evidence.positives):
        query = query + vectors[evidence.positives].mean(0)
    return vectors @ _unit(query)


def classifier_scores(context: np.ndarray, evidence: Evidence, seed: int = 0) -> np.ndarray:
    negatives = evidence.negatives
    if len(negatives) == 0:
        return centroid_scores(context, evidence)
    if len(negatives) > MAX_NEGATIVES:
        negatives = np.random.default_rng(seed).choice(negatives, MAX_NEGATIVES, replace=False)
    features = np.vstack([context[evidence.positives], evidence.code_vector[None, :], context[negatives]])
    labels = np.r_[np.ones(len(evidence.positives) + 1), np.zeros(len(negatives))]
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=500)
    model.fit(features, labels)
    return model.decision_function(context)


def standardised(v: np.ndarray) -> np.ndarray:
    sd = v.std()
    return (v - v.mean()) / sd if sd > 0 else v - v.mean()


def scores(method: str, sentence: np.ndarray, context: np.ndarray, index: TextIndex,
           evidence: Evidence, seed: int = 0) -> np.ndarray:
    """One score per unit (higher is better) by `method`."""
    if method == "centroid":
        return centroid_scores(sentence, evidence)
    if method == "context":
        return centroid_scores(context, evidence)
    if method == "classifier":
        return classifier_scores(context, evidence, seed)
    if method == "tfidf":
        return index.scores(query_text(evidence, index.texts))
    if method == "random":
        return np.random.default_rng(seed).random(len(index.texts))
    if method == "workbench":
        return (standardised(classifier_scores(context, evidence, seed))
                + TFIDF_WEIGHT * standardised(index.scores(query_text(evidence, index.texts))))
    raise ValueError(f"unknown ranking method {method!r}; expected one of {', '.join(METHODS)}")


def top(scores_: np.ndarray, candidates: np.ndarray, k: int | None) -> np.ndarray:
    """Indices of the best `k` candidates (boolean mask), best first; ties keep text order."""
    chosen = np.flatnonzero(candidates)
    if k is not None and k < len(chosen):  # only the best k need sorting
        kth = np.partition(-scores_[chosen], k - 1)[k - 1]
        chosen = chosen[-scores_[chosen] <= kth]
    order = chosen[np.argsort(-scores_[chosen], kind="stable")]
    return order if k is None else order[:k]


def average_precision(ranked_relevance: np.ndarray, total_relevant: int) -> float:
    """Average precision of a ranking given each position's relevance (0/1)."""
    if total_relevant == 0:
        return 0.0
    hits = np.cumsum(ranked_relevance)
    precision = hits / np.arange(1, len(ranked_relevance) + 1)
    return float((precision * ranked_relevance).sum() / total_relevant)


def precision_at(ranked_relevance: np.ndarray, k: int = 10) -> float:
    return float(np.sum(ranked_relevance[:k]) / k)
