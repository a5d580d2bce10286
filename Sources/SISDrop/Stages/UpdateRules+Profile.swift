import Foundation
import SISDropConfig
import SISDropDelivery
import SISDropMatching

extension UpdateRules {
  /// The pipeline's `updates:` policy with the fields its delivery profile writes.
  init(config: PipelineConfig) {
    var written: [String: Set<String>] = ["student": [], "contact": []]
    for column in DeliveryProfiles.make(config).policyColumns {
      if column.kind == .studentsUpdate { written["student", default: []].insert(column.field) }
      if column.kind == .contactsUpdate { written["contact", default: []].insert(column.field) }
    }
    self.init(policy: config.updates, written: written)
  }
}
