import KVPack
import Foundation
let q = try HeadTensor<Float>(heads: 4, tokens: 1, headDim: 2, storage: [Float](repeating: 0.5, count: 8))
let k = try HeadTensor<Float16>(heads: 2, tokens: 3, headDim: 2, storage: [Float16](repeating: 1, count: 12))
let v = try HeadTensor<Float16>(heads: 2, tokens: 3, headDim: 2, storage: [1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5])
print("built")
let out = try DenseAttention.attend(queries: q, keys: k, values: v).output.storage
print(out)
