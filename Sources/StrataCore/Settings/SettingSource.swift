/// Where settings come from: a YAML mapping or a command's flags. Keys are
/// the YAML names (`learning_rate`); a command's flag is the same name with
/// dashes (`--learning-rate`). Every typed settings value is read from a
/// source by one reader in the library, so both front-ends share one parser,
/// one default and one validation per setting.
public protocol SettingSource {
    /// The text given for `key`, or nil when it was not given.
    func text(_ key: String) throws -> String?
    /// An error saying that `key`'s value is wrong, naming where it was given
    /// (`file.yaml:4:5`, or the flag).
    func failure(_ key: String, _ reason: String) -> Error
    /// The keys given.
    var givenKeys: [String] { get }
    /// `key` as the user wrote it (`--block-rows` for a flag, `block_rows` in a file).
    func name(_ key: String) -> String
}

extension SettingSource {
    public func has(_ key: String) -> Bool { givenKeys.contains(key) }

    public func name(_ key: String) -> String { key }

    /// Refuses the first of `keys` given, as "NAME does not apply WHY": a
    /// setting that would not act in the combination given is an error, not ignored.
    public func refuseInapplicable(_ keys: [String], _ why: String) throws {
        if let key = keys.first(where: has) { throw StrataError.inapplicable(setting: name(key), why: why) }
    }

    /// `key`'s value read by `parser`, whose ``SettingError`` is reported at `key`.
    public func value<T>(_ key: String, _ parser: (String) throws -> T) throws -> T? {
        guard let text = try text(key) else { return nil }
        do { return try parser(text) } catch let error as SettingError { throw failure(key, error.reason) } catch let error as StrataError {
            throw failure(key, error.description)
        }
    }

    public func float(_ key: String) throws -> Float? { try value(key) { try finiteNumber($0) } }

    public func int(_ key: String) throws -> Int? { try value(key) { try wholeNumber($0) } }

    public func bool(_ key: String) throws -> Bool? {
        try value(key) { text in
            switch text.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw SettingError("expected true or false, found '\(text)'")
            }
        }
    }

    /// A value that must be positive.
    public func positive<T: Numeric & Comparable>(_ key: String, _ read: (String) throws -> T?) throws -> T? {
        guard let value = try read(key) else { return nil }
        guard value > 0 else { throw failure(key, "must be positive, found \(value)") }
        return value
    }

    /// A seed: a whole number in 0...2^64-1.
    public func seed(_ key: String) throws -> UInt64? {
        try value(key) { text in
            guard let seed = UInt64(text) else { throw SettingError("a seed is a whole number from 0 to \(UInt64.max), not '\(text)'") }
            return seed
        }
    }

    /// Refuses each of `keys` that was given, saying `why`.
    public func refuse(_ keys: [String], _ why: String) throws {
        if let key = keys.first(where: has) { throw failure(key, why) }
    }

    /// Runs `validate`, reporting its ``StrataError`` at `key` (the setting the
    /// check is about; empty: the settings as a whole).
    public func checked(at key: String, _ validate: () throws -> Void) throws {
        do { try validate() } catch let error as StrataError { throw failure(key, error.description) }
    }
}

/// Settings given as key and text pairs (a command's flags): a wrong value is
/// reported as `--flag-name: reason`.
public struct FlagSettings: SettingSource {
    public var values: [String: String]

    public init(_ values: [String: String?]) { self.values = values.compactMapValues { $0 } }

    public func text(_ key: String) throws -> String? { values[key] }

    public static func flag(_ key: String) -> String { "--" + key.replacingOccurrences(of: "_", with: "-") }

    public func name(_ key: String) -> String { Self.flag(key) }

    /// `key` empty: the settings as a whole.
    public func failure(_ key: String, _ reason: String) -> Error {
        StrataError.invalidArgument(name: key.isEmpty ? "settings" : Self.flag(key), reason: reason)
    }

    public var givenKeys: [String] { values.keys.sorted() }
}
