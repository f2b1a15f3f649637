"""Pure statistics over Spark DataFrames (no I/O): the one list of column types and what counts
as missing (``types``), PSI binning shared by feature selection and drift (``psi``), column
profiles drawn by the run report (``profile``). Anything may import it, ``features`` and
``quality`` included.
"""
