"""Calibration of screenkit's recruitment forecast on trials the model does not assume.

Each replicate simulates a trial from one scenario family, cuts it when a share of the
target has been randomized, gives the log so far and the sites table (activation dates
only: sites that stop screening do not announce it) to ``RecruitmentForecast``, and checks
whether the true date of the target falls inside the 50% / 80% / 90% prediction intervals.

Every trial: C sites (8, 20 or 60), screening rates lambda_i ~ Gamma(alpha, alpha / mu) with
alpha in {1, 2} and mu in {0.6, 1.5} screened per site-month, each screened patient
randomized with probability p in {0.4, 0.7}; the target is what the sites are expected to
randomize in 18 months under the trial's own scenario; the cut is when 25%, 40% or 60% of
the target is randomized. Scenario families:

- ``constant``: every site opens at month 0, constant rates, no site closes (the model's
  own assumptions);
- ``staggered``: sites open uniformly over the first 0-6 months (the sites table says when);
- ``decay 2%`` / ``4%`` / ``8%``: staggered, and each site's rate declines by that much per
  month since it opened;
- ``closing``: staggered, and 0-30% of the sites (a share drawn per trial) stop screening
  for good at a uniform time 1-18 months after opening, silently;
- ``mixed``: staggered, decay drawn from {0, 2, 4, 8}% per month, 0-30% of sites closing.

Per family: coverage of the 50/80/90% intervals, the median width of the 80% interval
relative to the time left (true date minus cut), the median relative error of the median
(bias: negative = the forecast is early), and how many 90% misses were late (the truth
after the interval). Methods: ``default`` (``RecruitmentForecast()``), ``plug-in`` (the
default model with its estimates treated as known) and ``constant`` (constant rates only,
the previous default), as comparison rows.

Run:  python bench/forecast_calibration.py              (7 families x 300 replicates)
      python bench/forecast_calibration.py --small      (CI smoke run, under a minute)
      python bench/forecast_calibration.py --jobs 2     (replicates in 2 processes; same
                                                         numbers: each has its own seed)
      python bench/forecast_calibration.py --reps 60 --families "constant,decay 8%" --ablate
          (the default with each source of its spread switched off in turn, same trials)
      python bench/forecast_calibration.py --candidate "decline_prior_sd=0.05" --methods cand1
          (rows for other RecruitmentForecast options; a family's trials do not depend on
          the rows computed, so runs compare trial by trial)
      python bench/forecast_calibration.py --families "decay 4%,decay 8%" --informed 0.01
          (the default model with each family's prior centred on its true decline)
      python bench/forecast_calibration.py --reps 150 --external 0.02 --methods default,external
          (a row 'external': each trial's prior centred on its true decline plus an N(0, 2%)
          error drawn per trial, prior SD 2%: an honest outside estimate; --external-bias
          -0.02 shifts it, --external-centre curve centres it on the screening curve's decline)

Note: a family's trials depend on the seed and on ``--reps`` (the seeds are spawned for
7 x reps replicates), so runs with the same ``--reps`` compare trial by trial.

Measured (``--jobs 2 --methods default,plug-in,constant``, 7 families x 300 replicates,
n_sims 1000, seed 20250806, 2 cores shared with other work, 963 s; Monte Carlo SE of a
coverage near 0.8 from 300 replicates about 0.023, near 0.9 about 0.017). Default =
``model="posterior"``: the monthly decline's posterior on a grid from -5% to 30%, normal
prior with mean 3.5% and SD 5% per month; sites silent far longer than their current rate
implies closed with their probability (closure hazard prior Gamma(1, 200)); open sites
*not* closed again later (new in this run: see below). c50 / c80 / c90 its coverage; late
the share of its 90% misses where the truth came after the interval; width the median 80%
width over the time left; bias the median of (forecast median - truth) / time left; fin90
the share of trials whose 90% upper end is a date (otherwise "not reached", stated with
the probability of ever reaching the target). prev80 / prev90 / pwidth: the previous
default (the same prior, with open sites also closing later at the hazard, folded into
the decline), previous run of this script on the same 2,100 trials; con80 / con90:
constant rates only (this run); plug-in (estimates treated as known): 0.40-0.56 at 80%.

           reps  c50  c80  c90  late  width  bias  fin90  prev80 prev90 pwidth  con80 con90
constant    300 0.56 0.84 0.94  0.18   1.46  0.14   0.55    0.84   0.93   1.65   0.79  0.89
staggered   300 0.52 0.84 0.92  0.08   1.22  0.13   0.65    0.83   0.92   1.34   0.78  0.89
decay 2%    300 0.60 0.89 0.95  0.36   1.24  0.02   0.61    0.88   0.95   1.43   0.58  0.74
decay 4%    300 0.62 0.90 0.97  0.44   1.32 -0.04   0.57    0.90   0.97   1.51   0.37  0.50
decay 8%    300 0.52 0.82 0.91  0.96   1.04 -0.19   0.61    0.84   0.92   1.16   0.20  0.28
closing     300 0.55 0.84 0.93  0.05   1.21  0.13   0.63    0.84   0.92   1.35   0.69  0.81
mixed       300 0.50 0.85 0.93  0.55   1.09 -0.10   0.58    0.85   0.93   1.21   0.43  0.53
all        2100 0.55 0.85 0.94  0.40   1.23  0.02   0.60    0.85   0.935  1.36   0.55  0.66

(``model="averaged"``, the default before the normal prior, was not rerun; on these trials
before the closure change it covered 0.69-0.92 at 80%, the 8% decline lowest.) By cut
(default): 25% 0.86 / 0.94 (fin90 0.34), 40% 0.85 / 0.94 (0.63), 60% 0.86 / 0.93 (0.84);
by sites: 8 0.87 / 0.95 (width 2.01), 20 0.85 / 0.93 (1.30), 60 0.84 / 0.94 (0.71).

Four families of seven are in the goal (78-85% / 87-94%): staggered, 8% decline, closing
and mixed; constant rates are at its edge (0.943 at 90%, within one SE); the 2% and 4%
declines over-cover (0.89 / 0.95 and 0.90 / 0.97), as under the previous default. What
this run changed: open sites are no longer closed later at the closure hazard on top of
the fitted decline. The decline is fitted to every site's screening by age, the sites
that stopped included, so it already carries the loss of screening with age whatever its
cause; multiplying each open site's rate by a further exp(-h t) counted closures twice
and lengthened the upper tail. Dropping it keeps every family's coverage within 0.03 of
the previous default (all 0.85 / 0.94, was 0.85 / 0.935) and narrows the 80% interval by
a tenth (median 1.23 against 1.36 of the time left; 1.46 against 1.65 for constant rates,
1.04 against 1.16 for the 8% decline); the 90% upper end is a date in 60% of trials (was
56%), and constant-rate trials come out less late (bias +0.14, was +0.16). (``--ablate``
before the change, 7 families x 100, same fits, the hazard switched off for open sites
only: 80% / 90% coverage 0.844 / 0.939 -> 0.843 / 0.941, width 1.32 -> 1.15.)

Why the 2% and 4% declines over-cover, and why no prior on the trial's own data fixes it.
First, the model is right once the decline is known: there is no error beyond the
decline's uncertainty (2026-12, ``bench/forecast_oracle.py``: the same trials forecast
with ever less known; 80% / 90% coverage and the mean PIT, where the truth falls in the
forecast's distribution, 0.5 when calibrated; SE of a coverage near 0.8 about 0.025 on
250 trials, 0.04 on 100):

                      true site   true (alpha,  decline fixed   prior N(true
                      rates       mu), decline  at the truth    decline, 1%)
    constant   (250)  0.81 / 0.93  0.82 / 0.93  0.78 / 0.89     0.86 / 0.95
    decay 2%   (250)  0.83 / 0.88  0.82 / 0.93  0.83 / 0.91     0.87 / 0.93
    decay 8%   (250)  0.80 / 0.92  0.80 / 0.92  0.78 / 0.90     0.82 / 0.90
    staggered  (100)  0.88 / 0.92  0.79 / 0.92  0.81 / 0.95     0.87 / 0.95
    decay 4%   (100)  0.81 / 0.92  0.81 / 0.91  0.86 / 0.92     0.90 / 0.95
    all five   (950)  0.82 / 0.91  0.81 / 0.92  0.81 / 0.91     0.86 / 0.93
    mean PIT   (950)  0.505        0.510        0.498           0.508

With the decline fixed at its true value and everything else estimated (site windows
from the sites table, ages from each site's activation, sites opened after the cut drawn
from the fitted Gamma, the exposure discount in each rate's posterior, the decline
continued from each site's age now, the Laplace draws of (alpha, mu), P(randomized), day
resolution) the forecast covers 0.81 / 0.91, the mean PIT is 0.498 (SE 0.009; the PIT's
SD 0.286, uniform 0.289), and the 80% coverage differs from the true-rates forecast's on
the same trials by -0.013 (SE 0.015; per family -0.07 to +0.05, each within 1.7 SE). One
design at a time (``--design "sites=8,cut=0.25"``, 100 trials each, the hardest: 8 sites
cut at 25%): constant 0.80 / 0.86, 8% decline 0.84 / 0.89 with the decline fixed (true
rates: 0.78 / 0.88, 0.81 / 0.91). A prior centred on the truth with SD 1% is not "known":
1% per month is a 15-20% spread of a site's rate 15-20 months after it opened, and it
adds 0.053 (SE 0.008, paired) to the 80% coverage. The sites that close are the
exception, by design: fixing the decline at the truth (0 for ``closing``) removes what
carries later closures of sites still open (see :mod:`screenkit.forecast.uncertainty`),
and those trials come out early (closing 0.64 / 0.82, mixed 0.69 / 0.84, mean PIT 0.59 /
0.55, 100 each; the default with its fitted decline: 0.84 / 0.93 and 0.85 / 0.93 above;
a later-closure hazard would be needed only where the decline is known from outside).

Second, the earlier lead that the 8% decline under-covers even with its decline known
(``--informed 0.01``: 0.75 / 0.87) was one set of 150 trials. Real fits with that prior
on three disjoint sets of the 8% decline (``--reps 100``, ``150``, ``200`` spawn other
trials) give 0.94 / 0.97, 0.75 / 0.87 and 0.825 / 0.915 (pooled 450: 0.83 / 0.91), and
on the prior scan's 100 trials they give what the scan gave (4% decline 0.89 / 0.95, 8%
0.94 / 0.97; scan 0.89 / 0.95, 0.95 / 0.98): the scan's informed rows were not an
artefact, the comparison was across trial sets. The three sets differ by more than
binomial noise (chi-square 14.5 on 2 df at 80%; a set's own true-rates coverage moves by
up to 0.08, e.g. staggered 0.88 on its 100 trials), so compare methods on the same
trials only (same ``--reps`` and seed), never one run's family against another's.

Third, no prior's shape does better than its width (``bench/forecast_prior_scan.py``,
7 families x 100, the current model, 2026-12; 80% coverage of the lowest family and of
the 4% decline, median 80% width): N(3.5%, 5%) 0.76 / 0.90 / 1.20; N(3.5%, 4%) 0.71 /
0.91 / 1.07; flat-topped ``exp(-|z|^p / 2)`` centred on 4%, SD 4-5%, p 4 or 8: 0.69-0.73
/ 0.91 / 1.02-1.11 (constant rates and closing lose most: 0.75 / 0.70 at SD 4%, p 4); a
Laplace prior (3.5%, scale 3%) 0.79 / 0.92 / 1.36; split normals and split flat tops
(centre 2-4%, SD 2-4% below it and 4-7% above, 96 candidates): at best 0.81 / 0.92 / 1.42
(centre 2%, SD 3% / 7%). Of 129 candidates only a spike of 30-50% of the prior's mass at
constant rates brings the 4% decline to 0.79-0.85, and then the 8% decline falls to
0.63-0.75; with every family at 0.78 or more the 4% decline stays at 0.88 or more (N(0,
10%), width 1.40) and the highest family at 0.91 or more. So the model was not changed
and the table above stands: the 2% and 4% declines' over-coverage is the decline's own
uncertainty, shared by trials that cannot tell their decline from the others'.

Where a trial identifies its decline
(posterior SD at most 3% per month: 794 trials) the default covers 0.84 / 0.92 with width
0.71; where it does not (1,306 trials, 1,302 of them with 8-20 sites or a cut at 25-40%)
0.86 / 0.95 with width 1.81, and there the per-family pattern is the one a shared prior
must give (80% / 90%): 2% decline 0.92 / 0.96, 4% 0.90 / 0.98, 8% 0.81 / 0.91, constant
0.87 / 0.96 (where the decline is identified: 0.83 / 0.93, 0.89 / 0.95, 0.86 / 0.92, 0.81
/ 0.93; the 4% decline over-covers there too, by about one SE at 80%). The interval for a
trial that cannot tell a 0% from an 8% decline has to hold the dates of both, hence every
date of the declines between them: the middle declines over-cover while the 8% decline is
already at the lower edge. Narrowing the prior moves them together (real fits, same 7 x
100 trials, the new model: SD 5% / 4.5% / 4%: decay 4% 0.90 / 0.91 / 0.91, decay 8% 0.77
/ 0.75 / 0.72 at 80%): the 8% decline leaves the goal before the 4% decline enters it.
Only information from outside the trial on its decline (a sponsor's or published trials'
declines) can narrow those intervals honestly; the note gives the decline's posterior, so
a reader sees when the interval is mostly the prior's spread.

Outside knowledge of the decline (``--external SD``, 2026-12): what a user gains from an
estimate of the decline from outside the trial (``decline_prior:`` in the protocol file,
``screenkit forecast --decline-prior MEAN,SD``). Each trial's prior is centred on its true
decline plus an error drawn N(0, SD) (its own seeded stream per trial, so the trials and
the other rows are unchanged), with prior SD = SD: a source whose error really has the SD
it claims. 7 families x 150 replicates, seed 20250806, n_sims 1000, ``--jobs 1``, one row
per run on the same 1,050 trials (default 531 s, SD 2% 465 s, SD 1% 660 s; another
process shared the 2 cores); c50 / c80 / c90 the coverage, width the median 80% width over
the time left, bias the median (forecast median - truth) / time left; SE of one family's
coverage near 0.8 about 0.033, near 0.9 about 0.025. (The default's coverages on these 150
trials per family differ from the 300-trial table above: other trials, see the Note.)

               default (N(3.5%, 5%))           outside, SD 2%                 outside, SD 1%
             c50  c80  c90 width  bias    c50  c80  c90 width  bias    c50  c80  c90 width  bias
constant    0.59 0.82 0.95  1.28  0.09   0.53 0.81 0.90  0.58 -0.02   0.53 0.80 0.88  0.44 -0.01
staggered   0.65 0.89 0.96  1.14  0.09   0.63 0.85 0.93  0.61 -0.01   0.59 0.83 0.93  0.51  0.00
decay 2%    0.62 0.91 0.95  1.14  0.03   0.53 0.81 0.92  0.70  0.00   0.57 0.86 0.92  0.56 -0.01
decay 4%    0.57 0.86 0.93  1.21 -0.05   0.52 0.81 0.89  0.83  0.01   0.49 0.77 0.89  0.72  0.03
decay 8%    0.45 0.76 0.89  0.97 -0.25   0.45 0.75 0.85  1.33  0.00   0.45 0.76 0.83  1.08 -0.05
closing     0.58 0.83 0.91  1.05  0.08   0.42 0.71 0.83  0.50 -0.07   0.45 0.71 0.83  0.43 -0.06
mixed       0.57 0.83 0.93  1.17 -0.05   0.45 0.74 0.86  0.70 -0.08   0.44 0.70 0.85  0.62 -0.07
five        0.848 / 0.936, width 1.14     0.808 / 0.897, width 0.71      0.804 / 0.892, width 0.60
all         0.57 0.84 0.93  1.13  0.01   0.51 0.78 0.88  0.67 -0.03   0.50 0.78 0.88  0.57 -0.02

("five": the five families without closures pooled, 750 trials, c80 / c90; their mean PIT
0.498 default, 0.509 SD 2%, 0.501 SD 1%, the PIT's SD 0.268 / 0.286 / 0.288, uniform
0.289.) On the five families without closures an honest outside estimate keeps the forecast
calibrated (0.81 / 0.90 pooled, mean PIT 0.51) and narrows the 80% interval by 38% at SD 2%
(median 0.71 of the time left against 1.14) and by 47% at SD 1% (0.60): the 2% and 4%
declines' over-coverage is gone (0.81 / 0.92 and 0.81 / 0.89 at SD 2%), and the 8%
decline's median is no longer early (bias -0.25 -> 0.00; its interval widens, 0.97 -> 1.33,
because the default's prior pulled it towards smaller declines). The 8% decline covers
0.75-0.76 at 80% on these 150 trials under the default and both honest sources alike
(1.4 SE below 0.80; the oracle's N(true, 1%) gave 0.82 / 0.90 on 250 others). On 400
other trials of the 8% decline (``--families "decay 8%" --reps 400 --external 0.02
--methods default,external``, 1,000 s): default 0.770 / 0.890 (bias -0.27), outside SD 2%
0.795 / 0.905 (bias -0.06, width 1.33): in the goal, SE about 0.02.

The sites that close are the exception, as with the decline fixed at the truth (oracle,
above): ``closing`` and ``mixed`` under-cover (0.71 / 0.83 and 0.74 / 0.86 at SD 2%, mean
PIT 0.59 and 0.58: the truth late). Their "true decline" here is the open sites' (0 for
``closing``), but the model's decline must also carry the sites that will stop, which the
open sites' decline does not. Centred instead on the decline of the trial's screening
curve up to its target, closures included (``--external-centre curve``: each site's
screening by age from its activation, conditional on its count, the stopped sites counted
as open, as a reader of a completed trial's curves would see them), the same SD 2% source
covers ``closing`` 0.79 / 0.90 and ``mixed`` 0.83 / 0.92 (mean PIT 0.53; width 0.59 and
0.82; 371 s). So the outside estimate has to be of the decline of screening per site
since activation as the sponsor saw it, sites that stopped included, not of the rate of
the sites still open. (That centre is read off the trial's own curve, so it is an
idealised source; its reading error adds to the 2%.)

A confidently wrong source makes the intervals too narrow and the dates early. Centred 2%
per month below the truth with SD 1% (``--external 0.01 --external-bias -0.02``, the same
1,050 trials, 235 s), 80% / 90% coverage and median bias by family: constant 0.63 / 0.74
(-0.14), staggered 0.71 / 0.85 (-0.11), 2% decline 0.71 / 0.81 (-0.15), 4% 0.73 / 0.83
(-0.11), 8% 0.65 / 0.83 (-0.21), closing 0.54 / 0.67 (-0.16), mixed 0.60 / 0.68 (-0.19); the
five without closures pooled 0.69 / 0.81, mean PIT 0.70, width 0.45 of the time left. Its
interval is narrower than an honest SD-1% source's (0.45 against 0.60) and misses late: a
user should give the SD the estimate really has (the spread of the declines of the trials
it comes from, not the precision of their average).

How the prior was chosen (``bench/forecast_prior_scan.py``: one forecast per trial under
the old prior, other priors by importance weights on its grid cells, exact for the
decline's posterior; 7 families x 100 replicates, other trials than the table's (the
seeds depend on ``--reps``), n_sims 2000, before the closure change; SE of one family's
coverage near 0.85 about 0.036; an approximation that real fits should confirm, see that
script's docstring). Per candidate prior on the
monthly decline (mean, SD; grid -5% to 30% unless stated): the lowest and highest
family's coverage at 80% and 90%, the overall coverage, the median 80% width over the
time left and fin90:

                          min80 max80  min90 max90   c80   c90  width  fin90
    N(0, 10%) (previous)   0.82  0.92   0.91  0.97  0.86  0.94   1.57   0.48
    N(0, 10%), to 15%      0.81  0.92   0.91  0.97  0.86  0.94   1.37   0.52
    N(0, 7%)               0.75  0.90   0.91  0.97  0.85  0.94   1.10   0.59
    N(0, 5%)               0.62  0.90   0.81  0.98  0.82  0.92   0.85   0.75
    N(0, 10%) + 30% at 0   0.76  0.93   0.90  0.98  0.86  0.93   1.08   0.57
    N(2%, 5%)              0.71  0.91   0.91  0.97  0.84  0.94   1.07   0.66
    N(3%, 4%)              0.71  0.90   0.89  0.97  0.83  0.93   1.09   0.66
    N(3%, 5%)              0.78  0.92   0.90  0.98  0.85  0.94   1.24   0.59
    N(3.5%, 4.5%)          0.78  0.92   0.89  0.98  0.84  0.93   1.26   0.59
    N(3.5%, 5%) (chosen)   0.80  0.91   0.90  0.98  0.85  0.94   1.34   0.55
    N(4%, 4.5%)            0.79  0.91   0.89  0.98  0.84  0.93   1.38   0.56
    N(4%, 3.5%)            0.74  0.94   0.86  0.97  0.82  0.91   1.20   0.62

The narrowest priors lose the 8% decline first (N(0, 5%): 0.62); the lowest family is
always the 8% decline or closing, the highest always the 4% decline or staggered. The
chosen prior is the narrowest whose lowest family stays at or above 0.80 at 80% in the
scan; in the full run above its lowest is 0.82 (real fits of SD 4.5% and 4% on other
trials: see above).

Where the width came from under the first prior, N(0, 10%) (``--ablate``, constant /
decay 8% / closing / mixed x 60, the same fits, before the closure change): switching off
the decline's spread dropped the 80% coverage from 0.88 to 0.53, while each other source
(the Laplace draws of (log alpha, log mu), closure, the hazard's spread, P(randomized), the
site-rate draws) moved it by at most 0.02 and the width by 1-11%; cutting the prior's range
lost the 8% decline first (``decline_range=(-0.03, 0.12)``: 0.78 there, constant unchanged).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

import screenkit.forecast.uncertainty as uncertainty_module
from screenkit.forecast import RecruitmentForecast
from screenkit.forecast.model import LOG_ALPHA_BOUNDS

START = pd.Timestamp("2025-08-06")
DPM = 365.25 / 12
LEVELS = (0.5, 0.8, 0.9)
SITES = (8, 20, 60)
CUTS = (0.25, 0.40, 0.60)
HORIZON_MONTHS = 18.0  # the target is what the sites would randomize in this long
FAMILIES = {
    "constant": {"stagger": 0.0, "decay": (0.0,), "closing": 0.0},
    "staggered": {"stagger": 6.0, "decay": (0.0,), "closing": 0.0},
    "decay 2%": {"stagger": 6.0, "decay": (0.02,), "closing": 0.0},
    "decay 4%": {"stagger": 6.0, "decay": (0.04,), "closing": 0.0},
    "decay 8%": {"stagger": 6.0, "decay": (0.08,), "closing": 0.0},
    "closing": {"stagger": 6.0, "decay": (0.0,), "closing": 0.30},
    "mixed": {"stagger": 6.0, "decay": (0.0, 0.02, 0.04, 0.08), "closing": 0.30},
}


def _exposure(length: np.ndarray, gamma: float) -> np.ndarray:
    length = np.maximum(length, 0.0)
    return length if gamma == 0 else -np.expm1(-gamma * length) / gamma


def _ages(u: np.ndarray, length: float, gamma: float) -> np.ndarray:
    if gamma == 0:
        return u * length
    return -np.log1p(-u * -np.expm1(-gamma * length)) / gamma


def simulate_trial(
    rng: np.random.Generator, family: str, n_sites: int, fixed: dict | None = None
) -> dict:
    """One trial of a family: its full log (past the target), its sites table and its true
    parameters (``truth``, for ``forecast_oracle.py``). ``fixed`` overrides alpha, mu and p
    without changing the draws (each is drawn and then replaced), so the other trials stay
    the same."""
    spec = FAMILIES[family]
    fixed = fixed or {}
    alpha = fixed.get("alpha", rng.choice([1.0, 2.0]))
    mu = fixed.get("mu", rng.choice([0.6, 1.5]))
    p = fixed.get("p", rng.choice([0.4, 0.7]))
    gamma = float(rng.choice(spec["decay"]))
    act = rng.uniform(0, spec["stagger"], n_sites) if spec["stagger"] else np.zeros(n_sites)
    lam = rng.gamma(alpha, mu / alpha, n_sites)
    share = rng.uniform(0, spec["closing"]) if spec["closing"] else 0.0
    closes = rng.random(n_sites) < share
    close = np.where(closes, act + rng.uniform(1, 18, n_sites), np.inf)
    expected = mu * p * _exposure(HORIZON_MONTHS - act, gamma).sum()
    target = max(20, round(expected))
    horizon = 6 * HORIZON_MONTHS
    length = np.minimum(close, horizon) - act
    counts = rng.poisson(lam * _exposure(length, gamma))
    rows = []
    for i in np.nonzero(counts)[0]:
        u = rng.random(counts[i])
        # uniform ages, or the inverse CDF of the declining intensity over the site's window
        age = _ages(u, length[i], gamma)
        rows.append(pd.DataFrame({"site_id": f"S{i:02d}", "t": np.sort(act[i] + age)}))
    log = pd.concat(rows, ignore_index=True).sort_values("t", ignore_index=True)
    log["randomized"] = rng.random(len(log)) < p
    log["screening_date"] = (START + pd.to_timedelta(log["t"] * DPM, unit="D")).dt.normalize()
    log["patient_id"] = [f"P{i:05d}" for i in range(len(log))]
    sites = pd.DataFrame(
        {
            "site_id": [f"S{i:02d}" for i in range(n_sites)],
            "activation_date": (START + pd.to_timedelta(act * DPM, unit="D")).normalize(),
        }
    )
    truth = {"alpha": alpha, "mu": mu, "p": p, "gamma": gamma, "lam": lam, "close_t": close}
    return {"log": log, "sites": sites, "target": target, "gamma": gamma, "truth": truth}


def _methods(
    ablate: bool = False,
    candidates: tuple[dict, ...] = (),
    only: tuple[str, ...] = (),
    external: bool = False,
) -> dict[str, dict]:
    methods = _all_methods(ablate, candidates)
    if external:  # the default model with an honest outside estimate of the decline
        methods["external"] = {"external": True}
    return {k: v for k, v in methods.items() if k in only} if only else methods


def external_prior(
    seed: np.random.SeedSequence, gamma: float, sd: float, bias: float = 0.0
) -> tuple[float, float]:
    """An outside source's estimate of a trial's monthly decline: ``(mean, sd)``.

    The mean is the trial's true decline ``gamma`` plus ``bias`` plus an error drawn
    N(0, ``sd``) from a stream of its own (derived from the trial's seed, so the trial and
    every other row are unchanged and a rerun gives the same draw); the SD it claims is
    ``sd``. With ``bias=0`` the source is honest: its error really has the SD it states,
    so a calibrated model stays calibrated. The mean is kept inside the posterior grid.

    >>> seed = np.random.SeedSequence(1)
    >>> external_prior(seed, 0.04, 0.02) == external_prior(seed, 0.04, 0.02)
    True
    """
    own = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 0xE7))
    error = float(np.random.default_rng(own).normal(0.0, sd))
    lo, hi = uncertainty_module.CHANGE_RANGE
    return float(np.clip(gamma + bias + error, lo, hi)), float(sd)


def _all_methods(ablate: bool, candidates: tuple[dict, ...]) -> dict[str, dict]:
    extra = {f"cand{i + 1}": dict(c) for i, c in enumerate(candidates)}
    if ablate:  # the default fit, each source of uncertainty switched off in turn
        return {"default": {}, **extra, **{f"no-{s}": {"ablate": s} for s in ABLATIONS}}
    return {
        **extra,
        "default": {},
        "averaged": {"model": "averaged"},
        "plug-in": {"parameter_uncertainty": False},
        "constant": {"model": "constant"},
    }


# ------------------------------------------------------------------ ablation (--ablate)
ABLATIONS = ("decline", "hyper", "closure", "hazard", "p", "rates")
"""Sources of the default forecast's spread, each switched off in turn on the same fit:
``decline`` the monthly decline fixed at its posterior mode; ``hyper`` (log alpha, log mu)
at their ML values in the drawn grid cell (no Laplace draws); ``closure`` no closure at
all (no silent site closed, no hazard); ``hazard`` the closure hazard fixed at its
posterior mean (it only decides which silent sites are closed: open sites are not
closed again later, see :mod:`screenkit.forecast.uncertainty`); ``p`` P(randomized |
screened) fixed at its posterior mean; ``rates`` each site's rate at its posterior mean
instead of a Gamma draw."""


def _draw_change(cp, rng: np.random.Generator, n: int, decline: bool, hyper: bool) -> dict:
    """:meth:`ChangePosterior.draw` with the decline's or the hyperparameters' spread off."""
    if decline:
        j = rng.choice(cp.grid.size, size=n, p=cp.weights)
        gamma = cp.grid[j] + cp.step * (rng.random(n) - 0.5)
    else:
        j = np.full(n, cp.best)
        gamma = cp.grid[j].astype(float)
    theta = cp.theta[j]
    if hyper:
        chol = np.linalg.cholesky(cp.cov + 1e-12 * np.eye(2))
        theta = theta + np.einsum("nij,nj->ni", chol[j], rng.standard_normal((n, 2)))
    alpha = np.exp(np.clip(theta[:, 0], *LOG_ALPHA_BOUNDS))
    return {"alpha": alpha, "beta": alpha / np.exp(theta[:, 1]), "gamma": gamma}


class _MeanRates(np.random.Generator):
    """A Generator on the same bit stream whose first ``gamma`` call (the site rates)
    returns the means."""

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng.bit_generator)
        self._first = True

    def gamma(self, shape, scale=1.0, size=None):
        if self._first:
            self._first = False
            mean = np.asarray(shape) * np.asarray(scale)
            return mean if size is None else np.broadcast_to(mean, size).copy()
        return super().gamma(shape, scale, size)


class _ChangeDraws:
    """The fitted ``change_posterior_`` with the decline's or the hyperparameters' draws
    switched off (everything else is the posterior's)."""

    def __init__(self, cp, decline: bool, hyper: bool) -> None:
        self._cp, self._decline, self._hyper = cp, decline, hyper

    def draw(self, rng: np.random.Generator, n: int, uncertain: bool = True) -> dict:
        return _draw_change(self._cp, rng, n, self._decline, self._hyper)

    def __getattr__(self, name):
        return getattr(self._cp, name)


def _beta_mean(part) -> float:
    return part[0] / (part[0] + part[1]) if isinstance(part, tuple) else float(part)


@contextlib.contextmanager
def _ablated(fc: RecruitmentForecast, source: str | None, rng: np.random.Generator):
    """The fitted default forecast with one source of its spread switched off.

    Only the fitted attributes and ``draw_closures`` (wherever the forecast's modules
    import it) are replaced, so the switches do not depend on how the forecast's code is
    split into modules; everything is restored on exit."""
    # a constant-rate fit has no change posterior: only what the fit holds is saved
    fitted = ("change_posterior_", "p_eligible_", "p_conversion_")
    saved = {k: fc.__dict__[k] for k in fitted if k in fc.__dict__}
    saved["random_state"] = fc.random_state
    original = uncertainty_module.draw_closures
    modules = [
        m
        for name, m in list(sys.modules.items())
        if name.startswith("screenkit.forecast") and getattr(m, "draw_closures", None) is original
    ]
    replacement = None
    if source == "closure":

        def replacement(r, d, lam, g, *args):
            return lam, g, np.zeros(g.size)

    elif source == "hazard":

        def replacement(r, d, lam, g, uncertain, prior):
            return original(r, d, lam, g, False, prior)

    try:
        if source in ("decline", "hyper"):
            fc.change_posterior_ = _ChangeDraws(
                saved["change_posterior_"], source != "decline", source != "hyper"
            )
        elif source == "p":
            fc.p_eligible_ = _beta_mean(fc.p_eligible_)
            fc.p_conversion_ = _beta_mean(fc.p_conversion_)
        elif source == "rates":
            fc.random_state = _MeanRates(rng)
        if replacement is not None:
            for m in modules:
                m.draw_closures = replacement
        yield fc
    finally:
        for m in modules:
            m.draw_closures = original
        for k, v in saved.items():
            setattr(fc, k, v)


def curve_decline(trial: dict, until: float) -> float:
    """The monthly decline of a trial's screening curve up to month ``until`` (its target's
    date), closures included: the ML ``g`` of site intensities proportional to
    ``exp(-g * age)`` over each site's window from its activation, conditional on each
    site's count (so the site rates drop out; the sites that stopped still count as open,
    as an outside reader of the curves would see them). What a completed earlier trial of
    the same kind would show."""
    from scipy.optimize import minimize_scalar

    act = (trial["sites"]["activation_date"] - START).dt.days.to_numpy(float) / DPM
    opened = dict(zip(trial["sites"]["site_id"], act, strict=True))
    log = trial["log"]
    seen = log[log["t"] <= until]
    ages = seen["t"].to_numpy(float) - seen["site_id"].map(opened).to_numpy(float)
    # each event's own site's window: conditional on a site's count its rate drops out
    windows = np.maximum(until - seen["site_id"].map(opened).to_numpy(float), 1e-9)

    def minus_log_lik(g: float) -> float:
        return g * ages.sum() + np.log(_exposure(windows, g)).sum()

    lo, hi = uncertainty_module.CHANGE_RANGE
    return float(minimize_scalar(minus_log_lik, bounds=(lo, hi), method="bounded").x)


def draw_cut_trial(
    rng: np.random.Generator, family: str, design: dict | None = None, unreached: bool = False
) -> dict:
    """Draw a trial design (sites, cut) and trials until one passes its cut before its
    target: ``trial``, ``sites``, ``cut``, ``as_of`` (the cut's date), ``truth`` (the date
    the target was reached) and ``reached``. The one trial selection of every forecast bench
    (this script, ``forecast_prior_scan.py``, ``forecast_oracle.py``). ``design`` fixes
    ``sites``, ``cut``, ``alpha``, ``mu`` or ``p`` (each still drawn, then replaced, so the
    other trials stay the same); with ``unreached`` a trial that passes its cut but never
    reaches the target within ``6 x HORIZON_MONTHS`` is kept, its truth that horizon's end."""
    design = design or {}
    n_sites = int(design.get("sites", rng.choice(SITES)))
    cut = float(design.get("cut", rng.choice(CUTS)))
    while True:
        trial = simulate_trial(rng, family, n_sites, design)
        target = trial["target"]
        rand_dates = trial["log"].loc[trial["log"]["randomized"], "screening_date"]
        reached = len(rand_dates) >= target
        if not reached and not (unreached and len(rand_dates) >= max(round(cut * target), 1)):
            continue  # no true date to check (or, with unreached, the cut never comes)
        as_of = rand_dates.iloc[max(round(cut * target), 1) - 1]
        end = START + pd.to_timedelta(6 * HORIZON_MONTHS * DPM, unit="D")
        truth = rand_dates.iloc[target - 1] if reached else end
        if int((rand_dates <= as_of).sum()) < target and truth > as_of:
            return {
                "trial": trial,
                "sites": n_sites,
                "cut": cut,
                "as_of": as_of,
                "truth": truth,
                "reached": reached,
            }


def one_replicate(
    seed: np.random.SeedSequence,
    family: str,
    n_sims: int,
    ablate: bool = False,
    candidates: tuple[dict, ...] = (),
    only: tuple[str, ...] = (),
    unreached: bool = False,
    informed: float | None = None,
    external: float | None = None,
    external_bias: float = 0.0,
    external_centre: str = "truth",
) -> dict:
    """One trial of ``family`` and every method's intervals at its cut. With ``informed``
    (an SD per month) the rows of the default model (``default``, the ablations and the
    candidates that do not set the prior) centre the decline's prior on the family's true
    decline (the mean of its declines) with that SD: the decline is then known, so what
    spread is left comes from elsewhere. With ``unreached``
    a trial that passes its cut but does not reach the target within the simulated
    ``6 x HORIZON_MONTHS`` is kept (as real trials are), not redrawn: its truth is "not
    by the end of the simulation", covered by an interval whose upper end lies beyond it
    ("not reached" included); its width and bias are left out (NaN). With ``external``
    (an SD per month) a row ``external`` is added: the default model with the prior from
    :func:`external_prior` (the trial's true decline, ``external_bias`` and an N(0, SD)
    error; prior SD = SD). With ``external_centre="curve"`` the source's centre is not the
    simulated decline but :func:`curve_decline`, the decline the trial's whole screening
    curve shows (closures included), as a completed trial of the same kind would."""
    rng = np.random.default_rng(seed)
    drawn = draw_cut_trial(rng, family, unreached=unreached)
    trial, n_sites, cut, as_of, truth = (
        drawn[k] for k in ("trial", "sites", "cut", "as_of", "truth")
    )
    log, target, reached = trial["log"], trial["target"], drawn["reached"]
    left = (truth - as_of).days / DPM
    out = {"family": family, "sites": n_sites, "cut": f"{cut:.0%}", "left": left}
    out["unreached"] = not reached
    frame = log[["patient_id", "site_id", "screening_date", "randomized"]]
    fitted = {}
    methods = _methods(ablate, candidates, only, external is not None)
    for name, options in methods.items():
        uncertain = options.get("parameter_uncertainty", True)
        source = options.get("ablate")
        skip = ("parameter_uncertainty", "ablate", "external")
        kwargs = {k: v for k, v in options.items() if k not in skip}
        if options.get("external"):
            centre = trial["gamma"]
            if external_centre == "curve":
                centre = curve_decline(trial, (truth - START).days / DPM)
            out["external_centre"] = centre
            mean, sd = external_prior(seed, centre, external, external_bias)
            kwargs = {"decline_prior_mean": mean, "decline_prior_sd": sd}
            out["external_mean"] = mean
        if informed is not None and "model" not in kwargs and "decline_prior_mean" not in kwargs:
            kwargs["decline_prior_mean"] = float(np.mean(FAMILIES[family]["decay"]))
            kwargs["decline_prior_sd"] = informed
        key = repr(sorted(kwargs.items()))
        if key not in fitted:
            kwargs = {"n_sims": n_sims, "random_state": rng, **kwargs}
            fitted[key] = RecruitmentForecast(**kwargs).fit(
                frame, sites=trial["sites"], as_of=as_of
            )
        fc = fitted[key]
        fc.parameter_uncertainty = uncertain
        with _ablated(fc, source, rng):
            res = fc.predict(target=target, by_date=as_of + pd.DateOffset(years=10))
        fc.parameter_uncertainty = True
        times = res.times
        truth_m = left
        q = _quantiles(times, (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95))
        bounds = {0.9: (q[0], q[6]), 0.8: (q[1], q[5]), 0.5: (q[2], q[4])}
        # the true date is a day; simulated times are continuous: compare at day resolution
        tol = 1.0 / DPM
        for level, (lo, hi) in bounds.items():
            inside = lo - tol <= truth_m if reached else True  # unreached: only "after"
            out[f"{name}|cover{level:.0%}"] = bool(inside and truth_m <= hi + tol)
        out[f"{name}|late90"] = bool(truth_m > q[6] + tol)
        with np.errstate(invalid="ignore"):  # inf: the bound is "never" (NaN: both are)
            out[f"{name}|width80"] = (q[5] - q[1]) / truth_m if reached else np.nan
        out[f"{name}|bias"] = (q[3] - truth_m) / truth_m if reached else np.nan
        out[f"{name}|finite90"] = bool(np.isfinite(q[6]))
        # where the truth falls in the predictive distribution (bench/forecast_recalibration.py)
        out[f"{name}|pit"] = float(np.mean(times < truth_m)) if reached else 1.0
        if name == "external" and hasattr(fc, "change_posterior_"):
            cp = fc.change_posterior_
            out["external_decline_sd"] = float(np.sqrt(cp.weights @ (cp.grid - cp.mean) ** 2))
        if name == "default" and hasattr(fc, "change_posterior_"):
            cp = fc.change_posterior_  # how well the data identify the monthly decline
            out["decline_sd"] = float(np.sqrt(cp.weights @ (cp.grid - cp.mean) ** 2))
    return out


def _quantiles(times: np.ndarray, levels) -> np.ndarray:
    """Inverted-CDF quantiles that keep ``inf`` (never reached) as ``inf``, not NaN."""
    ordered = np.sort(times)
    index = np.ceil(np.asarray(levels) * ordered.size).astype(int) - 1
    return ordered[np.clip(index, 0, ordered.size - 1)]


def _run_all(tasks, n_sims: int, jobs: int, *options) -> pd.DataFrame:
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(one_replicate, s, f, n_sims, *options) for s, f in tasks]
            return pd.DataFrame([fut.result() for fut in futures])
    return pd.DataFrame([one_replicate(s, f, n_sims, *options) for s, f in tasks])


def summarize(results: pd.DataFrame, by: str) -> pd.DataFrame:
    rows = []
    every = _methods(True, tuple({} for _ in range(9))) | _methods(external=True)
    methods = [m for m in every if f"{m}|cover50%" in results]
    for method in methods:
        for group, frame in results.groupby(by, sort=False):
            misses = ~frame[f"{method}|cover90%"]
            rows.append(
                {
                    by: group,
                    "method": method,
                    "reps": len(frame),
                    "cover50": frame[f"{method}|cover50%"].mean(),
                    "cover80": frame[f"{method}|cover80%"].mean(),
                    "cover90": frame[f"{method}|cover90%"].mean(),
                    "late_of_90_misses": (
                        frame.loc[misses, f"{method}|late90"].mean() if misses.any() else np.nan
                    ),
                    "width80_rel": frame[f"{method}|width80"].median(),
                    "median_bias": frame[f"{method}|bias"].median(),
                    "finite90": frame[f"{method}|finite90"].mean(),
                    "unreached": frame["unreached"].mean(),
                }
            )
    return pd.DataFrame(rows)


def _parse_options(text: str | None) -> dict:
    """``NAME=VALUE,...`` (values Python literals; a tuple in parentheses) as a dict."""
    if not text:
        return {}
    out, name = {}, None
    for part in re.split(r",(?![^()]*\))", text):
        name, sep, value = part.partition("=")
        if not sep:
            raise SystemExit(f"--candidate: {part!r} is not NAME=VALUE")
        out[name.strip()] = ast.literal_eval(value.strip())
    return out


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run for CI")
    parser.add_argument("--reps", type=int, default=None, help="replicates per family")
    parser.add_argument("--n-sims", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20250806)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--families", default=None, help="comma-separated subset")
    parser.add_argument("--csv", default=None, help="also write the per-replicate results")
    parser.add_argument(
        "--ablate",
        action="store_true",
        help="rows for the default with each source of its spread switched off: "
        + ", ".join(ABLATIONS),
    )
    parser.add_argument(
        "--candidate",
        action="append",
        default=[],
        help="a row 'candN' (repeatable): RecruitmentForecast options NAME=VALUE,... "
        "(Python literals), e.g. decline_prior_sd=0.05,decline_range=(-0.05, 0.15)",
    )
    parser.add_argument(
        "--methods", default=None, help="comma-separated rows to compute (default: all)"
    )
    parser.add_argument(
        "--unreached",
        action="store_true",
        help="keep trials that pass their cut but never reach the target (truth: after "
        "the simulation's end) instead of redrawing them",
    )
    parser.add_argument(
        "--informed",
        type=float,
        default=None,
        metavar="SD",
        help="centre the default model's decline prior on each family's true decline, "
        "with this SD per month (e.g. 0.01): what over-covers once the decline is known",
    )
    parser.add_argument(
        "--external",
        type=float,
        default=None,
        metavar="SD",
        help="add a row 'external': the default model with each trial's decline prior "
        "centred on its true decline plus an N(0, SD) error (seeded per trial), prior SD = "
        "SD: an honest outside estimate (e.g. 0.02)",
    )
    parser.add_argument(
        "--external-bias",
        type=float,
        default=0.0,
        metavar="B",
        help="with --external: shift the outside estimate by B per month (e.g. -0.02: a "
        "source that is confidently wrong)",
    )
    parser.add_argument(
        "--external-centre",
        choices=("truth", "curve"),
        default="truth",
        help="with --external: centre the outside estimate on the simulated decline "
        "(truth) or on the decline of the trial's whole screening curve, closures included "
        "(curve: what a completed trial of the kind would show)",
    )
    args = parser.parse_args(argv)
    if args.external is not None and not args.external > 0:
        parser.error(f"--external: the SD must be > 0 per month (e.g. 0.02), got {args.external}")
    candidates = tuple(_parse_options(c) for c in args.candidate)
    only = tuple(args.methods.split(",")) if args.methods else ()
    reps = args.reps or (6 if args.small else 300)
    n_sims = 400 if args.small and args.n_sims == 1000 else args.n_sims
    families = args.families.split(",") if args.families else list(FAMILIES)
    seeds = np.random.SeedSequence(args.seed).spawn(len(FAMILIES) * reps)
    tasks = [(seeds[list(FAMILIES).index(f) * reps + r], f) for f in families for r in range(reps)]
    started = time.perf_counter()
    options = (args.ablate, candidates, only, args.unreached, args.informed)
    options += (args.external, args.external_bias, args.external_centre)
    results = _run_all(tasks, n_sims, args.jobs, *options)
    if args.csv:
        results.to_csv(args.csv, index=False)
    with pd.option_context("display.width", 160, "display.precision", 3):
        if "decline_sd" in results:
            edges = [0, 0.03, 0.05, 0.07, np.inf]
            results["decline sd"] = pd.cut(results["decline_sd"], edges).astype(str)
        for by in ("family", "sites", "cut", "decline sd"):
            if by not in results:
                continue
            table = summarize(results, by)
            print(table.to_string(index=False))
            print()
        results["all"] = "all"
        print(summarize(results, "all").to_string(index=False))
    print(
        f"\n{len(results)} replicates, n_sims {n_sims}, seed {args.seed}: "
        f"{time.perf_counter() - started:.0f} s"
    )
    return results


if __name__ == "__main__":
    main()
