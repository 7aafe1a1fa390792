"""Supplier firmographics — size, revenue, industry, country, website — from a reference table.

A catalogue names its suppliers messily ("WALMART INC.", "sales@walmart.com"); a reference table
(a CSV such as a Fortune 500 list, or a database table) knows facts about companies. This module
reads such tables and finds each supplier's row; the reference provider
(`enrichment.providers.reference`) turns the row into evidence for the fields asked for (a
catalogue's `derive: firmographics.<field>` attributes), saying how the row was found.

Matching, first hit wins:

1. **Domain** (confidence 0.98): the host of the supplier's website or e-mail (without `www.`)
   equals a row's, or else its registered domain does (`https://shop.acme.co.uk/x` →
   `acme.co.uk`, `sales@acme-tools.com` → `acme-tools.com`). A registered domain shared by
   several companies of the table (a hosting domain, `example.com`) never matches on its own;
   e-mail addresses at free-mail providers (gmail.com, …) are ignored.
2. **Exact name** (0.95): names equal after normalising — case, accents and punctuation
   dropped, parenthesised notes ("(Class A)") and a leading "The" removed, trailing legal forms
   (Inc, LLC, Ltd, Corp, GmbH, S.A., PLC, Holdings, & Co, …) stripped; also compared with spaces
   removed ("ExxonMobil" = "Exxon Mobil").
3. **Fuzzy name** (0.73–0.87): rapidfuzz `token_sort_ratio` ≥ 88 on normalised names of four
   characters or more; confidence 0.75 at score 90, +0.012 a point, capped at 0.87 so a fuzzy
   match never clears the default auto-apply threshold (0.9) and always reaches a reviewer. A tie
   between two different rows costs another 0.1.

Each distinct (name, website) pair in a batch is matched once.

Values:

* `employee_range`: a table's range column as given (dashes normalised); otherwise the employee
  count bucketed into 1-10, 11-50, 51-200, 201-500, 501-1000, 1001-5000, 5001-10000, 10001+.
* `revenue`: a number in US dollars. A header's unit note scales the column (`revenue ($M)` →
  millions, `($B)`, `($K)`), as do suffixes in cells (`$1.2B`). The attribute's `unit` picks the
  scale of the proposal: none/`USD` dollars, `kUSD`, `MUSD` (`USD_M`, `$M`), `BUSD`.
* `industry`: the first of the columns industry, sector, GICS sector, GICS sub-industry.
* `country`: a country column as given (common aliases such as USA/U.S./UK normalised). With
  only a location column ("Bentonville, Ark."), its last comma-separated part decides: a known
  country name is used as is; a US state — full name, USPS code or AP abbreviation ("Ark.",
  "Calif.") — or D.C. gives "United States"; anything else gives no proposal. "Georgia" is
  read as the US state.
* `website`: `https://` + the registered domain (the host, when the domain is shared).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from catalog.errors import InputError, InputProblem
from catalog.schema import Attribute, AttributeType

PROVIDER = "firmographics"
DOMAIN_CONFIDENCE = 0.98
EXACT_NAME_CONFIDENCE = 0.95
FUZZY_THRESHOLD = 88
FUZZY_MIN_LENGTH = 4
EMPLOYEE_BUCKETS = tuple("1-10 11-50 51-200 201-500 501-1000 1001-5000 5001-10000 10001+".split())
_BUCKET_EDGES = (0, 10, 50, 200, 500, 1000, 5000, 10000, np.inf)
_MAX_LISTED_PROBLEMS = 20


def _phrases(text: str) -> tuple[str, ...]:
    """Comma-separated phrases from a compact table string."""
    return tuple(p.strip() for p in text.split(",") if p.strip())


# Header spellings in preference order, compared after casefolding, dropping "(...)" notes and
# turning separators into spaces.
_COLUMN_SPELLINGS: dict[str, tuple[str, ...]] = {
    "name": _phrases(
        "name, company, company name, companyname, organization, organisation, legal name, security"
    ),
    "website": _phrases("website, domain, url, homepage, web, web site, site"),
    "employees": _phrases(
        "employees, employee count, employeecount, num employees, number of employees, headcount"
    ),
    "employee_range": _phrases("employee range, employees range, company size, size range"),
    "industry": _phrases("industry, sector, gics sector, gics sub industry"),
    "country": _phrases("country, country name, hq country, headquarters country"),
    "location": _phrases("location, hq, headquarters, headquarters location, hq location, city"),
    "founded": _phrases("founded, year founded, founding year, founded year, established"),
}

_LEGAL_SUFFIXES = set(
    "inc incorporated llc llp lp ltd limited corp corporation co company gmbh ag sa plc bv nv "
    "holdings holding srl spa oy ab as kg pty pte sas sarl kk".split()
)
_FREE_MAIL = set(
    "gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com msn.com aol.com "
    "icloud.com me.com mail.com gmx.com gmx.de web.de proton.me protonmail.com yandex.ru qq.com "
    "163.com yahoo.co.uk hotmail.co.uk".split()
)
_SECOND_LEVEL = set("co com net org gov ac edu ltd plc or ne go gob nic".split())
"""Second-level labels under a country code that registries sell under (acme.co.uk, acme.com.au)."""

_US_STATE_NAMES = set(
    _phrases(
        "alabama, alaska, arizona, arkansas, california, colorado, connecticut, delaware, "
        "florida, georgia, hawaii, idaho, illinois, indiana, iowa, kansas, kentucky, louisiana, "
        "maine, maryland, massachusetts, michigan, minnesota, mississippi, missouri, montana, "
        "nebraska, nevada, new hampshire, new jersey, new mexico, new york, north carolina, "
        "north dakota, ohio, oklahoma, oregon, pennsylvania, rhode island, south carolina, "
        "south dakota, tennessee, texas, utah, vermont, virginia, washington, west virginia, "
        "wisconsin, wyoming, district of columbia"
    )
)
_US_STATE_CODES = set(
    "al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm "
    "ny nc nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc".split()
)
_AP_STATES = set(
    "ala ariz ark calif cal colo conn del fla ga ill ind kan kans ky la md mass mich minn miss mo "
    "mont neb nev nh nj nm ny nc nd okla ore pa ri sc sd tenn tex vt va wash wva wis wyo dc".split()
)
"""Associated Press state abbreviations, as Fortune writes locations ("Bentonville, Ark.")."""

_COUNTRY_ALIASES = {
    **dict.fromkeys(_phrases("us, usa, u s, u s a, united states of america"), "United States"),
    **dict.fromkeys(_phrases("uk, u k, great britain, england, scotland, wales"), "United Kingdom"),
    **dict.fromkeys(_phrases("holland, the netherlands"), "Netherlands"),
    **dict.fromkeys(_phrases("prc, people's republic of china"), "China"),
    "republic of korea": "South Korea",
    "deutschland": "Germany",
    "uae": "United Arab Emirates",
}
_COUNTRIES = {
    name.casefold(): name
    for name in _phrases(
        "Argentina, Australia, Austria, Bahamas, Bangladesh, Belgium, Bermuda, Brazil, Bulgaria, "
        "Canada, Cayman Islands, Chile, China, Colombia, Croatia, Cyprus, Czech Republic, "
        "Czechia, Denmark, Egypt, Estonia, Finland, France, Germany, Greece, Hong Kong, Hungary, "
        "Iceland, India, Indonesia, Ireland, Israel, Italy, Japan, Jersey, Kenya, Latvia, "
        "Lithuania, Luxembourg, Malaysia, Malta, Mexico, Monaco, Morocco, Netherlands, "
        "New Zealand, Nigeria, Norway, Pakistan, Panama, Peru, Philippines, Poland, Portugal, "
        "Puerto Rico, Qatar, Romania, Russia, Saudi Arabia, Singapore, Slovakia, Slovenia, "
        "South Africa, South Korea, Spain, Sri Lanka, Sweden, Switzerland, Taiwan, Thailand, "
        "Turkey, Ukraine, United Arab Emirates, United Kingdom, United States, Uruguay, Vietnam"
    )
}
_MISSING_TOKENS = {"", "-", "—", "–", "n/a", "na", "none", "null", "nan", "unknown", "?"}
_SCALE_WORDS = {
    **dict.fromkeys(("k", "thousand", "thousands"), 1e3),
    **dict.fromkeys(("m", "mm", "mn", "mil", "million", "millions"), 1e6),
    **dict.fromkeys(("b", "bn", "billion", "billions"), 1e9),
    **dict.fromkeys(("t", "trillion"), 1e12),
}
_REVENUE_UNITS = {
    **dict.fromkeys(("usd", "$", "dollars"), 1.0),
    **dict.fromkeys(("kusd", "usd_k", "$k", "tusd"), 1e3),
    **dict.fromkeys(("musd", "usd_m", "$m", "mm usd", "m usd", "million usd", "usd million"), 1e6),
    **dict.fromkeys(("busd", "usd_b", "$b", "bn usd", "b usd", "billion usd"), 1e9),
}


@dataclass(frozen=True)
class CompanyMatch:
    """How a supplier was found in the table.

    Attributes:
        row_index: 0-based position of the row in `CompanyTable.frame`.
        method: `domain-match`, `exact-name` or `fuzzy-name <score>`.
        score: 100 for domain and exact matches, the fuzzy score otherwise.
        confidence: How sure the match is; every proposal from the row carries it.
        evidence: What matched (the domain, or the normalised name), for explanations.
    """

    row_index: int
    method: str
    score: float
    confidence: float
    evidence: str = ""


class CompanyTable:
    """Reference rows about companies, with columns under canonical names.

    `frame` has columns `name`, `website`, `employees`, `employee_range`, `revenue` (USD),
    `industry`, `country`, `location` (absent ones all missing) plus the matching keys
    `name_key`, `name_squeezed`, `domain`. `source` names the table in proposals
    (`fortune500_2019.csv`), `row_labels` each row as a reviewer finds it (spreadsheet row
    number for a CSV, 1-based row for a database table).
    """

    def __init__(self, frame: pd.DataFrame, *, source: str, first_row_number: int = 2) -> None:
        self.source = source
        self.frame = frame.reset_index(drop=True)
        self.row_labels = np.arange(len(self.frame)) + first_row_number

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_csv(cls, path: str | Path) -> CompanyTable:
        """Read a CSV of companies; column names may be spelled any of the common ways.

        Raises:
            InputError: the file is missing or unreadable, has no company-name column, or
                has employee/revenue cells that are not numbers (each named by row).
        """
        path = Path(path)
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except FileNotFoundError:
            raise InputError.single(str(path), "file not found") from None
        except UnicodeDecodeError:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="latin-1")
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError.single(str(path), f"not a readable CSV: {exc}") from exc
        return cls(_canonical_frame(raw, source=path.name, first_row=2), source=path.name)

    @classmethod
    def from_sql(cls, url: str, table: str) -> CompanyTable:
        """Read a database table of companies through SQLAlchemy (`sqlite:///x.db`, …).

        Raises:
            InputError: the database cannot be reached or has no such table, or the table
                lacks a company-name column or holds non-numeric employee/revenue values.
        """
        from sqlalchemy import create_engine, inspect
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        try:
            safe_url = make_url(url).render_as_string(hide_password=True)
            engine = create_engine(url)
        except (ArgumentError, ImportError) as exc:
            raise InputError.single("database URL", f"cannot use it: {exc}") from exc
        where = f"{safe_url} table {table}"
        try:
            with engine.connect() as connection:
                if not inspect(connection).has_table(table):
                    raise InputError.single(where, "no such table")
                raw = pd.read_sql_table(table, connection)
        except SQLAlchemyError as exc:
            raise InputError.single(where, f"cannot read: {exc.__class__.__name__}: {exc}") from exc
        finally:
            engine.dispose()
        raw = raw.astype(object).where(raw.notna(), "").astype(str)
        return cls(
            _canonical_frame(raw, source=table, first_row=1), source=table, first_row_number=1
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str) -> CompanyTable:
        """Rows already in memory (any column spellings); rows are numbered from 1."""
        raw = frame.astype(object).where(frame.notna(), "").astype(str)
        return cls(
            _canonical_frame(raw, source=source, first_row=1), source=source, first_row_number=1
        )

    def __len__(self) -> int:
        return len(self.frame)

    def reference(self, row_index: int) -> str:
        """`companies.csv#row=17`: where a value came from."""
        return f"{self.source}#row={self.row_labels[row_index]}"

    def describe(self, row_index: int) -> str:
        """`companies.csv row 17 "Acme Corp"`: a row as a reviewer reads it."""
        name = self.frame.at[row_index, "name"]
        return f'{self.source} row {self.row_labels[row_index]} "{name}"'


@lru_cache(maxsize=4)
def _companies_at(path: str, mtime_ns: int) -> CompanyTable:
    return CompanyTable.from_csv(path)


def load_companies(path: str | Path) -> CompanyTable:
    """The companies CSV at `path`, read once per process (and again only when the file
    changes): the one loader every door (onboard, flows, the API) uses.

    Raises:
        InputError: the file is missing or unreadable (see `CompanyTable.from_csv`).
    """
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise InputError.single(str(path), "file not found") from None
    return _companies_at(str(path.resolve()), mtime)


# -- reading a table -----------------------------------------------------------------------


def _header_key(header: str) -> str:
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", str(header).casefold())
    return " ".join(re.split(r"[\s_\-/.]+", text)).strip()


_MONEY_WORDS = {"revenue", "revenues", "annual", "sales", "usd", "us", "dollars"}
_MONEY_SCALES = {
    **{k: v for k, v in _SCALE_WORDS.items() if k != "t"},
    "kusd": 1e3,
    "musd": 1e6,
    "busd": 1e9,
}


def _money_header(header: str) -> float | None:
    """The scale a revenue header states (`revenue ($M)` → 1e6, `revenue_musd` → 1e6,
    `annual_revenue` → 1), or None when the header is not a revenue column at all."""
    words = re.findall(r"[a-z]+", str(header).casefold())
    if not words or words[0] not in ("revenue", "revenues", "annual", "sales"):
        return None
    if "revenue" not in words and "revenues" not in words and words != ["sales"]:
        return None
    scale = 1.0
    for word in words:
        if word in _MONEY_SCALES:
            scale = _MONEY_SCALES[word]
        elif word not in _MONEY_WORDS:
            return None  # revenue_percent_change, revenue_rank, …
    return scale


def _find_columns(raw: pd.DataFrame) -> dict[str, str]:
    keys = {column: _header_key(column) for column in raw.columns}
    found: dict[str, str] = {}
    money = [c for c in raw.columns if _money_header(c) is not None]
    if money:
        found["revenue"] = money[0]
    for field, spellings in _COLUMN_SPELLINGS.items():
        if field in found:
            continue
        for spelling in spellings:  # spelling order is preference order
            column = next((c for c, k in keys.items() if k == spelling), None)
            if column is not None:
                found[field] = column
                break
    return found


def _canonical_frame(raw: pd.DataFrame, *, source: str, first_row: int) -> pd.DataFrame:
    raw = raw.reset_index(drop=True)
    columns = _find_columns(raw)
    if "name" not in columns:
        raise InputError.single(
            source,
            "no company-name column (expected one of: name, company, company_name); "
            f"columns are: {', '.join(map(str, raw.columns))}",
        )
    text = {
        field: _clean_text(raw[column]) if column else None for field, column in columns.items()
    }
    problems: list[InputProblem] = []
    n = len(raw)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    out["name"] = text["name"]
    for field in ("website", "industry", "country", "location", "employee_range", "founded"):
        out[field] = text[field] if field in text else pd.Series([None] * n, dtype=object)
    if "employees" in columns:
        employees, ranges = _parse_employees(
            text["employees"], source, columns["employees"], first_row, problems
        )
        out["employees"] = employees
        if "employee_range" not in columns:
            out["employee_range"] = ranges
    else:
        out["employees"] = np.nan
    if "revenue" in columns:
        out["revenue"] = _parse_money(
            text["revenue"],
            _money_header(columns["revenue"]) or 1.0,
            source,
            columns["revenue"],
            first_row,
            problems,
        )
    else:
        out["revenue"] = np.nan
    if problems:
        raise InputError(
            problems[:_MAX_LISTED_PROBLEMS], truncated=max(0, len(problems) - _MAX_LISTED_PROBLEMS)
        )
    out["employee_range"] = out["employee_range"].map(_normalise_range, na_action="ignore")
    out["name_key"] = out["name"].map(normalise_name, na_action="ignore")
    out["name_squeezed"] = out["name_key"].str.replace(" ", "", regex=False)
    out["host"] = out["website"].map(web_host, na_action="ignore")
    out["domain"] = out["website"].map(registered_domain, na_action="ignore")
    return out


def _clean_text(values: pd.Series) -> pd.Series:
    cleaned = values.astype(str).str.replace(r"\[\d+\]", "", regex=True).str.strip()
    return cleaned.where(~cleaned.str.casefold().isin(_MISSING_TOKENS), None).astype(object)


def _parse_employees(
    values: pd.Series, source: str, column: str, first_row: int, problems: list[InputProblem]
) -> tuple[pd.Series, pd.Series]:
    """Counts as numbers; cells that are ranges ("51-200", "10,001+") kept as ranges."""
    as_range = (
        values.str.fullmatch(r"\s*[\d,]+\s*(?:[-–—]\s*[\d,]+|\+)\s*").fillna(False).astype(bool)
    )
    counts = pd.to_numeric(
        values.where(~as_range).str.replace(",", "", regex=False), errors="coerce"
    )
    bad = values.notna() & ~as_range & counts.isna()
    for index in np.flatnonzero(bad.to_numpy()):
        problems.append(
            InputProblem(
                source,
                f"employees '{values.iloc[index]}' is not a number",
                row=int(index) + first_row,
                column=column,
            )
        )
    ranges = values.where(as_range)
    return counts, ranges.astype(object)


def _parse_money(
    values: pd.Series,
    scale: float,
    source: str,
    column: str,
    first_row: int,
    problems: list[InputProblem],
) -> pd.Series:
    """`$514,405.0` in a `($M)` column → 514405e6; `$1.2B` → 1.2e9; `(5.0)` → -5.0."""
    parts = values.str.extract(
        r"^\s*(?P<neg>\()?\s*(?:US)?\$?\s*(?P<number>-?[\d,]*\.?\d+)\s*(?P<scale>[A-Za-z]+)?\s*\)?\s*"
        r"(?:USD)?\s*$"
    )
    number = pd.to_numeric(parts["number"].str.replace(",", "", regex=False), errors="coerce")
    cell_scale = parts["scale"].str.casefold().map(_SCALE_WORDS)
    unknown_scale = (
        parts["scale"].notna() & cell_scale.isna() & (parts["scale"].str.casefold() != "usd")
    )
    bad = values.notna() & (number.isna() | unknown_scale)
    for index in np.flatnonzero(bad.to_numpy()):
        problems.append(
            InputProblem(
                source,
                f"revenue '{values.iloc[index]}' is not an amount",
                row=int(index) + first_row,
                column=column,
            )
        )
    sign = np.where(parts["neg"].notna(), -1.0, 1.0)
    return number * cell_scale.fillna(scale).astype(float) * sign


def _normalise_range(value: str) -> str:
    text = re.sub(r"\s*[-–—]\s*", "-", str(value).replace(",", "").strip())
    return text.replace(" ", "")


# -- keys ----------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """A company name reduced for comparison: `WALMART INC.` → `walmart`,
    `Exxon Mobil Corporation` → `exxon mobil`, `Alphabet Inc. (Class A)` → `alphabet`."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", text)
    text = text.replace("&", " and ")
    text = re.sub(r"[.'’`]", "", text)  # S.A. → sa, McDonald's → mcdonalds
    tokens = re.sub(r"[^\w]+", " ", text).split()
    if tokens and tokens[0] == "the" and len(tokens) > 1:
        tokens = tokens[1:]
    kept = list(tokens)
    while len(kept) > 1 and (kept[-1] in _LEGAL_SUFFIXES or kept[-2:] == ["and", "co"]):
        kept = kept[:-2] if kept[-2:] == ["and", "co"] else kept[:-1]
    return " ".join(kept or tokens)


def web_host(value: str | None) -> str | None:
    """The host of a website or e-mail, without `www.`: `https://www.shop.acme.com/x` →
    `shop.acme.com`; `sales@acme-tools.com` → `acme-tools.com`; None when there is none."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().casefold()
    text = re.sub(r"^mailto:", "", text)
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = text.split(":", 1)[0].strip(".")
    labels = [label for label in text.split(".") if label]
    if labels and labels[0] == "www":
        labels = labels[1:]
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9-]+", label) for label in labels):
        return None
    return ".".join(labels)


def registered_domain(value: str | None) -> str | None:
    """The registered domain of a website or e-mail: `https://www.shop.acme.co.uk/x` →
    `acme.co.uk`; `sales@acme-tools.com` → `acme-tools.com`; None when there is none."""
    host = web_host(value)
    if host is None:
        return None
    labels = host.split(".")
    if len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL and len(labels) >= 3:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _is_email(value: str) -> bool:
    return "@" in value and "://" not in value


# -- matching ------------------------------------------------------------------------------


def match_suppliers(
    names: Sequence[str | None], websites: Sequence[str | None], table: CompanyTable
) -> list[CompanyMatch | None]:
    """Find each supplier's row: domain first, then exact normalised name, then fuzzy name.

    Args:
        names: Supplier names, one per record (None where unknown).
        websites: Supplier websites or e-mail addresses, aligned with `names`.
        table: The reference table.

    Returns:
        One `CompanyMatch` or None per input, in input order. Each distinct (name, website)
        pair is matched once.
    """
    if len(names) != len(websites):
        raise ValueError(f"{len(names)} names but {len(websites)} websites")
    inputs = pd.DataFrame({"name": list(names), "website": list(websites)}, dtype=object)
    inputs = inputs.where(inputs.notna(), None)
    distinct = inputs.drop_duplicates().reset_index(drop=True)
    matches = _match_distinct(distinct, table)
    lookup = {
        (row.name, row.website): match
        for row, match in zip(distinct.itertuples(index=False), matches, strict=True)
    }
    return [lookup[(n, w)] for n, w in zip(inputs["name"], inputs["website"], strict=True)]


def _match_distinct(distinct: pd.DataFrame, table: CompanyTable) -> list[CompanyMatch | None]:
    frame = table.frame
    result: list[CompanyMatch | None] = [None] * len(distinct)

    by_host = _first_rows(frame["host"])
    by_domain = _first_rows(frame["domain"].where(~_shared(frame["domain"], frame["name_key"])))
    for i, website in enumerate(distinct["website"]):
        if not isinstance(website, str) or not website.strip():
            continue
        host, domain = web_host(website), registered_domain(website)
        if host is None or domain is None or (_is_email(website) and domain in _FREE_MAIL):
            continue
        row, via = by_host.get(host), host
        if row is None:
            row, via = by_domain.get(domain), domain
        if row is not None:
            result[i] = CompanyMatch(row, "domain-match", 100.0, DOMAIN_CONFIDENCE, via)

    keys = [
        normalise_name(n) if isinstance(n, str) and n.strip() else None for n in distinct["name"]
    ]
    by_key = _first_rows(frame["name_key"])
    by_squeezed = _first_rows(frame["name_squeezed"])
    pending: list[int] = []
    for i, key in enumerate(keys):
        if result[i] is not None or not key:
            continue
        row = by_key.get(key)
        if row is None:
            row = by_squeezed.get(key.replace(" ", ""))
        if row is not None:
            result[i] = CompanyMatch(row, "exact-name", 100.0, EXACT_NAME_CONFIDENCE, key)
        elif len(key) >= FUZZY_MIN_LENGTH:
            pending.append(i)
    if pending:
        # pending holds only positions whose key is set
        names = [keys[i] or "" for i in pending]
        for i, match in zip(pending, _fuzzy(names, frame), strict=True):
            result[i] = match
    return result


def _shared(domains: pd.Series, names: pd.Series) -> pd.Series:
    """Registered domains several different companies of the table sit under (hosting, or
    example.com): only their full hosts identify a company."""
    pairs = pd.DataFrame({"domain": domains, "name": names}).dropna()
    companies = pairs.drop_duplicates().groupby("domain")["name"].size()
    return domains.isin(companies[companies > 1].index)


def _first_rows(keys: pd.Series) -> dict[str, int]:
    present = keys.dropna()
    present = present[present != ""]
    first = present[~present.duplicated()]
    return dict(zip(first.tolist(), first.index.tolist(), strict=True))


def _fuzzy(queries: list[str], frame: pd.DataFrame) -> list[CompanyMatch | None]:
    """Best token_sort_ratio row per query, in chunks so the score matrix stays small."""
    from rapidfuzz import fuzz, process

    candidates = frame["name_key"].dropna()
    candidates = candidates[candidates.str.len() > 0]
    if candidates.empty:
        return [None] * len(queries)
    choices = candidates.tolist()
    rows = candidates.index.to_numpy()
    chunk = max(1, 2_000_000 // len(choices))
    out: list[CompanyMatch | None] = []
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk]
        scores = process.cdist(
            block,
            choices,
            scorer=fuzz.token_sort_ratio,
            score_cutoff=FUZZY_THRESHOLD,
            dtype=np.uint8,
            workers=1,
        )
        best = scores.argmax(axis=1)
        best_score = scores[np.arange(len(block)), best]
        for q, (column, score) in enumerate(zip(best.tolist(), best_score.tolist(), strict=True)):
            if score < FUZZY_THRESHOLD:
                out.append(None)
                continue
            tied = np.flatnonzero(scores[q] == score)
            distinct_rows = {choices[t] for t in tied}
            confidence = fuzzy_confidence(score) - (0.1 if len(distinct_rows) > 1 else 0.0)
            out.append(
                CompanyMatch(
                    int(rows[column]),
                    f"fuzzy-name {score}",
                    float(score),
                    round(confidence, 3),
                    block[q],
                )
            )
    return out


def fuzzy_confidence(score: float) -> float:
    """0.75 at score 90, +0.012 a point, capped at 0.87 (always below auto-apply)."""
    return min(0.87, 0.75 + (score - 90) * 0.012)


def _field_values(table: CompanyTable) -> dict[str, list[Any]]:
    """Each firmographic as a list aligned with the table's rows (None where unknown)."""
    frame = table.frame
    ranges = frame["employee_range"].where(
        frame["employee_range"].notna(), _bucket(frame["employees"])
    )
    shared = _shared(frame["domain"], frame["name_key"])
    website = (
        frame["domain"]
        .where(~shared, frame["host"])
        .map(lambda d: f"https://{d}", na_action="ignore")
    )
    country = frame["country"].map(_normalise_country, na_action="ignore")
    country = country.where(
        country.notna(), frame["location"].map(_country_from_location, na_action="ignore")
    )
    revenue = frame["revenue"].astype(float)
    founded = frame["founded"].astype(object).str.extract(r"^\s*(\d{4})\b", expand=False)
    return {
        "founding_year": [None if pd.isna(y) else int(y) for y in founded.tolist()],
        "employee_range": _as_list(ranges),
        "revenue": [None if np.isnan(v) else float(v) for v in revenue.to_numpy()],
        "industry": _as_list(frame["industry"]),
        "country": _as_list(country),
        "website": _as_list(website),
    }


def _as_list(values: pd.Series) -> list[Any]:
    return [v if isinstance(v, str) and v else None for v in values.astype(object).tolist()]


def _bucket(employees: pd.Series) -> pd.Series:
    counts = pd.to_numeric(employees, errors="coerce")
    counts = counts.where(counts >= 1)
    buckets = pd.cut(counts, bins=list(_BUCKET_EDGES), labels=list(EMPLOYEE_BUCKETS), right=True)
    return buckets.astype(object).where(buckets.notna(), None)


REVENUE_BANDS = (
    "<$1M",
    "$1M-$10M",
    "$10M-$50M",
    "$50M-$100M",
    "$100M-$500M",
    "$500M-$1B",
    "$1B-$10B",
    "$10B+",
)
"""The one set of annual-revenue bands (seed 000's `annual_revenue`: `"$10M-$50M"`)."""
_REVENUE_EDGES = (1e6, 1e7, 5e7, 1e8, 5e8, 1e9, 1e10)
"""Upper bounds (USD, exclusive) of every revenue band but the last."""


def revenue_band(usd: float | None) -> str | None:
    """The revenue band (USD) an annual revenue falls in (`2.5e8` → `$100M-$500M`)."""
    if usd is None or usd != usd or usd < 0:
        return None
    return REVENUE_BANDS[int(np.searchsorted(np.asarray(_REVENUE_EDGES), usd, side="right"))]


def employee_bucket(count: int) -> str | None:
    """The employee range a head count falls in (`250` → `201-500`), None below 1."""
    if count < 1:
        return None
    index = int(np.searchsorted(np.asarray(_BUCKET_EDGES[1:]), count, side="left"))
    return EMPLOYEE_BUCKETS[index]


def _normalise_country(value: str) -> str | None:
    key = " ".join(re.sub(r"[.]", " ", value.casefold()).split())
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    return _COUNTRIES.get(key, value.strip())


def _country_from_location(value: str) -> str | None:
    last = value.rsplit(",", 1)[-1].strip()
    key = " ".join(re.sub(r"[.]", " ", last.casefold()).split())
    squeezed = key.replace(" ", "")
    if key in _COUNTRIES:
        return _COUNTRIES[key]
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    if key in _US_STATE_NAMES or squeezed in _US_STATE_CODES or squeezed in _AP_STATES:
        return "United States"
    return None


def revenue_scale(attribute: Attribute) -> float:
    """How many US dollars one unit of the attribute is (`MUSD` → 1e6).

    Raises:
        ValueError: the unit is not a USD scale.
    """
    unit = (attribute.unit or "usd").strip().casefold()
    if unit not in _REVENUE_UNITS:
        raise ValueError(
            f"attribute '{attribute.name}': revenue unit '{attribute.unit}' is not a USD scale "
            "(use USD, kUSD, MUSD or BUSD); the reference tables hold US dollars"
        )
    return _REVENUE_UNITS[unit]


def fit_value(value: Any, attribute: Attribute) -> Any:
    """The value in the attribute's type, or None when it does not fit (never guessed)."""
    if value is None:
        return None
    if attribute.type is AttributeType.ENUM:
        return attribute.canonical_enum().get(str(value).casefold())
    if attribute.type is AttributeType.INTEGER:
        return int(round(value)) if isinstance(value, float) else None
    if attribute.type is AttributeType.NUMBER:
        return float(value) if isinstance(value, int | float) else None
    return value if isinstance(value, str) else str(value)
