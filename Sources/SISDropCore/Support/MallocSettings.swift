#if canImport(Glibc)
import Glibc
#endif

/// glibc's malloc before each stage (`StageRunner.run`). Set once for the process: a block of
/// 256 KiB or more is mapped on its own and goes back to the system when it is freed. glibc starts
/// there but raises the threshold to the size of each such block freed (up to 32 MiB), after which
/// a stage's large arrays come from the heap and stay in the process's memory once freed, under
/// what the next step allocates. And at every stage: the free pages of the heap given back
/// (`malloc_trim`), so that a stage of `sisdrop run` does not start on the previous stages' freed
/// memory. Why: in `sisdrop run` at 20,000 submissions the steps after match (deliver, the report)
/// peaked above the match stage itself, and the match stage ran ~10 MB above its peak alone;
/// `docs/PLATFORM-NOTES.md` ("glibc malloc") has the figures.
package enum MallocSettings {
  package static func beforeStage() {
    _ = largeBlocksMapped
    #if canImport(Glibc)
    typealias MallocTrim = @convention(c) (Int) -> Int32
    if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: MallocTrim.self)(0) }
    #endif
  }

  /// `mallopt(M_MMAP_THRESHOLD, 256 KiB)`. `<malloc.h>` is not in the Glibc module: its functions
  /// are looked up by name (`M_MMAP_THRESHOLD` is -3 in glibc's ABI).
  private static let largeBlocksMapped: Bool = {
    #if canImport(Glibc)
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "mallopt") else { return false }
    return unsafeBitCast(symbol, to: Mallopt.self)(-3, 256 << 10) == 1
    #else
    return false
    #endif
  }()
}
