import Foundation
import Yams
import StrataCore

/// Runs of a sweep whose experiments are the same up to the end of
/// pretraining (they differ only in `finetune`, `labels_per_class`,
/// `validation`, `self_taught`, `outputs` or `threads`) form one group: the
/// first of them to finish its layers lends them to the others, which copy
/// the layer folders and stacks and go on with `--resume` (a finished stage
/// is kept as it is). The same seed gives the same bits, so a copied layer
/// is the one the run would have trained.
struct PretrainingGroups {
    /// The group of each run.
    let group: [Int]
    /// Whether each run's experiment has a second stage on maps (its pretraining ends with `maps/stack.safetensors`).
    let hasMaps: [Bool]
    /// Whether each run pretrains at all (an experiment without layers does not).
    let pretrains: [Bool]
    /// How many groups.
    let count: Int

    /// The keys read only after pretraining.
    static let afterPretraining = ["name", "finetune", "labels_per_class", "validation", "self_taught", "outputs", "threads"]

    init(_ texts: [String]) throws {
        var keys: [String: Int] = [:]
        var group: [Int] = [], hasMaps: [Bool] = [], pretrains: [Bool] = []
        for (i, text) in texts.enumerated() {
            guard var root = try Yams.compose(yaml: text)?.mapping else { throw StrataError.invalidArgument(name: "experiment", reason: "run \(i + 1)'s experiment is not a mapping") }
            hasMaps.append(root["maps"] != nil)
            pretrains.append(root["layers"] != nil)
            for key in Self.afterPretraining { root[key] = nil }
            let key = root["layers"] == nil ? "run \(i)" : try Yams.serialize(node: .mapping(root), sortKeys: true)
            group.append(keys[key] ?? keys.count)
            if keys[key] == nil { keys[key] = keys.count }
        }
        (self.group, self.hasMaps, self.pretrains, count) = (group, hasMaps, pretrains, keys.count)
    }

    /// The file whose presence says a run's pretraining is complete in `folder` (written last, atomically).
    func finalStack(of run: Int, in folder: String) -> String {
        folder + (hasMaps[run] ? "/maps/stack.safetensors" : "/stack.safetensors")
    }

    /// Whether `run`'s pretraining is complete in `folder`.
    func pretrained(_ run: Int, in folder: String) -> Bool {
        !pretrains[run] || FileManager.default.fileExists(atPath: finalStack(of: run, in: folder))
    }

    /// Copies a finished pretraining from `source` (a run of the same group)
    /// into `target`: the layer folders, the maps stage and the stacks, each
    /// file written whole under a temporary name and renamed, the final stack last.
    static func lend(from source: String, to target: String, finalStack: String) throws {
        let manager = FileManager.default
        let names = try manager.contentsOfDirectory(atPath: source).filter {
            $0.hasPrefix("layer") || $0 == "maps" || $0 == "stack.safetensors" || $0.hasPrefix("weights")
        }.sorted()
        func copy(_ from: String, _ to: String) throws {
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: from, isDirectory: &isFolder) else { return }
            if isFolder.boolValue {
                try AtomicFile.makeFolder(to)
                for name in try manager.contentsOfDirectory(atPath: from).sorted() where !name.hasPrefix(".") { try copy(from + "/" + name, to + "/" + name) }
            } else if to != finalStack {
                try AtomicFile.write(try readWholeFile(from), to: to)
            }
        }
        for name in names { try copy(source + "/" + name, target + "/" + name) }
        let relative = String(finalStack.dropFirst(target.count))
        try AtomicFile.write(try readWholeFile(source + relative), to: finalStack)
    }
}
