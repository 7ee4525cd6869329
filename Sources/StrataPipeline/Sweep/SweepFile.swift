import Foundation
import Yams
import StrataCore

/// A sweep described in a YAML file, so that a study is one file a tutorial
/// can hold (`strata sweep study.yaml`, `strata tutorial label_efficiency`):
///
/// ```yaml
/// name: label_efficiency                    # its folder: runs/label_efficiency
/// experiments: [kmeans.yaml, sdae.yaml]     # beside this file
/// set:
///   labels_per_class: [10, 100, 1000]       # a list: every value (a grid) or drawn from (random)
///   finetune.learning_rate: log:0.01..1     # a range: for random only
///   seed: [1, 2, 3]
/// parallel: 2
/// threads_per_run: 1
/// ```
///
/// The sweep's other keys are the flags' (`random`, `seed`, `parallel`,
/// `threads_per_run`, `halving`, `out`); a flag given with the file wins, and
/// a `--set` of a key the file sets replaces its values.
extension Sweep.Settings {
    /// Whether `path` is a sweep file (a mapping with `experiments`), not an experiment.
    public static func isSweepFile(_ path: String) -> Bool {
        guard let data = try? readWholeFile(path), let node = try? Yams.compose(yaml: String(decoding: data, as: UTF8.self)),
              let mapping = node.mapping else { return false }
        return mapping["experiments"] != nil
    }

    /// Reads a sweep file; its experiments are found beside it.
    public static func read(sweepFile path: String) throws -> Sweep.Settings {
        let root = try YAMLField.parse(String(decoding: try readWholeFile(path), as: UTF8.self), file: path)
        let mapping = try root.mapping(allowed: ["name", "experiments", "set"] + keys)
        let folder = (path as NSString).deletingLastPathComponent
        let experiments = try mapping.required("experiments").list().map { field -> String in
            let name = try field.string()
            return name.hasPrefix("/") || folder.isEmpty ? name : folder + "/" + name
        }
        guard !experiments.isEmpty else { throw try mapping.required("experiments").fail("needs at least one experiment file") }
        var swept: [SweptSetting] = []
        if let set = mapping["set"] {
            guard case .mapping(let pairs) = set.node else { throw set.fail("expected a mapping of experiment keys to their values") }
            for (keyNode, value) in pairs {
                let key = keyNode.string ?? ""
                let field = YAMLField(node: value, path: set.path + "." + key, file: path)
                do {
                    if case .sequence = value {
                        let values = try field.list().map { item -> String in
                            if case .scalar(let s) = item.node { return s.string }
                            return try Yams.serialize(node: item.node).trimmingCharacters(in: .whitespacesAndNewlines)
                        }
                        _ = try ExperimentOverride.steps(of: key)
                        swept.append(SweptSetting(key: key, values: .list(values)))
                    } else {
                        swept.append(try SweptSetting.parse(key + "=" + field.string()))
                    }
                } catch let error as StrataError {
                    throw field.fail("\(error.description)")
                }
            }
        }
        var settings = Sweep.Settings(experiments: experiments, swept: swept)
        settings.name = try mapping["name"]?.string()
        try settings.read(from: YAMLSettings(root, allowed: ["name", "experiments", "set"] + keys))
        return settings
    }
}

extension Sweep.Settings {
    /// A sweep of `paths`: one sweep file (its settings, then `swept`
    /// replacing the keys it sets and `flags` over its own keys), or
    /// experiment files swept by `swept` with `flags`.
    public static func read(paths: [String], swept: [SweptSetting], flags: SettingSource) throws -> Sweep.Settings {
        var settings: Sweep.Settings
        if paths.count == 1, isSweepFile(paths[0]) {
            settings = try read(sweepFile: paths[0])
            settings.set(swept)
        } else {
            if let file = paths.first(where: isSweepFile) {
                throw StrataError.invalidArgument(name: file, reason: "is a sweep file; give it alone (its experiments are listed in it)")
            }
            settings = Sweep.Settings(experiments: paths, swept: swept)
        }
        try settings.read(from: flags)
        return settings
    }
}
