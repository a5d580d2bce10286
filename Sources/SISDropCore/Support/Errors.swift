import Foundation

/// The exit statuses sisdrop uses, from `sysexits.h` (README, "Exit codes").
package enum ExitStatus: Int32, Sendable, Codable {
  case ok = 0
  /// A bug in sisdrop, never bad input.
  case internalError = 1
  case usage = 64
  case dataError = 65
  case noInput = 66
  case cannotCreate = 73
  case temporaryFailure = 75
  case configuration = 78
}

/// Where a problem is: a file, and the line, column or element inside it.
package struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
  package var path: String
  package var line: Int?
  package var column: Int?
  package var element: String?

  package init(path: String, line: Int? = nil, column: Int? = nil, element: String? = nil) {
    self.path = path
    self.line = line
    self.column = column
    self.element = element
  }

  package var description: String {
    var text = path
    if let line { text += ":\(line)" }
    if line != nil, let column { text += ":\(column)" }
    if let element { text += " <\(element)>" }
    return text
  }
}

/// An error that stops a command: it carries its sysexits status, where it happened and what to do.
///
/// Printed like a compiler diagnostic: `path:line:column: message (what to do)`.
package struct SISDropError: Error, CustomStringConvertible, Sendable {
  package var status: ExitStatus
  package var location: SourceLocation?
  package var message: String
  /// What the operator should do about it.
  package var hint: String?

  package init(
    _ status: ExitStatus, _ message: String, at location: SourceLocation? = nil, hint: String? = nil
  ) {
    self.status = status
    self.message = message
    self.location = location
    self.hint = hint
  }

  package var description: String {
    var text = location.map { "\($0): \(message)" } ?? message
    if let hint { text += " — \(hint)" }
    return text
  }

  package static func dataError(
    _ message: String, at location: SourceLocation?, hint: String? = nil
  ) -> SISDropError {
    SISDropError(.dataError, message, at: location, hint: hint)
  }
  package static func configuration(
    _ message: String, at location: SourceLocation?, hint: String? = nil
  ) -> SISDropError {
    SISDropError(.configuration, message, at: location, hint: hint)
  }
  package static func missingInput(_ path: String, hint: String? = nil) -> SISDropError {
    SISDropError(.noInput, "file not found", at: SourceLocation(path: path), hint: hint)
  }
}

/// An error of a lower layer that knows its sysexits status (SQLite's: busy is temporary), so that
/// `exitStatus` needs no knowledge of the layers above Support.
package protocol ExitStatusError: Error {
  var exitStatus: ExitStatus { get }
}

extension Error {
  /// The sysexits status of any error: sisdrop's own carry one; POSIX file errors map to the nearest.
  package var exitStatus: ExitStatus {
    if let error = self as? SISDropError { return error.status }
    if let error = self as? FileError { return error.status }
    if let error = self as? any ExitStatusError { return error.exitStatus }
    return .internalError
  }
}
