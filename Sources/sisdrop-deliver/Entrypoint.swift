import SISDropCommands

@main struct Entrypoint {
  static func main() { DeliverCommand.main() }
}
