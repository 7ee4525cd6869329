/// The version of Strata: what `strata --version` prints and what exported
/// models name as their producer.
public enum StrataVersion {
    public static let current = "0.2.0"
}
