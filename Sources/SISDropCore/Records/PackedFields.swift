import Foundation

/// A record's fields (`[String: String]`) in one byte buffer: each key and value preceded by its
/// UTF-8 length, keys in sorted order. For records a stage holds for the whole batch (the rows
/// parse joins, the records deliver writes): a dictionary per record took ~4× the bytes of its
/// values, most of those stages' memory at 20,000 submissions (`scripts/bench/review.sh`).
///
/// Any value comes back unchanged (even one holding NUL); two equal dictionaries pack to the same
/// bytes, so equality and hashing are the dictionary's.
package struct PackedFields: Sendable, Hashable {
  private var bytes: [UInt8] = []

  package init() {}

  package init(_ fields: [String: String]) {
    var bytes: [UInt8] = []
    for key in fields.keys.sorted() {
      PackedFields.append(key, to: &bytes)
      PackedFields.append(fields[key]!, to: &bytes)
    }
    self.bytes = bytes
  }

  private static func append(_ text: String, to bytes: inout [UInt8]) {
    VarLength.append(UInt(text.utf8.count), to: &bytes)
    bytes.append(contentsOf: text.utf8)
  }

  /// Calls `body` with each key's and value's bytes, in key order, until it returns false.
  private func forEachPair(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Bool)
  {
    bytes.withUnsafeBufferPointer { buffer in
      var i = 0
      func next() -> UnsafeBufferPointer<UInt8> {
        let length = Int(VarLength.read(buffer, at: &i))
        defer { i += length }
        return UnsafeBufferPointer(rebasing: buffer[i..<i + length])
      }
      while i < buffer.count {
        let key = next()
        if !body(key, next()) { return }
      }
    }
  }

  package var dictionary: [String: String] {
    var fields: [String: String] = [:]
    forEachPair { key, value in
      fields[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
      return true
    }
    return fields
  }

  /// One field's value, nil when absent.
  package subscript(_ field: String) -> String? {
    var field = field
    return field.withUTF8 { wanted in
      var found: String? = nil
      forEachPair { key, value in
        guard key.elementsEqual(wanted) else { return true }
        found = String(decoding: value, as: UTF8.self)
        return false
      }
      return found
    }
  }

  package var isEmpty: Bool { bytes.isEmpty }
}
