/// Where the time of the last device attend went (from the submission's timestamps).
public struct SessionAttendTiming: Sendable, Hashable, Codable {
    /// Device time of the copies in (written slot bytes, table entries, directories, queries).
    public var uploadSeconds: Double
    /// Device time of the decode dispatches (one per bank and model shape in the batch).
    public var decodeSeconds: Double
    /// Device time of the whole submission (uploads, decodes, the outputs' copy back).
    public var deviceSeconds: Double
    /// Host time from the submission to the caller's resumption.
    public var waitSeconds: Double
    /// Host time of the whole call less `waitSeconds`: checks, page-table updates, recording,
    /// reading the outputs back and the policies' decode stages.
    public var hostSeconds: Double = 0
    /// Parts of `hostSeconds`: the requests checked, their page tables brought up to date and the
    /// decodes planned; the staging copies and commands recorded up to the submission; after the
    /// device: outputs read back, reads ended, the policies' decode stages.
    public var prepareSeconds: Double = 0
    public var recordSeconds: Double = 0
    public var finishSeconds: Double = 0
    /// The part of `prepareSeconds` spent reading the sessions and bringing their page tables up
    /// to date, waiting for other calls' reads included (the rest: planning the decodes).
    public var readSeconds: Double = 0
    /// Decode plans this call made (0 where every bank's plan from an earlier call on its lane
    /// served again): a plan is made on a lane's first call over a bank, and again when the
    /// batch's size, its longest head's pages, the mask or the encodings change.
    public var plansMade: Int = 0
    /// The part of `prepareSeconds` spent making those plans (a lane's first plan over a bank
    /// includes creating its buffers and descriptor set).
    public var planningSeconds: Double = 0
    /// The submission's timestamps (start, uploads done, decodes done, end) in seconds on the
    /// device's clock, counted from the context's first timestamp read: comparable between calls
    /// on one context (where their queues' clocks agree, as NVIDIA's do), not with host time; nil
    /// where the queue has no timestamps.
    public var deviceClock: [Double]? = nil
    /// Bytes copied in.
    public var uploadBytes: Int
    /// The decodes' launches.
    public var launches: [DecodeLaunch]
}
