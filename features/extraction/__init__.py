"""Feature extraction: PCA, feature hashing, TF-IDF text features, polynomials and interactions.

>>> from features.extraction import ColumnPCA
>>> ColumnPCA(inputCols=["a", "b"], outputCol="pc", k=1).getOrDefault("k")
1

MLlib already has most of these stages, so they are registered as they are:
``pca`` (vector in), ``feature_hasher``, ``tokenizer``, ``regex_tokenizer``,
``stop_words_remover``, ``ngram``, ``hashing_tf``, ``count_vectorizer``, ``idf`` (TF-IDF is
``tokenizer`` -> ``hashing_tf`` -> ``idf``), ``polynomial_expansion``, ``interaction`` and
``vector_assembler``. ``column_pca`` adds PCA on plain columns with the explained variance kept on
the model.
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
    RegexTokenizer,
    StopWordsRemover,
    Tokenizer,
    VectorAssembler,
)

from features.extraction.column_pca import ColumnPCA, ColumnPCAModel
from features.registry import register_mllib

_MLLIB = {
    "pca": PCA,
    "feature_hasher": FeatureHasher,
    "tokenizer": Tokenizer,
    "regex_tokenizer": RegexTokenizer,
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

__all__ = ["ColumnPCA", "ColumnPCAModel"]
