#!/usr/bin/env python3
"""Night 2's inbox for the review benchmark's second night (scripts/bench/review.sh --nights 2).

    python3 scripts/bench/night2.py --data GEN --work WORK --answers ANSWERS.csv --out INBOX

GEN is the generator's folder (`sisdrop-gen --out GEN`: sis/, enrollment/), WORK the working
directory after night 1's `sisdrop run`, ANSWERS.csv the ready-to-fill answer file of night 1's
queue (`sisdrop review --csv`). Writes into INBOX what the next night brings:

- The SIS's full export after it imported night 1's delivery, as the tests' SIS stand-in does
  (Tests/_SISDropTestSupport/SISStandIn.swift, `importOutbox` then `exportFull`): a new student gets
  the next free Student_Number, a new contact the next free Contact_ID (one per Contact_Ref), updates
  set their non-blank fields, contact rows link the contact to its student. Every fourth new student
  is not imported yet (the SIS has not reached it; its contacts fail with it), so night 1's new
  students are partly shown by the export and partly still awaited.
- The enrollment export: every night 1 submission not delivered (the enrollment system sends every
  approved submission not yet delivered, unchanged, so that the answers given apply), and a second
  form of every fifth delivered submission (a new Submission_ID, another home phone): half approved
  a day after night 1's form, half a day before it (the later-form rule: an older form writes
  nothing over a newer one unseen).
- answers.csv: night 1's queue answered for two submissions in three: a potential match with the
  generator's truth (the true candidate, or No Match for a new child; left blank when the truth is
  not among the candidates), a held field accepted or kept (alternately).

Deterministic (no randomness: every choice is by position). Benchmark data, nothing asserted.
"""

import argparse
import csv
import datetime
import shutil
from pathlib import Path

STUDENT_COLUMNS = [
    "Student_Number", "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB",
    "Gender", "Grade_Level", "SchoolID", "Enroll_Status", "Street", "City", "State", "Zip",
    "Home_Phone", "Email",
]
CONTACT_COLUMNS = [
    "Contact_ID", "Student_Number", "First_Name", "Last_Name", "Relationship", "Phone", "Email",
    "Street", "City", "State", "Zip",
]


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def table(path):
    header, rows = read(path)
    return [dict(zip(header, row)) for row in rows]


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)


class SIS:
    """The stand-in's import, with indexes (the stand-in scans its tables for each row)."""

    def __init__(self, folder):
        self.students = table(folder / "students.csv")
        self.contacts = table(folder / "contacts.csv")
        self.by_number = {s["Student_Number"]: s for s in self.students}
        self.links = {(c["Contact_ID"], c["Student_Number"]) for c in self.contacts}
        self.contact_rows = {}
        for c in self.contacts:
            self.contact_rows.setdefault(c["Contact_ID"], []).append(c)
        self.next_number = max(int(n) for n in self.by_number if n.isdigit()) + 1
        ids = [int(c[1:]) for c in self.contact_rows if c[1:].isdigit()]
        self.next_contact = (max(ids) if ids else 0) + 1
        self.refs = {}
        self.counts = {"new": 0, "not_imported": 0, "updates": 0, "contacts": 0, "failed": 0}

    def new_student(self, row, skip):
        if skip:
            self.counts["not_imported"] += 1
            return
        number = "%06d" % self.next_number
        self.next_number += 1
        student = {c: row.get(c, "") for c in STUDENT_COLUMNS}
        student["Student_Number"] = number
        student["Enroll_Status"] = student["Enroll_Status"] or "0"
        self.students.append(student)
        self.by_number[number] = student
        self.refs[row["Student_Ref"]] = number
        self.counts["new"] += 1

    def update_student(self, row):
        student = self.by_number.get(row["Student_Number"])
        if student is None:
            self.counts["failed"] += 1
            return
        for c in STUDENT_COLUMNS[1:]:
            if row.get(c):
                student[c] = row[c]
        self.counts["updates"] += 1

    def number_of(self, row):
        if row.get("Student_Number"):
            return row["Student_Number"] if row["Student_Number"] in self.by_number else None
        return self.refs.get(row.get("Student_Ref", ""))

    def link(self, contact, number):
        if (contact["Contact_ID"], number) in self.links:
            return
        linked = dict(contact)
        linked["Student_Number"] = number
        self.contacts.append(linked)
        self.contact_rows.setdefault(linked["Contact_ID"], []).append(linked)
        self.links.add((linked["Contact_ID"], number))

    def new_contact(self, row):
        number = self.number_of(row)
        if number is None:
            self.counts["failed"] += 1
            return
        known = row.get("Contact_ID") or self.refs.get("contact:" + row["Contact_Ref"])
        if known and known in self.contact_rows:
            existing = dict(self.contact_rows[known][0])
            if row.get("Relationship"):
                existing["Relationship"] = row["Relationship"]
            self.link(existing, number)
        else:
            contact = {c: row.get(c, "") for c in CONTACT_COLUMNS}
            contact["Contact_ID"] = "C%08d" % self.next_contact
            self.next_contact += 1
            self.refs["contact:" + row["Contact_Ref"]] = contact["Contact_ID"]
            self.link(contact, number)
        self.counts["contacts"] += 1

    def update_contact(self, row):
        rows = self.contact_rows.get(row["Contact_ID"])
        if not rows:
            self.counts["failed"] += 1
            return
        for contact in rows:
            for c in CONTACT_COLUMNS[2:]:
                if row.get(c):
                    contact[c] = row[c]
        number = self.number_of(row)
        if number is not None:
            self.link(rows[0], number)
        self.counts["contacts"] += 1

    def import_outbox(self, outbox):
        """Every delivery in the outbox, oldest ready file first; every fourth new student waits."""
        new_index = 0
        for ready in sorted(p for p in outbox.glob("*.ready") if not p.name.startswith(".")):
            prefix = ready.name[: -len(".ready")]
            _, listed = read(ready)
            names = {row[0] for row in listed}

            def rows(kind):
                name = "%s_%s.csv" % (prefix, kind)
                return table(outbox / name) if name in names else []

            for row in rows("students_new"):
                self.new_student(row, skip=new_index % 4 == 3)
                new_index += 1
            for row in rows("students_update"):
                self.update_student(row)
            for row in rows("contacts_new"):
                self.new_contact(row)
            for row in rows("contacts_update"):
                self.update_contact(row)

    def export(self, sis_folder, inbox):
        write(inbox / "students.csv", STUDENT_COLUMNS, self.students)
        write(inbox / "contacts.csv", CONTACT_COLUMNS, self.contacts)
        for name in ["schools.csv", "attendance_codes.csv"]:
            shutil.copyfile(sis_folder / name, inbox / name)


def delivered_ids(work):
    ids = set()
    for path in work.glob("batches/*/40-deliver/delivered.csv"):
        _, rows = read(path)
        ids.update(row[0] for row in rows)
    return ids


def enrollment(data, work, inbox):
    """Night 1's submissions not delivered, unchanged, and second forms of delivered ones."""
    header, rows = read(data / "enrollment" / "submissions.csv")
    contact_header, contact_rows = read(data / "enrollment" / "submission_contacts.csv")
    contacts = {}
    for row in contact_rows:
        contacts.setdefault(row[0], []).append(row)
    delivered = delivered_ids(work)
    column = {name: i for i, name in enumerate(header)}
    numbers = [int(row[0][2:]) for row in rows if row[0][2:].isdigit()]
    next_id = max(numbers) + 1
    forms = {}
    for row in rows:
        forms.setdefault(row[0], []).append(row)
    out, out_contacts = [], []
    counts = {"again": 0, "later_form": 0, "earlier_form": 0}
    seen_delivered = 0
    for sid, form in forms.items():
        if sid not in delivered:
            out.extend(form)
            out_contacts.extend(contacts.get(sid, []))
            counts["again"] += 1
            continue
        seen_delivered += 1
        if seen_delivered % 5 != 0:
            continue
        second_id = "S-%07d" % next_id
        next_id += 1
        earlier = (seen_delivered // 5) % 2 == 0
        for row in form:
            second = list(row)
            second[0] = second_id
            approved = datetime.datetime.strptime(row[column["Approved_At"]], "%Y-%m-%d %H:%M")
            approved += datetime.timedelta(days=-1 if earlier else 1)
            second[column["Approved_At"]] = approved.strftime("%Y-%m-%d %H:%M")
            second[column["Home_Phone"]] = "217-555-%04d" % (next_id % 10000)
            out.append(second)
        counts["earlier_form" if earlier else "later_form"] += 1
        for contact in contacts.get(sid, []):
            out_contacts.append([second_id] + contact[1:])
    write(inbox / "submissions.csv", header, out)
    write(inbox / "submission_contacts.csv", contact_header, out_contacts)
    documents, _ = read(data / "enrollment" / "submission_documents.csv")
    write(inbox / "submission_documents.csv", documents, [])
    return counts


def answers(template, data, inbox):
    """Two submissions in three of the queue answered: matches by the truth, held fields alternately."""
    header, rows = read(template)
    truth = {}
    for row in table(data / "truth" / "students.csv"):
        truth[(row["Submission_ID"], row["Student_Seq"])] = row["Truth"]
    column = {name: i for i, name in enumerate(header)}
    order = []
    for row in rows:
        if row[0] not in order[-1:]:
            order.append(row[0])
    answered = {sid for i, sid in enumerate(order) if i % 3 != 2}
    groups = {}
    for row in rows:
        key = tuple(row[column[c]] for c in ["Submission_ID", "Kind", "Schema", "Seq", "Field"])
        groups.setdefault(key, []).append(row)
    counts = {"match": 0, "no_match": 0, "accept": 0, "keep_sis": 0}
    flip = 0
    for key, choices in groups.items():
        sid, kind, schema = key[0], key[1], key[2]
        if sid not in answered:
            continue
        choice = None
        if kind == "match" and schema == "student":
            want = truth.get((sid, key[3]))
            want = "NO-MATCH" if want == "NEW" else want
            choice = want if any(r[column["Choice"]] == want for r in choices) else None
            if choice:
                counts["no_match" if choice == "NO-MATCH" else "match"] += 1
        elif kind == "update":
            choice = "accept" if flip % 2 == 0 else "keep-sis"
            flip += 1
            counts["accept" if choice == "accept" else "keep_sis"] += 1
        for row in choices:
            if row[column["Choice"]] == choice:
                row[column["Answer"]] = "x"
    write(inbox / "answers.csv", header, rows)
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--answers", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    data, work, inbox = Path(args.data), Path(args.work), Path(args.out)
    inbox.mkdir(parents=True, exist_ok=True)
    sis = SIS(data / "sis")
    sis.import_outbox(work / "outbox")
    sis.export(data / "sis", inbox)
    forms = enrollment(data, work, inbox)
    given = answers(Path(args.answers), data, inbox)
    print(
        "night 2: SIS imported %(new)d new students (%(not_imported)d not yet), %(updates)d updates, "
        "%(contacts)d contact rows (%(failed)d failed); " % sis.counts
        + "enrollment: %(again)d again, %(later_form)d later and %(earlier_form)d earlier second forms; "
        % forms
        + "answers: %(match)d match, %(no_match)d no match, %(accept)d accept, %(keep_sis)d keep-sis"
        % given
    )


if __name__ == "__main__":
    main()
