import Foundation

public enum BatchReport {
  @discardableResult
  public static func write(workdir: WorkDir, batch: BatchRecord) throws -> String {
    workdir.batchFolder(batch.id) + "/report.html"
  }
}
