import Foundation

/// The JSON every `--json` prints (docs/status.schema.json): what JSONEncoder writes with sorted,
/// snake_case keys, pretty-printed — except that an optional without a value is written as `null`
/// instead of being left out (JSONEncoder's synthesized `encodeIfPresent`). A script tests a key's
/// value, never its presence; the schema lists every key as required.
enum ScriptJSON {
  static func text<T: Encodable>(_ value: T) throws -> String {
    var out = ""
    try write(try Node.of(value, path: []), indent: "", into: &out)
    return out
  }

  /// An encoded value; objects and arrays are filled in place by their containers.
  final class Node {
    enum Kind {
      case null
      case bool(Bool)
      case number(String)
      case string(String)
      case array(Items)
      case object(Members)
    }
    final class Items { var nodes: [Node] = [] }
    final class Members { var nodes: [String: Node] = [:] }
    var kind: Kind
    init(_ kind: Kind) { self.kind = kind }

    static func of<T: Encodable>(_ value: T, path: [CodingKey]) throws -> Node {
      switch value {
      case let text as String: return Node(.string(text))
      case let flag as Bool: return Node(.bool(flag))
      case let number as any BinaryInteger: return Node(.number("\(number)"))
      case let number as Double: return try Node(.number(ScriptJSON.number(number, path)))
      case let number as Float: return try Node(.number(ScriptJSON.number(Double(number), path)))
      case let url as URL: return Node(.string(url.absoluteString))
      default: break
      }
      // A dictionary with String keys: its keys are data (field names, file names), never converted.
      if let dictionary = value as? [String: any Encodable] {
        let members = Members()
        for (key, element) in dictionary {
          members.nodes[key] = try of(element, path: path + [Key(key)])
        }
        return Node(.object(members))
      }
      let encoder = TreeEncoder(path: path)
      try value.encode(to: encoder)
      return encoder.root ?? Node(.object(Members()))
    }
  }

  static func number(_ value: Double, _ path: [CodingKey]) throws -> String {
    guard value.isFinite else {
      throw EncodingError.invalidValue(
        value, .init(codingPath: path, debugDescription: "not a finite number"))
    }
    // As JSONEncoder: a whole number without ".0".
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
  }

  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
  }

  /// JSONEncoder's own snake_case conversion, asked once per key.
  nonisolated(unsafe) static var snakeCase: [String: String] = [:]
  static let snakeCaseLock = NSLock()
  static func converted(_ key: String) -> String {
    snakeCaseLock.lock()
    defer { snakeCaseLock.unlock() }
    if let known = snakeCase[key] { return known }
    struct One: Encodable {
      let key: String
      func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(0, forKey: Key(key))
      }
    }
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let result =
      (try? encoder.encode(One(key: key)))
      .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }?.keys.first ?? key
    snakeCase[key] = result
    return result
  }

  final class TreeEncoder: Encoder {
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] = [:]
    var root: Node?
    init(path: [CodingKey]) { codingPath = path }

    func members() -> Node.Members {
      if case .object(let members)? = root?.kind { return members }
      let members = Node.Members()
      root = Node(.object(members))
      return members
    }

    func items() -> Node.Items {
      if case .array(let items)? = root?.kind { return items }
      let items = Node.Items()
      root = Node(.array(items))
      return items
    }

    func container<K: CodingKey>(keyedBy type: K.Type) -> KeyedEncodingContainer<K> {
      KeyedEncodingContainer(Keyed<K>(members: members(), codingPath: codingPath))
    }
    func unkeyedContainer() -> UnkeyedEncodingContainer {
      Unkeyed(items: items(), codingPath: codingPath)
    }
    func singleValueContainer() -> SingleValueEncodingContainer { Single(encoder: self) }
  }

  struct Keyed<K: CodingKey>: KeyedEncodingContainerProtocol {
    let members: Node.Members
    var codingPath: [CodingKey]

    func set(_ node: Node, _ key: K) { members.nodes[ScriptJSON.converted(key.stringValue)] = node }
    mutating func encodeNil(forKey key: K) throws { set(Node(.null), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Bool, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: String, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Double, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int8, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int16, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int32, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int64, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: UInt, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: UInt8, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: UInt16, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: UInt32, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: UInt64, forKey key: K) throws {
      set(try Node.of(value, path: codingPath + [key]), key)
    }
    // The point of this encoder: an absent optional is null, not a missing key.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: K) throws {
      if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: K) throws {
      try encodeOptional(value, key)
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: K) throws {
      try encodeOptional(value, key)
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: K) throws {
      try encodeOptional(value, key)
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: K) throws {
      try encodeOptional(value, key)
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: K) throws {
      try encodeOptional(value, key)
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: K) throws {
      try encodeOptional(value.map(Int.init), key)
    }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: K) throws {
      try encodeOptional(value.map(Int.init), key)
    }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: K) throws {
      try encodeOptional(value.map(Int.init), key)
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: K) throws {
      try encodeOptional(value, key)
    }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: K) throws {
      try encodeOptional(value, key)
    }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: K) throws {
      try encodeOptional(value.map(UInt.init), key)
    }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: K) throws {
      try encodeOptional(value.map(UInt.init), key)
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: K) throws {
      try encodeOptional(value.map(UInt.init), key)
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: K) throws {
      try encodeOptional(value, key)
    }
    private mutating func encodeOptional<T: Encodable>(_ value: T?, _ key: K) throws {
      if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type, forKey key: K)
      -> KeyedEncodingContainer<N>
    {
      let members = Node.Members()
      set(Node(.object(members)), key)
      return KeyedEncodingContainer(Keyed<N>(members: members, codingPath: codingPath + [key]))
    }
    mutating func nestedUnkeyedContainer(forKey key: K) -> UnkeyedEncodingContainer {
      let items = Node.Items()
      set(Node(.array(items)), key)
      return Unkeyed(items: items, codingPath: codingPath + [key])
    }
    mutating func superEncoder() -> Encoder { superEncoder(forKey: K(stringValue: "super")!) }
    mutating func superEncoder(forKey key: K) -> Encoder {
      let encoder = TreeEncoder(path: codingPath + [key])
      let members = Node.Members()
      encoder.root = Node(.object(members))
      set(encoder.root!, key)
      return encoder
    }
  }

  struct Unkeyed: UnkeyedEncodingContainer {
    let items: Node.Items
    var codingPath: [CodingKey]
    var count: Int { items.nodes.count }

    mutating func encodeNil() throws { items.nodes.append(Node(.null)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: Bool) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: String) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: Double) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: Float) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: Int) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: Int8) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: Int16) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: Int32) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: Int64) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: UInt) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: UInt8) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: UInt16) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: UInt32) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func encode(_ value: UInt64) throws {
      items.nodes.append(try Node.of(value, path: codingPath))
    }
    mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type) -> KeyedEncodingContainer<
      N
    > {
      let members = Node.Members()
      items.nodes.append(Node(.object(members)))
      return KeyedEncodingContainer(Keyed<N>(members: members, codingPath: codingPath))
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
      let nested = Node.Items()
      items.nodes.append(Node(.array(nested)))
      return Unkeyed(items: nested, codingPath: codingPath)
    }
    mutating func superEncoder() -> Encoder {
      let encoder = TreeEncoder(path: codingPath)
      encoder.root = Node(.object(Node.Members()))
      items.nodes.append(encoder.root!)
      return encoder
    }
  }

  struct Single: SingleValueEncodingContainer {
    let encoder: TreeEncoder
    var codingPath: [CodingKey] { encoder.codingPath }
    mutating func encodeNil() throws { encoder.root = Node(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: Bool) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: String) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: Double) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: Float) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: Int) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: Int8) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: Int16) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: Int32) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: Int64) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: UInt) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: UInt8) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: UInt16) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: UInt32) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
    mutating func encode(_ value: UInt64) throws {
      encoder.root = try Node.of(value, path: codingPath)
    }
  }

  /// Pretty-printed as JSONEncoder does (`"key" : value`, two spaces, keys sorted).
  static func write(_ node: Node, indent: String, into out: inout String) throws {
    switch node.kind {
    case .null: out += "null"
    case .bool(let flag): out += flag ? "true" : "false"
    case .number(let text): out += text
    case .string(let text): quote(text, into: &out)
    case .array(let items):
      guard !items.nodes.isEmpty else {
        out += "[\n\n\(indent)]"
        return
      }
      out += "[\n"
      for (index, item) in items.nodes.enumerated() {
        out += indent + "  "
        try write(item, indent: indent + "  ", into: &out)
        out += index == items.nodes.count - 1 ? "\n" : ",\n"
      }
      out += indent + "]"
    case .object(let members):
      guard !members.nodes.isEmpty else {
        out += "{\n\n\(indent)}"
        return
      }
      out += "{\n"
      let keys = members.nodes.keys.sorted()
      for (index, key) in keys.enumerated() {
        out += indent + "  "
        quote(key, into: &out)
        out += " : "
        try write(members.nodes[key]!, indent: indent + "  ", into: &out)
        out += index == keys.count - 1 ? "\n" : ",\n"
      }
      out += indent + "}"
    }
  }

  static func quote(_ text: String, into out: inout String) {
    out += "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      default:
        if scalar.value < 0x20 {
          out += String(format: "\\u%04x", scalar.value)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    out += "\""
  }
}
