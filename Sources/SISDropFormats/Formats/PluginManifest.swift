import Foundation
import SISDropCore

/// A PowerSchool plugin manifest (`Plugin.xml`), validated; its `access_request` is the field policy.
package struct PluginManifest: Sendable, Hashable, Codable {
  package enum Access: String, Sendable, Codable {
    case viewOnly = "ViewOnly"
    case fullAccess = "FullAccess"
  }

  package struct FieldGrant: Sendable, Hashable, Codable {
    package var table: String
    package var field: String
    package var access: Access
  }

  package static let namespace = "http://plugin.powerschool.pearson.com"

  package var name: String
  package var version: String
  package var publisher: String
  package var contactEmail: String
  package var fields: [FieldGrant]
  package var sha256: String

  /// The access granted on `table.field` (table and field compared without case), or nil.
  package func access(table: String, field: String) -> Access? {
    fields.first {
      $0.table.lowercased() == table.lowercased() && $0.field.lowercased() == field.lowercased()
    }?.access
  }

  package func canRead(table: String, field: String) -> Bool {
    access(table: table, field: field) != nil
  }
  package func canWrite(table: String, field: String) -> Bool {
    access(table: table, field: field) == .fullAccess
  }

  /// Reads and validates a Plugin.xml.
  ///
  /// - Throws: `SISDropError` (78, a configuration error) naming the element and line.
  package static func load(path: String) throws -> PluginManifest {
    let root: XMLElementNode
    do {
      root = try XMLStreamReader(path: path).readDocument()
    } catch let error as SISDropError where error.status == .dataError {
      throw SISDropError(.configuration, error.message, at: error.location, hint: error.hint)
    }
    func fail(_ message: String, _ node: XMLElementNode, hint: String? = nil) -> SISDropError {
      SISDropError.configuration(
        message, at: SourceLocation(path: path, line: node.line, element: node.name),
        hint: hint ?? "fix Plugin.xml (PowerSchool plugin format) and run again")
    }
    guard root.name == "plugin" else {
      throw fail("the root element must be <plugin>, found <\(root.name)>", root)
    }
    guard root.namespace == namespace else {
      throw fail(
        "<plugin> must be in the namespace \(namespace), found '\(root.namespace)'", root,
        hint: "add xmlns=\"\(namespace)\" to <plugin>")
    }
    let name = root.attribute("name")?.trimmingCharacters(in: .whitespaces) ?? ""
    guard !name.isEmpty else { throw fail("<plugin> has no name attribute", root) }
    guard name.count <= 40 else {
      throw fail("the plugin name is \(name.count) characters; PowerSchool allows 40", root)
    }
    let version = root.attribute("version")?.trimmingCharacters(in: .whitespaces) ?? ""
    guard !version.isEmpty else { throw fail("<plugin> has no version attribute", root) }
    guard let publisher = root.children(named: "publisher").first else {
      throw fail("<plugin> has no <publisher>", root)
    }
    let publisherName = publisher.attribute("name") ?? ""
    guard !publisherName.isEmpty else { throw fail("<publisher> has no name attribute", publisher) }
    guard let contact = publisher.children(named: "contact").first else {
      throw fail("<publisher> has no <contact email=\"...\"/>", publisher)
    }
    let email = contact.attribute("email") ?? ""
    guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@") else {
      throw fail(
        "<contact> needs an e-mail address in its email attribute, found '\(email)'", contact)
    }
    guard let request = root.children(named: "access_request").first else {
      throw fail(
        "<plugin> has no <access_request>: sisdrop may neither read nor write any field", root)
    }
    var grants: [FieldGrant] = []
    var seen = Set<String>()
    for field in request.children {
      guard field.name == "field" else {
        throw fail("unexpected <\(field.name)> in <access_request>", field)
      }
      let table = field.attribute("table") ?? ""
      let column = field.attribute("field") ?? ""
      guard !table.isEmpty, !column.isEmpty else {
        throw fail("<field> needs table and field attributes", field)
      }
      guard let access = Access(rawValue: field.attribute("access") ?? "") else {
        throw fail(
          "access must be ViewOnly or FullAccess, found '\(field.attribute("access") ?? "")'", field
        )
      }
      guard seen.insert("\(table.lowercased()).\(column.lowercased())").inserted else {
        throw fail("\(table).\(column) is requested twice", field)
      }
      grants.append(FieldGrant(table: table, field: column, access: access))
    }
    let hash = try SHA256.file(at: path).sha256
    return PluginManifest(
      name: name, version: version, publisher: publisherName, contactEmail: email, fields: grants,
      sha256: hash)
  }
}
