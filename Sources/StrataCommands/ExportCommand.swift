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
              strata export runs/svm/classifier.safetensors --format torch -o svm.safetensors
              strata export runs/sdae/finetune/classifier.safetensors -o sdae.onnx --reference 1000
              python3 scripts/check_export.py sdae.onnx sdae_pixels.npy sdae_scores.npy
            ONNX: opset 13, input 'pixels' (batch, values), outputs 'scores' and 'label' (onnxruntime, ...). \
            PyTorch: a safetensors file with nn.Sequential's state-dict names and a module beside it \
            (svm.py above) whose load() rebuilds the network and loads it. --reference writes test images and \
            Strata's scores of them, for scripts/check_export.py.
            """
    )

    @Argument(help: "A classifier.safetensors written by `strata finetune`.")
    var classifier: String
    @Option(help: "onnx (default) or torch.")
    var format: String?
    @Option(name: [.short, .customLong("output")], help: "The model file: .onnx, or .safetensors for torch (default: model.onnx or model.safetensors beside the classifier).")
    var output: String?
    @Option(help: "Also write N test images of the classifier's dataset and Strata's scores of them beside the model (NAME_pixels.npy, NAME_scores.npy), to check a runtime with scripts/check_export.py (default 0: none).")
    var reference: String?

    /// The flags as the library's settings.
    func settings() throws -> Exporting.Settings {
        var settings = Exporting.Settings(classifier: classifier)
        try settingsFailure {
            settings = try Exporting.Settings.read(FlagSettings(["format": format, "output": output, "reference": reference]), classifier: classifier)
        }
        return settings
    }

    func run() throws {
        try Exporting.run(try settings())
    }
}
