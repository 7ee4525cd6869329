/// The key of one saved setting in a flat JSON record (``SavedField``).
public struct RecordKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

/// One saved setting of a record `Root`: how it is written under its key,
/// and how a saved value is read onto a record (a record without the key
/// keeps the value it has: the default its type declares, so that a record
/// written before a setting existed still reads).
public struct SavedField<Root> {
    /// The keys it writes (a flattened part's: each of its own).
    public let keys: [String]
    let write: (Root, inout KeyedEncodingContainer<RecordKey>) throws -> Void
    let read: (KeyedDecodingContainer<RecordKey>, inout Root) throws -> Void

    /// The setting at `path`, saved under `key`.
    public static func field<T: Codable>(_ key: String, _ path: WritableKeyPath<Root, T>) -> SavedField {
        let name = key, key = RecordKey(stringValue: key)
        return SavedField(keys: [name], write: { record, c in try c.encode(record[keyPath: path], forKey: key) },
                          read: { c, record in if let v = try c.decodeIfPresent(T.self, forKey: key) { record[keyPath: path] = v } })
    }

    /// An optional setting at `path`, saved under `key` when it is set.
    public static func field<T: Codable>(_ key: String, _ path: WritableKeyPath<Root, T?>) -> SavedField {
        let name = key, key = RecordKey(stringValue: key)
        return SavedField(keys: [name], write: { record, c in try c.encodeIfPresent(record[keyPath: path], forKey: key) },
                          read: { c, record in if let v = try c.decodeIfPresent(T.self, forKey: key) { record[keyPath: path] = v } })
    }

    /// The settings of a part held at `path`, saved in the same flat record as the others.
    public static func flattened<Part: SavedFields>(_ path: WritableKeyPath<Root, Part>) -> SavedField {
        SavedField(keys: Part.savedFields.flatMap(\.keys), write: { record, c in for field in Part.savedFields { try field.write(record[keyPath: path], &c) } },
                   read: { c, record in for field in Part.savedFields { try field.read(c, &record[keyPath: path]) } })
    }
}

/// A type whose saved settings are listed once (``SavedField``): the list
/// writes and reads them, so a setting is declared on its property and named
/// in the list, never again in coding keys, an encoder and a decoder.
public protocol SavedFields {
    /// Every saved setting; settings not listed (how a run is spread over processes, say) are not saved.
    static var savedFields: [SavedField<Self>] { get }
}

/// A record saved as one flat JSON object of its ``SavedFields/savedFields``,
/// read onto its defaults (`init()`).
public protocol FlatRecord: SavedFields, Codable {
    init()
}

extension FlatRecord {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: RecordKey.self)
        for field in Self.savedFields { try field.read(c, &self) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: RecordKey.self)
        for field in Self.savedFields { try field.write(self, &c) }
    }
}
