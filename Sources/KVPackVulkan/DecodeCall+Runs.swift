import CVulkan

extension DecodeCall {
    /// The kernels a call over `layer` runs, each with the run of the layer's encoding classes
    /// (`DeviceKVCache.LayerFacts.classes`, in the device's page order) it reads: one kernel over
    /// every class, or, when `.automatic` finds that classes need different kernels, one per run
    /// of classes sharing a kernel.
    static func runs(_ context: VulkanContext, cache: DeviceKVCache, layer: Int,
                     options: DecodeOptions) throws(VulkanError) -> [(choice: KernelChoice, classes: Range<Int>)] {
        let facts = cache.layers[layer]
        let whole = try KernelChoice(context, cache: cache, layer: layer, options: options)
        var runs: [(choice: KernelChoice, classes: Range<Int>)] = []
        if options.kernel == .automatic, facts.classes.count > 1 {
            for (i, c) in facts.classes.enumerated() {
                let choice = try KernelChoice(context, kinds: c.kinds, groupings: c.groupings, headDim: cache.model.headDim,
                                              queryGroup: cache.model.groupSize, options: options, wholeLayer: false)
                if let last = runs.last, last.choice == choice {
                    runs[runs.count - 1].classes = last.classes.lowerBound..<(i + 1)
                } else {
                    runs.append((choice, i..<(i + 1)))
                }
            }
        }
        return runs.count > 1 ? runs : [(whole, 0..<facts.classes.count)]
    }
}
