import ArgumentParser
import Engine
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List every backend and device, and which one `auto` picks.")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let devices = Device.list()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(devices), as: UTF8.self))
            return
        }
        print("selector   type  CUs  memory     name (platform, driver)")
        for d in devices {
            let mem = String(format: "%.1f GiB", Double(d.globalMemoryBytes) / 1_073_741_824)
            let mark = d.isAutoChoice ? "  <- auto" : ""
            let sel = d.selector.padding(toLength: 10, withPad: " ", startingAt: 0)
            let type = d.deviceType.padding(toLength: 5, withPad: " ", startingAt: 0)
            let cus = String(d.computeUnits).padding(toLength: 4, withPad: " ", startingAt: 0)
            let extra = d.kind == .cpu ? d.platform : "\(d.platform), \(d.driverVersion)"
            print("\(sel) \(type) \(cus) \(mem.padding(toLength: 10, withPad: " ", startingAt: 0)) \(d.name) (\(extra))\(mark)")
        }
    }
}
