import CHDF5
import Foundation
import KVPack

/// libhdf5 as Debian ships it is not thread-safe: every call goes through this lock. Recursive,
/// because an `HDF5File` closes its file in `deinit`, which runs wherever its last reference
/// goes: inside a locked section (a writer dropping its file) or on any thread outside one (a
/// reader released after its last read), and the close must be serialized as well.
let hdf5Lock = NSRecursiveLock()

/// What HDF5 says a dataset holds.
struct HDF5DatasetInfo {
    var dims: [Int]
    var typeClass: H5T_class_t
    var size: Int
    /// Exponent bits, for float classes (5 for IEEE half, 8 for float/bfloat16).
    var exponentBits: Int

    var typeDescription: String {
        switch typeClass {
        case H5T_FLOAT:
            if size == 2 && exponentBits == 8 { return "bfloat16" }
            return "float\(size * 8)"
        case H5T_INTEGER: return "integer\(size * 8)"
        case H5T_STRING: return "string"
        default: return "HDF5 type class \(typeClass.rawValue)"
        }
    }
}

/// An open HDF5 file: the only place that calls libhdf5. Each method takes an absolute path
/// inside the file and maps failures to `CaptureFileError` naming the file and that path.
/// Callers hold `hdf5Lock` around every use.
final class HDF5File {
    let id: hid_t
    let name: String

    private init(id: hid_t, name: String) {
        self.id = id
        self.name = name
    }

    deinit {
        hdf5Lock.lock()
        H5Fclose(id)
        hdf5Lock.unlock()
    }

    /// Opens an existing file read-only.
    static func openReadOnly(_ path: String) throws(CaptureFileError) -> HDF5File {
        CHDF5_silence_errors()
        guard FileManager.default.fileExists(atPath: path) else { throw .fileNotFound(file: path) }
        guard H5Fis_hdf5(path) > 0 else { throw .notHDF5(file: path) }
        let id = H5Fopen(path, CHDF5_F_ACC_RDONLY(), CHDF5_P_DEFAULT())
        guard id >= 0 else { throw .notHDF5(file: path) }
        return HDF5File(id: id, name: path)
    }

    /// Creates (truncating) a file.
    static func create(_ path: String, displayName: String) throws(CaptureFileError) -> HDF5File {
        CHDF5_silence_errors()
        let id = H5Fcreate(path, CHDF5_F_ACC_TRUNC(), CHDF5_P_DEFAULT(), CHDF5_P_DEFAULT())
        guard id >= 0 else { throw .cannotCreate(file: displayName, reason: "HDF5 could not create the file") }
        return HDF5File(id: id, name: displayName)
    }

    // MARK: Links

    /// Whether every component of `path` exists.
    func exists(_ path: String) -> Bool {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            guard H5Lexists(id, prefix, CHDF5_P_DEFAULT()) > 0 else { return false }
        }
        return true
    }

    /// Names of the links directly under group `path`, sorted.
    func children(_ path: String) throws(CaptureFileError) -> [String] {
        guard exists(path) else { throw .missing(file: name, path: path) }
        let group = H5Gopen2(id, path, CHDF5_P_DEFAULT())
        guard group >= 0 else { throw .library(file: name, path: path, operation: "open group") }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw .library(file: name, path: path, operation: "group info") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let len = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, CHDF5_P_DEFAULT())
            guard len >= 0 else { throw .library(file: name, path: path, operation: "link name") }
            var buffer = [CChar](repeating: 0, count: Int(len) + 1)
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, CHDF5_P_DEFAULT())
            names.append(String(decoding: buffer.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Creates group `path` (its parent must exist).
    func createGroup(_ path: String) throws(CaptureFileError) {
        let lcpl = H5Pcreate(CHDF5_P_LINK_CREATE())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let group = H5Gcreate2(id, path, lcpl, CHDF5_P_DEFAULT(), CHDF5_P_DEFAULT())
        guard group >= 0 else { throw .library(file: name, path: path, operation: "create group") }
        H5Gclose(group)
    }

    // MARK: Attributes

    private func withAttribute<R>(_ object: String, _ attribute: String,
                                  _ body: (hid_t) throws(CaptureFileError) -> R) throws(CaptureFileError) -> R? {
        guard exists(object) || object == "/" else { return nil }
        guard H5Aexists_by_name(id, object, attribute, CHDF5_P_DEFAULT()) > 0 else { return nil }
        let attr = H5Aopen_by_name(id, object, attribute, CHDF5_P_DEFAULT(), CHDF5_P_DEFAULT())
        guard attr >= 0 else { throw .library(file: name, path: "\(object)@\(attribute)", operation: "open attribute") }
        defer { H5Aclose(attr) }
        return try body(attr)
    }

    /// A string attribute (fixed-length or variable-length), or nil when absent.
    func stringAttribute(_ object: String, _ attribute: String) throws(CaptureFileError) -> String? {
        let where_ = "\(object)@\(attribute)"
        return try withAttribute(object, attribute) { (attr) throws(CaptureFileError) -> String in
            let type = H5Aget_type(attr)
            defer { H5Tclose(type) }
            guard H5Tget_class(type) == H5T_STRING else {
                throw .wrongType(file: name, path: where_, expected: "string", found: "a non-string value")
            }
            let space = H5Aget_space(attr)
            defer { H5Sclose(space) }
            guard H5Sget_simple_extent_npoints(space) == 1 else {
                throw .malformed(file: name, path: where_, reason: "expected a single string")
            }
            if H5Tis_variable_str(type) > 0 {
                let mem = H5Tcopy(CHDF5_T_C_S1())
                defer { H5Tclose(mem) }
                H5Tset_size(mem, CHDF5_T_VARIABLE())
                H5Tset_cset(mem, H5T_CSET_UTF8)
                var pointer: UnsafeMutablePointer<CChar>? = nil
                guard H5Aread(attr, mem, &pointer) >= 0 else {
                    throw .library(file: name, path: where_, operation: "read attribute")
                }
                defer { if let pointer { H5free_memory(pointer) } }
                return pointer.map { String(cString: $0) } ?? ""
            }
            let size = H5Tget_size(type)
            guard size > 0, size < 1 << 20 else { throw .malformed(file: name, path: where_, reason: "string of size \(size)") }
            var buffer = [CChar](repeating: 0, count: size + 1)
            guard H5Aread(attr, type, &buffer) >= 0 else {
                throw .library(file: name, path: where_, operation: "read attribute")
            }
            let bytes = buffer.prefix(size).prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// A numeric scalar attribute read as Double (integers convert), or nil when absent.
    func numberAttribute(_ object: String, _ attribute: String) throws(CaptureFileError) -> Double? {
        let where_ = "\(object)@\(attribute)"
        return try withAttribute(object, attribute) { (attr) throws(CaptureFileError) -> Double in
            let type = H5Aget_type(attr)
            defer { H5Tclose(type) }
            let cls = H5Tget_class(type)
            guard cls == H5T_INTEGER || cls == H5T_FLOAT else {
                throw .wrongType(file: name, path: where_, expected: "a number", found: cls == H5T_STRING ? "a string" : "a non-numeric value")
            }
            let space = H5Aget_space(attr)
            defer { H5Sclose(space) }
            guard H5Sget_simple_extent_npoints(space) == 1 else {
                throw .malformed(file: name, path: where_, reason: "expected a single number")
            }
            var value: Double = 0
            guard H5Aread(attr, CHDF5_T_NATIVE_DOUBLE(), &value) >= 0 else {
                throw .library(file: name, path: where_, operation: "read attribute")
            }
            return value
        }
    }

    /// Names of all attributes on `object`.
    func attributeNames(_ object: String) throws(CaptureFileError) -> [String] {
        guard exists(object) || object == "/" else { return [] }
        var info = H5O_info_t()
        guard H5Oget_info_by_name2(id, object, &info, UInt32(H5O_INFO_NUM_ATTRS), CHDF5_P_DEFAULT()) >= 0 else {
            throw .library(file: name, path: object, operation: "object info")
        }
        var names: [String] = []
        for i in 0..<info.num_attrs {
            let len = H5Aget_name_by_idx(id, object, H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, CHDF5_P_DEFAULT())
            guard len >= 0 else { throw .library(file: name, path: object, operation: "attribute name") }
            var buffer = [CChar](repeating: 0, count: Int(len) + 1)
            H5Aget_name_by_idx(id, object, H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, CHDF5_P_DEFAULT())
            names.append(String(decoding: buffer.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    private func writeScalarAttribute(_ object: String, _ attribute: String, fileType: hid_t, memType: hid_t,
                                      _ value: UnsafeRawPointer) throws(CaptureFileError) {
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let attr = H5Acreate_by_name(id, object, attribute, fileType, space, CHDF5_P_DEFAULT(), CHDF5_P_DEFAULT(), CHDF5_P_DEFAULT())
        guard attr >= 0 else { throw .library(file: name, path: "\(object)@\(attribute)", operation: "create attribute") }
        defer { H5Aclose(attr) }
        guard H5Awrite(attr, memType, value) >= 0 else {
            throw .library(file: name, path: "\(object)@\(attribute)", operation: "write attribute")
        }
    }

    /// Writes a variable-length UTF-8 string attribute (what h5py writes for `str`).
    func setAttribute(_ object: String, _ attribute: String, string: String) throws(CaptureFileError) {
        let type = H5Tcopy(CHDF5_T_C_S1())
        defer { H5Tclose(type) }
        H5Tset_size(type, CHDF5_T_VARIABLE())
        H5Tset_cset(type, H5T_CSET_UTF8)
        guard let copy = strdup(string) else { throw .library(file: name, path: object, operation: "allocate string") }
        defer { free(copy) }
        var pointer: UnsafePointer<CChar>? = UnsafePointer(copy)
        try writeScalarAttribute(object, attribute, fileType: type, memType: type, &pointer)
    }

    /// Writes a 64-bit integer attribute.
    func setAttribute(_ object: String, _ attribute: String, int: Int) throws(CaptureFileError) {
        var value = Int64(int)
        try writeScalarAttribute(object, attribute, fileType: CHDF5_T_STD_I64LE(), memType: CHDF5_T_NATIVE_INT64(), &value)
    }

    /// Writes a float64 attribute.
    func setAttribute(_ object: String, _ attribute: String, double: Double) throws(CaptureFileError) {
        var value = double
        try writeScalarAttribute(object, attribute, fileType: CHDF5_T_IEEE_F64LE(), memType: CHDF5_T_NATIVE_DOUBLE(), &value)
    }
}
