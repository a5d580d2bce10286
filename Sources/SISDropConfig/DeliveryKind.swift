import Foundation
import SISDropCore

/// The kinds of delivery record; each is its own file in every profile (new and updates apart).
package enum DeliveryKind: String, Sendable, Codable, CaseIterable {
  case studentsNew = "students_new"
  case studentsUpdate = "students_update"
  case contactsNew = "contacts_new"
  case contactsUpdate = "contacts_update"
  case documents
  /// The Raptor tardy feed's attendance records.
  case attendance

  /// The SIS table a kind writes, as Plugin.xml names it.
  package var table: String {
    switch self {
    case .studentsNew, .studentsUpdate: return "Students"
    case .contactsNew, .contactsUpdate: return "Contacts"
    case .documents: return "Documents"
    case .attendance: return "Attendance"
    }
  }

  /// The schema errors.csv names (the seed's "record or schema").
  package var schema: String {
    switch self {
    case .studentsNew, .studentsUpdate: return "student"
    case .contactsNew, .contactsUpdate: return "contact"
    case .documents: return "document"
    case .attendance: return "attendance"
    }
  }

  /// Key columns identify an SIS record: they need read access, not write access.
  package var keys: Set<String> {
    switch self {
    case .studentsUpdate: return [FieldName.studentNumber]
    case .contactsNew: return [FieldName.contactID, FieldName.studentNumber]
    case .contactsUpdate: return [FieldName.contactID, FieldName.studentNumber]
    case .documents: return [FieldName.studentNumber]
    case .studentsNew, .attendance: return []
    }
  }

  package var isUpdate: Bool { self == .studentsUpdate || self == .contactsUpdate }

  /// The record element of the XML profile (the default layouts' element names).
  package var element: String {
    switch self {
    case .studentsNew, .studentsUpdate: return "student"
    case .contactsNew, .contactsUpdate: return "contact"
    case .documents: return "document"
    case .attendance: return "attendance"
    }
  }

  /// What a batch delivers (the tardy feed delivers `attendance` on its own).
  package static let batchKinds: [DeliveryKind] = [
    .studentsNew, .studentsUpdate, .contactsNew, .contactsUpdate, .documents,
  ]
}
