import Foundation

/// The one JSON setting of sisdrop's own record files (stage.json, manifest.json, snapshot.json,
/// publication.json): keys in snake case and sorted, pretty-printed, slashes as they are, a final
/// line break. Every writer and reader of those files goes through here.
package enum RecordJSON {
  package static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return encoder
  }

  package static func decoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return decoder
  }

  /// The file's bytes: the encoding and a final line break.
  package static func bytes<T: Encodable>(_ value: T) throws -> [UInt8] {
    Array(try encoder().encode(value)) + [0x0A]
  }

  package static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    try decoder().decode(type, from: Data(bytes))
  }
}
