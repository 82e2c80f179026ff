"""The paper's Sec. III-D sensitivity study, built from the public pieces.

    python examples/paper_sensitivity.py [MODEL_DIR] [--quick]

Inputs: h = 4.5 nm, σ = -0.015 C/m², c = 0.3 and 1.9 M, D+ ~ N(0.4, 0.01²) nm,
D- ~ N(0.6, 0.015²) nm; 1000 x 1000 draws (``--quick``: 300 x 300), seed 0.  Output: the
net charge density ρ(z) at z = -2.05, -1.95, -1.85, -1.55 and -1.0 nm; the nested
estimator in the paper's form (S1) and bias-corrected (S1_corrected), with the corrected
index's 95 % sampling interval (two-way jackknife) and, for an ensemble such as the
shipped one, its range over the members (every member is studied with the same draws).

This is what ``uqsurrogate study`` runs (through ``uqsurrogate.study.paper_sensitivity``),
written out with the model function, a Problem and ``nested`` as you would for your own
study; ``tests/test_examples.py`` checks that the two give the same numbers.

Expected output: with the shipped surrogate, one ExtrapolationWarning per case (about 2 %
of the D- draws lie beyond the training range, which ends at 0.63 nm), and one line per (c, z)
with S+ and S- in percent and the interaction share — e.g. at c = 0.3 M S+ ≈ 100 % at
z = -2.05 nm (the cation contact) and S- ≈ 100 % at z = -1.95 nm — the same numbers as the
S+ and S- columns of ``uqsurrogate study``'s table.  It writes ``paper_sensitivity_c*.nc``.
"""

import sys
import warnings

from uqsurrogate.data.io import save_results
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.problem import Normal, Problem
from uqsurrogate.sensitivity import nested
from uqsurrogate.uncertainty.trust import member_summary
from uqsurrogate.study import default_model_path
from uqsurrogate.warnings import ExtrapolationWarning

args = [a for a in sys.argv[1:] if not a.startswith("--")]
n = 300 if "--quick" in sys.argv else 1000
# the paper's D- distribution reaches past the training range: evaluate there, with a warning
f = ModelFunction.from_artifact(args[0] if args else default_model_path(), extrapolation="warn")
z = [-2.05, -1.95, -1.85, -1.55, -1.0]
members = f.n_members > 1  # an ensemble: study every member (a member dim), then summarise
every = f.with_options(ensemble="members") if members else f
rho = every.restrict(output="charge_density", z=z, h=4.5)  # (n, [K,] 5) in C/m3: only these bins are computed

print(f"{'c (M)':>6} {'z (nm)':>7} {'S+ (%)':>7} {'S- (%)':>7} {'1-S+-S- (%)':>12} {'S+ corr.':>9} {'S- corr.':>9}"
      f"  {'S+ corr. 95 %':>14} {'S+ members':>12}")
for c in (0.3, 1.9):
    problem = Problem({"h": 4.5, "c": c, "d_plus": Normal(0.4, 0.01), "d_minus": Normal(0.6, 0.015),
                       "sigma": -0.015})
    with warnings.catch_warnings(record=True) as caught:  # one note per case, not one per chunk
        warnings.simplefilter("always", ExtrapolationWarning)
        res = nested(rho, problem, n, n, seed=0)  # xarray: S1, S1_corrected (input, [member,] bin), ...
    if members:
        res = member_summary(res)  # member means, with S1_corrected_member_min/max beside the intervals
    if caught:
        warnings.warn(f"c = {c:g} M: {len(caught)} of the model calls had draws outside the training range "
                      f"(first: {caught[0].message})", ExtrapolationWarning, stacklevel=1)
    save_results(res, f"paper_sensitivity_c{c:g}.nc")
    for k in range(len(z)):
        sp, sm = 100 * res["S1"].values[:, k]
        cp, cm = 100 * res["S1_corrected"].values[:, k]
        low, high = 100 * res["S1_corrected_low"].values[0, k], 100 * res["S1_corrected_high"].values[0, k]
        spread = (f"{100 * res['S1_corrected_member_min'].values[0, k]:.1f}-"
                  f"{100 * res['S1_corrected_member_max'].values[0, k]:.1f}") if members else "-"
        print(f"{c:>6g} {z[k]:>7g} {sp:>7.1f} {sm:>7.1f} {100 - sp - sm:>12.1f} {cp:>9.1f} {cm:>9.1f}"
              f"  {f'{low:.1f}-{high:.1f}':>14} {spread:>12}")
