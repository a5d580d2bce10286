import Foundation
import SISDropCore

// The match records in the stage-record format (`StageJSON.swift`): `30-match/decisions.jsonl`.

extension MatchOutcome {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    let text = try r.string()
    guard let outcome = MatchOutcome(rawValue: text) else {
      throw r.error("unknown match outcome \"\(text)\"", at: start)
    }
    self = outcome
  }
}

extension FieldComparison {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var field: String?
    var level: String?
    var weight: Double?
    try r.object { r, key in
      switch key {
      case "field": field = try r.string()
      case "level": level = try r.string()
      case "weight": weight = try r.null() ? nil : r.double()
      default: try r.skip(key)
      }
    }
    self.field = try r.required(field, "field", in: "FieldComparison", at: start)
    self.level = try r.required(level, "level", in: "FieldComparison", at: start)
    self.weight = weight
  }

  func writeStageJSON(into w: inout StageJSONWriter) throws {
    w.beginObject()
    w.key("field")
    w.string(field)
    w.key("level")
    w.string(level)
    if let weight {
      w.key("weight")
      try w.double(weight)
    }
    w.endObject()
  }
}

extension MatchThresholds {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var autoMatch: Double?
    var review: Double?
    var ambiguityMargin: Double?
    try r.object { r, key in
      switch key {
      case "ambiguityMargin": ambiguityMargin = try r.double()
      case "autoMatch": autoMatch = try r.double()
      case "review": review = try r.double()
      default: try r.skip(key)
      }
    }
    self.autoMatch = try r.required(autoMatch, "autoMatch", in: "MatchThresholds", at: start)
    self.review = try r.required(review, "review", in: "MatchThresholds", at: start)
    self.ambiguityMargin = try r.required(
      ambiguityMargin, "ambiguityMargin", in: "MatchThresholds", at: start)
  }

  func writeStageJSON(into w: inout StageJSONWriter) throws {
    w.beginObject()
    w.key("ambiguityMargin")
    try w.double(ambiguityMargin)
    w.key("autoMatch")
    try w.double(autoMatch)
    w.key("review")
    try w.double(review)
    w.endObject()
  }
}

extension MatchCandidate {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var sisID: String?
    var score: Double?
    var reasons: [String]?
    var comparisons: [FieldComparison]?
    var matchWeight: Double?
    var blockedBy: [String]?
    var guards: [String]?
    try r.object { r, key in
      switch key {
      case "blockedBy": blockedBy = try r.null() ? nil : r.strings()
      case "comparisons":
        comparisons = try r.null() ? nil : r.array { try FieldComparison(stageJSON: &$0) }
      case "guards": guards = try r.null() ? nil : r.strings()
      case "matchWeight": matchWeight = try r.null() ? nil : r.double()
      case "reasons": reasons = try r.strings()
      case "score": score = try r.double()
      case "sisID": sisID = try r.string()
      default: try r.skip(key)
      }
    }
    self.sisID = try r.required(sisID, "sisID", in: "MatchCandidate", at: start)
    self.score = try r.required(score, "score", in: "MatchCandidate", at: start)
    self.reasons = try r.required(reasons, "reasons", in: "MatchCandidate", at: start)
    self.comparisons = comparisons
    self.matchWeight = matchWeight
    self.blockedBy = blockedBy
    self.guards = guards
  }

  func writeStageJSON(into w: inout StageJSONWriter) throws {
    w.beginObject()
    if let blockedBy {
      w.key("blockedBy")
      w.strings(blockedBy)
    }
    if let comparisons {
      w.key("comparisons")
      try w.array(comparisons) { try $1.writeStageJSON(into: &$0) }
    }
    if let guards {
      w.key("guards")
      w.strings(guards)
    }
    if let matchWeight {
      w.key("matchWeight")
      try w.double(matchWeight)
    }
    w.key("reasons")
    w.strings(reasons)
    w.key("score")
    try w.double(score)
    w.key("sisID")
    w.string(sisID)
    w.endObject()
  }
}

extension MatchDecision {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var outcome: MatchOutcome?
    var sisID: String?
    var score: Double?
    var reasons: [String]?
    var candidates: [MatchCandidate]?
    var method: String?
    var thresholds: MatchThresholds?
    try r.object { r, key in
      switch key {
      case "candidates": candidates = try r.array { try MatchCandidate(stageJSON: &$0) }
      case "method": method = try r.string()
      case "outcome": outcome = try MatchOutcome(stageJSON: &r)
      case "reasons": reasons = try r.strings()
      case "score": score = try r.double()
      case "sisID": sisID = try r.null() ? nil : r.string()
      case "thresholds": thresholds = try r.null() ? nil : MatchThresholds(stageJSON: &r)
      default: try r.skip(key)
      }
    }
    self.outcome = try r.required(outcome, "outcome", in: "MatchDecision", at: start)
    self.sisID = sisID
    self.score = try r.required(score, "score", in: "MatchDecision", at: start)
    self.reasons = try r.required(reasons, "reasons", in: "MatchDecision", at: start)
    self.candidates = try r.required(candidates, "candidates", in: "MatchDecision", at: start)
    self.method = try r.required(method, "method", in: "MatchDecision", at: start)
    self.thresholds = thresholds
  }

  func writeStageJSON(into w: inout StageJSONWriter) throws {
    w.beginObject()
    w.key("candidates")
    try w.array(candidates) { try $1.writeStageJSON(into: &$0) }
    w.key("method")
    w.string(method)
    w.key("outcome")
    w.string(outcome.rawValue)
    w.key("reasons")
    w.strings(reasons)
    w.key("score")
    try w.double(score)
    if let sisID {
      w.key("sisID")
      w.string(sisID)
    }
    if let thresholds {
      w.key("thresholds")
      try thresholds.writeStageJSON(into: &w)
    }
    w.endObject()
  }
}

extension FieldDifference {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var field: String?
    var enrollment: String?
    var sis: String?
    try r.object { r, key in
      switch key {
      case "enrollment": enrollment = try r.string()
      case "field": field = try r.string()
      case "sis": sis = try r.string()
      default: try r.skip(key)
      }
    }
    self.field = try r.required(field, "field", in: "FieldDifference", at: start)
    self.enrollment = try r.required(enrollment, "enrollment", in: "FieldDifference", at: start)
    self.sis = try r.required(sis, "sis", in: "FieldDifference", at: start)
  }

  func writeStageJSON(into w: inout StageJSONWriter) {
    w.beginObject()
    w.key("enrollment")
    w.string(enrollment)
    w.key("field")
    w.string(field)
    w.key("sis")
    w.string(sis)
    w.endObject()
  }
}

extension StudentDecision {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var seq: Int?
    var decision: MatchDecision?
    var differences: [FieldDifference]?
    var keptSIS: [String]?
    var held: [FieldDifference]?
    var sameChildAs: String?
    try r.object { r, key in
      switch key {
      case "decision": decision = try MatchDecision(stageJSON: &r)
      case "differences": differences = try r.array { try FieldDifference(stageJSON: &$0) }
      case "heldDifferences":
        held = try r.null() ? nil : r.array { try FieldDifference(stageJSON: &$0) }
      case "keptSIS": keptSIS = try r.null() ? nil : r.strings()
      case "sameChildAs": sameChildAs = try r.null() ? nil : r.string()
      case "seq": seq = try r.int()
      default: try r.skip(key)
      }
    }
    self.sameChildAs = sameChildAs
    self.seq = try r.required(seq, "seq", in: "StudentDecision", at: start)
    self.decision = try r.required(decision, "decision", in: "StudentDecision", at: start)
    self.differences = try r.required(differences, "differences", in: "StudentDecision", at: start)
    self.keptSIS = keptSIS
    self.heldDifferences = held
  }

  func writeStageJSON(into w: inout StageJSONWriter) throws {
    w.beginObject()
    w.key("decision")
    try decision.writeStageJSON(into: &w)
    w.key("differences")
    w.array(differences) { $1.writeStageJSON(into: &$0) }
    if let heldDifferences {
      w.key("heldDifferences")
      w.array(heldDifferences) { $1.writeStageJSON(into: &$0) }
    }
    if let keptSIS {
      w.key("keptSIS")
      w.strings(keptSIS)
    }
    if let sameChildAs {
      w.key("sameChildAs")
      w.string(sameChildAs)
    }
    w.key("seq")
    w.int(seq)
    w.endObject()
  }
}

extension ContactDecision {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var seq: Int?
    var outcome: MatchOutcome?
    var contactID: String?
    var reason: String?
    var differences: [FieldDifference]?
    var sameAs: String?
    var held: [FieldDifference]?
    var keptSIS: [String]?
    var candidates: [String]?
    var sisStudents: [String]?
    try r.object { r, key in
      switch key {
      case "candidates": candidates = try r.null() ? nil : r.strings()
      case "contactID": contactID = try r.null() ? nil : r.string()
      case "differences": differences = try r.array { try FieldDifference(stageJSON: &$0) }
      case "heldDifferences":
        held = try r.null() ? nil : r.array { try FieldDifference(stageJSON: &$0) }
      case "keptSIS": keptSIS = try r.null() ? nil : r.strings()
      case "outcome": outcome = try MatchOutcome(stageJSON: &r)
      case "reason": reason = try r.string()
      case "sameAs": sameAs = try r.null() ? nil : r.string()
      case "seq": seq = try r.int()
      case "sisStudents": sisStudents = try r.null() ? nil : r.strings()
      default: try r.skip(key)
      }
    }
    self.seq = try r.required(seq, "seq", in: "ContactDecision", at: start)
    self.outcome = try r.required(outcome, "outcome", in: "ContactDecision", at: start)
    self.contactID = contactID
    self.reason = try r.required(reason, "reason", in: "ContactDecision", at: start)
    self.differences = try r.required(differences, "differences", in: "ContactDecision", at: start)
    self.sameAs = sameAs
    self.heldDifferences = held
    self.keptSIS = keptSIS
    self.candidates = candidates
    self.sisStudents = sisStudents
  }

  func writeStageJSON(into w: inout StageJSONWriter) {
    w.beginObject()
    if let candidates {
      w.key("candidates")
      w.strings(candidates)
    }
    if let contactID {
      w.key("contactID")
      w.string(contactID)
    }
    w.key("differences")
    w.array(differences) { $1.writeStageJSON(into: &$0) }
    if let heldDifferences {
      w.key("heldDifferences")
      w.array(heldDifferences) { $1.writeStageJSON(into: &$0) }
    }
    if let keptSIS {
      w.key("keptSIS")
      w.strings(keptSIS)
    }
    w.key("outcome")
    w.string(outcome.rawValue)
    w.key("reason")
    w.string(reason)
    if let sameAs {
      w.key("sameAs")
      w.string(sameAs)
    }
    w.key("seq")
    w.int(seq)
    if let sisStudents {
      w.key("sisStudents")
      w.strings(sisStudents)
    }
    w.endObject()
  }
}

extension SubmissionDecision: StageRecord {
  package init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var submissionID: String?
    var students: [StudentDecision]?
    var contacts: [ContactDecision]?
    try r.object { r, key in
      switch key {
      case "contacts": contacts = try r.array { try ContactDecision(stageJSON: &$0) }
      case "students": students = try r.array { try StudentDecision(stageJSON: &$0) }
      case "submissionID": submissionID = try r.string()
      default: try r.skip(key)
      }
    }
    self.submissionID = try r.required(
      submissionID, "submissionID", in: "SubmissionDecision", at: start)
    self.students = try r.required(students, "students", in: "SubmissionDecision", at: start)
    self.contacts = try r.required(contacts, "contacts", in: "SubmissionDecision", at: start)
  }

  package func writeStageJSON(into w: inout StageJSONWriter) throws {
    w.beginObject()
    w.key("contacts")
    w.array(contacts) { $1.writeStageJSON(into: &$0) }
    w.key("students")
    try w.array(students) { try $1.writeStageJSON(into: &$0) }
    w.key("submissionID")
    w.string(submissionID)
    w.endObject()
  }
}
