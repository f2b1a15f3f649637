"""Outlier family: cap (Winsorizer) or drop (OutlierTrimmer) values beyond fitted tail bounds.

>>> from features.outliers import Winsorizer
>>> df = spark.createDataFrame([(float(x),) for x in (1, 2, 3, 4, 5, 100)], "amount double")
>>> model = Winsorizer(inputCols=["amount"], cappingMethod="iqr", fold=1.5).fit(df)
>>> [r.amount for r in model.transform(df).collect()]
[1.0, 2.0, 3.0, 4.0, 5.0, 9.5]
"""

from features.outliers.outlier_trimmer import OutlierTrimmer, OutlierTrimmerModel
from features.outliers.winsorizer import Winsorizer, WinsorizerModel

__all__ = ["OutlierTrimmer", "OutlierTrimmerModel", "Winsorizer", "WinsorizerModel"]
