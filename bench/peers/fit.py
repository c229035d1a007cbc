"""Fit one SDV peer synthesizer on a CSV file and write as many synthetic rows as asked.

    python fit.py --model gaussian_copula|ctgan --train TRAIN.csv --rows N --out OUT.csv --seed S [--epochs E]

Prints one JSON line on stdout: {"model", "fit_seconds", "sample_seconds", "rows", "epochs", ...}. The
metadata is what SDV detects from the dataframe, with no hand edits. Run by bench/peers.ts from the venv
that bench/peers/setup.sh creates; the CSV is read and written with pandas' defaults, so text keeps its
spaces (Adult's " State-gov") and the output reads back like the input.
"""

import argparse
import json
import os
import random
import sys
import time
import warnings
from importlib.metadata import version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, choices=["gaussian_copula", "ctgan"])
    parser.add_argument("--train", required=True, help="CSV file to learn from")
    parser.add_argument("--rows", required=True, type=int, help="rows to sample")
    parser.add_argument("--out", required=True, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=300, help="CTGAN epochs (SDV's default: 300)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for torch, OpenMP and BLAS (default 1: see README.md, two OpenMP threads on a busy"
        " 2-core machine made a CTGAN step about 50 times slower)",
    )
    args = parser.parse_args()

    # Before numpy and torch load, so that their thread pools take it.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    warnings.filterwarnings("ignore")
    import numpy as np
    import pandas as pd
    import sdv
    import torch
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    data = pd.read_csv(args.train)
    metadata = Metadata.detect_from_dataframes({"table": data}, infer_keys="primary_only")
    if args.model == "gaussian_copula":
        synthesizer = GaussianCopulaSynthesizer(metadata)
    else:
        synthesizer = CTGANSynthesizer(metadata, epochs=args.epochs, enable_gpu=False)

    t = time.perf_counter()
    synthesizer.fit({"table": data})  # SDV 2 takes a dict of tables, even for one table
    fit_seconds = time.perf_counter() - t

    # SDV samples from a fixed seed unless told otherwise; give it ours.
    if hasattr(synthesizer, "_set_random_state"):
        synthesizer._set_random_state(args.seed)
    t = time.perf_counter()
    synthetic = synthesizer.sample(num_rows=args.rows)
    if isinstance(synthetic, dict):  # SDV 2: {table name: dataframe}
        synthetic = synthetic["table"]
    sample_seconds = time.perf_counter() - t

    tmp = f"{args.out}.tmp-{os.getpid()}"
    synthetic.to_csv(tmp, index=False)
    os.replace(tmp, args.out)

    table = metadata.to_dict()["tables"]["table"]
    print(
        json.dumps(
            {
                "model": args.model,
                "fit_seconds": fit_seconds,
                "sample_seconds": sample_seconds,
                "rows": len(synthetic),
                "epochs": args.epochs if args.model == "ctgan" else None,
                "seed": args.seed,
                "torch_threads": torch.get_num_threads(),
                "sdtypes": {c: v.get("sdtype") for c, v in table["columns"].items()},
                "primary_key": table.get("primary_key"),
                "versions": {
                    "python": sys.version.split()[0],
                    "sdv": sdv.__version__,
                    "ctgan": version("ctgan"),
                    "torch": torch.__version__,
                    "pandas": pd.__version__,
                },
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
