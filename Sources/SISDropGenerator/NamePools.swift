/// Name pools for the labelled data generator, by naming tradition.
///
/// Each list is in rough US frequency order (SSA baby names, Census surnames); the generator draws
/// with Zipf weights by rank, so common names are common and collisions (two Sophia Garcias born the
/// same day) happen about as often as in a real district.
enum NamePools {
  struct Tradition {
    var name: String
    /// Share of families, in percent.
    var share: Int
    var girls: [String]
    var boys: [String]
    var surnames: [String]
    /// Hispanic families often carry two surnames (`García López`).
    var compoundSurnames: Bool = false
  }

  static let traditions: [Tradition] = [
    Tradition(
      name: "general", share: 58,
      girls: [
        "Olivia", "Emma", "Charlotte", "Amelia", "Sophia", "Mia", "Isabella", "Ava", "Evelyn",
        "Luna", "Harper",
        "Sofia", "Camila", "Eleanor", "Elizabeth", "Violet", "Scarlett", "Emily", "Hazel", "Lily",
        "Gianna",
        "Aurora", "Penelope", "Aria", "Nora", "Chloe", "Ellie", "Mila", "Avery", "Layla", "Abigail",
        "Ella",
        "Isla", "Eliana", "Nova", "Madison", "Zoe", "Ivy", "Grace", "Lucy", "Willow", "Emilia",
        "Riley",
        "Naomi", "Victoria", "Stella", "Elena", "Hannah", "Valentina", "Maya", "Zoey", "Delilah",
        "Leah",
        "Lainey", "Lillian", "Paisley", "Genesis", "Madelyn", "Sadie", "Sophie", "Leilani",
        "Addison",
        "Natalie", "Josephine", "Alice", "Ruby", "Claire", "Kinsley", "Everly", "Emery", "Adeline",
        "Kennedy",
        "Maeve", "Audrey", "Autumn", "Athena", "Eden", "Iris", "Anna", "Eloise", "Jade", "Maria",
        "Caroline",
        "Brooklyn", "Quinn", "Aaliyah", "Vivian", "Liliana", "Gabriella", "Hailey", "Sarah",
        "Savannah", "Cora",
        "Madeline", "Natalia", "Ariana", "Lydia", "Lyla", "Clara", "Allison", "Aubrey", "Millie",
        "Melody",
        "Ayla", "Serenity", "Bella", "Skylar", "Josie", "Lucia", "Daisy", "Raelynn", "Eva",
        "Juniper", "Samantha",
        "Elliana", "Sienna", "Katherine", "Margaret", "Rebecca", "Jennifer", "Jessica", "Susan",
        "Patricia",
        "Deborah", "Christina", "Alexandra", "Elizabeth", "Abigail", "Victoria", "Jacqueline",
        "Zoë", "Chloé",
        "Renée", "Anne-Marie", "Mary Kate", "Imani", "Tamika", "Nia", "Destiny", "Jasmine", "Kayla",
      ],
      boys: [
        "Liam", "Noah", "Oliver", "James", "Elijah", "William", "Henry", "Lucas", "Benjamin",
        "Theodore",
        "Mateo", "Levi", "Sebastian", "Daniel", "Jack", "Michael", "Alexander", "Owen", "Asher",
        "Samuel",
        "Ethan", "Leo", "Jackson", "Mason", "Ezra", "John", "Hudson", "Luca", "Aiden", "Joseph",
        "David",
        "Jacob", "Logan", "Luke", "Julian", "Gabriel", "Grayson", "Wyatt", "Matthew", "Maverick",
        "Dylan",
        "Isaac", "Elias", "Anthony", "Thomas", "Jayden", "Carter", "Santiago", "Ezekiel", "Charles",
        "Josiah",
        "Caleb", "Cooper", "Lincoln", "Miles", "Christopher", "Nathan", "Isaiah", "Kai", "Joshua",
        "Andrew",
        "Angel", "Adrian", "Cameron", "Nolan", "Waylon", "Jaxon", "Roman", "Eli", "Wesley", "Aaron",
        "Ian",
        "Christian", "Ryan", "Leonardo", "Brooks", "Axel", "Walker", "Jonathan", "Easton",
        "Everett", "Weston",
        "Bennett", "Robert", "Jameson", "Landon", "Silas", "Jose", "Beau", "Micah", "Colton",
        "Jordan",
        "Jeremiah", "Parker", "Greyson", "Rowan", "Adam", "Nicholas", "Theo", "Xavier", "Hunter",
        "Dominic",
        "Jace", "Gael", "River", "Thiago", "Kayden", "Damian", "August", "Carson", "Austin",
        "Myles", "Amir",
        "Declan", "Emmett", "Ryder", "Luka", "Connor", "Jaxson", "Milo", "Enzo", "Giovanni",
        "Vincent",
        "Diego", "Richard", "Edward", "Timothy", "Patrick", "Kenneth", "Steven", "Gregory",
        "Frederick",
        "Jaylen", "Deshawn", "De'Shawn", "D'Andre", "Malik", "Kwame", "Jean-Luc", "Darnell",
        "Tyrone",
      ],
      surnames: [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
        "Taylor",
        "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark",
        "Lewis",
        "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams",
        "Baker",
        "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker",
        "Evans",
        "Edwards", "Collins", "Stewart", "Morris", "Rogers", "Reed", "Cook", "Morgan", "Bell",
        "Murphy",
        "Bailey", "Cooper", "Richardson", "Cox", "Howard", "Ward", "Peterson", "Gray", "James",
        "Watson",
        "Brooks", "Kelly", "Sanders", "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson",
        "Coleman",
        "Jenkins", "Perry", "Powell", "Long", "Patterson", "Hughes", "Washington", "Butler",
        "Simmons",
        "Foster", "Bryant", "Alexander", "Russell", "Griffin", "Hayes", "Myers", "Ford", "Hamilton",
        "Graham",
        "Sullivan", "Wallace", "Woods", "Cole", "West", "Jordan", "Owens", "Reynolds", "Fisher",
        "Ellis",
        "Harrison", "Gibson", "McDonald", "Marshall", "Wells", "Murray", "Freeman", "Webb",
        "Simpson",
        "Stevens", "Tucker", "Porter", "Hunter", "Hicks", "Crawford", "Henry", "Boyd", "Mason",
        "Kennedy",
        "Warren", "Dixon", "Burns", "Gordon", "Shaw", "Holmes", "Rice", "Robertson", "Hunt",
        "Black",
        "Daniels", "Palmer", "Mills", "Nichols", "Grant", "Knight", "Ferguson", "Stone", "Hawkins",
        "Dunn",
        "Perkins", "Hudson", "Spencer", "Stephens", "Pierce", "Hansen", "Wagner", "O'Brien",
        "O'Connor",
        "O'Neill", "McCarthy", "MacKenzie", "Kowalski", "Nowak", "Schmidt", "Schneider", "Müller",
        "Novák",
        "Johansson", "Larsen", "Olsen", "Becker", "Hoffmann", "Bergström", "Dubois", "Lefèvre",
        "Rossi",
        "Russo", "Esposito", "Bianchi", "Romano", "Cohen", "Levy", "Friedman", "Smith-Jones",
        "Taylor-Brown",
        "Ivanov", "Petrov", "Popescu", "Kovács", "Patel", "Shah", "Singh", "Kumar", "Reddy", "Das",
      ]),
    Tradition(
      name: "hispanic", share: 25,
      girls: [
        "Sofía", "Valentina", "Camila", "Isabella", "María", "Victoria", "Lucía", "Ximena",
        "Daniela", "Natalia",
        "Mariana", "Gabriela", "Valeria", "Andrea", "Alejandra", "Fernanda", "Paula", "Renata",
        "Elena", "Ana",
        "Guadalupe", "Jimena", "Regina", "Catalina", "Luciana", "Emilia", "Inés", "Rosa", "Carmen",
        "Esperanza",
        "Marisol", "Juana", "Yesenia", "Araceli", "Maribel", "Josefina", "Dulce", "Itzel", "Abril",
        "Julieta",
      ],
      boys: [
        "Mateo", "Santiago", "Sebastián", "Matías", "Diego", "Nicolás", "Alejandro", "Samuel",
        "Daniel",
        "Gabriel", "Ángel", "David", "Emiliano", "José", "Juan", "Luis", "Carlos", "Miguel",
        "Jesús", "Antonio",
        "Francisco", "Javier", "Eduardo", "Fernando", "Ricardo", "Joaquín", "Adrián", "Tomás",
        "Iker", "Julián",
        "Rafael", "Andrés", "Jorge", "Manuel", "Pedro", "Óscar", "Héctor", "Ignacio", "Rodrigo",
        "Gael",
      ],
      surnames: [
        "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
        "Ramírez",
        "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz", "Morales", "Reyes", "Gutiérrez",
        "Ortiz",
        "Ramos", "Chávez", "Mendoza", "Ruiz", "Álvarez", "Castillo", "Jiménez", "Vásquez", "Moreno",
        "Herrera",
        "Medina", "Aguilar", "Vargas", "Guzmán", "Méndez", "Castro", "Romero", "Fernández", "Muñoz",
        "Núñez",
        "Rojas", "Salazar", "Soto", "Delgado", "Peña", "Ríos", "Contreras", "Sandoval", "Guerrero",
        "Estrada",
        "Figueroa", "Cortés", "Domínguez", "Ibarra", "de la Cruz", "del Río", "Espinoza", "Valdez",
        "Campos",
      ],
      compoundSurnames: true),
    Tradition(
      name: "vietnamese", share: 4,
      girls: [
        "Linh", "Thảo", "Ngọc", "Trang", "Hương", "Mai", "Lan", "Anh", "Phương", "Vy", "Hạnh",
        "Thu",
      ],
      boys: [
        "Minh", "Đức", "Huy", "Khang", "Bảo", "Nam", "Phúc", "Quang", "Tuấn", "Long", "Thành",
        "Hoàng",
      ],
      surnames: [
        "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
        "Ngô",
      ]),
    Tradition(
      name: "chinese", share: 4,
      girls: ["Mei", "Xin", "Yan", "Jing", "Ling", "Hui", "Fang", "Xiu", "Yu", "Ying", "Li", "Na"],
      boys: [
        "Wei", "Jun", "Hao", "Lei", "Ming", "Jian", "Tao", "Yong", "Chen", "Bo", "Feng", "Kai",
      ],
      surnames: [
        "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun",
        "Ma", "Zhu",
      ]),
    Tradition(
      name: "arabic", share: 4,
      girls: [
        "Fatima", "Aisha", "Maryam", "Layla", "Noor", "Zainab", "Amira", "Yasmin", "Salma", "Hana",
        "Sara", "Rania",
      ],
      boys: [
        "Mohamed", "Muhammad", "Ahmed", "Omar", "Ali", "Yusuf", "Hamza", "Ibrahim", "Khalid",
        "Hassan", "Mustafa", "Adam",
      ],
      surnames: [
        "Ali", "Ahmed", "Hassan", "Hussein", "Ibrahim", "Khan", "Abdullah", "Al-Sayed", "El-Amin",
        "Haddad",
        "Mansour", "Nasser", "Saleh", "Khalil", "Al-Rashid", "Aziz",
      ]),
    Tradition(
      name: "somali", share: 3,
      girls: [
        "Hodan", "Ayaan", "Faadumo", "Hibo", "Sahra", "Ubah", "Ifrah", "Nimco", "Deeqa", "Hamdi",
      ],
      boys: [
        "Abdi", "Abdirahman", "Mohamud", "Abdullahi", "Ahmed", "Liban", "Guled", "Farah", "Hassan",
        "Osman",
      ],
      surnames: [
        "Mohamed", "Abdi", "Ali", "Hassan", "Farah", "Osman", "Warsame", "Jama", "Yusuf", "Omar",
        "Aden", "Nur",
      ]),
    Tradition(
      name: "hmong", share: 2,
      girls: ["Mai", "Pa", "Nou", "Kia", "Yer", "Bao", "Maiv", "Chia", "Pang", "Sheng"],
      boys: ["Tou", "Xeng", "Kou", "Pao", "Fue", "Chue", "Nhia", "Tong", "Vang", "Yeng"],
      surnames: [
        "Vang", "Xiong", "Yang", "Lee", "Thao", "Her", "Lor", "Moua", "Vue", "Hang", "Khang", "Lo",
      ]),
  ]

  /// Name suffixes, on a few boys.
  static let suffixes = ["Jr", "II", "III"]
  static let streets = [
    "Adams St", "Monroe St", "Spring St", "Laurel St", "Outer Park Dr", "Washington St",
    "Lincoln Ave",
    "Oak St", "Maple Ave", "Cedar Ln", "Elm St", "Walnut St", "Pine St", "Chestnut St", "Lake Dr",
    "Hill Rd", "Park Ave", "Main St", "Church St", "Jefferson St", "Madison St", "Grand Ave",
    "Wabash Ave",
    "MacArthur Blvd", "Stevenson Dr", "Chatham Rd", "Sangamon Ave", "Dirksen Pkwy", "Koke Mill Rd",
    "Iles Ave", "Ash St", "Bunn Ave", "Cook St", "Edwards St", "Glenwood Ave", "Lawrence Ave",
  ]
  static let zips = ["62701", "62702", "62703", "62704", "62707", "62711", "62712"]
  static let guardianGirls = [
    "Maria", "Jennifer", "Jessica", "Sarah", "Ashley", "Amanda", "Elizabeth", "Stephanie",
    "Melissa", "Nicole",
    "Rosa", "Guadalupe", "Fatima", "Linh", "Mei", "Hodan", "Mai", "Katherine", "Rebecca",
    "Patricia",
  ]
  static let guardianBoys = [
    "Michael", "David", "James", "Robert", "John", "Christopher", "Daniel", "Matthew", "Joseph",
    "William",
    "Carlos", "Juan", "Mohamed", "Minh", "Wei", "Abdi", "Tou", "Richard", "Thomas", "Anthony",
  ]
}
