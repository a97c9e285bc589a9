#!/usr/bin/env python3
"""Writes the fixture's daily files: day1.csv … day4.csv and
day2-truncated.csv, for a 500-person company (Fabrikam Ltd), in the
examples' format plus a "Cost centre" column (a custom field).

Deterministic: the same seed gives the same bytes. Prints what changes from
day to day (the fixture README quotes it).

    python3 make_days.py OUTPUT_DIR
"""

import csv
import io
import random
import sys
import unicodedata
from pathlib import Path

SEED = 20261102
HEADER = [
    "Employee ID", "First name", "Last name", "Email", "Job title",
    "Primary team", "Secondary teams", "Role", "Language", "Location",
    "Hire date", "Manager email", "Cost centre",
]
DOMAIN = "fabrikam.example"

# (first names, last names, language, locations) per region.
REGIONS = [
    (["Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Noah", "Mia", "Jack", "Grace",
      "Thomas", "Sophie", "James", "Chloe", "William", "Lily", "Samuel", "Ella", "Daniel", "Ruby"],
     ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker",
      "Wright", "Hughes", "Green", "Hall", "Clarke", "Patel", "Khan", "Edwards", "O'Neill", "Ashworth-Jones"],
     "en", ["London", "Manchester", "Edinburgh"]),
    (["Siobhán", "Aoife", "Cillian", "Niamh", "Seán", "Orla", "Ciarán", "Éabha"],
     ["Ó Briain", "Murphy", "Kelly", "O'Sullivan", "Byrne", "Ní Dhomhnaill", "Walsh", "Ryan"],
     "en", ["Dublin"]),
    (["Zoë", "Jürgen", "Lukas", "Lena", "Maximilian", "Hannah", "Jörg", "Anja", "Felix", "Katrin"],
     ["Müller", "Schmidt", "Schneider", "Fischer", "Weiß", "Becker", "Groß", "Köhler", "Hoffmann", "Schäfer"],
     "de", ["Berlin", "Munich"]),
    (["Théo", "Chloé", "Hélène", "Benoît", "Léa", "François", "Amélie", "Jérôme"],
     ["Girard", "Lefèvre", "Dubois", "Moreau", "Fontaine", "Rousseau", "Bélanger", "Lemaître"],
     "fr", ["Paris", "Lyon"]),
    (["José", "María", "Andrés", "Lucía", "Ángel", "Camila"],
     ["Núñez", "García", "Rodríguez", "Peña", "Muñoz", "Gómez"],
     "es-CO", ["Bogotá", "Medellín"]),
    (["Łukasz", "Agnieszka", "Paweł", "Małgorzata", "Krzysztof", "Zofia"],
     ["Kowalski", "Nowak", "Wiśniewska", "Wójcik", "Zieliński", "Dąbrowska"],
     "pl", ["Warsaw", "Kraków"]),
    (["João", "Beatriz", "Gonçalo", "Inês", "Thiago", "Letícia"],
     ["Silva", "Conceição", "Araújo", "Gonçalves", "Magalhães", "Simões"],
     "pt-BR", ["São Paulo"]),
    (["Sanne", "Daan", "Femke", "Joris"],
     ["de Jong", "van der Berg", "Bakker", "Visser"],
     "nl", ["Amsterdam"]),
    (["Emily", "Michael", "Ashley", "Christopher"],
     ["Johnson", "Miller", "Davis", "Martinez"],
     "en-US", ["New York", "Austin"]),
]
REGION_WEIGHTS = [46, 8, 12, 9, 6, 7, 5, 4, 8]

# (team, cost centre, head title, lead title, member titles)
DEPARTMENTS = [
    ("Engineering", "CC-110", "VP Engineering", "Engineering Team Lead",
     ["Software Engineer", "Senior Software Engineer", "Site Reliability Engineer", "QA Engineer"]),
    ("Sales", "CC-120", "Head of Sales, EMEA", "Sales Manager",
     ["Account Executive", "Sales Development Representative", "Account Manager"]),
    ("Customer Support", "CC-130", "Head of Customer Support", "Support Team Lead",
     ["Support Specialist", "Senior Support Specialist"]),
    ("Finance", "CC-140", "Chief Financial Officer", "Finance Manager",
     ["Accountant", "Financial Analyst", "Payroll Specialist"]),
    ("Marketing", "CC-150", "Head of Marketing", "Marketing Manager",
     ["Content Marketer", "Product Marketing Manager", "Designer"]),
    ("People & Culture", "CC-160", "Director of People & Culture", "HR Business Partner",
     ["People Partner", "Recruiter", "Learning & Development Specialist"]),
    ("IT", "CC-170", "Head of IT", "IT Manager",
     ["IT Support Engineer", "Systems Administrator"]),
    ("Research, Development", "CC-180", "Director of Research, Development", "Research Lead",
     ["Research Scientist", "Data Scientist", "Lab Technician"]),
    ("Operations", "CC-190", "Chief Operating Officer", "Operations Manager",
     ["Operations Analyst", "Facilities Coordinator"]),
]
DEPT_SIZES = [130, 80, 70, 35, 40, 30, 30, 40, 44]  # + the CEO = 500
SECONDARY = ["Graduates", "Mentors", "Health & Safety", "Research, Development", "Diversity, Equity & Inclusion",
             "Social Committee", "Security Champions", "Marketing"]


def slug(text):
    # Letters NFKD does not decompose, spelt as people write them in emails.
    for letter, ascii_letter in [("ß", "ss"), ("ł", "l"), ("Ł", "L")]:
        text = text.replace(letter, ascii_letter)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_text.lower() if c.isalnum())


class Company:
    def __init__(self, rng):
        self.rng = rng
        self.next_id = 2001
        self.emails = set()
        self.rows = {}  # id -> dict

    def email_for(self, first, last):
        base = f"{slug(first)}.{slug(last)}"
        email, n = f"{base}@{DOMAIN}", 2
        while email in self.emails:
            email, n = f"{base}{n}@{DOMAIN}", n + 1
        self.emails.add(email)
        return email

    def person(self, team, cc, title, role, manager, hired):
        rng = self.rng
        first_names, last_names, language, locations = rng.choices(REGIONS, REGION_WEIGHTS)[0]
        first, last = rng.choice(first_names), rng.choice(last_names)
        key = f"E{self.next_id}"
        self.next_id += 1
        secondary = ""
        if rng.random() < 0.22:
            teams = rng.sample([t for t in SECONDARY if t != team], rng.choice([1, 1, 2]))
            secondary = ",".join(t.replace(",", "\\,") for t in teams)
        if role == "viewer" and rng.random() < 0.15:
            role = "learner"  # the alias some HR systems write
        row = {
            "Employee ID": key,
            "First name": first,
            "Last name": last,
            "Email": self.email_for(first, last),
            "Job title": title,
            "Primary team": team,
            "Secondary teams": secondary,
            "Role": role,
            "Language": "" if rng.random() < 0.02 else language,
            "Location": rng.choice(locations),
            "Hire date": "" if rng.random() < 0.03 else hired,
            "Manager email": manager,
            "Cost centre": cc,
        }
        self.rows[key] = row
        return row

    def hire_date(self, start_year=2008, end_year=2026):
        rng = self.rng
        y = rng.randint(start_year, end_year - 1)
        return f"{y}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    def build(self):
        ceo = self.person("Executive", "CC-100", "Chief Executive Officer", "admin", "", "2009-04-01")
        for (team, cc, head_title, lead_title, titles), size in zip(DEPARTMENTS, DEPT_SIZES):
            role = "hr" if team == "People & Culture" else "reporter"
            head = self.person(team, cc, head_title, role, ceo["Email"], self.hire_date(2009, 2016))
            left = size - 1
            while left > 0:
                lead = self.person(team, cc, lead_title, role, head["Email"], self.hire_date(2010, 2022))
                left -= 1
                for _ in range(min(left, self.rng.randint(6, 11))):
                    member_role = "curator" if team == "People & Culture" and self.rng.random() < 0.3 else "viewer"
                    self.person(team, cc, self.rng.choice(titles), member_role, lead["Email"], self.hire_date())
                    left -= 1

    def members(self, rows):
        """Keys of people nobody reports to (safe to change or let go)."""
        managers = {r["Manager email"] for r in rows.values()}
        return sorted(k for k, r in rows.items() if r["Email"] not in managers and k != "E2001")

    def leads(self, rows):
        """Keys of people someone reports to, but the CEO."""
        managers = {r["Manager email"] for r in rows.values()}
        return sorted(k for k, r in rows.items() if r["Email"] in managers and k != "E2001")


def write(path, rows, order):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for key in order:
        w.writerow([rows[key][h] for h in HEADER])
    path.write_bytes(out.getvalue().encode("utf-8"))


def day_after(company, rows, order, day, date, log, joiners, leavers, updates, rejoin=None):
    rng = company.rng
    rows = {k: dict(v) for k, v in rows.items()}
    order = list(order)
    log.append(f"## {day} ({date})")
    members = company.members(rows)
    picked = rng.sample(members, leavers + updates)
    gone = picked[:leavers]
    for key in gone:
        log.append(f"- leaver {key} {rows[key]['First name']} {rows[key]['Last name']}")
        del rows[key]
        order.remove(key)
    if rejoin is not None:
        key, row = rejoin
        rows[key] = dict(row)
        order.append(key)
        log.append(f"- rejoiner {key} {row['First name']} {row['Last name']} (their old row)")
    changers = picked[leavers:]
    leads = company.leads(rows)
    kinds = ["promotion", "team move", "manager change", "name and email", "location",
             "secondary teams", "language", "cost centre"]
    for n, key in enumerate(changers):
        r = rows[key]
        kind = kinds[n % len(kinds)]
        if kind == "promotion":
            old = r["Job title"]
            r["Job title"] = "Senior " + old if not old.startswith("Senior ") else old.replace("Senior ", "Principal ")
            r["Role"] = "reporter"
            log.append(f"- {key}: promoted, Job title {old!r} → {r['Job title']!r}, Role → reporter")
        elif kind == "team move":
            dept = rng.choice([d for d in DEPARTMENTS if d[0] != r["Primary team"]])
            lead = rng.choice([k for k in leads if rows[k]["Primary team"] == dept[0]])
            log.append(f"- {key}: team move {r['Primary team']!r} → {dept[0]!r}, Job title → {dept[4][0]!r}, "
                       f"Cost centre → {dept[1]}, manager → {rows[lead]['Email']}")
            r.update({"Primary team": dept[0], "Job title": dept[4][0], "Cost centre": dept[1],
                      "Manager email": rows[lead]["Email"]})
        elif kind == "manager change":
            same_team = [k for k in leads if rows[k]["Primary team"] == r["Primary team"]
                         and rows[k]["Email"] != r["Manager email"]]
            lead = rng.choice(same_team or leads)
            log.append(f"- {key}: manager {r['Manager email']} → {rows[lead]['Email']}")
            r["Manager email"] = rows[lead]["Email"]
        elif kind == "name and email":
            first_names, last_names, _, _ = rng.choice(REGIONS)
            last = rng.choice([n for n in last_names if n != r["Last name"]])
            email = company.email_for(r["First name"], last)
            log.append(f"- {key}: Last name {r['Last name']!r} → {last!r}, Email {r['Email']} → {email}")
            r["Last name"], r["Email"] = last, email
        elif kind == "location":
            place = rng.choice([p for reg in REGIONS for p in reg[3] if p != r["Location"]])
            log.append(f"- {key}: Location {r['Location']!r} → {place!r}")
            r["Location"] = place
        elif kind == "secondary teams":
            teams = rng.sample([t for t in SECONDARY if t != r["Primary team"]], 2)
            new = ",".join(t.replace(",", "\\,") for t in teams)
            log.append(f"- {key}: Secondary teams {r['Secondary teams']!r} → {new!r}")
            r["Secondary teams"] = new
        elif kind == "language":
            lang = rng.choice([l for l in ["en", "de", "fr", "nl", "pl", "it", "ja"] if l != r["Language"]])
            log.append(f"- {key}: Language {r['Language']!r} → {lang!r}")
            r["Language"] = lang
        elif kind == "cost centre":
            log.append(f"- {key}: Cost centre {r['Cost centre']} → CC-199")
            r["Cost centre"] = "CC-199"
    # A team lead changes name and email: everyone reporting to them follows.
    lead = rng.choice([k for k in leads if k not in changers])
    r = rows[lead]
    first_names, last_names, _, _ = rng.choice(REGIONS)
    last = rng.choice([n for n in last_names if n != r["Last name"]])
    email = company.email_for(r["First name"], last)
    reports = sorted(k for k, x in rows.items() if x["Manager email"] == r["Email"])
    log.append(f"- {lead} (a lead): Last name {r['Last name']!r} → {last!r}, Email {r['Email']} → {email}; "
               f"their {len(reports)} reports' Manager email follows ({', '.join(reports)})")
    for k in reports:
        rows[k]["Manager email"] = email
    r["Last name"], r["Email"] = last, email
    for _ in range(joiners):
        dept = rng.choice(DEPARTMENTS)
        lead = rng.choice([k for k in company.leads(rows) if rows[k]["Primary team"] == dept[0]])
        row = company.person(dept[0], dept[1], rng.choice(dept[4]), "viewer", rows[lead]["Email"],
                             date)
        rows[row["Employee ID"]] = row
        order.append(row["Employee ID"])
        log.append(f"- joiner {row['Employee ID']} {row['First name']} {row['Last name']}, {row['Job title']}, "
                   f"{row['Primary team']}")
    # A few rows move (HR exports are not sorted).
    for _ in range(3):
        i, j = rng.randrange(len(order)), rng.randrange(len(order))
        order[i], order[j] = order[j], order[i]
    return rows, order, {k: v for k, v in company.rows.items() if k in gone}


def main():
    out = Path(sys.argv[1])
    rng = random.Random(SEED)
    company = Company(rng)
    company.build()
    day1 = {k: dict(v) for k, v in company.rows.items()}
    order1 = list(day1)
    assert len(day1) == 500, len(day1)
    log = [f"day1: {len(day1)} people"]
    write(out / "day1.csv", day1, order1)
    day2, order2, left2 = day_after(company, day1, order1, "day2", "2026-11-03", log, joiners=8, leavers=6, updates=16)
    write(out / "day2.csv", day2, order2)
    write(out / "day2-truncated.csv", day2, order2[: len(order2) // 3])
    log.append(f"day2-truncated.csv: the first {len(order2) // 3} rows of day2.csv")
    rejoiner = sorted(left2)[0]
    day3, order3, _ = day_after(company, day2, order2, "day3", "2026-11-04", log, joiners=4, leavers=3, updates=8,
                                rejoin=(rejoiner, day1[rejoiner]))
    write(out / "day3.csv", day3, order3)
    day4, order4, _ = day_after(company, day3, order3, "day4", "2026-11-05", log, joiners=5, leavers=3, updates=8)
    write(out / "day4.csv", day4, order4)
    for day, rows in [("day2", day2), ("day3", day3), ("day4", day4)]:
        log.append(f"{day}: {len(rows)} people")
    print("\n".join(log))


if __name__ == "__main__":
    main()
