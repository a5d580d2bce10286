import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropMatching
import SISDropStore

/// The match stage: every student of every normalized submission against the SIS snapshot,
/// through the configured `StudentMatcher`; contacts against the SIS contacts of the households
/// each form reaches (`ContactMatcher`).
///
/// Guard that no matcher overrides: one SIS record is never auto-matched by two submissions of
/// the same batch — both go to review.
package enum MatchStage {
  /// Fields compared for the differences of a matched student (the delivery's student columns).
  static let comparedStudentFields = Layouts.comparedStudentFields

  /// A child the matcher found no SIS record for may be in a malformed SIS row the export was
  /// allowed to carry (`sis_export.max_rejected_rows`): same state id, or same surname and birth
  /// date as far as the row can be read. Such a child goes to a person, never to NEW.
  static func reviewPossiblyRejected(
    _ decisions: inout [SubmissionDecision], _ submissions: [Submission],
    rejected: [Snapshot.RejectedRow]
  ) {
    guard !rejected.isEmpty else { return }
    for index in decisions.indices {
      for s in decisions[index].students.indices
      where decisions[index].students[s].decision.outcome == .new {
        let student = submissions[index].students[s]
        let stateID = FieldRules.text(student[FieldName.stateStudentNumber])
        let last = FieldRules.nameKey(student[FieldName.lastName])
        let dob = student[FieldName.birthDate]
        let rows = rejected.filter { row in
          (!row.stateID.isEmpty && row.stateID == stateID)
            || (!row.lastKey.isEmpty && !row.dob.isEmpty && row.lastKey == last && row.dob == dob)
        }
        guard !rows.isEmpty else { continue }
        decisions[index].students[s].decision.outcome = .potential
        decisions[index].students[s].decision.reasons.append(
          "may be the SIS student in the malformed row\(rows.count > 1 ? "s" : "") "
            + rows.map { "\($0.file):\($0.line)" }.joined(separator: ", ")
            + " left out of the snapshot: check the SIS, then Match or No Match")
      }
    }
  }

  /// One SIS student auto-matched by several submission students of the batch. Forms of separate
  /// submissions that agree with each other on the child (`FellegiSunterMatcher.formsDisagree`, and
  /// the same birth date: `Claims.birthDatesOnlyClose`) are the same child submitted again: all stay
  /// matched (`matching.forms_of_one_child: match`; deliver sends the latest form's update).
  /// Otherwise — two students of one form, forms that differ, or `review` — none is safe: all go to
  /// a person. `decisions` and `forms` are in the same order.
  static func claimedTwice(
    _ decisions: inout [SubmissionDecision], _ forms: [Submission],
    policy: MatchingConfig.FormsOfOneChildPolicy
  ) {
    var claims = Claims()
    for (index, decision) in decisions.enumerated() {
      for (s, student) in decision.students.enumerated() {
        claims.add(student.decision, index: index, student: s)
      }
    }
    let patches = claims.patches(
      submissionID: { decisions[$0].submissionID },
      person: { claim in
        guard forms.indices.contains(claim.index),
          forms[claim.index].id == decisions[claim.index].submissionID,
          let student = forms[claim.index].students.first(where: {
            $0.seq == decisions[claim.index].students[claim.student].seq
          })
        else { return nil }
        return PersonRecord(student: student, of: forms[claim.index])
      }, policy: policy)
    for patch in patches {
      patch.apply(to: &decisions[patch.claim.index].students[patch.claim.student].decision)
    }
  }

  /// Children the SIS does not know, decided NEW on several forms of the batch that agree with each
  /// other on the child (`FormsOfOneNewChild`): one child, created once. With
  /// `matching.forms_of_one_child: match` the latest form (by `Approved_At`, then the export's
  /// order) stays NEW and creates the student; an earlier form whose guardians (by name) and
  /// documents (by SHA-256) are all on the latest one is marked `sameChildAs` the latest form's
  /// student: deliver creates no student from it and counts it (`new_students_superseded`); one that
  /// carries more waits for a person (its guardians and documents are not dropped: once the SIS
  /// export shows the new student it is matched to it). Forms that only resemble each other, two
  /// students of one form, a child a person answered No Match for, and `review` send the unanswered
  /// ones to a person, with the others named. Returns the changes, applied like `claimedTwice`'s.
  static func formsOfOneNewChild<Forms: RandomAccessCollection<Submission>>(
    _ outcomes: [[Outcome]], _ forms: Forms, config: MatchingConfig,
    answered: Set<String>
  ) -> [Claims.Patch] where Forms.Index == Int {
    var places: [Claims.Claim] = []
    var people: [PersonRecord] = []
    for (index, form) in forms.enumerated() where index < outcomes.count {
      for (s, student) in form.students.enumerated()
      where s < outcomes[index].count && outcomes[index][s].outcome == .new {
        places.append(Claims.Claim(index: index, student: s))
        people.append(PersonRecord(student: student, of: form))
      }
    }
    func ref(_ member: Int) -> String {
      let place = places[member]
      return Submission.studentRef(
        forms[place.index].id, forms[place.index].students[place.student].seq)
    }
    var patches: [Claims.Patch] = []
    let pairs = FormsOfOneNewChild.related(people, config: config)
    for group in FormsOfOneNewChild.groups(count: people.count, pairs: pairs) {
      let refs = group.map(ref)
      func others(_ member: Int) -> String {
        group.filter { $0 != member }.map(ref).joined(separator: ", ")
      }
      var disagreement: String? =
        config.formsOfOneChild == .review ? "matching.forms_of_one_child is review" : nil
      if disagreement == nil, Set(group.map { places[$0].index }).count < group.count {
        disagreement = "two students of one form"
      }
      if disagreement == nil, refs.contains(where: answered.contains) {
        disagreement =
          "a person answered No Match for "
          + refs.filter(answered.contains).joined(separator: ", ") + " (a child of its own)"
      }
      pairs: for a in group where disagreement == nil {
        for b in group where b > a {
          if let why = FellegiSunterMatcher.formsDisagree(
            ComparisonVector.compare(people[a], people[b]))
          {
            disagreement = "\(ref(a)) and \(ref(b)) do not agree: \(why)"
            break pairs
          }
        }
      }
      guard let disagreement else {
        patches += latestFormCreates(group, places: places, forms: forms, ref: ref, others: others)
        continue
      }
      for member in group where !answered.contains(ref(member)) {
        patches.append(
          Claims.Patch(
            claim: places[member], toPerson: true,
            reason:
              "a child the SIS does not know, named also on \(others(member)) of this batch (\(disagreement)): "
              + "one child or two? No Match creates a child of its own; the same child's other forms are matched once the SIS export shows it"
          ))
      }
    }
    return patches
  }

  /// Forms of one new child that agree: the latest (`Approved_At`, then the export's order)
  /// creates the child, so that the SIS ends with what the family said last; an earlier form whose
  /// guardians and documents are all on it creates none, one that carries more waits for a person.
  private static func latestFormCreates<Forms: RandomAccessCollection<Submission>>(
    _ group: [Int], places: [Claims.Claim], forms: Forms, ref: (Int) -> String,
    others: (Int) -> String
  ) -> [Claims.Patch] where Forms.Index == Int {
    var patches: [Claims.Patch] = []
    func note(_ member: Int, _ text: String, toPerson: Bool = false, sameChildAs: String? = nil) {
      patches.append(
        Claims.Patch(
          claim: places[member], toPerson: toPerson, reason: text, sameChildAs: sameChildAs))
    }
    func approved(_ member: Int) -> Int64 {
      TimestampReader.instant(forms[places[member].index].approvedAt).map {
        Int64($0.timeIntervalSince1970)
      } ?? Int64.min
    }
    let kept = group.max {
      (approved($0), places[$0].index) < (approved($1), places[$1].index)
    }!
    let keptForm = forms[places[kept].index]
    let keptGuardians = Set(keptForm.contacts.map(guardianName))
    let keptDocuments = Set(keptForm.documents.map { $0[FieldName.sha256].lowercased() })
    note(
      kept,
      "the same child the SIS does not know is on \(others(kept)) of this batch (the forms agree on the child): "
        + "this, the latest form, creates the new student; the earlier ones create none")
    for member in group where member != kept {
      let form = forms[places[member].index]
      let carriesMore =
        form.contacts.contains { !keptGuardians.contains(guardianName($0)) }
        || form.documents.contains { !keptDocuments.contains($0[FieldName.sha256].lowercased()) }
      if carriesMore {
        note(
          member,
          "the same child the SIS does not know as \(ref(kept)), a later form of this batch that creates the new student; "
            + "this form names a guardian or a document that one does not, so it waits: once the SIS export shows the new student it is matched to it (No Match if it is another child)",
          toPerson: true)
        continue
      }
      note(
        member,
        "the same child the SIS does not know as \(ref(kept)), a later form of this batch that creates the new student: "
          + "this form creates no second student (its guardians and documents are all on that form)",
        sameChildAs: ref(kept))
    }
    return patches
  }

  /// A guardian as forms of one child are compared for what they carry: the folded names.
  static func guardianName(_ contact: SubmissionPart) -> [String] {
    [
      Comparators.foldLetters(FieldRules.nameKey(contact[FieldName.firstName])),
      Comparators.foldLetters(FieldRules.nameKey(contact[FieldName.lastName])),
    ]
  }

  /// A child decided NEW who is the same as (or resembles) a new student an earlier delivery
  /// created that no SIS export has shown yet (`delivered_records`: `student_new`, not confirmed):
  /// creating it again would double the child. It waits for a person, with the delivered student
  /// named; once the SIS export shows that student, the form is matched to it like any SIS record.
  /// Returns the changes for the students that wait so (`skipping`: those already changed).
  static func awaitingDeliveredNewChildren<Forms: RandomAccessCollection<Submission>>(
    _ outcomes: [[Outcome]], _ forms: Forms, skipping: Set<Claims.Claim>,
    workdir: WorkDir, batch: String, config: MatchingConfig, answered: Set<String>
  ) throws -> [Claims.Patch] where Forms.Index == Int {
    guard try Confirmation.hasTables(workdir.state) else { return [] }
    let open = try Confirmation.items(
      workdir.state, where: "kind = 'student_new' AND status != 'confirmed' AND batch_id != ?",
      [.text(batch)])
    guard !open.isEmpty else { return [] }
    var places: [Claims.Claim] = []
    var people: [PersonRecord] = []
    for (index, form) in forms.enumerated() where index < outcomes.count {
      for (s, student) in form.students.enumerated()
      where s < outcomes[index].count && outcomes[index][s].outcome == .new
        && !skipping.contains(Claims.Claim(index: index, student: s))
        && !answered.contains(Submission.studentRef(form.id, student.seq))
      {
        places.append(Claims.Claim(index: index, student: s))
        people.append(PersonRecord(student: student, of: form))
      }
    }
    guard !people.isEmpty else { return [] }
    // The batch's forms filed by identity keys; each delivered student is read (a chunk of its
    // batch's file at a time, not held) and compared with the forms it shares a key with. A form
    // waits for the first delivered student it relates to (batches in order, then their files').
    let filed = FormsOfOneNewChild.Filed(people)
    var first: [Int: (item: Confirmation.Item, relation: FormsOfOneNewChild.Relation)] = [:]
    for (batchID, group) in Dictionary(grouping: open, by: \.batch).sorted(by: { $0.key < $1.key })
    {
      let path = workdir.stageFolder(batchID, .normalize) + "/submissions.jsonl"
      guard FileSystem.exists(path) else { continue }
      let wanted = Dictionary(grouping: group, by: \.submissionID)
      try StageJSONChunks(Submission.self, path: path).forEach(chunkSize) { chunk in
        for submission in chunk {
          for item in wanted[submission.id] ?? [] {
            guard let student = submission.students.first(where: { $0.seq == item.seq }) else {
              continue
            }
            for found in filed.related(
              to: PersonRecord(student: student, of: submission), config: config,
              wanted: { first[$0] == nil })
            {
              first[found.i] = (item, found.relation)
            }
          }
        }
      }
    }
    var patches: [Claims.Patch] = []
    for (form, (item, relation)) in first.sorted(by: { $0.key < $1.key }) {
      let what: String
      switch relation {
      case .sameChild: what = "the same child as"
      case .resembles(let why): what = "a child that resembles (\(why))"
      }
      patches.append(
        Claims.Patch(
          claim: places[form], toPerson: true,
          reason:
            "\(what) the new student \(Submission.studentRef(item.submissionID, item.seq)) delivered by batch \(item.batch), "
            + "which no SIS export has shown yet: not created again; once the SIS export shows it this form is matched to it (No Match if it is another child)"
        ))
    }
    return patches
  }

  /// The batch's students auto-matched (or matched by a person), by SIS student: what
  /// `claimedTwice` looks at, gathered a decision at a time.
  struct Claims {
    struct Claim: Hashable {
      var index: Int
      var student: Int
    }
    private var bySIS: [String: [Claim]] = [:]

    mutating func add(_ decision: MatchDecision, index: Int, student: Int) {
      guard decision.outcome == .matched, let id = decision.sisID else { return }
      bySIS[id, default: []].append(Claim(index: index, student: student))
    }

    /// What `claimedTwice` changes: for each claimant of an SIS student claimed more than once, the
    /// reason added, and whether it goes to a person.
    struct Patch {
      var claim: Claim
      var toPerson: Bool
      var reason: String
      /// An earlier form of a new child that a later form creates (`formsOfOneNewChild`).
      var sameChildAs: String? = nil

      func apply(toStudent student: inout StudentDecision) {
        apply(to: &student.decision)
        if let sameChildAs { student.sameChildAs = sameChildAs }
      }

      func apply(to decision: inout MatchDecision) {
        if toPerson {
          decision.outcome = .potential
          decision.sisID = nil
        }
        decision.reasons.append(reason)
      }
    }

    /// Forms that each matched SIS student `sisID` agree on the child only with the same birth date.
    /// `formsDisagree` lets the home confirm a birth date one edit off, but these forms share the home
    /// because each reached that SIS child through it: the home cannot tell the child from a sibling
    /// or twin of it. Such forms are one child with a typo, or a new sibling or twin with the SIS
    /// child's names (`scripts/bench/match.sh` at 50,000 × 50,000 matched two that way): a person
    /// decides, as for any two forms that do not agree. nil when the birth dates are the same.
    static func birthDatesOnlyClose(_ vector: ComparisonVector, sisID: String) -> String? {
      let dob = vector[.birthDate]
      guard (1...3).contains(dob) else { return nil }
      return
        "the birth dates are only close (\(MatchField.birthDate.levels[dob])), and the home both share "
        + "with SIS student \(sisID) cannot tell that child from a sibling or twin"
    }

    /// `submissionID`: of a claim's submission; `person`: the claimed form's student as the matcher
    /// compares it (nil when it cannot be found).
    func patches(
      submissionID: (Int) -> String, person: (Claim) -> PersonRecord?,
      policy: MatchingConfig.FormsOfOneChildPolicy
    ) -> [Patch] {
      var result: [Patch] = []
      for (id, claimants) in bySIS where claimants.count > 1 {
        let people = claimants.map(person)
        var disagreement: String? =
          policy == .review ? "matching.forms_of_one_child is review" : nil
        if disagreement == nil, Set(claimants.map(\.index)).count < claimants.count {
          disagreement = "two students of one form"
        }
        if disagreement == nil, people.contains(where: { $0 == nil }) {
          disagreement = "a form could not be compared"
        }
        pairs: for i in claimants.indices where disagreement == nil {
          for j in claimants.indices where j > i {
            let vector = ComparisonVector.compare(people[i]!, people[j]!)
            if let why = FellegiSunterMatcher.formsDisagree(vector)
              ?? Self.birthDatesOnlyClose(vector, sisID: id)
            {
              disagreement =
                "\(submissionID(claimants[i].index)) and \(submissionID(claimants[j].index)) do not agree: \(why)"
              break pairs
            }
          }
        }
        for claim in claimants {
          if let disagreement {
            result.append(
              Patch(
                claim: claim, toPerson: true,
                reason:
                  "SIS student \(id) is claimed by more than one submission student in this batch (\(disagreement))"
              ))
          } else {
            result.append(
              Patch(
                claim: claim, toPerson: false,
                reason:
                  "SIS student \(id) is matched by \(claimants.count) forms of this batch that agree with each other on the child "
                  + "(the same child submitted again): each is matched, and only the latest form's update is delivered"
              ))
          }
        }
      }
      return result
    }
  }

  /// Submissions read, decided and written per chunk (and students decided by the matcher at once):
  /// between reading the batch for the matcher and writing, the stage holds one chunk's decisions
  /// and records, and of the others their outcomes (`scripts/bench/review.sh`).
  static let chunkSize = 1000

  /// The fields of a submission's students and contacts that matching reads: what the matchers
  /// compare (`PersonRecord`, the placeholder's rule), a person's answer is bound to
  /// (`Resolution.studentKey`), rejected SIS rows and the households are looked for by; the city
  /// and state for comparing addresses part by part (`Comparators.addressPartsDiffering`).
  static let matchedStudentFields = [
    FieldName.stateStudentNumber, FieldName.firstName, FieldName.middleName, FieldName.lastName,
    FieldName.birthDate, FieldName.gender, FieldName.street,
    FieldName.zip, FieldName.homePhone, FieldName.email, FieldName.city, FieldName.state,
  ]
  static let matchedContactFields = [
    FieldName.firstName, FieldName.lastName, FieldName.phone, FieldName.email,
  ]

  /// What the matcher's `prepare` is given of a submission: its students and contacts with the
  /// fields matching reads, without documents or source locations (the batch is seen whole, for
  /// the model, and held while it is decided: the other fields were a third of it at 20,000).
  static func forMatcher(_ submission: Submission) -> Submission {
    func only(_ fields: [String: String], _ names: [String]) -> [String: String] {
      var kept = [String: String](minimumCapacity: names.count)
      for name in names { if let value = fields[name] { kept[name] = value } }
      return kept
    }
    var compact = Submission(
      id: submission.id, form: submission.form, approvedAt: submission.approvedAt,
      source: SourceLocation(path: ""))
    compact.students = submission.students.map {
      SubmissionPart(
        seq: $0.seq, fields: only($0.fields, matchedStudentFields), source: SourceLocation(path: "")
      )
    }
    compact.contacts = submission.contacts.map {
      SubmissionPart(
        seq: $0.seq, fields: only($0.fields, matchedContactFields), source: SourceLocation(path: "")
      )
    }
    // Which documents a form carries, for forms of one new child (`formsOfOneNewChild`).
    compact.documents = submission.documents.map {
      SubmissionPart(
        seq: $0.seq, fields: [FieldName.sha256: $0[FieldName.sha256]],
        source: SourceLocation(path: ""))
    }
    compact.contentHash = submission.contentHash
    return compact
  }

  package static func run(_ context: StageContext) throws { try run(context, chunkSize: chunkSize) }

  /// What the steps after deciding need of one student's decision (the decisions themselves are
  /// made again, a chunk at a time, beside the submissions: `run`).
  struct Outcome {
    var outcome: MatchOutcome
    var sisID: String?
    var candidates: [String]
  }

  /// The batch decided: per submission, its students' outcomes and its household keys; the
  /// changes `claimedTwice` makes, by submission; and what a person's answers did.
  struct Decided {
    var ids: [String] = []
    var outcomes: [[Outcome]] = []
    var householdKeys: [ContactMatcher.HouseholdKeys] = []
    var patches: [Int: [Claims.Patch]] = [:]
    var applied: [[String]] = []
    /// Students a person matched for this version: they saw the identity fields side by side.
    var personMatched: [String: Set<Int>] = [:]
    /// A person's Match / No Match for a contact, for the version it was given for.
    var contactResolutions: [String: [Resolution]] = [:]
    /// Students on an earlier form of a new child a later form creates; students waiting for a new
    /// child delivered before to be seen in the SIS.
    var sameNewChild = 0
    var awaitingNewChild = 0
    /// What deciding a chunk again needs: the prepared matcher, a person's answers by submission,
    /// the SIS rows the snapshot left out.
    var matcher: (any StudentMatcher)? = nil
    var resolutions: [String: [Resolution]] = [:]
    var rejected: [Snapshot.RejectedRow] = []
    /// Students decided NEW whom a person answered No Match for (a child of its own); the versions
    /// of the submissions a contact's answer names (`contactResolutions`).
    var answeredNew = Set<String>()
    var versions: [String: String?] = [:]

    /// A change to a student's decision, applied to its outcome now and to its decision when the
    /// decisions are read back.
    mutating func add(_ patch: Claims.Patch) {
      patches[patch.claim.index, default: []].append(patch)
      if patch.toPerson {
        outcomes[patch.claim.index][patch.claim.student].outcome = .potential
        outcomes[patch.claim.index][patch.claim.student].sisID = nil
      }
    }
  }

  /// `chunkSize`: submissions per chunk (the tests show any size writes the same bytes).
  static func run(_ context: StageContext, chunkSize: Int) throws {
    let snapshotPath = try SnapshotReference.load(context.workdir, batch: context.batch.id)
      .absolutePath(context.workdir)
    let snapshot = try Snapshot(path: snapshotPath)
    let clock = ContinuousClock()
    var started = clock.now
    var phases: [String] = []
    func phase(_ name: String) {
      let elapsed = clock.now - started
      phases.append(
        "\(name) \(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)"
      )
      started = clock.now
    }
    let submissionsPath = context.folder(of: .normalize) + "/submissions.jsonl"
    // The students are decided for their outcomes (what the steps between need: claims, new
    // children, households), and decided again beside the submissions, a chunk at a time, by the
    // prepared matcher: the stage holds outcomes, not decisions (`scripts/bench/review.sh`), and
    // deciding again cost a fifth of writing the decisions to a scratch file and reading them back.
    var decided = try decide(
      context, snapshot: snapshot, submissionsPath: submissionsPath, chunkSize: chunkSize,
      phase: phase)
    phase("decide")
    let final = try Final(decided, snapshot: snapshot, context: context)
    let (ids, newChildForms, awaiting) = (
      decided.ids, decided.sameNewChild, decided.awaitingNewChild
    )
    let (matcher, resolutions, rejected) = (
      decided.matcher!, decided.resolutions, decided.rejected
    )
    var applied = decided.applied
    decided = Decided()
    // Differences and contacts, now that the student outcomes are final, a chunk at a time; each
    // chunk's decisions and rows are written before the next is read.
    var output = try Output(context)
    var offset = 0
    try StageJSONChunks(Submission.self, path: submissionsPath).forEach(chunkSize) { submissions in
      let base = offset
      offset += submissions.count
      guard offset <= ids.count, zip(submissions, ids[base..<offset]).allSatisfy({ $0.id == $1 })
      else { throw changedWhileRead(submissionsPath) }
      var ignored = Decided()
      let decidedChunk = try decisions(
        of: submissions, matcher: matcher, resolutions: resolutions, rejected: rejected,
        answers: &ignored)
      let (parts, names) = try final.chunk(submissions, decidedChunk, at: base, snapshot: snapshot)
      try output.write(
        parts, of: submissions, names: names, fieldAnswers: final.fieldAnswers, context: context)
    }
    guard offset == ids.count else { throw changedWhileRead(submissionsPath) }
    try output.close()
    phase("differences+contacts")
    applied += final.appliedAnswers(batchIDs: output.batchIDs) + output.answered
    try context.writeCSV(
      "resolutions.csv",
      header: [
        FieldName.submissionID, "Student_Seq", "Kind", "Value", "Resolved_By", "Resolved_At",
        "Source",
      ],
      rows: applied)
    var counts = output.counts
    if newChildForms > 0 { counts["students_same_new_child"] = newChildForms }
    if awaiting > 0 { counts["students_awaiting_new_child"] = awaiting }
    context.counts = counts
    phase("write")
    context.notes.append(
      "matcher: \(context.config.matcher); snapshot: \(relativePath(snapshotPath, to: context.workdir.root))"
    )
    context.notes.append("seconds by phase: " + phases.joined(separator: ", "))
    context.log(
      "match: \(counts["students_matched"]!) matched, \(counts["students_potential"]!) potential, \(counts["students_new"]!) new; "
        + (newChildForms + awaiting == 0
          ? ""
          : "\(newChildForms) students on several forms of one new child, \(awaiting) waiting for a new child delivered before to be seen in the SIS; ")
        + "contacts: \(counts["contacts_matched"]!) matched, \(counts["contacts_potential"]!) potential, \(counts["contacts_new"]!) new"
    )
  }

  static func changedWhileRead(_ path: String) -> SISDropError {
    SISDropError.dataError(
      "\(path) changed while the match stage read it", at: SourceLocation(path: path),
      hint: "rerun the match stage")
  }

  /// What the differences and contacts of every chunk need once the student outcomes are final:
  /// the matched SIS students by submission, the households each form reaches (found for the batch
  /// at once: two scans of the snapshot; their contacts are fetched a chunk at a time), the changes
  /// to the decisions, and the people's answers.
  struct Final {
    var matchedBySubmission: [[String]]
    var households: ContactMatcher.Households
    var patches: [Int: [Claims.Patch]]
    var personMatched: [String: Set<Int>]
    var contactResolutions: [String: [Resolution]]
    var overrides: [String: [FieldOverride]]
    var fieldAnswers: [String: [FieldAnswer]]
    var policy: UpdateRules
    /// Forms delivered for each SIS student: an older form's differences are held.
    var laterForms: LaterDeliveredForms

    init(_ decided: Decided, snapshot: Snapshot, context: StageContext) throws {
      matchedBySubmission = decided.outcomes.map {
        $0.compactMap { $0.outcome == .matched ? $0.sisID : nil }
      }
      households = try ContactMatcher.households(
        decided.householdKeys,
        candidates: decided.outcomes.map {
          $0.flatMap { $0.outcome == .potential ? $0.candidates : [] }
        },
        snapshot: snapshot)
      patches = decided.patches
      personMatched = decided.personMatched
      contactResolutions = decided.contactResolutions
      overrides = Dictionary(grouping: try context.workdir.state.overrides(), by: \.submissionID)
      fieldAnswers = Dictionary(
        grouping: try context.workdir.state.fieldAnswers(), by: \.submissionID)
      policy = UpdateRules(config: context.config)
      laterForms = try LaterDeliveredForms.load(context.workdir, config: context.config)
    }

    /// One chunk's decisions with their changes, differences and contacts, and its rows: each
    /// submission on its own (on every core), joined in submission order; and its contacts' name keys.
    func chunk(
      _ submissions: [Submission], _ decidedChunk: [SubmissionDecision], at base: Int,
      snapshot: Snapshot
    ) throws -> (parts: [Part], names: [[ContactMatcher.NameKeys]]) {
      var decided = decidedChunk
      for index in decided.indices {
        for patch in patches[base + index] ?? [] {
          patch.apply(toStudent: &decided[index].students[patch.claim.student])
        }
      }
      let offset = base + submissions.count
      // The chunk's matched SIS students, and the contacts of the homes it reaches, fetched at once.
      let matchedStudents = try snapshot.students(
        numbers: matchedBySubmission[base..<offset].flatMap { $0 })
      let reachedContacts = try households.contacts(
        base..<offset, matched: matchedBySubmission, snapshot: snapshot)
      // Contact name keys, once per contact (they are needed twice: here and `NewContactsInBatch`).
      let contactNames = try Parallel.map(submissions.count, minimum: 64) { index in
        ContactMatcher.nameKeys(submissions[index])
      }
      let final = self
      let chunk = decided
      let parts = try Parallel.map(submissions.count, minimum: 64) { index in
        defer { StageProgress.step() }
        let id = submissions[index].id
        return try differencesAndContacts(
          submissions[index], chunk[index], names: contactNames[index], students: matchedStudents,
          contacts: final.households.reached(
            base + index, matched: final.matchedBySubmission[base + index],
            contacts: reachedContacts),
          contactResolutions: final.contactResolutions[id] ?? [],
          kept: Set((final.overrides[id] ?? []).map(\.field)),
          answers: (final.fieldAnswers[id] ?? []).filter {
            $0.version == submissions[index].contentHash
          }, policy: final.policy, laterForms: final.laterForms,
          personMatched: final.personMatched[id] ?? [])
      }
      return (parts, contactNames)
    }

    /// The contact resolutions and keep-sis answers applied, as resolutions.csv rows.
    func appliedAnswers(batchIDs: Set<String>) -> [[String]] {
      var applied: [[String]] = []
      for (id, list) in contactResolutions.sorted(by: { $0.key < $1.key }) {
        for r in list {
          applied.append([
            id, "", "contact-resolution",
            "contact \(r.studentSeq): " + (r.sisID.map { "Match to \($0)" } ?? "No Match"),
            r.resolvedBy, r.resolvedAt, r.source,
          ])
        }
      }
      for (id, list) in overrides.sorted(by: { $0.key < $1.key }) where batchIDs.contains(id) {
        for o in list {
          applied.append([id, "", "keep-sis", o.field, o.resolvedBy, o.resolvedAt, o.source])
        }
      }
      return applied
    }
  }

  /// One submission's decision and its rows for diffs.csv, review.csv and held_updates.csv.
  typealias Part = (
    decision: SubmissionDecision, diffs: [[String]], review: [[String]], held: [[String]]
  )

  /// The stage's files written a chunk at a time (decisions.jsonl, review.csv, diffs.csv,
  /// held_updates.csv), the counts, and the field answers applied.
  struct Output {
    let decisions: StageJSONAppender<SubmissionDecision>
    let review: CSVWriter
    let diffs: CSVWriter
    let held: CSVWriter
    var counts: [String: Int] = ["submissions": 0, "needs_review": 0, "held_updates": 0]
    var answered: [[String]] = []
    var batchIDs = Set<String>()
    /// New contacts named again within the batch (siblings' forms): the first one stands for all.
    var newContacts = ContactMatcher.NewContactsInBatch()

    init(_ context: StageContext) throws {
      func csv(_ name: String, _ header: [String]) throws -> CSVWriter {
        let writer = try CSVWriter(path: context.outputPath(name), options: .forPeople)
        try writer.write(header)
        return writer
      }
      decisions = try StageJSONAppender(
        SubmissionDecision.self, path: context.outputPath("decisions.jsonl"))
      review = try csv(
        "review.csv",
        [FieldName.submissionID, "Student_Seq", "Student_Ref", "Candidates", "Reasons"])
      diffs = try csv(
        "diffs.csv",
        [
          FieldName.submissionID, "Schema", "Seq", "SIS_ID", "Field", "Enrollment_Value",
          "SIS_Value",
        ])
      held = try csv("held_updates.csv", heldUpdatesHeader)
      for outcome in MatchOutcome.allCases {
        counts["students_\(outcome.rawValue)"] = 0
        counts["contacts_\(outcome.rawValue)"] = 0
      }
    }

    mutating func write(
      _ parts: [Part], of submissions: [Submission], names: [[ContactMatcher.NameKeys]],
      fieldAnswers: [String: [FieldAnswer]], context: StageContext
    ) throws {
      var chunk = parts.map(\.decision)
      for (index, submission) in submissions.enumerated() {
        newContacts.link(&chunk[index], of: submission, names: names[index])
      }
      try decisions.append(chunk)
      for part in parts {
        for row in part.diffs { try diffs.write(row) }
        for row in part.review { try review.write(row) }
        for row in part.held { try held.write(row) }
        if !part.held.isEmpty { counts["held_updates"]! += 1 }
      }
      for decision in chunk {
        batchIDs.insert(decision.submissionID)
        counts["submissions"]! += 1
        if decision.needsReview { counts["needs_review"]! += 1 }
        for student in decision.students {
          counts["students_\(student.decision.outcome.rawValue)"]! += 1
        }
        for contact in decision.contacts { counts["contacts_\(contact.outcome.rawValue)"]! += 1 }
      }
      for submission in submissions {
        for answer in fieldAnswers[submission.id] ?? [] {
          let what = "\(answer.choice.rawValue) \(answer.schema) \(answer.seq) \(answer.field)"
          guard answer.version == submission.contentHash else {
            context.notes.append(
              "\(submission.id): \(what) was given for an earlier version of the submission: stale, not applied"
            )
            continue
          }
          answered.append([
            submission.id, String(answer.seq), answer.choice.rawValue,
            "\(answer.schema) \(answer.field)", answer.answeredBy,
            answer.answeredAt, answer.source,
          ])
        }
      }
    }

    func close() throws {
      try decisions.close()
      for file in [review, diffs, held] { try file.close() }
    }
  }

  /// Reads the batch, prepares the matcher with it and decides every student, a chunk at a time,
  /// for the outcomes. The batch is read once, a chunk at a time: each chunk is handed to the
  /// matcher's `prepare` and kept as bytes (`MatchBatch`) for the steps here, and let go when this
  /// returns; the prepared matcher is kept (`Decided.matcher`) to decide each chunk again beside
  /// its submissions (`run`).
  private static func decide(
    _ context: StageContext, snapshot: Snapshot, submissionsPath: String, chunkSize: Int,
    phase: (String) -> Void
  ) throws -> Decided {
    let matcher = try MatcherRegistry.make(
      context.config.matcher, snapshot: snapshot, config: context.config.matching,
      decideChunk: chunkSize)
    var batch = MatchBatch()
    // Read as `forMatcher` keeps a submission (`SubmissionForMatcher`): what the matcher and the
    // steps here read of it, no more.
    let report = try matcher.prepare(chunks: { each in
      try StageJSONChunks(SubmissionForMatcher.self, path: submissionsPath).forEach(chunkSize) {
        let chunk = $0.map(\.submission)
        batch.append(chunk)
        try each(chunk)
      }
    })
    if let report { try writeMatcherReport(report, context) }
    phase("read+prepare")
    // Progress: each submission is matched, then its differences and contacts are found.
    StageProgress.expect(submissions: batch.count, passes: 2)
    // A person's answers (resolve / resolutions.csv, taken from the inbox by `run` before any stage) replace the matcher's outcome.
    let resolutions = Dictionary(
      grouping: try context.workdir.state.resolutions(), by: \.submissionID)
    let rejected = try snapshot.rejectedRows()
    let contactAnswers = try context.workdir.state.contactResolutions()
    // Only the outcomes are kept of these decisions: the candidates are not explained (`run`
    // decides again, in full, beside the submissions).
    matcher.outcomesOnly(true)
    var (decided, claims) = try decideChunks(
      batch, matcher: matcher, resolutions: resolutions, rejected: rejected,
      versionsOf: Set(contactAnswers.map(\.submissionID)), chunkSize: chunkSize)
    matcher.outcomesOnly(false)
    (decided.matcher, decided.resolutions, decided.rejected) = (matcher, resolutions, rejected)
    // One SIS student claimed twice: the claimants' forms are compared, their outcomes changed here
    // and their decisions when they are read back.
    for patch in claims.patches(
      submissionID: { decided.ids[$0] },
      person: { claim in
        let form = batch[claim.index]
        let seq = form.students[claim.student].seq
        return form.students.first(where: { $0.seq == seq }).map {
          PersonRecord(student: $0, of: form)
        }
      }, policy: context.config.matching.formsOfOneChild)
    {
      decided.add(patch)
    }
    claims = Claims()
    try newChildren(&decided, batch, context: context)
    decided.contactResolutions = contactResolutions(
      contactAnswers, versions: decided.versions, context: context)
    decided.versions = [:]
    return decided
  }

  /// Blocking counts and the estimated weights (`matcher.json`): how the decisions were reached.
  private static func writeMatcherReport(_ report: MatcherReport, _ context: StageContext) throws {
    let encoder = JSONLines.encoder()
    encoder.outputFormatting.insert(.prettyPrinted)
    var stable = report
    // wall-clock figures belong in stage.json, not in the deterministic outputs
    stable.seconds = [:]
    try FileSystem.writeNew(context.outputPath("matcher.json"), try encoder.encode(stable))
    context.notes.append(
      "blocking: \(report.distinctPairs) candidate pairs ("
        + report.blockingPairs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
          separator: ", ")
        + "); \(report.studentsWithoutCandidates) students without candidates; seconds: "
        + report.seconds.sorted { $0.key < $1.key }.map {
          "\($0.key) \(String(format: "%.3f", $0.value))"
        }.joined(separator: ", "))
  }

  /// Every student decided, a chunk of submissions at a time, in batch order (as the matcher
  /// decides them); kept of the decisions are the outcomes and the auto-matched claims
  /// (`claimedTwice`), and of the answers what they did. Taken of each chunk while it is at hand:
  /// its household keys, its students a person answered No Match for, and the versions of the
  /// submissions in `versionsOf` (those a contact's answer was given for).
  private static func decideChunks(
    _ batch: MatchBatch, matcher: any StudentMatcher, resolutions: [String: [Resolution]],
    rejected: [Snapshot.RejectedRow], versionsOf: Set<String>, chunkSize: Int
  ) throws -> (Decided, Claims) {
    var decided = Decided()
    var claims = Claims()
    try batch.forEachChunk(chunkSize) { first, submissions in
      for _ in submissions { StageProgress.step() }
      decided.householdKeys += submissions.map(ContactMatcher.householdKeys)
      for submission in submissions where versionsOf.contains(submission.id) {
        if decided.versions[submission.id] == nil {
          decided.versions[submission.id] = .some(submission.contentHash)
        }
      }
      let chunk = try decisions(
        of: submissions, matcher: matcher, resolutions: resolutions, rejected: rejected,
        answers: &decided)
      for (index, decision) in chunk.enumerated() {
        decided.ids.append(decision.submissionID)
        decided.outcomes.append(
          decision.students.map {
            Outcome(
              outcome: $0.decision.outcome, sisID: $0.decision.sisID,
              candidates: $0.decision.outcome == .new ? [] : $0.decision.candidates.map(\.sisID))
          })
        for (s, student) in decision.students.enumerated() {
          claims.add(student.decision, index: first + index, student: s)
          if student.decision.outcome == .new,
            (resolutions[decision.submissionID] ?? []).contains(where: {
              $0.studentSeq == student.seq && $0.action == .noMatch
            })
          {
            decided.answeredNew.insert(Submission.studentRef(decision.submissionID, student.seq))
          }
        }
      }
    }
    return (decided, claims)
  }

  /// The decisions of `submissions`' students, in order, with a person's answers applied (what
  /// they did goes to `answers`: `applied`, `personMatched`).
  private static func decisions(
    of submissions: [Submission], matcher: any StudentMatcher,
    resolutions: [String: [Resolution]], rejected: [Snapshot.RejectedRow],
    answers: inout Decided
  ) throws -> [SubmissionDecision] {
    var chunk: [SubmissionDecision] = []
    for submission in submissions {
      var students: [StudentDecision] = []
      for student in submission.students {
        students.append(
          StudentDecision(
            seq: student.seq, decision: try matcher.match(student, in: submission),
            differences: []))
      }
      chunk.append(
        SubmissionDecision(submissionID: submission.id, students: students, contacts: []))
    }
    reviewPossiblyRejected(&chunk, submissions, rejected: rejected)
    for index in chunk.indices {
      applyResolutions(
        resolutions[chunk[index].submissionID] ?? [], to: &chunk[index], submissions[index],
        applied: &answers.applied, personMatched: &answers.personMatched)
    }
    return chunk
  }

  /// Several forms of one child the SIS does not know: created once (`formsOfOneNewChild`), and
  /// never again while a delivery of it awaits the SIS (`awaitingDeliveredNewChildren`). A child
  /// a person answered No Match for is a child of its own.
  private static func newChildren(
    _ decided: inout Decided, _ batch: MatchBatch, context: StageContext
  ) throws {
    let answeredNew = decided.answeredNew
    // Both steps look at the students decided NEW only: the other forms are not made again.
    let forms = MatchBatch.Only(
      batch: batch, kept: decided.outcomes.map { $0.contains { $0.outcome == .new } })
    let sameChild = formsOfOneNewChild(
      decided.outcomes, forms, config: context.config.matching, answered: answeredNew)
    decided.sameNewChild = sameChild.filter { $0.sameChildAs != nil }.count
    let awaiting = try awaitingDeliveredNewChildren(
      decided.outcomes, forms, skipping: Set(sameChild.map(\.claim)), workdir: context.workdir,
      batch: context.batch.id, config: context.config.matching, answered: answeredNew)
    decided.awaitingNewChild = awaiting.count
    for patch in sameChild + awaiting { decided.add(patch) }
  }

  /// A person's Match / No Match for a contact, by submission: it holds for the version it was
  /// given for only (a stale one is noted, not applied).
  /// `versions`: of the batch's submissions that `answers` name (the first of an id).
  private static func contactResolutions(
    _ answers: [Resolution], versions: [String: String?], context: StageContext
  ) -> [String: [Resolution]] {
    var result: [String: [Resolution]] = [:]
    for resolution in answers where versions[resolution.submissionID] != nil {
      guard resolution.version != nil, resolution.version == versions[resolution.submissionID]!
      else {
        context.notes.append(
          "\(resolution.submissionID): the answer for contact \(resolution.studentSeq) was given for an earlier version of the submission: stale, not applied"
        )
        continue
      }
      result[resolution.submissionID, default: []].append(resolution)
    }
    return result
  }

  /// A person's answers (Match / No Match) for one submission replace the matcher's outcome, for
  /// the version and the child they were given for only.
  private static func applyResolutions(
    _ resolutions: [Resolution], to decided: inout SubmissionDecision, _ submission: Submission,
    applied: inout [[String]], personMatched: inout [String: Set<Int>]
  ) {
    let id = decided.submissionID
    for s in decided.students.indices {
      guard let resolution = resolutions.first(where: { $0.studentSeq == decided.students[s].seq })
      else { continue }
      var decision = decided.students[s].decision
      let who = "resolved by \(resolution.resolvedBy) at \(resolution.resolvedAt)"
      // An answer holds for the version and the child it was given for, never for a changed form.
      let student = submission.students[s]
      guard resolution.version != nil, resolution.version == submission.contentHash,
        resolution.studentKey == Resolution.studentKey(student)
      else {
        let what =
          resolution.version == submission.contentHash
          ? "another child at this place in the submission"
          : "an earlier version of this submission (it has changed since)"
        if decision.outcome == .matched, let sisID = decision.sisID,
          !decision.candidates.contains(where: { $0.sisID == sisID })
        {
          decision.candidates.insert(
            MatchCandidate(sisID: sisID, score: decision.score, reasons: []), at: 0)
        }
        decision.outcome = .potential
        decision.sisID = nil
        decision.reasons.append(
          "\(who) for \(what): \(resolution.action == .match ? "Match to \(resolution.sisID ?? "?")" : "No Match") "
            + "no longer applies: resolve again")
        decided.students[s].decision = decision
        continue
      }
      switch resolution.action {
      case .match:
        personMatched[id, default: []].insert(resolution.studentSeq)
        guard let sisID = resolution.sisID,
          decision.sisID == sisID || decision.candidates.contains(where: { $0.sisID == sisID })
        else {
          decision.reasons.append(
            "\(who): Match to \(resolution.sisID ?? "?") no longer applies (not a candidate now): resolve again"
          )
          decided.students[s].decision = decision
          continue
        }
        decision.outcome = .matched
        decision.sisID = sisID
        decision.reasons.append("\(who): Match to \(sisID)")
      case .noMatch:
        decision.outcome = .new
        decision.sisID = nil
        decision.reasons.append("\(who): No Match")
      }
      decided.students[s].decision = decision
      applied.append([
        id, String(resolution.studentSeq), "resolution", resolution.sisID ?? "No Match",
        resolution.resolvedBy,
        resolution.resolvedAt, resolution.source,
      ])
    }
  }

  /// One submission's field differences (students and contacts), its contacts matched against the
  /// SIS contacts it reaches, and its rows for diffs.csv and review.csv.
  private static func differencesAndContacts(
    _ submission: Submission, _ decided: SubmissionDecision, names: [ContactMatcher.NameKeys],
    students: [String: SnapshotStudent], contacts: [ContactMatcher.Reached],
    contactResolutions: [Resolution], kept: Set<String>,
    answers: [FieldAnswer],
    policy: UpdateRules, laterForms: LaterDeliveredForms = LaterDeliveredForms(),
    personMatched: Set<Int>
  ) throws -> (
    decision: SubmissionDecision, diffs: [[String]], review: [[String]], held: [[String]]
  ) {
    var decision = decided
    var diffs: [[String]] = []
    var review: [[String]] = []
    var held: [[String]] = []
    // A form older than one already delivered for its SIS student writes nothing over it unseen:
    // its student's and its contacts' differences wait for a person (`LaterDeliveredForms`).
    var contactPolicy = policy
    for s in decision.students.indices {
      let outcome = decision.students[s].decision
      let student = submission.students[s]
      if outcome.outcome == .matched, let id = outcome.sisID, let sis = students[id] {
        let differences = FieldDifference.between(
          enrollmentValues(student.fields, sis: sis.fields), sis.fields,
          fields: comparedStudentFields)
        var policy = policy
        if let later = laterForms.later(than: submission, student: student, sisID: id) {
          policy = policy.holdingEveryDifference()
          contactPolicy = policy
          decision.students[s].decision.reasons.append(
            "\(later), a form approved after this one, was delivered for SIS \(id) already: "
              + "this form's differences are held for a person (accept or keep-sis), never written over it unseen"
          )
        }
        let sorted = policy.sort(
          differences, schema: "student", seq: student.seq, answers: answers, kept: kept,
          reviewed: personMatched.contains(student.seq))
        decision.students[s].differences = sorted.deliver
        decision.students[s].heldDifferences = sorted.held.isEmpty ? nil : sorted.held
        let keptFields = Set(sorted.kept).union(kept)
        if !keptFields.isEmpty { decision.students[s].keptSIS = keptFields.sorted() }
        for difference in differences {
          diffs.append([
            submission.id, "student", String(student.seq), id, difference.field,
            difference.enrollment, difference.sis,
          ])
        }
        for difference in sorted.held {
          held.append([
            submission.id, "student", String(student.seq), id, difference.field,
            difference.enrollment, difference.sis,
          ])
        }
      }
      if outcome.outcome == .potential {
        review.append([
          submission.id, String(student.seq), Submission.studentRef(submission.id, student.seq),
          outcome.candidates.map(\.sisID).joined(separator: " "),
          outcome.reasons.joined(separator: "; "),
        ])
      }
    }
    let contacts = ContactMatcher.match(
      submission, names: names, reached: contacts, answers: answers, policy: contactPolicy,
      resolutions: contactResolutions,
      matchedStudents: decision.students.filter { $0.decision.outcome == .matched }.count)
    decision.contacts = contacts.contacts
    diffs += contacts.diffs
    held += contacts.held
    return (decision, diffs, review, held)
  }

  static let heldUpdatesHeader = [
    FieldName.submissionID, "Schema", "Seq", "SIS_ID", "Field", "Enrollment_Value", "SIS_Value",
  ]

  /// A submission student's values as an update compares them: an approved enrollment form enrolls
  /// the child, so a form without `Enroll_Status` says Active (`0`, PowerSchool's code) — a
  /// returning child the SIS shows as transferred out or graduated is made active again.
  /// Only where the SIS export carries a status: without one there is nothing to compare with.
  static func enrollmentValues(_ fields: [String: String], sis: [String: String]) -> [String:
    String]
  {
    guard (fields[FieldName.enrollStatus] ?? "").isEmpty,
      !(sis[FieldName.enrollStatus] ?? "").isEmpty
    else {
      return fields
    }
    var values = fields
    values[FieldName.enrollStatus] = "0"
    return values
  }
}
