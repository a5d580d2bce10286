import Foundation

/// Text from an input file (a header cell, an unknown column name) as it may appear in a message:
/// control characters are shown escaped, so that a cell can never start a new log line, forge one
/// or drive a terminal. Values (names, birth dates, addresses) never go into messages at all.
package enum LogText {
  /// `\n`, `\r`, `\t`, `\\` and every other control character as `\u001B`.
  package static func escaped(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case "\\": result += "\\\\"
      default:
        if scalar.properties.generalCategory == .control
          || scalar.properties.generalCategory == .format
          || scalar == "\u{2028}" || scalar == "\u{2029}"
        {
          result += String(format: "\\u%04X", scalar.value)
        } else {
          result.unicodeScalars.append(scalar)
        }
      }
    }
    return result
  }

  /// A header cell quoted for a message: `'Last Name'`, escaped.
  package static func quoted(_ text: String) -> String { "'" + escaped(text) + "'" }
}
