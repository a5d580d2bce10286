import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropFormats

#if canImport(Glibc)
import Glibc
#endif

/// Every configuration problem of a pipeline and the machine it runs on, found at once without
/// running anything (`sisdrop check`), and the same checks `sisdrop run` makes before it claims.
///
/// Creates nothing: folders that a run would create are only checked to be creatable.
package struct PipelineCheck: Sendable {
  /// The pipeline as read, with defaults where a key was bad (nil when the file is not YAML).
  package var config: PipelineConfig?
  package var workdir: String
  /// What stops a run (exit 78).
  package var problems: [SISDropError] = []
  /// What a run survives but a person should know.
  package var warnings: [String] = []
  /// The configured sendmail cannot be run: a problem for `check`, while `run` delivers anyway and
  /// records it in the integration status (a delivery does not wait for mail).
  package var sendmailProblem: SISDropError?

  package var ok: Bool { problems.isEmpty }

  /// Checks a pipeline file for the working directory a command would use.
  ///
  /// - Parameters:
  ///   - workdir: `--workdir`, or nil: the pipeline's `workdir`, else `otherwise` (the rule `run` follows).
  /// - Throws: `SISDropError` 66 when the pipeline file does not exist.
  package static func run(pipelinePath: String, workdir: String?, otherwise: String) throws
    -> PipelineCheck
  {
    let path = FileSystem.absolute(pipelinePath)
    guard FileSystem.exists(path) else {
      throw SISDropError.missingInput(path, hint: "name an existing pipeline file with --pipeline")
    }
    let fallback = FileSystem.absolute(workdir ?? otherwise)
    let config: PipelineConfig
    let parsed: [SISDropError]
    do {
      (config, parsed) = try PipelineConfig.parseCollecting(
        bytes: try PipelineConfig.readBytes(path), path: path)
    } catch let error as SISDropError {
      return PipelineCheck(config: nil, workdir: fallback, problems: [error])
    }
    return environment(
      config, workdir: FileSystem.absolute(workdir ?? config.workdir ?? otherwise), parsed: parsed)
  }

  /// The checks beyond the file's own syntax: Plugin.xml and the field policy, the folders and
  /// their permissions, the time zone, sendmail.
  ///
  /// - Parameter parsed: the problems parsing found (they come first).
  package static func environment(
    _ config: PipelineConfig, workdir root: String, parsed: [SISDropError] = []
  ) -> PipelineCheck {
    var check = PipelineCheck(config: config, workdir: root, problems: parsed)
    check.checkPlugin(config)
    check.checkFolders(config, workdir: root)
    // A zone that is set but wrong is its own problem (reported while parsing), not "not set".
    if !config.timeZoneConfigured
      && !parsed.contains(where: { $0.message.contains("district.time_zone") })
    {
      check.warnings.append(
        "\(config.path): district.time_zone is not set: times without a zone are read as \(config.timeZone.identifier)"
      )
    }
    check.checkNotifications(config)
    return check
  }

  /// The run's refusal: every problem but sendmail's in one error (78), or nothing.
  package func requireRunnable() throws {
    let stopping = problems.filter { $0.message != sendmailProblem?.message }
    if let error = PipelineConfig.combined(stopping, path: config?.path ?? workdir) { throw error }
  }

  private mutating func checkPlugin(_ config: PipelineConfig) {
    guard let pluginPath = config.pluginPath else {
      // A bad `plugin:` value was reported while parsing; only a missing key is reported here.
      if !problems.contains(where: { $0.message.hasPrefix("plugin:") }) {
        problems.append(
          SISDropError.configuration(
            "the pipeline names no Plugin.xml: its access_request is the field policy that decides which SIS fields may be delivered",
            at: SourceLocation(path: config.path),
            hint: "set `plugin:` to the district's Plugin.xml"))
      }
      return
    }
    let plugin: PluginManifest
    do {
      plugin = try PluginManifest.load(path: pluginPath)
    } catch let error as SISDropError {
      problems.append(
        SISDropError(.configuration, error.message, at: error.location, hint: error.hint))
      return
    } catch {
      problems.append(SISDropError.configuration("\(error)", at: SourceLocation(path: pluginPath)))
      return
    }
    let profile = DeliveryProfiles.make(config)
    let kinds = Set(DeliveryKind.batchKinds)
    problems += DeliveryProfiles.policyProblems(
      profile, plugin: plugin, pluginPath: pluginPath, kinds: kinds, pipelinePath: config.path)
    problems += creationProblems(profile, kinds: DeliveryKind.batchKinds, config: config)
    // The attendance file is the tardy feed's (`sisdrop tardies`), not the nightly run's: a warning.
    if config.tardyCodesPath != nil {
      let attendance =
        DeliveryProfiles.policyProblems(
          profile, plugin: plugin, pluginPath: pluginPath, kinds: [.attendance],
          pipelinePath: config.path)
        + creationProblems(profile, kinds: [.attendance], config: config)
      warnings += attendance.map { "`sisdrop tardies` would refuse this pipeline: \($0)" }
    }
  }

  /// A file that creates records must carry what creating one needs: each kind on its own, so all are named.
  private func creationProblems(
    _ profile: DeliveryProfile, kinds: [DeliveryKind], config: PipelineConfig
  ) -> [SISDropError] {
    kinds.compactMap { kind in
      do {
        try DeliveryProfiles.checkCreation(profile, kinds: [kind], config: config)
        return nil
      } catch let error as SISDropError {
        return error
      } catch {
        return SISDropError.configuration("\(error)", at: SourceLocation(path: config.path))
      }
    }
  }

  private mutating func checkFolders(_ config: PipelineConfig, workdir root: String) {
    let at = SourceLocation(path: config.path)
    folder("working directory", root, needs: R_OK | W_OK | X_OK, mayBeCreated: true, at: at)
    if FileSystem.exists(root + "/state.sqlite"), access(root + "/state.sqlite", R_OK | W_OK) != 0 {
      problems.append(
        SISDropError.configuration(
          "this user cannot write the state database \(root)/state.sqlite", at: at,
          hint: "run sisdrop as the user that owns the working directory"))
    }
    // The inbox is the sender's upload folder: a missing one is a wrong path, not something to create.
    // A `paths` key the file gives is named with its line.
    func given(_ key: String) -> SourceLocation {
      SourceLocation(path: config.path, line: config.pathLines[key])
    }
    folder(
      "paths.inbox", config.resolve(config.inbox, workdir: root), needs: R_OK | W_OK | X_OK,
      mayBeCreated: false, role: "the SFTP upload folder", at: given("inbox"))
    // The outbox is the folder the SIS picks delivery files up from, made with its owner and mode
    // when the drop folders are set up (README, "Nightly operations"): a missing one is a wrong path
    // or a mount not there, and publication would refuse it after the night's work; so refuse now.
    folder(
      "paths.outbox", config.resolve(config.outbox, workdir: root), needs: W_OK | X_OK,
      mayBeCreated: false, role: "the SFTP folder the SIS picks the delivery files up from",
      at: given("outbox"))
    // Made when first needed (the first close, the first notification): no news when missing.
    folder(
      "paths.archive", config.resolve(config.archive, workdir: root), needs: W_OK | X_OK,
      mayBeCreated: true,
      warnIfMissing: false, at: given("archive"))
    folder(
      "notifications.folder", config.resolve(config.operations.notifications.folder, workdir: root),
      needs: W_OK | X_OK, mayBeCreated: true, warnIfMissing: false, at: at)
  }

  /// A folder this user must be able to use (`needs`: access(2) bits), or create.
  private mutating func folder(
    _ name: String, _ path: String, needs: Int32, mayBeCreated: Bool, warnIfMissing: Bool = true,
    role: String = "", at: SourceLocation
  ) {
    let what = "\(name) \(path)"
    if FileSystem.exists(path) {
      guard FileSystem.isDirectory(path) else {
        problems.append(
          SISDropError.configuration(
            "\(what) is not a folder", at: at, hint: "point \(name) at a folder"))
        return
      }
      if access(path, needs) != 0 {
        let wanted = [(R_OK, "read"), (W_OK, "write"), (X_OK, "enter")].filter { needs & $0.0 != 0 }
          .map(\.1)
        problems.append(
          SISDropError.configuration(
            "this user (uid \(getuid())) cannot \(wanted.joined(separator: ", ")) the \(what)",
            at: at,
            hint: "give the user that runs sisdrop access (README, “Which user runs sisdrop”)"))
      }
      return
    }
    guard mayBeCreated else {
      problems.append(
        SISDropError.configuration(
          "\(what) does not exist", at: at,
          hint: "create it (\(role)), or fix \(name) in the pipeline"))
      return
    }
    // Created by the first run that needs it: its nearest existing parent must let this user.
    var parent = (path as NSString).deletingLastPathComponent
    while !FileSystem.exists(parent) && parent != "/" && !parent.isEmpty {
      parent = (parent as NSString).deletingLastPathComponent
    }
    if !FileSystem.isDirectory(parent) || access(parent, W_OK | X_OK) != 0 {
      problems.append(
        SISDropError.configuration(
          "\(what) does not exist and this user (uid \(getuid())) cannot create it in \(parent)",
          at: at,
          hint: "create it, or fix \(name) in the pipeline"))
    } else if warnIfMissing {
      warnings.append("\(what) does not exist yet: the first run creates it")
    }
  }

  private mutating func checkNotifications(_ config: PipelineConfig) {
    let settings = config.operations.notifications
    guard let command = settings.sendmail else {
      if !settings.to.isEmpty {
        warnings.append(
          "notifications.to is set but notifications.sendmail is not: messages are only written to \(settings.folder)/"
        )
      }
      return
    }
    if !FileSystem.exists(command[0]) {
      sendmailProblem = SISDropError.configuration(
        "notifications.sendmail: \(command[0]) does not exist, so no notification can be sent",
        at: SourceLocation(path: config.path),
        hint:
          "install a mail transfer agent that provides it (e.g. apt-get install postfix or msmtp-mta), or fix the path"
      )
    } else if access(command[0], X_OK) != 0 || FileSystem.isDirectory(command[0]) {
      sendmailProblem = SISDropError.configuration(
        "notifications.sendmail: \(command[0]) is not executable by this user",
        at: SourceLocation(path: config.path),
        hint: "fix its mode, or name the right program")
    }
    if let sendmailProblem { problems.append(sendmailProblem) }
    if settings.to.isEmpty {
      warnings.append(
        "notifications.sendmail is set but notifications.to is empty: messages go to root@localhost"
      )
    }
  }
}
