"""Feature extraction: PCA, feature hashing, TF-IDF text features, polynomials and interactions.

>>> from features.extraction import ColumnPCA
>>> ColumnPCA(inputCols=["a", "b"], outputCol="pc", k=1).getOrDefault("k")
1

MLlib already has most of these stages, so they are registered as they are: ``pca`` (vector
in), ``feature_hasher``, ``stop_words_remover``, ``ngram``, ``hashing_tf``, ``count_vectorizer``,
``idf`` (TF-IDF is ``tokenizer`` -> ``hashing_tf`` -> ``idf``), ``polynomial_expansion``,
``interaction`` and ``vector_assembler``. ``column_pca`` adds PCA on plain columns with the
explained variance kept on the model; ``tokenizer`` and ``regex_tokenizer`` are MLlib's, rewritten
in SQL so that a null text gives null tokens instead of failing the job.
"""

from pyspark.ml.feature import (
    IDF,
    PCA,
    CountVectorizer,
    FeatureHasher,
    HashingTF,
    Interaction,
    NGram,
    PolynomialExpansion,
    StopWordsRemover,
    VectorAssembler,
)

from features.extraction.column_pca import ColumnPCA, ColumnPCAModel
from features.extraction.tokenizers import RegexTokenizer, Tokenizer
from features.registry import register_mllib

_MLLIB = {
    "pca": PCA,
    "feature_hasher": FeatureHasher,
    "stop_words_remover": StopWordsRemover,
    "ngram": NGram,
    "hashing_tf": HashingTF,
    "count_vectorizer": CountVectorizer,
    "idf": IDF,
    "polynomial_expansion": PolynomialExpansion,
    "interaction": Interaction,
    "vector_assembler": VectorAssembler,
}
for _op, _cls in _MLLIB.items():
    register_mllib(_op, _cls)

__all__ = ["ColumnPCA", "ColumnPCAModel", "RegexTokenizer", "Tokenizer"]
