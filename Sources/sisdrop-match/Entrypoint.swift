import SISDropCommands

@main struct Entrypoint {
  static func main() { MatchCommand.main() }
}
