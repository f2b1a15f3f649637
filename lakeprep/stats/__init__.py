"""Pure statistics over Spark DataFrames shared by features and quality (no I/O)."""
