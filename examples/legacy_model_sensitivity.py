"""A sensitivity study on a foreign model: the nanoconfinement-md legacy surrogate.

    python examples/legacy_model_sensitivity.py

Converts the Keras-2 model and its scikit-learn 0.19 scaler in tests/data (the scaler is
read by a restricted unpickler: no code runs), then asks how the cation density near the
wall of a 3.5 nm slit depends on the salt concentration and the ion diameter
(c ~ U(0.3, 0.9) M, d ~ U(0.5, 0.75) nm, monovalent ions), exactly as for our own models.

Expected output: the converted model's description (5 inputs -> 149 cation bins), then
first and total Sobol' indices of c and d for bins 5, 20, 60 and 140 (seed 0, N = 2^12):
the concentration dominates everywhere (S1 from about 0.57 near the wall to 1.00 in the
middle), while the diameter matters only near the wall (S1 about 0.27 at bin 5, 0.00 at
bin 140), with an interaction of about 0.2 there.  Writes ``legacy_sobol.nc``.
"""

from pathlib import Path

from uqsurrogate.data.io import save_results
from uqsurrogate.model_function import ModelFunction
from uqsurrogate.problem import Problem, Uniform
from uqsurrogate.sensitivity import sobol
from uqsurrogate.surrogate.legacy import import_legacy_model

LEGACY = Path(__file__).resolve().parents[1] / "tests" / "data" / "nanoconfinement-md" / "legacy-surrogate"
path = import_legacy_model(LEGACY / "my_model.h5", LEGACY / "scaler.pkl", Path("legacy_model"),
                           input_names=["h", "valency_cation", "valency_anion", "c", "d"],
                           input_units=["nm", "1", "1", "mol/L", "nm"],
                           z_affine={"start": {"h": -0.5}, "width": {"d": 0.02}}, overwrite=True)
f = ModelFunction.from_artifact(path)
print(f.describe())
problem = Problem({"h": 3.5, "valency_cation": 1.0, "valency_anion": -1.0, "c": Uniform(0.3, 0.9),
                   "d": Uniform(0.5, 0.75)}, units=dict(zip(f.input_names, f.input_units)))
res = sobol(f.restrict(bins=[5, 20, 60, 140]), problem, 2**12, seed=0, progress=False)
save_results(res, "legacy_sobol.nc")
for b in res["bin"].values:
    r = res.sel(bin=b, species="cation")
    print(f"bin {b:>3}: S1 c {float(r['S1'][0]):.3f}, d {float(r['S1'][1]):.3f}; "
          f"ST c {float(r['ST'][0]):.3f}, d {float(r['ST'][1]):.3f}")
