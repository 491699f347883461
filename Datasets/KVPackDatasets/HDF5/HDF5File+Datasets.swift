import CHDF5
import Foundation
import KVPack

extension HDF5File {
    /// IEEE binary16 as an HDF5 type, built the way h5py builds it (HDF5 1.10 has none predefined).
    private static func halfType() -> hid_t {
        let t = H5Tcopy(CHDF5_T_IEEE_F32LE())
        H5Tset_fields(t, 15, 10, 5, 0, 10)
        H5Tset_size(t, 2)
        H5Tset_ebias(t, 15)
        return t
    }

    /// Shape and element type of dataset `path`.
    func datasetInfo(_ path: String) throws(CaptureFileError) -> HDF5DatasetInfo {
        guard exists(path) else { throw .missing(file: name, path: path) }
        let ds = H5Dopen2(id, path, CHDF5_P_DEFAULT())
        guard ds >= 0 else { throw .wrongType(file: name, path: path, expected: "a dataset", found: "a group or other object") }
        defer { H5Dclose(ds) }
        return try info(of: ds, path: path)
    }

    private func info(of ds: hid_t, path: String) throws(CaptureFileError) -> HDF5DatasetInfo {
        let space = H5Dget_space(ds)
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= 8 else { throw .library(file: name, path: path, operation: "read dataspace") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let type = H5Dget_type(ds)
        defer { H5Tclose(type) }
        let cls = H5Tget_class(type)
        var ebits = 0
        if cls == H5T_FLOAT {
            var spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0
            H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize)
            ebits = esize
        }
        return HDF5DatasetInfo(dims: dims.map { Int($0) }, typeClass: cls, size: H5Tget_size(type), exponentBits: ebits)
    }

    /// Refuses element counts that overflow or could not fit in this machine's memory.
    private func checkedCount(_ dims: [Int], elementSize: Int, path: String) throws(CaptureFileError) -> Int {
        var count = 1
        for d in dims {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .malformed(file: name, path: path, reason: "shape \(dims) overflows") }
            count = c
        }
        let limit = ProcessInfo.processInfo.physicalMemory / UInt64(elementSize)
        guard UInt64(count) <= limit else {
            throw .malformed(file: name, path: path, reason: "shape \(dims) needs more memory than this machine has")
        }
        return count
    }

    /// Reads a float dataset of rank `rank` as half precision. IEEE half is read as stored;
    /// float32, float64 and bfloat16 convert (a finite value beyond float16's range is an error).
    /// - Returns: the dims and the elements, row-major.
    func readHalf(_ path: String, rank: Int) throws(CaptureFileError) -> (dims: [Int], values: [Float16]) {
        let info = try datasetInfo(path)
        guard info.dims.count == rank else { throw .wrongRank(file: name, path: path, expected: rank, found: info.dims) }
        guard info.typeClass == H5T_FLOAT else {
            throw .wrongType(file: name, path: path, expected: "float16 or float32", found: info.typeDescription)
        }
        let count = try checkedCount(info.dims, elementSize: 4, path: path)
        let ds = H5Dopen2(id, path, CHDF5_P_DEFAULT())
        guard ds >= 0 else { throw .library(file: name, path: path, operation: "open dataset") }
        defer { H5Dclose(ds) }
        if info.size == 2 && info.exponentBits == 5 {
            let half = HDF5File.halfType()
            defer { H5Tclose(half) }
            var values = [Float16](repeating: 0, count: count)
            let status = values.withUnsafeMutableBytes { H5Dread(ds, half, CHDF5_S_ALL(), CHDF5_S_ALL(), CHDF5_P_DEFAULT(), $0.baseAddress) }
            guard status >= 0 else { throw .library(file: name, path: path, operation: "read") }
            return (info.dims, values)
        }
        let floats = try readFloats(path, rank: rank).values
        if let big = floats.first(where: { $0.isFinite && abs($0) > 65504 }) {
            throw .outOfHalfRange(file: name, path: path, value: Double(big))
        }
        return (info.dims, HalfConversion.halves(floats))
    }

    /// Reads an integer dataset of rank 1.
    func readInts(_ path: String) throws(CaptureFileError) -> [Int] {
        try readInts(path, rank: 1).values
    }

    /// Reads an integer dataset of rank `rank`, row-major.
    func readInts(_ path: String, rank: Int) throws(CaptureFileError) -> (dims: [Int], values: [Int]) {
        let (dims, wide) = try readNumbers(path, rank: rank, typeClass: H5T_INTEGER, expected: "integers",
                                           memType: CHDF5_T_NATIVE_INT64(), zero: Int64(0))
        return (dims, wide.map { Int($0) })
    }

    /// Reads a float dataset of rank `rank` as Float (any float width converts), row-major.
    func readFloats(_ path: String, rank: Int) throws(CaptureFileError) -> (dims: [Int], values: [Float]) {
        try readNumbers(path, rank: rank, typeClass: H5T_FLOAT, expected: "floats",
                        memType: CHDF5_T_NATIVE_FLOAT(), zero: Float(0))
    }

    /// Reads dataset `path` of rank `rank` and class `typeClass`, converted by HDF5 to `memType`.
    private func readNumbers<T>(_ path: String, rank: Int, typeClass: H5T_class_t, expected: String,
                                memType: hid_t, zero: T) throws(CaptureFileError) -> (dims: [Int], values: [T]) {
        let info = try datasetInfo(path)
        guard info.dims.count == rank else { throw .wrongRank(file: name, path: path, expected: rank, found: info.dims) }
        guard info.typeClass == typeClass else {
            throw .wrongType(file: name, path: path, expected: expected, found: info.typeDescription)
        }
        let count = try checkedCount(info.dims, elementSize: MemoryLayout<T>.size, path: path)
        let ds = H5Dopen2(id, path, CHDF5_P_DEFAULT())
        guard ds >= 0 else { throw .library(file: name, path: path, operation: "open dataset") }
        defer { H5Dclose(ds) }
        var values = [T](repeating: zero, count: count)
        let status = values.withUnsafeMutableBytes {
            H5Dread(ds, memType, CHDF5_S_ALL(), CHDF5_S_ALL(), CHDF5_P_DEFAULT(), $0.baseAddress)
        }
        guard status >= 0 else { throw .library(file: name, path: path, operation: "read") }
        return (info.dims, values)
    }

    /// Writes `values` as an IEEE half dataset `[dims]`, chunked one head x up to
    /// `CaptureSchema.chunkTokens` rows at a time for rank-3 tensors.
    func writeHalf(_ path: String, dims: [Int], values: [Float16]) throws(CaptureFileError) {
        precondition(dims.reduce(1, *) == values.count)
        let half = HDF5File.halfType()
        defer { H5Tclose(half) }
        try values.withUnsafeBytes { raw in
            Result { () throws(CaptureFileError) in
                try writeDataset(path, dims: dims, fileType: half, memType: half, raw.baseAddress)
            }
        }.get()
    }

    /// Writes `values` as a uint8 dataset of shape `dims`.
    func writeBytes(_ path: String, dims: [Int], values: [UInt8]) throws(CaptureFileError) {
        precondition(dims.reduce(1, *) == values.count)
        try values.withUnsafeBytes { raw in
            Result { () throws(CaptureFileError) in
                try writeDataset(path, dims: dims, fileType: CHDF5_T_STD_U8LE(), memType: CHDF5_T_STD_U8LE(), raw.baseAddress)
            }
        }.get()
    }

    /// Writes `values` as an int32 dataset (int64 if a value does not fit).
    func writeInts(_ path: String, _ values: [Int]) throws(CaptureFileError) {
        if values.allSatisfy({ Int32(exactly: $0) != nil }) {
            let narrow = values.map { Int32($0) }
            try narrow.withUnsafeBytes { raw in
                Result { () throws(CaptureFileError) in
                    try writeDataset(path, dims: [values.count], fileType: CHDF5_T_STD_I32LE(), memType: CHDF5_T_STD_I32LE(), raw.baseAddress)
                }
            }.get()
        } else {
            let wide = values.map { Int64($0) }
            try wide.withUnsafeBytes { raw in
                Result { () throws(CaptureFileError) in
                    try writeDataset(path, dims: [values.count], fileType: CHDF5_T_STD_I64LE(), memType: CHDF5_T_NATIVE_INT64(), raw.baseAddress)
                }
            }.get()
        }
    }

    private func writeDataset(_ path: String, dims: [Int], fileType: hid_t, memType: hid_t,
                              _ data: UnsafeRawPointer?) throws(CaptureFileError) {
        var hdims = dims.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &hdims, nil)
        guard space >= 0 else { throw .library(file: name, path: path, operation: "create dataspace") }
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(CHDF5_P_DATASET_CREATE())
        defer { H5Pclose(dcpl) }
        if dims.count == 3, dims.allSatisfy({ $0 > 0 }) {
            var chunk: [hsize_t] = [1, hsize_t(min(dims[1], CaptureSchema.chunkTokens)), hsize_t(dims[2])]
            H5Pset_chunk(dcpl, 3, &chunk)
        }
        let lcpl = H5Pcreate(CHDF5_P_LINK_CREATE())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let ds = H5Dcreate2(id, path, fileType, space, lcpl, dcpl, CHDF5_P_DEFAULT())
        guard ds >= 0 else { throw .library(file: name, path: path, operation: "create dataset") }
        defer { H5Dclose(ds) }
        if dims.reduce(1, *) > 0 {
            guard H5Dwrite(ds, memType, CHDF5_S_ALL(), CHDF5_S_ALL(), CHDF5_P_DEFAULT(), data) >= 0 else {
                throw .library(file: name, path: path, operation: "write")
            }
        }
    }
}
