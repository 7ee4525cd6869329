import Foundation
import StrataCore

/// Downloads the official archives of the known datasets into a data folder,
/// verifying each against the MD5 checksum its publisher lists, with `curl`.
public struct DataFetcher: Sendable {
    /// One file to download.
    public struct Resource: Sendable {
        public var url: String
        public var fileName: String
        public var md5: String
    }

    /// The four IDX files MNIST and Fashion-MNIST publish under the same
    /// names (training and test images and labels), at `base`, with their checksums in that order.
    static func idxResources(base: String, md5: [String]) -> [Resource] {
        let names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
        return zip(names, md5).map { Resource(url: base + $0, fileName: $0, md5: $1) }
    }

    /// The official files of `dataset`.
    public static func resources(for dataset: KnownDataset) -> [Resource] {
        switch dataset {
        case .mnist:
            return idxResources(base: "https://ossci-datasets.s3.amazonaws.com/mnist/",
                                md5: ["f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                                      "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"])
        case .fashionMNIST:
            return idxResources(base: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                                md5: ["8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                                      "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"])
        case .cifar10:
            return [Resource(url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                             fileName: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530")]
        }
    }

    /// The root the files go under (`data/` by default).
    public var root: String

    public init(root: String = FileManager.default.currentDirectoryPath + "/data") {
        self.root = root
    }

    /// Downloads, verifies and (for CIFAR-10) unpacks `dataset`; returns its folder.
    /// `log` receives one line per step.
    @discardableResult
    public func fetch(_ dataset: KnownDataset, log: (String) -> Void = { print($0) }) throws -> String {
        let folder = root + "/" + (dataset == .cifar10 ? "cifar10" : dataset.folderNames[0])
        for resource in Self.resources(for: dataset) {
            let destination = folder + "/" + resource.fileName
            if FileManager.default.fileExists(atPath: destination),
               let existing = try? readWholeFile(destination), MD5.hex(existing) == resource.md5 {
                log("\(resource.fileName): already here, checksum verified")
                continue
            }
            log("downloading \(resource.url)")
            let data = try download(resource.url)
            let digest = MD5.hex(data)
            guard digest == resource.md5 else {
                throw StrataError.download(url: resource.url, reason: "MD5 \(digest) does not match the published \(resource.md5); the file was not kept")
            }
            try AtomicFile.write(data, to: destination)
            log("\(resource.fileName): \(data.count) bytes, MD5 verified")
        }
        if dataset == .cifar10 {
            try run(["tar", "-xzf", folder + "/cifar-10-binary.tar.gz", "-C", folder], what: "unpacking CIFAR-10")
            log("unpacked into \(folder)/cifar-10-batches-bin")
        }
        return folder
    }

    private func download(_ url: String) throws -> Data {
        let temporary = NSTemporaryDirectory() + "strata-download-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        do {
            try run(["curl", "--fail", "--location", "--silent", "--show-error", "--connect-timeout", "15", "--output", temporary, url],
                    what: "curl")
        } catch StrataError.io(_, let reason) {
            throw StrataError.download(url: url, reason: """
                \(reason)
                This machine may have no network. Download the file on another machine and copy it into \(root)/, \
                or point STRATA_DATA_PATH at a folder that holds the dataset. For Fashion-MNIST, the Debian package \
                dataset-fashion-mnist installs it offline (apt-get install dataset-fashion-mnist).
                """)
        }
        return try readWholeFile(temporary)
    }

    private func run(_ arguments: [String], what: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw StrataError.io(path: arguments[0], reason: "cannot start \(arguments[0]) (is it installed?): \(error.localizedDescription)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw StrataError.io(path: arguments.last ?? what, reason: "\(what) failed (exit \(process.terminationStatus)): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
