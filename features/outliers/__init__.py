"""Outlier family: cap (Winsorizer) or drop (OutlierTrimmer) values beyond fitted tail bounds.

>>> from features.outliers import Winsorizer  # doctest: +SKIP
"""

from features.outliers.outlier_trimmer import OutlierTrimmer, OutlierTrimmerModel
from features.outliers.winsorizer import Winsorizer, WinsorizerModel

__all__ = ["OutlierTrimmer", "OutlierTrimmerModel", "Winsorizer", "WinsorizerModel"]
