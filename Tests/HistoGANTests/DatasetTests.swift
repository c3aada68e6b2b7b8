import Engine
import Foundation
import HistoGAN
import XCTest

/// Image folders: good ones load deterministically; bad ones fail with an error naming the folder or file.
final class DatasetTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "histogan-data-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func testDemoFolderLoadsAndBatchesAreDeterministic() throws {
        _ = try DemoDataGenerator(resolution: 24, seed: 1).write(count: 5, to: root + "/nested/deeper")
        let dataset = try ImageDataset(directory: root, resolution: 16)
        XCTAssertEqual(dataset.count, 5)
        let a = dataset.batch(step: 3, k: 0, size: 4, seed: 9, flip: true)
        XCTAssertEqual(a, dataset.batch(step: 3, k: 0, size: 4, seed: 9, flip: true))
        XCTAssertNotEqual(a, dataset.batch(step: 4, k: 0, size: 4, seed: 9, flip: true))
        XCTAssertEqual(a.count, 4 * 3 * 16 * 16)
        XCTAssertTrue(a.allSatisfy { $0 >= -1 && $0 <= 1 })
        // A flip mirrors each row.
        let plain = dataset.batch([2], flips: [false]), flipped = dataset.batch([2], flips: [true])
        XCTAssertEqual(plain[0], flipped[15])
        XCTAssertEqual(plain[16 * 16 + 3 * 16 + 4], flipped[16 * 16 + 3 * 16 + 11])
    }

    func testEmptyFolderNamesTheFolder() throws {
        XCTAssertThrowsError(try ImageDataset(directory: root, resolution: 16)) { error in
            XCTAssertTrue("\(error)".contains(root) && "\(error)".contains("no PNG or JPEG"), "\(error)")
        }
    }

    func testMissingFolderNamesTheFolder() throws {
        XCTAssertThrowsError(try ImageDataset(directory: root + "/nope", resolution: 16)) { error in
            XCTAssertTrue("\(error)".contains(root + "/nope"), "\(error)")
        }
    }

    func testUnreadableFilesAreNamed() throws {
        _ = try DemoDataGenerator(resolution: 16, seed: 1).write(count: 2, to: root)
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: root + "/broken.png"))
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).write(to: URL(fileURLWithPath: root + "/truncated.jpg"))
        XCTAssertThrowsError(try ImageDataset(directory: root, resolution: 16)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("broken.png") && text.contains("truncated.jpg") && text.contains("2 of 4"), text)
        }
    }
}
