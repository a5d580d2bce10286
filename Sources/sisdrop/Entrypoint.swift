import SISDropCommands

@main struct Entrypoint {
  static func main() { SISDropCommand.main() }
}
