#!/usr/bin/python3
"""The pandas side of bench/compare_profile.sh: what a Python user runs to describe a CSV file
(read_csv, describe, isna().sum(), duplicated().sum()). Prints its time and peak RSS.

usage: profile_pandas.py DATA.csv
"""
import resource
import sys
import time

import pandas as pd

start = time.perf_counter()
d = pd.read_csv(sys.argv[1])
described = d.describe(include="all")
missing = d.isna().sum()
duplicates = int(d.duplicated().sum())
seconds = time.perf_counter() - start
print(described.to_string(), file=sys.stderr)
print(f"rows={len(d)} duplicates={duplicates} missing={int(missing.sum())}", file=sys.stderr)
print(f"pandas seconds={seconds:.2f} peak_rss_mb="
      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
