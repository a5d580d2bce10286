/// A length or number in 7-bit groups, low group first, the high bit saying another byte follows
/// (LEB128): the one encoding `PackedFields` and `PackedTexts` write and read.
enum VarLength {
  static func append(_ value: UInt, to bytes: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
      bytes.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    bytes.append(UInt8(value))
  }

  /// The value that starts at `i`; `i` moves past it.
  @inline(__always)
  static func read<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, at i: inout Int) -> UInt
  where Bytes.Index == Int {
    var value: UInt = 0
    var shift: UInt = 0
    while true {
      let byte = bytes[i]
      i += 1
      value |= UInt(byte & 0x7F) << shift
      if byte < 0x80 { return value }
      shift += 7
    }
  }
}
