import Foundation
import Strata
import Testing

/// `scripts/install.sh` puts strata, its tutorials and its completions under
/// a prefix, and the installed tool runs a tutorial from any folder.
@Suite(.needsBuiltTool)
struct InstallTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func shell(_ command: String, in folder: String) throws -> (status: Int32, output: String) {
        runProcess("/bin/bash", ["-c", command], in: folder)
    }

    @Test func theInstalledToolRunsATutorialFromAnotherFolder() throws {
        let prefix = TemporaryFolder(), elsewhere = TemporaryFolder()
        let install = try shell("scripts/install.sh --prefix '\(prefix.path)' --binary '\(BuiltTool.path!)' --no-manual", in: Self.repository.path)
        #expect(install.status == 0, "\(install.output)")
        let strata = prefix.file("bin/strata")
        let run = try shell("SWIFT_BACKTRACE=enable=no '\(strata)' tutorial grbm_smd --limit 60 --max-epochs 1 --threads 1", in: elsewhere.path)
        #expect(run.status == 0, "\(run.output)")
        #expect(FileManager.default.fileExists(atPath: elsewhere.file("runs/grbm_smd/stack.safetensors")), "\(run.output)")
        let unknown = try shell("'\(strata)' tutorial nosuch", in: elsewhere.path)
        #expect(unknown.status != 0 && unknown.output.contains("deep_networks, distributed, grbm_smd, high_level_features, kmeans_triangle, label_efficiency, single_layer_svm, stacked_autoencoders"), "\(unknown.output)")
        #expect(!unknown.output.contains("USAGE"), "an unknown tutorial lists the tutorials, not the usage")
        let completion = try shell("source '\(prefix.file("share/bash-completion/completions/strata"))' && complete -p strata", in: elsewhere.path)
        #expect(completion.status == 0 && completion.output.contains("_strata"), "\(completion.output)")
        for file in ["share/zsh/site-functions/_strata", "share/fish/vendor_completions.d/strata.fish", "share/strata/Tutorials/grbm_smd/experiment.yaml",
                     "share/strata/Tutorials/label_efficiency/sweep.yaml", "share/strata/Tutorials/label_efficiency/dbn.yaml"] {
            #expect(FileManager.default.fileExists(atPath: prefix.file(file)), "\(file) not installed")
        }
    }
}
