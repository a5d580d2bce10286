import Foundation

/// Work split over the machine's cores in contiguous chunks, results in chunk order: the caller
/// gets the same answer as a plain loop, whatever the scheduling (stage outputs stay byte-identical).
package enum Parallel {
  package static let width = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

  /// Runs `body` on contiguous ranges covering 0..<count, concurrently when there is enough work
  /// (`minimum` items per chunk at least); returns the ranges' results in range order.
  package static func chunks<R: Sendable>(
    _ count: Int, minimum: Int = 256, _ body: @escaping @Sendable (Range<Int>) throws -> R
  ) throws -> [R] {
    let n = max(1, min(width, count / max(minimum, 1)))
    if n == 1 { return [try body(0..<count)] }
    let size = (count + n - 1) / n
    let results = Slots<R>(count: n)
    DispatchQueue.concurrentPerform(iterations: n) { chunk in
      let range = min(chunk * size, count)..<min((chunk + 1) * size, count)
      results.set(chunk, Result { try body(range) })
    }
    return try results.values().map { try $0.get() }
  }

  /// `transform` of every index of 0..<count, concurrently, in index order.
  package static func map<R: Sendable>(
    _ count: Int, minimum: Int = 256, _ transform: @escaping @Sendable (Int) throws -> R
  ) throws -> [R] {
    try chunks(count, minimum: minimum) { range in try range.map(transform) }.flatMap { $0 }
  }
}

/// Slots written once each from concurrent work, read after it ends.
private final class Slots<R>: @unchecked Sendable {
  private var slots: [Result<R, Error>?]
  private let lock = NSLock()
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func set(_ index: Int, _ value: Result<R, Error>) { lock.withLock { slots[index] = value } }
  func values() -> [Result<R, Error>] { lock.withLock { slots.map { $0! } } }
}
