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

@Suite struct ChannelSelectionTests {
    let channels = ["epoch", "learning_rate", "train_objective", "train_y_misclass", "valid_objective", "valid_y_misclass"]

    @Test func codesFollowPylearn2() {
        #expect(ChannelSelection.code(0) == "A" && ChannelSelection.code(25) == "Z")
        #expect(ChannelSelection.code(26) == "BA" && ChannelSelection.code(27) == "BB")
        #expect(ChannelSelection.index(ofCode: "BA") == 26)
    }

    @Test func selectsByNameCodeRangeAndPattern() throws {
        #expect(try ChannelSelection.select("valid_objective", from: channels) == ["valid_objective"])
        #expect(try ChannelSelection.select("C", from: channels) == ["train_objective"])
        #expect(try ChannelSelection.select("C-D", from: channels) == ["train_objective", "train_y_misclass"])
        #expect(try ChannelSelection.select("*misclass,A", from: channels) == ["train_y_misclass", "valid_y_misclass", "epoch"])
        let error = strataError { _ = try ChannelSelection.select("objective_train", from: channels) }
        #expect(error?.description.contains("channel 'objective_train'") == true)
    }
}

@Suite struct LineChartTests {
    @Test func drawsAPNGWithTheCurvesInColor() throws {
        var chart = LineChart(title: "t", xLabel: "epoch", yLabel: "objective")
        chart.series = [.init(label: "train", points: [(0, 5), (1, 3), (2, 2.5)]), .init(label: "valid", points: [(0, 5.5), (1, 3.5), (2, 3)])]
        chart.width = 400
        chart.height = 300
        let folder = TemporaryFolder()
        try chart.write(to: folder.file("chart.png"))
        let image = try PNGImage.read(folder.file("chart.png"))
        #expect(image.width == 400 && image.height == 300)
        // Some pixels carry the first series' blue: the curve was drawn.
        let blue = stride(from: 0, to: image.pixels.count, by: image.channels).filter { i in
            image.pixels[i] < 80 && image.pixels[i + 1] > 90 && image.pixels[i + 1] < 150 && image.pixels[i + 2] > 150
        }
        #expect(blue.count > 50)
        chart.logarithmicY = true
        chart.series = [.init(label: "negative", points: [(0, -1)])]
        #expect(strataError { _ = try chart.pngData() }?.description.contains("log scale") == true)
    }

    @Test func ticksAreRoundAndCoverTheData() {
        let (ticks, low, high) = LineChart.ticks(0.13, 0.87, logarithmic: false)
        #expect(low <= 0.13 && high >= 0.87)
        #expect(ticks.count >= 4 && ticks.count <= 8 && ticks.contains { abs($0 - 0.4) < 1e-9 })
        let (logTicks, _, _) = LineChart.ticks(0.02, 30, logarithmic: true)
        #expect(logTicks == [0.01, 0.1, 1, 10, 100])
    }
}
