import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropMatching
import SISDropStore

/// The forms whose student values were delivered for an SIS student, for the rule that keeps an
/// older form from writing over a newer one (issue 12): a form matched to an SIS student for whom
/// a form approved after it was delivered already (the later form of a new child that created the
/// student while this one waited, or a later form's update) has every difference held for a person,
/// its contacts' too (`UpdateRules.holdingEveryDifference`). A person's `accept` delivers a field
/// and `keep-sis` keeps the SIS value; nothing is lost: the person sees each held value beside the
/// SIS's in the review queue.
struct LaterDeliveredForms: Sendable {
  struct Delivered: Sendable {
    var submission: String
    var approved: Date
  }
  /// SIS student (its number as delivered, or as the SIS showed a new student) → the forms delivered
  /// for it.
  var delivered: [String: [Delivered]] = [:]
  /// New students delivered whose SIS number is not learned yet (the confirmation check runs after
  /// the stages, so the night the SIS export first shows one, its number is not known here): the
  /// form that created it, compared with a matched form as forms of one child are.
  var unconfirmed: [(form: Delivered, person: PersonRecord)] = []

  /// From `delivered_records` (student rows) and the ledger's approval times, read as normalize reads
  /// them (the pipeline's zone and date formats); the unconfirmed new students from their batches'
  /// normalized submissions.
  static func load(_ workdir: WorkDir, config: PipelineConfig) throws -> LaterDeliveredForms {
    var result = LaterDeliveredForms()
    let state = workdir.state
    guard try Confirmation.hasTables(state) else { return result }
    let reader = TimestampReader(zone: config.timeZone)
    for row in try state.database.rows(
      """
      SELECT d.submission_id, l.approved_at, d.sis_id, d.learned_id, d.student_number
      FROM delivered_records d JOIN ledger l ON l.submission_id = d.submission_id
      WHERE d.kind IN ('student_new', 'student_update')
      ORDER BY d.submission_id, d.seq
      """)
    {
      guard let submission = row[0].string, let written = row[1].string,
        let text = reader.read(written, datePatterns: config.submissions.dateFormats),
        let approved = TimestampReader.instant(text)
      else { continue }
      let ids = Set([row[2].string, row[3].string, row[4].string].compactMap { $0 })
      for id in ids.sorted() where !id.isEmpty {
        result.delivered[id, default: []].append(
          Delivered(submission: submission, approved: approved))
      }
    }
    let open = try Confirmation.items(
      state, where: "kind = 'student_new' AND status != 'confirmed'")
    for (batch, group) in Dictionary(grouping: open, by: \.batch).sorted(by: { $0.key < $1.key }) {
      let path = workdir.stageFolder(batch, .normalize) + "/submissions.jsonl"
      guard FileSystem.exists(path) else { continue }
      let wanted = Dictionary(grouping: group, by: \.submissionID)
      for submission in try JSONLines.read(Submission.self, from: path) {
        guard let items = wanted[submission.id],
          let approved = TimestampReader.instant(submission.approvedAt)
        else { continue }
        for item in items {
          guard let student = submission.students.first(where: { $0.seq == item.seq }) else {
            continue
          }
          result.unconfirmed.append(
            (
              Delivered(submission: submission.id, approved: approved),
              PersonRecord(student: student, of: submission)
            ))
        }
      }
    }
    return result
  }

  /// A form delivered for SIS student `sisID` that was approved after `submission` (its id; nil when
  /// none: the latest such form when several): delivered for that number, or a new student not yet
  /// confirmed whose form agrees with `student`'s as forms of one child must.
  func later(than submission: Submission, student: SubmissionPart, sisID: String) -> String? {
    guard let approved = TimestampReader.instant(submission.approvedAt) else { return nil }
    var later = (delivered[sisID] ?? []).filter {
      $0.submission != submission.id && $0.approved > approved
    }
    let candidates = unconfirmed.filter {
      $0.form.submission != submission.id && $0.form.approved > approved
    }
    if !candidates.isEmpty {
      let person = PersonRecord(student: student, of: submission)
      later += candidates.filter {
        FellegiSunterMatcher.formsDisagree(ComparisonVector.compare(person, $0.person)) == nil
      }.map(\.form)
    }
    return later.max { ($0.approved, $0.submission) < ($1.approved, $1.submission) }?.submission
  }
}
