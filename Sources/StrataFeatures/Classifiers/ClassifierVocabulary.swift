import Foundation
import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining

// The words of the classifiers' settings: each name parsed by the shared settings vocabulary (StrataCore's SettingVocabulary.swift), for flags and YAML alike.

extension LinearSVM.Loss {
    /// `squared_hinge` (L2-SVM) or `hinge` (L1-SVM).
    public init(parsing text: String) throws {
        self = LinearSVM.Loss(rawValue: try parseChoice(text, LinearSVM.Loss.allCases.map(\.rawValue)))!
    }
}

extension LinearSVM.Solver {
    /// `auto`, `primal` (Newton) or `dual` (coordinate descent).
    public init(parsing text: String) throws {
        self = LinearSVM.Solver(rawValue: try parseChoice(text, LinearSVM.Solver.allCases.map(\.rawValue)))!
    }
}
