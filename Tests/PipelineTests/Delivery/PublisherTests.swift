import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore

@Suite struct PublisherTests {
  /// A deliver folder with one flat file and one bundle folder, and its ready file.
  func deliverFolder(_ root: String, users: String) throws -> String {
    let folder = root + "/deliver"
    try writeFile(folder + "/B1_students_new.csv", "a,b\r\n1,2\r\n")
    try writeFile(folder + "/B1_oneroster_new/users.csv", users)
    var ready = "File,SHA256,Size,Rows\n"
    for name in ["B1_oneroster_new/users.csv", "B1_students_new.csv"] {
      let (hash, size) = try SHA256.file(at: folder + "/" + name)
      ready += "\(name),\(hash),\(size),1\n"
    }
    try writeFile(folder + "/B1.ready", ready)
    return folder
  }

  @Test func publishingAgainIsANoOpAndDifferentContentIsRefused() throws {
    try withTemporaryFolder { root in
      let outbox = root + "/outbox"
      try FileSystem.makeDirectory(outbox)
      let folder = try deliverFolder(root, users: "sourcedId\r\nu1\r\n")
      let first = try Publisher.publish(batch: "B1", deliverFolder: folder, outbox: outbox)
      #expect(
        first.map(\.path).sorted() == [
          "B1.ready", "B1_oneroster_new/users.csv", "B1_students_new.csv",
        ])
      #expect(try readText(outbox + "/B1_oneroster_new/users.csv") == "sourcedId\r\nu1\r\n")
      #expect(try Publisher.publish(batch: "B1", deliverFolder: folder, outbox: outbox).count == 3)
      #expect(try Publisher.verify(batch: "B1", deliverFolder: folder, outbox: outbox).count == 3)

      try FileManager.default.removeItem(atPath: folder)
      let changed = try deliverFolder(root, users: "sourcedId\r\nu2\r\n")
      let error = try #require(throws: SISDropError.self) {
        try Publisher.publish(batch: "B1", deliverFolder: changed, outbox: outbox)
      }
      #expect(error.status == .cannotCreate && error.message.contains("B1_oneroster_new"))
      #expect(
        try readText(outbox + "/B1_oneroster_new/users.csv") == "sourcedId\r\nu1\r\n",
        "never overwritten")
    }
  }
}
