import Foundation

/// A validator for the part of JSON Schema (2020-12) that `docs/*.schema.json` uses: `type` (one
/// or a list, `integer` included), `properties`, `required`, `additionalProperties` (false or a
/// schema), `items`, `enum`, `const`, `minimum`, `anyOf`, and `$ref` to `#/$defs/NAME`. Anything else in a
/// schema is refused, so that a schema can never seem to check more than it does.
package struct JSONSchemaValidator {
  package let root: [String: Any]

  package init(path: String) throws {
    guard
      let object = try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
    else {
      throw ValidationFailure(errors: ["\(path): not a JSON object"])
    }
    root = object
  }

  package struct ValidationFailure: Error, CustomStringConvertible {
    package var errors: [String]
    package var description: String { errors.joined(separator: "\n") }
  }

  static let understood: Set<String> = [
    "$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties", "required",
    "additionalProperties",
    "items", "enum", "const", "minimum", "anyOf",
  ]

  /// Every way `value` (parsed JSON) breaks the definition `name` (`$defs/name`), or none.
  package func errors(_ value: Any, against name: String) -> [String] {
    guard let schema = (root["$defs"] as? [String: Any])?[name] as? [String: Any] else {
      return ["no $defs/\(name) in the schema"]
    }
    var errors: [String] = []
    check(value, schema, "$", &errors)
    return errors
  }

  /// Validates JSON text against `$defs/name`.
  package func validate(_ text: String, against name: String) throws {
    let value = try JSONSerialization.jsonObject(
      with: Data(text.utf8), options: [.fragmentsAllowed])
    let found = errors(value, against: name)
    if !found.isEmpty { throw ValidationFailure(errors: found) }
  }

  func check(_ value: Any, _ schema: [String: Any], _ path: String, _ errors: inout [String]) {
    for key in schema.keys where !Self.understood.contains(key) {
      errors.append("\(path): the schema uses '\(key)', which this validator does not check")
    }
    if let reference = schema["$ref"] as? String {
      let prefix = "#/$defs/"
      guard reference.hasPrefix(prefix),
        let target = (root["$defs"] as? [String: Any])?[String(reference.dropFirst(prefix.count))]
          as? [String: Any]
      else {
        errors.append("\(path): cannot resolve \(reference)")
        return
      }
      check(value, target, path, &errors)
    }
    if let options = schema["anyOf"] as? [[String: Any]] {
      let failures = options.map { option -> [String] in
        var found: [String] = []
        check(value, option, path, &found)
        return found
      }
      if !failures.contains(where: \.isEmpty) {
        errors.append(
          "\(path): matches none of anyOf: \(failures.map { $0.joined(separator: "; ") }.joined(separator: " | "))"
        )
      }
    }
    if let type = schema["type"] {
      let types = (type as? [String]) ?? [type as? String ?? ""]
      if !types.contains(where: { Self.isType(value, $0) }) {
        errors.append(
          "\(path): expected \(types.joined(separator: " or ")), found \(Self.describe(value))")
        return
      }
    }
    if let options = schema["enum"] as? [Any], !options.contains(where: { Self.equal($0, value) }) {
      errors.append("\(path): \(Self.describe(value)) is not one of \(options)")
    }
    if let constant = schema["const"], !Self.equal(constant, value) {
      errors.append("\(path): expected \(constant)")
    }
    if let minimum = schema["minimum"] as? NSNumber, let number = value as? NSNumber,
      !(value is Bool), number.doubleValue < minimum.doubleValue
    {
      errors.append("\(path): \(number) is below \(minimum)")
    }
    if let object = value as? [String: Any] {
      let properties = schema["properties"] as? [String: Any] ?? [:]
      for key in schema["required"] as? [String] ?? [] where object[key] == nil {
        errors.append("\(path): missing key '\(key)'")
      }
      for (key, child) in object {
        if let property = properties[key] as? [String: Any] {
          check(child, property, "\(path).\(key)", &errors)
        } else if let additional = schema["additionalProperties"] {
          if let allowed = additional as? Bool, !allowed,
            schema["properties"] != nil || schema["type"] as? String == "object"
          {
            errors.append("\(path): unexpected key '\(key)'")
          } else if let additionalSchema = additional as? [String: Any] {
            check(child, additionalSchema, "\(path).\(key)", &errors)
          }
        }
      }
    }
    if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
      for (index, item) in array.enumerated() { check(item, items, "\(path)[\(index)]", &errors) }
    }
  }

  static func isType(_ value: Any, _ type: String) -> Bool {
    switch type {
    case "null": return value is NSNull
    case "object": return value is [String: Any]
    case "array": return value is [Any]
    case "string": return value is String
    case "boolean": return isBool(value)
    case "number": return value is NSNumber && !isBool(value)
    case "integer":
      guard let number = value as? NSNumber, !isBool(value) else { return false }
      return number.doubleValue.rounded() == number.doubleValue
    default: return false
    }
  }

  static func isBool(_ value: Any) -> Bool {
    // JSONSerialization makes true and false NSNumbers of type char ("c"); numbers are never char.
    guard let number = value as? NSNumber else { return false }
    return String(cString: number.objCType) == "c"
  }

  static func equal(_ a: Any, _ b: Any) -> Bool {
    switch (a, b) {
    case (let x as String, let y as String): return x == y
    case (is NSNull, is NSNull): return true
    case (let x as NSNumber, let y as NSNumber): return isBool(x) == isBool(y) && x == y
    default: return false
    }
  }

  static func describe(_ value: Any) -> String {
    if value is NSNull { return "null" }
    if isBool(value) { return "a boolean" }
    if let text = value as? String { return "the string \"\(text)\"" }
    if value is NSNumber { return "the number \(value)" }
    if value is [Any] { return "an array" }
    return "an object"
  }
}
