import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDropCore

/// The core's primitives that everything above stores, hashes or prints through.
@Suite struct SupportTests {
  /// The published test vectors (FIPS 180-2), in memory and from a file: `stage.json` and the ready
  /// file name every file by this hash.
  @Test func sha256GivesThePublishedDigestsForTextsAndFiles() throws {
    #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    let two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    #expect(SHA256.hex(two) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    try withTemporaryFolder { folder in
      // Larger than one read of the file, so the digest is fed in pieces.
      let million = String(repeating: "a", count: 1_000_000)
      let path = try writeFile(folder + "/a.txt", million)
      let (hash, size) = try SHA256.file(at: path)
      #expect(hash == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
      #expect(size == 1_000_000)
      #expect(SHA256.hex(Data(million.utf8)) == hash)
    }
  }

  /// Lengths and numbers are LEB128: seven bits a byte, low group first.
  @Test func varLengthWritesSevenBitsAByteAndReadsEveryValueBack() {
    let values: [UInt] = [0, 1, 127, 128, 255, 16_383, 16_384, 1 << 32, UInt.max]
    var bytes: [UInt8] = []
    for value in values { VarLength.append(value, to: &bytes) }
    #expect(bytes.prefix(5) == [0x00, 0x01, 0x7F, 0x80, 0x01])
    var at = 0
    let read = values.map { _ in VarLength.read(bytes, at: &at) }
    #expect(read == values)
    #expect(at == bytes.count)
    // 1 + 1 + 1 + 2 + 2 + 2 + 3 + 5 + 10 bytes.
    #expect(bytes.count == 27)
  }

  /// Entries of texts and numbers read back in the order put, also after two buffers are joined.
  @Test func packedTextsGiveBackEveryTextAndNumberInOrder() {
    var first = PackedTexts()
    first.put("Zoë")
    first.put(-1)
    first.put("")
    first.end()
    first.put(Int.min)
    first.put(Int.max)
    first.end()
    var second = PackedTexts()
    second.put("O'Neil, Jr\n李")
    second.put(300)
    second.end()
    first.append(contentsOf: second)
    #expect(first.count == 3)
    var zero = first.reader(0)
    #expect(zero.next() == "Zoë" && zero.number() == -1 && zero.next() == "" && zero.atEnd)
    var one = first.reader(1)
    #expect(one.number() == Int.min && one.number() == Int.max && one.atEnd)
    var two = first.reader(2)
    #expect(two.next() == "O'Neil, Jr\n李" && two.number() == 300 && two.atEnd)
    // A small number takes one byte whatever its sign (zigzag).
    var small = PackedTexts()
    small.put(-64)
    small.end()
    #expect(small.byteCount == 1)
  }

  /// Every command sisdrop prints for a person to copy works in a POSIX shell, whatever the word.
  @Test(arguments: ["S-2026-0001", "two words", "O'Neil", "$HOME", "a;rm -rf x", "", "`id`", "Zoë"])
  func aQuotedWordIsReadBackUnchangedByTheShell(word: String) throws {
    let shell = Process()
    shell.executableURL = URL(fileURLWithPath: "/bin/sh")
    shell.arguments = ["-c", "printf '%s' " + shellQuote(word)]
    let output = Pipe()
    shell.standardOutput = output
    try shell.run()
    let bytes = output.fileHandleForReading.readDataToEndOfFile()
    shell.waitUntilExit()
    #expect(shell.terminationStatus == 0)
    #expect(String(decoding: bytes, as: UTF8.self) == word)
  }

  /// A header cell in a message can never start a line or drive a terminal.
  @Test func logTextEscapesEveryControlCharacter() {
    #expect(LogText.escaped("Last Name") == "Last Name")
    #expect(LogText.escaped("a\nb\rc\td\\e") == "a\\nb\\rc\\td\\\\e")
    #expect(LogText.escaped("\u{1B}[2J\u{0}\u{7F}") == "\\u001B[2J\\u0000\\u007F")
    #expect(LogText.escaped("x\u{2028}y\u{200B}z") == "x\\u2028y\\u200Bz")
    #expect(LogText.quoted("Zoë") == "'Zoë'")
  }

  /// A new file only (never over another), private, and all of it on disk when closed.
  @Test func fileWriterCreatesAPrivateNewFileAndRefusesAnExistingOne() throws {
    try withTemporaryFolder { folder in
      let path = folder + "/out.csv"
      let writer = try FileWriter(path: path)
      let big = [UInt8](repeating: 0x41, count: (1 << 20) + 10)
      try writer.write(Array("head\n".utf8))
      try writer.write(big)
      try writer.close()
      #expect(try FileSystem.readFile(path) == Array("head\n".utf8) + big)
      let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
      // 0640 under any umask: nothing for others, no group write, no execute.
      #expect(mode.map { $0 & 0o137 } == 0)
      #expect(throws: (any Error).self) { try FileWriter(path: path) }
      #expect(try FileSystem.readFile(path).count == big.count + 5)
    }
  }
}

/// Records held for a whole batch keep their fields as one buffer (`PackedFields`).
@Suite struct PackedFieldsTests {
  @Test func everyValueComesBackAndEqualDictionariesPackAlike() {
    let fields = ["Last_Name": "O'Neil, Jr", "First_Name": "Zoë", "Note": "a\u{0}b", "Zip": ""]
    let packed = PackedFields(fields)
    #expect(packed.dictionary == fields)
    #expect(packed["Note"] == "a\u{0}b" && packed["Zip"] == "" && packed["DOB"] == nil)
    // Built from the same pairs in another order: the same bytes, so equal and hashed alike.
    var other: [String: String] = [:]
    for key in fields.keys.sorted().reversed() { other[key] = fields[key] }
    #expect(PackedFields(other) == packed && PackedFields(other).hashValue == packed.hashValue)
    #expect(PackedFields(["Zip": "1"]) != PackedFields(["Zip": "2"]))
    #expect(PackedFields().isEmpty && !packed.isEmpty)
  }
}
