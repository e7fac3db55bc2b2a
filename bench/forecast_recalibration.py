"""Can any choice of quantile levels bring every calibration family into range?

``bench/forecast_calibration.py --csv OUT`` records, per trial, where the true date fell in
the default forecast's predictive distribution (``default|pit``: the share of simulated
dates before the truth). The 80% interval is the pair of quantiles (0.10, 0.90); coverage
of any other pair (a, b) is the share of trials with ``a <= pit <= b``. This script searches
every pair on a grid of levels (steps of ``--step``), once for all trials and once with a
separate pair for the trials that identify their monthly decline (posterior SD <= 3%) and
those that do not, and reports the pair that comes closest to putting every family in the
goal (78-85% for the 80% interval, 87-94% for the 90% one): if even the best pair misses,
no re-labelling of the forecast's quantiles can meet the goal in every family, and what is
left is how much the trial's own data can tell the families apart.

Run:  python bench/forecast_calibration.py --methods default --csv /tmp/pit.csv
      python bench/forecast_recalibration.py /tmp/pit.csv
      python bench/forecast_recalibration.py --small      (CI: a small calibration run first)

Measured (``forecast_calibration.py --methods default --csv``: 7 families x 300 trials, seed
20250806, n_sims 1000, 669 s on one core; this search, steps of 0.01; coverage per family):

    interval  levels                              closing constant 2%    4%    8%    mixed stagg.
    80%       0.10-0.90 (as forecast)             0.843   0.837   0.887 0.897 0.820 0.837 0.840
    80%       0.12-0.88 (best one pair)           0.807   0.797   0.860 0.853 0.787 0.773 0.797
    90%       0.05-0.95 (as forecast)             0.923   0.940   0.950 0.967 0.917 0.927 0.920
    90%       0.06-0.93 (best one pair)           0.903   0.923   0.930 0.937 0.883 0.897 0.900

(the coverage of the forecast's own pair agrees with the calibration table within 0.015:
that table compares at day resolution). The same search on 2,100 other trials (``--seed 77``,
639 s with ``--jobs 2``):

    80%       0.10-0.90 (as forecast)             0.863   0.863   0.917 0.880 0.763 0.780 0.823
    80%       0.12-0.88 (seed 20250806's best)    0.813   0.817   0.897 0.870 0.727 0.747 0.797
    90%       0.05-0.95 (as forecast)             0.933   0.953   0.950 0.940 0.873 0.883 0.947
    90%       0.06-0.93 (seed 20250806's best)    0.920   0.927   0.940 0.923 0.830 0.837 0.913

The pairs chosen on one seed do not hold on the other: a family's coverage moves by up to
0.06 between two sets of 300 trials (the binomial SE of one family's coverage is ~0.023,
of the difference of two sets ~0.033), so a re-labelling fitted to one set fits its
noise. At 300 trials per family even a forecast whose true coverage is 81.5% everywhere
would show all seven families inside 78-85% only 47% of the time (binomial error alone).
Pooled over both seeds the 2% and 4% declines over-cover (0.90 / 0.95, 0.89 / 0.95 at
80% / 90%).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

GOALS = {0.8: (0.78, 0.85), 0.9: (0.87, 0.94)}
IDENTIFIED_SD = 0.03  # posterior SD of the monthly decline at or below which it is "known"


def coverage_table(pit: np.ndarray, family: np.ndarray, levels: np.ndarray) -> tuple:
    """Per pair (a, b) of levels (a < b) and family: how many trials have a <= pit <= b.

    >>> counts, pairs, names = coverage_table(
    ...     np.array([0.05, 0.5, 0.95]), np.array(["x", "x", "y"]), np.array([0.1, 0.9]))
    >>> pairs.tolist(), names.tolist(), counts.tolist()
    ([[0.1, 0.9]], ['x', 'y'], [[1, 0]])
    """
    names, codes = np.unique(family, return_inverse=True)
    a, b = np.triu_indices(len(levels), k=1)
    pairs = np.column_stack([levels[a], levels[b]])
    inside = (pit[None, :] >= pairs[:, :1]) & (pit[None, :] <= pairs[:, 1:])
    counts = np.stack([inside[:, codes == k].sum(axis=1) for k in range(len(names))], axis=1)
    return counts, pairs, names


def _miss(cover: np.ndarray, goal: tuple[float, float]) -> np.ndarray:
    """How far the worst family lies outside the goal (0 = every family inside)."""
    low, high = goal
    return np.maximum(np.maximum(low - cover, cover - high), 0.0).max(axis=-1)


def best_pair(frame: pd.DataFrame, goal: tuple[float, float], step: float) -> dict:
    """The one pair of levels for all trials closest to the goal in every family."""
    levels = np.round(np.arange(0.0, 1.0 + step / 2, step), 6)
    counts, pairs, names = coverage_table(
        frame["pit"].to_numpy(float), frame["family"].to_numpy(str), levels
    )
    totals = frame["family"].value_counts().reindex(names).to_numpy()
    cover = counts / totals
    miss = _miss(cover, goal)
    i = int(np.argmin(miss))
    return {
        "pair": tuple(pairs[i]),
        "miss": float(miss[i]),
        "cover": dict(zip(names, cover[i], strict=True)),
    }


def best_split(frame: pd.DataFrame, goal: tuple[float, float], step: float) -> dict:
    """A separate pair for identified and unidentified declines, closest to the goal."""
    levels = np.round(np.arange(0.0, 1.0 + step / 2, step), 6)
    known = frame["decline_sd"].to_numpy(float) <= IDENTIFIED_SD
    names = np.unique(frame["family"].to_numpy(str))
    totals = frame["family"].value_counts().reindex(names).to_numpy()
    parts = []
    for mask in (known, ~known):
        sub = frame[mask]
        counts, pairs, got = coverage_table(
            sub["pit"].to_numpy(float), sub["family"].to_numpy(str), levels
        )
        full = np.zeros((len(pairs), len(names)))
        full[:, np.searchsorted(names, got)] = counts
        parts.append((full, pairs))
    (c1, p1), (c2, p2) = parts
    best = (np.inf, 0, 0)
    for start in range(0, len(c1), 256):  # every combination, in blocks
        cover = (c1[start : start + 256, None, :] + c2[None, :, :]) / totals
        miss = _miss(cover, goal)
        i, j = np.unravel_index(int(np.argmin(miss)), miss.shape)
        if miss[i, j] < best[0]:
            best = (float(miss[i, j]), start + i, j)
    miss, i, j = best
    cover = (c1[i] + c2[j]) / totals
    return {
        "identified": tuple(p1[i]),
        "unidentified": tuple(p2[j]),
        "miss": miss,
        "cover": dict(zip(names, cover, strict=True)),
    }


def report(frame: pd.DataFrame, step: float) -> pd.DataFrame:
    """Rows: the forecast's own pair, the best single pair and the best split, per goal."""
    rows = []
    for level, goal in GOALS.items():
        own = ((1 - level) / 2, (1 + level) / 2)
        inside = frame["pit"].between(*own)
        rows.append(
            {"interval": f"{level:.0%}", "levels": f"{own[0]:.2f}-{own[1]:.2f} (as forecast)"}
            | inside.groupby(frame["family"]).mean().round(3).to_dict()
        )
        one = best_pair(frame, goal, step)
        rows.append(
            {
                "interval": f"{level:.0%}",
                "levels": "{:.2f}-{:.2f} (best one pair)".format(*one["pair"]),
            }
            | {k: round(v, 3) for k, v in one["cover"].items()}
            | {"worst miss": round(one["miss"], 3)}
        )
        two = best_split(frame, goal, step)
        label = "{:.2f}-{:.2f} / {:.2f}-{:.2f} (best split)".format(
            *two["identified"], *two["unidentified"]
        )
        rows.append(
            {"interval": f"{level:.0%}", "levels": label}
            | {k: round(v, 3) for k, v in two["cover"].items()}
            | {"worst miss": round(two["miss"], 3)}
        )
    return pd.DataFrame(rows)


def _load(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    if "default|pit" not in raw:
        raise SystemExit(f"{path}: no 'default|pit' column (run forecast_calibration.py --csv)")
    return pd.DataFrame(
        {"family": raw["family"], "pit": raw["default|pit"], "decline_sd": raw["decline_sd"]}
    )


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", help="per-trial results of forecast_calibration.py")
    parser.add_argument("--step", type=float, default=0.01, help="grid step of the levels")
    parser.add_argument("--small", action="store_true", help="CI: a small calibration first")
    args = parser.parse_args(argv)
    if args.small or args.csv is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import forecast_calibration

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "pit.csv"
            forecast_calibration.main(["--small", "--methods", "default", "--csv", str(out)])
            frame = _load(out)
    else:
        frame = _load(Path(args.csv))
    table = report(frame, args.step)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n{len(frame)} trials; goal 78-85% (80%), 87-94% (90%) in every family")
        print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    main()
