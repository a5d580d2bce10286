import Foundation

/// A word as a POSIX shell reads it back unchanged.
package func shellQuote(_ word: String) -> String {
  if !word.isEmpty
    && word.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./:@".contains($0)) })
  {
    return word
  }
  return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
