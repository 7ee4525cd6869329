import Foundation
import Strata
@testable import StrataCore
@testable import StrataData
@testable import StrataModels
@testable import StrataDistributed
@testable import StrataTraining
@testable import StrataFeatures
@testable import StrataPictures
@testable import StrataExport
@testable import StrataPipeline
import Testing

@Suite struct PNGTests {
    @Test(arguments: [1, 3, 4])
    func writeThenReadGivesTheSamePixels(channels: Int) throws {
        let folder = TemporaryFolder()
        let (width, height) = (13, 7)
        let pixels = (0 ..< width * height * channels).map { UInt8(($0 * 37) % 256) }
        let image = PNGImage(width: width, height: height, channels: channels, pixels: pixels)
        let path = folder.file("image.png")
        try image.write(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        #expect(try PNGImage.read(path) == image)
        // No temporary file is left beside the output.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["image.png"])
    }

    @Test func refusesWrongSignatureAndTruncatedFile() throws {
        let folder = TemporaryFolder()
        let notPNG = folder.write(Data("GIF89a........".utf8), "fake.png")
        guard case .badMagic(let path, _, _)? = strataError({ _ = try PNGImage.read(notPNG) }) else { Issue.record("GIF accepted"); return }
        #expect(path == notPNG)
        let image = PNGImage(width: 64, height: 64, channels: 3, pixels: (0 ..< 64 * 64 * 3).map { UInt8($0 % 251) })
        let data = try image.encoded()
        let short = folder.write(data.prefix(data.count / 2), "short.png")
        guard case .corrupt(let p, _, _)? = strataError({ _ = try PNGImage.read(short) }) else { Issue.record("truncated PNG accepted"); return }
        #expect(p == short)
    }
}

@Suite struct ImageFolderTests {
    @Test func readsClassesInSortedOrderAsPlanarColor() throws {
        let folder = TemporaryFolder()
        // 2x1 RGB images: pixel 0 = (r, g, b) = (10, 20, 30) + label, pixel 1 = (40, 50, 60).
        for (label, name) in ["cats", "dogs"].enumerated() {
            let base = UInt8(label)
            let image = PNGImage(width: 2, height: 1, channels: 3, pixels: [10 + base, 20, 30, 40, 50, 60])
            try image.write(to: folder.file("\(name)/a.png"))
            try image.write(to: folder.file("\(name)/b.png"))
        }
        let dataset = try ImageFolder.read(folder.path, scaleToUnit: false)
        #expect(dataset.classNames == ["cats", "dogs"])
        #expect(dataset.labels == [0, 1, 0, 1], "the classes in turn: any first or last rows hold every class")
        #expect(dataset.geometry == ImageGeometry(height: 1, width: 2, channels: 3, layout: .planar))
        #expect(Array(dataset.examples.scalars[18 ..< 24]) == [11, 40, 20, 50, 30, 60])
    }

    /// `train/` and `test/` subfolders give each split its own images; a
    /// folder without them serves its images as both, and the pipeline says so.
    @Test func trainAndTestSubfoldersAreTheSplits() throws {
        let folder = TemporaryFolder()
        for (split, count) in [("train", 3), ("test", 1)] {
            for name in ["cats", "dogs"] {
                for i in 0 ..< count { try PNGImage(width: 2, height: 2, channels: 1, filledWith: UInt8(i)).write(to: folder.file("\(split)/\(name)/\(i).png")) }
            }
        }
        let (train, test) = (try ImageFolder.read(folder.path, split: .train), try ImageFolder.read(folder.path, split: .test))
        #expect(train.examples.rows == 6 && test.examples.rows == 2 && train.classNames == ["cats", "dogs"] && test.classNames == train.classNames)
        #expect(train.labels == [0, 1, 0, 1, 0, 1])
        var settings = ImageSettings()
        settings.dataset = folder.path
        #expect(settings.sharedSplitNote == nil)
        settings.dataset = folder.file("train")
        #expect(settings.sharedSplitNote?.contains("test/CLASS") == true)
        settings.dataset = "fashion-mnist"
        #expect(settings.sharedSplitNote == nil)
    }

    @Test func namesTheOddImage() throws {
        let folder = TemporaryFolder()
        try PNGImage(width: 4, height: 4, channels: 1, filledWith: 9).write(to: folder.file("a/1.png"))
        try PNGImage(width: 5, height: 4, channels: 1, filledWith: 9).write(to: folder.file("b/2.png"))
        let error = strataError { _ = try ImageFolder.read(folder.path) }
        #expect(error?.description.contains("b/2.png") == true)
        #expect(error?.description.contains("[4, 4, 1]") == true)
    }
}
