import SISDropCore

/// A file the open batch claimed that a stage refuses whole (a cut-off upload, a duplicate column,
/// a broken SIS export): every retry reads that same claimed copy, never edited in place, and a
/// new upload waits unread in the inbox while the batch is open. The way out is to cancel the batch
/// first, so the advice is made complete once, on the error itself: the log line, the stage's
/// failure in `sisdrop status`, the status's why-line and the run's notification all print it.
package enum ClaimedCopy {
  /// The command that cancels the open batch of `workdir`, as the advice and the notification print it.
  package static func cancelCommand(_ workdir: String) -> String {
    "sisdrop cancel --workdir \(workdir)"
  }

  /// Whether `error` refuses (65) a file that `batch` claimed (`batches/<batch>/input/...`).
  package static func isRefusal(_ error: Error, batch: String) -> Bool {
    guard let error = error as? SISDropError, error.status == .dataError else { return false }
    return error.location?.path.contains("/batches/\(batch)/input/") == true
  }

  /// `error` with its advice completed when it refuses a file `batch` claimed: cancel the batch
  /// first, then what the error itself says to do. Any other error is returned as it is.
  package static func refusal(_ error: Error, workdir: String, batch: String) -> Error {
    guard isRefusal(error, batch: batch), var refused = error as? SISDropError else { return error }
    let todo = refused.hint ?? "have the sender upload a corrected file"
    refused.hint =
      "first cancel the batch, `\(cancelCommand(workdir))` (batch \(batch) holds this claimed copy"
      + " and every retry reads it again; the cancel archives it), then: \(todo); the next run"
      + " claims the file the sender uploads"
    return refused
  }

  /// Whether `error`'s advice is to cancel the open batch of `workdir` with the command.
  package static func advisesCancel(_ error: Error, workdir: String) -> Bool {
    (error as? SISDropError)?.hint?.contains("`\(cancelCommand(workdir))`") == true
  }
}
