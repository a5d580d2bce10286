import Foundation

/// SplitMix64: tiny, fast and the same on every platform (Swift's own generator is not
/// seedable). The matcher samples with it, the generator and the tests draw their districts.
package struct SplitMix64 {
  package var state: UInt64
  package init(state: UInt64) { self.state = state }
  package mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  package mutating func int(_ upper: Int) -> Int { Int(next() % UInt64(max(upper, 1))) }
  package mutating func int(_ range: ClosedRange<Int>) -> Int {
    range.lowerBound + int(range.count)
  }
  package mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
  package mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
  /// Zipf-like by rank: the first names of a list are drawn far more often than the last.
  package mutating func zipf<T>(_ items: [T]) -> T {
    let u = Double(next() >> 11) / Double(1 << 53)
    let index = Int(Double(items.count) * pow(u, 2.2))
    return items[min(index, items.count - 1)]
  }
}
