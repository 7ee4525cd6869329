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
    /// The images' geometry a file records (``init(contract:dataset:split:limit:what:selfTaught:)``):
    /// images of another geometry are refused on load, naming `recordedBy`.
    public var recordedGeometry: ImageGeometry?
    /// The file whose contract set ``recordedGeometry`` or ``selfTaughtFrom``.
    public var recordedBy: String?
    /// Another dataset's images for a stack of this contract (self-taught
    /// learning, ``InputContract/checkSelfTaught(images:dataset:for:)``), checked on load.
    public var selfTaughtFrom: InputContract?

    public init(dataset: String = ImageSettings.defaultDataset, split: DataCatalog.Split = .train, limit: Int? = nil, pixelScale: Float = 1, binarize: Bool = false) {
        (self.dataset, self.split, self.limit, self.pixelScale, self.binarize) = (dataset, split, limit, pixelScale, binarize)
    }

    /// The same images as recorded by a file's `contract` (dataset and pixel
    /// treatment), with `dataset` given by the user checked against it.
    public init(contract: InputContract, dataset given: String?, split: DataCatalog.Split, limit: Int?, what: String, selfTaught: Bool = false) throws {
        if selfTaught {
            guard let given else { throw StrataError.invalidArgument(name: "self-taught", reason: "name the other dataset whose images \(what) should read") }
            self.init(dataset: given, split: split, limit: limit, pixelScale: contract.pixelScale, binarize: contract.binarize)
            (selfTaughtFrom, recordedBy) = (contract, what)
            return
        }
        if let given { try contract.requireDataset(given, for: what) }
        self.init(dataset: given ?? contract.dataset ?? Self.defaultDataset, split: split, limit: limit,
                  pixelScale: contract.pixelScale, binarize: contract.binarize)
        if contract.maps == nil { (recordedGeometry, recordedBy) = (contract.image, what) }
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
        if let contract = selfTaughtFrom { try contract.checkSelfTaught(images: images.geometry, dataset: images.name, for: recordedBy ?? "the stack") }
        if let recorded = recordedGeometry, let found = images.geometry, found != recorded {
            throw StrataError.invalidArgument(name: "dataset", reason: "\(recordedBy ?? "the file") records \(recorded) images, but \(images.name) holds \(found) images")
        }
        contract(geometry: images.geometry).treat(&images)
        return images
    }

    /// Training and test images (``testLimit`` of them), treated alike, with the class names they share.
    public func loadLabeled() throws -> LabeledImages {
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
