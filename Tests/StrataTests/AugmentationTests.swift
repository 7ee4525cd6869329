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

@Suite struct AugmentationTests {
    /// A 3x4 image whose pixels are 1...12, row-major.
    static let image = Tensor(shape: [1, 12], scalars: (1 ... 12).map(Float.init))
    static let geometry = ImageGeometry(height: 3, width: 4)

    /// Draws until the augmentation picks the wanted flip and shift, then checks the pixels against the definition.
    @Test(arguments: [Augmentation.Padding.zero, .edge])
    func translationsAndFlipsMoveThePixelsAsDefined(_ padding: Augmentation.Padding) {
        let augmentation = Augmentation(flip: true, shift: 1, padding: padding)
        var seen = Set<String>()
        for seed in 0 ..< 200 {
            var random = RandomSource(seed: UInt64(seed))
            var copy = random
            // The draws the augmentation makes: flip, then dy, then dx.
            let mirror = copy.nextUnitFloat() < 0.5
            let dy = Int(copy.next() % 3) - 1, dx = Int(copy.next() % 3) - 1
            var out = Self.image
            augmentation.apply(&out, geometry: Self.geometry, random: &random)
            for y in 0 ..< 3 {
                for x in 0 ..< 4 {
                    var sy = y - dy, sx = (mirror ? 3 - x : x) - dx
                    var expected: Float
                    if sy < 0 || sy >= 3 || sx < 0 || sx >= 4 {
                        if padding == .zero { expected = 0 } else { (sy, sx) = (min(max(sy, 0), 2), min(max(sx, 0), 3)); expected = Float(sy * 4 + sx + 1) }
                    } else {
                        expected = Float(sy * 4 + sx + 1)
                    }
                    #expect(out.scalars[y * 4 + x] == expected, "seed \(seed): flip \(mirror) shift (\(dy), \(dx)) at (\(y), \(x))")
                }
            }
            seen.insert("\(mirror) \(dy) \(dx)")
        }
        #expect(seen.count == 18, "every flip and shift is drawn")
    }

    /// Planar color images move every channel alike; nothing is drawn when inactive.
    @Test func colorChannelsMoveTogetherAndInactiveIsIdentity() {
        let geometry = ImageGeometry(height: 2, width: 2, channels: 3)
        let image = Tensor(shape: [1, 12], scalars: [1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400])
        var flips = 0
        for seed in 0 ..< 20 {
            var random = RandomSource(seed: UInt64(seed))
            var out = image
            Augmentation(flip: true).apply(&out, geometry: geometry, random: &random)
            if out != image {
                flips += 1
                #expect(out.scalars == [2, 1, 4, 3, 20, 10, 40, 30, 200, 100, 400, 300])
            }
        }
        #expect(flips > 3 && flips < 17)
        var same = image
        var untouched = RandomSource(seed: 3), reference = untouched
        Augmentation().apply(&same, geometry: geometry, random: &untouched)
        #expect(same == image && untouched.next() == reference.next())
    }

    /// Fine-tuning with augmentation reads it from flags, needs images, and trains.
    @Test func fineTuningAugmentsItsBatches() throws {
        var c = FineTuningConfiguration()
        c = try FineTuningConfiguration.read(from: FlagSettings(["augment_shift": "2", "augment_padding": "edge", "augment_flip": "true"]))
        #expect(c.augmentation == Augmentation(flip: true, shift: 2, padding: .edge))
        #expect(refusal(["finetune", "softmax", "--stack", "s.safetensors", "--augment-padding", "edge"])?.contains("applies only with augment_shift") == true)
        let (x, labels) = blobs(classes: 2, perClass: 60, dimensions: 16, spread: 0.3, seed: 4)
        c.maxEpochs = 3
        var tuner = FineTuner(configuration: c, folder: TemporaryFolder().path)
        tuner.showProgress = false
        var network = try SoftmaxNetwork.randomlyInitialized(inputCount: 16, hiddenSizes: [8], classes: 2, seed: 1)
        #expect(strataError { try tuner.train(&network, x: x.rows(0 ..< 100), labels: Array(labels[..<100]), validationX: x.rows(100 ..< 120), validationLabels: Array(labels[100...])) }?
            .description.contains("needs the training images") == true)
        tuner.augmentationSource = (x.rows(0 ..< 100), ImageGeometry(height: 4, width: 4), PreprocessingPipeline())
        let report = try tuner.train(&network, x: x.rows(0 ..< 100), labels: Array(labels[..<100]), validationX: x.rows(100 ..< 120), validationLabels: Array(labels[100...]))
        #expect(report.epochs == 3)
    }
}
