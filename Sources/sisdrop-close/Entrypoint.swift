import SISDropCommands

@main struct Entrypoint {
  static func main() { CloseCommand.main() }
}
