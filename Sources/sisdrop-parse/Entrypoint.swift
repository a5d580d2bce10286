import SISDropCommands

@main struct Entrypoint {
  static func main() { ParseCommand.main() }
}
