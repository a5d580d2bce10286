import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats

/// One record to deliver, by layout field names, before any profile shapes it.
///
/// Its fields are kept packed (`PackedFields`): a batch's plan holds every record it delivers.
package struct DeliveryRecord: Sendable, Hashable {
  package var kind: DeliveryKind
  package var submissionID: String
  package var seq: Int
  private var packedFields: PackedFields
  package var fields: [String: String] {
    get { packedFields.dictionary }
    set { packedFields = PackedFields(newValue) }
  }
  /// For an update: the changed fields (an update carries the key and only these).
  package var changed: [String]
  private var packedCurrent = PackedFields()
  /// For an update: the SIS's current values (and `Contact_IDs`, a student's SIS contacts), for a
  /// profile whose rows replace whole records (OneRoster delta).
  package var current: [String: String] {
    get { packedCurrent.dictionary }
    set { packedCurrent = PackedFields(newValue) }
  }
  /// A new contact already created by an earlier row of the delivery (`Contact_Ref`): the row
  /// links another student to it and carries its keys, references and `changed` only.
  package var isLink = false
  /// Whether a file carries `field` for this record: all of a new record; of an update or a link,
  /// its keys, references and changed fields.
  func carries(_ field: String) -> Bool {
    !(kind.isUpdate || isLink) || changed.contains(field) || kind.keys.contains(field)
      || DeliveryProfiles.references.contains(field)
  }

  package init(
    kind: DeliveryKind, submissionID: String, seq: Int, fields: [String: String],
    changed: [String] = []
  ) {
    self.kind = kind
    self.submissionID = submissionID
    self.seq = seq
    self.packedFields = PackedFields(fields)
    self.changed = changed
  }

  package subscript(_ field: String) -> String { packedFields[field] ?? "" }
  /// One of `current`'s values, nil when the SIS has none.
  package func current(_ field: String) -> String? { packedCurrent[field] }
}

/// A column a profile writes and the SIS field it carries: what the field policy checks.
package struct PolicyColumn: Sendable, Hashable {
  var file: String
  var column: String
  package var kind: DeliveryKind
  package var field: String
  /// The pipeline line that configured the column, when the pipeline did.
  var line: Int? = nil
}

/// A file a profile wrote, relative to the output folder (a OneRoster bundle is one folder deep).
package struct WrittenFile: Sendable, Hashable {
  package var name: String
  package var rows: Int
}

/// Why a record cannot be written by a profile (for errors.csv).
package struct DeliveryProblem: Sendable, Hashable {
  package var field: String
  package var value: String
  package var reason: String
  package var action: String

  /// A value a profile cannot write: the action is `sisdrop correct` only for a field corrections
  /// may change (names, birth date... are corrected in the enrollment system), plus `otherwise`.
  static func unwritable(
    _ record: DeliveryRecord, field: String, value: String, reason: String, otherwise: String? = nil
  ) -> DeliveryProblem {
    let schema = record.kind.schema
    var action =
      (Corrections.correctable[schema] ?? []).contains(field)
      ? correction(record, field: field)
      : "correct it in the enrollment system; the corrected submission comes again with the next export"
    if let otherwise { action += ", or \(otherwise)" }
    return DeliveryProblem(field: field, value: value, reason: reason, action: action)
  }

  /// What to do about a value `sisdrop correct` may change. `sisdrop-deliver --only` takes only a
  /// batch that is still open; the shipped pipelines close it in the run (`auto_close: true`), and
  /// then the next `sisdrop run` delivers the corrected record.
  static func correction(_ record: DeliveryRecord, field: String) -> String {
    let command = Corrections.command(
      record.submissionID, schema: record.kind.schema, seq: record.seq, field: field)
    return
      "correct it with `\(command)`; the next `sisdrop run` delivers it (while its batch is still open: `sisdrop-deliver --only \(shellQuote(record.submissionID))`)"
  }
}

/// What a profile needs beyond the records: names and times that are the same on every rerun.
package struct DeliveryContext: Sendable {
  /// The file name prefix: the batch id (or a re-delivery's id).
  package var prefix: String
  /// The batch's opening time (ISO 8601): OneRoster's `dateLastModified` in delta mode.
  var batchTime: String
  var districtName: String
  /// SIS school number → name.
  var schools: [String: String]
  /// Default id (`stu-<number>`, `con-<id>`) → the id the record was first delivered under (StableIDs).
  var sourcedIDs: [String: String] = [:]
  /// Where the delivery's document files come from and go, and what was sent before.
  package var documents: DocumentDelivery? = nil

  package init(
    prefix: String, batchTime: String, districtName: String, schools: [String: String],
    sourcedIDs: [String: String] = [:], documents: DocumentDelivery? = nil
  ) {
    self.prefix = prefix
    self.batchTime = batchTime
    self.districtName = districtName
    self.schools = schools
    self.sourcedIDs = sourcedIDs
    self.documents = documents
  }
}

/// The document files of one delivery: copied from the batch's claimed uploads into
/// `<documents folder>/<Submission_ID>/<File_Name>` beside the delivery files.
package struct DocumentDelivery: Sendable {
  /// The batch's claimed documents folder (`input/documents`).
  package var source: String
  /// The delivery's documents folder, relative to the delivery folder (`<batch>_documents`).
  package var folder: String
  /// SHA-256 → the delivery that already sent it (never sent again).
  package var sent: [String: String]

  package init(source: String, folder: String, sent: [String: String]) {
    self.source = source
    self.folder = folder
    self.sent = sent
  }
}

/// A delivery profile: how records become the files a SIS imports.
///
/// Every profile writes new records and updates into separate files, puts the batch id in
/// every file name, and writes only columns whose fields Plugin.xml grants `FullAccess`.
package protocol DeliveryProfile {
  /// Every column the profile may write, for the field policy.
  var policyColumns: [PolicyColumn] { get }
  /// Why a record cannot be written (a value the file's encoding cannot hold), or nil.
  func problem(with record: DeliveryRecord) -> DeliveryProblem?
  /// Writes the files for `kinds` (an empty kind still gets its file, so a batch's shape is fixed).
  func write(
    _ records: [DeliveryRecord], kinds: [DeliveryKind], context: DeliveryContext, folder: String
  ) throws -> [WrittenFile]
}

package enum DeliveryProfiles {
  /// The pipeline's profile.
  package static func make(_ config: PipelineConfig) -> DeliveryProfile {
    switch config.delivery.profile {
    case .csv: return CSVProfile(config: config.csvProfile)
    case .oneroster:
      return OneRosterProfile(
        config: config.delivery.oneRoster, sidecar: CSVProfile(config: config.csvProfile))
    case .xml: return XMLProfile(config: config.csvProfile)
    }
  }

  /// The field policy: every column must carry a field Plugin.xml grants (FullAccess, or read for keys).
  ///
  /// - Throws: `SISDropError` 78 naming the column, the file, the table and the field.
  /// Documents are not checked: their columns name the submission's uploaded files (type, name,
  /// hash) and the student they belong to, not fields of an SIS table Plugin.xml lists.
  package static func checkPolicy(
    _ profile: DeliveryProfile, plugin: PluginManifest?, pluginPath: String?,
    kinds: Set<DeliveryKind>,
    pipelinePath: String? = nil
  ) throws {
    if let first = policyProblems(
      profile, plugin: plugin, pluginPath: pluginPath, kinds: kinds, pipelinePath: pipelinePath
    ).first {
      throw first
    }
  }

  /// Every column the field policy refuses (`sisdrop check` lists them all).
  package static func policyProblems(
    _ profile: DeliveryProfile, plugin: PluginManifest?, pluginPath: String?,
    kinds: Set<DeliveryKind>,
    pipelinePath: String? = nil
  ) -> [SISDropError] {
    guard let plugin else { return [] }
    var problems: [SISDropError] = []
    for column in profile.policyColumns where kinds.contains(column.kind) {
      if column.kind == .documents || references.contains(column.field) { continue }
      let isKey = column.kind.keys.contains(column.field)
      let table = column.kind.table
      let granted =
        isKey
        ? plugin.canRead(table: table, field: column.field)
        : plugin.canWrite(table: table, field: column.field)
      if !granted {
        problems.append(
          SISDropError.configuration(
            "delivery column '\(column.column)' of \(column.file)"
              + (column.line.map { " (\(pipelinePath ?? "pipeline"):\($0))" }
                ?? (pipelinePath.map { " (the default layout of \($0))" } ?? ""))
              + " writes \(table).\(column.field), which Plugin.xml does not grant \(isKey ? "access to" : "FullAccess")",
            at: SourceLocation(path: pluginPath ?? "Plugin.xml"),
            hint:
              "grant it in Plugin.xml's access_request, or remove the column from the delivery profile in the pipeline config"
          ))
      }
    }
    return problems
  }

  /// Columns that are references back to the enrollment, not SIS fields.
  static let references: Set<String> = [FieldName.submissionID, "Student_Ref", "Contact_Ref"]

  /// The fields a profile's file for `kind` carries.
  package static func carried(_ profile: DeliveryProfile, _ kind: DeliveryKind) -> Set<String> {
    Set(profile.policyColumns.filter { $0.kind == kind }.map(\.field))
  }

  /// What a file must carry to create its record: without it the SIS import would make a blank or
  /// unusable record (or none) while sisdrop marked the submission delivered.
  static let creationFields: [DeliveryKind: (record: String, fields: [String])] = [
    .studentsNew: ("a student", [FieldName.firstName, FieldName.lastName, FieldName.birthDate]),
    .contactsNew: ("a contact", [FieldName.firstName, FieldName.lastName]),
    .attendance: (
      "an attendance record", [FieldName.studentNumber, "Att_Date", FieldName.attCode]
    ),
  ]

  /// Every file that creates records carries what creating one needs, unless the pipeline says the
  /// SIS import does not create that kind (`delivery.create`).
  ///
  /// - Throws: `SISDropError` 78 naming the file, the missing fields and the two ways out.
  package static func checkCreation(
    _ profile: DeliveryProfile, kinds: Set<DeliveryKind>, config: PipelineConfig
  ) throws {
    for kind in DeliveryKind.allCases where kinds.contains(kind) && config.delivery.creates(kind) {
      guard let (record, fields) = creationFields[kind] else { continue }
      let carried = carried(profile, kind)
      let missing = fields.filter { !carried.contains($0) }
      guard !missing.isEmpty else { continue }
      let escape =
        kind == .attendance
        ? "add them to delivery.csv.files.attendance"
        : "add them to delivery.csv.files.\(kind.rawValue), or set `delivery.create: {\(kind.schema)s: false}` if the SIS import cannot create \(kind.schema)s (new \(kind.schema)s then stay pending for a person to create in the SIS)"
      throw SISDropError.configuration(
        "the \(kind.rawValue) delivery file cannot create \(record): it has no \(missing.joined(separator: ", ")) column (creating \(record) needs \(fields.joined(separator: ", ")))",
        at: SourceLocation(path: config.path), hint: escape)
    }
  }
}
