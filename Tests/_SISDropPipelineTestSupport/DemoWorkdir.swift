import Foundation
import SISDrop
import SISDropConfig
import _SISDropTestSupport

/// A working directory with the demo district's files in its inbox (CSV or XML submissions).
package func demoWorkdir(_ root: String, xml: Bool = false) throws -> (
  WorkDir, PipelineConfig, String
) {
  let pipeline = Checkout.pipeline(xml ? "demo-xml" : "demo")
  let config = try PipelineConfig.load(path: pipeline)
  let workdir = try WorkDir(root: root)
  try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: xml)
  return (workdir, config, pipeline)
}

/// A copy of a prepared working directory at `folder` (`cp -a`: modes, times and the SQLite files as
/// they are), for runs that must each start from the same state: a reference run, a kill point.
/// Returns `folder`.
package func copyWorkdir(_ prepared: String, to folder: String) throws -> String {
  let cp = Process()
  cp.executableURL = URL(fileURLWithPath: "/bin/cp")
  cp.arguments = ["-a", prepared, folder]
  try cp.run()
  cp.waitUntilExit()
  guard cp.terminationStatus == 0 else { throw WorkdirCopyFailed(status: cp.terminationStatus) }
  return folder
}

/// `cp -a` of a prepared working directory exited with `status`.
package struct WorkdirCopyFailed: Error { package var status: Int32 }
