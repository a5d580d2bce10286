import Foundation

/// The inbox drop folder: which files belong to which feed, and which are still arriving.
public struct Inbox {
  public let path: String
  public let config: PipelineConfig

  /// Names a sender uses while a file is still being uploaded: never claimed.
  public static func isTemporaryName(_ name: String) -> Bool {
    name.hasPrefix(".") || name.hasSuffix(".part") || name.hasSuffix(".filepart") || name.hasSuffix(".tmp")
      || name.hasSuffix(".partial") || name.hasPrefix("~")
  }

  /// The inbox file names sisdrop reads, by feed.
  public var sisExportNames: [String] { config.sisExport.files.values.sorted() }
  public var submissionNames: [String] { config.submissions.files.values.sorted() }

  /// The main submissions file: the one whose presence means there is something to deliver.
  public var submissionsFileName: String { config.submissions.files["submissions"] ?? "submissions.csv" }

  public struct Listing {
    public var claimable: [String]
    public var ignored: [String]
  }

  public func list() throws -> Listing {
    guard FileSystem.isDirectory(path) else {
      throw SISDropError(.noInput, "the inbox folder does not exist", at: SourceLocation(path: path),
                         hint: "create it, or set paths.inbox in the pipeline config")
    }
    let known = Set(sisExportNames + submissionNames)
    var listing = Listing(claimable: [], ignored: [])
    for name in try FileSystem.listDirectory(path) {
      if Inbox.isTemporaryName(name) || FileSystem.isDirectory(path + "/" + name) { continue }
      if known.contains(name) { listing.claimable.append(name) } else { listing.ignored.append(name) }
    }
    return listing
  }
}
