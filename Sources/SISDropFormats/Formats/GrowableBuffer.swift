/// A growable buffer of plain values for the snapshot load's hot loops (the CSV reader's record,
/// the normalized row): appends without Array's uniqueness check and generic copy on every call,
/// which were a fifth of the CSV parse + normalize time (`perf`, scripts/bench/pipeline.sh).
///
/// A plain struct over memory it allocates: copying it costs nothing (no reference count), and
/// its owner frees it with `deallocate()` (the CSV reader in its deinit, the snapshot load when a
/// table is done). One owner at a time: a copy must not be used after another copy has grown.
package struct GrowableBuffer<Element: BitwiseCopyable> {
  private(set) var base: UnsafeMutablePointer<Element>
  private(set) var capacity: Int
  package private(set) var count = 0

  package init(capacity: Int = 1024) {
    let capacity = Swift.max(capacity, 16)
    base = .allocate(capacity: capacity)
    self.capacity = capacity
  }

  /// Frees the memory; the buffer must not be used afterwards.
  package func deallocate() { base.deallocate() }

  package var isEmpty: Bool { count == 0 }

  @inline(__always)
  package subscript(index: Int) -> Element {
    get { base[index] }
    nonmutating set { base[index] = newValue }
  }

  private mutating func grow(toAtLeast minimum: Int) {
    var newCapacity = capacity * 2
    while newCapacity < minimum { newCapacity *= 2 }
    let pointer = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
    pointer.initialize(from: base, count: count)
    base.deallocate()
    base = pointer
    capacity = newCapacity
  }

  @inline(__always)
  package mutating func append(_ element: Element) {
    if count == capacity { grow(toAtLeast: count + 1) }
    base[count] = element
    count += 1
  }

  @inline(__always)
  package mutating func append(contentsOf elements: UnsafeBufferPointer<Element>) {
    let n = elements.count
    if n == 0 { return }
    if count + n > capacity { grow(toAtLeast: count + n) }
    (base + count).initialize(from: elements.baseAddress!, count: n)
    count += n
  }

  package mutating func append(contentsOf elements: some Collection<Element>) {
    for element in elements { append(element) }
  }

  /// Drops the elements from `index` on.
  @inline(__always)
  package mutating func removeAll(from index: Int = 0) { count = index }

  /// The elements from `start` to the end (valid until the buffer next grows).
  @inline(__always)
  package func elements(from start: Int = 0) -> UnsafeMutableBufferPointer<Element> {
    UnsafeMutableBufferPointer(start: base + start, count: count - start)
  }

  /// The elements `start..<end` (valid until the buffer next grows).
  @inline(__always)
  package func elements(_ start: Int, _ end: Int) -> UnsafeBufferPointer<Element> {
    UnsafeBufferPointer(start: base + start, count: end - start)
  }

  package var array: [Element] { Array(elements()) }
}

@available(*, unavailable) extension GrowableBuffer: Sendable {}
