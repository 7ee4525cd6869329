// The library as one import: `import Strata` brings every module, as
// swift-numerics' `Numerics` brings RealModule and ComplexModule. Each module
// can also be imported alone; ARCHITECTURE.md draws them and their imports.
@_exported import StrataCore
@_exported import StrataData
@_exported import StrataModels
@_exported import StrataDistributed
@_exported import StrataTraining
@_exported import StrataFeatures
@_exported import StrataPictures
@_exported import StrataExport
@_exported import StrataPipeline
