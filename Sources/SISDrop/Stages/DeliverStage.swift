import Foundation

/// The deliver stage: writes the delivery files the SIS imports and publishes them to the outbox.
///
/// New students, updated students (the key and only the changed fields), contacts and documents,
/// each file named with the batch id; a submission with an unresolved potential match is held
/// back (`held.csv`); records that failed parse or normalize are listed in `errors.csv` (record,
/// schema, field, value, reason, what to do) and stay pending; `delivered.csv` lists what close
/// marks delivered. Only fields the Plugin.xml grants FullAccess are written.
public enum DeliverStage {
  public static let errorsHeader = ["Submission_ID", "Schema", "Seq", "Field", "Value", "Reason", "What_To_Do", "Stage", "File", "Line"]

  public static func run(_ context: StageContext) throws {
    let config = context.config
    let plugin = try config.pluginPath.map { try PluginManifest.load(path: $0) }
    let profile = CSVProfile(config: config.csvProfile)
    try profile.checkPolicy(plugin, pluginPath: config.pluginPath)
    let batch = context.batch.id

    let submissions = try JSONLines.read(Submission.self, from: context.folder(of: .normalize) + "/submissions.jsonl")
    let decisions = Dictionary(
      uniqueKeysWithValues: try JSONLines.read(SubmissionDecision.self, from: context.folder(of: .match) + "/decisions.jsonl")
        .map { ($0.submissionID, $0) })

    var rows: [String: [[String]]] = [:]
    var held: [[String]] = []
    var delivered: [[String]] = []
    var errors: [[String]] = []
    for stage in [Stage.parse, .normalize] {
      for row in try BatchLifecycle.readTable(context.folder(of: stage) + "/rejects.csv") {
        // Reject.header: Submission_ID, Schema, Seq, Field, Value, Reason, What_To_Do, File, Line
        errors.append(Array(row[0..<7]) + [stage.rawValue] + Array(row[7..<9]))
      }
    }

    for submission in submissions {
      guard let decision = decisions[submission.id] else {
        throw SISDropError.dataError("submission \(submission.id) has no match decision", at: SourceLocation(path: context.folder(of: .match)),
                                     hint: "rerun the match stage")
      }
      if decision.needsReview {
        for student in decision.students where student.decision.outcome == .potential {
          held.append([
            submission.id, String(student.seq), student.decision.candidates.map(\.sisID).joined(separator: " "),
            "potential match: resolve it (Match to one candidate, or No Match), then deliver again",
          ])
        }
        continue
      }
      var files: [String: [[String]]] = [:]
      var sisNumber: [Int: String] = [:]
      for (index, student) in submission.students.enumerated() {
        let studentDecision = decision.students[index]
        var values = student.fields
        values["Submission_ID"] = submission.id
        values["Student_Ref"] = Submission.studentRef(submission.id, student.seq)
        if studentDecision.decision.outcome == .matched, let id = studentDecision.decision.sisID {
          sisNumber[student.seq] = id
          guard !studentDecision.differences.isEmpty else { continue }
          // An update carries the key and only the changed fields.
          let changed = Set(studentDecision.differences.map(\.field))
          var update = ["Student_Number": id, "Submission_ID": submission.id]
          for field in changed { update[field] = values[field] ?? "" }
          files["students_update", default: []].append(row(for: "students_update", update, profile))
        } else {
          files["students_new", default: []].append(row(for: "students_new", values, profile))
        }
      }
      // Contacts belong to every student of the submission (siblings share their guardians).
      for contact in submission.contacts {
        guard let contactDecision = decision.contacts.first(where: { $0.seq == contact.seq }) else { continue }
        if contactDecision.outcome == .matched && contactDecision.differences.isEmpty { continue }
        for student in submission.students {
          var values = contact.fields
          values["Submission_ID"] = submission.id
          values["Student_Ref"] = Submission.studentRef(submission.id, student.seq)
          values["Student_Number"] = sisNumber[student.seq] ?? ""
          values["Contact_ID"] = contactDecision.contactID ?? ""
          files["contacts", default: []].append(row(for: "contacts", values, profile))
        }
      }
      for document in submission.documents {
        var values = document.fields
        values["Submission_ID"] = submission.id
        let owner = submission.students.first!.seq
        values["Student_Ref"] = Submission.studentRef(submission.id, owner)
        values["Student_Number"] = sisNumber[owner] ?? ""
        files["documents", default: []].append(row(for: "documents", values, profile))
      }
      // A value the file's encoding cannot hold is an error for that record, never a `?`.
      if let bad = files.values.joined().first(where: { CSVWriter.encode($0, options: config.csvProfile.writer) == nil }) {
        errors.append([submission.id, "student", "", "", bad.joined(separator: " "),
                       "a value cannot be written in \(config.csvProfile.writer.encoding.rawValue)",
                       "correct the value or choose utf-8 for the delivery profile", Stage.deliver.rawValue, "", ""])
        continue
      }
      for (file, fileRows) in files { rows[file, default: []] += fileRows }
      delivered.append([submission.id, submission.contentHash ?? ""])
    }

    var ready: [[String]] = []
    for file in CSVProfileConfig.defaultFiles.keys.sorted() {
      guard let columns = config.csvProfile.files[file] else { continue }
      let name = "\(batch)_\(file).csv"
      let writer = try CSVWriter(path: context.outputPath(name), options: config.csvProfile.writer)
      try writer.write(columns.map(\.name))
      for row in rows[file] ?? [] { try writer.write(row) }
      try writer.close()
      let (hash, size) = try SHA256.file(at: context.outputPath(name))
      ready.append([name, hash, String(size), String(writer.rows - 1)])
      context.counts[file] = writer.rows - 1
    }
    errors.sort { ($0[0], $0[2], $0[3]) < ($1[0], $1[2], $1[3]) }
    try context.writeCSV("errors.csv", header: errorsHeader, rows: errors)
    try context.writeCSV("held.csv", header: ["Submission_ID", "Student_Seq", "Candidates", "What_To_Do"], rows: held)
    try context.writeCSV("delivered.csv", header: ["Submission_ID", "Content_Hash"], rows: delivered)
    try context.writeCSV(Publisher.readyName(batch), header: ["File", "SHA256", "Size", "Rows"], rows: ready)
    context.counts["delivered_submissions"] = delivered.count
    context.counts["held_submissions"] = Set(held.map { $0[0] }).count
    context.counts["error_submissions"] = Set(errors.map { $0[0] }).count

    let outbox = context.workdir.outbox(config)
    context.afterPublish.append { folder in
      _ = try Publisher.publish(batch: batch, deliverFolder: folder, outbox: outbox)
    }
    context.log("deliver: \(delivered.count) submissions delivered, \(Set(held.map { $0[0] }).count) held for review, \(Set(errors.map { $0[0] }).count) in error")
  }

  private static func row(for file: String, _ values: [String: String], _ profile: CSVProfile) -> [String] {
    (profile.config.files[file] ?? []).map { profile.value($0.field, values[$0.field] ?? "") }
  }
}
