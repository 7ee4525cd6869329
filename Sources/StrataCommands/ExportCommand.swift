import ArgumentParser
import Foundation
import Strata

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a saved classifier as an ONNX model or a PyTorch module, raw pixels to class scores.",
        discussion: """
            The whole inference path is exported: the pixel scale, the preprocessing (GCN, ZCA, PCA, \
            standardization), the stack's layers, convolutional features with their pooling, and the softmax \
            or SVM head. The model takes the raw pixel values as Strata loads them, one image per row, and \
            gives the scores and the predicted label.
              strata export runs/sdae/finetune/classifier.safetensors -o sdae.onnx
              strata export runs/svm/classifier.safetensors --format torch -o svm.safetensors   (writes svm.py too)
            ONNX: opset 13, input 'pixels' (batch, values), outputs 'scores' and 'label' (onnxruntime, ...). \
            PyTorch: a safetensors file with nn.Sequential's state-dict names and a module whose load() rebuilds \
            the network and loads it.
            """
    )

    @Argument(help: "A classifier.safetensors written by `strata finetune`.")
    var classifier: String
    @Option(help: "onnx (default) or torch.")
    var format: String?
    @Option(name: [.short, .customLong("output")], help: "The model file: .onnx, or .safetensors for torch (default: model.onnx or model.safetensors beside the classifier).")
    var output: String?

    func run() throws {
        var settings = Exporting.Settings(classifier: classifier)
        try settingsFailure { settings = try Exporting.Settings.read(FlagSettings(["format": format, "output": output]), classifier: classifier) }
        try Exporting.run(settings)
    }
}
