import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// Where the tutorials are: each a folder `NAME/` holding `experiment.yaml`
/// (or `sweep.yaml`: a study of several runs, ``Sweep``) and a README walkthrough. `strata tutorial NAME` runs from any folder,
/// writing its outputs under the current one, because the tutorials are
/// looked for, in order:
/// 1. the folder given (`--tutorials`);
/// 2. `./Tutorials`;
/// 3. `$STRATA_TUTORIALS`;
/// 4. `PREFIX/share/strata/Tutorials` beside an installed `PREFIX/bin/strata`
///    (`scripts/install.sh` puts them there);
/// 5. the checkout a `.build/*/strata` was built in.
public enum TutorialCatalog {
    /// The folders searched, in order (existing or not).
    public static func searchPath(given: String? = nil, executable: URL = currentExecutable) -> [String] {
        let binFolder = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        return [given, "Tutorials", ProcessInfo.processInfo.environment["STRATA_TUTORIALS"],
                binFolder.appendingPathComponent("../share/strata/Tutorials").standardized.path,
                binFolder.appendingPathComponent("../../../Tutorials").standardized.path].compactMap { $0 }
    }

    /// The running program (on Linux `/proc/self/exe`, so a `strata` found on
    /// `PATH` knows where it is installed).
    public static var currentExecutable: URL {
        URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
    }

    /// Every tutorial shipped in `Tutorials/`, by folder name, with what it
    /// shows, in the order a newcomer reads them (`strata tutorial --help`
    /// lists them; a test keeps the list and the folders the same).
    public static let shipped: [(name: String, summary: String)] = [
        ("grbm_smd", "pylearn2's quick start: GRBM on whitened patches"),
        ("stacked_autoencoders", "greedy pretraining, then softmax fine-tuning"),
        ("single_layer_svm", "convolutional GRBM features, a linear SVM"),
        ("kmeans_triangle", "1600 K-means centroids, triangle encoding, SVM"),
        ("two_layer_svm", "two layers of K-means features in one SVM"),
        ("deep_networks", "1 to 7 layers: ReLU, batch norm, pretraining"),
        ("distributed", "two MPI ranks: synchronous and Downpour SGD"),
        ("high_level_features", "Le et al. (2012): local stages, split by rows"),
        ("label_efficiency", "a study: 10 labels per class to all, 3 seeds"),
    ]

    /// The file a tutorial runs: its experiment, or its sweep.
    public static let files = ["experiment.yaml", "sweep.yaml"]

    /// The tutorials' names in the first folder of `folders` that holds any.
    public static func names(in folders: [String]) -> [String] {
        for folder in folders {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
                .filter { name in files.contains { FileManager.default.fileExists(atPath: folder + "/" + name + "/" + $0) } }.sorted()
            if !names.isEmpty { return names }
        }
        return []
    }

    /// The experiment file (or sweep file) of tutorial `name`.
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` listing the
    ///   tutorials there are and the folders searched.
    public static func experiment(_ name: String, given: String? = nil, executable: URL = currentExecutable) throws -> String {
        let folders = searchPath(given: given, executable: executable)
        for folder in folders {
            if let file = files.first(where: { FileManager.default.fileExists(atPath: folder + "/" + name + "/" + $0) }) { return folder + "/" + name + "/" + file }
        }
        let known = names(in: folders)
        throw StrataError.invalidArgument(name: "tutorial", reason: """
            no tutorial '\(name)'; the tutorials are: \(known.isEmpty ? "none found" : known.joined(separator: ", ")) \
            (searched \(folders.joined(separator: ", ")); --tutorials DIR or STRATA_TUTORIALS names another folder)
            """)
    }
}
