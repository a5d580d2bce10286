import Foundation
import Testing
import _SISDropTestSupport

/// Rules the test sources keep because the compiler does not enforce them.
///
/// Swift 6.3.1 gives a closure literal written inside the body of an expectation of an error
/// (`#expect(throws:) { … }`, `#expect { … } throws: { … }`, and `#require`'s) the same name as
/// the first closure written before it in the enclosing closure (a `withTemporaryFolder { … }`
/// body), and runs that earlier closure in its place: the expectation
/// then checks another piece of code, and passes when that one happens to throw. Found 2026-12-03
/// (`try db.inTransaction { insert 2; throw }` inside `#expect(throws:)` ran the earlier
/// `{ insert 1 }`, and no error was thrown). The closures are written before the macro instead
/// (`let quiet: (String) -> Void = { _ in }`), which the compiler names correctly.
@Suite struct TestSourceRulesTests {
  /// The lines of each expectation of an error in a Swift source whose body holds a closure literal
  /// (string literals and `//` comments skipped).
  static func closuresInsideThrowsExpectations(_ text: String) -> [Int] {
    let bytes = Array(text.utf8)
    var lines: [Int] = []
    var i = 0
    var line = 1
    while i < bytes.count {
      if bytes[i] == UInt8(ascii: "\n") { line += 1 }
      if bytes[i] == UInt8(ascii: "\"") {
        i = endOfString(bytes, i, line: &line)
        continue
      }
      if bytes[i] == UInt8(ascii: "/"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "/") {
        while i < bytes.count && bytes[i] != UInt8(ascii: "\n") { i += 1 }
        continue
      }
      if bytes[i] == UInt8(ascii: "#"), let macro = throwsMacro(bytes, at: i) {
        // The body: the first "{" after the macro's closing parenthesis, to its matching "}".
        var j = macro
        var start = line
        while j < bytes.count && bytes[j] != UInt8(ascii: "{") {
          if bytes[j] == UInt8(ascii: "\n") { start += 1 }
          j += 1
        }
        var depth = 0
        var nested = false
        var bodyLine = start
        while j < bytes.count {
          let byte = bytes[j]
          if byte == UInt8(ascii: "\n") { bodyLine += 1 }
          if byte == UInt8(ascii: "\"") {
            j = endOfString(bytes, j, line: &bodyLine)
            continue
          }
          if byte == UInt8(ascii: "{") {
            depth += 1
            if depth > 1 { nested = true }
          } else if byte == UInt8(ascii: "}") {
            depth -= 1
            if depth == 0 { break }
          }
          j += 1
        }
        if nested { lines.append(line) }
      }
      i += 1
    }
    return lines
  }

  /// Where the body of the expectation of an error at `i` starts looking for its "{", or nil:
  /// after the parentheses of `#expect(throws: …)` / `#require(throws: …)`, or at the "{" of
  /// `#expect { … } throws: { … }` / `#require { … } throws: { … }`.
  static func throwsMacro(_ bytes: [UInt8], at i: Int) -> Int? {
    for name in ["#expect", "#require"] {
      let pattern = Array(name.utf8)
      guard i + pattern.count <= bytes.count, Array(bytes[i..<i + pattern.count]) == pattern
      else { continue }
      var j = i + pattern.count
      while j < bytes.count && bytes[j] == UInt8(ascii: " ") { j += 1 }
      if j < bytes.count && bytes[j] == UInt8(ascii: "{") { return j }
    }
    for name in ["#expect(throws:", "#require(throws:"] {
      let pattern = Array(name.utf8)
      guard i + pattern.count <= bytes.count, Array(bytes[i..<i + pattern.count]) == pattern
      else { continue }
      var depth = 0
      var j = i + pattern.count - "throws:".utf8.count - 1
      while j < bytes.count {
        if bytes[j] == UInt8(ascii: "(") { depth += 1 }
        if bytes[j] == UInt8(ascii: ")") {
          depth -= 1
          if depth == 0 { return j + 1 }
        }
        j += 1
      }
    }
    return nil
  }

  /// The index after the string literal that starts at `i` ("…" or """…"""), counting its lines.
  static func endOfString(_ bytes: [UInt8], _ i: Int, line: inout Int) -> Int {
    let quote = UInt8(ascii: "\"")
    let triple = i + 2 < bytes.count && bytes[i + 1] == quote && bytes[i + 2] == quote
    var j = i + (triple ? 3 : 1)
    while j < bytes.count {
      if bytes[j] == UInt8(ascii: "\\") {
        j += 2
        continue
      }
      if bytes[j] == UInt8(ascii: "\n") { line += 1 }
      if bytes[j] == quote {
        if !triple { return j + 1 }
        if j + 2 < bytes.count && bytes[j + 1] == quote && bytes[j + 2] == quote { return j + 3 }
      }
      j += 1
    }
    return j
  }

  @Test func theRuleFindsAClosureInsideAThrowsExpectationAndNothingElse() {
    let source = """
      try withTemporaryFolder { root in
        try database.inTransaction { try insert(1) }
        #expect(throws: Stop.self) {
          try database.inTransaction { try insert(2); throw Stop() }
        }
        let step: () throws -> Void = { try insert(3); throw Stop() }
        #expect(throws: Stop.self) { try database.inTransaction(step) }
        let error = try #require(throws: SISDropError.self) {
          try reader.forEach(2) { _ in }
        }
        #expect(throws: SISDropError.self) { try parse("{ \\"a\\": [1] }") }
        #expect(values.contains { $0 == 1 })
        #expect {
          try database.inTransaction { try insert(4); throw Stop() }
        } throws: { error in error is Stop }
        #expect { try insert(5) } throws: { error in error is Stop }
      }
      """
    #expect(Self.closuresInsideThrowsExpectations(source) == [3, 8, 13])
  }

  @Test func noTestWritesAClosureInsideAThrowsExpectation() throws {
    let tests = Checkout.root + "/Tests"
    let files = try #require(FileManager.default.enumerator(atPath: tests)).compactMap {
      $0 as? String
    }.filter { $0.hasSuffix(".swift") && !$0.hasSuffix("TestSourceRulesTests.swift") }
    #expect(files.count > 50, "the test sources are found (\(files.count) files)")
    var found: [String] = []
    for file in files.sorted() {
      let text = try String(contentsOfFile: tests + "/" + file, encoding: .utf8)
      found += Self.closuresInsideThrowsExpectations(text).map { "Tests/\(file):\($0)" }
    }
    #expect(
      found.isEmpty,
      "write these closures before the expectation (let body: … = { … }): \(found.joined(separator: ", "))"
    )
  }
}
