"""Writes the tables of bench/compare_preprocess.sh: a messy one and the same rows cleaned.

usage: make_preprocess_data.py ROWS MESSY.csv CLEAN.csv

MESSY.csv has 12 numeric columns (8% of their cells empty or "NA", a few outliers) and two text
columns (one with 1% missing), and a 0/1 label. CLEAN.csv holds what bench/jobs/preprocess_*.json's
steps turn them into, computed here with scikit-learn (SimpleImputer median + indicator on the
numbers, most-frequent on the text, one-hot, 1%/99% clip, RobustScaler), so a job without
preprocessing on it trains a model of the same width on the same values.
"""
import sys

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, RobustScaler

rows, messy_path, clean_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = np.random.default_rng(7)
numbers = rng.normal(size=(rows, 12)) * rng.uniform(1, 100, size=12)
score = numbers[:, :4] @ np.array([0.02, -0.03, 0.01, 0.05])
towns = np.array(["Alder", "Birch", "Cedar", "Docklands", "Elm", "Fir"])
kinds = np.array(["flat", "house", "terrace"])
town = towns[rng.integers(0, len(towns), rows)]
kind = kinds[rng.integers(0, len(kinds), rows)]
label = ((score + (town == "Cedar") + rng.normal(size=rows)) > 0.5).astype(int)
outliers = rng.random(size=numbers.shape) < 0.001
numbers[outliers] *= 1000
gaps = rng.random(size=numbers.shape) < 0.08
table = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(12)])
table = table.mask(gaps)
table["town"] = np.where(rng.random(rows) < 0.01, None, town)
table["kind"] = kind
table["label"] = label
table.to_csv(messy_path, index=False, float_format="%.4f", na_rep="NA")

# The same pipeline, column for column as the job spec orders it: the numbers imputed with their
# indicator columns after them, the texts one-hot, the numbers clipped, everything robust-scaled.
messy = pd.read_csv(messy_path, na_values=["NA"], keep_default_na=False)
num = messy[[f"x{i}" for i in range(12)]].to_numpy()
filled = SimpleImputer(strategy="median", add_indicator=True).fit_transform(num)
lo, hi = np.percentile(filled[:, :12], [1, 99], axis=0)
filled[:, :12] = np.clip(filled[:, :12], lo, hi)
texts = messy[["town", "kind"]].replace("", np.nan)
texts = SimpleImputer(strategy="most_frequent").fit_transform(texts)
hot = OneHotEncoder(sparse_output=False).fit_transform(texts)
features = RobustScaler().fit_transform(np.hstack([filled, hot]))
clean = pd.DataFrame(features, columns=[f"f{i}" for i in range(features.shape[1])])
clean["label"] = messy["label"]
clean.to_csv(clean_path, index=False, float_format="%.5f")
print(f"wrote {rows} rows: {messy_path} and {clean_path} ({features.shape[1]} features)",
      file=sys.stderr)
