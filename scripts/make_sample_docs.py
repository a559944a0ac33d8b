"""Write the binary sample documents of the Nightwren Instruments corpus.

The sample corpus in ``sample_docs/`` describes one fictional company, Nightwren
Instruments. Three of its files (Markdown, HTML, plain text) are written by hand;
the two binary ones are generated here from the text below:

* ``sample_docs/product_catalog.pdf`` (fpdf2)
* ``sample_docs/policies.docx`` (python-docx)

Run from the repository root::

    .venv/bin/python scripts/make_sample_docs.py

The output is deterministic: fixed creation dates, and the DOCX zip is rewritten
with fixed timestamps, so re-running does not change the files.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from fpdf import FPDF

OUT_DIR = Path(__file__).resolve().parent.parent / "sample_docs"
FIXED_DATE = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)
ZIP_DATE = (2025, 1, 15, 9, 0, 0)  # zip entries hold naive tuples, no time zone

# --------------------------------------------------------------------------
# Product catalogue (PDF). Core PDF fonts are latin-1 only: write "EUR", not
# the euro sign, and keep quotes straight.
# --------------------------------------------------------------------------

CATALOG_TITLE = "Nightwren Instruments - Product Catalogue 2025"

# Each section is one page: a heading, paragraphs, then an optional spec table.
CATALOG_SECTIONS: list[dict] = [
    {
        "heading": "About this catalogue",
        "paragraphs": [
            "This catalogue lists every sensor, gateway and service that Nightwren "
            "Instruments sells in 2025, with list prices, launch dates and the "
            "specifications we are prepared to stand behind. All prices are list "
            "prices in euros, excluding VAT, and are valid from 1 January 2025 until "
            "31 December 2025 unless a product page says otherwise.",
            "Orders shipped within the European Union travel free of charge once the "
            "order value reaches EUR 250; smaller orders carry a flat shipping charge "
            "of EUR 14.90. Orders placed before 14:00 Central European Time on a working "
            "day leave the Ghent warehouse the same day.",
            "Battery life figures assume one reading every 60 seconds at 15 degrees "
            "Celsius with the radio at default power. Cold weather shortens battery "
            "life: expect roughly a third less below minus 10 degrees Celsius. Radio "
            "range figures are line of sight between the sensor and a Nightwren gateway.",
            "Product codes follow one pattern: NW, a family name, and a generation "
            "number. A suffix X marks a hardened outdoor variant of the same sensor. "
            "Volume pricing for orders of 25 units or more is available from the "
            "sales team at sales@nightwren.example.",
        ],
        "table": [
            ["Family", "Measures", "Current models"],
            ["GALE", "Wind speed and direction", "NW-GALE-7, NW-GALE-9"],
            ["DEW", "Temperature and humidity", "NW-DEW-3, NW-DEW-3X"],
            ["RAIN", "Precipitation", "NW-RAIN-5"],
            ["AIR", "Particulate matter", "NW-AIR-12"],
            ["HUB", "Gateways", "NW-HUB-1, NW-HUB-2"],
        ],
    },
    {
        "heading": "Wind: the GALE family",
        "paragraphs": [
            "The NW-GALE-7 Wind Station is the descendant of the hand-built "
            "anemometers with which the company started. It combines a three-cup "
            "anemometer and a wind vane on a single aluminium mast clamp and was "
            "launched on 14 May 2021. Its list price is EUR 349. Two lithium AA cells "
            "power it for 18 months, and it reports to a gateway up to 1.2 km away.",
            "The NW-GALE-9 Pro Wind Station, launched on 2 October 2023, adds heated "
            "bearings for icing conditions and an ultrasonic gust sensor. It is the "
            "model chosen by most ski resorts. Its list price is EUR 529 and its "
            "battery pack lasts 24 months; the heater draws from a separate 12 V "
            "supply and does not shorten battery life. Do not confuse it with the "
            "retired GALE-8 prototype, which was never sold.",
        ],
        "table": [
            ["Specification", "NW-GALE-7", "NW-GALE-9"],
            ["List price", "EUR 349", "EUR 529"],
            ["Launch date", "14 May 2021", "2 October 2023"],
            ["Wind speed range", "0 to 60 m/s", "0 to 75 m/s"],
            ["Wind speed accuracy", "+/- 0.3 m/s", "+/- 0.2 m/s"],
            ["Battery life", "18 months", "24 months"],
            ["Radio range", "1.2 km", "2.5 km"],
            ["Weight", "640 g", "910 g"],
        ],
    },
    {
        "heading": "Temperature and humidity: the DEW family",
        "paragraphs": [
            "The NW-DEW-3 is our best-selling sensor and the one every new employee "
            "installs at home. It measures air temperature with an accuracy of "
            "+/- 0.2 degrees Celsius and relative humidity to within +/- 2 percent. "
            "It was launched on 3 February 2020, costs EUR 89, and a single CR123A "
            "cell keeps it running for 30 months.",
            "The NW-DEW-3X is the hardened outdoor variant: the same electronics in an "
            "IP67 enclosure with a radiation shield. It was launched on 5 September "
            "2022 and costs EUR 119. The larger enclosure holds two cells, so battery "
            "life is 40 months, at the price of a slightly slower response to sudden "
            "temperature changes (time constant 95 seconds instead of 60).",
        ],
        "table": [
            ["Specification", "NW-DEW-3", "NW-DEW-3X"],
            ["List price", "EUR 89", "EUR 119"],
            ["Launch date", "3 February 2020", "5 September 2022"],
            ["Temperature accuracy", "+/- 0.2 C", "+/- 0.25 C"],
            ["Humidity accuracy", "+/- 2 % RH", "+/- 2.5 % RH"],
            ["Battery life", "30 months", "40 months"],
            ["Ingress protection", "IP54", "IP67"],
        ],
    },
    {
        "heading": "Rain: NW-RAIN-2 discontinued, NW-RAIN-5 replaces it",
        "paragraphs": [
            "The NW-RAIN-2 tipping-bucket rain gauge was discontinued on 31 December "
            "2023. It sold for EUR 139 and measured rainfall in steps of 0.2 mm. "
            "Existing units remain supported with spare buckets and firmware fixes "
            "until 31 December 2026, but no new units are sold.",
            "Its replacement, the NW-RAIN-5, was launched on 11 January 2024 at a list "
            "price of EUR 179. It halves the measuring step to 0.1 mm, adds a heated "
            "funnel option for snowfall, and runs for 36 months on its battery pack. "
            "Owners of an NW-RAIN-2 receive a 25 percent trade-in discount on an "
            "NW-RAIN-5 when they return the old gauge before 30 June 2025.",
            "The NW-RAIN-5 funnel has a collecting area of 200 square centimetres, "
            "the size recommended for standard rain gauges, whereas the NW-RAIN-2 "
            "used a smaller 150 square centimetre funnel.",
        ],
        "table": [
            ["Specification", "NW-RAIN-2 (discontinued)", "NW-RAIN-5"],
            ["List price", "EUR 139 (last price)", "EUR 179"],
            ["Launch date", "19 April 2017", "11 January 2024"],
            ["Resolution", "0.2 mm", "0.1 mm"],
            ["Battery life", "20 months", "36 months"],
            ["Heated funnel", "No", "Optional, EUR 65"],
        ],
    },
    {
        "heading": "Air quality: NW-AIR-12",
        "paragraphs": [
            "The NW-AIR-12 Air Quality Monitor counts fine particles with a laser "
            "scattering module and reports PM1, PM2.5 and PM10 concentrations. It was "
            "launched on 20 June 2024 at a list price of EUR 412. On battery it runs "
            "for 9 months at one reading every five minutes; a USB-C supply allows "
            "continuous one-second readings.",
            "PM2.5 accuracy is +/- 5 micrograms per cubic metre or 10 percent of the "
            "reading, whichever is larger. The laser module is rated for 20,000 hours "
            "of operation and can be replaced in the field with the NW-AIR-12 service "
            "kit (EUR 74). The earlier AIR-10 pilot series was only offered to "
            "municipal research partners and is not covered by this catalogue.",
        ],
        "table": [
            ["Specification", "NW-AIR-12"],
            ["List price", "EUR 412"],
            ["Launch date", "20 June 2024"],
            ["Measures", "PM1, PM2.5, PM10"],
            ["PM2.5 accuracy", "+/- 5 ug/m3 or 10 %"],
            ["Battery life", "9 months"],
            ["Laser module life", "20,000 hours"],
        ],
    },
    {
        "heading": "Gateways and services",
        "paragraphs": [
            "Every Nightwren sensor talks to a gateway. The NW-HUB-1, launched on "
            "8 April 2019, costs EUR 249, connects over Ethernet and accepts up to 64 "
            "sensors. The NW-HUB-2, launched on 27 March 2024, costs EUR 319, adds an "
            "LTE modem and a backup battery for 48 hours of operation during power "
            "cuts, and accepts up to 200 sensors.",
            "Skylog is the Nightwren cloud platform. Skylog Basic is free for up to "
            "3 sensors and keeps 90 days of history. Skylog Pro costs EUR 6.50 per "
            "sensor per month, keeps full history and adds alerts, data export and "
            "shared dashboards. Annual billing for Skylog Pro earns two months free.",
            "Factory recalibration of any sensor at the Zurich calibration lab costs "
            "EUR 59 per unit including return shipping, and comes with a new "
            "calibration certificate.",
        ],
        "table": [
            ["Item", "Price", "Notes"],
            ["NW-HUB-1", "EUR 249", "Ethernet, up to 64 sensors"],
            ["NW-HUB-2", "EUR 319", "Ethernet + LTE, up to 200 sensors"],
            ["Skylog Basic", "Free", "Up to 3 sensors, 90 days history"],
            ["Skylog Pro", "EUR 6.50 / sensor / month", "Full history, alerts, export"],
            ["Factory recalibration", "EUR 59 per unit", "Includes return shipping"],
        ],
    },
]


class CatalogPDF(FPDF):
    def header(self) -> None:
        self.set_font("Helvetica", "B", 9)
        self.set_text_color(90, 90, 90)
        self.cell(0, 8, CATALOG_TITLE, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")


def write_catalog(path: Path) -> None:
    pdf = CatalogPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(CATALOG_TITLE)
    pdf.set_author("Nightwren Instruments")
    for section in CATALOG_SECTIONS:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 9, section["heading"], new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_font("Helvetica", "", 11)
        for paragraph in section["paragraphs"]:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        if section.get("table"):
            pdf.set_font("Helvetica", "", 10)
            with pdf.table(first_row_as_headings=True) as table:
                for row in section["table"]:
                    table.row(row)
    pdf.output(str(path))


# --------------------------------------------------------------------------
# Policies (DOCX)
# --------------------------------------------------------------------------

POLICIES_TITLE = "Nightwren Instruments - Company Policies"

POLICIES_INTRO = [
    "This document collects the policies that apply to all Nightwren Instruments "
    "employees and, where stated, to customers. Every policy carries a code of the "
    "form NW-POL-### which should be quoted in support answers, expense claims and "
    "internal tickets. Codes are never reused: when a policy is withdrawn, its code "
    "is retired with it.",
    "The table below lists the policies in force, their owners and the date each "
    "was last reviewed. Policies are reviewed at least once a year by their owner.",
]

POLICY_SUMMARY = [
    ["Code", "Policy", "Owner", "Last reviewed"],
    ["NW-POL-003", "Customer returns", "Priya Natarajan-Hale", "4 November 2024"],
    ["NW-POL-007", "Product warranty", "Tobias Reinhardt-Okafor", "18 September 2024"],
    ["NW-POL-011", "Travel and expenses", "Oskar Lindqvist", "9 January 2025"],
    ["NW-POL-014", "Remote work", "Amara Delacroix-Nwosu", "2 December 2024"],
    ["NW-POL-019", "Data retention", "Marek Szostak", "21 October 2024"],
    ["NW-POL-022", "Security incident reporting", "Marek Szostak", "13 January 2025"],
    ["NW-POL-026", "Demo unit loans", "Priya Natarajan-Hale", "7 June 2024"],
    ["NW-POL-031", "Sensor recalibration", "Marta Szostak", "30 August 2024"],
    ["NW-POL-034", "Training budget", "Amara Delacroix-Nwosu", "15 March 2024"],
]

# (code, title, paragraphs); paragraphs are plain prose.
POLICIES: list[tuple[str, str, list[str]]] = [
    (
        "NW-POL-003",
        "Customer returns",
        [
            "Customers may return any product within 45 days of delivery for a full "
            "refund, provided it is complete and in its original packaging. Opened "
            "products that show signs of installation are accepted in the same window "
            "but carry a restocking fee of 12% of the purchase price.",
            "A return must be registered with the support desk first, which issues a "
            "return authorisation number starting with RA- followed by five digits. "
            "Refunds are paid to the original payment method within 14 days of the "
            "returned goods arriving at the Ghent warehouse. Custom-calibrated units "
            "and opened battery packs cannot be returned.",
        ],
    ),
    (
        "NW-POL-007",
        "Product warranty",
        [
            "All Nightwren sensors and gateways carry a warranty of 36 months from the "
            "date of delivery against defects in materials and workmanship. The laser "
            "particle module of the NW-AIR family is an exception and is covered for "
            "24 months. Batteries are consumables and are covered for 6 months only.",
            "Warranty repairs are carried out in Ghent. If a unit cannot be repaired "
            "within 15 working days, the customer receives a replacement unit of the "
            "same or newer model. Damage from lightning, flooding above the rated "
            "ingress protection, or opening the sealed sensor head is not covered.",
        ],
    ),
    (
        "NW-POL-011",
        "Travel and expenses",
        [
            "Employees book travel through the company travel desk. Rail is mandatory "
            "for journeys under 600 km one way; flights are economy class, except that "
            "premium economy may be booked for flights longer than 6 hours. Taxis are "
            "reimbursed only when no public transport runs or when carrying equipment.",
            "Hotel costs are reimbursed up to the nightly limits in the table below, "
            "and a meal allowance of EUR 48 per full travel day covers food and drink. "
            "Expense claims must be submitted within 30 days of returning from the "
            "trip; later claims need the written approval of the CFO.",
        ],
    ),
    (
        "NW-POL-014",
        "Remote work",
        [
            "Employees whose role allows it may work remotely for up to 3 days per "
            "week. Core collaboration hours are 10:00 to 15:00 Central European Time, "
            "during which remote employees are expected to be reachable. Production, "
            "calibration lab and field station staff agree their remote days with "
            "their team lead because their work depends on on-site equipment.",
            "Employees who work remotely at least one day a week receive a home office "
            "allowance of EUR 35 per month, paid with salary. Working from abroad is "
            "allowed for up to 20 working days per calendar year after approval by "
            "People & Culture.",
        ],
    ),
    (
        "NW-POL-019",
        "Data retention",
        [
            "Raw sensor telemetry received by Skylog is kept for 25 months and then "
            "deleted; hourly aggregates are kept for 10 years for climate analysis. "
            "Customers on Skylog Pro can export their raw data at any time before "
            "deletion.",
            "Support ticket records are kept for 6 years after the ticket is closed. "
            "Application documents of unsuccessful job candidates are deleted after "
            "180 days unless the candidate agrees to a longer period. Backups follow "
            "the same limits and expire on a rolling 35-day cycle.",
        ],
    ),
    (
        "NW-POL-022",
        "Security incident reporting",
        [
            "Any employee who suspects a security incident, including a lost or stolen "
            "laptop or phone, must report it to the security team within 2 hours of "
            "discovery, by e-mail to security@nightwren.example or by phone on "
            "extension 4999. Reporting quickly matters more than being certain.",
            "If customer data may be affected, the security team informs the affected "
            "customers within 72 hours of confirming the incident. Every incident "
            "receives a post-incident review within 10 working days, and the review "
            "is shared with all staff in redacted form.",
        ],
    ),
    (
        "NW-POL-026",
        "Demo unit loans",
        [
            "Prospective customers may borrow demonstration units for an evaluation "
            "period of up to 21 days. At most 5 units are lent to one customer at a "
            "time, and a gateway is always included in the loan.",
            "Units not returned within 7 days after the end of the loan period are "
            "invoiced at list price. Demo units are refurbished and recalibrated "
            "before they are lent out again.",
        ],
    ),
    (
        "NW-POL-031",
        "Sensor recalibration",
        [
            "Nightwren recommends factory recalibration of every sensor every 18 "
            "months, or after any event that may have damaged the sensing element. "
            "The first recalibration during the warranty period is free of charge.",
            "Recalibration is carried out at the Zurich calibration lab with a "
            "turnaround of 8 working days from arrival. Each recalibrated unit is "
            "returned with a certificate listing the measured deviation before and "
            "after adjustment.",
        ],
    ),
    (
        "NW-POL-034",
        "Training budget",
        [
            "Every employee has a personal training budget of EUR 1,400 per calendar "
            "year for courses, books, certifications and conferences. Unused budget "
            "does not carry over into the next year.",
            "Conference attendance counts as working time for up to 4 days per year. "
            "Courses that cost more than EUR 500 need the approval of the employee's "
            "team lead before booking.",
        ],
    ),
]

HOTEL_LIMITS = [
    ["Destination", "Hotel limit per night"],
    ["Zurich, Geneva, Oslo, London", "EUR 210"],
    ["Other capital cities", "EUR 165"],
    ["All other destinations", "EUR 120"],
]


def _add_table(doc: DocxDocument, rows: list[list[str]]) -> None:
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
            if r == 0:
                table.cell(r, c).paragraphs[0].runs[0].bold = True


def write_policies(path: Path) -> None:
    doc = Document()
    props = doc.core_properties
    props.title = POLICIES_TITLE
    props.author = "Nightwren Instruments"
    props.last_modified_by = "Nightwren Instruments"
    props.created = FIXED_DATE.replace(tzinfo=None)
    props.modified = FIXED_DATE.replace(tzinfo=None)
    props.revision = 1

    doc.add_heading(POLICIES_TITLE, level=0)
    for paragraph in POLICIES_INTRO:
        doc.add_paragraph(paragraph)
    _add_table(doc, POLICY_SUMMARY)

    for code, title, paragraphs in POLICIES:
        doc.add_heading(f"{code}: {title}", level=1)
        for paragraph in paragraphs:
            doc.add_paragraph(paragraph)
        if code == "NW-POL-011":
            _add_table(doc, HOTEL_LIMITS)

    buffer = io.BytesIO()
    doc.save(buffer)
    path.write_bytes(_with_fixed_zip_times(buffer.getvalue()))


def _with_fixed_zip_times(data: bytes) -> bytes:
    """Rewrite a zip so every entry has the same timestamp (python-docx uses now())."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def main() -> None:
    OUT_DIR.mkdir(exist_ok=True)
    write_catalog(OUT_DIR / "product_catalog.pdf")
    write_policies(OUT_DIR / "policies.docx")
    print(f"wrote {OUT_DIR / 'product_catalog.pdf'} and {OUT_DIR / 'policies.docx'}")


if __name__ == "__main__":
    main()
