"""Sample datasets shipped with ganapps, registered through the ``register_datasets`` hook.

Each sample lives in its own folder with a README giving its origin and licence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ganapps.core.hookspecs import hookimpl
from ganapps.core.registry import DatasetInfo

HERE = Path(__file__).parent

SAMPLES = [
    DatasetInfo(
        name="creditcard-sample",
        path=HERE / "creditcard" / "creditcard_sample.csv",
        apps=("fraud",),
        rows=1000,
        licence="ODbL 1.0 / DbCL 1.0",
        description="1,000 card transactions (109 frauds), Time, V1-V28 (PCA), Amount, Class",
        source="Credit Card Fraud Detection (ULB Machine Learning Group and Worldline; Kaggle mlg-ulb/creditcardfraud)",
    ),
    DatasetInfo(
        name="mnist-sample",
        path=HERE / "mnist" / "mnist_sample.npz",
        apps=("dcgan", "cgan", "stylegan"),
        rows=5000,
        licence="CC BY-SA 3.0",
        description="5,000 MNIST digits (500 per class), 28×28",
        source="MNIST (LeCun, Cortes, Burges), t10k subset",
    ),
    DatasetInfo(
        name="oil-sample",
        path=HERE / "oil" / "oil_prices.csv",
        apps=("fints",),
        rows=2732,
        licence="Public domain (U.S. EIA)",
        description="Brent and WTI daily spot prices 2008-01-02 … 2018-10-04, wide form with exchange-specific gaps",
        source="Source: U.S. EIA, via the datahub datasets/oil-prices package (PDDL / Unlicense)",
    ),
    DatasetInfo(
        name="mimic3-demo-diagnoses",
        path=HERE / "mimic3_demo" / "DIAGNOSES_ICD.csv",
        apps=("medgan",),
        rows=1484,
        licence="ODbL 1.0",
        description="ICD-9 diagnoses (long format) of 80 MIMIC-III demo patients, 528 codes",
        source="MIMIC-III Clinical Database Demo v1.4 (Johnson, Pollard, Mark; PhysioNet, doi:10.13026/C2HM2Q)",
    ),
    DatasetInfo(
        name="mimic-admissions",
        path=HERE / "mimic_admissions" / "ADMISSIONS.csv",
        apps=("tabular", "sdv-ctgan", "sdv-gaussiancopula", "sdv-tvae"),
        rows=106,
        licence="ODbL 1.0",
        description="MIMIC-III demo ADMISSIONS: 106 admissions, ids, datetimes, categories, missing values",
        source="MIMIC-III Clinical Database Demo v1.4 (PhysioNet, doi:10.13026/C2HM2Q)",
    ),
    DatasetInfo(
        name="online-retail-sample",
        path=HERE / "ecommerce" / "online_retail_sample.csv.gz",
        apps=("ecommerce",),
        rows=4613,
        licence="CC BY 4.0",
        description="4,613 order lines of UCI Online Retail (60 customers, 264 invoices, returns included)",
        source="UCI Online Retail (Chen, Sain & Guo 2012)",
    ),
    DatasetInfo(
        name="facades-pix2pix-sample",
        path=HERE / "facades" / "pix2pix",
        apps=("pix2pix", "srgan", "stylegan"),
        rows=32,
        licence="CC BY-SA",
        description="32 aligned facade photo|label pairs (CMP Facade Database), 128×64 (two 64×64 halves)",
        source="CMP Facade Database (Tyleček & Šára, GCPR 2013), pix2pix facades train 1–32, downscaled",
    ),
    DatasetInfo(
        name="facades-cyclegan-sample",
        path=HERE / "facades" / "cyclegan",
        apps=("cyclegan", "srgan"),
        rows=48,
        licence="CC BY-SA",
        description="unpaired facades: 24 photos (trainA/) and 24 label maps (trainB/), 64×64",
        source="CMP Facade Database (Tyleček & Šára, GCPR 2013), pix2pix facades train halves, downscaled",
    ),
]


@hookimpl
def register_datasets(register: Callable[[DatasetInfo], None]) -> None:
    for info in SAMPLES:
        register(info)
