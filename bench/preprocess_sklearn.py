"""scikit-learn's side of bench/compare_preprocess.sh: fit_transform of the pipeline the job's
steps describe (median impute with indicators, 1%/99% clip of the numbers, most-frequent impute and
one-hot of the texts, RobustScaler over everything) on MESSY.csv, best of three.

usage: preprocess_sklearn.py MESSY.csv
"""
import sys, time
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, RobustScaler, FunctionTransformer
messy = pd.read_csv(sys.argv[1], na_values=["NA"], keep_default_na=False)
messy[["town","kind"]] = messy[["town","kind"]].replace("", np.nan)
X = messy.drop(columns="label")
num = [f"x{i}" for i in range(12)]
class Clip:
    def fit(self, X, y=None):
        X = np.asarray(X, float); self.lo, self.hi = np.percentile(X[:, :12], [1, 99], axis=0); return self
    def transform(self, X):
        X = np.array(X, float); X[:, :12] = np.clip(X[:, :12], self.lo, self.hi); return X
    def fit_transform(self, X, y=None): return self.fit(X).transform(X)
    def get_params(self, deep=True): return {}
    def set_params(self, **p): return self
pipe = make_pipeline(ColumnTransformer([
    ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), Clip()), num),
    ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(sparse_output=False)), ["town", "kind"])]),
    RobustScaler())
best = 1e9
for _ in range(3):
    t = time.perf_counter(); out = pipe.fit_transform(X); best = min(best, time.perf_counter() - t)
print(f"scikit-learn fit_transform: {best:.3f} s for {out.shape}")
