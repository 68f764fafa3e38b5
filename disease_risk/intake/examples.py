"""Seeded generator of the SIMULATED example surveillance data set in ``config/samples/``.

The data are invented, but shaped like CDV serosurveillance in the Land of the Leopard area
(south-west Primorsky Krai) 2000-2020, with rates taken from the published serosurveys collected
in ``../shared/docs/DOMAIN.md``:

- unvaccinated village dogs ~27% seropositive, positive in every community sampled (Gilbert et
  al., WDA 2016 abstract: 464 dogs, 27.2%); ~16% of dogs vaccinated (Goodrich et al., J Wildl Dis
  2012);
- mesocarnivores (raccoon dog, badger, sable, fox ...) ~25% (Gilbert et al. 2016: 101, 24.7%);
- tigers ~15% in the early 2000s rising to ~35% (Goodrich et al. 2012: 44 tigers, 15%; Gilbert,
  PhD thesis: 0/19 before 2000, 35.7% of 56 after); large carnivores 7.5% in 1993-99 and 21.1% in
  2000-11 (Gilbert et al. 2016) guide the leopards, which are rare (~25-40 wild animals in the
  2000s; IUCN WCC 2020);
- prey (roe deer, sika deer, wild boar) are not CDV hosts: their few positives are test error;
- other hazards (issue 15), a separate big-cat sheet of the same animals' first captures, no
  ages: antibodies to feline parvovirus (haemagglutination inhibition) and Toxoplasma gondii
  (modified agglutination test) in tigers at 68% and 42% (Goodrich et al. 2012, J Wildl Dis
  48(1):186-189: 44 wild Amur tigers), leopards at 45% for FPV (Naidenko et al. 2018, Can J
  Zool 96:839-846: felids of southern Primorye) and 42% for Toxoplasma (assumed as tigers).
  These rows draw from their own random stream, so the CDV sheets stay as they were.

Each animal's seropositivity comes from a catalytic model: infection arrives at a
species-specific annual force of infection (:func:`true_force_of_infection`) from birth to
sampling, and infection gives lifelong antibodies. The lab call then applies imperfect
sensitivity and specificity (:data:`TRUE_TEST_ACCURACY`), so a force-of-infection model fitted to
the sheets can be checked against the truth. Regenerate with ``disease-risk make-example-data``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl

from disease_risk.seeds import DEFAULT_SEED

SITES: dict[str, tuple[float, float]] = {
    # approximate centres; the villages are dog sampling sites, the reserves big-cat captures
    "Kedrovaya Pad": (43.10, 131.55),
    "Borisovskoe Plateau": (43.45, 131.60),
    "Барабаш": (43.20, 131.48),
    "Slavyanka": (42.86, 131.38),
    "Kraskino": (42.71, 130.79),
    "Nezhino": (43.38, 131.65),
}
VILLAGES = ("Барабаш", "Slavyanka", "Kraskino", "Nezhino")
WILD_SITES = ("Kedrovaya Pad", "Borisovskoe Plateau", "Барабаш", "Kraskino")

# Annual force of infection (per animal per year). Dogs, mesocarnivores and prey are constant;
# the big cats' rises linearly from 2000 (Gilbert thesis: tigers seronegative before 2000).
_CONSTANT_FOI = {
    "domestic_dog": 0.10,
    "raccoon_dog": 0.20,
    "red_fox": 0.16,
    "asian_badger": 0.14,
    "sable": 0.10,
    "leopard_cat": 0.06,
    "siberian_roe_deer": 0.0,
    "sika_deer": 0.0,
    "wild_boar": 0.0,
}
_RAMP_FOI = {  # (value up to 2000, increase per year after 2000)
    "amur_tiger": (0.02, 0.0025),
    "amur_leopard": (0.015, 0.0015),
}
TRUE_TEST_ACCURACY = {"VNT": (0.92, 0.985), "ELISA_IgG": (0.88, 0.95),  # (Se, Sp)
                      "FPV_HI": (0.9, 0.97), "Toxo_MAT": (0.9, 0.96)}
# True seroprevalence of the other hazards' example rows (see the module docstring).
OTHER_HAZARD_PREVALENCE = {
    "FPV_HI": {"amur_tiger": 0.68, "amur_leopard": 0.45},
    "Toxo_MAT": {"amur_tiger": 0.42, "amur_leopard": 0.42},
}
OTHER_HAZARD_ANIMALS = {"amur_tiger": 30, "amur_leopard": 15}  # first captures tested
# Titres a positive / negative serum reads at (reciprocal; "<" = below the first dilution).
_OTHER_TITRES = {"FPV_HI": ((40, 80, 160, 320, 640, 1280), ("<10", "10", "20")),
                 "Toxo_MAT": ((25, 50, 100, 200, 400), ("<25",))}
VACCINE_RESPONSE = 0.75  # chance a vaccinated dog carries antibodies at sampling


def true_force_of_infection(species: str, year: float) -> float:
    """The force of infection the example data were simulated with (per year)."""
    if species in _RAMP_FOI:
        base, slope = _RAMP_FOI[species]
        return base + slope * max(0.0, year - 2000.0)
    return _CONSTANT_FOI[species]


@dataclass
class _Sample:
    sample_id: str
    animal_id: str
    species: str
    site: str
    date: dt.date
    assay: str
    positive: bool
    age_years: float | None
    birth_year: int | None
    sex: str
    lat: float | None
    lon: float | None
    vaccinated: str
    lab: str
    sequence_id: str = ""
    notes: str = ""


_GRID_STEP = 0.02
_GRID = np.arange(1960.0, 2021.0 + _GRID_STEP, _GRID_STEP)


def _infection_times(species: str, births: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """First infection time of each animal (inf if never before 2021) under the catalytic model."""
    rates = np.array([true_force_of_infection(species, t) for t in _GRID])
    cumulative = np.concatenate([[0.0], np.cumsum(rates[:-1] * _GRID_STEP)])
    at_birth = np.interp(births, _GRID, cumulative)
    targets = at_birth + rng.exponential(1.0, size=len(births))
    index = np.searchsorted(cumulative, targets)
    return np.where(index < len(_GRID), _GRID[np.minimum(index, len(_GRID) - 1)], np.inf)


def _to_date(year: float) -> dt.date:
    start = dt.date(int(year), 1, 1)
    return start + dt.timedelta(days=int((year - int(year)) * 365.0))


def _animals(species: str, n: int, ages: np.ndarray, repeat_p: float, rng: np.random.Generator,
             max_repeats: int = 2) -> list[tuple[int, float, list[float], float]]:
    """(animal index, birth time, sampling times, infection time) for ``n`` animals."""
    first = rng.uniform(2000.0, 2020.95, size=n)
    births = first - ages
    infections = _infection_times(species, births, rng)
    out = []
    for i in range(n):
        times = [first[i]]
        while len(times) <= max_repeats and rng.random() < repeat_p:
            nxt = times[-1] + rng.uniform(0.8, 4.0)
            if nxt > 2020.95:
                break
            times.append(nxt)
        out.append((i, births[i], times, infections[i]))
    return out


def _test_positive(infected: bool, assay: str, rng: np.random.Generator) -> bool:
    se, sp = TRUE_TEST_ACCURACY[assay]
    return bool(rng.random() < (se if infected else 1.0 - sp))


def _titre_text(positive: bool, style: str, rng: np.random.Generator) -> str:
    """A VNT result as the lab writes it; positive results are at or above the 1:16 cut-off."""
    if positive:
        value = int(2 ** rng.choice(np.arange(4, 11), p=[.12, .2, .22, .2, .13, .08, .05]))
        if value == 1024 and rng.random() < 0.5:
            return ">=1:1024" if style == "ratio" else ">=1024"
    else:
        value = int(rng.choice([0, 4, 8], p=[0.7, 0.15, 0.15]))
        if value == 0:
            return "<1:4" if style == "ratio" else "<4"
    return f"1:{value}" if style == "ratio" else str(value)


def _sex(rng: np.random.Generator, p_male: float = 0.5, p_unknown: float = 0.05) -> str:
    u = rng.random()
    return "unknown" if u < p_unknown else "M" if u < p_unknown + p_male * (1 - p_unknown) else "F"


def _jitter(site: str, rng: np.random.Generator) -> tuple[float, float]:
    lat, lon = SITES[site]
    return round(lat + rng.normal(0, 0.04), 5), round(lon + rng.normal(0, 0.05), 5)


def _simulate(seed: int) -> dict[str, list[_Sample]]:
    """Every simulated sample, by sheet; one generator drawn in a fixed order (same seed, same
    samples)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    cats = _big_cats(rng)
    dogs = _village_dogs(rng)
    sheets = {"dogs": dogs, "cats": cats, "meso": _mesocarnivores(rng), "prey": _prey(rng)}
    _assign_sequences(sheets, rng)
    return sheets


def _big_cats(rng: np.random.Generator) -> list[_Sample]:
    """Tigers and leopards: repeat captures, ages from tooth wear or a known birth year."""
    out: list[_Sample] = []
    counter = 0
    for species, n, prefix, repeat in (("amur_tiger", 60, "T", 0.45),
                                       ("amur_leopard", 24, "L", 0.3)):
        ages = np.clip(rng.gamma(3.0, 1.8, size=n), 0.7, 16.0)
        for i, birth, times, infected_at in _animals(species, n, ages, repeat, rng):
            sex = _sex(rng)
            site = str(rng.choice(["Kedrovaya Pad", "Borisovskoe Plateau"], p=[0.6, 0.4]))
            known_birth = rng.random() < 0.4
            no_age = rng.random() < 0.1
            for t in times:
                counter += 1
                assay = "ELISA_IgG" if rng.random() < 0.12 else "VNT"
                infected = infected_at <= t
                lat, lon = _jitter(site, rng)
                out.append(_Sample(
                    sample_id=f"BCT-{counter:04d}", animal_id=f"{prefix}{i + 1:03d}",
                    species=species, site=site, date=_to_date(t), assay=assay,
                    positive=_test_positive(infected, assay, rng),
                    age_years=None if no_age or known_birth else float(round(t - birth)),
                    birth_year=int(birth) if known_birth and not no_age else None,
                    sex=sex, lat=lat, lon=lon, vaccinated="no", lab="big_cat_team",
                ))
                out[-1].notes = "infected" if infected else ""
    return out


def _village_dogs(rng: np.random.Generator) -> list[_Sample]:
    """Village dogs: owner-reported ages, some vaccinated, a few sampled twice."""
    out: list[_Sample] = []
    n_dogs = 920
    ages = np.clip(rng.gamma(1.8, 2.0, size=n_dogs), 0.3, 15.0)
    counter = 0
    for i, birth, times, infected_at in _animals("domestic_dog", n_dogs, ages, 0.05, rng, 1):
        village = str(rng.choice(VILLAGES, p=[0.3, 0.3, 0.2, 0.2]))
        vacc_u = rng.random()
        vaccinated = "yes" if vacc_u < 0.16 else "unknown" if vacc_u < 0.24 else "no"
        sex = _sex(rng, 0.57)
        no_age = rng.random() < 0.1
        for t in times:
            counter += 1
            infected = infected_at <= t
            positive = _test_positive(infected, "VNT", rng)
            if vaccinated == "yes" and rng.random() < VACCINE_RESPONSE:
                positive = True
            out.append(_Sample(
                sample_id=f"RVL-{counter:05d}", animal_id=f"DOG{i + 1:04d}",
                species="domestic_dog", site=village, date=_to_date(t), assay="VNT",
                positive=positive,
                age_years=None if no_age else float(round((t - birth) * 2) / 2),
                birth_year=None, sex=sex, lat=None, lon=None, vaccinated=vaccinated,
                lab="regional_vet_lab", notes="infected" if infected else "",
            ))
    return out


def _mesocarnivores(rng: np.random.Generator) -> list[_Sample]:
    """Mesocarnivores (VNT): trapped or hunter-killed, single samples."""
    out: list[_Sample] = []
    counter = 0
    for species, n, mean_age in (("raccoon_dog", 190, 2.0), ("asian_badger", 110, 2.6),
                                 ("sable", 70, 2.2), ("red_fox", 90, 2.0),
                                 ("leopard_cat", 50, 2.4)):
        ages = np.clip(rng.gamma(2.0, mean_age / 2.0, size=n), 0.3, 9.0)
        for _, birth, times, infected_at in _animals(species, n, ages, 0.0, rng):
            counter += 1
            t = times[0]
            site = str(rng.choice(WILD_SITES))
            lat, lon = _jitter(site, rng) if rng.random() < 0.5 else (None, None)
            infected = infected_at <= t
            out.append(_Sample(
                sample_id=f"WL-{counter:04d}", animal_id="", species=species, site=site,
                date=_to_date(t), assay="VNT", positive=_test_positive(infected, "VNT", rng),
                age_years=None if rng.random() < 0.15 else float(round((t - birth) * 2) / 2),
                birth_year=None, sex=_sex(rng, 0.5, 0.1), lat=lat, lon=lon,
                vaccinated="no", lab="wildlife_lab", notes="infected" if infected else "",
            ))
    return out


def _prey(rng: np.random.Generator) -> list[_Sample]:
    """Prey (ELISA): hunter-killed, single samples; serology controls."""
    out: list[_Sample] = []
    counter = 0
    for species, n in (("siberian_roe_deer", 150), ("sika_deer", 110), ("wild_boar", 120)):
        ages = np.clip(rng.gamma(2.0, 1.5, size=n), 0.3, 12.0)
        for _, birth, times, infected_at in _animals(species, n, ages, 0.0, rng):
            counter += 1
            t = times[0]
            infected = infected_at <= t
            out.append(_Sample(
                sample_id=f"FT-{counter:04d}", animal_id="", species=species,
                site=str(rng.choice(WILD_SITES)), date=_to_date(t), assay="ELISA_IgG",
                positive=_test_positive(infected, "ELISA_IgG", rng),
                age_years=None if rng.random() < 0.3 else float(round(t - birth)),
                birth_year=None, sex=_sex(rng, 0.5, 0.2), lat=None, lon=None,
                vaccinated="no", lab="field_team",
            ))
    return out


_SEQUENCED = {"amur_tiger": 6, "amur_leopard": 2, "domestic_dog": 8, "raccoon_dog": 4,
              "asian_badger": 2, "red_fox": 3}


def _assign_sequences(sheets: dict[str, list[_Sample]], rng: np.random.Generator) -> None:
    """Give ~25 truly infected, test-positive animals (2003 on) an H-gene ``sequence_id``."""
    everyone = [s for samples in sheets.values() for s in samples]
    for species, k in _SEQUENCED.items():
        pool = [s for s in everyone if s.species == species and s.positive
                and s.notes == "infected" and s.date.year >= 2003 and s.vaccinated != "yes"]
        seen_animals: set[str] = set()
        chosen = []
        for index in rng.permutation(len(pool)):
            sample = pool[index]
            if sample.animal_id and sample.animal_id in seen_animals:
                continue
            seen_animals.add(sample.animal_id)
            chosen.append(sample)
            if len(chosen) == k:
                break
        for sample in chosen:
            sample.sequence_id = f"CDVH-{sample.sample_id}"
    for sample in everyone:
        sample.notes = ("H gene sequenced from a swab or tissue of this animal"
                        if sample.sequence_id else "")


# ----------------------------------------------------------------------------- writing

_HEADER = ["sample_id", "animal_id", "species", "site", "collection_date", "assay", "result",
           "sex", "age_years", "birth_year", "latitude", "longitude", "lab", "vaccinated",
           "sample_type", "sequence_id", "notes"]


def _fmt(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def _result(sample: _Sample, style: str, rng: np.random.Generator) -> str:
    if sample.assay == "VNT":
        return _titre_text(sample.positive, style, rng)
    return "pos" if sample.positive else "neg"


def _write_text(path: Path, header: list[str], rows: list[list[str]], delimiter: str,
                bom: bool) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))


def _dogs_sheet(samples: list[_Sample], rng: np.random.Generator) -> list[list[str]]:
    """Regional vet lab: dd.mm.yyyy dates, 1:32 titres, Russian spellings for some rows."""
    rows = []
    for s in sorted(samples, key=lambda s: s.date):
        species = "собака" if s.site == "Барабаш" and rng.random() < 0.5 else "dog"
        rows.append([s.sample_id, s.animal_id, species, s.site, s.date.strftime("%d.%m.%Y"),
                     "VNT", _result(s, "ratio", rng), s.sex if s.sex != "unknown" else "",
                     _fmt(s.age_years), s.lab, s.vaccinated, "serum", s.sequence_id, s.notes,
                     f"HH-{int(s.animal_id[3:]) % 400:03d}"])
    rows[_unsequenced_row(rows, 12, len(rows) // 3)][4] = "31.02.2012"  # 31 February
    return rows


def _unsequenced_row(rows: list[list[str]], sequence_column: int, start: int) -> int:
    """Index of the first row from ``start`` without a sequence_id (to spoil deliberately)."""
    return next(i for i in range(start, len(rows)) if not rows[i][sequence_column])


def _cats_rows(samples: list[_Sample], rng: np.random.Generator) -> list[list[object]]:
    """Big-cat team workbook: dates before 2010 typed as Excel serial numbers, later as dates."""
    names = {"amur_tiger": ("tiger", "Amur tiger", "Panthera tigris altaica"),
             "amur_leopard": ("leo", "Far Eastern leopard", "Panthera pardus orientalis")}
    rows: list[list[object]] = []
    for s in sorted(samples, key=lambda s: (s.date, s.sample_id)):
        date: object = (s.date - dt.date(1899, 12, 30)).days if s.date.year < 2010 else \
            dt.datetime(s.date.year, s.date.month, s.date.day)
        result: object = _result(s, "plain", rng)
        if isinstance(result, str) and result.isdigit():
            result = int(result)
        rows.append([s.sample_id, s.animal_id, str(rng.choice(names[s.species])), s.site, date,
                     s.assay, result, s.sex, s.age_years, s.birth_year, s.lat, s.lon, s.lab,
                     s.vaccinated, "serum", s.sequence_id or None, s.notes or None])
    return rows


def _plain_rows(samples: list[_Sample], rng: np.random.Generator) -> list[list[str]]:
    return [[s.sample_id, s.animal_id, s.species.replace("_", " "), s.site, s.date.isoformat(),
             s.assay, _result(s, "plain", rng), s.sex, _fmt(s.age_years), _fmt(s.birth_year),
             _fmt(s.lat), _fmt(s.lon), s.lab, s.vaccinated, "serum", s.sequence_id, s.notes]
            for s in sorted(samples, key=lambda s: (s.date, s.sample_id))]


_FIXED_TIME = dt.datetime(2026, 1, 1)


def _write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """Write a workbook whose bytes depend only on its content (fixed zip and doc timestamps)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "samples"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
        cell = sheet.cell(row=sheet.max_row, column=5)
        if isinstance(cell.value, dt.datetime):
            cell.number_format = "dd.mm.yyyy"
    book.properties.created = book.properties.modified = _FIXED_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for info in sorted(source.infolist(), key=lambda i: i.filename):
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z",
                              data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, data)


SHEET_FILES = (
    "SIMULATED_regional_vet_lab_village_dogs.csv",
    "SIMULATED_big_cat_team_tigers_leopards.xlsx",
    "SIMULATED_wildlife_lab_mesocarnivores.tsv",
    "SIMULATED_field_team_prey_elisa.csv",
    "SIMULATED_big_cat_team_fpv_toxoplasma.csv",
)


def _other_hazard_rows(cats: list[_Sample], seed: int) -> list[list[str]]:
    """FPV and Toxoplasma results of the first capture of some tigers and leopards (no ages:
    no force of infection for these), drawn from their own stream so the CDV rows, drawn
    before, do not move."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    first: dict[str, _Sample] = {}
    for sample in sorted(cats, key=lambda s: (s.date, s.sample_id)):
        first.setdefault(sample.animal_id, sample)
    rows = []
    for assay, prevalence in OTHER_HAZARD_PREVALENCE.items():
        se, sp = TRUE_TEST_ACCURACY[assay]
        positive_titres, negative_titres = _OTHER_TITRES[assay]
        for species, n in OTHER_HAZARD_ANIMALS.items():
            animals = sorted(a for a, s in first.items() if s.species == species)
            for animal in sorted(rng.choice(animals, size=n, replace=False)):
                s = first[str(animal)]
                infected = rng.random() < prevalence[species]
                positive = rng.random() < (se if infected else 1.0 - sp)
                titre = str(rng.choice(positive_titres if positive else negative_titres))
                rows.append([f"{s.sample_id}-{assay.split('_')[0]}", s.animal_id,
                             species.replace("_", " "), s.site, s.date.isoformat(), assay,
                             titre, s.sex, "", "", _fmt(s.lat), _fmt(s.lon), s.lab, "no",
                             "serum", "", ""])
    return rows


def write_example_sheets(out_dir: str | Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write the example sheets (and a README) into ``out_dir``; same seed, same bytes."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sheets = _simulate(seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    dogs, cats, meso, prey, others = (out / name for name in SHEET_FILES)

    dog_header = ["Sample_ID", "Animal ID", "Species", "Site", "Collection date", "Assay",
                  "Result", "Sex", "Age_years", "Lab", "Vaccinated", "Sample type", "Sequence_ID",
                  "Notes", "household"]
    _write_text(dogs, dog_header, _dogs_sheet(sheets["dogs"], rng), ",", bom=True)
    _write_xlsx(cats, _HEADER, _cats_rows(sheets["cats"], rng))

    meso_rows = _plain_rows(sheets["meso"], rng)
    meso_rows[_unsequenced_row(meso_rows, 15, len(meso_rows) // 2)][6] = "1;64"  # garbled
    _write_text(meso, _HEADER, meso_rows, "\t", bom=False)
    prey_rows = _plain_rows(sheets["prey"], rng)
    prey_rows.insert(101, list(prey_rows[100]))  # the same row pasted twice
    _write_text(prey, _HEADER, prey_rows, ",", bom=False)
    other_rows = _other_hazard_rows(sheets["cats"], seed)
    _write_text(others, _HEADER, other_rows, ",", bom=False)
    (out / "README.md").write_text(_readme(sheets, other_rows), encoding="utf-8")
    return [dogs, cats, meso, prey, others]


def _readme(sheets: dict[str, list[_Sample]], other_rows: list[list[str]]) -> str:
    counts: dict[str, int] = {}
    for samples in sheets.values():
        for s in samples:
            counts[s.species] = counts.get(s.species, 0) + 1
    lines = [
        "# SIMULATED example sample sheets",
        "",
        "These sheets are **simulated** by `disease-risk make-example-data` "
        "(`disease_risk/intake/examples.py`); they are not real samples. Rates follow the "
        "published serosurveys listed in that module. Only `.csv`, `.tsv` and `.xlsx` files "
        "here are read as sample sheets.",
        "",
        "Deliberate imperfections (the example run lists them in `results/qc/rejected_rows.tsv`): "
        "an impossible date (31.02.2012) in the dog sheet, a garbled titre (`1;64`) in the "
        "mesocarnivore sheet, and one prey row pasted twice (an exact duplicate, kept once).",
        "",
        "| species | samples | true force of infection (per year) |",
        "|---|---|---|",
    ]
    for species, n in sorted(counts.items()):
        if species in _RAMP_FOI:
            base, slope = _RAMP_FOI[species]
            foi = f"{base:g} to 2000, then +{slope:g} per year ({base + 20 * slope:g} in 2020)"
        else:
            foi = f"{_CONSTANT_FOI[species]:g}"
        lines.append(f"| {species} | {n} | {foi} |")
    se_sp = ", ".join(f"{a}: Se {se:g}, Sp {sp:g}" for a, (se, sp) in TRUE_TEST_ACCURACY.items())
    lines += ["", f"Test accuracy used: {se_sp}. Vaccinated dogs carry antibodies with "
              f"probability {VACCINE_RESPONSE:g} regardless of infection.", ""]
    lines += [
        "Other hazards (issue 15): `SIMULATED_big_cat_team_fpv_toxoplasma.csv` holds "
        f"{len(other_rows)} results of the first captures of "
        + " and ".join(f"{n} {s.replace('_', ' ')}s" for s, n in OTHER_HAZARD_ANIMALS.items())
        + " for feline parvovirus (FPV_HI, positive from 1:40) and Toxoplasma gondii (Toxo_MAT, "
        "positive from 1:25), without ages, drawn from their own random stream (the CDV sheets "
        "do not change). True seroprevalence: "
        + "; ".join(f"{a}: " + ", ".join(f"{s} {p:g}" for s, p in by.items())
                    for a, by in OTHER_HAZARD_PREVALENCE.items())
        + " (Goodrich et al. 2012, J Wildl Dis 48(1):186-189: 44 wild Amur tigers, FPV 68%, "
        "T. gondii 42%; Naidenko et al. 2018, Can J Zool 96:839-846: FPV 45% in felids of "
        "southern Primorye; leopards' Toxoplasma assumed as the tigers').", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- scaled data

_SCALED_YEAR_SHIFT = 7  # years between the calendar windows of a scaled data set


def scaled_blocks(scale: int) -> tuple[int, int]:
    """Site blocks and calendar windows of a data set ``scale`` times the example: ceil(sqrt)
    site blocks (1, 4, 10 for 1x, 10x, 100x) and 1 + ceil(log10) windows (1, 2, 3)."""
    return int(np.ceil(np.sqrt(scale) - 1e-9)), 1 + int(np.ceil(np.log10(scale) - 1e-9))


def write_scaled_example_sheet(path: str | Path, scale: int, seed: int = DEFAULT_SEED) -> Path:
    """One clean sheet (the template's columns) of ``scale`` independent example data sets.

    Replica ``j`` is the example simulated with seed ``seed + j`` (replica 0 is the example's own
    animals, without its deliberate imperfections), ids prefixed ``x<j>-`` and no sequences after
    the first. It goes to site block ``j % sites`` (site names get `` <block>`` appended, block 0
    keeps them) and calendar window ``j // sites % windows``: its dates, births and so the whole
    simulated history move ``7 x window`` years earlier (its big cats' force-of-infection ramp
    then starts that much earlier; the other species' FOI is constant). So a scaled set has more
    animals, sites and years, not copies of the same rows. For benchmarks at scale.
    """
    sites, windows = scaled_blocks(scale)
    rng = np.random.default_rng(np.random.SeedSequence([seed, scale]))
    rows: list[list[str]] = []
    for j in range(scale):
        shift = _SCALED_YEAR_SHIFT * (j // sites % windows)
        block = j % sites
        samples = [s for sheet in _simulate(seed + j).values() for s in sheet]
        for s in samples:
            s.sample_id, s.animal_id = f"x{j}-{s.sample_id}", s.animal_id and f"x{j}-{s.animal_id}"
            s.site = f"{s.site} {block}" if block else s.site
            moved = s.date.replace(day=28) if (s.date.month, s.date.day) == (2, 29) else s.date
            s.date = moved.replace(year=moved.year - shift)
            s.birth_year = None if s.birth_year is None else s.birth_year - shift
            s.sequence_id = s.sequence_id if j == 0 else ""
            s.notes = s.notes if j == 0 else ""
        rows += _plain_rows(samples, rng)
    out = Path(path)
    _write_text(out, _HEADER, rows, ",", bom=False)
    return out
