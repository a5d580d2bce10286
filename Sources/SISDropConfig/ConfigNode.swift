import Foundation
import SISDropCore
import Yams

/// A node of the pipeline YAML with its key path and line, so that every error names both.
struct ConfigNode {
  let node: Node
  let keyPath: String
  let file: String
  /// Where an unknown key is recorded so that parsing goes on to the next one (nil: it throws).
  var problems: ConfigProblems? = nil

  var line: Int { node.mark.map { $0.line } ?? 0 }
  var location: SourceLocation { SourceLocation(path: file, line: line) }

  func error(_ message: String, hint: String? = nil) -> SISDropError {
    SISDropError.configuration(
      "\(keyPath.isEmpty ? "" : "\(keyPath): ")\(message)", at: location,
      hint: hint ?? "fix the pipeline config and run again")
  }

  /// The mapping's entries; a key outside `allowed` is an error naming the key and its line.
  func mapping(allowed: [String]) throws -> [String: ConfigNode] {
    guard let mapping = node.mapping else { throw error("expected a mapping of keys to values") }
    var result: [String: ConfigNode] = [:]
    for (key, value) in mapping {
      guard let name = key.string else { throw error("a key must be text") }
      let child = ConfigNode(
        node: value, keyPath: keyPath.isEmpty ? name : "\(keyPath).\(name)", file: file,
        problems: problems)
      guard allowed.contains(name) else {
        let unknown = ConfigNode(node: key, keyPath: child.keyPath, file: file).error(
          "unknown key '\(name)'", hint: "allowed here: \(allowed.joined(separator: ", "))")
        guard let problems else { throw unknown }
        problems.errors.append(unknown)
        continue
      }
      result[name] = child
    }
    return result
  }

  /// Every entry of a mapping with free-form keys (header aliases).
  func freeMapping() throws -> [(String, ConfigNode)] {
    guard let mapping = node.mapping else { throw error("expected a mapping") }
    return try mapping.map { key, value in
      guard let name = key.string else { throw error("a key must be text") }
      return (
        name, ConfigNode(node: value, keyPath: "\(keyPath).\(name)", file: file, problems: problems)
      )
    }
  }

  func string() throws -> String {
    guard case .scalar(let scalar) = node else { throw error("expected a text value") }
    return scalar.string
  }

  func bool() throws -> Bool {
    guard case .scalar(let scalar) = node else { throw error("expected true or false") }
    switch scalar.string.lowercased() {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default: throw error("expected true or false, found '\(scalar.string)'")
    }
  }

  func int(in range: ClosedRange<Int>) throws -> Int {
    guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
      throw error("expected a whole number")
    }
    guard range.contains(value) else {
      throw error("\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
    }
    return value
  }

  func choice<T: RawRepresentable>(_ type: T.Type) throws -> T
  where T.RawValue == String, T: CaseIterable {
    let value = try string()
    guard let result = T(rawValue: value) else {
      throw error("'\(value)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return result
  }

  func list() throws -> [ConfigNode] {
    guard case .sequence(let sequence) = node else { throw error("expected a list") }
    return sequence.enumerated().map {
      ConfigNode(node: $1, keyPath: "\(keyPath)[\($0)]", file: file, problems: problems)
    }
  }

  func stringList() throws -> [String] { try list().map { try $0.string() } }

  /// A one-character delimiter; `tab` and `\t` name the tab.
  func delimiter() throws -> UInt8 {
    let value = try string()
    if value == "tab" || value == "\\t" || value == "\t" { return 0x09 }
    guard value.utf8.count == 1, let byte = value.utf8.first, byte != UInt8(ascii: "\""),
      byte != 0x0A, byte != 0x0D
    else {
      throw error(
        "a delimiter is one ASCII character other than a quote or line break (or 'tab'), found '\(value)'"
      )
    }
    return byte
  }
}

/// Every problem of a pipeline file, so that one `sisdrop check` (or one refused run) names them all.
final class ConfigProblems {
  var errors: [SISDropError] = []

  /// Parses one key: its error is recorded and parsing goes on with the next key.
  func attempt(_ body: () throws -> Void) {
    do {
      try body()
    } catch let error as SISDropError {
      errors.append(error)
    } catch {
      errors.append(SISDropError(.configuration, "\(error)"))
    }
  }
}
