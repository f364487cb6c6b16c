#!/usr/bin/python3
"""Writes the messy CSV `bench/compare_profile.sh` profiles: ids, integers, floats with missing
cells ("" and "NA"), text categories, yes/no, a skewed column with outliers, an imbalanced label
and repeated rows, in blocks so the generator's memory stays small.

usage: make_profile_data.py OUT.csv [MEGABYTES]   (default 1100: a little over 1 GB)
"""
import sys

import numpy as np
import pandas as pd

out = sys.argv[1]
target = int(sys.argv[2]) * 1_000_000 if len(sys.argv) > 2 else 1_100_000_000
rng = np.random.default_rng(42)
cities = np.array(["Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg",
                   "Montpellier", "Bordeaux", "Lille", "Rennes", "Reims", "Toulon", "Grenoble",
                   "Dijon", "Angers", "Nimes", "Brest", "Tours", "Amiens"])
block, written, first_id, header = 500_000, 0, 0, True
with open(out, "w") as f:
    while written < target:
        n = block
        ids = np.arange(first_id, first_id + n)
        age = rng.integers(18, 90, n).astype(object)
        age[rng.random(n) < 0.05] = ""
        income = np.round(rng.lognormal(10, 0.8, n), 2).astype(object)
        income[rng.random(n) < 0.08] = "NA"
        d = pd.DataFrame({
            "id": ids,
            "age": age,
            "income": income,
            "score": np.round(rng.normal(0, 1, n), 4),
            "city": cities[rng.zipf(1.6, n) % len(cities)],
            "segment": rng.choice(["retail", "business", "premium"], n, p=[0.7, 0.25, 0.05]),
            "member": rng.choice(["yes", "no"], n),
            "visits": rng.poisson(3, n),
            "ratio": np.round(rng.random(n), 5),
            "label": (rng.random(n) < 0.1).astype(int),
        })
        d.iloc[: n // 100] = d.iloc[n // 100: 2 * (n // 100)].values  # 1% repeated rows
        text = d.to_csv(index=False, header=header)
        f.write(text)
        written += len(text)
        first_id += n
        header = False
print(f"wrote {out}: {written / 1e6:.0f} MB, {first_id} rows")
