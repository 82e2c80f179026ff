"""Training data: the contract, netCDF I/O, and importers of real MD output.

See :mod:`uqsurrogate.data.schema` for the contract.
"""

from .append import append_samples, input_matrix
from .io import load_dataset, save_dataset
from .lammps import read_ave_chunk, read_lammps_run
from .rebin import rebin
from .runs import MDRun, runs_to_dataset
from .schema import (INPUTS, SPECIES, DataContractError, InputSpec, check, input_names, make_dataset, validate,
                     z_as_coordinate)
from .summary import summarize
from .tables import parse_run_name, read_run_folder, read_table_run

__all__ = [
    "INPUTS",
    "SPECIES",
    "DataContractError",
    "InputSpec",
    "MDRun",
    "append_samples",
    "check",
    "input_matrix",
    "input_names",
    "load_dataset",
    "make_dataset",
    "parse_run_name",
    "read_ave_chunk",
    "read_lammps_run",
    "read_run_folder",
    "read_table_run",
    "rebin",
    "runs_to_dataset",
    "save_dataset",
    "summarize",
    "validate",
    "z_as_coordinate",
]
