import Foundation

/// A one-line terminal progress bar: `[#####.....] step/total  img/s  ETA  extra`, redrawn in place
/// on a terminal and printed as plain lines every `plainInterval` updates otherwise (logs, CI).
public struct ProgressBar {
    public let total: Int
    let width = 28
    let start = Date()
    let isTerminal = isatty(STDOUT_FILENO) != 0
    let plainInterval: Int
    /// What `rate` counts per second (`img/s` for training).
    let unit: String
    /// Items already done when the bar started (a resumed run), left out of the rate behind the ETA.
    let initial: Int

    public init(total: Int, plainInterval: Int = 10, initial: Int = 0, unit: String = "img/s") {
        self.total = max(total, 1)
        self.plainInterval = max(plainInterval, 1)
        self.initial = initial
        self.unit = unit
    }

    /// The bar text for `done` of `total`, at `rate` items/s, with `extra` appended.
    public func line(_ done: Int, rate: Double, extra: String) -> String {
        let fraction = min(1, Double(done) / Double(total))
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > initial ? elapsed / Double(done - initial) * Double(total - done) : 0
        return "[\(bar)] \(done)/\(total) \(String(format: "%.1f", rate)) \(unit) ETA \(ProgressBar.clock(eta)) \(extra)"
    }

    /// Prints the bar (in place on a terminal).
    public func update(_ done: Int, rate: Double, extra: String) {
        let text = line(done, rate: rate, extra: extra)
        if isTerminal {
            print("\r\u{1B}[K" + text, terminator: done >= total ? "\n" : "")
            fflush(nil)
        } else if done % plainInterval == 0 || done >= total {
            print(text)
            fflush(nil)
        }
    }

    /// `h:mm:ss` of a duration in seconds.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
