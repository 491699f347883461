#!/usr/bin/env python3
"""A numpy model of the cooperative-matrix decode kernels' tiled walk and step (Kernels/include/
decode_main.glsl TILED_STEPS, coopmat_steps.glsl consumeTiles, the loaders' tile layout), one token
group = one subgroup of 32 lanes, with the kernels' shared-memory layouts as flat arrays filled
with NaN (the stage's padding words and P's rows 8..15 zeroed as prepareTiles does), checked
against exact attention. Steps of U = 16 (one key tile) and 32 (two tiles, each the group's next
run of up to 16 tokens of one page; a tile past the last page cleared), pages of 16 and of other
lengths, several token groups merged, with and without a causal + window mask.
Usage: python3 Tools/scripts/coopmat_steps_model.py  (prints "model ok", or fails an assertion)."""
import numpy as np
rng = np.random.default_rng(1)
def run(D, G, U, pages, groups, masked, seed):
    TILE=16; TILES=U//TILE; ROW=D//8+1
    q = rng.standard_normal((G, D)).astype(np.float32)
    keys=[rng.standard_normal((n, D)).astype(np.float16) for n in pages]
    vals=[rng.standard_normal((n, D)).astype(np.float16) for n in pages]
    pos=[]; c=0
    for n in pages: pos.append(np.arange(c, c+n)); c+=n
    qpos = c - 5 if masked else None; window = 40 if masked else 0
    scale = 1/np.sqrt(D)
    # exact
    K=np.concatenate(keys).astype(np.float64); V=np.concatenate(vals).astype(np.float64); P_=np.concatenate(pos)
    vis = np.ones(len(P_), bool) if not masked else (P_ <= qpos) & (qpos - P_ < window)
    s = (q.astype(np.float64)*scale) @ K.T; s[:, ~vis] = -np.inf
    w = np.exp(s - s.max(1, keepdims=True)); exact = (w @ V) / w.sum(1, keepdims=True)
    tileQ = np.zeros((TILE, ROW*8), np.float16); tileQ[:G, :D] = (q*scale).astype(np.float16)
    outs=[]
    for g0 in range(groups):
        stageK = np.full(U*ROW*8, np.nan, np.float16); stageV = stageK.copy()
        for r in range(U): stageK[r*ROW*8+D:(r+1)*ROW*8] = 0; stageV[r*ROW*8+D:(r+1)*ROW*8] = 0
        scratch = np.full(TILE*U, np.nan, np.float32)
        tileP = np.full(TILE*U, np.nan, np.float16); tileP[8*U:] = 0
        o = np.zeros((TILE, D), np.float32); refMax = np.full(32, -1e30, np.float32); refSum = np.zeros(32, np.float32)
        p, t = g0, 0
        def loadTiles():
            nonlocal p, t
            raw=[]; valid=[0,0]; visible=[0,0]
            for k in range(TILES):
                if p < len(pages):
                    n=pages[p]; rows=[min(t+r, n-1) for r in range(TILE)]
                    raw.append((keys[p][rows], vals[p][rows]))
                    valid[k] = n - t
                    if masked:
                        bits=0
                        for u in range(TILE):
                            if t+u < n:
                                kp = pos[p][t+u]
                                if kp <= qpos and qpos-kp < window: bits |= 1<<u
                        visible[k]=bits
                    t += TILE
                    if t >= n: t = 0; p += groups
                else:
                    raw.append((np.zeros((TILE,D),np.float16), np.zeros((TILE,D),np.float16)))
            return raw, valid, visible
        def stage(raw):
            for k,(kr,vr) in enumerate(raw):
                for r in range(TILE):
                    at=(k*TILE+r)*ROW*8; stageK[at:at+D]=kr[r]; stageV[at:at+D]=vr[r]
        def consume(valid, visible):
            nonlocal o
            Ks = stageK.reshape(U, ROW*8)
            for k in range(TILES):
                s = tileQ[:, :D].astype(np.float32) @ Ks[k*TILE:(k+1)*TILE, :D].astype(np.float32).T
                for i in range(TILE): scratch[i*U+16*k:i*U+16*k+16] = s[i]
            x = np.zeros((32, TILES, 4), np.float32); seen = np.zeros((32, TILES, 4), bool)
            top = np.full(32, -1e30, np.float32)
            for lane in range(32):
                r, quarter = lane//4, lane%4
                for h in range(TILES):
                    wordi = r*(U//4) + quarter*TILES + h
                    x[lane,h] = scratch[wordi*4:wordi*4+4]
                    for u in range(4):
                        col=4*(quarter*TILES+h)+u; k=col//TILE; token=col%TILE
                        seen[lane,h,u] = r < G and token < valid[k] and (not masked or (visible[k]>>token)&1)
                        if not seen[lane,h,u]: x[lane,h,u] = -1e30
                        top[lane] = max(top[lane], x[lane,h,u])
            for lane in range(32): top[lane] = top[(lane//4)*4:(lane//4)*4+4].max()
            grow = top > refMax + 8
            if grow.any():
                nxt = np.where(grow, top, refMax); c = np.exp(refMax - nxt); refSum[:] *= c; refMax[:] = nxt
                for r in range(8): o[r] *= c[4*r]
            sums=np.zeros(32,np.float32)
            for lane in range(32):
                r, quarter = lane//4, lane%4
                for h in range(TILES):
                    w = np.where(seen[lane,h], np.exp(x[lane,h]-refMax[lane]), 0).astype(np.float16)
                    sums[lane] += w.astype(np.float32).sum()
                    at = quarter*TILES+h; pAt = r*(U//8) + at//2; part = 2*(at%2)
                    tileP[pAt*8 + part*2: pAt*8 + part*2 + 4] = w
            for lane in range(32): refSum[lane] += sums[(lane//4)*4:(lane//4)*4+4].sum()
            Vs = stageV.reshape(U, ROW*8)
            Pm = tileP.reshape(TILE, U)
            for k in range(TILES):
                o += Pm[:, 16*k:16*k+16].astype(np.float32) @ Vs[k*TILE:(k+1)*TILE, :D].astype(np.float32)
        if p < len(pages):
            raw, valid, visible = loadTiles(); more=True
            while more:
                stage(raw); v, sn = valid, visible
                more = p < len(pages)
                if more: raw, valid, visible = loadTiles()
                consume(v, sn)
        outs.append((refMax[0:4*G:4].copy(), refSum[0:4*G:4].copy(), o[:G].copy()))
    # merge groups
    M = np.max([m for m,_,_ in outs], 0)
    num = sum(np.exp(m-M)[:,None]*acc for m,_,acc in outs); den = sum(np.exp(m-M)*l for m,l,_ in outs)
    got = num/den[:,None]
    err = np.linalg.norm(got-exact,axis=1)/np.linalg.norm(exact,axis=1)
    assert np.isfinite(got).all(), "nonfinite"
    return err.max()
for D in (64,128):
    for G in (4,8):
        for U in (16,32):
            for masked in (False, True):
                for pages, groups in (([16]*9+[5], 2), ([40, 37, 16, 3, 16, 16, 7], 3), ([16], 1), ([16]*5, 1)):
                    e = run(D,G,U,pages,groups,masked,0)
                    assert e < 5e-3, (D,G,U,masked,pages,groups,e)
print("model ok")
