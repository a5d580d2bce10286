import CCrypto
import Foundation

/// SHA-256 through OpenSSL's libcrypto (docs/PLATFORM-NOTES.md, "SHA-256": as fast as swift-crypto, no build cost).
///
/// The corresponding C functions are `EVP_DigestInit_ex`, `EVP_DigestUpdate` and `EVP_DigestFinal_ex`.
package final class SHA256Hasher {
  private let context: OpaquePointer

  package init() {
    guard let context = EVP_MD_CTX_new() else {
      fatalError("internal error: EVP_MD_CTX_new failed")
    }
    self.context = context
    EVP_DigestInit_ex(context, EVP_sha256(), nil)
  }

  deinit { EVP_MD_CTX_free(context) }

  package func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    EVP_DigestUpdate(context, base, bytes.count)
  }

  package func update(_ data: some DataProtocol) {
    for region in data.regions { region.withUnsafeBytes { update($0) } }
  }

  package func update(_ string: String) {
    var string = string
    string.withUTF8 { update(UnsafeRawBufferPointer($0)) }
  }

  /// The digest as 64 lowercase hex digits. The hasher cannot be used afterwards.
  package func finalizeHex() -> String {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    EVP_DigestFinal_ex(context, &digest, &length)
    return hexString(digest)
  }
}

@available(*, unavailable) extension SHA256Hasher: Sendable {}

private let hexDigits = Array("0123456789abcdef".utf8)

func hexString(_ bytes: [UInt8]) -> String {
  var out: [UInt8] = []
  out.reserveCapacity(bytes.count * 2)
  for byte in bytes {
    out.append(hexDigits[Int(byte >> 4)])
    out.append(hexDigits[Int(byte & 0x0f)])
  }
  return String(decoding: out, as: UTF8.self)
}

package enum SHA256 {
  package static func hex(_ data: some DataProtocol) -> String {
    let hasher = SHA256Hasher()
    hasher.update(data)
    return hasher.finalizeHex()
  }

  package static func hex(_ string: String) -> String {
    let hasher = SHA256Hasher()
    hasher.update(string)
    return hasher.finalizeHex()
  }

  /// Hash and size of a file, read in 1 MiB chunks (memory does not grow with the file).
  /// `inboxFile`: a file from the inbox, opened only if it is a regular file with one name (`InboxFile`).
  package static func file(at path: String, inboxFile: Bool = false) throws -> (
    sha256: String, size: Int64
  ) {
    let fd = inboxFile ? try InboxFile.open(path) : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError.posix(errno, "open", path) }
    defer { close(fd) }
    let hasher = SHA256Hasher()
    var size: Int64 = 0
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let n = read(fd, buffer.baseAddress, buffer.count)
      if n < 0 {
        if errno == EINTR { continue }
        throw FileError.posix(errno, "read", path)
      }
      if n == 0 { break }
      hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
      size += Int64(n)
    }
    return (hasher.finalizeHex(), size)
  }
}
