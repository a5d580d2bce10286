import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats

/// The configurable CSV delivery profile (`delivery.csv`): columns and order per file, delimiter,
/// quoting, date format, encoding and line endings. Identifiers are written as text, never numbers.
struct CSVProfile: DeliveryProfile {
  let config: CSVProfileConfig

  /// Fields holding calendar dates (ISO inside sisdrop): written in the profile's date format.
  static let dateFields: Set<String> = [FieldName.birthDate, "Att_Date"]

  func columns(_ kind: DeliveryKind) -> [DeliveryColumn] { config.files[kind.rawValue] ?? [] }

  var policyColumns: [PolicyColumn] {
    DeliveryKind.allCases.flatMap { kind in
      columns(kind).map {
        PolicyColumn(
          file: kind.rawValue, column: $0.name, kind: kind, field: $0.field, line: $0.line)
      }
    }
  }

  /// A value as the profile writes it (dates in the profile's format).
  func value(_ field: String, _ raw: String) -> String {
    if CSVProfile.dateFields.contains(field), let date = CalendarDate(iso: raw) {
      return config.dateFormat.format(date)
    }
    return raw
  }

  /// A record's row: an update (or a link to a new contact) carries its keys and only its changed fields, the rest blank.
  func row(_ record: DeliveryRecord) -> [String] {
    columns(record.kind).map { column in
      record.carries(column.field) ? value(column.field, record[column.field]) : ""
    }
  }

  /// Checks the values `row` actually writes: an update's blank unchanged columns never block it.
  func problem(with record: DeliveryRecord) -> DeliveryProblem? {
    guard config.writer.encoding == .windows1252 else { return nil }
    for (column, value) in zip(columns(record.kind), row(record))
    where Windows1252.fromString(value) == nil {
      return .unwritable(
        record, field: column.field, value: value,
        reason: "the value cannot be written in windows-1252 (the delivery file's encoding)",
        otherwise: "set delivery.csv.encoding to utf-8 if the SIS import accepts it")
    }
    return nil
  }

  func write(
    _ records: [DeliveryRecord], kinds: [DeliveryKind], context: DeliveryContext, folder: String
  ) throws -> [WrittenFile] {
    var written: [WrittenFile] = []
    for kind in kinds where config.files[kind.rawValue] != nil {
      let name = "\(context.prefix)_\(kind.rawValue).csv"
      let writer = try CSVWriter(path: folder + "/" + name, options: config.writer)
      try writer.write(columns(kind).map(\.name))
      for record in records where record.kind == kind { try writer.write(row(record)) }
      try writer.close()
      written.append(WrittenFile(name: name, rows: writer.rows - 1))
    }
    return written
  }
}
