import SISDrop

/// One delivered record the SIS has not confirmed, as `status --json` (`confirmation.items`) and
/// `review --json` (`unconfirmed`, with the commands that answer it) print it.
struct UnconfirmedRecordJSON: Encodable {
  var submissionID, record, batch, delivery: String
  var missing, importStatus, importMessage: String?
  var deliveries: Int
  /// The commands that answer the record; only `review --json` lists them.
  var commands: [String]?

  init(_ item: Confirmation.Item, withCommands: Bool) {
    submissionID = item.submissionID
    record = item.label
    batch = item.batch
    delivery = item.delivery
    missing = item.missing
    importStatus = item.importStatus
    importMessage = item.importMessage
    deliveries = item.deliveries
    if withCommands {
      commands = [
        "sisdrop redeliver \(item.submissionID)",
        "sisdrop confirm \(item.submissionID) --reason TEXT",
      ]
    }
  }

  enum CodingKeys: String, CodingKey {
    case submissionID, record, batch, delivery, missing, importStatus, importMessage, deliveries,
      commands
  }

  func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(submissionID, forKey: .submissionID)
    try c.encode(record, forKey: .record)
    try c.encode(batch, forKey: .batch)
    try c.encode(delivery, forKey: .delivery)
    // null when nothing is said, never left out: the schema requires the keys.
    try c.encode(missing, forKey: .missing)
    try c.encode(importStatus, forKey: .importStatus)
    try c.encode(importMessage, forKey: .importMessage)
    try c.encode(deliveries, forKey: .deliveries)
    try c.encodeIfPresent(commands, forKey: .commands)
  }
}
