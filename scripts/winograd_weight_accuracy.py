#!/usr/bin/env python3
"""Accuracy of the Winograd weight gradient's two candidate tile sizes against float64 (numpy only).

The weight gradient of a 3x3 stride-1 convolution is a correlation whose output is the 3x3 kernel, so
Winograd's identity gives dW = G^T (sum over tiles of (A dy_t A^T) * (B^T x_t B)) G. This script computes
it in float32 with F(2x2, 3x3)'s matrices (2x2 output tiles, 16 products per tile) and F(4x4, 3x3)'s
(4x4 tiles, 36 products), and the direct float32 sum (numpy's matmul, blocked), on ResNet-18-like layers
(one sample, ReLU-like x, small dy), and prints each one's largest error relative to the largest magnitude
of the float64 result. Repro uses F(2x2, 3x3) (docs/training.md, "Winograd weight gradient").

Run: python3 scripts/winograd_weight_accuracy.py   (a few seconds; needs numpy)
"""
import numpy as np
rng=np.random.default_rng(0)
def mats(kind):
    if kind==2:
        A=np.array([[1,0],[1,1],[1,-1],[0,-1]],dtype=np.float64)  # 4x2
        G=np.array([[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]])
        BT=np.array([[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]],dtype=np.float64)
        return A,G,BT,2
    A=np.array([[1,0,0,0],[1,1,1,1],[1,-1,1,-1],[1,2,4,8],[1,-2,4,-8],[0,0,0,1]],dtype=np.float64)
    G=np.array([[1/4,0,0],[-1/6,-1/6,-1/6],[-1/6,1/6,-1/6],[1/24,1/12,1/6],[1/24,-1/12,1/6],[0,0,1]])
    BT=np.array([[4,0,-5,0,1,0],[0,-4,-4,1,1,0],[0,4,-4,-1,1,0],[0,-2,-1,2,1,0],[0,2,-1,-2,1,0],[0,4,0,-5,0,1]],dtype=np.float64)
    return A,G,BT,4
def check_forward(kind):
    A,G,BT,m=mats(kind)
    d=rng.standard_normal(m+2); g=rng.standard_normal(3)
    y=A.T@((G@g)*(BT@d)); ref=np.array([sum(g[u]*d[a+u] for u in range(3)) for a in range(m)])
    return np.abs(y-ref).max()
print("fwd check",check_forward(2),check_forward(4))
def wgrad(x,dy,kind,dt):
    # x: C,H,W (pad 1), dy: K,H,W ; stride1 pad1
    A,G,BT,m=mats(kind); A=A.astype(dt);G=G.astype(dt);BT=BT.astype(dt)
    C,H,W=x.shape;K=dy.shape[0]
    th=(H+m-1)//m; tw=(W+m-1)//m
    xp=np.zeros((C,th*m+2,tw*m+2),dt); xp[:,1:H+1,1:W+1]=x
    dyp=np.zeros((K,th*m,tw*m),dt); dyp[:,:H,:W]=dy
    a=m+2
    M=np.zeros((a,a,K,C),dt)
    Xt=[];Yt=[]
    for i in range(th):
        for j in range(tw):
            xt=xp[:,i*m:i*m+a,j*m:j*m+a]; yt=dyp[:,i*m:i*m+m,j*m:j*m+m]
            Xt.append(np.einsum('pi,cij,qj->cpq',BT,xt,BT).astype(dt)); Yt.append(np.einsum('pi,kij,qj->kpq',A,yt,A).astype(dt))
    Xt=np.stack(Xt,-1); Yt=np.stack(Yt,-1)  # C,a,a,T
    for p in range(a):
        for q in range(a):
            M[p,q]=(Yt[:,p,q,:]@Xt[:,p,q,:].T).astype(dt)
    dW=np.einsum('pu,pqkc,qv->kcuv',G,M,G).astype(dt)
    return dW
def direct(x,dy,dt):
    C,H,W=x.shape;K=dy.shape[0]
    xp=np.zeros((C,H+2,W+2),dt);xp[:,1:H+1,1:W+1]=x
    dW=np.zeros((K,C,3,3),dt)
    for u in range(3):
        for v in range(3):
            dW[:,:,u,v]=(dy.reshape(K,-1).astype(dt)@xp[:,u:u+H,v:v+W].reshape(C,-1).T.astype(dt))
    return dW
for H, C in [(56, 64), (28, 128), (14, 256)]:
    x=np.maximum(rng.standard_normal((C,H,H)),0); dy=rng.standard_normal((C,H,H))*1e-3
    ref=direct(x,dy,np.float64); s=np.abs(ref).max()
    e_dir=np.abs(direct(x.astype(np.float32),dy.astype(np.float32),np.float32)-ref).max()/s
    e2=np.abs(wgrad(x,dy,2,np.float32)-ref).max()/s
    e4=np.abs(wgrad(x,dy,4,np.float32)-ref).max()/s
    print(H,C,"direct %.2e F2 %.2e F4 %.2e"%(e_dir,e2,e4))
