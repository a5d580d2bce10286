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

  /// `mallopt(M_MMAP_THRESHOLD, 256 KiB)` and `mallopt(M_ARENA_MAX, 1)`. `<malloc.h>` is not in the
  /// Glibc module: its functions are looked up by name (`M_MMAP_THRESHOLD` is -3 and `M_ARENA_MAX`
  /// -8 in glibc's ABI). One arena: glibc gives each thread that allocates an arena of its own (up
  /// to 8 per core), and memory freed in one arena serves no other thread's allocations; the
  /// stages' work on every core (`Parallel`) left each step's freed memory in the workers' arenas
  /// while the next step grew another, and at 20,000 submissions the match stage's last steps ran
  /// ~8 MB above what they held. Set before the first stage starts a thread.
  private static let largeBlocksMapped: Bool = {
    #if canImport(Glibc)
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "mallopt") else { return false }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    return mallopt(-3, 256 << 10) == 1 && mallopt(-8, 1) == 1
    #else
    return false
    #endif
  }()
}
