"""Where the forecast's miscalibration enters: the same trials forecast with ever less known.

Each replicate simulates a trial of ``bench/forecast_calibration.py`` (same families, same
seeds for the same ``--reps``), keeps its true parameters, and forecasts the date of the
target in steps, from everything known to nothing known:

- ``truth``: every site's true rate, the true decline and P(randomized): only the future
  Poisson noise is random (checks the simulation kernel and the bench's bookkeeping);
- ``hyper``: the true between-site Gamma(alpha, mu), decline and P(randomized); each
  site's rate from its Gamma posterior given the forecast's own site data (checks the
  site windows, the exposure discount and the rate posterior); both steps close the
  sites that really close when they do;
- ``fit-g``: the real forecast with the decline fixed at its true value (a one-point grid);
- ``default``: the real default forecast (``--informed SD``: prior centred on the truth).

Per step: coverage of the 80% / 90% intervals, the mean PIT (where the truth falls in the
forecast's distribution: 0.5 when calibrated; above 0.5 the forecast is early) and the
share of PITs in each tenth.

Run:  python bench/forecast_oracle.py --families "constant,decay 8%" --reps 100
      python bench/forecast_oracle.py --reps 100 --design "sites=8,cut=0.25" --informed 0.01
          (one trial design; the default's prior centred on the true decline, SD 1%)
      python bench/forecast_oracle.py --small     (CI smoke run)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import gammaincinv

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forecast_calibration as calib

from screenkit.forecast import RecruitmentForecast
from screenkit.forecast.simulate import exposure, time_to_reach

STEPS = ("truth", "hyper", "fit-g", "default")


def _times_known(fc, truth: dict, need: int, rng, n: int, rates: np.ndarray | None) -> np.ndarray:
    """Times to ``need`` more randomized, the sites' rates given (truth) or drawn from their
    posterior under the true hyperparameters (``rates`` None)."""
    data = fc.site_data_
    g = truth["gamma"]
    if rates is None:
        beta = truth["alpha"] / truth["mu"]
        shape = truth["alpha"] + data.k
        rate = beta + exposure(data.tau, np.asarray(g))
        lam = rng.gamma(shape[None, :], 1.0 / rate[None, :], (n, data.k.size))
    else:
        lam = np.broadcast_to(rates[_order(data)], (n, data.k.size))
    lam = lam * truth["p"]
    level = gammaincinv(need, rng.random(n))
    gam = np.full(n, g)
    # the true closing times (the sites table does not give them), in months from as-of
    close = truth["close_t"][_order(data)] - truth["as_of_t"]
    return time_to_reach(lam, gam, data.act, data.open_, close, level)


def _order(data) -> np.ndarray:
    """The trial's site index of each of the forecast's sites (``S07`` -> 7)."""
    return np.array([int(s[1:]) for s in data.site_id])


def one(seed, family: str, n_sims: int, informed: float | None, design: dict | None = None) -> dict:
    """One trial of ``family`` and the forecast at each step (``design``: fixed
    ``sites``, ``cut``, ``alpha``, ``mu``, ``p`` instead of the family's draws)."""
    rng = np.random.default_rng(seed)
    drawn = calib.draw_cut_trial(rng, family, design)
    trial, n_sites, cut, as_of = drawn["trial"], drawn["sites"], drawn["cut"], drawn["as_of"]
    truth_date, log, target = drawn["truth"], trial["log"], trial["target"]
    left = (truth_date - as_of).days / calib.DPM
    truth = trial["truth"] | {"as_of_t": (as_of - calib.START).days / calib.DPM}
    frame = log[["patient_id", "site_id", "screening_date", "randomized"]]
    out = {"family": family, "sites": n_sites, "cut": f"{cut:.0%}", "left": left}
    g = truth["gamma"]
    kwargs = {"n_sims": n_sims, "random_state": rng}
    fits = {"fit-g": {"decline_range": (g, g)}, "default": {}}
    if informed is not None:
        fits["default"] = {"decline_prior_mean": g, "decline_prior_sd": informed}
    fc = None
    for step in STEPS:
        if step in fits:
            fc = RecruitmentForecast(**kwargs, **fits[step]).fit(
                frame, sites=trial["sites"], as_of=as_of
            )
            times = fc.predict(target=target, by_date=as_of + pd.DateOffset(years=10)).times
        else:
            if fc is None:  # the site data of the forecast (the fit's own windows)
                fc = RecruitmentForecast(**kwargs, decline_range=(g, g)).fit(
                    frame, sites=trial["sites"], as_of=as_of
                )
            need = target - fc.rates_.randomized_so_far
            rates = truth["lam"] if step == "truth" else None
            times = _times_known(fc, truth, need, rng, n_sims, rates)
        q = calib._quantiles(times, (0.05, 0.10, 0.5, 0.90, 0.95))
        tol = 1.0 / calib.DPM
        out[f"{step}|c80"] = bool(q[1] - tol <= left <= q[3] + tol)
        out[f"{step}|c90"] = bool(q[0] - tol <= left <= q[4] + tol)
        out[f"{step}|pit"] = float(np.mean(times < left))
        out[f"{step}|bias"] = (q[2] - left) / left
    return out


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--n-sims", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20250806)
    parser.add_argument("--families", default="constant,decay 8%")
    parser.add_argument("--informed", type=float, default=None)
    parser.add_argument("--csv", default=None)
    parser.add_argument(
        "--design",
        default=None,
        help="one trial design instead of the family's draws, e.g. sites=8,cut=0.25,alpha=2,"
        "mu=1.5,p=0.7",
    )
    parser.add_argument(
        "--small", action="store_true", help="2 trials of 2 families, 200 simulations (CI)"
    )
    args = parser.parse_args(argv)
    if args.small:
        args.families, args.reps, args.n_sims = "constant,decay 8%", 2, 200
    design = calib._parse_options(args.design)
    families = args.families.split(",")
    names = list(calib.FAMILIES)
    seeds = np.random.SeedSequence(args.seed).spawn(len(names) * args.reps)
    started = time.perf_counter()
    rows = [
        one(seeds[names.index(f) * args.reps + r], f, args.n_sims, args.informed, design)
        for f in families
        for r in range(args.reps)
    ]
    res = pd.DataFrame(rows)
    if args.csv:
        res.to_csv(args.csv, index=False)
    table = []
    for (fam, step), _ in pd.MultiIndex.from_product([families, STEPS]).to_frame().iterrows():
        sub = res[res["family"] == fam]
        pit = sub[f"{step}|pit"]
        hist = np.histogram(pit, bins=np.linspace(0, 1, 11))[0] / len(pit)
        table.append(
            {
                "family": fam,
                "step": step,
                "c80": sub[f"{step}|c80"].mean(),
                "c90": sub[f"{step}|c90"].mean(),
                "pit": pit.mean(),
                "bias": sub[f"{step}|bias"].median(),
                "pit10": " ".join(f"{h:.2f}" for h in hist),
            }
        )
    with pd.option_context("display.width", 160, "display.precision", 3):
        print(pd.DataFrame(table).to_string(index=False))
    print(f"\n{len(res)} replicates: {time.perf_counter() - started:.0f} s")
    return res


if __name__ == "__main__":
    main()
