import SISDropCommands

@main struct Entrypoint {
  static func main() { NormalizeCommand.main() }
}
