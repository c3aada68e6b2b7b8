import Engine
import HistoGAN
import TestSupport
import Foundation
import XCTest

/// Classic GANs: Fashion-MNIST loading, labelled folders, the four models' shapes, exact resume, the
/// evaluation figures on hand-worked probabilities.
final class ClassicGANTests: XCTestCase {
    /// A folder of `count` 8x8 PNGs (class k images are bright in row band k) and a labels CSV.
    static func labelledFolder(count: Int, tags: Bool = false) throws -> (String, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("classic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        var csv = "file,label\n"
        for i in 0..<count {
            let k = i % 3
            var image = try Image(width: 8, height: 8, fill: (0.1, 0.2, 0.3))
            for x in 0..<8 { for c in 0..<3 { image[c, 2 * k, x] = 0.9 } }
            let name = i % 2 == 0 ? "img\(i).png" : "sub/img\(i).png"
            try ImageIO.writePNG(image, to: dir + "/" + name)
            csv += tags ? "\(name),band\(k);\(i % 2 == 0 ? "even" : "odd")\n" : "\(name),band\(k)\n"
        }
        try csv.write(toFile: dir + "/labels.csv", atomically: true, encoding: .utf8)
        return (dir, dir + "/labels.csv")
    }

    func testFashionMNISTFromDebianPackage() throws {
        guard FileManager.default.fileExists(atPath: LabelledDataset.fashionMNISTDirectory + "/t10k-images-idx3-ubyte.gz") else {
            throw XCTSkip("dataset-fashion-mnist is not installed")
        }
        let test = try LabelledDataset.fashionMNIST(split: "t10k")
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual([test.channels, test.resolution, test.labelCount], [1, 28, 10])
        // The t10k split holds exactly 1,000 images of each class; its first labels are 9, 2, 1, 1, 6.
        XCTAssertEqual((0..<10).map { k in test.labels.filter { $0 == [k] }.count }, [Int](repeating: 1000, count: 10))
        XCTAssertEqual(test.labels.prefix(5).map { $0[0] }, [9, 2, 1, 1, 6])
        let pixels = test.images([0])
        XCTAssertEqual(pixels.count, 784)
        XCTAssertEqual(pixels.min(), -1)
        XCTAssertTrue(pixels.allSatisfy { $0 >= -1 && $0 <= 1 })
        XCTAssertThrowsError(try LabelledDataset.fashionMNIST(split: "t10k", directory: "/nonexistent")) {
            XCTAssertTrue("\($0)".contains("/nonexistent/t10k-images-idx3-ubyte.gz") && "\($0)".contains("apt-get install dataset-fashion-mnist"), "\($0)")
        }
    }

    func testLabelledFolderClassesTagsAndErrors() throws {
        let (dir, csv) = try Self.labelledFolder(count: 6)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try LabelledDataset.folder(dir, resolution: 8, labelsCSV: csv)
        XCTAssertEqual(data.count, 6)
        XCTAssertEqual(data.labelKind, .classes)
        XCTAssertEqual(data.labelNames, ["band0", "band1", "band2"])
        // Paths sort as img0, img2, img4, sub/img1, sub/img3, sub/img5.
        XCTAssertEqual(data.labels, [[0], [2], [1], [1], [0], [2]])
        XCTAssertEqual(data.conditions([1]), [0, 0, 1])
        let (tagDir, tagCSV) = try Self.labelledFolder(count: 6, tags: true)
        defer { try? FileManager.default.removeItem(atPath: tagDir) }
        let tagged = try LabelledDataset.folder(tagDir, resolution: 8, labelsCSV: tagCSV)
        XCTAssertEqual(tagged.labelKind, .tags)
        XCTAssertEqual(tagged.labelNames, ["band0", "band1", "band2", "even", "odd"])
        XCTAssertEqual(tagged.conditions([0]), [1, 0, 0, 1, 0])
        let tagConfig = ClassicGANConfig(model: .cgan, resolution: 8, channels: 3, labelCount: 5, labelKind: .tags,
                                         labelNames: tagged.labelNames)
        XCTAssertEqual(try ClassicSampling.tagConditions(["even", "band1"], config: tagConfig, count: 2), [0, 1, 0, 1, 0, 0, 1, 0, 1, 0])
        XCTAssertThrowsError(try ClassicSampling.tagConditions(["blue"], config: tagConfig, count: 1)) {
            XCTAssertTrue("\($0)".contains("'blue'") && "\($0)".contains("band0"), "\($0)")
        }
        try "file,label\nimg0.png,band0\n".write(toFile: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LabelledDataset.folder(dir, resolution: 8, labelsCSV: csv)) {
            XCTAssertTrue("\($0)".contains("no label for 5 image(s)"), "\($0)")
        }
    }

    func testEveryModelsShapes() throws {
        let backend = TestBackends.cpu
        for model in ClassicGANModel.allCases {
            let config = ClassicGANConfig(model: model, resolution: 8, channels: 3, latentDim: 5, width: 4, labelCount: 3)
            let g = try ClassicGenerator(config: config, seed: 1, on: backend)
            let d = try ClassicDiscriminator(config: config, seed: 2, on: backend)
            let cond = model.isConditional ? try Tensor.oneHot([0, 2], classes: 3, on: backend) : nil
            let images = try g(z: Tensor.random([2, 5], seed: 3, on: backend), condition: cond, training: true)
            XCTAssertEqual(images.shape, [2, 3, 8, 8], "\(model)")
            XCTAssertTrue(try images.array().allSatisfy { abs($0) <= 1 }, "\(model): tanh output")
            let (logits, classes) = try d(images, condition: cond, training: true)
            XCTAssertEqual(logits.shape, [2, 1], "\(model)")
            XCTAssertEqual(classes?.shape, model == .acgan ? [2, 3] : nil, "\(model)")
        }
        let cgan = ClassicGANConfig(model: .cgan, resolution: 8, channels: 3, labelCount: 0)
        XCTAssertThrowsError(try ClassicGenerator(config: cgan, seed: 0, on: backend))
    }

    /// Two steps then `--resume` to four gives the same checkpoint, bit for bit, as four steps straight.
    func testResumeIsExact() throws {
        let (dir, csv) = try Self.labelledFolder(count: 9)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try LabelledDataset.folder(dir, resolution: 8, labelsCSV: csv)
        for model in [ClassicGANModel.acgan, .cgan] {
            let config = ClassicGANConfig(model: model, resolution: 8, channels: 3, latentDim: 6, width: 4, labelCount: 3,
                                          labelNames: data.labelNames)
            let straight = dir + "/\(model)-straight", resumed = dir + "/\(model)-resumed"
            var options = ClassicGANOptions(network: config, batch: 4, steps: 4, seed: 5, logInterval: 1, sampleInterval: 2, checkpointInterval: 2)
            try ClassicTrainingRun(directory: straight, options: options, dataset: data, backend: TestBackends.cpu, resume: false).run { _ in }
            options.steps = 2
            try ClassicTrainingRun(directory: resumed, options: options, dataset: data, backend: TestBackends.cpu, resume: false).run { _ in }
            options.steps = 4
            var losses: [Float] = []
            try ClassicTrainingRun(directory: resumed, options: options, dataset: data, backend: TestBackends.cpu, resume: true).run { losses.append($0.generatorLoss) }
            XCTAssertEqual(losses.count, 2)
            let a = try SafeTensors.read(straight + "/checkpoint.safetensors"), b = try SafeTensors.read(resumed + "/checkpoint.safetensors")
            XCTAssertEqual(Set(a.tensors.keys), Set(b.tensors.keys))
            XCTAssertTrue(a.tensors.keys.contains("G.bn0.running_var") && a.tensors.keys.contains("adamD.conv1.weight.m"))
            for (name, t) in a.tensors { XCTAssertEqual(t.values, b.tensors[name]?.values, "\(model) \(name) differs after resume") }
            XCTAssertEqual(try String(contentsOfFile: resumed + "/log.jsonl", encoding: .utf8).split(separator: "\n").count, 4)
            XCTAssertTrue(FileManager.default.fileExists(atPath: straight + "/samples/step-000004.png"))
            XCTAssertThrowsError(try ClassicTrainingRun(directory: straight, options: options, dataset: data, backend: TestBackends.cpu, resume: false))
        }
    }

    func testClassifierFiguresOnHandValues() {
        // Three confident, correct predictions over three classes: accuracy 1, all covered, score 3 (= K).
        let sure = ClassifierFigures(probabilities: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], expected: [0, 1, 2])
        XCTAssertEqual(sure.accuracy, 1)
        XCTAssertEqual(sure.classesCovered, 3)
        XCTAssertEqual(sure.classifierScore, 3, accuracy: 1e-9)
        // Uniform predictions: score 1; every image predicted as class 0 (first maximum): one class covered.
        let unsure = ClassifierFigures(probabilities: [[Float]](repeating: [1 / 3, 1 / 3, 1 / 3], count: 4), expected: [0, 1, 2, 0])
        XCTAssertEqual(unsure.classifierScore, 1, accuracy: 1e-6)
        XCTAssertEqual(unsure.classesCovered, 1)
        XCTAssertEqual(unsure.accuracy, 0.5)
        // Two images, both confidently class 1: p(y) = p(y|x), KL 0, score 1; no accuracy without requests.
        let collapsed = ClassifierFigures(probabilities: [[0, 1], [0, 1]], expected: nil)
        XCTAssertEqual(collapsed.classifierScore, 1, accuracy: 1e-9)
        XCTAssertNil(collapsed.accuracy)
        XCTAssertEqual(collapsed.classShares, [0, 1])
    }
}
