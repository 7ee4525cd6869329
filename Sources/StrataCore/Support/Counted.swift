/// `count` and `noun`, the noun plural unless the count is one: `1 epoch`,
/// `10 epochs`, for the lines a run prints.
public func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
