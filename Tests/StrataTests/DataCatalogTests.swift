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

@Suite struct DataCatalogTests {
    /// Writes a tiny Fashion-MNIST-shaped dataset (gzip IDX files) under `root/fashion-mnist`.
    func writeTinyFashionMNIST(in root: String) throws {
        for (split, count) in [("train", 4), ("t10k", 2)] {
            let images = Tensor(shape: [count, 3, 2], scalars: (0 ..< count * 6).map { Float($0 * 10 % 256) })
            let labels = Tensor(shape: [count], scalars: (0 ..< count).map { Float($0 % 10) })
            try AtomicFile.write(Gzip.compress(IDX.encode(images, as: .uint8)), to: "\(root)/fashion-mnist/\(split)-images-idx3-ubyte.gz")
            try AtomicFile.write(Gzip.compress(IDX.encode(labels, as: .uint8)), to: "\(root)/fashion-mnist/\(split)-labels-idx1-ubyte.gz")
        }
    }

    @Test func findsAndLoadsByNameInSearchOrder() throws {
        let first = TemporaryFolder(), second = TemporaryFolder()
        try writeTinyFashionMNIST(in: second.path)
        let catalog = DataCatalog(roots: [first.path, second.path])
        #expect(catalog.locate(.fashionMNIST)?.folder == second.path + "/fashion-mnist")
        let train = try catalog.load("fashion_mnist", split: .train)
        #expect(train.count == 4 && train.featureCount == 6)
        #expect(train.geometry == ImageGeometry(height: 3, width: 2))
        #expect(abs(train.examples[0, 1] - Float(10) / 255) < 1e-7)
        #expect(train.labels == [0, 1, 2, 3])
        #expect(train.classNames?[9] == "Ankle boot")
        #expect(try catalog.load("fashion-mnist", split: .test).count == 2)
    }

    @Test func environmentPathComesFirst() {
        let roots = DataCatalog.standardRoots(environment: ["STRATA_DATA_PATH": "/a:/b"], currentFolder: "/work")
        #expect(roots == ["/a", "/b", "/work/data", "/usr/share/datasets"])
    }

    @Test func missingDatasetSaysWhereItLookedAndWhatToDo() {
        let empty = TemporaryFolder()
        let error = strataError { _ = try DataCatalog(roots: [empty.path]).load("mnist") }
        guard case .datasetNotFound(let name, let searched, let hint)? = error else { Issue.record("no datasetNotFound"); return }
        #expect(name == "mnist" && searched.contains(empty.path + "/mnist") && hint.contains("strata data fetch mnist"))
        guard case .datasetNotFound? = strataError({ _ = try DataCatalog(roots: []).load("imagenet") }) else { Issue.record("unknown name accepted"); return }
    }

    @Test func labelsAndImagesMustAgree() throws {
        let root = TemporaryFolder()
        try writeTinyFashionMNIST(in: root.path)
        try AtomicFile.write(Gzip.compress(IDX.encode(Tensor(shape: [3], scalars: [0, 1, 2]), as: .uint8)),
                             to: root.path + "/fashion-mnist/train-labels-idx1-ubyte.gz")
        guard case .shapeMismatch? = strataError({ _ = try DataCatalog(roots: [root.path]).load("fashion-mnist") }) else {
            Issue.record("label count mismatch accepted"); return
        }
    }
}
