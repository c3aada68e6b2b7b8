import Dispatch
import Foundation

/// Row-parallel loops for the full-resolution image steps (resize, pyramid, SSIM).
enum RecolorParallel {
    /// Runs `body` over `0..<count` in contiguous chunks of at least `grain` items, in parallel when there is
    /// enough work. `body` must write only to the disjoint parts of its output that its range owns.
    static func chunks(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let pieces = min(threads * 4, max(1, count / max(grain, 1)))
        if pieces <= 1 { body(0..<count); return }
        let size = (count + pieces - 1) / pieces
        withoutActuallyEscaping(body) { body in
            let work = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: pieces) { c in
                let lo = c * size, hi = min(count, lo + size)
                if lo < hi { work.value(lo..<hi) }
            }
        }
    }
}

/// A value shared across the threads of one `RecolorParallel.chunks` call, whose chunks touch disjoint data.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
