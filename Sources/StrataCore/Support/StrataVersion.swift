/// The version of Strata: what `strata --version` prints and what exported
/// models name as their producer.
public enum StrataVersion {
    /// The release, `MAJOR.MINOR.PATCH`.
    public static let current = "0.2.0"
}
