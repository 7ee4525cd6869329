import Foundation
import StrataCore

/// A seeded, stratified subset of a training set's labels: exactly `perClass`
/// examples of every class, for learning from few labels (the setting
/// unsupervised pretraining is for: Raina et al. 2007, Coates et al. 2011
/// report accuracies against the labels per class).
///
/// The draw is a labeler's: the rows are visited in a seeded random order and
/// a row's label is read only when it is visited; the row is kept while its
/// class still needs examples, and the visit stops once every class has
/// `perClass`. No label of a row after that point is ever read, so wrong
/// labels there change nothing. The rows kept are ordered in rounds over the
/// classes (one of each class, then the next of each), so the last rows a
/// stage holds out to choose its epoch or C hold every class alike.
public enum LabeledSubset {
    /// The order the rows are visited in: a seeded permutation of `0 ..< count`
    /// (Fisher-Yates); the labels read by ``draw(labels:classes:perClass:seed:classNames:)``
    /// are those of its first `labelsRead` rows.
    public static func visitOrder(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0 ..< count), random = RandomSource(seed: seed)
        for i in order.indices.dropLast() { order.swapAt(i, i + Int(random.next() % UInt64(order.count - i))) }
        return order
    }

    /// The rows kept, in rounds over the classes, and how many labels were read to find them.
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` (`labels_per_class`)
    ///   when a class has fewer than `perClass` examples, naming it and its count.
    public static func draw(labels: [Int], classes: Int, perClass: Int, seed: UInt64,
                            classNames: [String]? = nil) throws -> (rows: [Int], labelsRead: Int) {
        guard perClass >= 1 else { throw StrataError.invalidArgument(name: "labels_per_class", reason: "\(perClass) must be at least 1") }
        let order = visitOrder(count: labels.count, seed: seed)
        var kept = [[Int]](repeating: [], count: classes), full = 0, read = 0
        for row in order where full < classes {
            read += 1
            let k = labels[row]
            guard (0 ..< classes).contains(k), kept[k].count < perClass else { continue }
            kept[k].append(row)
            if kept[k].count == perClass { full += 1 }
        }
        if let k = kept.indices.first(where: { kept[$0].count < perClass }) {
            let name = classNames.flatMap { k < $0.count ? "'\($0[k])'" : nil } ?? "\(k)"
            throw StrataError.invalidArgument(name: "labels_per_class", reason: "\(perClass) is more than class \(name) has: \(kept[k].count) training examples")
        }
        return ((0 ..< perClass).flatMap { round in kept.map { $0[round] } }, read)
    }
}

extension Dataset {
    /// The labeled subset (``LabeledSubset``): `perClass` examples of each
    /// class, seeded, in rounds over the classes, and the labels read to draw
    /// it; the classes are those the class names list (else the labels' largest plus one).
    public func labeledSubset(perClass: Int, seed: UInt64) throws -> (subset: Dataset, labelsRead: Int) {
        guard let labels else { throw StrataError.invalidArgument(name: "labels_per_class", reason: "\(name) has no labels") }
        let classes = classNames?.count ?? ((labels.max() ?? -1) + 1)
        let (rows, read) = try LabeledSubset.draw(labels: labels, classes: classes, perClass: perClass, seed: seed, classNames: classNames)
        var copy = self
        copy.examples = examples.gatherRows(rows)
        copy.labels = rows.map { labels[$0] }
        copy.name = "\(name) (\(perClass) labels per class)"
        return (copy, read)
    }
}
