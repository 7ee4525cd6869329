import Foundation
import StrataCore

/// Finds the standard datasets by name on disk and loads them.
///
/// A dataset is looked for, in order, in each folder of `$STRATA_DATA_PATH`
/// (colon-separated), then in `data/` under the current folder, then in the
/// Debian locations (`/usr/share/datasets`, where the package
/// `dataset-fashion-mnist` installs Fashion-MNIST). Inside each root, a
/// dataset lives in a subfolder named after it (see ``KnownDataset/folderNames``).
public struct DataCatalog: Sendable {
    /// The roots searched, in order.
    public var roots: [String]

    /// The roots from the environment: `$STRATA_DATA_PATH`, then `data/`, then Debian's.
    public static func standardRoots(environment: [String: String] = ProcessInfo.processInfo.environment,
                                     currentFolder: String = FileManager.default.currentDirectoryPath) -> [String] {
        var roots: [String] = []
        if let path = environment["STRATA_DATA_PATH"] {
            roots += path.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        roots.append(currentFolder + "/data")
        roots.append("/usr/share/datasets")
        return roots
    }

    public init(roots: [String] = DataCatalog.standardRoots()) {
        self.roots = roots
    }

    /// Which half of a dataset to load.
    public enum Split: String, CaseIterable, Sendable {
        case train, test
    }

    /// Where a known dataset was found: its folder and the files for each split.
    public struct Location: Sendable {
        public var dataset: KnownDataset
        public var folder: String
        public var files: [Split: [String]]
    }

    /// Finds `dataset` in the first root that holds all its files.
    public func locate(_ dataset: KnownDataset) -> Location? {
        for root in roots {
            for folderName in dataset.folderNames {
                let folder = root + "/" + folderName
                if let files = dataset.files(in: folder) { return Location(dataset: dataset, folder: folder, files: files) }
            }
        }
        return nil
    }

    /// The folders searched for `dataset`, for messages.
    public func searchedFolders(_ dataset: KnownDataset) -> [String] {
        roots.flatMap { root in dataset.folderNames.map { root + "/" + $0 } }
    }

    /// Loads a split of a known dataset by name ("mnist", "fashion-mnist",
    /// "cifar10"), or a folder given by path: one holding CIFAR-10's binary
    /// batches (`data_batch_1.bin` ... `test_batch.bin`) is read as CIFAR-10,
    /// any other as a folder of PNG images (``ImageFolder``: its `train/` and
    /// `test/` subfolders, when it has both, are the splits).
    ///
    /// MNIST and Fashion-MNIST pixels are scaled to [0, 1] (as pylearn2's MNIST
    /// does); CIFAR-10 keeps 0...255 (as pylearn2's CIFAR10 does).
    public func load(_ name: String, split: Split = .train) throws -> Dataset {
        if let dataset = KnownDataset(name: name) {
            guard let location = locate(dataset) else {
                throw StrataError.datasetNotFound(name: dataset.rawValue, searched: searchedFolders(dataset), hint: dataset.installHint)
            }
            return try dataset.load(location, split: split)
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: name, isDirectory: &isFolder), isFolder.boolValue {
            if let files = KnownDataset.cifar10.files(in: name) {
                return try KnownDataset.cifar10.load(Location(dataset: .cifar10, folder: name, files: files), split: split)
            }
            return try ImageFolder.read(name, split: split)
        }
        throw StrataError.datasetNotFound(name: name, searched: [],
                                          hint: "known names: \(KnownDataset.allCases.map(\.rawValue).joined(separator: ", ")); or give the path of a folder of CIFAR-10 binary batches or of PNG images with one subfolder per class (or train/CLASS and test/CLASS)")
    }
}

/// The datasets Strata knows by name.
public enum KnownDataset: String, CaseIterable, Sendable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    case cifar10

    /// Accepts the canonical name and common spellings ("fashion_mnist", "cifar-10").
    public init?(name: String) {
        let key = name.lowercased().replacingOccurrences(of: "_", with: "-")
        switch key {
        case "mnist": self = .mnist
        case "fashion-mnist", "fashionmnist": self = .fashionMNIST
        case "cifar10", "cifar-10": self = .cifar10
        default: return nil
        }
    }

    /// Subfolder names looked for inside each root.
    public var folderNames: [String] {
        switch self {
        case .mnist: return ["mnist", "MNIST"]
        case .fashionMNIST: return ["fashion-mnist", "fashion_mnist", "FashionMNIST"]
        case .cifar10: return ["cifar10/cifar-10-batches-bin", "cifar10", "cifar-10-batches-bin", "cifar-10"]
        }
    }

    /// The class names, in label order.
    public var classNames: [String] {
        switch self {
        case .mnist: return (0 ..< 10).map(String.init)
        case .fashionMNIST: return ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        case .cifar10: return CIFAR10.defaultClassNames
        }
    }

    /// The IDX file stems of MNIST-style datasets, per split: images then labels.
    static let idxStems: [DataCatalog.Split: [String]] = [
        .train: ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
        .test: ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
    ]

    /// The dataset's files in `folder`, or nil when any is missing.
    package func files(in folder: String) -> [DataCatalog.Split: [String]]? {
        let manager = FileManager.default
        switch self {
        case .mnist, .fashionMNIST:
            var result: [DataCatalog.Split: [String]] = [:]
            for (split, stems) in Self.idxStems {
                var paths: [String] = []
                for stem in stems {
                    // Both the official names and the dotted variants some mirrors use.
                    let candidates = [stem, stem + ".gz", stem.replacingOccurrences(of: "-idx", with: ".idx"),
                                      stem.replacingOccurrences(of: "-idx", with: ".idx") + ".gz"]
                    guard let found = candidates.map({ folder + "/" + $0 }).first(where: manager.fileExists(atPath:)) else { return nil }
                    paths.append(found)
                }
                result[split] = paths
            }
            return result
        case .cifar10:
            let train = (1 ... 5).map { folder + "/data_batch_\($0).bin" }
            let test = [folder + "/test_batch.bin"]
            guard (train + test).allSatisfy(manager.fileExists(atPath:)) else { return nil }
            return [.train: train, .test: test]
        }
    }

    func load(_ location: DataCatalog.Location, split: DataCatalog.Split) throws -> Dataset {
        let files = location.files[split]!
        let name = "\(rawValue)/\(split.rawValue)"
        switch self {
        case .mnist, .fashionMNIST:
            var images = try IDX.read(files[0]).tensor
            guard images.rank == 3 else {
                throw StrataError.corrupt(path: files[0], offset: 3, reason: "expected images of rank 3 (count, height, width), found shape \(images.shape)")
            }
            let (height, width) = (images.shape[1], images.shape[2])
            images.reshape([images.shape[0], height * width])
            images.scale(by: 1 / 255)
            let labels = try IDX.readLabels(files[1])
            guard labels.count == images.rows else {
                throw StrataError.shapeMismatch(context: "\(files[1]): one label per image of \(files[0])", expected: [images.rows], found: [labels.count])
            }
            return try Dataset(name: name, examples: images, labels: labels, classNames: classNames,
                               geometry: ImageGeometry(height: height, width: width))
        case .cifar10:
            let metaPath = location.folder + "/batches.meta.txt"
            let names = FileManager.default.fileExists(atPath: metaPath) ? try CIFAR10.readClassNames(metaPath) : classNames
            return try CIFAR10.read(batches: files, classNames: names, name: name)
        }
    }

    /// What to do when the dataset is not found.
    public var installHint: String {
        switch self {
        case .fashionMNIST:
            return "install it with `apt-get install dataset-fashion-mnist` (offline, Debian), or run `strata data fetch fashion-mnist`, or set STRATA_DATA_PATH to a folder holding fashion-mnist/"
        default:
            return "run `strata data fetch \(rawValue)`, or copy the official files into data/\(folderNames[0].split(separator: "/")[0])/, or set STRATA_DATA_PATH"
        }
    }
}
