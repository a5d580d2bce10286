import Foundation
import SISDropCore
import SISDropFormats
import Yams

/// A feed's file format.
package enum FeedFormat: String, Sendable, Codable, CaseIterable { case csv, xml }

/// How one feed (the SIS export, the enrollment submissions) is read.
package struct FeedConfig: Sendable {
  package var format: FeedFormat = .csv
  package var encoding: TextEncoding = .utf8
  package var delimiter: UInt8 = UInt8(ascii: ",")
  package var dateFormats: [DatePattern] = [.monthDayYear, .iso]
  /// Inbox file name per layout name (`students` → `students.csv`).
  package var files: [String: String] = [:]
  /// Other header or element names per layout: alias → field.
  package var headerAliases: [String: [String: String]] = [:]
  /// Structurally bad rows (stray quote, ragged, invalid encoding, over a length cap) the SIS
  /// export may carry before it is refused whole (`sis_export.max_rejected_rows`; default 0).
  package var maxRejectedRows = 0
  /// The share of the last accepted SIS export's students below which a students export is
  /// taken for a cut-off one and refused (`sis_export.min_ratio`; default 0.9).
  package var minRatio = 0.9
  /// The length caps (`limits:`), applied by the readers to every field and record.
  package var limits = ReadLimits()
  /// SIS export files that also arrive as deltas (`sis_export.mode`; students and contacts only).
  package var deltaLayouts: Set<String> = []
  /// A delta file's inbox name per layout (`sis_export.delta.files`; default `<name>_delta.<ext>`).
  package var deltaFiles: [String: String] = [:]
  /// The column that marks a delta row (`sis_export.delta.marker_column`) and its values: a row
  /// marked deleted is deleted by key; one marked updated must update a key the snapshot has.
  package var markerColumn = "Deleted"
  package var deleteValues = ["Y", "D", "1", "TRUE", "YES", "DELETE", "DELETED"]
  package var updateValues = ["U", "UPDATE"]
  /// A full export is required at least this often when deltas are configured (`sis_export.full_every_days`).
  package var fullEveryDays = 7

  /// The delta file names by layout, for the layouts in delta mode.
  package var deltaFileNames: [String: String] {
    var names: [String: String] = [:]
    for layout in deltaLayouts.sorted() {
      let full = files[layout] ?? "\(layout).csv"
      names[layout] =
        deltaFiles[layout]
        ?? ((full as NSString).deletingPathExtension + "_delta."
          + ((full as NSString).pathExtension.isEmpty ? "csv" : (full as NSString).pathExtension))
    }
    return names
  }
  /// The inbox folder holding the submissions' uploaded documents, `<folder>/<Submission_ID>/<File_Name>`
  /// (`submissions.documents_folder`; default `documents`). Claimed with the submissions feed.
  package var documentsFolder = "documents"

  package var dialect: CSVDialect {
    CSVDialect(
      delimiter: delimiter, encoding: encoding, limits: limits,
      notUTF8Advice: CSVDialect.configurableEncodingAdvice)
  }

  package init(files: [String: String] = [:]) { self.files = files }
}

/// How far back a Raptor tardy may be dated (`tardies.not_before`).
package enum TardyBound: Sendable, Equatable {
  /// From July 1 of the school year of the run's day (the default).
  case schoolYear
  /// From this many days before the run's day.
  case days(Int)
  /// Any date.
  case none
}

/// One column of a delivery file: its header and the record field it carries.
package struct DeliveryColumn: Sendable, Hashable, Codable {
  package var name: String
  package var field: String
  /// The pipeline line that named the column (nil for the default layout): field-policy errors name it.
  package var line: Int? = nil
}

/// The configurable CSV delivery profile.
package struct CSVProfileConfig: Sendable {
  package var writer = CSVWriterOptions(lineEnding: .crlf)
  package var dateFormat: DatePattern = .monthDayYear
  /// Delivery file → its columns, for `students_new`, `students_update`, `contacts_new`, `contacts_update`,
  /// `documents` and `attendance`.
  package var files: [String: [DeliveryColumn]] = CSVProfileConfig.defaultFiles

  package static let studentColumns = [
    FieldName.stateStudentNumber, FieldName.firstName, FieldName.middleName, FieldName.lastName,
    FieldName.birthDate, FieldName.gender, FieldName.gradeLevel,
    FieldName.schoolID,
    FieldName.street, FieldName.city, FieldName.state, FieldName.zip, FieldName.homePhone,
    FieldName.email,
  ]
  package static let contactColumns = [
    FieldName.contactID, FieldName.studentNumber, "Student_Ref", "Contact_Ref",
    FieldName.submissionID, FieldName.firstName,
    FieldName.lastName, FieldName.relationship,
    FieldName.phone, FieldName.email, FieldName.street, FieldName.city, FieldName.state,
    FieldName.zip,
  ]
  /// The Raptor tardy feed's attendance import file.
  package static let attendanceColumns = [
    FieldName.studentNumber, FieldName.schoolID, "Att_Date", FieldName.attCode, "Att_Time",
    "Att_Comment",
  ]
  /// Fields a file may carry beyond its default columns, when the district's SIS import takes them:
  /// `Enroll_Status` in an update makes a returning child the SIS shows as transferred out active
  /// again (the match compares it; a form without it says `0`).
  package static let optionalFields: [String: [String]] = [
    "students_update": [FieldName.enrollStatus]
  ]
  package static let defaultFiles: [String: [DeliveryColumn]] = [
    "attendance": attendanceColumns.map { DeliveryColumn(name: $0, field: $0) },
    "students_new": ([FieldName.submissionID, "Student_Ref"] + studentColumns).map {
      DeliveryColumn(name: $0, field: $0)
    },
    "students_update": ([FieldName.studentNumber, FieldName.submissionID] + studentColumns).map {
      DeliveryColumn(name: $0, field: $0)
    },
    "contacts_new": contactColumns.map { DeliveryColumn(name: $0, field: $0) },
    "contacts_update": contactColumns.map { DeliveryColumn(name: $0, field: $0) },
    "documents":
      ([
        FieldName.studentNumber, "Student_Ref", FieldName.submissionID, FieldName.docType,
        FieldName.fileName, FieldName.sha256,
      ])
      .map { DeliveryColumn(name: $0, field: $0) },
  ]
}

/// A pipeline definition (`pipelines/*.yaml`): where files are, how feeds are read, how delivery is written.
///
/// Paths under `paths` are relative to the working directory; files named elsewhere (the Plugin.xml,
/// the mapping files) are relative to the config file's folder.
package struct PipelineConfig: Sendable {
  package var path: String
  /// SHA-256 of the YAML bytes.
  package var sha256: String
  package var districtName = "District"
  package var timeZone: TimeZone = TimeZone(identifier: "America/Chicago")!
  /// Whether `district.time_zone` names the zone (else times without one are read as America/Chicago).
  package var timeZoneConfigured = false
  package var workdir: String?
  package var inbox = "inbox"
  package var outbox = "outbox"
  package var archive = "archive"
  /// The line of each `paths` key the file gives (`inbox`, `outbox`, `archive`): `sisdrop check`
  /// names it beside a folder that is missing.
  package var pathLines: [String: Int] = [:]
  package var pluginPath: String?
  package var buildingMapPath: String?
  package var tardyCodesPath: String?

  /// Every section at its default: `load` fills one in from the file.
  package init(path: String, sha256: String) {
    self.path = path
    self.sha256 = sha256
  }
  package var sisExport = FeedConfig(files: [
    "students": "students.csv", "contacts": "contacts.csv", "schools": "schools.csv",
    "attendance_codes": "attendance_codes.csv",
  ])
  package var submissions = FeedConfig(files: [
    "submissions": "submissions.csv", "submission_contacts": "submission_contacts.csv",
    "submission_documents": "submission_documents.csv",
  ])
  package var matching = MatchingConfig()
  package var matcher: String { matching.method }
  package var csvProfile = CSVProfileConfig()
  package var delivery = DeliveryConfig()
  package var autoClose = true
  /// How far back a Raptor tardy may be dated (`tardies.not_before`): older ones are row errors.
  package var tardiesNotBefore = TardyBound.schoolYear
  /// What a differing field of a matched record does: deliver, review or keep-sis (Config/UpdatePolicy.swift).
  package var updates = UpdatePolicy()
  /// Pickup, schedule and notifications (Config/OperationsConfig.swift).
  package var operations = OperationsConfig()
  /// Confirmation from the SIS: within how many exports, the import results file (Config/ConfirmConfig.swift).
  package var confirm = ConfirmConfig()

  static let topKeys =
    [
      "version", "district", "workdir", "paths", "plugin", "mappings", "sis_export", "submissions",
      "matching", "updates", "delivery", "batch", "limits", "confirm", "tardies",
    ] + OperationsConfig.topKeys

  /// Loads and validates a pipeline file.
  ///
  /// - Throws: `SISDropError` (66 when missing, 78 for an unknown key or a bad value, naming key and line).
  package static func load(path: String) throws -> PipelineConfig {
    let absolute = FileSystem.absolute(path)
    guard FileSystem.exists(absolute) else {
      throw SISDropError.missingInput(
        absolute, hint: "name an existing pipeline file with --pipeline")
    }
    let bytes = try readBytes(absolute)
    return try parse(bytes: bytes, path: absolute)
  }

  /// What can be read of a pipeline file that `load` refuses: its keys that parse, defaults where
  /// a key is bad (a mapping file that is missing is left out); nil when the file is not there,
  /// cannot be read or is not a YAML document. For telling people of the refusal, never for running.
  package static func readableParts(path: String) -> PipelineConfig? {
    let absolute = FileSystem.absolute(path)
    guard let bytes = try? readBytes(absolute) else { return nil }
    return try? parseCollecting(bytes: bytes, path: absolute).0
  }

  /// The pipeline file's bytes. One this user cannot read (root's 0640 for the `sisdrop` user, a
  /// folder) is a configuration problem (78, as `check` and the README say), not a file sisdrop
  /// failed to create (73).
  package static func readBytes(_ path: String) throws -> [UInt8] {
    do {
      return try FileSystem.readFile(path)
    } catch let error as FileError {
      throw SISDropError(
        .configuration,
        "the pipeline file cannot be read: \(String(cString: strerror(error.code)))",
        at: SourceLocation(path: path),
        hint:
          "name the file itself with --pipeline, readable by the user that runs sisdrop (e.g. `chgrp sisdrop FILE; chmod 0640 FILE`)"
      )
    }
  }

  package static func parse(bytes: [UInt8], path: String) throws -> PipelineConfig {
    let (config, problems) = try parseCollecting(bytes: bytes, path: path)
    if let error = combined(problems, path: path) { throw error }
    return config
  }

  /// One error for a file's problems: the problem itself when there is one, else all of them in one message.
  package static func combined(_ problems: [SISDropError], path: String) -> SISDropError? {
    guard problems.count > 1 else { return problems.first }
    return SISDropError(
      .configuration,
      "\(problems.count) problems in the pipeline file:\n"
        + problems.map { "  \($0)" }.joined(separator: "\n"),
      at: SourceLocation(path: path),
      hint: "fix them all; `sisdrop check --pipeline \(path)` checks again without running")
  }

  /// Parses a pipeline file and records every problem instead of stopping at the first: where a key
  /// is bad, the config keeps its default, so that the checks after parsing still run.
  ///
  /// - Throws: only when the file is not a YAML document at all (not UTF-8, not YAML, empty).
  package static func parseCollecting(bytes: [UInt8], path: String) throws -> (
    PipelineConfig, [SISDropError]
  ) {
    let node = try document(bytes, path: path)
    var config = PipelineConfig(path: path, sha256: SHA256.hex(bytes))
    let base = (path as NSString).deletingLastPathComponent
    let problems = ConfigProblems()
    let root = try ConfigNode(node: node, keyPath: "", file: path, problems: problems).mapping(
      allowed: topKeys)
    parseDistrictAndPaths(root, into: &config, problems, base: base)
    parseNamedFiles(root, into: &config, problems, base: base)
    parseFeeds(root, into: &config, problems)
    parseDecisionsAndDelivery(root, into: &config, problems)
    config.operations = OperationsConfig.parse(
      root, districtZone: config.timeZone, problems: problems)
    // In the file's order, as an editor shows them.
    let ordered = problems.errors.enumerated().sorted {
      ($0.element.location?.line ?? 0, $0.offset) < ($1.element.location?.line ?? 0, $1.offset)
    }
    return (config, ordered.map(\.element))
  }

  /// The file's YAML document.
  ///
  /// - Throws: when the file is not UTF-8, not YAML, or empty.
  static func document(_ bytes: [UInt8], path: String) throws -> Node {
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw SISDropError.configuration(
        "the pipeline file is not UTF-8", at: SourceLocation(path: path))
    }
    let node: Node?
    do {
      node = try Yams.compose(yaml: text)
    } catch let error as YamlError {
      throw PipelineConfig.yamlProblem(error, path: path)
    }
    guard let node else {
      throw SISDropError.configuration("the pipeline file is empty", at: SourceLocation(path: path))
    }
    return node
  }

  /// A YAML error as one line naming the file, the line and what to do. Yams's own description of
  /// a duplicated key carries the whole file, and the others a copy of the line: this message goes
  /// to the cron log and the failed run's notification, so it names the place instead.
  static func yamlProblem(_ error: YamlError, path: String) -> SISDropError {
    func at(_ mark: Mark) -> SourceLocation {
      SourceLocation(path: path, line: mark.line, column: mark.column)
    }
    let fix = "fix the pipeline file's YAML and run `sisdrop check --pipeline \(path)`"
    switch error {
    case .duplicatedKeysInMapping(let duplicates, let context):
      let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
      return .configuration(
        "not valid YAML: \(keys) appears more than once in the same section (the first at this line)",
        at: at(context.mark),
        hint: "keep one of them, with every setting it needs, and remove the other")
    case .scanner(let context, let problem, let mark, _),
      .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" }
      return .configuration("not valid YAML: \(problem)\(during ?? "")", at: at(mark), hint: fix)
    case .reader(let problem, _, _, _):
      return .configuration("not valid YAML: \(problem)", at: SourceLocation(path: path), hint: fix)
    default:
      return .configuration(
        "not valid YAML: \(error)".replacingOccurrences(of: "\n", with: " "),
        at: SourceLocation(path: path), hint: fix)
    }
  }

  /// `version`, `district`, `workdir` and `paths`.
  static func parseDistrictAndPaths(
    _ root: [String: ConfigNode], into config: inout PipelineConfig, _ problems: ConfigProblems,
    base: String
  ) {
    problems.attempt {
      if let version = root["version"], try version.int(in: 1...1000) != 1 {
        throw version.error("this sisdrop reads pipeline version 1")
      }
    }
    problems.attempt {
      guard let district = try root["district"]?.mapping(allowed: ["name", "time_zone"]) else {
        return
      }
      problems.attempt {
        if let name = district["name"] { config.districtName = try name.string() }
      }
      problems.attempt {
        if let zone = district["time_zone"] {
          let id = try zone.string()
          guard let timeZone = TimeZone(identifier: id) else {
            throw zone.error("'\(id)' is not an IANA time zone", hint: PipelineConfig.timeZoneHint)
          }
          config.timeZone = timeZone
          config.timeZoneConfigured = true
        }
      }
    }
    problems.attempt {
      if let workdir = root["workdir"] {
        config.workdir = FileSystem.absolute(try workdir.string(), relativeTo: base)
      }
    }
    problems.attempt {
      guard let paths = try root["paths"]?.mapping(allowed: ["inbox", "outbox", "archive"]) else {
        return
      }
      problems.attempt { if let value = paths["inbox"] { config.inbox = try value.string() } }
      problems.attempt { if let value = paths["outbox"] { config.outbox = try value.string() } }
      problems.attempt { if let value = paths["archive"] { config.archive = try value.string() } }
      for (key, value) in paths where value.line > 0 { config.pathLines[key] = value.line }
    }
  }

  /// `plugin` and `mappings`: files that must exist (relative to the pipeline file's folder).
  static func parseNamedFiles(
    _ root: [String: ConfigNode], into config: inout PipelineConfig, _ problems: ConfigProblems,
    base: String
  ) {
    func file(_ node: ConfigNode) throws -> String {
      let resolved = FileSystem.absolute(try node.string(), relativeTo: base)
      guard FileSystem.exists(resolved) else {
        throw node.error(
          "file not found: \(resolved)", hint: "paths are relative to the pipeline file's folder")
      }
      return resolved
    }
    problems.attempt { if let plugin = root["plugin"] { config.pluginPath = try file(plugin) } }
    problems.attempt {
      guard let mappings = try root["mappings"]?.mapping(allowed: ["building_map", "tardy_codes"])
      else { return }
      problems.attempt {
        if let value = mappings["building_map"] { config.buildingMapPath = try file(value) }
      }
      problems.attempt {
        if let value = mappings["tardy_codes"] { config.tardyCodesPath = try file(value) }
      }
    }
  }

  /// `limits`, then the two feeds (which take the limits as their defaults).
  static func parseFeeds(
    _ root: [String: ConfigNode], into config: inout PipelineConfig, _ problems: ConfigProblems
  ) {
    problems.attempt {
      if let limits = try root["limits"]?.mapping(allowed: ["field_bytes", "record_bytes"]) {
        var caps = ReadLimits()
        if let value = limits["field_bytes"] {
          caps.fieldBytes = try value.int(in: 256...(64 << 20))
        }
        if let value = limits["record_bytes"] {
          caps.recordBytes = try value.int(in: 1024...(256 << 20))
        }
        if caps.fieldBytes > caps.recordBytes, let node = limits["field_bytes"] {
          throw node.error(
            "limits.field_bytes (\(caps.fieldBytes)) must not exceed limits.record_bytes (\(caps.recordBytes))"
          )
        }
        config.sisExport.limits = caps
        config.submissions.limits = caps
      }
    }
    problems.attempt {
      if let feed = root["sis_export"] {
        config.sisExport = try parseFeed(
          feed, defaults: config.sisExport, layouts: Layouts.sisExport, roster: true)
      }
    }
    problems.attempt {
      if let feed = root["submissions"] {
        config.submissions = try parseFeed(
          feed, defaults: config.submissions,
          layouts: [Layouts.submissions, Layouts.submissionContacts, Layouts.submissionDocuments])
      }
    }
  }

  /// `matching`, `updates`, `delivery`, `batch` and `confirm`.
  static func parseDecisionsAndDelivery(
    _ root: [String: ConfigNode], into config: inout PipelineConfig, _ problems: ConfigProblems
  ) {
    problems.attempt {
      if let matching = root["matching"] { config.matching = try MatchingConfig.parse(matching) }
    }
    problems.attempt {
      if let updates = root["updates"] { config.updates = try UpdatePolicy.parse(updates) }
    }
    problems.attempt {
      guard let delivery = try root["delivery"]?.mapping(allowed: DeliveryConfig.keys) else {
        return
      }
      problems.attempt { try config.delivery.parse(delivery) }
      problems.attempt {
        if let csv = delivery["csv"] { config.csvProfile = try parseCSVProfile(csv) }
      }
    }
    problems.attempt {
      if let batch = try root["batch"]?.mapping(allowed: ["auto_close"]) {
        if let value = batch["auto_close"] { config.autoClose = try value.bool() }
      }
    }
    problems.attempt { if let confirm = root["confirm"] { try config.confirm.parse(confirm) } }
    problems.attempt {
      guard let tardies = try root["tardies"]?.mapping(allowed: ["not_before"]),
        let value = tardies["not_before"]
      else { return }
      switch try value.string() {
      case "school_year": config.tardiesNotBefore = .schoolYear
      case "none": config.tardiesNotBefore = .none
      case let text:
        guard let days = Int(text), (1...3660).contains(days) else {
          throw value.error(
            "expected school_year, none or a number of days (1...3660), found '\(text)'",
            hint:
              "school_year (the default) refuses tardies dated before July 1 of the run's school year"
          )
        }
        config.tardiesNotBefore = .days(days)
      }
    }
  }

  private static func parseFeed(
    _ node: ConfigNode, defaults: FeedConfig, layouts: [Layout], roster: Bool = false
  ) throws -> FeedConfig {
    var feed = defaults
    let keys = try node.mapping(
      allowed: ["format", "encoding", "delimiter", "date_formats", "files", "header_aliases"]
        + (roster
          ? ["max_rejected_rows", "min_ratio", "mode", "delta", "full_every_days"]
          : ["documents_folder"]))
    try parseModes(keys, layouts: layouts, into: &feed)
    try parseDelta(keys, into: &feed)
    try parseFeedChecks(keys, into: &feed)
    try parseReading(keys, into: &feed)
    try parseFilesAndAliases(keys, layouts: layouts, into: &feed)
    return feed
  }

  /// `mode`: which files of the SIS export are read as deltas.
  private static func parseModes(
    _ keys: [String: ConfigNode], layouts: [Layout], into feed: inout FeedConfig
  ) throws {
    if let mode = keys["mode"] {
      // `mode: delta` (students and contacts) or per file: `mode: {students: delta, contacts: full}`.
      var modes: [(String, ConfigNode)] = []
      if case .scalar = mode.node {
        modes = [("students", mode), ("contacts", mode)]
      } else {
        modes = try mode.freeMapping()
      }
      for (name, value) in modes {
        let choice = try value.string()
        guard choice == "full" || choice == "delta" else {
          throw value.error("expected full or delta")
        }
        guard choice == "full" || name == "students" || name == "contacts" else {
          throw value.error(
            "only students and contacts can be read as deltas (they have keys)",
            hint: "use full for \(name)")
        }
        guard layouts.contains(where: { $0.name == name }) else {
          throw value.error("unknown file '\(name)'")
        }
        if choice == "delta" {
          feed.deltaLayouts.insert(name)
        } else {
          feed.deltaLayouts.remove(name)
        }
      }
    }
  }

  /// `delta`: the delta files and their marker column.
  private static func parseDelta(_ keys: [String: ConfigNode], into feed: inout FeedConfig) throws {
    if let delta = try keys["delta"]?.mapping(allowed: [
      "files", "marker_column", "delete_values", "update_values",
    ]) {
      if let files = delta["files"] {
        for (name, value) in try files.freeMapping() {
          guard name == "students" || name == "contacts" else {
            throw value.error("only students and contacts have delta files")
          }
          feed.deltaFiles[name] = try value.string()
        }
      }
      if let value = delta["marker_column"] { feed.markerColumn = try value.string() }
      if let value = delta["delete_values"] {
        feed.deleteValues = try value.stringList().map { $0.uppercased() }
      }
      if let value = delta["update_values"] {
        feed.updateValues = try value.stringList().map { $0.uppercased() }
      }
    }
  }

  /// `full_every_days`, `documents_folder`, `max_rejected_rows` and `min_ratio`.
  private static func parseFeedChecks(_ keys: [String: ConfigNode], into feed: inout FeedConfig)
    throws
  {
    if let value = keys["full_every_days"] { feed.fullEveryDays = try value.int(in: 1...366) }
    if let value = keys["documents_folder"] {
      let name = try value.string()
      guard FileNames.isPlain(name) else {
        throw value.error(
          "'\(LogText.escaped(name))' is not a folder name of the inbox",
          hint: "one plain name, no '/', e.g. documents")
      }
      feed.documentsFolder = name
    }
    if let value = keys["max_rejected_rows"] {
      feed.maxRejectedRows = try value.int(in: 0...1_000_000)
    }
    if let value = keys["min_ratio"] {
      guard let ratio = Double(try value.string()), ratio >= 0, ratio <= 1 else {
        throw value.error("expected a share between 0 and 1, e.g. 0.9 (0 turns the check off)")
      }
      feed.minRatio = ratio
    }
  }

  /// `format`, `encoding`, `delimiter` and `date_formats`: how the feed's files are read.
  private static func parseReading(_ keys: [String: ConfigNode], into feed: inout FeedConfig) throws
  {
    if let format = keys["format"] {
      feed.format = try format.choice(FeedFormat.self)
      if feed.format == .xml && keys["files"] == nil {
        feed.files = feed.files.mapValues { ($0 as NSString).deletingPathExtension + ".xml" }
        if feed.files["submissions"] != nil { feed.files = ["submissions": "submissions.xml"] }
      }
    }
    if let encoding = keys["encoding"] { feed.encoding = try encoding.choice(TextEncoding.self) }
    if let delimiter = keys["delimiter"] { feed.delimiter = try delimiter.delimiter() }
    if let formats = keys["date_formats"] {
      feed.dateFormats = try formats.list().map { item in
        let text = try item.string()
        guard let pattern = DatePattern(text) else {
          throw item.error(
            "'\(text)' is not a date format",
            hint: "use MM, DD, YYYY (or M, D) with separators, e.g. MM/DD/YYYY")
        }
        return pattern
      }
    }
  }

  /// `files` (the file of each layout) and `header_aliases` (other header names for its fields).
  private static func parseFilesAndAliases(
    _ keys: [String: ConfigNode], layouts: [Layout], into feed: inout FeedConfig
  ) throws {
    let names = layouts.map(\.name)
    if let files = keys["files"] {
      feed.files = [:]
      for (name, value) in try files.freeMapping() {
        guard names.contains(name) else {
          throw value.error(
            "unknown file '\(name)'", hint: "one of: \(names.joined(separator: ", "))")
        }
        feed.files[name] = try value.string()
      }
    }
    if let aliases = keys["header_aliases"] {
      for (name, value) in try aliases.freeMapping() {
        guard let layout = layouts.first(where: { $0.name == name }) else {
          throw value.error(
            "unknown layout '\(name)'", hint: "one of: \(names.joined(separator: ", "))")
        }
        var map: [String: String] = [:]
        for (alias, field) in try value.freeMapping() {
          let target = try field.string()
          guard layout.fields.contains(target) else {
            throw field.error(
              "'\(target)' is not a \(name) field",
              hint: "fields: \(layout.fields.joined(separator: ", "))")
          }
          map[alias] = target
        }
        feed.headerAliases[name] = map
      }
    }
  }

  private static func parseCSVProfile(_ node: ConfigNode) throws -> CSVProfileConfig {
    var profile = CSVProfileConfig()
    let keys = try node.mapping(allowed: [
      "delimiter", "line_ending", "encoding", "quote_all", "date_format", "files",
    ])
    if let value = keys["delimiter"] { profile.writer.delimiter = try value.delimiter() }
    if let value = keys["line_ending"] {
      guard let ending = CSVWriterOptions.LineEnding(rawValue: try value.string()) else {
        throw value.error("expected lf or crlf")
      }
      profile.writer.lineEnding = ending
    }
    if let value = keys["encoding"] {
      guard let encoding = CSVWriterOptions.OutputEncoding(rawValue: try value.string()) else {
        throw value.error("expected utf-8, utf-8-bom or windows-1252")
      }
      profile.writer.encoding = encoding
    }
    if let value = keys["quote_all"] { profile.writer.quoteAll = try value.bool() }
    if let value = keys["date_format"] {
      guard let pattern = DatePattern(try value.string()) else {
        throw value.error("not a date format")
      }
      profile.dateFormat = pattern
    }
    if let files = keys["files"] {
      for (name, value) in try files.freeMapping() {
        guard let known = CSVProfileConfig.defaultFiles[name] else {
          throw value.error(
            "unknown delivery file '\(name)'",
            hint: "one of: \(CSVProfileConfig.defaultFiles.keys.sorted().joined(separator: ", "))")
        }
        let allowedFields = Set(known.map(\.field) + (CSVProfileConfig.optionalFields[name] ?? []))
        profile.files[name] = try value.list().map { item in
          // A column is either `Field` or `{Header: Field}`.
          if case .scalar = item.node {
            let field = try item.string()
            guard allowedFields.contains(field) else {
              throw item.error(
                "unknown field '\(field)' for \(name)",
                hint:
                  "fields: \((known.map(\.field) + (CSVProfileConfig.optionalFields[name] ?? [])).joined(separator: ", "))"
              )
            }
            return DeliveryColumn(name: field, field: field, line: item.line)
          }
          let pairs = try item.freeMapping()
          guard pairs.count == 1, let (header, fieldNode) = pairs.first else {
            throw item.error("a column is a field name or one 'Header: Field' pair")
          }
          let field = try fieldNode.string()
          guard allowedFields.contains(field) else {
            throw fieldNode.error(
              "unknown field '\(field)' for \(name)",
              hint:
                "fields: \((known.map(\.field) + (CSVProfileConfig.optionalFields[name] ?? [])).joined(separator: ", "))"
            )
          }
          return DeliveryColumn(name: header, field: field, line: item.line)
        }
      }
    }
    return profile
  }

  /// What to do about a zone name this machine does not know: without tzdata it knows none.
  static var timeZoneHint: String {
    FileSystem.isDirectory("/usr/share/zoneinfo")
      ? "use a name such as America/Chicago"
      : "this machine has no time zone database (/usr/share/zoneinfo): install tzdata; names are like America/Chicago"
  }

  /// A path under `paths`, resolved against the working directory.
  package func resolve(_ path: String, workdir: String) -> String {
    FileSystem.absolute(path, relativeTo: workdir)
  }
}
