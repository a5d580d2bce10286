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
