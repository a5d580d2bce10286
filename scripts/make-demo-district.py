#!/usr/bin/env python3
"""Generate the sisdrop demo district: Fixtures/demo-district/.

    python3 scripts/make-demo-district.py [--out DIR]

Standard library only. The output is byte-identical on every run and every Python 3 version:
the random numbers come from a fixed-seed SplitMix64 generator defined here (not the `random`
module), no set or hash order is ever written, every file is sorted, UTF-8 without BOM, "\n"
line endings, CSV quoted only where RFC 4180 needs it.

The demo district (Springfield, IL; three schools; about 300 students in about 150 households)
is an SIS export plus about 60 enrollment submissions (CSV and the same ones in XML, each with the
uploaded document files beside it in documents/<Submission_ID>/), the
PowerSchool Plugin.xml, the Raptor building and tardy-code maps, Raptor tardies, and EXPECTED.md,
whose table says what must happen to every submission student and why. The expectations come
from the cases (a returning child is the SIS record it was made from; a new child is no SIS child),
never from a re-implementation of a matcher; the script checks what needs no matcher (the
rejected cases fail normalization, the others pass; every expected SIS id exists).
"""

import argparse
import csv
import datetime as dt
import hashlib
import io
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

SEED = 20261120
SCHOOL_YEAR = "2026-27"
AGE_CUTOFF = dt.date(2026, 9, 1)  # grade = age on this day - 5 (PK = -1, K = 0)

CITY, STATE = "Springfield", "IL"
ZIPS = ["62701", "62702", "62703", "62704", "62707", "62711", "62712"]
# villages inside the same district, used for families that moved
# Cases whose matched update changes a name: held for a person by the default `updates:` policy.
IDENTITY_UPDATE = {"returning-accent-dropped", "returning-apostrophe", "returning-hyphen-dropped", "returning-nickname",
                   "returning-siblings-one-nickname"}

MOVE_TOWNS = [("Jerome", "62704"), ("Leland Grove", "62704"), ("Grandview", "62702"), ("Southern View", "62703")]

SCHOOLS = [
    ("0101", "Lincoln Elementary", range(-1, 6)),
    ("0202", "Roosevelt Middle School", range(6, 9)),
    ("0303", "Jefferson High School", range(9, 13)),
]
BUILDING_MAP = [
    ("Lincoln Elementary", "0101"),
    ("Lincoln Elem", "0101"),
    ("Roosevelt Middle School", "0202"),
    ("Roosevelt MS", "0202"),
    ("Jefferson High School", "0303"),
    ("Jefferson HS", "0303"),
]
TARDY_CODES = [
    ("Late Bus", "TE", "Yes"),
    ("Overslept", "TU", "Yes"),
    ("Medical Appointment", "TE", "Yes"),
    ("Car Trouble", "TU", "No"),
    ("Other", "T", "Yes"),
]
ATT_CODES = [("T", "Tardy", "Present"), ("TU", "Tardy Unexcused", "Present"),
             ("TE", "Tardy Excused", "Present"), ("A", "Absent", "Absent")]

FORM_RETURNING = "2026-27 Returning Student Registration"
FORM_NEW = "2026-27 New Student Enrollment"

STUDENT_COLS = ["Student_Number", "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB",
                "Gender", "Grade_Level", "SchoolID", "Enroll_Status", "Street", "City", "State", "Zip",
                "Home_Phone", "Email"]
CONTACT_COLS = ["Contact_ID", "Student_Number", "First_Name", "Last_Name", "Relationship", "Phone", "Email",
                "Street", "City", "State", "Zip"]
SUB_STUDENT_FIELDS = ["State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB", "Gender",
                      "Grade_Level", "School", "Street", "City", "State", "Zip", "Home_Phone", "Email"]
SUB_COLS = ["Submission_ID", "Form", "Approved_At"] + SUB_STUDENT_FIELDS
SUB_CONTACT_FIELDS = ["First_Name", "Last_Name", "Relationship", "Phone", "Email", "Street", "City", "State", "Zip"]
SUB_CONTACT_COLS = ["Submission_ID", "Contact_Seq"] + SUB_CONTACT_FIELDS
SUB_DOC_COLS = ["Submission_ID", "Doc_Type", "File_Name", "SHA256"]


# ----------------------------------------------------------------------------------------------
# Deterministic random numbers (SplitMix64): the same on every Python version.

class Rng:
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n):
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            x = self.next64()
            if x < limit:
                return x % n

    def randint(self, a, b):
        return a + self.below(b - a + 1)

    def chance(self, p):
        return self.below(1_000_000) < int(p * 1_000_000)

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def weighted(self, pairs):
        total = sum(w for _, w in pairs)
        x = self.below(total)
        for value, w in pairs:
            if x < w:
                return value
            x -= w
        raise AssertionError

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def sample(self, seq, k):
        items = list(seq)
        self.shuffle(items)
        return items[:k]


# ----------------------------------------------------------------------------------------------
# Name pools. Children: boys, girls, middle names (boys, girls); adults: men, women; surnames.

CULTURES = {
    "anglo": dict(
        boys=["Liam", "Noah", "Oliver", "James", "Benjamin", "Lucas", "Henry", "Mason", "Logan", "Jack",
              "Owen", "Wyatt", "Caleb", "Connor", "Aidan", "Elliot", "Gavin", "Tristan", "Colton"],
        girls=["Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper", "Evelyn",
               "Abigail", "Emily", "Ella", "Chloe", "Zoë", "Madison", "Hannah", "Renée", "Brooklyn", "Paige"],
        mboys=["James", "Michael", "Thomas", "Alexander", "Lee", "Joseph", "Ryan"],
        mgirls=["Marie", "Rose", "Elizabeth", "Lynn", "Jane", "Anne", "Claire"],
        men=["Michael", "David", "Christopher", "Matthew", "Joshua", "Andrew", "Daniel", "Justin", "Ryan",
             "Kevin", "Brandon", "Eric", "Jeremy", "Travis", "Scott"],
        women=["Jessica", "Ashley", "Amanda", "Sarah", "Stephanie", "Heather", "Nicole", "Megan", "Lauren",
               "Rebecca", "Amy", "Kristen", "Erin", "Melissa", "Allison"],
        surnames=["Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Thomas", "Moore", "Martin",
                  "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "Allen", "King",
                  "Wright", "Scott", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips",
                  "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Rogers", "Reed",
                  "Cook", "Morgan", "Bell", "O'Connor", "O'Neill", "McCarthy", "Sullivan", "Kelly", "Schmidt",
                  "Nowak", "Müller", "Rossi", "Smith"],
    ),
    "hispanic": dict(
        boys=["José", "Juan", "Luis", "Carlos", "Diego", "Mateo", "Alejandro", "Miguel", "Ángel",
              "Sebastián", "Andrés", "Emiliano", "Joaquín", "Adrián"],
        girls=["María", "Valentina", "Camila", "Lucía", "Ximena", "Daniela", "Gabriela", "Isabel",
               "Renata", "Mariana", "Guadalupe", "Natalia", "Paola"],
        mboys=["Alejandro", "Luis", "Antonio", "Manuel", "Ángel"],
        mgirls=["Isabel", "Guadalupe", "Fernanda", "Elena", "del Carmen"],
        men=["Jorge", "Ricardo", "Fernando", "Roberto", "Eduardo", "Héctor", "Raúl", "Javier", "Óscar",
             "Sergio"],
        women=["Verónica", "Adriana", "Claudia", "Patricia", "Rosa", "Leticia", "Alejandra", "Mónica",
               "Elena", "Yesenia"],
        surnames=["Garcia", "Lopez", "Hernandez", "Gonzalez", "Rodriguez", "Flores", "Rivera", "Gomez",
                  "Cruz", "Morales", "Reyes", "Ortiz", "Gutierrez", "Chavez", "Ramos", "Ruiz", "Vargas",
                  "Castillo", "Mendoza", "Martinez"],
        accented=["García", "López", "Hernández", "González", "Rodríguez", "Pérez", "Díaz", "Sánchez",
                  "Ramírez", "Gómez", "Jiménez", "Núñez", "Peña", "Ibáñez"],
    ),
    "vietnamese": dict(
        boys=["Minh", "Huy", "Khoa", "Bảo", "Duc", "Long", "Nam", "Phuc", "Quang"],
        girls=["Linh", "Ngọc", "Thảo", "Hương", "Trang", "Vy", "Anh", "Nhi", "Tuyet"],
        mboys=["Van", "Minh", "Quoc"],
        mgirls=["Thi", "Ngoc", "Kim"],
        men=["Thanh", "Hung", "Tuan", "Dung", "Hai", "Son"],
        women=["Huong", "Lan", "Hoa", "Thuy", "Phuong", "Hanh"],
        surnames=["Nguyen", "Tran", "Le", "Pham", "Hoang", "Huynh", "Vo", "Dang", "Bui"],
    ),
    "somali": dict(
        boys=["Abdirahman", "Mohamed", "Abdi", "Hassan", "Yusuf", "Ahmed", "Ismail", "Abdullahi", "Bashir"],
        girls=["Hodan", "Fadumo", "Ayaan", "Sahra", "Hibo", "Asha", "Ifrah", "Hamdi", "Najma", "Deeqa"],
        mboys=[], mgirls=[],
        men=["Abdi", "Ahmed", "Omar", "Yusuf", "Farah", "Jama", "Osman", "Aden", "Mahad", "Said"],
        women=["Halima", "Amina", "Khadra", "Maryan", "Faduma", "Sagal", "Ubah", "Hawa", "Nasra", "Ilhan"],
        surnames=["Mohamed", "Hassan", "Abdi", "Warsame", "Farah", "Omar", "Yusuf", "Jama", "Osman",
                  "Hussein", "Mohamud", "Abdullahi", "Aden", "Ali"],
    ),
    "hmong": dict(
        boys=["Tou", "Kou", "Neng", "Chue", "Fue", "Teng", "Pheng", "Xeng", "Lue"],
        girls=["Pa", "Nou", "Yer", "Kia", "Mai Nou", "Maiv", "Ka", "Sheng", "Bao"],
        mboys=[], mgirls=[],
        men=["Chong", "Xay", "Yia", "Cha", "Lue", "Koua", "Txawj", "Vang Pao"],
        women=["Mee", "Mai", "Houa", "Zoua", "Bao", "Youa", "Chia", "Pang"],
        surnames=["Vang", "Xiong", "Yang", "Lor", "Moua", "Her", "Vue", "Hang", "Lee", "Khang"],
    ),
    "arabic": dict(
        boys=["Omar", "Ali", "Yousef", "Khalid", "Karim", "Adam", "Zaid", "Hamza", "Tariq"],
        girls=["Fatima", "Layla", "Noor", "Aisha", "Mariam", "Salma", "Yasmin", "Amira", "Huda"],
        mboys=["Ahmad", "Mahmoud"], mgirls=["Rana", "Lina"],
        men=["Khalid", "Samir", "Walid", "Nabil", "Fadi", "Rami", "Bassam", "Ziad"],
        women=["Rania", "Hana", "Dalia", "Lina", "Maha", "Reem", "Samira", "Nadia"],
        surnames=["Khalil", "Nasser", "Mansour", "Saleh", "Hamdan", "Al-Sayed", "Abdullah", "El-Amin",
                  "Darwish", "Saadeh"],
    ),
    "chinese": dict(
        boys=["Jiahao", "Haoran", "Yichen", "Zihan", "Kevin", "Ryan", "Ethan", "Jason"],
        girls=["Xinyi", "Meiling", "Ruoxi", "Yutong", "Shiyu", "Emily", "Grace", "Vivian"],
        mboys=["Wei", "Jun"], mgirls=["Mei", "Xin"],
        men=["Wei", "Jun", "Lei", "Hao", "Tao", "Feng", "Gang", "Bin"],
        women=["Xiaoling", "Li", "Yan", "Jing", "Hong", "Ying", "Fang", "Min"],
        surnames=["Wang", "Li", "Zhang", "Liu", "Chen", "Huang", "Zhao", "Wu", "Zhou", "Lin"],
    ),
    "african_american": dict(
        boys=["DeShawn", "Jaylen", "Malik", "Darnell", "Jamal", "Isaiah", "Elijah", "Jalen", "Marcus"],
        girls=["Aaliyah", "Imani", "Jasmine", "Nia", "Destiny", "Kennedy", "Zariah", "Janae", "Kiara"],
        mboys=["Lamar", "Andre", "Terrell"], mgirls=["Monique", "Nicole", "Danielle"],
        men=["Terrence", "Derrick", "Andre", "Marcus", "Reginald", "Curtis", "Dwayne"],
        women=["Tasha", "Keisha", "Latoya", "Tamika", "Crystal", "Ebony", "Shanice"],
        surnames=["Washington", "Robinson", "Coleman", "Jackson", "Jenkins", "Banks", "Freeman", "Hayes"],
    ),
    "south_asian": dict(
        boys=["Aarav", "Arjun", "Rohan", "Vihaan", "Ishaan", "Kabir"],
        girls=["Diya", "Ananya", "Saanvi", "Aanya", "Riya", "Meera"],
        mboys=["Kumar", "Raj"], mgirls=["Devi", "Rani"],
        men=["Nikhil", "Rahul", "Amit", "Vikram", "Sanjay"],
        women=["Priya", "Neha", "Pooja", "Kavita", "Sunita"],
        surnames=["Shah", "Singh", "Reddy", "Kumar", "Desai", "Mehta"],
    ),
}
CULTURE_WEIGHTS = [("anglo", 30), ("hispanic", 25), ("vietnamese", 8), ("somali", 7), ("hmong", 9),
                   ("arabic", 6), ("chinese", 6), ("african_american", 7), ("south_asian", 3)]

STREETS = ["Adams St", "Monroe St", "Washington St", "Lawrence Ave", "Wabash Ave", "Chatham Rd", "Walnut St",
           "Pasfield St", "Glenwood Ave", "Laurel St", "Governor St", "Cook St", "Keys Ave", "Bates Ave",
           "Leland Ave", "Williams Blvd", "Stevenson Dr", "Iles Ave", "Lindbergh Blvd", "Sangamon Ave",
           "N Grand Ave E", "S Grand Ave W", "Clear Lake Ave", "Peoria Rd", "Dirksen Pkwy", "Outer Park Dr",
           "Old Jacksonville Rd", "Wiggins Ave", "Black Ave", "Spring St", "Amos Ave", "Feldkamp Ave"]


# ----------------------------------------------------------------------------------------------
# The match key and normalization (the rule EXPECTED.md documents).

APOSTROPHES = "'\u2019"


def name_key(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    for a in APOSTROPHES:
        s = s.replace(a, "")
    s = s.replace("-", " ")
    return " ".join(s.split())


def ascii_slug(s):
    return name_key(s).replace(" ", "")


def parse_date(s):
    """MM/DD/YYYY or YYYY-MM-DD; None if empty, missing or impossible."""
    s = s.strip()
    try:
        if "/" in s:
            m, d, y = s.split("/")
            if len(y) != 4:
                return None
            return dt.date(int(y), int(m), int(d))
        if len(s) == 10 and s[4] == "-" and s[7] == "-":
            return dt.date(int(s[:4]), int(s[5:7]), int(s[8:]))
    except ValueError:
        return None
    return None


def parse_gender(s):
    return {"m": "M", "male": "M", "f": "F", "female": "F"}.get(s.strip().lower())


def parse_grade(s):
    t = s.strip().upper()
    if t in ("PK",):
        return -1
    if t in ("K", "KG", "KINDERGARTEN"):
        return 0
    if t.endswith("TH"):
        t = t[:-2]
    if t.isdigit() and 1 <= int(t) <= 12:
        return int(t)
    return None


def parse_school(s):
    t = s.strip()
    if t in [n for n, _, _ in SCHOOLS]:
        return t
    for name, number in BUILDING_MAP:
        if t.lower() == name.lower():
            return number
    return None


def grade_for(dob):
    age = AGE_CUTOFF.year - dob.year - ((dob.month, dob.day) > (AGE_CUTOFF.month, AGE_CUTOFF.day))
    return age - 5


def school_for(grade):
    for number, _, grades in SCHOOLS:
        if grade in grades:
            return number
    raise AssertionError(grade)


def mdy(d):
    return d.strftime("%m/%d/%Y")


# ----------------------------------------------------------------------------------------------
# The SIS.

class Gen:
    def __init__(self):
        self.rng = Rng(SEED)
        self.used_phones = set()
        self.used_addresses = set()
        self.used_emails = set()
        self.families = []        # dicts
        self.contact_seq = 0

    # -- small generators
    def phone(self):
        while True:
            p = "217-555-%04d" % self.rng.randint(100, 9999)
            if p not in self.used_phones:
                self.used_phones.add(p)
                return p

    def address(self, town=None):
        while True:
            street = "%d %s" % (self.rng.randint(100, 4999), self.rng.choice(STREETS))
            if self.rng.chance(0.12):
                street += ", Apt %d%s" % (self.rng.randint(1, 4), self.rng.choice("ABCD"))
            if street not in self.used_addresses:
                self.used_addresses.add(street)
                city, zip_ = town if town else (CITY, self.rng.choice(ZIPS))
                return dict(Street=street, City=city, State=STATE, Zip=zip_)

    def email(self, first, last, domain="example.com"):
        base = "%s.%s" % (ascii_slug(first), ascii_slug(last))
        n = ""
        while "%s%s@%s" % (base, n, domain) in self.used_emails:
            n = str(self.rng.randint(1, 99))
        e = "%s%s@%s" % (base, n, domain)
        self.used_emails.add(e)
        return e

    def dob_for_grade(self, grade):
        # age on 2026-09-01 is grade + 5: born after (cutoff - (grade + 6) years), on or before (cutoff - (grade + 5) years)
        hi = dt.date(AGE_CUTOFF.year - grade - 5, 9, 1)
        lo = dt.date(AGE_CUTOFF.year - grade - 6, 9, 2)
        d = lo + dt.timedelta(days=self.rng.below((hi - lo).days + 1))
        assert grade_for(d) == grade
        return d

    def guardian(self, first, last, relationship, home, same_home=True):
        self.contact_seq += 1
        addr = home if same_home else self.address()
        return dict(Contact_ID="C%05d" % self.contact_seq, First_Name=first, Last_Name=last,
                    Relationship=relationship, Phone=self.phone(),
                    Email=self.email(first, last) if self.rng.chance(0.85) else "", **addr)

    def add_family(self, surname, kids, guardians, culture, tag=None, home=None):
        """kids: [(first, middle, gender, grade or date)], guardians: [(first, last, relationship)]."""
        home = home or self.address()
        fam = dict(tag=tag, surname=surname, culture=culture, home=home, phone=self.phone(), kids=[],
                   guardians=[])
        for first, last, rel in guardians:
            fam["guardians"].append(self.guardian(first, last, rel, home, same_home=not rel.startswith("~")))
        for g in fam["guardians"]:
            g["Relationship"] = g["Relationship"].lstrip("~")
        for first, middle, gender, when, *rest in kids:
            dob = when if isinstance(when, dt.date) else self.dob_for_grade(when)
            last = rest[0] if rest else surname
            fam["kids"].append(dict(First_Name=first, Middle_Name=middle, Last_Name=last, dob=dob,
                                    gender=gender, grade=grade_for(dob), family=fam))
        self.families.append(fam)
        return fam

    # -- anchor families: the SIS side of the deliberate cases
    def anchors(self):
        A = {}
        A["garcia"] = self.add_family("García López", [("José", "Luis", "M", 3), ("Lucía", "Isabel", "F", 6)],
                                      [("Carlos", "García", "Father"), ("María", "López", "Mother")], "hispanic")
        A["obrien"] = self.add_family("O'Brien", [("Zoë", "Claire", "F", 1), ("Liam", "Patrick", "M", 4)],
                                      [("Siobhán", "O'Brien", "Mother"), ("Patrick", "O'Brien", "Father")], "anglo")
        A["smithjones"] = self.add_family("Smith-Jones", [("Ethan", "James", "M", 7), ("Ava", "Rose", "F", 10)],
                                          [("Rachel", "Smith", "Mother"), ("David", "Jones", "Father")], "anglo")
        A["anderson"] = self.add_family("Anderson", [("William", "Robert", "M", 2)],
                                        [("Laura", "Anderson", "Mother"), ("Mark", "Anderson", "Father")], "anglo")
        A["murphy"] = self.add_family("Murphy", [("Katherine", "Anne", "F", 5), ("Owen", "", "M", 9)],
                                      [("Colleen", "Murphy", "Mother"),
                                       ("Margaret", "Doyle", "~Grandmother")], "anglo")
        # the grandmother lives in Springfield, MA: a zip with a leading zero
        A["murphy"]["guardians"][1].update(Street="42 Sumner Ave", City="Springfield", State="MA", Zip="01108",
                                           Phone="413-555-0142")
        A["vang"] = self.add_family("Vang", [("Tou", "", "M", 1), ("Nou", "", "F", 4)],
                                    [("Chong", "Vang", "Father"), ("Mee", "Xiong", "Mother")], "hmong")
        A["hassan"] = self.add_family("Hassan", [("Hodan", "", "F", 4), ("Abdi", "", "M", 8)],
                                      [("Hassan", "Ali", "Father"), ("Fadumo", "Warsame", "Mother")], "somali")
        A["nguyen"] = self.add_family("Nguyen", [("Minh", "Van", "M", 9), ("Linh", "Thi", "F", 6)],
                                      [("Thanh", "Nguyen", "Father"), ("Huong", "Tran", "Mother")], "vietnamese")
        A["chen"] = self.add_family("Chen", [("Meiling", "", "F", 11)],
                                    [("Jun", "Chen", "Father"), ("Xiaoling", "Chen", "Mother")], "chinese")
        A["smith"] = self.add_family("Smith", [("Noah", "James", "M", 2), ("Emily", "Grace", "F", 6)],
                                     [("Jennifer", "Smith", "Mother"), ("Brian", "Smith", "Father")], "anglo")
        A["smith2"] = self.add_family("Smith", [("Logan", "Michael", "M", 9)],
                                      [("Heather", "Smith", "Mother")], "anglo")
        A["martinez"] = self.add_family("Martinez", [("Sara", "Elena", "F", 4)],
                                        [("Ana", "Martinez", "Mother")], "hispanic")
        A["ali"] = self.add_family("Ali", [("Mohamed", "", "M", 8), ("Ayaan", "", "F", 3)],
                                   [("Ali", "Osman", "Father"), ("Hamdi", "Jama", "Mother")], "somali")
        A["thao"] = self.add_family("Thao", [("Pa", "", "F", 3), ("Neng", "", "M", 7)],
                                    [("Chue", "Thao", "Father"), ("Zoua", "Lee", "Mother")], "hmong")
        A["haddad"] = self.add_family("Haddad", [("Omar", "Ahmad", "M", 10)],
                                      [("Khalid", "Haddad", "Father"), ("Rania", "Haddad", "Mother")], "arabic")
        A["johnson"] = self.add_family("Johnson", [("Emma", "Lynn", "F", 5)],
                                       [("Megan", "Johnson", "Mother")], "anglo")
        A["kowalski"] = self.add_family("Kowalski", [("Adam", "Piotr", "M", 4)],
                                        [("Anna", "Kowalski", "Mother"), ("Piotr", "Kowalski", "Father")], "anglo")
        A["patel"] = self.add_family("Patel", [("Aarav", "Raj", "M", 8), ("Diya", "", "F", 5)],
                                     [("Nikhil", "Patel", "Father"), ("Priya", "Patel", "Mother")], "south_asian")
        A["williams"] = self.add_family("Williams", [("Robert", "Lee", "M", 6), ("Grace", "Marie", "F", 3)],
                                        [("Karen", "Williams", "Mother"), ("James", "Williams", "Father")], "anglo")
        # the three pairs of twins in the SIS (both twins enrolled)
        d = self.dob_for_grade(2)
        A["twins1"] = self.add_family("Hernández", [("Mateo", "", "M", d), ("Santiago", "", "M", d)],
                                      [("Raúl", "Hernández", "Father"), ("Claudia", "Ruiz", "Mother")], "hispanic")
        d = self.dob_for_grade(6)
        A["twins2"] = self.add_family("Xiong", [("Kia", "", "F", d), ("Fue", "", "M", d)],
                                      [("Yia", "Xiong", "Father"), ("Houa", "Yang", "Mother")], "hmong")
        d = self.dob_for_grade(10)
        A["twins3"] = self.add_family("Brooks", [("Isaiah", "Marcus", "M", d), ("Imani", "Nicole", "F", d)],
                                      [("Tasha", "Brooks", "Mother")], "african_american")
        # one child twice in the SIS: a stale duplicate record (no state id, the old address, its own
        # copy of the mother as a contact) left over from an earlier enrollment
        A["reyes"] = self.add_family("Reyes", [("Daniela", "Sofía", "F", 7)],
                                     [("Yesenia", "Reyes", "Mother")], "hispanic")
        A["reyes_dup"] = self.add_family("Reyes", [("Daniela", "Sofía", "F", A["reyes"]["kids"][0]["dob"])],
                                         [("Yesenia", "Reyes", "Mother")], "hispanic", tag="duplicate")
        return A

    # -- filler families
    def filler(self, households, exclusive_last_keys):
        r = self.rng
        while len(self.families) < households:
            culture = r.weighted(CULTURE_WEIGHTS)
            C = CULTURES[culture]
            nkids = r.weighted([(1, 30), (2, 40), (3, 22), (4, 8)])
            guardians = []
            if culture == "hispanic" and r.chance(0.5):
                pool = C["accented"] if r.chance(0.5) else C["surnames"]
                p, m = r.sample(pool, 2)
                surname = "%s %s" % (p, m)
                father, mother = (r.choice(C["men"]), p), (r.choice(C["women"]), m)
            elif culture == "anglo" and r.chance(0.1):
                p, m = r.sample([s for s in C["surnames"] if "'" not in s], 2)
                surname = "%s-%s" % (p, m)
                father, mother = (r.choice(C["men"]), p), (r.choice(C["women"]), m)
            elif culture == "somali":
                surname = r.choice(C["surnames"])           # the father's given name
                father = (surname, r.choice(C["men"]))
                mother = (r.choice(C["women"]), r.choice([s for s in C["surnames"] if s != surname]))
            elif culture == "hmong":
                surname = r.choice(C["surnames"])
                father = (r.choice(C["men"]), surname)
                mother = (r.choice(C["women"]), r.choice([s for s in C["surnames"] if s != surname]))
            else:
                pool = C["accented"] + C["surnames"] if culture == "hispanic" else C["surnames"]
                surname = r.choice(pool)
                father, mother = (r.choice(C["men"]), surname), (r.choice(C["women"]), surname)
            if name_key(surname) in exclusive_last_keys:
                continue
            kind = r.weighted([("both", 42), ("mother", 34), ("father", 9), ("grandmother", 6),
                               ("guardian", 5), ("stepfather", 4)])
            if kind == "both":
                guardians = [(mother[0], mother[1], "Mother"), (father[0], father[1], "Father")]
                if r.chance(0.06):   # parents apart: the father lives elsewhere
                    guardians[1] = (father[0], father[1], "~Father")
            elif kind == "mother":
                guardians = [(mother[0], mother[1], "Mother")]
            elif kind == "father":
                guardians = [(father[0], father[1], "Father")]
            elif kind == "grandmother":
                guardians = [(r.choice(C["women"]), mother[1], "Grandmother")]
            elif kind == "guardian":
                guardians = [(r.choice(C["women"] + C["men"]), r.choice(C["surnames"]), "Guardian")]
            else:
                guardians = [(mother[0], mother[1], "Mother"),
                             (r.choice(CULTURES["anglo"]["men"]), r.choice(CULTURES["anglo"]["surnames"]),
                              "Stepfather")]
            # kids: distinct grades at least one year apart, distinct first names
            kids, firsts, dobs = [], [], []
            tries = 0
            while len(kids) < nkids and tries < 50:
                tries += 1
                g = r.randint(-1, 12)
                dob = self.dob_for_grade(g)
                if any(abs((dob - o).days) < 330 for o in dobs):
                    continue
                gender = r.choice("MF")
                first = r.choice(C["boys"] if gender == "M" else C["girls"])
                if first in firsts or first == father[0] or first == mother[0]:
                    continue
                mpool = C["mboys"] if gender == "M" else C["mgirls"]
                middle = r.choice(mpool) if mpool and r.chance(0.55) else ""
                kids.append((first, middle, gender, dob))
                firsts.append(first)
                dobs.append(dob)
            self.add_family(surname, kids, guardians, culture)

    def build_sis(self):
        A = self.anchors()
        exclusive = {name_key(s) for s in ["Thao", "Haddad", "Johnson", "Kowalski", "Patel", "Williams",
                                           "Anderson", "Murphy", "O'Brien", "García López", "Smith-Jones",
                                           "Chen", "Hernández", "Brooks", "Reyes"]}
        exclusive |= {name_key(s) for s in NEW_SURNAMES}
        self.filler(151, exclusive)       # 150 households and the stale duplicate record
        kids = [k for f in self.families for k in f["kids"]]
        numbers = self.rng.sample(range(100001, 110000), len(kids))
        states = set()
        for k, n in zip(kids, numbers):
            k["Student_Number"] = str(n)
            if k["grade"] == -1 and self.rng.chance(0.5):
                k["State_StudentNumber"] = ""        # pre-K children often have no state id yet
                continue
            while True:
                lead0 = self.rng.chance(0.2)
                s = ("0%09d" % self.rng.below(10**9)) if lead0 else str(self.rng.randint(10**9, 10**10 - 1))
                if s not in states:
                    break
            states.add(s)
            k["State_StudentNumber"] = s
        # the conflicting-state-id anchor gets a leading zero (and a transposition that stays unused)
        k = A["nguyen"]["kids"][0]
        if not k["State_StudentNumber"].startswith("0"):
            states.discard(k["State_StudentNumber"])
            s = "0" + k["State_StudentNumber"][1:]
            assert s not in states
            k["State_StudentNumber"] = s
            states.add(s)
        dup = A["reyes_dup"]["kids"][0]
        states.discard(dup["State_StudentNumber"])
        dup["State_StudentNumber"] = ""
        for k in kids:
            fam = k["family"]
            k.update(fam["home"])
            k["Home_Phone"] = fam["phone"]
            k["SchoolID"] = school_for(k["grade"])
            if k["grade"] >= 6:
                k["Email"] = self.email(k["First_Name"], k["Last_Name"] + k["Student_Number"][-2:],
                                        "students.demo-district.example")
            else:
                k["Email"] = ""
        self.anchor = A
        self.kids = kids
        return A

    def sis_rows(self):
        students = []
        for k in self.kids:
            students.append(dict(Student_Number=k["Student_Number"], State_StudentNumber=k["State_StudentNumber"],
                                 First_Name=k["First_Name"], Middle_Name=k["Middle_Name"],
                                 Last_Name=k["Last_Name"], DOB=mdy(k["dob"]), Gender=k["gender"],
                                 Grade_Level=str(k["grade"]), SchoolID=k["SchoolID"], Enroll_Status="0",
                                 Street=k["Street"], City=k["City"], State=k["State"], Zip=k["Zip"],
                                 Home_Phone=k["Home_Phone"], Email=k["Email"]))
        students.sort(key=lambda s: s["Student_Number"])
        contacts = []
        for f in self.families:
            for g in f["guardians"]:
                for k in f["kids"]:
                    row = {c: g[c] for c in CONTACT_COLS if c != "Student_Number"}
                    row["Student_Number"] = k["Student_Number"]
                    contacts.append(row)
        contacts.sort(key=lambda c: (c["Contact_ID"], c["Student_Number"]))
        return students, contacts


# Surnames of new families (never used by SIS filler families).
NEW_SURNAMES = ["Okafor", "Nakamura", "Fitzgerald", "Yilmaz", "Gurung", "Mensah", "Dubois", "Bianchi",
                "Ibrahim", "Santos Oliveira", "Kaur", "Novak", "Hashemi", "Tesfaye", "Delgado Ríos",
                "Schreiber", "Lindqvist", "Moreau", "Abubakar", "Castañeda", "Petrov", "Ferreira"]


# ----------------------------------------------------------------------------------------------
# Submissions.

class Submissions:
    def __init__(self, gen):
        self.g = gen
        self.rng = Rng(SEED + 1)
        self.subs = []
        self.used_sis = set()

    # -- formatting variations (what normalization must clean up)
    def fmt_gender(self, g, style=None):
        style = style or self.rng.weighted([("code", 70), ("word", 15), ("lower", 15)])
        word = {"M": "Male", "F": "Female"}[g]
        return {"code": g, "word": word, "lower": word.lower()}[style]

    def fmt_grade(self, grade, style=None):
        if grade == -1:
            return "PK"
        if grade == 0:
            return style if style in ("K", "KG", "Kindergarten") else self.rng.choice(["K", "K", "KG", "Kindergarten"])
        style = style or self.rng.weighted([("plain", 60), ("pad", 15), ("th", 25)])
        if style == "th" and grade < 4:
            style = "pad"
        return {"plain": str(grade), "pad": "%02d" % grade, "th": "%dth" % grade}[style]

    def fmt_school(self, number, style=None):
        style = style or self.rng.weighted([("number", 55), ("name", 30), ("alias", 15)])
        names = [b for b, n in BUILDING_MAP if n == number]
        return {"number": number, "name": names[0], "alias": names[1]}[style]

    def fmt_dob(self, d, iso=None):
        if iso is None:
            iso = self.rng.chance(0.15)
        return d.isoformat() if iso else mdy(d)

    def fmt_name(self, s, style=None):
        style = style or self.rng.weighted([("asis", 86), ("caps", 8), ("spaces", 6)])
        if style == "caps":
            return s.upper()
        if style == "spaces":
            return " %s  " % s.replace(" ", "  ")
        return s

    def sis_name_style(self):
        # names of SIS children only get white space that trimming removes; capitals are kept for the
        # deliberate cases, so that a matched record's differences are the ones the case is about
        return self.rng.weighted([("asis", 90), ("spaces", 10)])

    def approved(self):
        day = self.rng.randint(16, 20)
        h, m = self.rng.randint(8, 16), self.rng.randint(0, 59)
        if self.rng.chance(0.12):
            return "2026-11-%02dT%02d:%02d:00-06:00" % (day, h, m)
        return "2026-11-%02d %02d:%02d" % (day, h, m)

    # -- building blocks
    def from_sis(self, kid, state=True, grade=None, **over):
        """A submission student for an SIS child, lightly reformatted."""
        assert kid["Student_Number"] not in self.used_sis, kid["Student_Number"]
        self.used_sis.add(kid["Student_Number"])
        grade = kid["grade"] if grade is None else grade
        st = dict(State_StudentNumber=kid["State_StudentNumber"] if state else "",
                  First_Name=self.fmt_name(kid["First_Name"], self.sis_name_style()),
                  Middle_Name=kid["Middle_Name"],
                  Last_Name=self.fmt_name(kid["Last_Name"], self.sis_name_style()), DOB=self.fmt_dob(kid["dob"]),
                  Gender=self.fmt_gender(kid["gender"]), Grade_Level=self.fmt_grade(grade),
                  School=self.fmt_school(school_for(grade)), Street=kid["Street"], City=kid["City"],
                  State=kid["State"], Zip=kid["Zip"], Home_Phone=kid["Home_Phone"], Email=kid["Email"])
        st.update(over)
        return st

    def new_student(self, first, middle, last, gender, grade_or_dob, home, phone, state="", **over):
        dob = grade_or_dob if isinstance(grade_or_dob, dt.date) else self.g.dob_for_grade(grade_or_dob)
        grade = grade_for(dob)
        st = dict(State_StudentNumber=state, First_Name=self.fmt_name(first), Middle_Name=middle,
                  Last_Name=self.fmt_name(last), DOB=self.fmt_dob(dob), Gender=self.fmt_gender(gender),
                  Grade_Level=self.fmt_grade(grade), School=self.fmt_school(school_for(grade)),
                  Street=home["Street"], City=home["City"], State=home["State"], Zip=home["Zip"],
                  Home_Phone=phone, Email="")
        st.update(over)
        return st

    def sis_contacts(self, fam, **over):
        out = []
        for g in fam["guardians"]:
            c = {f: g[f] for f in SUB_CONTACT_FIELDS}
            c.update(over)
            out.append(c)
        return out

    def new_contacts(self, people, home):
        out = []
        for first, last, rel in people:
            out.append(dict(First_Name=first, Last_Name=last, Relationship=rel, Phone=self.g.phone(),
                            Email=self.g.email(first, last), **home))
        return out

    def documents(self, sid, form, n_students=1, extra=None):
        docs = []
        if form == FORM_NEW:
            for i in range(n_students):
                suffix = "" if n_students == 1 else "-%d" % (i + 1)
                docs.append(("Birth Certificate", "birth-certificate%s.pdf" % suffix))
                docs.append(("Immunization Record", "immunization-record%s.pdf" % suffix))
            docs.append(("Proof of Residency", self.rng.choice(["lease.pdf", "utility-bill.jpg", "mortgage-statement.pdf"])))
        elif self.rng.chance(0.5):
            docs.append(("Proof of Residency", self.rng.choice(["utility-bill.pdf", "lease.pdf", "water-bill.jpg"])))
        docs += extra or []
        return [dict(Doc_Type=t, File_Name=f, SHA256=hashlib.sha256(document_bytes(sid, t, f)).hexdigest())
                for t, f in docs]

    def add(self, case, form, students, contacts, expect, why, docs_extra=None):
        """expect: per student (match, SIS Student_Number of the intended child or None)."""
        sid = "S-%s-%04d" % ("2026", len(self.subs) + 1)
        assert len(expect) == len(students) and len(why) == len(students)
        self.subs.append(dict(id=sid, case=case, form=form, approved=self.approved(), students=students,
                              contacts=[dict(seq=i + 1, **c) for i, c in enumerate(contacts)],
                              documents=self.documents(sid, form, len(students), docs_extra),
                              expect=expect, why=why))

    # -- the cases
    def build(self):
        g, A, r = self.g, self.g.anchor, self.rng
        anchored = {id(f) for f in A.values()}
        filler_kids = [k for f in g.families if id(f) not in anchored for k in f["kids"]]

        def pick(pred, prefer=None):
            pool = [k for k in filler_kids if k["Student_Number"] not in self.used_sis
                    and k["Student_Number"] not in reserved and pred(k)]
            if prefer:
                preferred = [k for k in pool if prefer(k)]
                pool = preferred or pool
            kid = r.choice(pool)
            reserved.update(x["Student_Number"] for x in kid["family"]["kids"])  # one child per family
            return kid
        reserved = set()

        def kid(tag, i=0):
            return A[tag]["kids"][i]

        # ---- returning students, state id given, grade moved up a year, nothing else changed
        for i in range(10):
            k = pick(lambda k: k["grade"] not in (5, 8, 12) and k["State_StudentNumber"] != "",
                     prefer=(lambda k: k["State_StudentNumber"].startswith("0")) if i == 0 else None)
            self.add("returning-grade-advanced", FORM_RETURNING, [self.from_sis(k, grade=k["grade"] + 1)],
                     self.sis_contacts(k["family"]), [("matched", k["Student_Number"])],
                     ["The state id is this child's; the only change is the grade, one year up."])

        # ---- moved: new street, city, zip and phone (the guardians moved with the child)
        for i in range(3):
            k = pick(lambda k: k["State_StudentNumber"] != "" and k["City"] == CITY and
                     all(c["Street"] == k["Street"] for c in k["family"]["guardians"]))
            town = MOVE_TOWNS[i]
            if town[1] == k["Zip"]:
                town = MOVE_TOWNS[(i + 1) % len(MOVE_TOWNS)]
            home = g.address(town)
            phone = g.phone()
            st = self.from_sis(k, **home, Home_Phone=phone)
            self.add("returning-moved", FORM_RETURNING, [st], self.sis_contacts(k["family"], **home),
                     [("matched", k["Student_Number"])],
                     ["Matched by state id; the update carries the new address and Home_Phone (Zip only where it changed)."],
                     docs_extra=[("Proof of Residency", "lease & utility bill.pdf")] if i == 0 else None)

        # ---- a guardian's phone and e-mail changed
        k = pick(lambda k: k["State_StudentNumber"] != "" and len(k["family"]["guardians"]) == 2)
        cs = self.sis_contacts(k["family"])
        cs[0]["Phone"] = g.phone()
        cs[0]["Email"] = g.email(cs[0]["First_Name"], cs[0]["Last_Name"] + "2026", "example.org")
        self.add("returning-contact-update", FORM_RETURNING, [self.from_sis(k)], cs,
                 [("matched", k["Student_Number"])],
                 ["Matched by state id; only a guardian's phone and e-mail changed."])

        # ---- no state id, same names and birth date (formatting differs) -> rule 2
        variants = [
            ("caps", dict(iso=False), "names in capitals"),
            ("spaces", dict(iso=False), "extra spaces around and inside the names"),
            ("asis", dict(iso=True, gender="word"), "an ISO birth date and Male/Female spelled out"),
            ("caps", dict(iso=True, gender="lower"), "capitals, an ISO birth date and a lower-case gender"),
        ]
        for style, opt, what in variants:
            k = pick(lambda k: True, prefer=(lambda k: " " in k["Last_Name"] or "-" in k["Last_Name"])
                     if style == "spaces" else None)
            st = self.from_sis(k, state=False, First_Name=self.fmt_name(k["First_Name"], style),
                               Last_Name=self.fmt_name(k["Last_Name"], style), DOB=self.fmt_dob(k["dob"], opt["iso"]))
            if "gender" in opt:
                st["Gender"] = self.fmt_gender(k["gender"], opt["gender"])
            self.add("returning-no-state-id", FORM_RETURNING, [st], self.sis_contacts(k["family"]),
                     [("matched", k["Student_Number"])],
                     ["No state id; the same names and birth date as one SIS child, written differently (%s): the same child." % what])
        k = kid("twins3", 1)
        self.add("returning-twin-no-state-id", FORM_RETURNING,
                 [self.from_sis(k, state=False, DOB=k["dob"].isoformat())], self.sis_contacts(k["family"]),
                 [("matched", k["Student_Number"])],
                 ["No state id; her own first name tells this twin from her brother (same birth date and home): she is matched, never him."])

        # ---- accents, apostrophes and hyphens that the key ignores
        k = kid("garcia")
        self.add("returning-accent-dropped", FORM_RETURNING,
                 [self.from_sis(k, state=False, First_Name="Jose", Last_Name="Garcia Lopez")],
                 self.sis_contacts(k["family"]), [("matched", k["Student_Number"])],
                 ["No state id; Jose Garcia Lopez is the SIS José García López without accents, same birth date: the same child."])
        k = kid("obrien")
        self.add("returning-apostrophe", FORM_RETURNING,
                 [self.from_sis(k, state=False, First_Name="ZOE", Last_Name="O\u2019BRIEN")],
                 self.sis_contacts(k["family"]), [("matched", k["Student_Number"])],
                 ["No state id; ZOE O\u2019BRIEN (typographic apostrophe, no diaeresis) is the SIS Zoë O'Brien with the same birth date: the same child."])
        k = kid("smithjones")
        self.add("returning-hyphen-dropped", FORM_RETURNING,
                 [self.from_sis(k, state=False, Last_Name="Smith Jones")],
                 self.sis_contacts(k["family"]), [("matched", k["Student_Number"])],
                 ["No state id; Smith Jones is the SIS Smith-Jones without the hyphen, same first name and birth date: the same child."])

        # ---- two siblings in one returning submission, both matched by state id
        fam = A["patel"]
        self.add("returning-siblings", FORM_RETURNING, [self.from_sis(x) for x in fam["kids"]],
                 self.sis_contacts(fam), [("matched", x["Student_Number"]) for x in fam["kids"]],
                 ["First of two siblings in one submission; matched by state id.",
                  "Second of two siblings in one submission; matched by state id."])

        # ---- nicknames: no state id, same last name, birth date and home -> the same child
        k = kid("anderson")
        self.add("returning-nickname", FORM_RETURNING,
                 [self.from_sis(k, state=False, First_Name="Bill", Middle_Name="")],
                 self.sis_contacts(k["family"]), [("matched", k["Student_Number"])],
                 ["Bill is a nickname of the SIS William, with the same last name, birth date, home and guardians: the same child; the First_Name update waits for a person."])
        k = kid("murphy")
        self.add("returning-nickname", FORM_RETURNING,
                 [self.from_sis(k, state=False, First_Name="Katie", Middle_Name="")],
                 self.sis_contacts(k["family"]), [("matched", k["Student_Number"])],
                 ["Katie is a nickname of the SIS Katherine, with the same last name, birth date, home and guardians: the same child; the First_Name update waits for a person."])

        # ---- siblings in one submission, one of them by nickname: both are the SIS children
        fam = A["williams"]
        bob, grace = fam["kids"]
        self.add("returning-siblings-one-nickname", FORM_RETURNING,
                 [self.from_sis(bob, state=False, First_Name="Bobby", Middle_Name=""), self.from_sis(grace)],
                 self.sis_contacts(fam), [("matched", bob["Student_Number"]), ("matched", grace["Student_Number"])],
                 ["Bobby is the SIS Robert by nickname (no state id; same last name, birth date, home and guardians): the same child.",
                  "Matched by state id; her brother on the same form is the SIS Robert, so the whole submission is held with his First_Name update."])

        # ---- the SIS holds the child twice: more than one SIS student with the same names and birth date
        k, dup = kid("reyes"), kid("reyes_dup")
        self.used_sis.add(dup["Student_Number"])
        self.add("returning-sis-duplicate", FORM_RETURNING, [self.from_sis(k, state=False)],
                 self.sis_contacts(k["family"]), [("matched", k["Student_Number"])],
                 ["No state id; the SIS holds this child twice: the submission's home, phone and e-mail are those of the record with the state id, not of the stale duplicate (no state id, an old address): matched to that record, never the duplicate."])

        # ---- conflicting state ids: names and birth date equal, the state id differs -> a person decides
        all_states = {x["State_StudentNumber"] for x in g.kids}
        for tag in ("nguyen", "chen"):
            k = kid(tag)
            s = k["State_StudentNumber"]
            for i in range(len(s) - 1):
                if s[i] != s[i + 1]:
                    typo = s[:i] + s[i + 1] + s[i] + s[i + 2:]
                    if typo not in all_states:
                        break
            assert typo not in all_states and typo != s
            self.add("returning-conflicting-state-id", FORM_RETURNING,
                     [self.from_sis(k, State_StudentNumber=typo)], self.sis_contacts(k["family"]),
                     [("potential", k["Student_Number"])],
                     ["Genuinely ambiguous: names and birth date are those of this SIS child but the given state id (two digits swapped) differs from hers; conflicting state ids never match automatically, a person should choose Match."
                      if k["gender"] == "F" else
                      "Genuinely ambiguous: names and birth date are those of this SIS child but the given state id (two digits swapped) differs from his; conflicting state ids never match automatically, a person should choose Match."])

        # ---- returning submissions that fail normalization
        k = pick(lambda k: k["grade"] == 4)
        self.add("rejected-impossible-date", FORM_RETURNING, [self.from_sis(k, DOB="02/30/2016")],
                 self.sis_contacts(k["family"]), [("rejected", None)],
                 ["The birth date 02/30/2016 does not exist."])
        k = pick(lambda k: True)
        self.add("rejected-missing-last-name", FORM_RETURNING, [self.from_sis(k, Last_Name="")],
                 self.sis_contacts(k["family"]), [("rejected", None)],
                 ["Last_Name is empty and it is required."])

        # ---- new students: names the SIS does not have
        def new_family(surname, people):
            home = g.address()
            phone = g.phone()
            return home, phone, self.new_contacts([(f, l or surname, rel) for f, l, rel in people], home)

        kinder = [("Amara", "Chiamaka", "Okafor", "F", "K", [("Ngozi", "", "Mother"), ("Emeka", "", "Father")]),
                  ("Kenji", "", "Nakamura", "M", "KG", [("Yuki", "", "Mother"), ("Hiroshi", "", "Father")]),
                  ("Aoife", "Grace", "Fitzgerald", "F", "Kindergarten", [("Sinéad", "", "Mother")]),
                  ("Emir", "", "Yilmaz", "M", "K", [("Elif", "", "Mother"), ("Mehmet", "", "Father")]),
                  ("Sabina", "", "Gurung", "F", "KG", [("Sita", "", "Mother"), ("Bikash", "", "Father")]),
                  ("Kwame", "Kofi", "Mensah", "M", "K", [("Akosua", "", "Mother"), ("Yaw", "", "Father")])]
        for first, middle, last, gen_, gl, people in kinder:
            home, phone, cs = new_family(last, people)
            self.add("new-kindergartner", FORM_NEW,
                     [self.new_student(first, middle, last, gen_, 0, home, phone, Grade_Level=gl)], cs,
                     [("new", None)], ["A kindergartner no SIS record describes (a last name the SIS does not have): a new student."])
        home, phone, cs = new_family("Dubois", [("Camille", "", "Mother"), ("Julien", "", "Father")])
        self.add("new-prek", FORM_NEW, [self.new_student("Chloé", "", "Dubois", "F", -1, home, phone)], cs,
                 [("new", None)], ["A pre-kindergartner (grade PK) no SIS record describes: a new student."])
        home, phone, cs = new_family("Bianchi", [("Giulia", "", "Mother"), ("Marco", "", "Father")])
        self.add("new-building-alias", FORM_NEW,
                 [self.new_student("Luca", "", "Bianchi", "M", 0, home, phone, School="Lincoln Elem")], cs,
                 [("new", None)], ["A kindergartner whose school is given as the Raptor building name Lincoln Elem (mapped to 0101)."])

        move_ins = [("Yusra", "", "Ibrahim", "F", 7, "", dict(School="Roosevelt MS", Grade_Level="07"),
                     [("Halima", "Ibrahim", "Mother")]),
                    ("Mateus", "", "Santos Oliveira", "M", 10, "2093318475", dict(Grade_Level="10th"),
                     [("Fernanda", "Santos", "Mother"), ("Paulo", "Oliveira", "Father")]),
                    ("Jasleen", "", "Kaur", "F", 3, "", dict(Grade_Level="3"),
                     [("Harpreet", "Kaur", "Mother"), ("Gurpreet", "Singh", "Father")]),
                    ("Nikola", "", "Novak", "M", 11, "0715562093", dict(Grade_Level="11th", School="Jefferson HS"),
                     [("Ivana", "Novak", "Mother")]),
                    ("Lars", "Erik", "Lindqvist", "M", 5, "", dict(Grade_Level="05"),
                     [("Karin", "Lindqvist", "Mother"), ("Johan", "Lindqvist", "Father")])]
        for first, middle, last, gen_, grade, state, over, people in move_ins:
            assert not state or state not in all_states
            home, phone, cs = new_family(last, [(f, l, rel) for f, l, rel in people])
            self.add("new-move-in", FORM_NEW,
                     [self.new_student(first, middle, last, gen_, grade, home, phone, state=state, **over)], cs,
                     [("new", None)],
                     ["A move-in from another Illinois district: the state id is not in the SIS and no SIS record describes the child; a new student."
                      if state else "A move-in no SIS record describes: a new student."])
        # one new family, two children on two separate forms in the same batch: same guardians twice
        home, phone, cs = new_family("Hashemi", [("Maryam", "", "Mother"), ("Reza", "", "Father")])
        first_form = None
        for first, gen_, grade in (("Darius", "M", 5), ("Shirin", "F", 8)):
            self.add("new-sibling-separate-form", FORM_NEW,
                     [self.new_student(first, "", "Hashemi", gen_, grade, home, phone)], [dict(c) for c in cs],
                     [("new", None)],
                     ["A new family's child on a form of its own: a new student; the two guardians (also on the sibling's form) are created here, once."
                      if first_form is None else
                      "The sibling's form of %s: a new student; the same two guardians are not created again, the child is linked to the contacts %s creates." % (first_form, first_form)])
            first_form = first_form or self.subs[-1]["id"]

        # ---- two new siblings in one submission, the two guardians listed once
        home, phone, cs = new_family("Tesfaye", [("Hirut", "Bekele", "Mother"), ("Yonas", "", "Father")])
        self.add("new-siblings", FORM_NEW,
                 [self.new_student("Dawit", "", "Tesfaye", "M", 2, home, phone),
                  self.new_student("Selam", "", "Tesfaye", "F", 6, home, phone)], cs,
                 [("new", None), ("new", None)],
                 ["First of two new siblings in one submission sharing two guardians.",
                  "Second of two new siblings in one submission sharing the same two guardians."])
        home, phone, cs = new_family("Delgado Ríos", [("Adriana", "Ríos", "Mother"), ("Tomás", "Delgado", "Father")])
        self.add("new-siblings", FORM_NEW,
                 [self.new_student("Valentina", "", "Delgado Ríos", "F", 0, home, phone, Grade_Level="KG"),
                  self.new_student("Santiago", "", "Delgado Ríos", "M", 3, home, phone, Grade_Level="03")], cs,
                 [("new", None), ("new", None)],
                 ["First of two new siblings in one submission sharing two guardians.",
                  "Second of two new siblings in one submission sharing the same two guardians."])

        # ---- a younger sibling of an SIS student: same home and guardians, different name and birth date
        for tag, first, middle, gen_, grade in (("thao", "Mai Nou", "", "F", 0), ("haddad", "Layla", "Noor", "F", 1),
                                                ("johnson", "Noah", "Thomas", "M", 0)):
            fam = A[tag]
            st = self.new_student(first, middle, fam["surname"], gen_, grade, fam["home"], fam["phone"])
            self.add("new-sibling-of-sis", FORM_NEW, [st], self.sis_contacts(fam), [("new", None)],
                     ["A new sibling of an SIS student (same home and guardians, another name and birth date): a new student, never matched to the sibling; the guardians are the SIS contacts, linked to the new child."])
        fam = A["kowalski"]
        st = self.new_student("Alex", "", "Kowalski", "M", 0, fam["home"], fam["phone"])
        self.add("new-sibling-same-initial", FORM_NEW, [st], self.sis_contacts(fam),
                 [("new", None)],
                 ["A new brother of the SIS Adam Kowalski (same first initial, last name, gender and home, another birth date): another child, a new student, never matched to Adam."])

        # ---- the twin the SIS does not have
        for tag, first in (("vang", "Kou"), ("hassan", "Hibo")):
            fam = A[tag]
            twin = fam["kids"][0]
            st = self.new_student(first, "", fam["surname"], twin["gender"], twin["dob"], fam["home"], fam["phone"])
            self.add("new-twin-of-sis", FORM_NEW, [st], self.sis_contacts(fam), [("new", None)],
                     ["The twin of an SIS student (same last name, birth date and home, another first name): another child, a new student, never matched to the twin."])

        # ---- hard negatives: another family's child with a common name
        noah = kid("smith")
        home, phone, cs = new_family("Smith", [("Ashley", "", "Mother"), ("Tyler", "", "Father")])
        self.add("new-hard-negative", FORM_NEW, [self.new_student("Liam", "", "Smith", "M", noah["dob"], home, phone)],
                 cs, [("new", None)],
                 ["Another family's Liam Smith, born the same day as the SIS Noah Smith and sharing first initial and gender with the SIS Logan Smith of a third family; nothing links the families: a new student."])
        sara = kid("martinez")
        home, phone, cs = new_family("Martinez", [("Lucía", "", "Mother"), ("Jorge", "", "Father")])
        self.add("new-hard-negative", FORM_NEW, [self.new_student("Sofía", "", "Martinez", "F", 1, home, phone)],
                 cs, [("new", None)],
                 ["Sofía Martinez shares first initial, last name and gender with the SIS Sara Martinez of another family (another name, birth date and home): a new student."])
        mo = kid("ali")
        home, phone, cs = new_family("Ali", [("Ali", "Farah", "Father"), ("Sahra", "Mohamud", "Mother")])
        self.add("new-hard-negative", FORM_NEW, [self.new_student("Mohamed", "", "Ali", "M", 2, home, phone)],
                 cs, [("new", None)],
                 ["A second-grader Mohamed Ali from another family shares the full name of the SIS eighth-grader (another birth date and home): a new student."])

        # ---- new-form submissions that fail normalization
        bad = [("rejected-missing-dob", "Ilse", "Schreiber", "F", 2, dict(DOB=""), None,
                "DOB is empty and it is required."),
               ("rejected-missing-gender", "Nicolas", "Moreau", "M", 4, dict(Gender=" "), None,
                "Gender is blank and it is required."),
               ("rejected-impossible-date", "Zainab", "Abubakar", "F", 5, dict(DOB="13/05/2015"), None,
                "The birth date 13/05/2015 has no month 13."),
               ("rejected-unknown-school", "Diego", "Castañeda", "M", 3, dict(School="Washington Elementary"), None,
                "Washington Elementary is neither an SIS school number nor a building_map name."),
               ("rejected-unknown-school", "Viktor", "Petrov", "M", 9, dict(School="0404"), None,
                "0404 is neither an SIS school number nor a building_map name."),
               ("rejected-contact-missing-relationship", "Beatriz", "Ferreira", "F", 1, {}, "Relationship",
                "The second contact has no Relationship, which contacts require.")]
        for case, first, last, gen_, grade, over, contact_blank, why in bad:
            home, phone, cs = new_family(last, [("Helena" if gen_ == "F" else "Marie", "", "Mother"),
                                                ("Rui" if gen_ == "F" else "Pierre", "", "Father")])
            if contact_blank:
                cs[1][contact_blank] = ""
            self.add(case, FORM_NEW, [self.new_student(first, "", last, gen_, grade, home, phone, **over)], cs,
                     [("rejected", None)], [why])


# ----------------------------------------------------------------------------------------------
# What must happen: each case's expectation, checked against normalization and the SIS (no matcher here).

def normalize(sub):
    """Returns (students, error). Each student: dict with keys first/last key, dob, gender, grade, school, state."""
    out = []
    for st in sub["students"]:
        for f in ("First_Name", "Last_Name", "DOB", "Gender", "Grade_Level", "School"):
            if not st[f].strip():
                return None, "missing %s" % f
        dob = parse_date(st["DOB"])
        if dob is None:
            return None, "impossible date %s" % st["DOB"]
        gender = parse_gender(st["Gender"])
        grade = parse_grade(st["Grade_Level"])
        school = parse_school(st["School"])
        if gender is None or grade is None:
            return None, "bad gender or grade"
        if school is None:
            return None, "unknown school %s" % st["School"]
        out.append(dict(fk=name_key(st["First_Name"]), lk=name_key(st["Last_Name"]), dob=dob, gender=gender,
                        grade=grade, school=school, state=st["State_StudentNumber"].strip()))
    for c in sub["contacts"]:
        for f in ("First_Name", "Last_Name", "Relationship"):
            if not c[f].strip():
                return None, "contact %d missing %s" % (c["seq"], f)
    return out, None


def outcomes(subs, sis_students):
    """The table rows: what must happen to each submission student, as its case declares it.

    No matcher is re-implemented here: a returning child must be matched to the SIS record it was
    made from (or, where genuinely ambiguous, go to a person with that record among the candidates),
    a new child must never be matched. What is checked here is only what needs no matcher: the
    rejected cases fail normalization and the others pass, every expected SIS id exists, and a
    new child's names and birth date are not an SIS child's."""
    by_sn = {x["Student_Number"]: x for x in sis_students}
    rows = []
    for sub in subs:
        norm, err = normalize(sub)
        kinds = [want for want, _ in sub["expect"]]
        assert (err is not None) == ("rejected" in kinds), (sub["id"], sub["case"], err)
        if err is None:
            for s, (want, want_sn) in zip(norm, sub["expect"]):
                if want == "new":
                    assert want_sn is None and not any(
                        name_key(x["First_Name"]) == s["fk"] and name_key(x["Last_Name"]) == s["lk"]
                        and parse_date(x["DOB"]) == s["dob"] for x in sis_students), (sub["id"], s)
                else:
                    assert want in ("matched", "potential") and want_sn in by_sn, (sub["id"], want_sn)
        # A returning child whose form spells a name differently from the SIS (a nickname, dropped accents,
        # a hyphen) is the same child, but the update would overwrite the SIS's identity data: the shipped
        # `updates:` policy holds it until a person accepts the form's value or keeps the SIS value.
        delivery = ("error" if "rejected" in kinds else "held" if "potential" in kinds or sub["case"] in IDENTITY_UPDATE
                    else "delivered")
        for i, ((want, want_sn), why) in enumerate(zip(sub["expect"], sub["why"])):
            rows.append(dict(sub=sub["id"], pos=i + 1, case=sub["case"], match=want, ids=want_sn or "",
                             delivery=delivery, why=why, form=sub["form"]))
    return rows


# ----------------------------------------------------------------------------------------------
# Writers.

def csv_text(cols, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(cols)
    for r in rows:
        w.writerow([r[c] for c in cols])
    return buf.getvalue()


def esc(s, attr=False):
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace('"', "&quot;") if attr else s


def submissions_xml(subs):
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<submissions>"]
    for sub in subs:
        out.append('  <submission id="%s" form="%s" approved="%s">'
                   % (esc(sub["id"], True), esc(sub["form"], True), esc(sub["approved"], True)))
        for st in sub["students"]:
            inner = "".join("<%s/>" % f if st[f] == "" else "<%s>%s</%s>" % (f, esc(st[f]), f)
                            for f in SUB_STUDENT_FIELDS)
            out.append("    <student>%s</student>" % inner)
        for c in sub["contacts"]:
            inner = "".join("<%s/>" % f if c[f] == "" else "<%s>%s</%s>" % (f, esc(c[f]), f)
                            for f in SUB_CONTACT_FIELDS)
            out.append('    <contact seq="%d">%s</contact>' % (c["seq"], inner))
        for d in sub["documents"]:
            out.append('    <document type="%s" file="%s" sha256="%s"/>'
                       % (esc(d["Doc_Type"], True), esc(d["File_Name"], True), d["SHA256"]))
        out.append("  </submission>")
    out.append("</submissions>")
    return "\n".join(out) + "\n"


def plugin_xml():
    fields = [("Students", f, "ViewOnly" if f == "Student_Number" else "FullAccess")
              for f in STUDENT_COLS]
    fields += [("Contacts", f, "ViewOnly" if f in ("Contact_ID", "Student_Number") else "FullAccess")
               for f in CONTACT_COLS]
    fields += [("Schools", f, "ViewOnly") for f in ("School_Number", "Name", "Low_Grade", "High_Grade")]
    fields += [("Attendance_Code", f, "ViewOnly") for f in ("Att_Code", "Description", "SchoolID", "Presence_Status_CD")]
    fields += [("Attendance", f, "FullAccess")
               for f in ("Student_Number", "SchoolID", "Att_Date", "Att_Code", "Att_Time", "Att_Comment")]
    name = "sisdrop Enrollment Delivery"
    assert len(name) <= 40
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<plugin xmlns="http://plugin.powerschool.pearson.com" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://plugin.powerschool.pearson.com plugin.xsd" '
           'name="%s" version="1.0.0" description="File-based enrollment delivery for the demo district">' % name,
           '  <publisher name="Demo District Data Office"><contact email="data-office@demo-district.example"/></publisher>',
           "  <access_request>"]
    out += ['    <field table="%s" field="%s" access="%s"/>' % f for f in fields]
    out += ["  </access_request>", "</plugin>"]
    return "\n".join(out) + "\n", len(fields)


def tardies(gen):
    r = Rng(SEED + 2)
    kids = sorted((k for k in gen.kids if k["family"]["tag"] != "duplicate"), key=lambda k: k["Student_Number"])
    sns = {k["Student_Number"] for k in kids}
    reasons = [t for t, _, active in TARDY_CODES if active == "Yes"]
    rows, expect = [], []
    chosen = r.sample(kids, 20)
    for i, k in enumerate(chosen):
        names = [b for b, n in BUILDING_MAP if n == k["SchoolID"]]
        building, sn, reason = r.choice(names), k["Student_Number"], r.choice(reasons)
        problem = None
        if i == 3:
            building, problem = "District Office", "unknown building"
        elif i == 7:
            reason, problem = "Weather Delay", "unmapped reason"
        elif i == 11:
            reason, problem = "Car Trouble", "inactive reason"
        elif i == 15:
            sn = "199999"
            assert sn not in sns
            problem = "unknown student"
        day = 16 + r.below(5)
        t = "2026-11-%02d %02d:%02d:%02d" % (day, 8, r.randint(1, 55), r.randint(0, 59))
        rows.append(dict(Building=building, Student_Number=sn, Occurred_At=t, Reason=reason))
        expect.append((t, sn, building, reason, problem))
    rows.sort(key=lambda x: (x["Occurred_At"], x["Student_Number"]))
    expect.sort()
    return rows, expect


def expected_md(rows, subs, students, households, tardy_rows, tardy_expect):
    n_students = len(rows)
    para = (
        "The demo district is Springfield, IL (district zone America/Chicago), school year 2026-27, with three "
        "schools: 0101 Lincoln Elementary (PK-5), 0202 Roosevelt Middle School (6-8) and 0303 Jefferson High "
        "School (9-12). The SIS export in `sis/` holds %d student records in %d households (one child has a "
        "stale duplicate record); `enrollment-csv/` and "
        "`enrollment-xml/` hold the same %d approved submissions carrying %d students, on two forms (%s, %s). "
        "Everything here is written by `scripts/make-demo-district.py`, and this table is computed by that "
        "script from the generated data, not written by hand. "
        "This table says what must happen to each submission student and why, whatever the matcher: it comes "
        "from what each case is, not from a matching rule. A submission that fails normalization (a missing "
        "First_Name, Last_Name, DOB, Gender, Grade_Level or School; an impossible date; a school that is neither "
        "an SIS school number nor a building_map.csv name; a contact without First_Name, Last_Name or "
        "Relationship) is `rejected` before matching. A returning child (`returning-*`) is `matched` to the SIS "
        "record it was made from, whatever the formatting, accents, hyphens, nickname or new address; only a "
        "genuinely ambiguous one (a state id that conflicts with the SIS record's) is `potential`: it goes to "
        "a person with that record among the candidates. A new child (`new-*`) is `new`, never matched, "
        "including the twins, siblings and namesakes of SIS children. A submission is `delivered` when all its "
        "students are matched or new, `held` (stays pending until a person answers) when any is potential or when "
        "a matched child's update would change a name (a nickname, dropped accents or hyphen: the default "
        "`updates:` policy sends identity fields to a person, who accepts the form's value or keeps the SIS's), "
        "and `error` (stays pending, listed in errors.csv) when rejected. Student is the 1-based position of the "
        "student within the submission; SIS id is the Student_Number the child must be matched to, or for a "
        "potential match the one that must be among the candidates. The trusted matcher (`fellegi-sunter`, the "
        "default) is tested against this table row by row; the placeholder matcher (still selectable) is not "
        "held to it."
        % (len(students), households, len(subs), n_students, FORM_RETURNING, FORM_NEW))
    out = ["# Demo district: expected outcomes", "", para, "",
           "| Submission | Student | Case | Match | SIS id | Delivery | Why |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["sub"], str(r["pos"]), r["case"], r["match"], r["ids"], r["delivery"], r["why"]]
        assert not any("|" in c or "\n" in c for c in cells), cells
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "## Totals", "", "Students by match:", ""]
    for m in ("matched", "potential", "new", "rejected"):
        out.append("- %s: %d" % (m, sum(r["match"] == m for r in rows)))
    out += ["- total: %d" % n_students, "", "Submissions by delivery (students in them):", ""]
    by_sub = {}
    for r in rows:
        by_sub.setdefault(r["sub"], []).append(r)
    for d in ("delivered", "held", "error"):
        ss = [s for s, rs in by_sub.items() if rs[0]["delivery"] == d]
        out.append("- %s: %d (%d)" % (d, len(ss), sum(len(by_sub[s]) for s in ss)))
    out += ["- total: %d (%d)" % (len(by_sub), n_students), "", "Submissions by form (students in them):", ""]
    for form in (FORM_RETURNING, FORM_NEW):
        ss = [s for s in subs if s["form"] == form]
        out.append("- %s: %d (%d)" % (form, len(ss), sum(len(s["students"]) for s in ss)))
    ok = [e for e in tardy_expect if e[4] is None]
    out += ["", "## Raptor tardies", "",
            "`raptor/tardies.csv` has %d tardies. %d map to an SIS attendance record (Att_Code from "
            "tardy_codes.csv, SchoolID from building_map.csv); these %d are reported and not delivered:"
            % (len(tardy_rows), len(ok), len(tardy_expect) - len(ok)), ""]
    for t, sn, building, reason, problem in tardy_expect:
        if problem:
            out.append("- %s, student %s, %s, %s: %s" % (t, sn, building, reason, problem))
    return "\n".join(out) + "\n"


def households(gen):
    return sum(f["tag"] != "duplicate" for f in gen.families)


def document_bytes(sid, doc_type, file_name):
    """The demo's stand-in for an uploaded document: a few bytes whose SHA-256 the export lists."""
    return ("sisdrop demo document|%s|%s|%s" % (sid, doc_type, file_name)).encode()


def write_documents(out, subs, summary):
    """The uploaded files beside each enrollment export: documents/<Submission_ID>/<File_Name>."""
    for folder in ("enrollment-csv", "enrollment-xml"):
        n = 0
        for sub in subs:
            for d in sub["documents"]:
                path = out / folder / "documents" / sub["id"] / d["File_Name"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(document_bytes(sub["id"], d["Doc_Type"], d["File_Name"]))
                n += 1
        summary.append((folder + "/documents/", n))


def write(out, rel, text, summary, rows=None):
    assert "\r" not in text and not text.startswith("\ufeff")
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    summary.append((rel, rows))


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def verify(out, gen, students, contacts, subs, sub_rows, sub_contacts, sub_docs):
    # the SIS
    sns = [s["Student_Number"] for s in students]
    assert len(set(sns)) == len(sns) and all(len(s) == 6 and s.isdigit() for s in sns)
    states = [s["State_StudentNumber"] for s in students if s["State_StudentNumber"]]
    assert len(set(states)) == len(states) and all(len(s) == 10 and s.isdigit() for s in states)
    assert sum(s.startswith("0") for s in states) >= 10
    for s in students:
        d = parse_date(s["DOB"])
        assert grade_for(d) == int(s["Grade_Level"]) and school_for(int(s["Grade_Level"])) == s["SchoolID"]
    twins = 0
    for f in gen.families:
        dobs = [k["dob"] for k in f["kids"]]
        twins += len(dobs) - len(set(dobs))
        assert len({k["First_Name"] for k in f["kids"]}) == len(f["kids"])
    assert twins == 3, twins
    assert len({s["Home_Phone"] for s in students}) == len(gen.families)
    keys = [(name_key(s["First_Name"]), name_key(s["Last_Name"]), s["DOB"]) for s in students]
    assert len(keys) - len(set(keys)) == 1     # the one stale duplicate record
    cids = {}
    for c in contacts:
        cids.setdefault(c["Contact_ID"], []).append(c["Student_Number"])
    assert len(contacts) == len({(c["Contact_ID"], c["Student_Number"]) for c in contacts})
    assert all(n in sns for ns in cids.values() for n in ns)
    # submissions: ids in order, one form and approval per id
    ids = [s["id"] for s in subs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # the files read back equal what was meant, and the XML carries the same submissions as the CSV
    assert read_csv(out / "sis/students.csv") == students
    assert read_csv(out / "sis/contacts.csv") == contacts
    assert read_csv(out / "enrollment-csv/submissions.csv") == sub_rows
    assert read_csv(out / "enrollment-csv/submission_contacts.csv") == sub_contacts
    assert read_csv(out / "enrollment-csv/submission_documents.csv") == sub_docs
    root = ET.parse(out / "enrollment-xml/submissions.xml").getroot()
    x_rows, x_contacts, x_docs = [], [], []
    for e in root:
        head = dict(Submission_ID=e.get("id"), Form=e.get("form"), Approved_At=e.get("approved"))
        for st in e.findall("student"):
            assert [c.tag for c in st] == SUB_STUDENT_FIELDS
            x_rows.append(dict(head, **{c.tag: c.text or "" for c in st}))
        for c in e.findall("contact"):
            assert [x.tag for x in c] == SUB_CONTACT_FIELDS
            x_contacts.append(dict(Submission_ID=head["Submission_ID"], Contact_Seq=c.get("seq"),
                                   **{x.tag: x.text or "" for x in c}))
        for d in e.findall("document"):
            x_docs.append(dict(Submission_ID=head["Submission_ID"], Doc_Type=d.get("type"),
                               File_Name=d.get("file"), SHA256=d.get("sha256")))
    assert x_rows == sub_rows and x_contacts == sub_contacts and x_docs == sub_docs
    # every listed document is uploaded, with the listed SHA-256, and nothing else is
    for folder in ("enrollment-csv", "enrollment-xml"):
        listed = {(d["Submission_ID"], d["File_Name"]): d["SHA256"] for d in sub_docs}
        found = {(p.parent.name, p.name): hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in (out / folder / "documents").glob("*/*")}
        assert found == listed, folder
    ET.parse(out / "config/Plugin.xml")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "Fixtures" / "demo-district"))
    args = ap.parse_args()
    out = Path(args.out)

    gen = Gen()
    gen.build_sis()
    students, contacts = gen.sis_rows()
    S = Submissions(gen)
    S.build()
    subs = S.subs
    rows = outcomes(subs, students)

    sub_rows, sub_contacts, sub_docs = [], [], []
    for sub in subs:
        head = dict(Submission_ID=sub["id"], Form=sub["form"], Approved_At=sub["approved"])
        for st in sub["students"]:
            sub_rows.append(dict(head, **{f: st[f] for f in SUB_STUDENT_FIELDS}))
        for c in sub["contacts"]:
            sub_contacts.append(dict(Submission_ID=sub["id"], Contact_Seq=str(c["seq"]),
                                     **{f: c[f] for f in SUB_CONTACT_FIELDS}))
        for d in sorted(sub["documents"], key=lambda d: (d["Doc_Type"], d["File_Name"])):
            sub_docs.append(dict(Submission_ID=sub["id"], **d))
    for sub in subs:
        sub["documents"].sort(key=lambda d: (d["Doc_Type"], d["File_Name"]))

    summary = []
    write(out, "sis/students.csv", csv_text(STUDENT_COLS, students), summary, len(students))
    write(out, "sis/contacts.csv", csv_text(CONTACT_COLS, contacts), summary, len(contacts))
    # Low_Grade/High_Grade: PowerSchool's optional columns (-2 PK3 ... 12); delivery checks a grade against them.
    write(out, "sis/schools.csv",
          csv_text(["School_Number", "Name", "Low_Grade", "High_Grade"],
                   [dict(School_Number=n, Name=m, Low_Grade=str(-2 if g[0] < 0 else g[0]), High_Grade=str(g[-1]))
                    for n, m, g in SCHOOLS]), summary, 3)
    att = [dict(Att_Code=c, Description=d, SchoolID=n, Presence_Status_CD=p)
           for n, _, _ in SCHOOLS for c, d, p in ATT_CODES]
    write(out, "sis/attendance_codes.csv",
          csv_text(["Att_Code", "Description", "SchoolID", "Presence_Status_CD"], att), summary, len(att))
    write(out, "enrollment-csv/submissions.csv", csv_text(SUB_COLS, sub_rows), summary, len(sub_rows))
    write(out, "enrollment-csv/submission_contacts.csv", csv_text(SUB_CONTACT_COLS, sub_contacts), summary,
          len(sub_contacts))
    write(out, "enrollment-csv/submission_documents.csv", csv_text(SUB_DOC_COLS, sub_docs), summary, len(sub_docs))
    write(out, "enrollment-xml/submissions.xml", submissions_xml(subs), summary, len(subs))
    write_documents(out, subs, summary)
    plugin, nfields = plugin_xml()
    write(out, "config/Plugin.xml", plugin, summary, nfields)
    write(out, "config/building_map.csv",
          csv_text(["Raptor_Building", "SIS_School_Number"],
                   [dict(Raptor_Building=b, SIS_School_Number=n) for b, n in BUILDING_MAP]), summary, len(BUILDING_MAP))
    write(out, "config/tardy_codes.csv",
          csv_text(["Raptor_Reason", "SIS_Att_Code", "Active"],
                   [dict(Raptor_Reason=a, SIS_Att_Code=b, Active=c) for a, b, c in TARDY_CODES]), summary,
          len(TARDY_CODES))
    t_rows, t_expect = tardies(gen)
    write(out, "raptor/tardies.csv", csv_text(["Building", "Student_Number", "Occurred_At", "Reason"], t_rows),
          summary, len(t_rows))
    write(out, "EXPECTED.md", expected_md(rows, subs, students, households(gen), t_rows, t_expect), summary, len(rows))

    verify(out, gen, students, contacts, subs, sub_rows, sub_contacts, sub_docs)

    print("wrote %s" % out)
    for rel, n in summary:
        unit = {"enrollment-xml/submissions.xml": "submissions", "config/Plugin.xml": "fields",
                "enrollment-csv/documents/": "files", "enrollment-xml/documents/": "files",
                "EXPECTED.md": "table rows"}.get(rel, "rows")
        print("  %-42s %4d %s" % (rel, n, unit))
    print("households %d, students %d, submissions %d (%d students)"
          % (households(gen), len(students), len(subs), len(rows)))
    for key in ("match", "delivery"):
        counts = {}
        for r in rows:
            counts[r[key]] = counts.get(r[key], 0) + 1
        print("  by %s: %s" % (key, ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    cases = {}
    for r in rows:
        cases.setdefault(r["case"], []).append(r["match"])
    for c, ms in cases.items():
        print("  %-40s %2d  %s" % (c, len(ms), " ".join(sorted(set(ms)))))


if __name__ == "__main__":
    main()
