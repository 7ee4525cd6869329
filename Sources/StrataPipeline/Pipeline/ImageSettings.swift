import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Where a stage's lines go: the terminal for the CLI, a report for an experiment.
public typealias StageLog = (String) -> Void

/// Training and test images of a classification task, with their class names.
public typealias LabeledImages = (train: Dataset, test: Dataset, classNames: [String])

/// Which images a stage reads: a dataset by name (`fashion-mnist`, `mnist`,
/// `cifar10`), a folder of CIFAR-10 binary batches or a folder of PNG images, a split, the first `limit` of them,
/// and the pixel treatment.
public struct ImageSettings: Equatable, Sendable {
    public static let defaultDataset = "fashion-mnist"

    public var dataset = ImageSettings.defaultDataset
    public var split: DataCatalog.Split = .train
    /// Use only the first N images.
    public var limit: Int?
    /// Multiply pixel values by this (255 gives CIFAR-like 0..255 values to MNIST-style data).
    public var pixelScale: Float = 1
    /// Threshold pixels at half their range to 0/1 (for binary RBMs on images).
    public var binarize = false
    /// The contract of the file these images are read for
    /// (``init(contract:dataset:split:limit:what:selfTaught:)``), checked on load.
    public var checkedAgainst: ContractCheck?

    /// A file's input contract that images are checked against on load,
    /// naming the file: the images must have the geometry it records, or
    /// (self-taught learning, another dataset's images for the stack) pass
    /// ``InputContract/checkSelfTaught(images:dataset:for:)``.
    public struct ContractCheck: Equatable, Sendable {
        public var contract: InputContract
        public var file: String
        public var selfTaught: Bool

        /// Throws, naming the file, when `images` are not what the contract allows.
        func check(_ images: Dataset) throws {
            if selfTaught { return try contract.checkSelfTaught(images: images.geometry, dataset: images.name, for: file) }
            // A stack trained on another stack's maps records the maps' geometry, not the images'.
            guard contract.maps == nil, let recorded = contract.image, let found = images.geometry, found != recorded else { return }
            throw StrataError.invalidArgument(name: "dataset", reason: "\(file) records \(recorded) images, but \(images.name) holds \(found) images")
        }
    }

    public init(dataset: String = ImageSettings.defaultDataset, split: DataCatalog.Split = .train, limit: Int? = nil, pixelScale: Float = 1, binarize: Bool = false) {
        (self.dataset, self.split, self.limit, self.pixelScale, self.binarize) = (dataset, split, limit, pixelScale, binarize)
    }

    /// The same images as recorded by a file's `contract` (dataset and pixel
    /// treatment), with `dataset` given by the user checked against it.
    public init(contract: InputContract, dataset given: String?, split: DataCatalog.Split, limit: Int?, what: String, selfTaught: Bool = false) throws {
        if selfTaught {
            guard let given else { throw StrataError.invalidArgument(name: "self-taught", reason: "name the other dataset whose images \(what) should read") }
            self.init(dataset: given, split: split, limit: limit, pixelScale: contract.pixelScale, binarize: contract.binarize)
            checkedAgainst = ContractCheck(contract: contract, file: what, selfTaught: true)
            return
        }
        if let given { try contract.requireDataset(given, for: what) }
        self.init(dataset: given ?? contract.dataset ?? Self.defaultDataset, split: split, limit: limit,
                  pixelScale: contract.pixelScale, binarize: contract.binarize)
        checkedAgainst = ContractCheck(contract: contract, file: what, selfTaught: false)
    }

    /// Reads `dataset`, `limit`, `pixel_scale` and `binarize`.
    public static func read(from s: SettingSource) throws -> ImageSettings {
        var d = ImageSettings()
        if let v = try s.text("dataset") { d.dataset = v }
        d.limit = try s.positive("limit", s.int)
        if let v = try s.positive("pixel_scale", s.float) { d.pixelScale = v }
        if let v = try s.bool("binarize") { d.binarize = v }
        return d
    }

    /// The contract these images make (before patches).
    public func contract(geometry: ImageGeometry?) -> InputContract {
        InputContract(dataset: dataset, split: split.rawValue, image: geometry, pixelScale: pixelScale, binarize: binarize)
    }

    /// Loads the images, cut to `limit`, with the pixel treatment applied.
    public func load(catalog: DataCatalog = DataCatalog()) throws -> Dataset {
        var images = try catalog.load(dataset, split: split)
        if let limit {
            guard limit >= 1 else { throw StrataError.invalidArgument(name: "limit", reason: "\(limit) must be at least 1") }
            images = images.prefix(limit)
        }
        try checkedAgainst?.check(images)
        contract(geometry: images.geometry).treat(&images)
        return images
    }

    /// For a folder of PNG images without `train/` and `test/` subfolders,
    /// which serves its images as both splits: the note that says so and how
    /// to give test images; nil for every other dataset.
    public var sharedSplitNote: String? {
        guard KnownDataset(name: dataset) == nil, KnownDataset.cifar10.files(in: dataset) == nil,
              FileManager.default.fileExists(atPath: dataset), !ImageFolder.folder(dataset, split: .test).hasTestSplit else { return nil }
        return "note: \(dataset) has no train/ and test/ subfolders, so its images are both the training and the test images: "
            + "test accuracy is not measured on unseen images (put them in \(dataset)/train/CLASS/ and \(dataset)/test/CLASS/)"
    }

    /// Training and test images (``testLimit`` of them), treated alike, with
    /// the class names they share; ``sharedSplitNote`` goes to standard error.
    public func loadLabeled() throws -> LabeledImages {
        if let note = sharedSplitNote { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        var testSettings = self
        (testSettings.split, testSettings.limit) = (.test, testLimit)
        let train = try load(), test = try testSettings.load()
        return (train, test, try Dataset.classNames(train: train, test: test))
    }
}

extension DataCatalog.Split {
    /// `train` or `test`.
    public init(parsing text: String) throws {
        self = DataCatalog.Split(rawValue: try parseChoice(text, DataCatalog.Split.allCases.map(\.rawValue)))!
    }
}
