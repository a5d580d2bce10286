/// Entries of texts and numbers kept as bytes in one buffer: each text's length (7 bits a byte, the
/// high bit saying more follow) then its UTF-8 bytes, each number the same way; `ends` says where
/// each entry ends. Read back in the order put (`Reader`). Why: records the match stage holds from
/// reading the batch to the last decision are a few hundred bytes this way, against a few
/// kilobytes as Swift values (strings, dictionaries and arrays each on the heap:
/// `scripts/bench/review.sh`). Used by the matcher's `RecordStore` and the match stage's batch.
package struct PackedTexts: Sendable {
  private var bytes: [UInt8] = []
  private var ends: [UInt32] = []

  package init() {}

  /// Entries ended so far.
  package var count: Int { ends.count }
  package var byteCount: Int { bytes.count }

  package mutating func reserve(entries: Int, bytes size: Int) {
    ends.reserveCapacity(entries)
    bytes.reserveCapacity(size)
  }

  package mutating func put(_ text: String) {
    putLength(UInt(text.utf8.count))
    bytes += text.utf8
  }

  /// A number (small ones in a byte, either sign: zigzag, 0 -1 1 -2 … → 0 1 2 3 …).
  package mutating func put(_ number: Int) {
    putLength(UInt(bitPattern: (number << 1) ^ (number >> (Int.bitWidth - 1))))
  }

  private mutating func putLength(_ length: UInt) { VarLength.append(length, to: &bytes) }

  /// What was put since the last entry makes an entry.
  package mutating func end() { ends.append(UInt32(bytes.count)) }

  /// Another buffer's entries after this one's, in their order.
  package mutating func append(contentsOf other: PackedTexts) {
    let base = UInt32(bytes.count)
    bytes += other.bytes
    ends += other.ends.map { $0 + base }
  }

  /// The buffers copied to their exact size: an array grown by appending keeps up to twice the
  /// room it uses.
  package mutating func shrink() {
    bytes = bytes.withUnsafeBufferPointer { [UInt8]($0) }
    ends = ends.withUnsafeBufferPointer { [UInt32]($0) }
  }

  /// Entry `i`, read from its start.
  package func reader(_ i: Int) -> Reader {
    Reader(bytes: bytes, at: i == 0 ? 0 : Int(ends[i - 1]), end: Int(ends[i]))
  }

  /// An entry's texts and numbers, in the order they were put.
  package struct Reader {
    let bytes: [UInt8]
    var at: Int
    let end: Int

    package var atEnd: Bool { at >= end }

    package mutating func number() -> Int {
      let value = VarLength.read(bytes, at: &at)
      return Int(bitPattern: value >> 1) ^ -Int(bitPattern: value & 1)
    }

    private mutating func length() -> Int { Int(VarLength.read(bytes, at: &at)) }

    package mutating func next() -> String {
      let length = length()
      let text = bytes.withUnsafeBufferPointer {
        String(decoding: UnsafeBufferPointer(rebasing: $0[at..<at + length]), as: UTF8.self)
      }
      at += length
      return text
    }
  }
}

/// Entries of `PackedTexts` buffers one after the other, each buffer kept as it is: entries are
/// appended into blocks of a fixed size, and a buffer filled elsewhere is taken whole. Why: one
/// buffer grown by appending doubles its room (and holds old and new while it copies), and joining
/// buffers holds the parts and the copy; at 20,000 submissions those copies set the match stage's
/// peak (`scripts/bench/review.sh`). Used by the matcher's `RecordStore` and the match stage's batch.
package struct PackedChunks: Sendable {
  private var chunks: [PackedTexts] = []
  /// The entries up to the end of each chunk.
  private var ends: [Int] = []

  /// A block's bytes: a new block is started when an entry may not fit in the last one.
  static let blockBytes = 1 << 20
  static let entryRoom = 16 << 10

  package init() {}

  package var count: Int { ends.last ?? 0 }

  /// `chunk`'s entries after these, in their order (its buffers are kept, not copied).
  package mutating func append(_ chunk: PackedTexts) {
    guard chunk.count > 0 else { return }
    chunks.append(chunk)
    ends.append(count + chunk.count)
  }

  package mutating func append(contentsOf other: PackedChunks) {
    for chunk in other.chunks { append(chunk) }
  }

  /// One entry, put by `body` at the end of the last block (a new one when the last is full).
  package mutating func appendEntry(_ body: (inout PackedTexts) -> Void) {
    if chunks.isEmpty || chunks[chunks.count - 1].byteCount + Self.entryRoom > Self.blockBytes {
      var block = PackedTexts()
      block.reserve(entries: Self.blockBytes / 64, bytes: Self.blockBytes)
      chunks.append(block)
      ends.append(count)
    }
    body(&chunks[chunks.count - 1])
    chunks[chunks.count - 1].end()
    ends[ends.count - 1] += 1
  }

  /// Entry `i`, read from its start.
  package func reader(_ i: Int) -> PackedTexts.Reader {
    precondition(i >= 0 && i < count, "entry \(i) of \(count)")
    // The first chunk that ends after `i`.
    var low = 0
    var high = ends.count - 1
    while low < high {
      let middle = (low + high) / 2
      if ends[middle] > i { high = middle } else { low = middle + 1 }
    }
    return chunks[low].reader(i - (low == 0 ? 0 : ends[low - 1]))
  }
}
