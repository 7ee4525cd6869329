import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// The SVM's search for C, saved after each candidate (`c_search.json` in the
/// run folder) so that a resumed run (`--resume`, or an experiment resumed
/// with `strata train --resume`) skips the candidates already solved. The
/// file records what the accuracies were measured on, and a resume with other
/// features or settings is refused.
struct CSearchLog: Codable, Equatable {
    /// ``Tensor/fingerprint`` of the training features and of their labels.
    var data: String
    /// Everything but C that a candidate's accuracy depends on.
    var settings: String
    /// Validation accuracy by candidate C, in the order solved.
    var results: [Result] = []

    struct Result: Codable, Equatable {
        var c: Float
        var validationAccuracy: Double
    }

    static func path(in folder: String) -> String { folder + "/c_search.json" }

    /// The search so far when `resume` and the folder holds one for the same
    /// data and settings; an empty one when not resuming or there is none.
    static func start(in folder: String, data: String, settings: String, resume: Bool) throws -> CSearchLog {
        let fresh = CSearchLog(data: data, settings: settings)
        let path = path(in: folder)
        guard resume, FileManager.default.fileExists(atPath: path) else { return fresh }
        let saved = try decodeJSON(CSearchLog.self, String(decoding: try readWholeFile(path), as: UTF8.self), what: "c_search")
        guard saved.data == data else {
            throw StrataError.badKey(path: path, key: "data", reason: "the search was run on other features (\(saved.data)), not \(data); resume with the same stack, images and limit")
        }
        guard saved.settings == settings else {
            throw StrataError.badKey(path: path, key: "settings", reason: "the search was run with \(saved.settings), not \(settings); resume with the run's own settings")
        }
        return saved
    }

    func write(in folder: String) throws {
        try AtomicFile.write(Data(encodeJSON(self).utf8), to: Self.path(in: folder))
    }

    /// The accuracies found so far, by C.
    var finished: [Float: Double] { Dictionary(results.map { ($0.c, $0.validationAccuracy) }, uniquingKeysWith: { a, _ in a }) }
}
