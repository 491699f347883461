import Foundation
import Testing
@testable import KVPack

@Suite(".kvp container")
struct KVPFileTests {
    @Test("write -> read gives an identical cache, for every encoding and codec",
          arguments: Array(0...ContainerFixtures.encodings.count), SectionCodec.allCases)
    func roundTrip(fixture: Int, codec: SectionCodec) throws {
        let cache = fixture < ContainerFixtures.encodings.count ? try ContainerFixtures.uniform(fixture) : try ContainerFixtures.mixed()
        let bytes = try KVPFile.encode(cache, codec: codec)
        #expect(try KVPFile.decode(bytes) == cache)
        // The flat form carries exactly the bytes the accounting counts.
        #expect(cache.flattened().byteCount == cache.byteCount)
    }

    @Test("files are written atomically and existing ones are kept unless overwriting")
    func files() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = try ContainerFixtures.mixed()
        let path = dir.appendingPathComponent("c.kvp").path
        try KVPFile.write(cache, to: path)
        #expect(try KVPFile.read(from: path) == cache)
        #expect(throws: KVPFileError.outputExists(path)) { try KVPFile.write(cache, to: path) }
        try KVPFile.write(cache, to: path, codec: .lz4, overwrite: true)
        #expect(try KVPFile.read(from: path) == cache)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["c.kvp"])
        #expect(throws: KVPFileError.fileNotFound("/no/such.kvp")) { try KVPFile.read(from: "/no/such.kvp") }
        #expect(throws: KVPFileError.self) { try KVPFile.write(cache, to: "/no/such/dir/c.kvp") }
    }

    @Test("wrong magic, newer version, truncation")
    func header() throws {
        let bytes = try KVPFile.encode(try ContainerFixtures.mixed())
        var foreign = bytes
        foreign[1] = UInt8(ascii: "X")
        #expect(throws: KVPFileError.notKVP(reason: "wrong magic")) { try KVPFile.decode(foreign) }
        #expect(throws: KVPFileError.notKVP(reason: "wrong magic")) { try KVPFile.decode(Array("hello, world".utf8)) }
        var newer = bytes
        newer[8] = 2
        #expect(throws: KVPFileError.newerVersion(found: 2, supported: 1)) { try KVPFile.decode(newer) }
        for length in [0, 7, 20, 31, 40, bytes.count / 2, bytes.count - 1] {
            #expect(throws: KVPFileError.self, "length \(length)") { try KVPFile.decode(Array(bytes.prefix(length))) }
        }
    }

    @Test("a flipped byte in any section is caught", arguments: SectionCodec.allCases)
    func flippedBytes(codec: SectionCodec) throws {
        let cache = try ContainerFixtures.mixed()
        let bytes = try KVPFile.encode(cache, codec: codec)
        var rng = TestRandom(9)
        // Every byte of the preamble and directory, and a sample across the sections.
        var offsets = Array(8..<min(bytes.count, 400))
        for _ in 0..<300 { offsets.append(Int(rng.next() * Double(bytes.count))) }
        for offset in offsets {
            var damaged = bytes
            damaged[offset] ^= 0x10
            // A typed error is the expected outcome; a success must be the same cache.
            if case .success(let back) = Result(catching: { () throws(KVPFileError) in try KVPFile.decode(damaged) }) {
                #expect(back == cache, "a flip at \(offset) gave a different cache silently")
            }
        }
    }

    @Test("lying lengths are refused before any allocation")
    func lyingLengths() throws {
        let bytes = try KVPFile.encode(try ContainerFixtures.mixed())
        // The preamble claims a huge directory.
        var huge = bytes
        for i in 24..<32 { huge[i] = 0xFF }
        #expect(throws: KVPFileError.self) { try KVPFile.decode(huge) }
        // A section claims 1 TB of raw data.
        let tera = try ContainerFixtures.rebuild(bytes, modify: { _, _ in }, editDirectory: { entries in
            entries[7].4 = 1 << 40
        })
        switch Result(catching: { () throws(KVPFileError) in try KVPFile.decode(tera) }) {
        case .success: Issue.record("a 1 TB section was accepted")
        case .failure(let error):
            guard case .corrupt(let section, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(section == "bitmap pool")
        }
        // A section offset beyond the end of the file.
        let beyond = try ContainerFixtures.rebuild(bytes, modify: { _, _ in }, editDirectory: { $0[2].2 = 1 << 50 })
        #expect(throws: KVPFileError.truncated(section: "pages")) { try KVPFile.decode(beyond) }
    }

    @Test("semantic damage with valid checksums: page table outside a pool, mismatched dims, bad heads")
    func semantic() throws {
        let bytes = try KVPFile.encode(try ContainerFixtures.mixed())
        // Page 0's key offset points past its pool.
        let outside = try ContainerFixtures.rebuild(bytes) { section, data in
            if section == .pages { for i in 16..<24 { data[i] = 0x7F } }
        }
        #expect(throws: KVPFileError.self) { try KVPFile.decode(outside) }
        if case .failure(let e) = Result(catching: { () throws(KVPFileError) in try KVPFile.decode(outside) }) {
            guard case .invalidCache = e else { Issue.record("expected invalidCache, got \(e)"); return }
        }
        // The metadata's head dim no longer matches the pages.
        let dims = try ContainerFixtures.rebuild(bytes) { section, data in
            if section == .metadata {
                data = Array(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"headDim\":64", with: "\"headDim\":128").utf8)
            }
        }
        #expect(throws: KVPFileError.self) { try KVPFile.decode(dims) }
        // The head directory claims more pages than the table holds.
        let heads = try ContainerFixtures.rebuild(bytes) { section, data in
            if section == .heads { data[4] = 0xFF }
        }
        #expect(throws: KVPFileError.self) { try KVPFile.decode(heads) }
        // GQA facts that do not group.
        let gqa = try ContainerFixtures.rebuild(bytes) { section, data in
            if section == .metadata {
                data = Array(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"queryHeads\":4", with: "\"queryHeads\":5").utf8)
            }
        }
        #expect(throws: KVPFileError.self) { try KVPFile.decode(gqa) }
    }

    @Test("seeded mutations never crash and never decode to a different cache")
    func mutations() throws {
        let cache = try ContainerFixtures.mixed()
        let seeds = [try KVPFile.encode(cache), try KVPFile.encode(cache, codec: .lz4)]
        var rng = TestRandom(2026)
        var errors = 0, same = 0
        for i in 0..<1500 {
            var b = seeds[i % 2]
            switch i % 4 {
            case 0: b[Int(rng.next() * Double(b.count))] ^= UInt8(1 << Int(rng.next() * 8))
            case 1: b = Array(b.prefix(Int(rng.next() * Double(b.count))))
            case 2:
                let at = Int(rng.next() * Double(b.count))
                b.insert(contentsOf: (0..<Int(rng.next() * 16) + 1).map { _ in UInt8(rng.next() * 256) }, at: at)
            default:
                for _ in 0..<4 { b[Int(rng.next() * Double(b.count))] = UInt8(rng.next() * 256) }
            }
            switch Result(catching: { () throws(KVPFileError) in try KVPFile.decode(b) }) {
            case .success(let back):
                #expect(back == cache)
                same += 1
            case .failure:
                errors += 1
            }
        }
        #expect(errors + same == 1500 && errors > 1400)
    }
}

@Suite(".kvp round-trip property")
struct KVPRoundTripPropertyTests {
    /// Regression for a fuzzer find: section offsets used to depend on the directory's own
    /// compressed size, which could oscillate; some caches then wrote unreadable files.
    @Test("random caches of many sizes round-trip through both codecs")
    func randomCaches() throws {
        var rng = TestRandom(77)
        let encodings = ContainerFixtures.encodings.flatMap { [$0.0, $0.1] }
        for i in 0..<40 {
            let tokens = 1 + Int(rng.next() * 60)
            let capture = try ContainerFixtures.capture(tokens: tokens, kvHeads: 1 + i % 3, d: 64, layers: 1 + i % 2)
            let k = encodings[Int(rng.next() * Double(encodings.count))], v = encodings[Int(rng.next() * Double(encodings.count))]
            let cache = try CompressedCache.uniform(capture, keys: k, values: v, pageSize: 1 + Int(rng.next() * 20),
                                                    policy: String(repeating: "p", count: Int(rng.next() * 300)))
            for codec in SectionCodec.allCases {
                #expect(try KVPFile.decode(KVPFile.encode(cache, codec: codec)) == cache, "case \(i) \(codec)")
            }
        }
    }
}

@Suite(".kvp structured mutations")
struct KVPStructuredMutationTests {
    /// Mutates one decompressed section at a time and re-frames it with valid checksums, so the
    /// damage reaches KVPack's own validation (page table, head directory, pools, metadata) rather
    /// than stopping at the codec checksum. Any outcome but a crash is acceptable: a typed error,
    /// or a cache (the file is then self-consistent) that survives a second round trip.
    @Test("mutated sections with valid checksums never crash")
    func structured() throws {
        let seed = try KVPFile.encode(try ContainerFixtures.mixed())
        var rng = TestRandom(4242)
        var outcomes = [0, 0]
        for i in 0..<600 {
            let target = KVPFile.Section.allCases[i % KVPFile.Section.allCases.count]
            let mutated = try ContainerFixtures.rebuild(seed) { section, data in
                guard section == target else { return }
                switch Int(rng.next() * 4) {
                case 0 where !data.isEmpty: data[Int(rng.next() * Double(data.count))] ^= UInt8(1 << Int(rng.next() * 8))
                case 1: data = Array(data.prefix(Int(rng.next() * Double(data.count + 1))))
                case 2: data.insert(UInt8(rng.next() * 256), at: Int(rng.next() * Double(data.count + 1)))
                default:
                    for _ in 0..<3 where !data.isEmpty { data[Int(rng.next() * Double(data.count))] = UInt8(rng.next() * 256) }
                }
            }
            switch Result(catching: { () throws(KVPFileError) in try KVPFile.decode(mutated) }) {
            case .success(let cache):
                outcomes[1] += 1
                #expect(try KVPFile.decode(KVPFile.encode(cache)) == cache)
            case .failure:
                outcomes[0] += 1
            }
        }
        #expect(outcomes[0] > 300, "most structured mutations should be refused: \(outcomes)")
    }
}
