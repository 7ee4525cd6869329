import ArgumentParser
import Strata

// The library's enumerations that flags take by their raw values.
extension Pictures.XAxis: ExpressibleByArgument {}
extension TileGrid.Rescale: ExpressibleByArgument {}
extension WeightViewer.Order: ExpressibleByArgument {}
extension DataCatalog.Split: ExpressibleByArgument {}
